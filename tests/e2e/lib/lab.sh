# shellcheck shell=bash
# lab.sh: a network-namespace lab for netbootd's end-to-end tests and benchmarks.
#
# Every host (the server, each client) is its own network namespace with one interface `eth0`,
# a veth whose peer sits on a bridge `br0` inside a separate "switch" namespace. Nothing is created
# in the root namespace, IPv6 is off everywhere, and everything is removed on exit, also when the
# test fails or is interrupted. Addresses: 10.42.0.0/24 only.
#
#   source "$NETBOOTD_SOURCE_DIR/tests/e2e/lib/lab.sh"
#   lab_init dhcp                       # unique lab, EXIT trap, $LAB_DIR scratch dir
#   lab_host server 10.42.0.250/24      # namespace with eth0 up and that address
#   lab_host c1 "" b8:27:eb:00:00:01    # a client without an address, with a chosen MAC
#   lab_bg server "$LAB_DIR/netbootd.log" "$NETBOOTD_BUILD_DIR/netbootd" --config cfg.yaml
#   pid=$LAB_LAST_PID                   # (lab_bg sets it; don't call lab_bg inside $(...))
#   lab_exec c1 udhcpc -i eth0 -n -q    # run a command inside a host
#   lab_wait 10 lab_exec c1 test -f x   # poll a command for up to N seconds
#   lab_check "c1 got 10.42.0.1" [ "$ip" = 10.42.0.1 ]   # assertion, counted
#   lab_finish                          # prints "N passed, M failed", exits non-zero on failure
#
# Functions exit the test with a message on setup errors. Processes started with lab_bg, and any
# process left inside a lab namespace, are killed at teardown.

set -uo pipefail

LAB_RUN_DIR=/run/netbootd-lab
LAB_ID=""
LAB_DIR=""
LAB_HOSTS=()
LAB_PIDS=()
LAB_PASSED=0
LAB_FAILED=0
LAB_NEXT_PORT=0

lab_log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
lab_die() {
    lab_log "FATAL: $*"
    exit 1
}

# Refuses to run without root and the tools the lab needs; in CI (CI=true) that is a failure, by
# hand it is a clear message.
lab_require_root() {
    if [ "$(id -u)" != 0 ]; then
        lab_die "end-to-end tests need root (network namespaces); run them with sudo"
    fi
    command -v ip >/dev/null || lab_die "'ip' (iproute2) is missing: run .ci/install-deps"
}

# Removes labs whose creating process is gone (a crashed or killed earlier run).
lab_cleanup_stale() {
    mkdir -p "$LAB_RUN_DIR"
    local f pid id ns
    for f in "$LAB_RUN_DIR"/*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null || echo 0)
        if [ "$pid" -gt 0 ] 2>/dev/null && kill -0 "$pid" 2>/dev/null; then
            continue
        fi
        id=$(basename "$f" .pid)
        for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${id}-" || true); do
            lab_kill_ns "$ns"
            ip netns del "$ns" 2>/dev/null || true
        done
        rm -f "$f"
    done
}

# Kills every process inside namespace $1 (bounded: TERM, then KILL after 2 s).
lab_kill_ns() {
    local ns=$1 pids i
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] || return 0
    kill $pids 2>/dev/null || true
    for i in $(seq 1 20); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -n "$pids" ] || return 0
        sleep 0.1
    done
    kill -9 $pids 2>/dev/null || true
    sleep 0.1
}

lab_teardown() {
    local rc=$? pid ns
    set +e
    for pid in "${LAB_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${LAB_ID}-"); do
        lab_kill_ns "$ns"
        ip netns del "$ns" 2>/dev/null
    done
    rm -f "$LAB_RUN_DIR/$LAB_ID.pid"
    if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
        if [ "$rc" != 0 ] && [ -n "${LAB_KEEP_LOGS_ON_FAILURE:-1}" ]; then
            # Show the logs of a failed run: the only record once the namespaces are gone.
            local log
            for log in "$LAB_DIR"/*.log; do
                [ -e "$log" ] || continue
                printf '\n----- %s (last 40 lines) -----\n' "$(basename "$log")" >&2
                tail -n 40 "$log" >&2
            done
        fi
        rm -rf "$LAB_DIR"
    fi
    return "$rc"
}

# lab_init TAG: creates the switch namespace with its bridge and installs the teardown trap.
lab_init() {
    local tag=${1:-lab}
    lab_require_root
    lab_cleanup_stale
    LAB_ID="nbl$$"
    LAB_DIR=$(mktemp -d "/tmp/netbootd-${tag}.XXXXXX")
    echo $$ >"$LAB_RUN_DIR/$LAB_ID.pid"
    trap lab_teardown EXIT
    trap 'exit 130' INT TERM
    local sw="$LAB_ID-sw"
    ip netns add "$sw" || lab_die "cannot create namespace $sw"
    ip netns exec "$sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null
    ip netns exec "$sw" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 >/dev/null
    ip -n "$sw" link set lo up
    ip -n "$sw" link add br0 type bridge forward_delay 0 stp_state 0 || lab_die "cannot create bridge"
    # No multicast snooping/ageing surprises: a plain hub-like switch.
    ip -n "$sw" link set br0 type bridge mcast_snooping 0 2>/dev/null || true
    ip -n "$sw" link set br0 up
    lab_log "lab $LAB_ID ready ($LAB_DIR)"
}

# lab_ns NAME: the namespace name of host NAME.
lab_ns() { printf '%s-%s' "$LAB_ID" "$1"; }

# lab_host NAME [ADDR/LEN] [MAC]: a host namespace with eth0 on the lab bridge.
lab_host() {
    local name=$1 addr=${2:-} mac=${3:-}
    local ns sw idx peer
    ns=$(lab_ns "$name")
    sw="$LAB_ID-sw"
    idx=${#LAB_HOSTS[@]}
    peer="p$idx"
    ip netns add "$ns" || lab_die "cannot create namespace $ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 >/dev/null
    ip -n "$ns" link set lo up
    ip -n "$sw" link add "$peer" type veth peer name eth0 netns "$ns" || lab_die "cannot create veth for $name"
    ip -n "$sw" link set "$peer" master br0
    ip -n "$sw" link set "$peer" up
    if [ -n "$mac" ]; then
        ip -n "$ns" link set eth0 address "$mac" || lab_die "bad MAC $mac for $name"
    fi
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1 >/dev/null 2>&1 || true
    ip -n "$ns" link set eth0 up
    if [ -n "$addr" ]; then
        ip -n "$ns" addr add "$addr" dev eth0 || lab_die "cannot add $addr to $name"
    fi
    LAB_HOSTS+=("$name")
}

# lab_mac NAME: the MAC address of NAME's eth0.
lab_mac() { ip -n "$(lab_ns "$1")" -br link show eth0 | awk '{print $3}'; }

# lab_ip NAME: the first IPv4 address on NAME's eth0 (empty if none).
lab_ip() { ip -n "$(lab_ns "$1")" -4 -br addr show eth0 | awk '{print $3}' | cut -d/ -f1; }

# lab_exec NAME CMD...: runs CMD inside host NAME.
lab_exec() {
    local name=$1
    shift
    ip netns exec "$(lab_ns "$name")" "$@"
}

# lab_bg NAME LOGFILE CMD...: starts CMD in the background inside NAME and sets LAB_LAST_PID to its
# PID (call it directly, not in $(...), so the process stays this shell's child and `wait` can read
# its exit status). The process is killed at teardown.
LAB_LAST_PID=""
lab_bg() {
    local name=$1 log=$2
    shift 2
    ip netns exec "$(lab_ns "$name")" "$@" >"$log" 2>&1 &
    LAB_LAST_PID=$!
    LAB_PIDS+=("$LAB_LAST_PID")
}

# lab_wait SECONDS CMD...: runs CMD every 0.1 s until it succeeds; fails after SECONDS.
lab_wait() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    "$@" >/dev/null 2>&1
}

# lab_wait_udp NAME PORT SECONDS: waits until something listens on UDP PORT inside NAME.
lab_wait_udp() {
    lab_wait "$3" bash -c "ip netns exec '$(lab_ns "$1")' ss -Hlun 'sport = :$2' | grep -q ."
}

# lab_wait_tcp NAME PORT SECONDS: waits until something listens on TCP PORT inside NAME.
lab_wait_tcp() {
    lab_wait "$3" bash -c "ip netns exec '$(lab_ns "$1")' ss -Hltn 'sport = :$2' | grep -q ."
}

# lab_check DESCRIPTION CMD...: an assertion. Records pass/fail and goes on.
lab_check() {
    local what=$1
    shift
    if "$@"; then
        LAB_PASSED=$((LAB_PASSED + 1))
        printf 'ok     %s\n' "$what"
    else
        LAB_FAILED=$((LAB_FAILED + 1))
        printf 'FAILED %s\n' "$what"
    fi
}

# lab_eq DESCRIPTION EXPECTED ACTUAL: equality assertion that shows both values on failure.
lab_eq() {
    if [ "$2" = "$3" ]; then
        LAB_PASSED=$((LAB_PASSED + 1))
        printf 'ok     %s\n' "$1"
    else
        LAB_FAILED=$((LAB_FAILED + 1))
        printf 'FAILED %s: expected [%s], got [%s]\n' "$1" "$2" "$3"
    fi
}

# lab_finish: prints the tally and exits non-zero if any check failed (or none ran).
lab_finish() {
    printf '%d passed, %d failed\n' "$LAB_PASSED" "$LAB_FAILED"
    if [ "$LAB_FAILED" -ne 0 ] || [ "$LAB_PASSED" -eq 0 ]; then exit 1; fi
    exit 0
}

# lab_netbootd_bin: the daemon binary of the build under test.
lab_netbootd_bin() {
    local b=${NETBOOTD_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build}
    echo "$b/netbootd"
}
