#!/usr/bin/env bash
# Benchmark: how long until a node's NFS root is ready, netbootd overlay and clone against the
# reference cluster's `rsync -a /pxe/root/ /pxe/root_node02/`, for bases of many small files.
#   bench/nfs.sh [SIZES_MB...]      (default: 100 1000; needs root for the overlay mounts)
# Env: NETBOOTD_BUILD_DIR (default build/), RUNS (default 5; 3 for bases >= 1000 MB),
#      BENCH_DIR (scratch, default /var/tmp: it must not be tmpfs, like a real roots_dir).
# Prints one row per base size with medians and the ratios rsync/overlay and rsync/clone.
# Times include netbootctl's start-up (config load), as an operator would see them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${NETBOOTD_BUILD_DIR:-$here/../build}
ctl="$build/netbootctl"
[ "$(id -u)" = 0 ] || { echo "bench/nfs.sh needs root (overlay mounts)" >&2; exit 1; }
[ -x "$ctl" ] || { echo "build netbootctl first ($ctl)" >&2; exit 1; }
command -v rsync >/dev/null || { echo "rsync is needed for the comparison" >&2; exit 1; }
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000)

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/netbootd-bench-nfs.XXXXXX")
cleanup() {
    local m
    for m in $(awk -v w="$work" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# A base of `mb` MB in ~10 KB files, 100 per directory (a Pi OS root is ~60,000 mostly small
# files per 2 GB). `split` writes a directory's files in one process.
make_base() {
    local root=$1 mb=$2 dirs i
    mkdir -p "$root/sbin"
    printf '#!/bin/sh\n' >"$root/sbin/init"
    dirs=$((mb * 1000000 / 1000000))
    for i in $(seq 1 "$dirs"); do
        mkdir -p "$root/usr/lib/d$i"
        head -c 1000000 /dev/urandom | split -b 10000 -a 3 - "$root/usr/lib/d$i/f"
    done
    find "$root" -type f | wc -l
}

printf '%-8s %8s  %12s  %12s  %12s  %14s  %12s\n' "BASE" "FILES" "OVERLAY(s)" "CLONE(s)" \
    "RSYNC(s)" "RSYNC/OVERLAY" "RSYNC/CLONE"
for mb in "${sizes[@]}"; do
    runs=${RUNS:-5}
    [ "$mb" -lt 1000 ] || runs=${RUNS:-3}
    dir="$work/$mb"
    mkdir -p "$dir/roots"
    files=$(make_base "$dir/roots/base" "$mb")
    cat >"$dir/cluster.yaml" <<YAML
cluster: { name: bench, interface: eth0, server_ip: 10.42.0.250, subnet: 10.42.0.0/24 }
tftp: { root: $dir/boot }
nfs: { backend: none, base_root: $dir/roots/base, roots_dir: $dir/roots }
defaults: { ip: "10.42.0.{position}" }
nodes:
  - { position: 1, mac: "b8:27:eb:00:00:01", root: overlay }
  - { position: 2, mac: "b8:27:eb:00:00:02", root: clone }
YAML
    sync
    ov=() cl=() rs=()
    for _ in $(seq 1 "$runs"); do
        t0=$(now)
        "$ctl" root prepare node01 --no-exports --config "$dir/cluster.yaml" >/dev/null
        t1=$(now)
        ov+=("$(echo "$t1 - $t0" | bc -l)")
        umount "$dir/roots/node01"
        rm -rf "$dir/roots/node01" "$dir/roots/.overlay"

        t0=$(now)
        "$ctl" root prepare node02 --no-exports --config "$dir/cluster.yaml" >/dev/null
        t1=$(now)
        cl+=("$(echo "$t1 - $t0" | bc -l)")
        rm -rf "$dir/roots/node02"

        t0=$(now)
        rsync -a "$dir/roots/base/" "$dir/rsync_node02/"
        t1=$(now)
        rs+=("$(echo "$t1 - $t0" | bc -l)")
        rm -rf "$dir/rsync_node02"
    done
    o=$(printf '%s\n' "${ov[@]}" | median)
    c=$(printf '%s\n' "${cl[@]}" | median)
    r=$(printf '%s\n' "${rs[@]}" | median)
    printf '%-8s %8s  %12.3f  %12.3f  %12.3f  %13.0fx  %11.2fx\n' "${mb}MB" "$files" "$o" "$c" \
        "$r" "$(echo "$r / $o" | bc -l)" "$(echo "$r / $c" | bc -l)"
    rm -rf "$dir"
done
echo "(medians of ${RUNS:-5} runs, 3 for bases >= 1000 MB; warm page cache; ext4 without reflink here,"
echo " so a clone copies the data: on XFS/Btrfs it reflinks instead)"
