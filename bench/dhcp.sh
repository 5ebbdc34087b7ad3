#!/usr/bin/env bash
# DHCP throughput benchmark: Kea's perfdhcp (relay mode, giaddr set) against netbootd and dnsmasq in
# the same namespace lab, same 60-host static table, same per-packet logging (dnsmasq --log-dhcp
# vs netbootd --log-level debug, which logs every DHCP event). perfdhcp's DHCPv4 mode acts as a
# relay (giaddr = its address, port 67). For each server and logging mode it finds the highest
# DORA rate with 0% drops (rates from RATES, each run PERIOD seconds, RUNS runs per rate, a rate
# passes if the median run has no drops) and reports the median latency at that rate.
#
#   sudo bench/dhcp.sh                  # needs a build in ./build (or NETBOOTD_BUILD_DIR)
#   RATES="1000 2000 4000" PERIOD=5 RUNS=3 sudo bench/dhcp.sh
#
# Not a test: numbers depend on the machine (2 shared cores here; perfdhcp itself uses one).
src=$(cd "$(dirname "$0")/.." && pwd)
export NETBOOTD_SOURCE_DIR=${NETBOOTD_SOURCE_DIR:-$src}
export NETBOOTD_BUILD_DIR=${NETBOOTD_BUILD_DIR:-$src/build}
source "$src/tests/e2e/lib/lab.sh"

RATES=${RATES:-"1000 2000 4000 6000 8000 12000 16000 24000"}
PERIOD=${PERIOD:-5}
RUNS=${RUNS:-1}
MODES=${MODES:-"dnsmasq-log netbootd-log dnsmasq-quiet netbootd-quiet"}
NODES=60

command -v perfdhcp >/dev/null || lab_die "perfdhcp missing (package kea-admin)"
[ -x /usr/sbin/dnsmasq ] || lab_die "dnsmasq missing (package dnsmasq-base)"
bin=$(lab_netbootd_bin)
[ -x "$bin" ] || lab_die "netbootd not built at $bin"

lab_init bench-dhcp
lab_host server 10.42.0.250/24
lab_host relay 10.42.0.200/24

macs="$LAB_DIR/macs.txt"
: >"$macs"
hosts="$LAB_DIR/dnsmasq-hosts"
: >"$hosts"
cat >"$LAB_DIR/cluster.yaml" <<YAML
cluster:
  name: bench
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
  router: 10.42.0.250
  dns: [10.42.0.250]
  state_dir: $LAB_DIR/state
dhcp:
  mode: full
tftp:
  enabled: false
defaults:
  hostname: "node{position:02}"
  ip: "10.42.0.{position}"
nodes:
YAML
for i in $(seq 1 $NODES); do
    mac=$(printf 'dc:a6:32:00:00:%02x' "$i")
    echo "$mac" >>"$macs"
    printf '%s,node%02d,10.42.0.%d,infinite\n' "$mac" "$i" "$i" >>"$hosts"
    printf '  - { position: %d, mac: "%s" }\n' "$i" "$mac" >>"$LAB_DIR/cluster.yaml"
done

server_pid=""
start_server() { # mode
    case $1 in
    dnsmasq-*)
        local extra=()
        [ "$1" = dnsmasq-log ] && extra=(--log-dhcp --log-facility="$LAB_DIR/dnsmasq-$1.log")
        server_pid=$(lab_bg server "$LAB_DIR/$1.out" /usr/sbin/dnsmasq -d -q --conf-file=/dev/null --port=0 \
            --interface=eth0 --bind-interfaces --dhcp-range=10.42.0.0,static,255.255.255.0 \
            --dhcp-option=3,10.42.0.250 --dhcp-option=6,10.42.0.250 --addn-hosts=/dev/null \
            --dhcp-hostsfile="$hosts" --pxe-service=0,"Raspberry Pi Boot" \
            --dhcp-leasefile="$LAB_DIR/dnsmasq.leases" --pid-file="$LAB_DIR/dnsmasq.pid" "${extra[@]}")
        ;;
    netbootd-*)
        # -log: every packet event logged (as dnsmasq --log-dhcp logs every packet); -quiet: events
        # still go to the bus (ring, counters, API) but only warnings reach the log.
        local level=debug
        [ "$1" = netbootd-quiet ] && level=warn
        rm -rf "$LAB_DIR/state"
        server_pid=$(lab_bg server "$LAB_DIR/$1.log" "$bin" --config "$LAB_DIR/cluster.yaml" --log-level $level)
        ;;
    esac
    lab_wait_udp server 67 10 || lab_die "$1 did not start"
}
stop_server() {
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    # dnsmasq's children and anything else left in the server namespace
    lab_kill_ns "$(lab_ns server)"
}

# One perfdhcp run: prints "drops_pct avg_latency_ms" for DORA (both exchanges).
perf_run() { # rate
    local out="$LAB_DIR/perf.out"
    lab_exec relay timeout $((PERIOD + 20)) perfdhcp -4 -l 10.42.0.200 -r "$1" -p "$PERIOD" -R $NODES \
        -M "$macs" -W 2000000 10.42.0.250 >"$out" 2>&1
    awk '
        /^\*\*\*Statistics for: DISCOVER-OFFER/ {x=1}
        /^\*\*\*Statistics for: REQUEST-ACK/ {x=2}
        /^sent packets:/ {sent[x]=$3}
        /^drops:/ {drops[x]=$2}
        /^avg delay:/ {d[x]=$3}
        END {
            s = sent[1] + sent[2]; dr = drops[1] + drops[2]
            if (s == 0) { print "100 0"; exit }
            printf "%.2f %.3f\n", 100 * dr / s, d[1] + d[2]
        }' "$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

declare -A best best_lat
for mode in $MODES; do
    start_server "$mode"
    best[$mode]=0
    best_lat[$mode]=-
    for rate in $RATES; do
        drops=()
        lats=()
        for r in $(seq 1 "$RUNS"); do
            read -r d l < <(perf_run "$rate")
            drops+=("$d")
            lats+=("$l")
        done
        md=$(printf '%s\n' "${drops[@]}" | median)
        ml=$(printf '%s\n' "${lats[@]}" | median)
        printf '%-15s rate %6d/s  drops %6s%%  DORA latency %s ms\n' "$mode" "$rate" "$md" "$ml" >&2
        if awk -v d="$md" 'BEGIN {exit !(d == 0)}'; then
            best[$mode]=$rate
            best_lat[$mode]=$ml
        else
            break
        fi
    done
    stop_server
    [ -n "${BENCH_KEEP:-}" ] && mkdir -p "$BENCH_KEEP" && cp "$LAB_DIR"/*.log "$LAB_DIR"/*.out "$BENCH_KEEP"/ 2>/dev/null
done

echo
printf '%-16s %20s %18s\n' server "max 0%-drop DORA/s" "latency (ms)"
for mode in $MODES; do printf '%-16s %20s %18s\n' "$mode" "${best[$mode]}" "${best_lat[$mode]}"; done
ratio() { awk -v a="${best[$1]:-0}" -v b="${best[$2]:-0}" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
echo
echo "netbootd (events logged) / dnsmasq --log-dhcp : $(ratio netbootd-log dnsmasq-log)   (target >= 2)"
echo "netbootd (events logged) / dnsmasq quiet      : $(ratio netbootd-log dnsmasq-quiet)   (target >= 1)"
echo "netbootd (events on bus) / dnsmasq quiet      : $(ratio netbootd-quiet dnsmasq-quiet)"
echo "(rates tried: $RATES; ${PERIOD}s per run, $RUNS run(s) per rate, median)"
lab_log "done"
