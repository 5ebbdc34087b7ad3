#!/usr/bin/env bash
# Boot orchestration and enrollment through a running netbootd with the `sim` power driver and
# emulated Pi 4s (netbootd-piemu), one network namespace per rack slot. A "rack" process plays
# the hardware: it follows the daemon's power events and starts a slot's emulator on power.on
# and kills it on power.off, as a relay would.
#  1. `netbootctl power on 1-6 --wait-for tftp` acts through the daemon (its log records every
#     switch) and brings six known nodes through DHCP and TFTP in position order, never more than
#     max_parallel booting at once; a slot where nothing boots is reported and exits 1.
#  2. `netbootctl enroll 1-6` against a cluster file without nodes binds six unknown boards to
#     the slot they sit in (enrolled-nodes.yaml: MAC and serial per position), is resumable, and
#     after SIGHUP the daemon serves the enrolled nodes (they boot through TFTP).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"
lab_require_root
B=${NETBOOTD_BUILD_DIR:-$(cd "$here/../.." && pwd)/build}
for bin in netbootd netbootctl netbootd-piemu; do
    [ -x "$B/$bin" ] || lab_die "$bin not built"
done
ctl="$B/netbootctl"

lab_init pwrboot
d=$LAB_DIR
mkdir -p "$d/boot/overlays" "$d/tpl"
blob() { head -c "$2" /dev/urandom >"$1"; }
blob "$d/boot/start4.elf" 200000
blob "$d/boot/fixup4.dat" 5400
blob "$d/boot/bcm2711-rpi-4-b.dtb" 52000
blob "$d/boot/overlays/overlay_map.dtb" 3000
blob "$d/boot/kernel8.img" 300000
printf '[all]\narm_64bit=1\n' >"$d/boot/config.txt"
cp "$NETBOOTD_SOURCE_DIR/rootfs-templates/boot/cmdline.txt" "$d/tpl/"

lab_host server 10.42.0.250/24
for p in 1 2 3 4 5 6; do lab_host "p$p"; done

# Slot p's board in phase 1 (known to the config) and phase 2 (unknown, to be enrolled).
known_mac() { printf 'dc:a6:32:00:00:%02x' "$1"; }
known_serial() { printf '1000000%x' "$1"; }
unknown_macs=(- "dc:a6:32:5e:91:07" "dc:a6:32:13:c4:a2" "dc:a6:32:c8:02:5d" "dc:a6:32:7a:e6:31"
    "dc:a6:32:02:bb:48" "dc:a6:32:e9:17:6c")
unknown_serials=(- 8a91c3e7 2f04d6b1 c3e8a902 5d17f04e 91ab26cd 0e6f3a58)

# write_config DIR WITH_NODES: a cluster file with the sim driver and, optionally, nodes 1-7.
write_config() {
    local dir=$1 with_nodes=$2
    mkdir -p "$dir/state" "$dir/nodes"
    echo "e2e-power-token" >"$dir/api.token"
    cat >"$dir/cluster.yaml" <<Y
cluster: { name: pwr, interface: eth0, server_ip: 10.42.0.250, subnet: 10.42.0.0/24, state_dir: $dir/state }
dhcp: { mode: full }
tftp: { root: $d/boot, nodes_dir: $dir/nodes, templates_dir: $d/tpl }
nfs: { backend: none, base_root: /srv/base, roots_dir: /srv/roots }
api: { listen: 127.0.0.1:8067, unix_socket: $dir/api.sock, token_file: $dir/api.token }
power:
  drivers:
    sim: { type: sim }
  sequence: { stagger: 200ms, max_parallel: 3 }
defaults:
  hostname: "pi{position:02}"
  ip: "10.42.0.{position}"
  power: { driver: sim, channel: "{position}" }
nodes:
Y
    if [ "$with_nodes" = yes ]; then
        for p in 1 2 3 4 5 6 7; do
            echo "  - { position: $p, mac: \"$(known_mac $p)\", serial: \"$(known_serial $p)\" }" \
                >>"$dir/cluster.yaml"
        done
    else
        sed -i 's/^nodes:$/nodes: []/' "$dir/cluster.yaml"
    fi
}

# rack SOCKET PHASE: follows the daemon's power events; power.on starts the slot's emulated Pi
# (slot 7 is wired to nothing), power.off kills it. Ends when the daemon closes the stream.
rack() {
    local sock=$1 phase=$2 line kind pos mac serial
    "$ctl" logs --follow --json --kind power. --limit 10000 --api "unix:$sock" 2>>"$d/rack.log" |
        while read -r line; do
            kind=$(jq -r '.kind' <<<"$line")
            pos=$(jq -r '.position // empty' <<<"$line")
            [ -n "$pos" ] && [ "$pos" -ge 1 ] && [ "$pos" -le 6 ] || continue
            case $kind in
            power.on | power.cycle)
                if [ "$phase" = known ]; then
                    mac=$(known_mac "$pos") serial=$(known_serial "$pos")
                else
                    mac=${unknown_macs[$pos]} serial=${unknown_serials[$pos]}
                fi
                echo "rack: slot $pos on ($mac)" >>"$d/rack.log"
                ip netns exec "$(lab_ns "p$pos")" "$B/netbootd-piemu" --iface eth0 --model pi4 \
                    --mac "$mac" --serial "$serial" --timeout 60s -q \
                    >>"$d/emu-$phase-$pos.log" 2>&1 &
                echo $! >"$d/emu-$pos.pid"
                ;;
            power.off)
                if [ -s "$d/emu-$pos.pid" ]; then
                    kill "$(cat "$d/emu-$pos.pid")" 2>/dev/null
                    rm -f "$d/emu-$pos.pid"
                    echo "rack: slot $pos off" >>"$d/rack.log"
                fi
                ;;
            esac
        done
}

# events SOCKET KIND: "seq position" of every KIND event, oldest first.
events() {
    "$ctl" logs --json --kind "$2" --limit 10000 --api "unix:$1" | jq -r '"\(.seq) \(.position)"'
}

stop_daemon() {
    kill -TERM "$1"
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
}

# ---- 1. power on with --wait-for tftp, through the daemon ---------------------------------
A=$d/a
write_config "$A" yes
lab_bg server "$d/netbootd-a.log" "$B/netbootd" --config "$A/cluster.yaml" --log-level debug
pid_a=$LAB_LAST_PID
lab_wait 15 test -S "$A/api.sock" || lab_die "netbootd did not open its API socket"
lab_wait_udp server 69 10 || lab_die "netbootd did not start TFTP"
rack "$A/api.sock" known &

out=$(timeout 100 "$ctl" power on 1-6 --wait-for tftp --timeout 40s -c "$A/cluster.yaml" 2>&1)
rc=$?
echo "$out"
lab_eq "power on 1-6 --wait-for tftp exits 0" 0 "$rc"
lab_check "it acted through the daemon" grep -q "^through netbootd at unix:$A/api.sock" <<<"$out"
lab_check "all six reached tftp" grep -q "^6 ok, 0 failed, 0 timed out" <<<"$out"
for p in 1 2 3 4 5 6; do
    lab_check "pi0$p reported ok with its wait" grep -Eq "^ +$p +pi0$p +on +ok \(up after " <<<"$out"
done
on_order=$(events "$A/api.sock" power.on | awk '{print $2}' | tr '\n' ' ')
lab_eq "the daemon switched them on in position order" "1 2 3 4 5 6 " "$on_order"
lab_check "the daemon's log has the switches" grep -q "power.on pos=6 .*driver=sim" "$d/netbootd-a.log"
# First DHCP DISCOVER and first TFTP request of each node follow its power-on, in position order.
first_of() { events "$A/api.sock" "$1" | awk '!seen[$2]++'; }
lab_eq "first DHCP of each node in position order" "1 2 3 4 5 6 " "$(first_of dhcp.discover | awk '{print $2}' | tr '\n' ' ')"
lab_eq "first TFTP of each node in position order" "1 2 3 4 5 6 " "$(first_of tftp. | awk '{print $2}' | tr '\n' ' ')"
# max_parallel 3: when a node is switched on, at most 2 earlier ones are still short of TFTP.
busy=$( (events "$A/api.sock" power.on | sed 's/$/ on/'; first_of tftp. | sed 's/$/ tftp/') |
    sort -n | awk '$3 == "on" {if (n > m) m = n; n++} $3 == "tftp" {n--} END {print m + 0}')
lab_check "never more than 3 nodes booting at once (at most $busy others at a power-on)" test "$busy" -le 2

# The bound itself: no stagger, at most 2 booting; a power-on waits for a free slot.
mark=$("$ctl" logs --json --limit 1 --api "unix:$A/api.sock" | jq -r '.seq')
out=$(timeout 100 "$ctl" power cycle 1-6 --stagger 0s --max-parallel 2 --wait-for tftp --timeout 40s \
    -c "$A/cluster.yaml" 2>&1)
rc=$?
echo "$out"
lab_eq "power cycle 1-6 --max-parallel 2 exits 0" 0 "$rc"
since() { awk -v m="$mark" '$1 > m'; }
lab_eq "cycled in position order" "1 2 3 4 5 6 " \
    "$(events "$A/api.sock" power.cycle | since | awk '{print $2}' | tr '\n' ' ')"
busy=$( (events "$A/api.sock" power.cycle | since | sed 's/$/ on/'
    events "$A/api.sock" tftp. | since | awk '!seen[$2]++' | sed 's/$/ tftp/') |
    sort -n | tee "$d/cycle-timeline.txt" |
    awk '$3 == "on" {if (n > m) m = n; n++} $3 == "tftp" {n--} END {print m + 0}')
echo "cycle timeline (seq position what):" $(cat "$d/cycle-timeline.txt")
lab_check "never more than 2 booting at once (at most $busy others at a power-on)" test "$busy" -le 1

# A slot where nothing boots: reported as a timeout, exit 1.
out=$(timeout 60 "$ctl" power on 7 --wait-for dhcp --timeout 2s -c "$A/cluster.yaml" 2>&1)
rc=$?
echo "$out"
lab_eq "a node that never asks makes the command exit 1" 1 "$rc"
lab_check "it is reported as timed out" grep -Eq "^ +7 +pi07 +on +TIMEOUT did not reach dhcp" <<<"$out"
lab_eq "the daemon switched slot 7 on for it" "7" "$(events "$A/api.sock" power.on | awk '{print $2}' | tail -1)"

# Without a daemon the CLI acts from the config (and refuses --wait-for).
stop_daemon "$pid_a"
wait
out=$("$ctl" power off 1 -c "$A/cluster.yaml" 2>&1)
rc=$?
lab_eq "power off without a daemon acts directly" 0 "$rc"
lab_check "and says so" grep -q "acting directly from" <<<"$out"
out=$("$ctl" power on 1 --wait-for dhcp -c "$A/cluster.yaml" 2>&1)
lab_eq "--wait-for without a daemon is refused" 2 "$?"

# ---- 2. enroll six unknown boards ----------------------------------------------------------
E=$d/e
write_config "$E" no
lab_bg server "$d/netbootd-e.log" "$B/netbootd" --config "$E/cluster.yaml" --log-level debug
pid_e=$LAB_LAST_PID
lab_wait 15 test -S "$E/api.sock" || lab_die "netbootd (enroll) did not open its API socket"
lab_wait_udp server 67 10 || lab_die "netbootd (enroll) did not start DHCP"
rack "$E/api.sock" unknown &

out=$(timeout 100 "$ctl" enroll 1-6 --timeout 15s -c "$E/cluster.yaml" 2>&1)
rc=$?
echo "$out"
lab_eq "enroll 1-6 exits 0" 0 "$rc"
lab_check "six bound" grep -q "^6 bound, 0 empty, 0 failed" <<<"$out"
f=$E/enrolled-nodes.yaml
cat "$f"
for p in 1 2 3 4 5 6; do
    lab_check "slot $p bound to its own board's MAC and serial" \
        grep -qx "  - { position: $p, mac: \"${unknown_macs[$p]}\", serial: \"${unknown_serials[$p]}\" }" "$f"
done
lab_eq "exactly six entries" 6 "$(grep -c 'position:' "$f")"
lab_check "the daemon logged each slot's power-on" \
    bash -c "'$ctl' logs --kind power.on --limit 100 --api 'unix:$E/api.sock' | grep -c power.on | grep -qx 6"
before=$(sha256sum <"$f")
out=$(timeout 60 "$ctl" enroll 1-6 --timeout 5s -c "$E/cluster.yaml" 2>&1)
lab_eq "a second enroll resumes (nothing to do) and exits 0" 0 "$?"
lab_eq "it skips all six" 6 "$(grep -c 'already bound' <<<"$out")"
lab_eq "the file is unchanged" "$before" "$(sha256sum <"$f")"

# The daemon serves the enrolled nodes after a reload.
kill -HUP "$pid_e"
lab_check "the daemon reloaded with six enrolled nodes" \
    lab_wait 10 grep -q "6 nodes (6 enrolled)" "$d/netbootd-e.log"
out=$(timeout 100 "$ctl" power on 1-6 --wait-for tftp --timeout 40s -c "$E/cluster.yaml" 2>&1)
rc=$?
echo "$out"
lab_eq "the enrolled nodes boot through TFTP" 0 "$rc"
for p in 1 2 3 4 5 6; do
    lab_check "enrolled pi0$p got its address" \
        grep -q "dhcp.ack pos=$p mac=${unknown_macs[$p]} ip=10.42.0.$p" "$d/netbootd-e.log"
done
stop_daemon "$pid_e"
wait
lab_finish
