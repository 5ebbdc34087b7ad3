# shellcheck shell=bash
# storm.sh: the Pi 4 boot storm shared by the benchmarks (bench/tftp.sh, bench/api.sh). Source it
# after tests/e2e/lib/lab.sh and lab_init.
#
#   storm_bootset "$data"             # writes the boot set; sets BOOTSET (names) and SETBYTES
#   storm_hosts 60                    # client namespaces n1..n60 at 10.42.0.1..60/24
#   storm_clients 10.42.0.250 "$out" 60   # every client fetches the set at once; waits for all
#   storm_summary "$out" 60 "$data"   # -> "p50_s p95_s max_s ok" (ok = nodes with every file intact)
#
# Each client runs busybox tftp at its default 512-byte blocks (as a Pi's bootloader does), one
# file after the other, each fetch bounded by `timeout 120`.

# A Pi 4 boot set with realistic sizes (10.7 MB), random contents.
storm_bootset() { # DIR
    local d=$1 f
    mkdir -p "$d"
    head -c 2134 /dev/urandom >"$d/config.txt"
    head -c 2300000 /dev/urandom >"$d/start4.elf"
    head -c 5399 /dev/urandom >"$d/fixup4.dat"
    head -c 52593 /dev/urandom >"$d/bcm2711-rpi-4-b.dtb"
    head -c 150 /dev/urandom >"$d/cmdline.txt"
    head -c 8298000 /dev/urandom >"$d/kernel8.img"
    BOOTSET="config.txt start4.elf fixup4.dat bcm2711-rpi-4-b.dtb cmdline.txt kernel8.img"
    SETBYTES=0
    for f in $BOOTSET; do SETBYTES=$((SETBYTES + $(stat -c %s "$d/$f"))); done
    chmod 644 "$d"/*
}

storm_hosts() { # N
    local i
    for i in $(seq 1 "$1"); do lab_host "n$i" "10.42.0.$i/24"; done
}

# Starts N clients at once, each fetching BOOTSET from SERVER into OUTDIR/n$i.<file>, and waits for
# all of them. OUTDIR/n$i.result is "milliseconds ok(0|1)".
storm_clients() { # SERVER OUTDIR N
    local S=$1 out=$2 n=$3 i pids=()
    rm -rf "$out" && mkdir -p "$out"
    for i in $(seq 1 "$n"); do
        # shellcheck disable=SC2016,SC2086
        ip netns exec "$(lab_ns "n$i")" bash -c '
            d=$1; S=$2; shift 2; s=$(date +%s%N); ok=1
            for f in "$@"; do timeout 120 busybox tftp -g -r "$f" -l "$d.$f" "$S" >/dev/null 2>&1 || ok=0; done
            e=$(date +%s%N); echo "$(( (e - s) / 1000000 )) $ok" >"$d.result"' _ "$out/n$i" "$S" $BOOTSET &
        pids+=($!)
    done
    wait "${pids[@]}"
}

# Per-node times (p50, p95, max in seconds) and the number of nodes whose files all arrived intact.
storm_summary() { # OUTDIR N DATA
    local out=$1 n=$2 data=$3 i ms ok f okn=0
    : >"$out/times"
    for i in $(seq 1 "$n"); do
        read -r ms ok <"$out/n$i.result" || continue
        if [ "$ok" = 1 ]; then
            for f in $BOOTSET; do cmp -s "$out/n$i.$f" "$data/$f" || ok=0; done
        fi
        [ "$ok" = 1 ] && okn=$((okn + 1))
        echo "$ms" >>"$out/times"
    done
    sort -n "$out/times" | awk -v ok=$okn '{a[NR]=$1}
        END{if (NR == 0) {print "- - - " ok; exit}
            i50=int(NR*0.50+0.5); if(i50<1)i50=1; i95=int(NR*0.95+0.5); if(i95<1)i95=1
            print a[i50]/1000, a[i95]/1000, a[NR]/1000, ok}'
}

# storm_find_netbootd: sets BUILD (NETBOOTD_BUILD_DIR, default $src/build) and NETBOOTD, the
# binary under test, or stops with what to do.
storm_find_netbootd() {
    BUILD=${NETBOOTD_BUILD_DIR:-$src/build}
    NETBOOTD=$BUILD/netbootd
    [ -x "$NETBOOTD" ] || lab_die "no $NETBOOTD: build first (cmake -S . -B build -G Ninja && ninja -C build)"
}
