#!/usr/bin/env bash
# TFTP end to end: netbootd in a namespace, real clients (tftp-hpa, busybox tftp with and without
# -b, curl tftp://, atftp with windowsize) in others. Every file is checked by sha256; per-node
# views (serial/MAC prefix, node directory, rendered cmdline.txt), refusals and events are checked.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"
lab_require_root

lab_init tftp
lab_host server 10.42.0.250/24
lab_host node1 10.42.0.1/24 b8:27:eb:e2:47:cc
lab_host guest 10.42.0.77/24

srv=$LAB_DIR/srv
mkdir -p "$srv/boot/overlays" "$srv/nodes/node01" "$srv/templates" "$srv/state" "$LAB_DIR/out"
head -c 2345678 /dev/urandom >"$srv/boot/start4.elf"
head -c 3145728 /dev/urandom >"$srv/boot/kernel8.img"
head -c 524288 /dev/urandom >"$srv/boot/exact512.bin"          # 1024 blocks: ends with an empty block
head -c 34000000 /dev/urandom >"$srv/boot/big.img"            # > 65535 blocks of 512: block wrap
head -c 52345 /dev/urandom >"$srv/boot/overlays/vc4.dtbo"
printf 'shared config\n[all]\narm_64bit=1\n' >"$srv/boot/config.txt"
printf 'shared cmdline\n' >"$srv/boot/cmdline.txt"
printf 'node01 own config\n' >"$srv/nodes/node01/config.txt"
ln -s /etc/passwd "$srv/boot/escape"                             # a symlink leaving the root
cp "$NETBOOTD_SOURCE_DIR/rootfs-templates/boot/cmdline.txt" "$srv/templates/cmdline.txt"
printf '# netbootd additions for {hostname}\ndtoverlay=vc4\n' >"$srv/templates/extra.txt.append"
printf 'extra base\n' >"$srv/boot/extra.txt"

cat >"$LAB_DIR/cluster.yaml" <<YAML
cluster:
  name: e2e
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
  state_dir: $srv/state
dhcp:
  enabled: false
tftp:
  root: $srv/boot
  nodes_dir: $srv/nodes
  templates_dir: $srv/templates
  max_blksize: 1468
  max_windowsize: 16
  data_threads: 2
nfs:
  backend: none
  base_root: /srv/roots/base
  roots_dir: /srv/roots
api:
  listen: 127.0.0.1:18067
defaults:
  hostname: "node{position:02}"
  ip: "10.42.0.{position}"
  root: overlay
nodes:
  - { position: 1, mac: "b8:27:eb:e2:47:cc", serial: "27e247cc" }
  - { position: 2, mac: "dc:a6:32:01:36:c2", serial: "6aee7243", root: shared }
YAML

log=$LAB_DIR/netbootd.log
lab_bg server "$log" "$(lab_netbootd_bin)" --config "$LAB_DIR/cluster.yaml" --log-level debug
lab_wait_udp server 69 10 || { cat "$log"; lab_die "netbootd did not listen on 69"; }
nb_pid=$LAB_LAST_PID

# --- the data path's threads: tftp.data_threads of them, raised to tftp.data_nice (default -5)
# while each serves 4 or more transfers, at the daemon's value (0) otherwise -------------------
nice_of_threads() { # PID -> the nice value of each thread, one per line (field 19 of stat)
    local t
    for t in /proc/"$1"/task/*/stat; do awk '{sub(/^.*\) /, ""); print $17}' "$t"; done
}
raised_threads() { grep -cx -- -5 <<<"$(nice_of_threads "$nb_pid")"; }
lab_check "idle: no thread raised (every thread at nice 0)" [ "$(raised_threads)" = 0 ]
# Two transfers (one per data thread, handed over round robin): still not busy.
lab_exec guest timeout 20 python3 "$here/lib/tftp_hold.py" 10.42.0.250 start4.elf 2 2 \
    >"$LAB_DIR/hold2.out" 2>&1 &
hold=$!
seen=0
for i in $(seq 1 15); do seen=$((seen + $(raised_threads))); sleep 0.1; done
wait "$hold"
lab_check "two transfers held for 2 s" grep -qx "held 2 of 2" "$LAB_DIR/hold2.out"
lab_check "two transfers (one per thread): no thread raised at any of 15 looks" [ "$seen" = 0 ]
# Ten transfers: five per data thread.
lab_exec guest timeout 20 python3 "$here/lib/tftp_hold.py" 10.42.0.250 start4.elf 10 3 \
    >"$LAB_DIR/hold10.out" 2>&1 &
hold=$!
busy=""
for i in $(seq 1 25); do [ "$(raised_threads)" = 2 ] && { busy=1; break; }; sleep 0.1; done
nices=$(nice_of_threads "$nb_pid")
wait "$hold"
lab_check "ten transfers held for 3 s" grep -qx "held 10 of 10" "$LAB_DIR/hold10.out"
lab_check "ten transfers (five per thread): exactly the two data threads at nice -5" [ -n "$busy" ]
lab_check "... and every other thread at nice 0" \
    [ "$(grep -cx -- 0 <<<"$nices")" = "$(($(wc -l <<<"$nices") - 2))" ]
back=""
for i in $(seq 1 30); do [ "$(raised_threads)" = 0 ] && { back=1; break; }; sleep 0.1; done
lab_check "transfers ended (Early terminate): both data threads back at nice 0" [ -n "$back" ]

S=10.42.0.250
out=$LAB_DIR/out
sum() { sha256sum "$1" | awk '{print $1}'; }
same() { [ -f "$2" ] && [ "$(sum "$1")" = "$(sum "$2")" ]; }

# --- real clients, each file checked by sha256 -------------------------------------------------
lab_exec guest bash -c "cd $out && timeout 30 tftp -m binary $S -c get start4.elf hpa-start4.elf"
lab_check "tftp-hpa: start4.elf intact" same "$srv/boot/start4.elf" "$out/hpa-start4.elf"
lab_exec guest bash -c "cd $out && timeout 30 tftp -m binary $S -c get exact512.bin hpa-exact.bin"
lab_check "tftp-hpa: file of whole 512-byte blocks intact" same "$srv/boot/exact512.bin" "$out/hpa-exact.bin"
lab_exec guest bash -c "cd $out && timeout 30 tftp -m binary $S -c get overlays/vc4.dtbo hpa-vc4.dtbo"
lab_check "tftp-hpa: file in a subdirectory intact" same "$srv/boot/overlays/vc4.dtbo" "$out/hpa-vc4.dtbo"

lab_exec guest timeout 30 busybox tftp -g -r kernel8.img -l "$out/bb-kernel.img" $S
lab_check "busybox tftp (512): kernel8.img intact" same "$srv/boot/kernel8.img" "$out/bb-kernel.img"
lab_exec guest timeout 30 busybox tftp -b 1468 -g -r kernel8.img -l "$out/bb1468-kernel.img" $S
lab_check "busybox tftp -b 1468: kernel8.img intact" same "$srv/boot/kernel8.img" "$out/bb1468-kernel.img"
lab_exec guest timeout 60 busybox tftp -g -r big.img -l "$out/bb-big.img" $S
lab_check "busybox tftp: 66,407-block file (block number wraps) intact" same "$srv/boot/big.img" "$out/bb-big.img"

lab_exec guest timeout 30 curl -s --tftp-blksize 1468 -o "$out/curl-start4.elf" "tftp://$S/start4.elf"
lab_check "curl --tftp-blksize 1468: start4.elf intact" same "$srv/boot/start4.elf" "$out/curl-start4.elf"
lab_exec guest timeout 30 curl -s -o "$out/curl-exact.bin" "tftp://$S/exact512.bin"
lab_check "curl (512): whole-block file intact" same "$srv/boot/exact512.bin" "$out/curl-exact.bin"

lab_exec guest timeout 30 atftp --option "windowsize 8" --option "blksize 1468" -g -r kernel8.img -l "$out/atftp-kernel.img" $S
lab_check "atftp windowsize 8: kernel8.img intact" same "$srv/boot/kernel8.img" "$out/atftp-kernel.img"
lab_exec guest timeout 30 atftp --option "tsize 0" -g -r start4.elf -l "$out/atftp-start4.elf" $S
lab_check "atftp tsize: start4.elf intact" same "$srv/boot/start4.elf" "$out/atftp-start4.elf"

# --- per-node views ---------------------------------------------------------------------------
want_cmdline="console=serial0,115200 console=tty1 root=/dev/nfs nfsroot=10.42.0.250:/srv/roots/node01,vers=3 rw ip=dhcp rootwait elevator=deadline"
lab_exec guest timeout 10 busybox tftp -g -r 27e247cc/cmdline.txt -l "$out/serial-cmdline.txt" $S
lab_eq "serial prefix: node01's rendered cmdline.txt" "$want_cmdline" "$(cat "$out/serial-cmdline.txt" 2>/dev/null)"
lab_exec node1 timeout 10 busybox tftp -g -r cmdline.txt -l "$out/ip-cmdline.txt" $S
lab_eq "no prefix, node01's IP: rendered cmdline.txt" "$want_cmdline" "$(cat "$out/ip-cmdline.txt" 2>/dev/null)"
lab_exec guest timeout 10 busybox tftp -g -r dc-a6-32-01-36-c2/cmdline.txt -l "$out/mac-cmdline.txt" $S
lab_check "MAC prefix: node02 (shared root) gets nfsroot=/srv/roots/base" \
    grep -q 'nfsroot=10.42.0.250:/srv/roots/base,vers=3' "$out/mac-cmdline.txt"
lab_exec guest timeout 10 busybox tftp -g -r cmdline.txt -l "$out/guest-cmdline.txt" $S
lab_eq "unknown client, no prefix: shared cmdline.txt" "shared cmdline" "$(cat "$out/guest-cmdline.txt" 2>/dev/null)"
lab_exec guest timeout 10 busybox tftp -g -r 27e247cc/config.txt -l "$out/node-config.txt" $S
lab_eq "serial prefix: node01's own config.txt from its directory" "node01 own config" "$(cat "$out/node-config.txt" 2>/dev/null)"
lab_exec guest timeout 10 busybox tftp -g -r 6aee7243/config.txt -l "$out/n2-config.txt" $S
lab_check "serial prefix without own file: shared config.txt" same "$srv/boot/config.txt" "$out/n2-config.txt"
lab_exec guest timeout 10 busybox tftp -g -r 27e247cc/start4.elf -l "$out/serial-start4.elf" $S
lab_check "serial prefix: shared start4.elf through the view" same "$srv/boot/start4.elf" "$out/serial-start4.elf"
lab_exec node1 timeout 10 busybox tftp -g -r extra.txt -l "$out/extra.txt" $S
lab_eq "append template: shared file + rendered additions" \
    "$(printf 'extra base\n# netbootd additions for node01\ndtoverlay=vc4')" "$(cat "$out/extra.txt" 2>/dev/null)"

# --- misses and refusals ----------------------------------------------------------------------
err=$(lab_exec guest timeout 10 busybox tftp -g -r deadbeef/start4.elf -l "$out/x1" $S 2>&1)
lab_check "unknown serial prefix answered 'File not found'" grep -qi 'not found' <<<"$err"
err=$(lab_exec guest timeout 10 busybox tftp -g -r bootsig.bin -l "$out/x2" $S 2>&1)
lab_check "missing bootsig.bin answered 'File not found'" grep -qi 'not found' <<<"$err"
err=$(lab_exec guest timeout 10 busybox tftp -g -r ../../../../etc/passwd -l "$out/x3" $S 2>&1)
lab_check "traversal '../../../../etc/passwd' refused" bash -c "[ ! -s $out/x3 ] && grep -qi 'access violation' <<<'$err'"
lab_exec guest timeout 10 busybox tftp -g -r escape -l "$out/x4" $S >/dev/null 2>&1
lab_check "symlink leaving the root not served" bash -c "! grep -q root: $out/x4 2>/dev/null"
echo hello >"$out/up.txt"
err=$(lab_exec guest timeout 10 busybox tftp -p -l "$out/up.txt" -r up.txt $S 2>&1)
lab_check "write request refused" bash -c "[ ! -e $srv/boot/up.txt ] && grep -qi 'read-only' <<<'$err'"

# --- wire-level rules the stock clients cannot exercise (T3, T4, T5, T1) ----------------------
probe_out=$(lab_exec guest timeout 60 python3 "$here/lib/tftp_probe.py" $S start4.elf 2345678 2>&1)
while read -r verdict rest; do
    [ -n "$verdict" ] || continue
    lab_check "wire: $rest" [ "$verdict" = ok ]
done <<<"$probe_out"
lab_check "wire checks ran" grep -q 'RRQ race' <<<"$probe_out"
lab_check "a client gone mid-transfer ends it at once (ICMP: tftp.error client unreachable)" \
    grep -q 'tftp.error.*client unreachable' "$log"
# A level-triggered epoll loop that left an ICMP error unread would spin: the idle daemon must use
# (far) less than one of the next 2 seconds of CPU. A correctness check, not a speed target.
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' /proc/"$nb_pid"/stat; }
t0=$(cpu_ticks)
sleep 2
t1=$(cpu_ticks)
lab_check "idle daemon does not spin after the ICMP error ($((t1 - t0)) ticks in 2 s)" \
    [ $((t1 - t0)) -lt $(($(getconf CLK_TCK) / 2)) ]

# --- events -----------------------------------------------------------------------------------
sleep 0.5
lab_check "event tftp.sent with blksize/windowsize for atftp" grep -q 'tftp.sent.*file=kernel8.img.*windowsize=8' "$log"
lab_check "event tftp.not_found for bootsig.bin marked expected" grep -q 'tftp.not_found .*expected=true file=bootsig.bin' "$log"
lab_check "event tftp.rrq tied to node01 by prefix" grep -q 'tftp.rrq pos=1 mac=b8:27:eb:e2:47:cc .*file=27e247cc/cmdline.txt' "$log"
lab_check "event tftp.refused for the traversal" grep -q 'tftp.refused.*parent directory' "$log"
lab_check "event tftp.early_terminate for the probe" grep -q 'tftp.early_terminate .*file=start4.elf' "$log"
lab_check "retransmit counted in tftp.error/sent events" grep -q 'retransmits=[1-9]' "$log"
lab_check "no tftp.timeout in the whole run" bash -c "! grep -q 'tftp.timeout' $log"
lab_check "netbootd still running" kill -0 "$(ip netns pids "$(lab_ns server)" | head -1)"
lab_finish
