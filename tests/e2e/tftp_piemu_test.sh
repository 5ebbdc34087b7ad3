#!/usr/bin/env bash
# Per-node boot views through the Pi emulator: netbootd (DHCP + TFTP) serves a strict Pi 4 and a
# Pi 3B ROM. The Pi 4 keeps its serial prefix (the shared start4.elf exists in its view), gets its
# own config.txt from nodes/<hostname>/ and a cmdline.txt rendered with its NFS root. A second Pi 4
# boots with the EEPROM's TFTP_PREFIX_STR (`--tftp-prefix str:rack1/n03/`, a node's `tftp_prefix`)
# and gets node03's view the same way; tftp-hpa and busybox tftp asking for `rack1/n03/...` from a
# host that is no node get the same files; a glued prefix without a '/' (`pi04-`) works the same way.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"
lab_require_root
B=${NETBOOTD_BUILD_DIR:-$(cd "$here/../.." && pwd)/build}
[ -x "$B/netbootd-piemu" ] || lab_die "netbootd-piemu not built"

lab_init tftpemu
d=$LAB_DIR
mkdir -p "$d/boot/overlays" "$d/nodes/node02" "$d/nodes/node03" "$d/tpl" "$d/state"
blob() { head -c "$2" /dev/urandom >"$1"; }
blob "$d/boot/bootcode.bin" 51200
blob "$d/boot/start.elf" 300001
blob "$d/boot/fixup.dat" 7303
blob "$d/boot/bcm2710-rpi-3-b.dtb" 25000
blob "$d/boot/start4.elf" 400000
blob "$d/boot/fixup4.dat" 5400
blob "$d/boot/bcm2711-rpi-4-b.dtb" 52000
blob "$d/boot/overlays/overlay_map.dtb" 3000
blob "$d/boot/kernel8.img" 2097152
printf '[all]\narm_64bit=1\n' >"$d/boot/config.txt"
printf 'node02 own config\narm_64bit=1\n' >"$d/nodes/node02/config.txt"
printf 'node03 own config\narm_64bit=1\n' >"$d/nodes/node03/config.txt"
blob "$d/nodes/node03/kernel8.img" 1048583 # node03's own kernel, not the shared one
cp "$NETBOOTD_SOURCE_DIR/rootfs-templates/boot/cmdline.txt" "$d/tpl/"
cat >"$d/c.yaml" <<Y
cluster: { name: emu, interface: eth0, server_ip: 10.42.0.250, subnet: 10.42.0.0/24, state_dir: $d/state }
dhcp: { mode: full }
tftp: { root: $d/boot, nodes_dir: $d/nodes, templates_dir: $d/tpl }
nfs: { backend: none, base_root: /srv/base, roots_dir: /srv/roots }
api: { listen: 127.0.0.1:18071 }
defaults: { hostname: "node{position:02}", ip: "10.42.0.{position}", root: overlay }
nodes:
  - { position: 1, mac: "b8:27:eb:85:c0:f2", serial: "7285c0f2", root: shared }
  - { position: 2, mac: "dc:a6:32:01:36:c2", serial: "b7f44626" }
  - { position: 3, mac: "dc:a6:32:01:36:c3", serial: "b7f44627", tftp_prefix: "rack1/n03/" }
  - { position: 4, mac: "dc:a6:32:01:36:c4", tftp_prefix: "pi04-" }
Y
log=$d/netbootd.log
lab_host server 10.42.0.250/24
lab_bg server "$log" "$B/netbootd" --config "$d/c.yaml" --log-level debug
lab_wait_udp server 69 10 || lab_die "netbootd did not start"

lab_host p4 "" dc:a6:32:01:36:c2
lab_exec p4 "$B/netbootd-piemu" --iface eth0 --model pi4 --serial b7f44626 --strict --timeout 60s \
    --save-dir "$d/s4" -q
lab_eq "strict pi4 boots through netbootd" 0 $?
lab_check "pi4 kept its serial prefix" test -d "$d/s4/b7f44626"
lab_eq "pi4 got node02's own config.txt" "node02 own config" "$(head -1 "$d/s4/b7f44626/config.txt" 2>/dev/null)"
lab_check "pi4 got its rendered cmdline.txt (overlay root)" \
    grep -q 'nfsroot=10.42.0.250:/srv/roots/node02,vers=3' "$d/s4/b7f44626/cmdline.txt"
lab_check "pi4 kernel8.img intact" cmp -s "$d/boot/kernel8.img" "$d/s4/b7f44626/kernel8.img"
lab_check "pi4 probes reported as expected" grep -q 'tftp.not_found .*expected=true file=b7f44626/recover4.elf' "$log"

# TFTP_PREFIX_STR: the string is prepended verbatim; the Pi keeps it only if start4.elf is found
# under it, so finding the shared start4.elf through node03's view is what the first check proves.
lab_host ps "" dc:a6:32:01:36:c3
lab_exec ps "$B/netbootd-piemu" --iface eth0 --model pi4 --serial b7f44627 --strict --timeout 60s \
    --tftp-prefix str:rack1/n03/ --save-dir "$d/ss" -q
lab_eq "strict pi4 with TFTP_PREFIX_STR boots through netbootd" 0 $?
p=$d/ss/rack1/n03
lab_check "str pi4 kept its prefix (start4.elf under it)" cmp -s "$d/boot/start4.elf" "$p/start4.elf"
lab_eq "str pi4 got node03's own config.txt (sha256)" \
    "$(sha256sum <"$d/nodes/node03/config.txt")" "$(sha256sum <"$p/config.txt" 2>/dev/null)"
lab_eq "str pi4 got node03's own kernel8.img (sha256)" \
    "$(sha256sum <"$d/nodes/node03/kernel8.img")" "$(sha256sum <"$p/kernel8.img" 2>/dev/null)"
lab_check "str pi4 got node03's rendered cmdline.txt" \
    grep -q 'nfsroot=10.42.0.250:/srv/roots/node03,vers=3' "$p/cmdline.txt"
lab_check "str prefix transfers are node03's events" \
    grep -q 'tftp.sent pos=3 .*path=config.txt .*prefix=rack1/n03/' "$log"

# Real clients from a host that is no node: the prefix alone selects node03's view.
lab_host guest 10.42.0.77/24
o=$d/guest
mkdir -p "$o"
lab_exec guest bash -c "cd $o && timeout 30 tftp -m binary 10.42.0.250 -c get rack1/n03/cmdline.txt hpa-cmdline.txt"
lab_eq "tftp-hpa: rack1/n03/cmdline.txt is node03's rendered file (sha256)" \
    "$(sha256sum <"$p/cmdline.txt")" "$(sha256sum <"$o/hpa-cmdline.txt" 2>/dev/null)"
lab_check "tftp-hpa: rendered for node03" grep -q 'nfsroot=10.42.0.250:/srv/roots/node03,vers=3' "$o/hpa-cmdline.txt"
lab_check "the guest's transfer is node03's event" \
    grep -q 'tftp.sent pos=3 mac=dc:a6:32:01:36:c3 ip=10.42.0.77 .*path=cmdline.txt .*prefix=rack1/n03/' "$log"
lab_exec guest timeout 30 busybox tftp -g -r rack1/n03/config.txt -l "$o/bb-config.txt" 10.42.0.250
lab_eq "busybox tftp: rack1/n03/config.txt is node03's own (sha256)" \
    "$(sha256sum <"$d/nodes/node03/config.txt")" "$(sha256sum <"$o/bb-config.txt" 2>/dev/null)"
lab_exec guest bash -c "cd $o && timeout 30 tftp -m binary 10.42.0.250 -c get pi04-cmdline.txt hpa-pi04.txt"
lab_check "tftp-hpa: pi04-cmdline.txt (prefix without '/') is node04's rendered file" \
    grep -q 'nfsroot=10.42.0.250:/srv/roots/node04,vers=3' "$o/hpa-pi04.txt"
lab_exec guest timeout 30 busybox tftp -g -r rack1/n03/../n03/config.txt -l "$o/bb-dotdot.txt" 10.42.0.250
lab_eq "busybox tftp: '..' behind the prefix is refused" 1 "$(test -s "$o/bb-dotdot.txt" && echo 0 || echo 1)"

lab_host p3 "" b8:27:eb:85:c0:f2
lab_exec p3 "$B/netbootd-piemu" --iface eth0 --model pi3b-rom --serial 7285c0f2 --timeout 60s \
    --save-dir "$d/s3" -q
lab_eq "pi3b-rom boots through netbootd" 0 $?
lab_check "pi3 bootsig.bin miss marked expected" grep -q 'tftp.not_found .*expected=true file=bootsig.bin' "$log"
lab_check "no unexpected misses" bash -c "! grep -q 'tftp.not_found .*expected=false' '$log'"
lab_finish
