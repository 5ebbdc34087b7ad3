#!/usr/bin/env bash
# Base import and per-node roots through netbootctl, on real files and overlay mounts (root):
# a synthetic Raspberry Pi OS-style image (MBR, FAT boot, ext4 root; built here with sfdisk,
# mkfs.vfat, mcopy and mkfs.ext4 -d) is imported, then overlay and clone roots are prepared,
# diffed, promoted, reset and cloned. No network: nothing here leaves this machine.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${NETBOOTD_BUILD_DIR:-$here/../../build}
NETBOOTD_SOURCE_DIR=${NETBOOTD_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
ctl="$build/netbootctl"
passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok     %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAILED %s\n' "$1"; }
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected [$2], got [$3]"; fi; }

[ "$(id -u)" = 0 ] || { echo "needs root (overlay mounts); run with sudo" >&2; exit 1; }
for tool in sfdisk mkfs.vfat mcopy mkfs.ext4 tar sha256sum; do
    command -v "$tool" >/dev/null || { echo "missing $tool: run .ci/install-deps" >&2; exit 1; }
done

work=$(mktemp -d /tmp/netbootd-nfsroots.XXXXXX)
cleanup() {
    local m
    # Undo every overlay mount below the scratch dir, deepest first, then remove it.
    for m in $(awk -v w="$work" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    rm -rf "$work"
}
trap cleanup EXIT

# --- a small Pi OS-style image --------------------------------------------------------------
mkdir -p "$work/src/root/sbin" "$work/src/root/etc" "$work/src/root/usr/bin" \
    "$work/src/root/boot/firmware" "$work/src/root/home/pi" "$work/src/boot/overlays"
printf '#!/bin/sh\necho init\n' >"$work/src/root/sbin/init"
chmod 755 "$work/src/root/sbin/init"
printf 'raspberrypi\n' >"$work/src/root/etc/hostname"
cat >"$work/src/root/etc/fstab" <<'FSTAB'
proc            /proc           proc    defaults          0       0
PARTUUID=4e639091-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=4e639091-02  /               ext4    defaults,noatime  0       1
FSTAB
for i in $(seq 1 50); do echo "tool $i" >"$work/src/root/usr/bin/tool$i"; done
ln -s usr/bin "$work/src/root/bin"
chown 1000:1000 "$work/src/root/home/pi"
printf 'start4' >"$work/src/boot/start4.elf"
printf 'kernel' >"$work/src/boot/kernel8.img"
printf '[all]\narm_64bit=1\n' >"$work/src/boot/config.txt"
printf 'dtb' >"$work/src/boot/overlays/x.dtbo"
printf 'console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n' \
    >"$work/src/boot/cmdline.txt"

mkfs.vfat -C "$work/boot.fat" 16384 >/dev/null
mcopy -s -i "$work/boot.fat" "$work/src/boot/"* ::
mkfs.ext4 -q -d "$work/src/root" "$work/root.ext4" 32M
img="$work/pi.img"
boot_sectors=$((16384 * 2))
root_sectors=$(($(stat -c %s "$work/root.ext4") / 512))
truncate -s $(((2048 + boot_sectors + root_sectors) * 512)) "$img"
printf 'label: dos\nstart=2048, size=%d, type=c\nstart=%d, size=%d, type=83\n' \
    "$boot_sectors" $((2048 + boot_sectors)) "$root_sectors" | sfdisk -q "$img"
dd if="$work/boot.fat" of="$img" bs=512 seek=2048 conv=notrunc status=none
dd if="$work/root.ext4" of="$img" bs=512 seek=$((2048 + boot_sectors)) conv=notrunc status=none

# --- the cluster ----------------------------------------------------------------------------
srv="$work/srv"
cat >"$work/cluster.yaml" <<YAML
cluster: { name: t, interface: eth0, server_ip: 10.42.0.250, subnet: 10.42.0.0/24 }
tftp: { root: $srv/boot, templates_dir: $srv/tftp-templates }
nfs:
  backend: none
  base_root: $srv/roots/base
  roots_dir: $srv/roots
  content_dir: $srv/nodes
  templates_dir: $NETBOOTD_SOURCE_DIR/rootfs-templates/root
  authorized_keys: $work/admin_keys
defaults: { ip: "10.42.0.{position}", root: overlay }
nodes:
  - { position: 1, mac: "b8:27:eb:00:00:01", root: shared }
  - { position: 2, mac: "b8:27:eb:00:00:02" }
  - { position: 3, mac: "b8:27:eb:00:00:03", root: clone }
  - { position: 4, mac: "b8:27:eb:00:00:04" }
YAML
export NETBOOTD_CONFIG="$work/cluster.yaml"
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest admin@rack\n' >"$work/admin_keys"

# --- import ---------------------------------------------------------------------------------
out=$("$ctl" root import "$img" 2>"$work/import.err")
rc=$?
eq "import of the image succeeds" 0 "$rc"
[ "$rc" = 0 ] || cat "$work/import.err"
check "boot files land in tftp.root" test -f "$srv/boot/start4.elf" -a -f "$srv/boot/overlays/x.dtbo"
check "root files land in the base" test -x "$srv/roots/base/sbin/init"
eq "symlink kept" "usr/bin" "$(readlink "$srv/roots/base/bin")"
eq "owner kept" "1000:1000" "$(stat -c %u:%g "$srv/roots/base/home/pi")"
check "SD lines removed from the base fstab" bash -c "! grep -q PARTUUID '$srv/roots/base/etc/fstab'"
check "boot mounted from the server (NFSv3)" grep -q "^10.42.0.250:$srv/boot /boot/firmware nfs defaults,vers=3" "$srv/roots/base/etc/fstab"
check "shared node present: tmpfs mounts in the base fstab" grep -q "^tmpfs /var/log" "$srv/roots/base/etc/fstab"
check "cmdline.txt template written" grep -q 'nfsroot={server_ip}:{nfs_root},vers=3' "$srv/tftp-templates/cmdline.txt"
check "shared cmdline.txt points at the base" grep -q "root=/dev/nfs nfsroot=10.42.0.250:$srv/roots/base,vers=3 rw ip=dhcp rootwait" "$srv/boot/cmdline.txt"
check "init= and the SD root gone from cmdline.txt" bash -c "! grep -Eq 'init=|PARTUUID' '$srv/boot/cmdline.txt'"
manifest="$srv/roots/.manifests/base.sha256"
eq "manifest lists every file" "$(find "$srv/roots/base" -type f | wc -l)" "$(wc -l <"$manifest")"
check "manifest verifies with sha256sum -c" bash -c "cd '$srv/roots/base' && sha256sum -c --quiet '$manifest'"
check "no temporary mount left behind" bash -c "! grep -q netbootd-import /proc/self/mountinfo"
"$ctl" root import "$img" >/dev/null 2>&1
eq "a second import without --force is refused" 1 "$?"

# Directory and tarball sources, as other bases (--name).
tar -C "$work/src/root" --numeric-owner -czf "$work/root.tar.gz" .
"$ctl" root import "$work/root.tar.gz" --name fromtar --force >/dev/null 2>"$work/tar.err"
eq "tarball import" 0 "$?"
eq "tarball: owner kept" "1000:1000" "$(stat -c %u:%g "$srv/roots/fromtar/home/pi")"
check "tarball: manifest verifies" bash -c "cd '$srv/roots/fromtar' && sha256sum -c --quiet '$srv/roots/.manifests/fromtar.sha256'"
"$ctl" root import "$work/src/root" --name fromdir --force >/dev/null 2>"$work/dir.err"
eq "directory import" 0 "$?"
check "directory: tool50 copied" test -f "$srv/roots/fromdir/usr/bin/tool50"
"$ctl" root import "$work/src/root" --name ../evil >/dev/null 2>&1
eq "--name cannot escape roots_dir" 2 "$?"

# --- per-node roots -------------------------------------------------------------------------
start=$(date +%s%N)
"$ctl" root prepare 2 >"$work/prep2.out" 2>&1
eq "prepare overlay node02" 0 "$?"
ms=$((($(date +%s%N) - start) / 1000000))
echo "       (overlay root of node02 ready in ${ms} ms, including netbootctl start-up)"
check "node02 is an overlay mount" grep -q " $srv/roots/node02 " /proc/self/mountinfo
check "the overlay is exportable (index=on,nfs_export=on)" bash -c "grep ' $srv/roots/node02 ' /proc/self/mountinfo | grep -q 'nfs_export=on'"
eq "node02 hostname rendered" "node02" "$(cat "$srv/roots/node02/etc/hostname")"
eq "base hostname untouched" "raspberrypi" "$(cat "$srv/roots/base/etc/hostname")"
check "node02 fstab has no tmpfs (writable root)" bash -c "! grep -q tmpfs '$srv/roots/node02/etc/fstab'"
check "content dir created" test -d "$srv/nodes/node02"
eq "node02 authorized_keys rendered from nfs.authorized_keys" "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest admin@rack" "$(cat "$srv/roots/node02/root/.ssh/authorized_keys")"
eq "node02 /root/.ssh is 0700" "700" "$(stat -c %a "$srv/roots/node02/root/.ssh")"
check "node02 has the node agent, executable" test -x "$srv/roots/node02/usr/local/sbin/netbootd-agent"
check "... identical to agents/netbootd-agent" cmp -s "$srv/roots/node02/usr/local/sbin/netbootd-agent" "$NETBOOTD_SOURCE_DIR/agents/netbootd-agent"
eq "... its unit enabled for multi-user.target" "../netbootd-agent.service" "$(readlink "$srv/roots/node02/etc/systemd/system/multi-user.target.wants/netbootd-agent.service")"
check "... and told where to report" grep -qx 'NETBOOTD_URL=http://10.42.0.250:8067' "$srv/roots/node02/etc/default/netbootd-agent"
check "the base did not get node02's agent files" test ! -e "$srv/roots/base/usr/local/sbin/netbootd-agent"
"$ctl" root prepare all >"$work/prep.out" 2>&1
eq "prepare all" 0 "$?"
check "clone node03 is a real directory" bash -c "test -x '$srv/roots/node03/sbin/init' && ! grep -q ' $srv/roots/node03 ' /proc/self/mountinfo"
eq "node03 hostname rendered" "node03" "$(cat "$srv/roots/node03/etc/hostname")"
check "exports plan lists node02's root for 10.42.0.2 only" bash -c "grep -A1 '^$srv/roots/node02 ' '$work/prep.out' | grep -q '10.42.0.2 '"
status=$("$ctl" root status)
check "status shows node02 mounted" bash -c "grep -qE '^ +2 +node02 +overlay +ready\(mounted\)' <<<\"\$0\"" "$status"
check "status shows node01 on the base" bash -c "grep -qE '^ +1 +node01 +shared +base' <<<\"\$0\"" "$status"

# node02 changes things; diff, promote, reset.
echo tested >"$srv/roots/node02/etc/motd"
rm "$srv/roots/node02/usr/bin/tool7"
echo changed >"$srv/roots/node02/usr/bin/tool8"
diff_out=$("$ctl" root diff node02)
check "diff: added file" grep -qx 'A /etc/motd' <<<"$diff_out"
check "diff: deleted file (whiteout)" grep -qx 'D /usr/bin/tool7' <<<"$diff_out"
check "diff: modified file" grep -qx 'M /usr/bin/tool8' <<<"$diff_out"
check "diff: per-node hostname marked" grep -q '/etc/hostname  (per-node' <<<"$diff_out"
"$ctl" root promote node02 --dry-run >/dev/null
check "promote --dry-run changes nothing" test ! -e "$srv/roots/base/etc/motd"
"$ctl" root promote node02 </dev/null >/dev/null 2>&1
eq "promote without --yes and no terminal is refused" 1 "$?"
check "... and changed nothing" test ! -e "$srv/roots/base/etc/motd"
"$ctl" root promote node02 --yes >/dev/null
eq "promote --yes" 0 "$?"
eq "base got the new file" "tested" "$(cat "$srv/roots/base/etc/motd")"
check "base lost the deleted file" test ! -e "$srv/roots/base/usr/bin/tool7"
eq "base hostname still the base's" "raspberrypi" "$(cat "$srv/roots/base/etc/hostname")"
eq "node04 (another overlay) sees the promoted file" "tested" "$(cat "$srv/roots/node04/etc/motd")"

echo junk >"$srv/roots/node02/junk"
"$ctl" root reset all >/dev/null 2>&1
eq "reset all without --all is refused" 2 "$?"
check "... and node02 kept its file" test -e "$srv/roots/node02/junk"
"$ctl" root reset node02 >"$work/reset.out"
eq "reset node02" 0 "$?"
check "reset names its target" grep -q "reset node02 (overlay $srv/roots/node02)" "$work/reset.out"
check "reset discarded node02's file" test ! -e "$srv/roots/node02/junk"

echo "from two" >"$srv/roots/node02/etc/two"
"$ctl" root clone node03 --from node02 >/dev/null
eq "clone node03 --from node02" 0 "$?"
eq "node03 got node02's file" "from two" "$(cat "$srv/roots/node03/etc/two")"
eq "node03 kept its own hostname" "node03" "$(cat "$srv/roots/node03/etc/hostname")"
"$ctl" root clone node01 --from node02 >/dev/null 2>&1
eq "a shared node cannot be a clone target" 1 "$?"

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
