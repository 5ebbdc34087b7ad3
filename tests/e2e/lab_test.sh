#!/usr/bin/env bash
# The namespace lab itself: two hosts on the lab bridge reach each other, nothing leaks into the
# root namespace, and teardown removes every namespace even after a failure.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"

root_links_before=$(ip -br link | wc -l)

# A child lab that fails half-way must still clean up.
child_out=$(bash -c "source '$here/lib/lab.sh'; lab_init child; lab_host a 10.42.0.1/24; ip netns list | grep -c \"^\$LAB_ID-\"; false" 2>/dev/null)
child_id_left=$(ip netns list | awk '{print $1}' | grep -c '^nbl[0-9]*-a$' || true)

lab_init lab
lab_host a 10.42.0.1/24
lab_host b 10.42.0.2/24 b8:27:eb:00:00:02

lab_eq "child lab had switch + host namespaces while running" "2" "$child_out"
lab_eq "child lab removed its namespaces after failing" "0" "$child_id_left"
lab_check "a pings b across the lab bridge" lab_exec a ping -q -c1 -W2 10.42.0.2 >/dev/null
lab_eq "b has the requested MAC" "b8:27:eb:00:00:02" "$(lab_mac b)"
lab_eq "lab_ip reads b's address" "10.42.0.2" "$(lab_ip b)"
lab_eq "root namespace has no new links" "$root_links_before" "$(ip -br link | wc -l)"
lab_eq "root namespace has no route into the lab subnet" "0" "$(ip -4 route show 10.42.0.0/24 | wc -l)"
lab_bg a "$LAB_DIR/sleep.log" sleep 300
pid=$LAB_LAST_PID
lab_check "background process runs inside the namespace" lab_wait 5 bash -c "ip netns identify $pid | grep -q -- -a\$"
lab_finish
