#!/usr/bin/env bash
# The daemon's lifecycle inside a lab namespace: it starts on a valid config, refuses a broken
# reload with file:line errors and keeps serving the old config, accepts a good reload, and stops
# cleanly on SIGTERM. A broken config at start is refused with a non-zero exit.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"
lab_init daemon
lab_host server 10.42.0.250/24

netbootd=$(lab_netbootd_bin)
cfg="$LAB_DIR/cluster.yaml"
write_config() {
    cat >"$cfg" <<YAML
cluster: { name: t, interface: eth0, server_ip: 10.42.0.250, subnet: 10.42.0.0/24, state_dir: $LAB_DIR/state }
dhcp: { enabled: false }
tftp: { enabled: false }
defaults: { ip: "10.42.0.{position}" }
nodes:
$1
YAML
}
write_config '  - { position: 1, mac: "b8:27:eb:00:00:01" }'

# A broken file is refused at start, naming file and line.
cp "$cfg" "$LAB_DIR/good.yaml"
printf 'cluster: { server_ip: 10.42.0.250, subnet: 10.42.0.0/24 }\nnodes:\n  - { position: 1, mac: "zz" }\n' >"$LAB_DIR/bad.yaml"
out=$(lab_exec server "$netbootd" --config "$LAB_DIR/bad.yaml" 2>&1)
rc=$?
lab_eq "a broken config at start exits 1" 1 "$rc"
lab_check "the start error names file:line:column" grep -q "bad.yaml:3:25: malformed MAC 'zz'" <<<"$out"

lab_bg server "$LAB_DIR/netbootd.log" "$netbootd" --config "$cfg" --log-level debug
pid=$LAB_LAST_PID
lab_check "daemon reports it is serving" lab_wait 10 grep -q "serving t: 1 node" "$LAB_DIR/netbootd.log"

# Broken reload: old config keeps serving.
write_config '  - { position: 1, mac: "b8:27:eb:00:00:01" }
  - { position: 2, mac: "b8:27:eb:00:00:01" }'
kill -HUP "$pid"
lab_check "broken reload is refused with its location" lab_wait 10 grep -q "cluster.yaml:7:25: duplicate MAC b8:27:eb:00:00:01" "$LAB_DIR/netbootd.log"
lab_check "daemon survives a broken reload" kill -0 "$pid"
lab_check "reload failure is an event" grep -q "daemon.reload_failed" "$LAB_DIR/netbootd.log"

# Good reload.
write_config '  - { position: 1, mac: "b8:27:eb:00:00:01" }
  - { position: 2, mac: "b8:27:eb:00:00:02" }'
kill -HUP "$pid"
lab_check "good reload swaps in the new inventory" lab_wait 10 grep -q "daemon.reloaded summary=t: 2 nodes" "$LAB_DIR/netbootd.log"

# SIGTERM stops it promptly with status 0.
kill -TERM "$pid"
rc=124
for _ in $(seq 1 50); do
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        rc=$?
        break
    fi
    sleep 0.1
done
lab_eq "SIGTERM stops the daemon with status 0 within 5 s" 0 "$rc"
lab_check "state_dir was created" test -d "$LAB_DIR/state"
lab_finish
