#!/usr/bin/env bash
# End to end over a real NFS server: NFS-Ganesha 4.3 (VFS FSAL) runs inside the server's network
# namespace (with its own rpcbind, in a private mount namespace so nothing touches the host's
# /run), serves overlay roots prepared by netbootctl (index=on,nfs_export=on) through the exports
# netbootctl writes and makes Ganesha reload (SIGHUP). From each node's namespace, libnfs clients
# (our `netbootctl root check`, nfs-ls / nfs-cat / nfs-cp from libnfs-utils) mount the node's root
# over NFSv3 and read its /etc/hostname; another node's address is refused.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"
build=${NETBOOTD_BUILD_DIR:-$here/../../build}
NETBOOTD_SOURCE_DIR=${NETBOOTD_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
ctl="$build/netbootctl"
for tool in ganesha.nfsd rpcbind nfs-ls nfs-cat nfs-cp unshare; do
    command -v "$tool" >/dev/null || lab_die "missing $tool: run .ci/install-deps"
done

lab_init nfsg
lab_host server 10.42.0.250/24
lab_host n1 10.42.0.1/24
lab_host n2 10.42.0.2/24

srv="$LAB_DIR/srv"
gdir="$LAB_DIR/ganesha"
mkdir -p "$srv/roots/base/sbin" "$srv/roots/base/etc" "$srv/boot" "$gdir/recov"
printf '#!/bin/sh\n' >"$srv/roots/base/sbin/init"
chmod 755 "$srv/roots/base/sbin/init"
printf 'raspberrypi\n' >"$srv/roots/base/etc/hostname"
printf 'start4' >"$srv/boot/start4.elf"

# Overlay mounts made below must go away even if the test fails half-way.
unmount_roots() {
    local m
    for m in $(awk -v w="$LAB_DIR" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}
# Order matters: stop Ganesha (it holds the mounts), unmount, then the lab's own teardown.
trap 'rc=$?; lab_kill_ns "$(lab_ns server)"; unmount_roots; (exit $rc); lab_teardown' EXIT

cat >"$LAB_DIR/cluster.yaml" <<YAML
cluster: { name: g, interface: eth0, server_ip: 10.42.0.250, subnet: 10.42.0.0/24 }
tftp: { root: $srv/boot }
nfs:
  backend: ganesha
  base_root: $srv/roots/base
  roots_dir: $srv/roots
  templates_dir: $NETBOOTD_SOURCE_DIR/rootfs-templates/root
  exports_file: $gdir/netbootd-exports.conf
  ganesha_pid_file: $gdir/ganesha.pid
defaults: { ip: "10.42.0.{position}", root: overlay }
nodes:
  - { position: 1, mac: "b8:27:eb:00:00:01" }
  - { position: 2, mac: "b8:27:eb:00:00:02" }
YAML
export NETBOOTD_CONFIG="$LAB_DIR/cluster.yaml"

cat >"$gdir/ganesha.conf" <<CONF
NFS_CORE_PARAM {
    Protocols = 3, 4;
    Bind_addr = 10.42.0.250;
    Enable_NLM = false;
    Enable_RQUOTA = false;
}
NFSV4 {
    Graceless = true;
    RecoveryRoot = "$gdir/recov";
}
NFS_KRB5 { Active_krb5 = false; }
LOG { Default_Log_Level = EVENT; }
%include "$gdir/netbootd-exports.conf"
CONF
: >"$gdir/netbootd-exports.conf"

# The roots first (overlays, in well under a second), without exports: Ganesha is not up yet.
lab_check "netbootctl root prepare makes both overlay roots" \
    "$ctl" root prepare --no-exports
lab_check "node01's root is an exportable overlay (index=on, nfs_export=on)" \
    bash -c "grep ' $srv/roots/node01 ' /proc/self/mountinfo | grep 'index=on' | grep -q 'nfs_export=on'"

# Ganesha and its rpcbind in the server namespace, in a private mount namespace with its own /run.
lab_bg server "$LAB_DIR/ganesha-run.log" unshare --mount --propagation private bash -c \
    "mount -t tmpfs tmpfs /run && mkdir -p /run/rpcbind && rpcbind -f & sleep 0.5; exec ganesha.nfsd -F -L '$LAB_DIR/ganesha.log' -f '$gdir/ganesha.conf' -p '$gdir/ganesha.pid'"
lab_check "ganesha.nfsd listens on 2049" lab_wait_tcp server 2049 20
lab_check "ganesha wrote its PID file" lab_wait 10 test -s "$gdir/ganesha.pid"

# Exports through the backend: file written, Ganesha reloaded by SIGHUP.
lab_check "netbootctl root exports --apply (ganesha backend)" "$ctl" root exports --apply
lab_eq "exports file: node01's root for 10.42.0.1 (and the server, read-only, for checks)" \
    "Clients=10.42.0.1;Clients=10.42.0.250;" \
    "$(grep -A40 "Path = \"$srv/roots/node01\"" "$gdir/netbootd-exports.conf" | sed '/^}/q' | grep 'Clients' | tr -d ' \n')"
lab_check "Ganesha loaded the new exports" \
    lab_wait 15 bash -c "ip netns exec $(lab_ns n1) nfs-ls nfs://10.42.0.250$srv/roots/node01/etc 2>/dev/null | grep -q hostname"

# From node01's own address: our libnfs check and the libnfs tools.
out=$(lab_exec n1 "$ctl" root check node01 --require-mount --events 2>&1)
lab_check "root check node01 from node01 passes" grep -q '^node01 *OK' <<<"$out"
lab_check "root check emits nfs.export_ok" grep -q '"kind":"nfs.export_ok"' <<<"$out"
lab_eq "nfs-cat reads node01's hostname over NFSv3" "node01" \
    "$(lab_exec n1 nfs-cat "nfs://10.42.0.250$srv/roots/node01/etc/hostname?version=3" 2>&1)"
lab_check "nfs-ls lists /sbin/init" \
    bash -c "ip netns exec $(lab_ns n1) nfs-ls nfs://10.42.0.250$srv/roots/node01/sbin | grep -q init"

# A write from the node lands in its own upper layer, not in the base.
echo "written by node01" >"$LAB_DIR/fromnode"
lab_check "node01 writes into its root (nfs-cp)" \
    lab_exec n1 nfs-cp "$LAB_DIR/fromnode" "nfs://10.42.0.250$srv/roots/node01/etc/fromnode"
lab_eq "the write is in node01's upper layer" "written by node01" \
    "$(cat "$srv/roots/.overlay/node01/upper/etc/fromnode" 2>&1)"
lab_check "the base is untouched" test ! -e "$srv/roots/base/etc/fromnode"
lab_check "root diff node01 shows the node's write" \
    bash -c "'$ctl' root diff node01 | grep -qx 'A /etc/fromnode'"

# Another node's address is refused.
lab_check "nfs-cat of node01's root from node02 is refused" \
    bash -c "! ip netns exec $(lab_ns n2) nfs-cat nfs://10.42.0.250$srv/roots/node01/etc/hostname >/dev/null 2>&1"
out=$(lab_exec n2 "$ctl" root check node01 --require-mount --events 2>&1)
lab_check "root check node01 from node02 fails" grep -q '^node01 *FAIL' <<<"$out"
lab_check "... as nfs.export_refused or nfs.export_missing" grep -Eq '"kind":"nfs.export_(refused|missing)"' <<<"$out"
out=$(lab_exec n2 "$ctl" root check node02 --require-mount 2>&1)
lab_check "node02's own check passes from node02" grep -q '^node02 *OK' <<<"$out"

# From the server itself (its own address may read every root, for exactly this check).
out=$(lab_exec server "$ctl" root check --events 2>&1)
lab_check "root check all from the server passes" bash -c "grep -q '^node01 *OK' <<<\"\$0\" && grep -q '^node02 *OK' <<<\"\$0\"" "$out"
lab_eq "two nfs.export_ok events" 2 "$(grep -c '"kind":"nfs.export_ok"' <<<"$out")"

# A node removed from the exports disappears after the reload.
sed -i 's/^  - { position: 2.*$//' "$LAB_DIR/cluster.yaml"
lab_check "exports re-applied without node02" "$ctl" root exports --apply
lab_check "node02's root is no longer served" \
    lab_wait 15 bash -c "! ip netns exec $(lab_ns n2) nfs-ls nfs://10.42.0.250$srv/roots/node02/etc >/dev/null 2>&1"
lab_check "node01 is still served" \
    bash -c "ip netns exec $(lab_ns n1) nfs-cat nfs://10.42.0.250$srv/roots/node01/etc/hostname | grep -qx node01"

lab_finish
