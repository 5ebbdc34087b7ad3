#!/usr/bin/env bash
# TFTP benchmark: netbootd against dnsmasq 2.90, tftpd-hpa and atftpd, side by side in the same
# run and the same network namespaces (tests/e2e/lib/lab.sh). Not a test: it prints a table.
#
#   sudo bench/tftp.sh                  # RUNS=9 single-client repetitions, NODES=60 storm clients
#   RUNS=5 NODES=30 STORM_RUNS=1 sudo bench/tftp.sh
#   ONLY="netbootd dnsmasq200" SKIP_SINGLE=1 ...   # a subset of servers / the storm only
#   PERF_RECORD=/tmp/prof ...                       # perf record -g each server during its storm
#   NETBOOTD_B=/tmp/old/netbootd ...                # A/B: a second netbootd ("netbootd-b") in the
#   NETBOOTD_B_ENV="NETBOOTD_TFTP_DATA_THREADS=4"   # same run, another binary and/or environment
#   STORM_MODES="nic local" SINGLE_MODES="nic local"   # accounting modes (see set_boundary)
#
# Rows:
#   single client, 3 MiB and 8 MiB, blksize 512 and 1468 (busybox tftp), 1468 + windowsize 8
#   (atftp; servers without RFC 7440 fall back to lock-step) -> median MB/s of RUNS fetches;
#   boot storm: NODES client namespaces each fetch a Pi 4 boot set (config.txt, start4.elf,
#   fixup4.dat, dtb, cmdline.txt, kernel8.img: ~10.7 MB) at 512-byte blocks with busybox tftp ->
#   wall time, per-node p50/p95/max, server CPU seconds (utime+stime, children included), CPU
#   seconds per GB served and the server's context switches; once per accounting mode ("nic":
#   the clients' receive path runs in the switch's NAPI thread, as behind a real NIC; "local":
#   it is charged to the sending server). Needs ethtool for "nic".
# atftpd conflicts with tftpd-hpa as a package, so it is fetched with `apt-get download` and run
# from a temporary directory (set ATFTPD=/path/to/atftpd to skip that).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
source "$src/tests/e2e/lib/lab.sh"
source "$here/lib/storm.sh"
lab_require_root

RUNS=${RUNS:-9} # lock-step rows spread 2x from fetch to fetch on a VM: 3 runs leave the median to chance
NODES=${NODES:-60}
STORM_RUNS=${STORM_RUNS:-3}
storm_find_netbootd
DNSMASQ=/usr/sbin/dnsmasq
TFTPD_HPA=/usr/sbin/in.tftpd
S=10.42.0.250

lab_init tftpbench

ATFTPD=${ATFTPD:-}
if [ -z "$ATFTPD" ]; then
    mkdir -p "$LAB_DIR/atftpd"
    if (cd "$LAB_DIR/atftpd" && apt-get download -q atftpd >/dev/null 2>&1 && dpkg-deb -x atftpd_*.deb root); then
        ATFTPD=$LAB_DIR/atftpd/root/usr/sbin/atftpd
    else
        lab_log "atftpd could not be downloaded; its rows are skipped"
    fi
fi

# Each server has its own namespace and address on the same bridge, so they can run side by side and
# the measurements can be interleaved (this machine is shared: load moves over a run, and a
# server measured later than another would see different conditions).
declare -A HOST=([netbootd-b]=s-netbootd-b [netbootd]=s-netbootd [dnsmasq50]=s-dnsmasq [dnsmasq200]=s-dnsmasq [tftpd-hpa]=s-hpa [atftpd]=s-atftpd)
declare -A ADDR=([netbootd-b]=10.42.0.254 [netbootd]=10.42.0.250 [dnsmasq50]=10.42.0.251 [dnsmasq200]=10.42.0.251 [tftpd-hpa]=10.42.0.252 [atftpd]=10.42.0.253)
lab_host s-netbootd 10.42.0.250/24
lab_host s-dnsmasq 10.42.0.251/24
lab_host s-hpa 10.42.0.252/24
lab_host s-atftpd 10.42.0.253/24
NETBOOTD_B=${NETBOOTD_B:-}
NETBOOTD_B_ENV=${NETBOOTD_B_ENV:-}
if [ -n "$NETBOOTD_B$NETBOOTD_B_ENV" ]; then
    NETBOOTD_B=${NETBOOTD_B:-$NETBOOTD}
    lab_host s-netbootd-b 10.42.0.254/24
fi
lab_host solo 10.42.0.200/24
# The wire, or not. On this lab every server's clients are processes on the same cores, and with
# plain veth the kernel delivers each datagram to its client (bridge, UDP receive, waking the
# client) inside the sender's sendmsg, so that work is charged to the server: with 60 clients it
# is most of every server's CPU. "nic": each server's switch port takes its frames in a NAPI
# kernel thread of its own (GRO + threaded NAPI), so a server pays for its own send path, as it
# would handing frames to a NIC, and delivery is done by the "wire". "local": the old accounting.
# Every server is measured the same way in both.
STORM_MODES=${STORM_MODES:-nic local}
SINGLE_MODES=${SINGLE_MODES:-nic local}
set_boundary() { # nic|local
    local h i sw="$LAB_ID-sw" gro=off thr=0
    [ "$1" = nic ] && gro=on thr=1
    for h in s-netbootd s-dnsmasq s-hpa s-atftpd ${NETBOOTD_B:+s-netbootd-b}; do
        for i in "${!LAB_HOSTS[@]}"; do
            [ "${LAB_HOSTS[$i]}" = "$h" ] || continue
            # Threaded NAPI needs NAPI (GRO) on: switched on after GRO, off before it.
            [ "$thr" = 0 ] && { ip netns exec "$sw" sh -c "echo 0 >/sys/class/net/p$i/threaded" 2>/dev/null || true; }
            ip netns exec "$sw" ethtool -K "p$i" gro $gro rx-udp-gro-forwarding $gro >/dev/null ||
                lab_die "ethtool -K p$i gro $gro failed (package ethtool)"
            [ "$thr" = 1 ] && { ip netns exec "$sw" sh -c "echo 1 >/sys/class/net/p$i/threaded" ||
                lab_die "cannot set threaded NAPI on p$i"; }
        done
    done
}
storm_hosts "$NODES"

data=$LAB_DIR/data
out=$LAB_DIR/out
mkdir -p "$data" "$out" "$LAB_DIR/state"
chmod 755 "$LAB_DIR" "$data"
head -c $((3 << 20)) /dev/urandom >"$data/file3m"
head -c $((8 << 20)) /dev/urandom >"$data/file8m"
chmod 644 "$data"/*
storm_bootset "$data" # the Pi 4 boot set (10.7 MB): BOOTSET, SETBYTES

cat >"$LAB_DIR/netbootd.yaml" <<YAML
cluster:
  name: bench
  interface: eth0
  server_ip: $S
  subnet: 10.42.0.0/24
  state_dir: $LAB_DIR/state
dhcp:
  enabled: false
tftp:
  root: $data
  nodes_dir: $LAB_DIR/nodes
  max_blksize: 1468
  max_windowsize: 16
nfs:
  backend: none
api:
  listen: 127.0.0.1:18068
nodes:
  - { position: 250, mac: "02:00:00:00:00:fa", hostname: benchnode, ip: "10.42.0.249" }
YAML

declare -A SPID=()
declare -A SPERF=()
start_server() { # NAME [perf]: with "perf", the server runs under `perf stat -e task-clock`, which
    # counts every thread and child process (tftpd-hpa forks one per transfer and ignores SIGCHLD,
    # so /proc/PID/stat's cutime would miss them).
    local log=$LAB_DIR/server-$1.log h=${HOST[$1]} PERF=()
    command -v perf >/dev/null || set -- "$1" # no perf (package linux-perf): CPU column shows "-"
    [ "${2:-}" = perf ] && PERF=(perf stat -e task-clock,context-switches -x, -o "$LAB_DIR/cpu-$1.txt" --)
    # PERF_RECORD=DIR: profile the storm instead (perf record -g), for finding where CPU goes.
    [ "${2:-}" = perf ] && [ -n "${PERF_RECORD:-}" ] && PERF=(perf record -F 1999 -g -o "$PERF_RECORD/perf-$1.data" --)
    case $1 in
    netbootd-b) lab_bg "$h" "$log" env $NETBOOTD_B_ENV "${PERF[@]}" "$NETBOOTD_B" --config "$LAB_DIR/netbootd.yaml" --log-level "${NETBOOTD_LOG_LEVEL:-warn}"; SPID[$1]=$LAB_LAST_PID ;;
    netbootd) lab_bg "$h" "$log" "${PERF[@]}" ${NETBOOTD_NICE:+nice -n "$NETBOOTD_NICE"} "$NETBOOTD" --config "$LAB_DIR/netbootd.yaml" --log-level "${NETBOOTD_LOG_LEVEL:-warn}"; SPID[$1]=$LAB_LAST_PID ;;
    dnsmasq50) lab_bg "$h" "$log" "${PERF[@]}" "$DNSMASQ" -k --port=0 --enable-tftp --tftp-root="$data" --user=root --group=root --pid-file= --log-facility=/dev/null; SPID[$1]=$LAB_LAST_PID ;;
    dnsmasq200) lab_bg "$h" "$log" "${PERF[@]}" "$DNSMASQ" -k --port=0 --enable-tftp --tftp-root="$data" --tftp-max=200 --user=root --group=root --pid-file= --log-facility=/dev/null; SPID[$1]=$LAB_LAST_PID ;;
    tftpd-hpa) lab_bg "$h" "$log" "${PERF[@]}" "$TFTPD_HPA" --listen --foreground --secure --user root --address 0.0.0.0:69 -B 1468 "$data"; SPID[$1]=$LAB_LAST_PID ;;
    atftpd) lab_bg "$h" "$log" "${PERF[@]}" "$ATFTPD" --daemon --no-fork --user root.root --port 69 --maxthread 200 --logfile /dev/null "$data"; SPID[$1]=$LAB_LAST_PID ;;
    esac
    SPERF[$1]=${#PERF[@]}
    lab_wait_udp "$h" 69 10 || { cat "$log"; lab_die "$1 did not start"; }
}
stop_server() { # NAME
    local child SERVER_PID=${SPID[$1]}
    # Under perf, stop the server itself so perf writes its count and exits.
    local i children
    children=$(cat /proc/"$SERVER_PID"/task/*/children 2>/dev/null)
    if [ "${SPERF[$1]:-0}" -gt 0 ] && [ -n "$children" ]; then
        for child in $children; do kill "$child" 2>/dev/null; done
        for i in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    kill "$SERVER_PID" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    wait "$SERVER_PID" 2>/dev/null
    lab_kill_ns "$(lab_ns "${HOST[$1]}")"
    [ -n "${KEEP_LOGS:-}" ] && cp "$LAB_DIR"/server-*.log "$LAB_DIR"/cpu-*.txt "$KEEP_LOGS"/ 2>/dev/null
    return 0
}
cpu_seconds() { awk -F, '/task-clock/ {printf "%.2f", $1 / 1000}' "$LAB_DIR/cpu-$1.txt" 2>/dev/null; }
ctx_switches_k() { awk -F, '/context-switches/ {printf "%.0f", $1 / 1000}' "$LAB_DIR/cpu-$1.txt" 2>/dev/null; }

# One timed fetch in `solo`; prints MB/s or FAIL.
fetch_once() { # SERVER FILE MODE(512|1468|w8)
    local S=${ADDR[$1]} f=$2 mode=$3 t0 t1 rc dst=$out/solo.bin
    rm -f "$dst"
    t0=$(date +%s%N)
    case $mode in
    512) lab_exec solo timeout 60 busybox tftp -g -r "$f" -l "$dst" $S >/dev/null 2>&1 ;;
    1468) lab_exec solo timeout 60 busybox tftp -b 1468 -g -r "$f" -l "$dst" $S >/dev/null 2>&1 ;;
    w8) lab_exec solo timeout 60 atftp --option "blksize 1468" --option "windowsize 8" -g -r "$f" -l "$dst" $S >/dev/null 2>&1 ;;
    esac
    rc=$?
    t1=$(date +%s%N)
    if [ $rc != 0 ] || ! cmp -s "$dst" "$data/$f"; then echo FAIL; return; fi
    awk -v b="$(stat -c %s "$data/$f")" -v ns=$((t1 - t0)) 'BEGIN{printf "%.1f", b / 1e6 / (ns / 1e9)}'
}
median() { sort -g | awk '{a[NR]=$1} END{if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }

row_median() { # SERVER FILE ROW ACCOUNTING -> median of the values collected in $out/single/
    local vals
    vals=$(grep -v FAIL "$out/single/$1.$2.$3.$4" 2>/dev/null)
    if [ -z "$vals" ]; then echo FAIL; return; fi
    median <<<"$vals"
}

# CPU seconds the whole machine was busy (all cores, /proc/stat: everything but idle and iowait).
busy_seconds() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / {print ($2 + $3 + $4 + $7 + $8 + $9) / hz}' /proc/stat; }

storm() { # SERVER -> "wall p50 p95 max ok cpu cpu/GB ctxsw_k others_cpu"
    local t0 t1 srv=$1
    start_server "$srv" perf
    local busy0 busy1
    busy0=$(busy_seconds)
    t0=$(date +%s%N)
    storm_clients "${ADDR[$srv]}" "$out/storm" "$NODES"
    t1=$(date +%s%N)
    busy1=$(busy_seconds)
    stop_server "$srv"
    local p50 p95 mx okn
    read -r p50 p95 mx okn < <(storm_summary "$out/storm" "$NODES" "$data")
    awk -v w=$((t1 - t0)) -v p50="$p50" -v p95="$p95" -v mx="$mx" -v ok=$okn -v cpu="$(cpu_seconds "$srv")" \
        -v cs="$(ctx_switches_k "$srv")" -v gb="$(awk -v n=$okn -v b=$SETBYTES 'BEGIN{print n * b / 1e9}')" \
        -v busy="$(awk -v a="$busy0" -v b="$busy1" 'BEGIN{print b - a}')" \
        'BEGIN{if (cpu == "") printf "%.1f %.1f %.1f %.1f %d - - - -", w / 1e9, p50, p95, mx, ok;
               else printf "%.1f %.1f %.1f %.1f %d %.1f %.1f %s %.1f", w / 1e9, p50, p95, mx, ok, cpu, (gb > 0 ? cpu / gb : 0), cs, busy - cpu}'
}

SERVERS="netbootd dnsmasq200 tftpd-hpa"
[ -n "$ATFTPD" ] && SERVERS="$SERVERS atftpd"
STORM_SERVERS="netbootd dnsmasq50 dnsmasq200 tftpd-hpa"
if [ -n "$NETBOOTD_B" ]; then SERVERS="netbootd netbootd-b ${SERVERS#netbootd }"; STORM_SERVERS="netbootd netbootd-b ${STORM_SERVERS#netbootd }"; fi
[ -n "$ATFTPD" ] && STORM_SERVERS="$STORM_SERVERS atftpd"
# ONLY="netbootd dnsmasq200" limits both lists; SKIP_SINGLE=1 runs the storm only.
if [ -n "${ONLY:-}" ]; then
    SERVERS=$(for s in $SERVERS; do [[ " $ONLY " == *" $s "* ]] && printf '%s ' "$s"; done)
    STORM_SERVERS=$(for s in $STORM_SERVERS; do [[ " $ONLY " == *" $s "* ]] && printf '%s ' "$s"; done)
fi
[ -n "${SKIP_SINGLE:-}" ] && SERVERS=""
[ -n "${SKIP_STORM:-}" ] && STORM_SERVERS=""
declare -A R

# Single client: all servers up at once; every run measures every server in turn, in each
# accounting mode.
mkdir -p "$out/single"
for srv in $SERVERS; do start_server "$srv"; done
for r in $(seq 1 "$RUNS"); do
    for acc in $SINGLE_MODES; do
        set_boundary "$acc"
        for f in file3m file8m; do
            for m in 512 1468 w8; do
                for srv in $SERVERS; do
                    fetch_once "$srv" "$f" "$m" >>"$out/single/$srv.$f.$m.$acc"
                    echo >>"$out/single/$srv.$f.$m.$acc"
                done
            done
        done
    done
    lab_log "single-client run $r/$RUNS done"
done
for srv in $SERVERS; do
    stop_server "$srv"
    for acc in $SINGLE_MODES; do
        for f in file3m file8m; do for m in 512 1468 w8; do R[$srv,$f,$m,$acc]=$(row_median "$srv" "$f" "$m" "$acc"); done; done
    done
done

# Storms, interleaved: run r storms every server once, then r+1 ... Each line is
# "wall p50 p95 max ok cpu cpu/GB"; the table shows the column-wise median. dnsmasq with its
# default tftp-max=50 runs once: with busybox clients its orphaned retransmitted RRQs fill every
# slot and the storm takes over a minute.
for r in $(seq 1 "$STORM_RUNS"); do
    for mode in $STORM_MODES; do
        set_boundary "$mode"
        for srv in $STORM_SERVERS; do
            # dnsmasq with tftp-max=50 does not finish a storm (above): once, in the first mode.
            [ "$srv" = dnsmasq50 ] && { [ "$r" -gt 1 ] || [ "$mode" != "${STORM_MODES%% *}" ]; } && continue
            line=$(storm "$srv")
            echo "$line" >>"$out/storm-$mode-$srv.lines"
            lab_log "$srv storm ($mode) $r/$STORM_RUNS: $line"
        done
    done
done
col_median() {
    awk 'NF {for (i = 1; i <= NF; i++) v[i, NR] = $i; n = NR; nf = NF}
        END {for (i = 1; i <= nf; i++) {
                 for (j = 1; j <= n; j++) a[j] = v[i, j]
                 for (j = 1; j <= n; j++) for (k = j + 1; k <= n; k++) if (a[k] + 0 < a[j] + 0) {t = a[j]; a[j] = a[k]; a[k] = t}
                 printf "%s%s", a[int((n + 1) / 2)], (i < nf ? " " : "\n") } }' "$1"
}
for mode in $STORM_MODES; do
    for srv in $STORM_SERVERS; do
        [ -s "$out/storm-$mode-$srv.lines" ] && R[$srv,$mode]=$(col_median "$out/storm-$mode-$srv.lines")
    done
done

if [ -n "$SERVERS" ]; then
for acc in $SINGLE_MODES; do
echo
echo "TFTP single client ($acc), median MB/s of $RUNS runs (higher is better; ratio = netbootd / best other)"
printf '%-22s' "row"
for srv in $SERVERS; do printf '%12s' "$srv"; done
printf '%10s\n' "ratio"
for f in file3m file8m; do
    for m in 512 1468 w8; do
        label="${f#file} blksize $([ $m = w8 ] && echo '1468 win 8' || echo $m)"
        printf '%-22s' "$label"
        best=0
        for srv in $SERVERS; do
            v=${R[$srv,$f,$m,$acc]}
            printf '%12s' "$v"
            if [[ "$srv" != netbootd* ]] && [ "$v" != FAIL ]; then best=$(awk -v a="$best" -v b="$v" 'BEGIN{print (b > a ? b : a)}'); fi
        done
        awk -v n="${R[netbootd,$f,$m,$acc]}" -v b="$best" 'BEGIN{if (b > 0 && n + 0 > 0) printf "%9.2fx\n", n / b; else print "        -"}'
    done
done
done
fi
[ -n "$STORM_SERVERS" ] || exit 0
for mode in $STORM_MODES; do
echo
echo "Boot storm ($mode), median of $STORM_RUNS: $NODES nodes x $(awk -v b=$SETBYTES 'BEGIN{printf "%.1f", b / 1e6}') MB (busybox tftp, 512-byte blocks)"
[ "$mode" = nic ] && echo "  (clients' receive path in the switch port's NAPI thread, as behind a NIC: server CPU is its own)"
[ "$mode" = local ] && echo "  (clients' receive path charged to the sending server, plain veth)"
echo "  (others_s: CPU seconds of everything else on the 2 cores during the storm: clients, kernel threads)"
printf '%-12s %8s %8s %8s %8s %6s %9s %10s %9s %10s\n' server wall_s p50_s p95_s max_s ok cpu_s cpu_s/GB ctxsw_k others_s
for srv in $STORM_SERVERS; do
    [ -n "${R[$srv,$mode]:-}" ] || continue
    read -r w p50 p95 mx ok cpu cpg cs oth <<<"${R[$srv,$mode]}"
    printf '%-12s %8s %8s %8s %8s %3s/%-3s %8s %10s %9s %10s\n' "$srv" "$w" "$p50" "$p95" "$mx" "$ok" "$NODES" "$cpu" "$cpg" "$cs" "$oth"
done
read -r nw _ _ _ _ _ ncpg _ _ <<<"${R[netbootd,$mode]:-0 0 0 0 0 0 0 0 0}"
read -r dw _ _ _ _ _ dcpg _ _ <<<"${R[dnsmasq200,$mode]:-0 0 0 0 0 0 0 0 0}"
awk -v nw="$nw" -v dw="$dw" -v nc="$ncpg" -v dc="$dcpg" -v m="$mode" 'BEGIN{
    printf "%s: storm wall: dnsmasq(tftp-max=200) / netbootd = %.2fx (target >= 1.3x)\n", m, (nw > 0 ? dw / nw : 0);
    printf "%s: CPU per GB: netbootd / dnsmasq(tftp-max=200) = %.2f (target <= 0.5)\n", m, (dc > 0 ? nc / dc : 0) }'
done
