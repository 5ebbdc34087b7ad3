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
# The NFS stage: NFS-Ganesha serves each node an overlay root, and the emulated node reads its own
# rendered /etc/hostname over NFSv3 (libnfs) after the kernel's DHCP.
lab_check "the demo serves roots with NFS-Ganesha" grep -q "^NFS: each node's root is an overlay" "$work/keep.out"
lab_check "pi01's root is an overlay mount" bash -c "grep -q ' $demo_dir/roots/pi01 overlay' /proc/mounts"
lab_check "pi01 read its own hostname over NFS" grep -q "nfs-root: /etc/hostname is 'pi01'" "$demo_dir/pi01.log"
lab_check "pi06 read its own hostname over NFS" grep -q "nfs-root: /etc/hostname is 'pi06'" "$demo_dir/pi06.log"
lab_check "the daemon saw the mounts (nfs.mount by passive capture)" grep -q "nfs-root  -> up" "$work/keep.out"

timeout 300 "$ctl" demo --once --workdir "$demo_dir" >"$work/once.out" 2>&1
rc=$?
cat "$work/once.out"
lab_eq "demo --once exits 0" 0 "$rc"
lab_check "the second run cleaned up the first one's leftovers" grep -q "removed [0-9]* namespaces left by an earlier demo" "$work/once.out"
lab_check "... and unmounted its overlay roots" grep -q "unmounted [0-9]* roots left by an earlier demo" "$work/once.out"
for n in 1 2 3 5 6; do
    lab_check "pi0$n reached up" grep -Eq "^  $n +pi0$n .* up " "$work/once.out"
done
lab_check "power-on happened in position order" bash -c "grep '^power on' '$work/once.out' | awk '{print \$3}' | tr '\n' ' ' | grep -q '^pi01 pi02 pi03 pi04 pi05 pi06 \$'"
lab_check "nodes passed through powered and kernel stages" grep -q "powered   -> " "$work/once.out"
lab_check "the broken node stopped at firmware" grep -Eq "^  4 +pi04 .* firmware " "$work/once.out"
lab_check "the broken node is diagnosed as kernel_missing" grep -q "problem: kernel_missing" "$work/once.out"
lab_check "its TFTP trail shows the missing kernel" grep -q "tftp.not_found 5a000004/kernel8-custom.img" "$work/once.out"
lab_check "the summary says OK" grep -q "^demo OK: 5 healthy nodes reached 'up' after reading their own root over NFS" "$work/once.out"
for n in 1 2 3 5 6; do
    lab_check "pi0$n passed through nfs-root" grep -Eq "pi0$n +kernel +-> nfs-root" "$work/once.out"
done
lab_eq "no nbdemo namespace is left" 0 "$(leftovers)"
lab_eq "no demo process is left" 0 "$(procs)"
lab_check "the work directory is removed" test ! -e "$demo_dir"
lab_eq "no overlay or other mount under the work dir" 0 "$(grep -c "$work" /proc/mounts || true)"
lab_eq "no NFS-Ganesha is left" 0 "$(pgrep -c -f "$demo_dir/ganesha" || true)"

# Without an NFS backend the demo says so plainly and the nodes stop short of their root.
timeout 120 "$ctl" demo --once --no-nfs --nodes 2 --workdir "$demo_dir" >"$work/nonfs.out" 2>&1
lab_eq "demo --once --no-nfs exits 0" 0 "$?"
lab_check "it says there is no NFS stage, and why" grep -q "^NFS: no NFS backend, so the nodes stop short of reading their root: --no-nfs was given" "$work/nonfs.out"
lab_check "its summary says so too" grep -q "(no NFS stage: --no-nfs was given)" "$work/nonfs.out"
lab_check "no nfs-root stage without NFS" bash -c "! grep -q 'nfs-root' '$work/nonfs.out'"
lab_finish
