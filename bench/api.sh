#!/usr/bin/env bash
# API benchmark (issue 7): how late live events reach an event-stream subscriber while the daemon
# serves a 60-node TFTP boot storm, and how much memory the daemon holds with 60 and with 10,000
# configured nodes. Not a test: it prints a table and exits 0.
#
#   sudo bench/api.sh                   # RUNS=3 runs of each configuration, NODES=60 storm clients
#   RUNS=5 BIG=10000 NODES=60 sudo bench/api.sh
#   SUB_CHRT=10 ...    # the subscriber at real-time priority (chrt -f 10): what is left of the
#                      # latency is the daemon's, not the subscriber waiting for a CPU
#   NETBOOTD_NICE=-10 ...  # the daemon at a higher CPU priority than the storm's clients
#
# Each run starts netbootd in the namespace lab (tests/e2e/lib/lab.sh), subscribes to
# GET /api/v1/events/stream with bench/lib/sse_latency.py (inside the server's namespace, over its
# loopback), runs the storm of bench/lib/storm.sh (NODES busybox tftp clients at 512-byte blocks,
# each fetching a Pi 4 boot set of 10.7 MB), and records per event: receive time minus the event's
# time_us (stamped by the event bus when the packet was handled). The events published during the
# storm are counted by seq (last_seq of GET /api/v1/events before and after) and by the sum of
# netbootd_events_total in /metrics; every one of them must have reached the subscriber.
# Memory: VmRSS and VmHWM of the daemon (/proc/PID/status) once it serves, and after the storm.
#
# Configurations, run alternately so both see the same machine load:
#   "60 nodes":  the storm clients are the configured nodes (10.42.0.1-60 in 10.42.0.0/24).
#   "10000 nodes": BIG generated nodes in 198.18.0.0/18 (the RFC 2544 benchmarking range), because
#     10.42.0.0/24 cannot hold them and config validation wants every node address and
#     cluster.server_ip inside cluster.subnet. Those addresses exist only in the config: no
#     interface carries them and no packet is sent to them (DHCP answers only clients that ask,
#     and none does). The storm clients are then unknown to the registry and fetch the shared
#     files as any TFTP client would.
# DHCP runs in both (full mode, no pool) so the memory figure includes its tables; it sees no
# traffic. The machine these figures come from is shared with compiles: treat timings as noisy.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
source "$src/tests/e2e/lib/lab.sh"
source "$here/lib/storm.sh"
lab_require_root

RUNS=${RUNS:-3}
NODES=${NODES:-60}
BIG=${BIG:-10000}
storm_find_netbootd
command -v python3 >/dev/null || lab_die "python3 missing (.ci/install-deps)"
command -v curl >/dev/null || lab_die "curl missing (.ci/install-deps)"
[ "$NODES" -ge 1 ] && [ "$NODES" -le 200 ] || lab_die "NODES must be 1..200 (10.42.0.0/24)"
[ "$BIG" -ge 1 ] && [ "$BIG" -le 16000 ] || lab_die "BIG must be 1..16000 (198.18.0.0/18)"
S=10.42.0.250
PORT=8067
API=http://127.0.0.1:$PORT

lab_init apibench
lab_host server $S/24
storm_hosts "$NODES"
data=$LAB_DIR/data
out=$LAB_DIR/out
mkdir -p "$data" "$out"
chmod 755 "$LAB_DIR"
storm_bootset "$data" # BOOTSET, SETBYTES

# config NAME SUBNET SERVER_IP: the common part; nodes are appended by the callers.
config_head() {
    cat <<YAML
cluster:
  name: apibench
  interface: eth0
  server_ip: $3
  subnet: $2
  state_dir: $LAB_DIR/state-$1
dhcp:
  mode: full
tftp:
  root: $data
nfs:
  backend: none
api:
  listen: 127.0.0.1:$PORT
defaults:
  hostname: "node{position:05}"
nodes:
YAML
}
config_head small 10.42.0.0/24 $S >"$LAB_DIR/small.yaml"
awk -v n="$NODES" 'BEGIN{for (p = 1; p <= n; p++)
    printf "  - { position: %d, mac: \"dc:a6:32:00:00:%02x\", serial: \"%08x\", ip: 10.42.0.%d }\n", p, p, 268435456 + p, p}' \
    >>"$LAB_DIR/small.yaml"
config_head big 198.18.0.0/18 198.18.63.254 >"$LAB_DIR/big.yaml"
awk -v n="$BIG" 'BEGIN{for (p = 1; p <= n; p++)
    printf "  - { position: %d, mac: \"dc:a6:32:01:%02x:%02x\", serial: \"%08x\", ip: 198.18.%d.%d }\n", p, int(p / 256), p % 256, 268435456 + p, int(p / 250), p % 250 + 1}' \
    >>"$LAB_DIR/big.yaml"

api_get() { lab_exec server curl -s --max-time 10 "$API$1"; }
last_seq() { api_get '/api/v1/events?limit=1' | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_seq"])'; }
events_total() { api_get /metrics | awk '/^netbootd_events_total/ {s += $NF} END {printf "%d\n", s}'; }
# "VmRSS VmHWM RssAnon RssFile" in MB (RssFile: mapped files, e.g. the boot files being served)
mem() {
    awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2}
        END {printf "%.1f %.1f %.1f %.1f\n", r / 1024, h / 1024, a / 1024, f / 1024}' "/proc/$1/status"
}
max_seq() { awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}' "$1" 2>/dev/null || echo 0; }
stop_pid() { # PID: TERM, bounded wait, then KILL
    local i
    kill "$1" 2>/dev/null
    for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# One run of configuration CASE (small|big), number R. Appends its latencies (ms) to
# $out/lat-CASE and prints one line:
# "start_s rss hwm anon file (started) storm_s ok published received lost metrics_delta
#  rss hwm anon file (after the storm) p50 p99 max"
run_case() { # CASE R
    local c=$1 r=$2 pid sub t0 t1 ts i seq0 seq1 m0 m1 lat=$out/lat-$1-$2 ready=$out/ready-$1-$2
    rm -rf "$LAB_DIR/state-$c"
    t0=$(date +%s%N)
    lab_bg server "$LAB_DIR/netbootd-$c.log" ${NETBOOTD_NICE:+nice -n "$NETBOOTD_NICE"} "$NETBOOTD" --config "$LAB_DIR/$c.yaml" --log-level warn
    pid=$LAB_LAST_PID
    if ! lab_wait_tcp server $PORT 60 || ! lab_wait_udp server 69 10; then
        cat "$LAB_DIR/netbootd-$c.log" >&2
        lab_die "netbootd ($c) did not start"
    fi
    t1=$(date +%s%N)
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = netbootd ] || lab_die "PID $pid is not netbootd"
    sleep 1
    local start_mem
    start_mem=$(mem "$pid")

    lab_bg server "$LAB_DIR/subscriber-$c.log" ${SUB_CHRT:+chrt -f "$SUB_CHRT"} python3 "$here/lib/sse_latency.py" 127.0.0.1 $PORT "$lat" "$ready" 300
    sub=$LAB_LAST_PID
    lab_wait 10 test -s "$ready" || lab_die "the event-stream subscriber did not connect"
    seq0=$(last_seq)
    m0=$(events_total)

    ts=$(date +%s%N)
    storm_clients $S "$out/storm" "$NODES"
    ts=$(( $(date +%s%N) - ts ))

    seq1=$(last_seq)
    m1=$(events_total)
    # Let the stream deliver the tail (bounded), then stop the subscriber.
    for i in $(seq 1 300); do [ "$(max_seq "$lat")" -ge "$seq1" ] && break; sleep 0.1; done
    stop_pid "$sub"
    local after_mem summary
    after_mem=$(mem "$pid")
    stop_pid "$pid"
    summary=$(storm_summary "$out/storm" "$NODES" "$data")

    # The storm's events: seq in (seq0, seq1]. Each seq once, none missing.
    awk -v a="$seq0" -v b="$seq1" '$1 > a && $1 <= b && !seen[$1]++ {print $2 / 1000}' "$lat" >"$lat.ms"
    cat "$lat.ms" >>"$out/lat-$c"
    local published=$((seq1 - seq0)) received
    received=$(wc -l <"$lat.ms")
    read -r p50 p99 mx < <(sort -g "$lat.ms" | awk '{a[NR] = $1} END {
        if (NR == 0) {print "- - -"; exit}
        i = int(NR * 0.50 + 0.5); if (i < 1) i = 1; j = int(NR * 0.99 + 0.5); if (j < 1) j = 1
        printf "%.2f %.2f %.2f\n", a[i], a[j], a[NR]}')
    printf '%.2f %s %.1f %s %d %d %d %d %s %s %s\n' \
        "$(awk -v n=$((t1 - t0)) 'BEGIN {print n / 1e9}')" "$start_mem" \
        "$(awk -v n=$ts 'BEGIN {print n / 1e9}')" "$(awk '{print $4}' <<<"$summary")" \
        "$published" "$received" $((published - received)) $((m1 - m0)) "$after_mem" "$p50 $p99" "$mx"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$RUNS"); do
    for c in small big; do
        line=$(run_case "$c" "$r") || exit 1
        echo "$line" >>"$out/runs-$c"
        lab_log "$c run $r/$RUNS: $line"
    done
done

median_col() { # FILE COLUMN
    awk -v k="$2" '{print $k}' "$1" | sort -g | awk '{a[NR] = $1} END {print (NR ? a[int((NR + 1) / 2)] : "-")}'
}
max_col() { awk -v k="$2" 'NR == 1 || $k > m {m = $k} END {print m}' "$1"; }
sum_col() { awk -v k="$2" '{s += $k} END {print s}' "$1"; }
pct() { # FILE P -> percentile of the pooled latencies
    sort -g "$1" | awk -v p="$2" '{a[NR] = $1} END {if (!NR) {print "-"; exit}
        i = int(NR * p + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.2f\n", a[i]}'
}

declare -A LABEL=([small]="$NODES nodes" [big]="$BIG nodes")
echo
echo "load average (1, 5, 15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(nproc) CPUs)"
echo "Event latency, packet handled -> SSE subscriber, during a $NODES-node TFTP storm"
echo "($RUNS runs per configuration, all events pooled; busybox tftp, 512-byte blocks, $(awk -v b="$SETBYTES" 'BEGIN {printf "%.1f", b / 1e6}') MB per node)"
printf '%-13s %8s %9s %6s %8s %8s %8s %8s %8s\n' config events received lost metrics p50_ms p99_ms max_ms storm_s
for c in small big; do
    f=$out/runs-$c
    printf '%-13s %8s %9s %6s %8s %8s %8s %8s %8s\n' "${LABEL[$c]}" "$(sum_col "$f" 8)" "$(sum_col "$f" 9)" \
        "$(sum_col "$f" 10)" "$(sum_col "$f" 11)" "$(pct "$out/lat-$c" 0.50)" "$(pct "$out/lat-$c" 0.99)" \
        "$(pct "$out/lat-$c" 1.0)" "$(median_col "$f" 6)"
done
echo "(events: published during the storms, by seq; received: by the subscriber; metrics: the rise of"
echo " netbootd_events_total; storm_s: median wall time; nodes ok: $(for c in small big; do printf '%s %s/%s  ' "${LABEL[$c]}:" "$(median_col "$out/runs-$c" 7)" "$NODES"; done))"
echo
echo "Daemon memory, MB (median of $RUNS; peak = largest VmHWM of any run)"
printf '%-13s %8s %12s %10s %10s %10s %10s %7s %8s\n' config start_s rss_started anon+file rss_after anon+file hwm_after peak target
for c in small big; do
    f=$out/runs-$c
    tgt=$([ $c = small ] && echo 30 || echo 150)
    printf '%-13s %8s %12s %10s %10s %10s %10s %7s %8s\n' "${LABEL[$c]}" "$(median_col "$f" 1)" "$(median_col "$f" 2)" \
        "$(median_col "$f" 4)+$(median_col "$f" 5)" "$(median_col "$f" 12)" "$(median_col "$f" 14)+$(median_col "$f" 15)" \
        "$(median_col "$f" 13)" "$(max_col "$f" 13)" "< $tgt"
done
echo "(rss: VmRSS once the daemon serves / after the storm; anon+file: its RssAnon+RssFile; hwm: VmHWM)"
echo
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v != "-" && v + 0 < t ? "met" : "NOT met")}'; }
for c in small big; do
    p99=$(pct "$out/lat-$c" 0.99)
    printf 'p99 latency %-13s %8s ms  (target < 50 ms): %s\n' "${LABEL[$c]}" "$p99" "$(verdict "$p99" 50)"
done
lost=$(($(sum_col "$out/runs-small" 10) + $(sum_col "$out/runs-big" 10)))
printf 'lost events              %8s     (target 0): %s\n' "$lost" "$([ "$lost" = 0 ] && echo met || echo "NOT met")"
printf 'peak RSS %-13s    %8s MB  (target < 30 MB): %s\n' "${LABEL[small]}" "$(max_col "$out/runs-small" 13)" "$(verdict "$(max_col "$out/runs-small" 13)" 30)"
printf 'peak RSS %-13s    %8s MB  (target < 150 MB): %s\n' "${LABEL[big]}" "$(max_col "$out/runs-big" 13)" "$(verdict "$(max_col "$out/runs-big" 13)" 150)"
exit 0
