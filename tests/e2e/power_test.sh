#!/usr/bin/env bash
# The daemon's power service: with power.sequence.on_start it turns every node off and then on in
# position order (the reference cluster's start-up), through a command driver whose relay program
# keeps its state in files; each switch is an event in the log. A power driver with a bad key is
# refused at start with its file:line.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"
lab_init power
lab_host server 10.42.0.250/24

netbootd=$(lab_netbootd_bin)
relay="$NETBOOTD_SOURCE_DIR/tests/data/power/fake-relay"
mkdir -p "$LAB_DIR/relays"
# Every relay starts "on", as after a power cut: the sequence must switch each off first.
for i in 1 2 3; do echo on >"$LAB_DIR/relays/relay-$i"; done
cfg="$LAB_DIR/cluster.yaml"
cat >"$cfg" <<YAML
cluster: { name: t, interface: eth0, server_ip: 10.42.0.250, subnet: 10.42.0.0/24, state_dir: $LAB_DIR/state }
dhcp: { enabled: false }
tftp: { enabled: false }
power:
  drivers:
    relays:
      type: command
      on: ["$relay", "$LAB_DIR/relays", "on", "{channel}"]
      off: ["$relay", "$LAB_DIR/relays", "off", "{channel}"]
      status: ["$relay", "$LAB_DIR/relays", "get", "{channel}"]
  sequence: { on_start: true, stagger: 200ms }
defaults: { ip: "10.42.0.{position}", power: { driver: relays, channel: "{position}" } }
nodes:
  - { position: 3, mac: "b8:27:eb:00:00:03" }
  - { position: 1, mac: "b8:27:eb:00:00:01" }
  - { position: 2, mac: "b8:27:eb:00:00:02" }
YAML

lab_bg server "$LAB_DIR/netbootd.log" "$netbootd" --config "$cfg" --log-level debug
pid=$LAB_LAST_PID
lab_check "the start-up sequence reaches node 3" lab_wait 15 grep -q "power.on pos=3 " "$LAB_DIR/netbootd.log"
for i in 1 2 3; do
    lab_eq "relay $i ends on" on "$(cat "$LAB_DIR/relays/relay-$i")"
done
order=$(grep -o "power\.\(on\|off\) pos=[1-3]" "$LAB_DIR/netbootd.log" | tr '\n' ' ')
lab_eq "off all, then on in position order" \
    "power.off pos=1 power.off pos=2 power.off pos=3 power.on pos=1 power.on pos=2 power.on pos=3 " "$order"
lab_check "events carry driver and channel" grep -q "power.on pos=2 .*channel=2 driver=relays" "$LAB_DIR/netbootd.log"
kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
lab_check "daemon stopped" bash -c "! kill -0 $pid 2>/dev/null"

# A typo in a driver's keys is refused at start, with its location.
sed -i 's/      status: /      statsu: /' "$cfg"
out=$(lab_exec server "$netbootd" --config "$cfg" 2>&1)
rc=$?
lab_eq "a bad power driver config exits 1" 1 "$rc"
lab_check "the error names file:line:column and the key" \
    grep -q "cluster.yaml:10:7: power driver 'relays': unknown key 'statsu'" <<<"$out"
lab_finish
