#!/usr/bin/env bash
# netbootd's DHCP server against real clients nobody here wrote: busybox udhcpc (plain and
# dressed as a Pi 4 firmware DISCOVER), ISC dhclient and dhcpcd each get their node's static
# address; an unknown Pi gets no answer but an event; a pool survives kill -9 mid-run without
# losing or duplicating a lease; another DHCP server on the segment is reported.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"

lab_init dhcp
bin=$(lab_netbootd_bin)
[ -x "$bin" ] || lab_die "netbootd binary not found at $bin (build first)"

lab_host server 10.42.0.250/24
lab_host n1 "" dc:a6:32:00:00:01
lab_host n2 "" dc:a6:32:00:00:02
lab_host n3 "" dc:a6:32:00:00:03
lab_host n4 "" d8:3a:dd:00:00:04
lab_host stranger "" b8:27:eb:99:99:99

state="$LAB_DIR/state"
write_config() { # $1 = unknown_clients policy
    cat >"$LAB_DIR/cluster.yaml" <<YAML
cluster:
  name: e2e
  interface: eth0
  server_ip: 10.42.0.250
  subnet: 10.42.0.0/24
  router: 10.42.0.250
  dns: [10.42.0.250]
  ntp: [10.42.0.250]
  domain: lab
  state_dir: $state
dhcp:
  mode: full
  pool: 10.42.0.100-10.42.0.120
  lease_time: 1h
  unknown_clients: $1
tftp:
  enabled: false
defaults:
  hostname: "node{position:02}"
  ip: "10.42.0.{position}"
nodes:
  - { position: 1, mac: "dc:a6:32:00:00:01" }
  - { position: 2, mac: "dc:a6:32:00:00:02" }
  - { position: 3, mac: "dc:a6:32:00:00:03" }
  - { position: 4, mac: "d8:3a:dd:00:00:04" }
YAML
}

server_pid=""
kill9_server() { # SIGKILL, then make sure it is gone before anything else starts
    kill -9 "$server_pid" 2>/dev/null
    lab_wait 5 bash -c "! kill -0 $server_pid 2>/dev/null"
}
start_server() {
    server_pid=$(lab_bg server "$LAB_DIR/netbootd-$1.log" "$bin" --config "$LAB_DIR/cluster.yaml" --log-level debug)
    lab_wait_udp server 67 10 || lab_die "netbootd did not bind port 67 (see netbootd-$1.log)"
}

# A udhcpc event script that records the variables of a bound lease in $LAB_DIR/<name>.env.
udhcpc_script() {
    local f="$LAB_DIR/udhcpc-$1.sh"
    cat >"$f" <<SH
#!/bin/sh
case "\$1" in bound|renew) env | grep -E '^(ip|subnet|router|dns|hostname|domain|serverid|siaddr|boot_file|sname|opt[0-9]+|ntpsrv|lease|tftp)=' >"$LAB_DIR/$1.env" ;; esac
exit 0
SH
    chmod +x "$f"
    echo "$f"
}
env_of() { grep "^$2=" "$LAB_DIR/$1.env" 2>/dev/null | head -1 | cut -d= -f2-; }
udhcpc_run() { # name [extra udhcpc args]
    local name=$1
    shift
    rm -f "$LAB_DIR/$name.env"
    lab_exec "$name" timeout 30 busybox udhcpc -i eth0 -f -q -n -t 4 -T 2 -A 1 -s "$(udhcpc_script "$name")" "$@" \
        >"$LAB_DIR/udhcpc-$name.out" 2>&1
}

write_config ignore
start_server 1

# 1. busybox udhcpc, plain: node 1's static address and options.
udhcpc_run n1 -O hostname -O domain -O ntpsrv
lab_eq "udhcpc: node 1 gets its static address" "10.42.0.1" "$(env_of n1 ip)"
lab_eq "udhcpc: hostname (12)" "node01" "$(env_of n1 hostname)"
lab_eq "udhcpc: router (3)" "10.42.0.250" "$(env_of n1 router)"
lab_eq "udhcpc: DNS (6)" "10.42.0.250" "$(env_of n1 dns)"
lab_eq "udhcpc: NTP (42)" "10.42.0.250" "$(env_of n1 ntpsrv)"
lab_eq "udhcpc: server id = TFTP server" "10.42.0.250" "$(env_of n1 serverid)"
lab_eq "udhcpc: plain client gets no PXE menu (43)" "" "$(env_of n1 opt43)"

# 2. udhcpc dressed as a Pi 4 EEPROM (spec §1.1 options 60/93/94/97): PXE reply with the exact
#    option 43 bytes (R4), option 60 PXEClient (R6) and option 97 echoed (R7).
guid=00525069344031c000dd0000044372ee6a
# busybox does not export option 60 to its script, so the replies are also read off the wire.
sniff="$LAB_DIR/n4.sniff"
lab_bg n4 "$LAB_DIR/sniff.log" python3 "$here/lib/dhcp_sniff.py" 2 20 "$sniff" >/dev/null
lab_wait 10 grep -q listening "$sniff"
udhcpc_run n4 -V "PXEClient:Arch:00000:UNDI:002001" -x 0x5d:0000 -x 0x5e:010201 -x 0x61:$guid -O 43 -O 60 -O 97
lab_eq "Pi-4-like udhcpc: static address for node 4" "10.42.0.4" "$(env_of n4 ip)"
lab_eq "Pi-4-like udhcpc: option 43 byte-identical to dnsmasq's" \
    "0601030a0400505845091400001152617370626572727920506920426f6f74ff" "$(env_of n4 opt43)"
lab_wait 5 bash -c "[ \$(wc -l <'$sniff') -ge 3 ]"
# Fields: type hops bootp_len siaddr yiaddr opt54 opt60 opt43 opt97 pads
lab_eq "Pi-4-like udhcpc on the wire: OFFER then ACK, hops 0, siaddr = opt 54, PXEClient, no pads" \
    "2 0 10.42.0.250 10.42.0.4 10.42.0.250 PXEClient 0|5 0 10.42.0.250 10.42.0.4 10.42.0.250 PXEClient 0" \
    "$(awk 'NR>1 {printf "%s%s %s %s %s %s %s %s", sep, $1, $2, $4, $5, $6, $7, $10; sep="|"}' "$sniff")"
lab_check "Pi-4-like udhcpc on the wire: replies are at least 300 bytes" \
    awk 'NR>1 && $3 < 300 {bad=1} END {exit bad}' "$sniff"

# 3. ISC dhclient (its own lease/pid files and a script that records the address).
cat >"$LAB_DIR/dhclient.sh" <<SH
#!/bin/sh
case "\$reason" in BOUND|REBOOT|RENEW) echo "\$new_ip_address \$new_host_name" >"$LAB_DIR/n2.dhclient" ;; esac
exit 0
SH
chmod +x "$LAB_DIR/dhclient.sh"
printf 'timeout 20;\nretry 1;\nrequest subnet-mask, routers, domain-name-servers, host-name;\n' >"$LAB_DIR/dhclient.conf"
lab_exec n2 timeout 40 dhclient -1 -4 -v -cf "$LAB_DIR/dhclient.conf" -lf "$LAB_DIR/n2.leases" \
    -pf "$LAB_DIR/n2.pid" -sf "$LAB_DIR/dhclient.sh" eth0 >"$LAB_DIR/dhclient.out" 2>&1
lab_eq "dhclient: node 2 gets its static address and hostname" "10.42.0.2 node02" "$(cat "$LAB_DIR/n2.dhclient" 2>/dev/null)"
lab_exec n2 dhclient -x -pf "$LAB_DIR/n2.pid" -lf "$LAB_DIR/n2.leases" -sf /bin/true eth0 >/dev/null 2>&1 || true

# 4. dhcpcd in test mode (-T: the interface is left alone; no state files are written), no ARP probe.
lab_exec n3 timeout 40 dhcpcd -T -4 --noarp -t 20 -f /dev/null -h "" eth0 >"$LAB_DIR/dhcpcd.out" 2>&1
lab_eq "dhcpcd: node 3 gets its static address" "10.42.0.3" \
    "$(grep -o "new_ip_address='\?[0-9.]*" "$LAB_DIR/dhcpcd.out" | head -1 | grep -o '[0-9.]*$')"

# 5. An unknown Pi gets no answer, only an event.
udhcpc_run stranger -V "PXEClient:Arch:00000:UNDI:002001" -x 0x5d:0000 -x 0x5e:010201 -t 2 -T 1
lab_eq "unknown MAC: no address" "" "$(env_of stranger ip)"
lab_check "unknown MAC: dhcp.unknown_client event logged" \
    grep -q "dhcp.unknown_client.*mac=b8:27:eb:99:99:99" "$LAB_DIR/netbootd-1.log"
lab_check "unknown MAC: the server sent it nothing" \
    bash -c "! grep -E 'dhcp\.(offer|ack).*b8:27:eb:99:99:99' '$LAB_DIR/netbootd-1.log'"
lab_check "events for DISCOVER, OFFER, REQUEST and ACK" \
    bash -c "for k in discover offer request ack; do grep -q \"dhcp.\$k \" '$LAB_DIR/netbootd-1.log' || exit 1; done"

# 5b. A second interface on the server (eth1, no address, straight to another namespace): a known
#     node's MAC asking there gets nothing, because netbootd listens on cluster.interface only.
other=$(lab_ns other)
ip netns add "$other" || lab_die "cannot create $other"
ip netns exec "$other" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null
ip -n "$(lab_ns server)" link add eth1 type veth peer name eth0 netns "$other"
ip -n "$(lab_ns server)" link set eth1 up
ip -n "$other" link set lo up
ip -n "$other" link set eth0 address dc:a6:32:00:00:01
ip -n "$other" link set eth0 up
LAB_HOSTS+=(other)
before=$(grep -c "dhcp.discover" "$LAB_DIR/netbootd-1.log")
udhcpc_run other -t 2 -T 1
lab_eq "other interface: node 1's MAC gets no answer on eth1" "" "$(env_of other ip)"
lab_eq "other interface: netbootd never even saw the DISCOVERs" "$before" "$(grep -c "dhcp.discover" "$LAB_DIR/netbootd-1.log")"

# 6. Pool + kill -9 mid-run: six clients ask while the server is killed and restarted; afterwards
#    every address a client was given is on disk, and no address went to two clients.
kill9_server
write_config pool
start_server 2
pool_macs=(52:54:00:00:10:01 52:54:00:00:10:02 52:54:00:00:10:03 52:54:00:00:10:04 52:54:00:00:10:05 52:54:00:00:10:06)
for i in 1 2 3 4 5 6; do lab_host "p$i" "" "${pool_macs[$((i - 1))]}"; done
for i in 1 2 3; do udhcpc_run "p$i"; done
for i in 4 5 6; do udhcpc_run "p$i" & done
sleep 0.05
kill9_server # during the second wave
start_server 3
wait # the second wave's clients retry (udhcpc -t 4) and finish against the restarted server
for i in 1 2 3 4 5 6; do
    for try in 1 2 3; do
        [ -n "$(env_of "p$i" ip)" ] && break
        lab_log "p$i has no lease yet (try $try): $(tail -3 "$LAB_DIR/udhcpc-p$i.out" | tr '\n' ' ')"
        udhcpc_run "p$i"
    done
done
addrs=()
for i in 1 2 3 4 5 6; do addrs+=("$(env_of "p$i" ip)"); done
lab_eq "pool: all six clients got an address" "6" "$(printf '%s\n' "${addrs[@]}" | grep -c '^10\.42\.0\.1[0-2][0-9]$')"
lab_eq "pool: no address handed to two clients" "6" "$(printf '%s\n' "${addrs[@]}" | sort -u | grep -c .)"
kill9_server
journal="$state/dhcp-leases.journal"
for i in 1 2 3 4 5 6; do
    lab_check "pool: p$i's lease (${addrs[$((i - 1))]}) is in the journal after kill -9" \
        grep -q "^B ${pool_macs[$((i - 1))]} ${addrs[$((i - 1))]} " "$journal"
done
start_server 4
udhcpc_run p1
lab_eq "pool: after restart p1 keeps its address" "${addrs[0]}" "$(env_of p1 ip)"
lab_host p7 "" 52:54:00:00:10:07
udhcpc_run p7
lab_check "pool: a new client after restart gets a fresh address (${addrs[*]} are taken)" \
    bash -c "a=\$(grep '^ip=' '$LAB_DIR/p7.env' | cut -d= -f2); [ -n \"\$a\" ] && ! printf '%s\n' ${addrs[*]} | grep -qx \"\$a\""

# 7. Another DHCP server on the segment (dnsmasq in its own namespace) is reported.
lab_host rogue 10.42.0.9/24
lab_bg rogue "$LAB_DIR/dnsmasq.log" /usr/sbin/dnsmasq -d -q --conf-file=/dev/null --port=0 --interface=eth0 \
    --bind-interfaces --dhcp-range=10.42.0.200,10.42.0.210,1h --dhcp-leasefile="$LAB_DIR/rogue.leases" \
    --pid-file="$LAB_DIR/rogue.pid" >/dev/null
lab_wait_udp rogue 67 10
lab_host p8 "" 52:54:00:00:10:08
udhcpc_run p8 -t 2 -T 1 -B # broadcast flag: other servers' OFFERs reach every port 68
lab_check "foreign server: dhcp.foreign_server event for 10.42.0.9" \
    lab_wait 5 grep -q "dhcp.foreign_server.*server_id=10.42.0.9" "$LAB_DIR/netbootd-4.log"

lab_finish
