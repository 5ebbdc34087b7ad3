#!/usr/bin/env bash
# `netbootctl demo`, as a newcomer runs it: six emulated Pis (Pi 3B, 4, 5) boot from a real
# netbootd through DHCP, TFTP and the kernel's DHCP to `up`; the node made to fail is diagnosed;
# teardown leaves no namespace, process or file; a run after a crash cleans up first.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"
lab_require_root
build=${NETBOOTD_BUILD_DIR:-$here/../../build}
ctl="$build/netbootctl"
work=$(mktemp -d /tmp/netbootd-demo-test.XXXXXX)
demo_dir="$work/run"
trap '"$ctl" demo --down --workdir "$demo_dir" >/dev/null 2>&1; rm -rf "$work"' EXIT

leftovers() { ip netns list | awk '{print $1}' | grep -c '^nbdemo-' || true; }
procs() { pgrep -f "$demo_dir" | grep -vc "^$$\$" || true; }

# A crashed earlier demo: --keep leaves everything running, as a crash would.
timeout 300 "$ctl" demo --keep --workdir "$demo_dir" >"$work/keep.out" 2>&1
lab_check "a kept demo leaves its namespaces behind (the crash we simulate)" test "$(leftovers)" -gt 0

timeout 300 "$ctl" demo --once --workdir "$demo_dir" >"$work/once.out" 2>&1
rc=$?
cat "$work/once.out"
lab_eq "demo --once exits 0" 0 "$rc"
lab_check "the second run cleaned up the first one's leftovers" grep -q "removed [0-9]* namespaces left by an earlier demo" "$work/once.out"
for n in 1 2 3 5 6; do
    lab_check "pi0$n reached up" grep -Eq "^  $n +pi0$n .* up " "$work/once.out"
done
lab_check "power-on happened in position order" bash -c "grep '^power on' '$work/once.out' | awk '{print \$3}' | tr '\n' ' ' | grep -q '^pi01 pi02 pi03 pi04 pi05 pi06 \$'"
lab_check "nodes passed through powered and kernel stages" grep -q "powered   -> " "$work/once.out"
lab_check "the broken node stopped at firmware" grep -Eq "^  4 +pi04 .* firmware " "$work/once.out"
lab_check "the broken node is diagnosed as kernel_missing" grep -q "problem: kernel_missing" "$work/once.out"
lab_check "its TFTP trail shows the missing kernel" grep -q "tftp.not_found 5a000004/kernel8-custom.img" "$work/once.out"
lab_check "the summary says OK" grep -q "^demo OK: 5 healthy nodes reached 'up'" "$work/once.out"
lab_eq "no nbdemo namespace is left" 0 "$(leftovers)"
lab_eq "no demo process is left" 0 "$(procs)"
lab_check "the work directory is removed" test ! -e "$demo_dir"
lab_eq "no overlay or other mount under the work dir" 0 "$(grep -c "$work" /proc/mounts || true)"
lab_finish
