#!/usr/bin/env bash
# netbootd-piemu against dnsmasq, the incumbent: a Pi 3B (ROM → bootcode.bin → start.elf), a Pi 4
# (EEPROM → start4.elf, then the kernel's ip=dhcp) and a Pi 5 boot from dnsmasq's DHCP + TFTP in
# the namespace lab. Asserts that each boot completes, that every fetched file's sha256 equals the
# served file's, and that the emulator's conformance checks see what dnsmasq really sends.
#
# dnsmasq sends the plain 17-character menu (R4); a real Pi 3B ROM would reject it (Q1). So the
# pi3b-rom run is non-strict (the Q1 check is reported, not fatal), and a second, strict pi3b-rom
# run must FAIL on exactly that check: real-world behaviour, and proof the check can fail.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/lab.sh"

build=${NETBOOTD_BUILD_DIR:-$(cd "$here/../.." && pwd)/build}
piemu="$build/netbootd-piemu"
[ -x "$piemu" ] || lab_die "netbootd-piemu not built ($piemu)"
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || lab_die "dnsmasq missing: .ci/install-deps"
command -v jq >/dev/null || lab_die "jq missing: .ci/install-deps"
dnsmasq_bin=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)

lab_init piemu
tftp="$LAB_DIR/tftp"
mkdir -p "$tftp/7285c0f2" "$tftp/da591740/overlays" "$tftp/overlays"

# Stand-in boot files with random contents (sizes chosen to cross many blocks and a 512/1024/1468
# boundary or two), so a wrong byte anywhere changes the sha256.
blob() { head -c "$2" /dev/urandom >"$1"; }
# Pi 3 (serial 7285c0f2): ROM files in the root, bootcode.bin's files in the serial prefix.
blob "$tftp/bootcode.bin" 51200
blob "$tftp/7285c0f2/start.elf" 300001
blob "$tftp/7285c0f2/fixup.dat" 7303
blob "$tftp/7285c0f2/bcm2710-rpi-3-b.dtb" 25000
blob "$tftp/7285c0f2/kernel8.img" 1048576
printf 'arm_64bit=1\nenable_uart=1\n' >"$tftp/7285c0f2/config.txt"
printf 'console=serial0,115200 root=/dev/nfs nfsroot=10.42.0.1:/srv/pi3,vers=3 rw ip=dhcp rootwait\n' \
    >"$tftp/7285c0f2/cmdline.txt"
# Pi 4 (serial 6aee7243): no prefix directory, so the prefix is cleared and files come from the root.
blob "$tftp/start4.elf" 400000
blob "$tftp/fixup4.dat" 5400
blob "$tftp/bcm2711-rpi-4-b.dtb" 52000
blob "$tftp/overlays/overlay_map.dtb" 3000
blob "$tftp/kernel8.img" 2097152
printf '[all]\narm_64bit=1\n' >"$tftp/config.txt"
printf 'console=serial0,115200 root=/dev/nfs nfsroot=10.42.0.1:/srv/pi4,vers=3 rw ip=dhcp\n' \
    >"$tftp/cmdline.txt"
# Pi 5 (serial da591740): everything in its prefix, with an initramfs named by config.txt.
printf 'initramfs initramfs_2712 followkernel\n' >"$tftp/da591740/config.txt"
blob "$tftp/da591740/bcm2712-rpi-5-b.dtb" 80000
blob "$tftp/da591740/overlays/overlay_map.dtb" 2900
blob "$tftp/da591740/cmdline.txt" 90
blob "$tftp/da591740/kernel_2712.img" 3000000
blob "$tftp/da591740/initramfs_2712" 700000

lab_host server 10.42.0.1/24
cat >"$LAB_DIR/dnsmasq.conf" <<CONF
port=0
interface=eth0
bind-interfaces
user=root
dhcp-range=10.42.0.100,10.42.0.150,255.255.255.0,1h
dhcp-leasefile=$LAB_DIR/dnsmasq.leases
pid-file=$LAB_DIR/dnsmasq.pid
pxe-service=0,"Raspberry Pi Boot"
enable-tftp
tftp-root=$tftp
log-dhcp
log-facility=-
CONF
lab_bg server "$LAB_DIR/dnsmasq.log" "$dnsmasq_bin" --keep-in-foreground --conf-file="$LAB_DIR/dnsmasq.conf"
dnsmasq_pid=$LAB_LAST_PID
lab_wait_udp server 67 10 || lab_die "dnsmasq did not start"
lab_wait_udp server 69 10 || lab_die "dnsmasq TFTP did not start"

# boot NAME MODEL MAC SERIAL ARGS...: runs the emulator in its own namespace; sets RC and JSON.
boot() {
    local name=$1 model=$2 mac=$3 serial=$4
    shift 4
    lab_host "$name" "" "$mac"
    lab_exec "$name" "$piemu" --iface eth0 --model "$model" --serial "$serial" --json \
        --timeout 120s --save-dir "$LAB_DIR/save-$name" "$@" \
        >"$LAB_DIR/$name.json" 2>"$LAB_DIR/$name.log"
    RC=$?
    JSON="$LAB_DIR/$name.json"
    sed "s/^/  [$name] /" "$LAB_DIR/$name.log" | tail -n 60
}

q() { jq -r "$1" "$JSON"; }

# every fetched file's sha256 equals the served file's, and the saved copy is identical.
check_hashes() {
    local name=$1 bad=0 n=0 f sha
    while IFS=$'\t' read -r f sha; do
        n=$((n + 1))
        if [ "$(sha256sum "$tftp/$f" | cut -d' ' -f1)" != "$sha" ]; then
            echo "  sha256 mismatch: $f"
            bad=$((bad + 1))
        elif ! cmp -s "$tftp/$f" "$LAB_DIR/save-$name/$f"; then
            echo "  saved copy differs: $f"
            bad=$((bad + 1))
        fi
    done < <(jq -r '.files[] | select(.result == "fetched") | [.name, .sha256] | @tsv' "$JSON")
    [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
}

has_file() { # has_file NAME RESULT
    [ "$(jq -r --arg n "$1" --arg r "$2" '[.files[] | select(.name == $n and .result == $r)] | length' "$JSON")" -gt 0 ]
}

in_pool() { case "$1" in 10.42.0.1[0-4][0-9] | 10.42.0.150) return 0 ;; *) return 1 ;; esac; }

# --- Pi 3B: ROM → bootcode.bin → start.elf, non-strict ------------------------------------------
boot pi3 pi3b-rom b8:27:eb:85:c0:f2 7285c0f2
lab_eq "pi3b-rom: exit code" 0 "$RC"
lab_eq "pi3b-rom: report ok" true "$(q .ok)"
lab_eq "pi3b-rom: stages" "dhcp,firmware,kernel" "$(q '.stages | join(",")')"
lab_check "pi3b-rom: address from the dnsmasq pool" in_pool "$(q .ip)"
lab_eq "pi3b-rom: address configured on the interface" "$(q .ip)" "$(lab_ip pi3)"
lab_eq "pi3b-rom: TFTP server" 10.42.0.1 "$(q .tftp_server)"
lab_eq "pi3b-rom: serial prefix found" "7285c0f2/" "$(q .prefix)"
lab_check "pi3b-rom: bootcode.bin fetched by the ROM" has_file bootcode.bin fetched
lab_check "pi3b-rom: bootsig.bin not found" has_file bootsig.bin not_found
lab_check "pi3b-rom: start.elf probed then fetched" bash -c "$(declare -f has_file); JSON=$JSON; has_file 7285c0f2/start.elf probed && has_file 7285c0f2/start.elf fetched"
lab_check "pi3b-rom: kernel8.img fetched" has_file 7285c0f2/kernel8.img fetched
lab_check "pi3b-rom: every fetched file matches the served bytes" check_hashes pi3
lab_eq "pi3b-rom: ROM port 49152 for bootcode.bin" 49152 \
    "$(q '.files[] | select(.name == "bootcode.bin") | .port')"
lab_eq "pi3b-rom: bootcode.bin stage starts at port 49153" 49153 \
    "$(q '.files[] | select(.name == "7285c0f2/start.elf") | .port' | head -n1)"
lab_eq "pi3b-rom: dnsmasq's option 43 is R4 (accepted non-strict)" true \
    "$(q '.checks[] | select(.name == "rom.a_opt43_bytes") | .ok')"
lab_eq "pi3b-rom: Q1 check reports dnsmasq's plain menu as failing the 3B ROM rule" false \
    "$(q '.checks[] | select(.name == "rom.q1_menu_3b") | .ok')"
lab_eq "pi3b-rom: bootcode stage got the ROM's address" true \
    "$(q '.checks[] | select(.name == "bootcode.same_ip_as_rom") | .ok')"
lab_eq "pi3b-rom: dnsmasq sent nothing after Early terminate" true \
    "$(q '.checks[] | select(.name == "tftp.no_retransmit_after_early_terminate") | .ok')"
lab_check "dnsmasq saw the constant Pi 3 xid" grep -q "653460281" "$LAB_DIR/dnsmasq.log"

# --- Pi 3B strict: the Q1 rule rejects dnsmasq's plain menu, as a real 3B ROM does --------------
boot pi3s pi3b-rom b8:27:eb:85:c0:f3 7285c0f3 --strict --timeout 40s
lab_eq "pi3b-rom strict: boot fails against dnsmasq (Q1)" 1 "$RC"
lab_check "pi3b-rom strict: the reason names Q1" grep -q "Q1" <(q .error)
lab_eq "pi3b-rom strict: no stage reached" "" "$(q '.stages | join(",")')"

# --- Pi 4 (EEPROM → start4.elf → kernel ip=dhcp) -----------------------------------------------
boot pi4 pi4 dc:a6:32:01:36:c2 6aee7243 --kernel-dhcp
lab_eq "pi4: exit code" 0 "$RC"
lab_eq "pi4: report ok" true "$(q .ok)"
lab_eq "pi4: stages" "dhcp,firmware,kernel,kernel-dhcp" "$(q '.stages | join(",")')"
lab_check "pi4: address from the dnsmasq pool" in_pool "$(q .ip)"
lab_eq "pi4: prefix cleared (no 6aee7243/ directory)" "" "$(q .prefix)"
lab_check "pi4: 6aee7243/start4.elf probed as missing" has_file 6aee7243/start4.elf not_found
lab_check "pi4: start4.elf fetched" has_file start4.elf fetched
lab_check "pi4: kernel8.img fetched" has_file kernel8.img fetched
lab_eq "pi4: blksize 1024 acknowledged" 1024 "$(q '.files[] | select(.name == "kernel8.img" and .result == "fetched") | .blksize')"
lab_check "pi4: every fetched file matches the served bytes" check_hashes pi4
lab_eq "pi4: ACK kept the OFFERed address" true "$(q '.checks[] | select(.name == "eeprom.ack_same_ip") | .ok')"
lab_eq "pi4: option 43 is R4 byte for byte" true "$(q '.checks[] | select(.name == "eeprom.a_opt43_bytes") | .ok')"
lab_eq "pi4: option 97 echoed" true "$(q '.checks[] | select(.name == "eeprom.c_opt97_echo") | .ok')"
lab_eq "pi4: kernel DHCP got the firmware-stage address" true \
    "$(q '.checks[] | select(.name == "kernel.same_ip_as_firmware") | .ok')"
lab_eq "pi4: no option 43 for the kernel" true "$(q '.checks[] | select(.name == "kernel.no_opt43") | .ok')"
lab_eq "pi4: every required check passed" 0 "$(q '[.checks[] | select(.required and (.ok | not))] | length')"

# --- Pi 4 data-path stress: a kernel of more than 65535 blocks (wrap to 0, T6), one withheld ACK
# (dnsmasq must retransmit) and one duplicated ACK (dnsmasq must not resend, T5) -----------------
mkdir -p "$tftp/big"
cp "$tftp/start4.elf" "$tftp/big/start4.elf"
blob "$tftp/big/kernel8.img" $((65536 * 512 + 300))
boot pi4s pi4 dc:a6:32:01:36:c4 6aee7245 --tftp-prefix str:big/ --blksize 512 \
    --files kernel8.img --drop-ack 5 --dup-ack 9
lab_eq "pi4 stress: exit code" 0 "$RC"
lab_eq "pi4 stress: prefix from --tftp-prefix str:" "big/" "$(q .prefix)"
lab_eq "pi4 stress: 65537-block kernel fetched" $((65536 * 512 + 300)) \
    "$(q '.files[] | select(.name == "big/kernel8.img" and .result == "fetched") | .bytes')"
lab_check "pi4 stress: the wrapped file matches the served bytes" check_hashes pi4s
lab_eq "pi4 stress: dnsmasq retransmitted after the withheld ACK" true \
    "$(q '.checks[] | select(.name == "tftp.stress_server_retransmits_after_lost_ack") | .ok')"
lab_eq "pi4 stress: dnsmasq did not resend on the duplicate ACK" true \
    "$(q '.checks[] | select(.name == "tftp.stress_no_resend_on_duplicate_ack") | .ok')"

# --- Pi 5 (EEPROM loads everything itself, serial prefix, initramfs from config.txt) -----------
# ... and at the end the node agent's "up" call, here to a busybox httpd CGI that records it.
mkdir -p "$LAB_DIR/www/cgi-bin"
cat >"$LAB_DIR/www/cgi-bin/up" <<CGI
#!/bin/sh
head -c "\$CONTENT_LENGTH" >"$LAB_DIR/up-body.json"
printf 'Content-Type: text/plain\r\n\r\nok\n'
CGI
chmod +x "$LAB_DIR/www/cgi-bin/up"
lab_bg server "$LAB_DIR/httpd.log" busybox httpd -f -p 10.42.0.1:8080 -h "$LAB_DIR/www"
lab_wait_tcp server 8080 10 || lab_die "busybox httpd did not start"
boot pi5 pi5 2c:cf:67:11:22:33 da591740 --boardrev d04170 --up-url http://10.42.0.1:8080/cgi-bin/up
lab_eq "pi5: exit code" 0 "$RC"
lab_eq "pi5: report ok" true "$(q .ok)"
lab_eq "pi5: stages" "dhcp,firmware,kernel,up" "$(q '.stages | join(",")')"
lab_eq "pi5: the up call carried the MAC and address" "2c:cf:67:11:22:33 $(q .ip)" \
    "$(jq -r '.mac + " " + .ip' "$LAB_DIR/up-body.json" 2>/dev/null)"
lab_eq "pi5: serial prefix found via config.txt" "da591740/" "$(q .prefix)"
lab_check "pi5: kernel_2712.img fetched" has_file da591740/kernel_2712.img fetched
lab_check "pi5: initramfs named by config.txt fetched" has_file da591740/initramfs_2712 fetched
lab_eq "pi5: blksize 1468 acknowledged" 1468 "$(q '.files[] | select(.name == "da591740/kernel_2712.img" and .result == "fetched") | .blksize')"
lab_check "pi5: every fetched file matches the served bytes" check_hashes pi5
lab_check "dnsmasq logged the Pi 5 option 97" grep -qi "35:69:50:52" "$LAB_DIR/dnsmasq.log"
lab_check "three distinct addresses for three Pis" bash -c \
    "[ \$(jq -r .ip '$LAB_DIR/pi3.json' '$LAB_DIR/pi4.json' '$LAB_DIR/pi5.json' | sort -u | wc -l) -eq 3 ]"


# --- ProxyDHCP: addresses from one dnsmasq, PXE + TFTP from another ------------------------------
# The proxy sends the 3B's R5 menu to B8:27:EB MACs and delays those replies by 3 s (R5, R11, the
# PiServer recipe), so a strict pi3b-rom must pass Q1, Q5 and (f) and fetch from the proxy. A Pi 4
# gets the proxy's reply first (no delay) and the address second: both orderings must boot.
kill "$dnsmasq_pid"
lab_wait 5 bash -c "! ip netns exec '$(lab_ns server)' ss -Hlun 'sport = :67' | grep -q ." ||
    lab_die "dnsmasq did not stop"
wait "$dnsmasq_pid" 2>/dev/null
cat >"$LAB_DIR/main.conf" <<CONF
port=0
interface=eth0
bind-interfaces
user=root
no-ping
dhcp-range=10.42.0.160,10.42.0.199,255.255.255.0,1h
dhcp-leasefile=$LAB_DIR/main.leases
pid-file=$LAB_DIR/main.pid
log-dhcp
log-facility=-
CONF
lab_host proxy 10.42.0.2/24
cat >"$LAB_DIR/proxy.conf" <<CONF
port=0
interface=eth0
bind-interfaces
user=root
dhcp-range=10.42.0.0,proxy
dhcp-leasefile=$LAB_DIR/proxy.leases
pid-file=$LAB_DIR/proxy.pid
dhcp-mac=set:pi3,b8:27:eb:*:*:*
dhcp-reply-delay=tag:pi3,3
pxe-service=tag:pi3,0,"Raspberry Pi Boot   "
pxe-service=tag:!pi3,0,"Raspberry Pi Boot"
enable-tftp
tftp-root=$tftp
log-dhcp
log-facility=-
CONF
lab_bg server "$LAB_DIR/main.log" "$dnsmasq_bin" --keep-in-foreground --conf-file="$LAB_DIR/main.conf"
lab_bg proxy "$LAB_DIR/proxy.log" "$dnsmasq_bin" --keep-in-foreground --conf-file="$LAB_DIR/proxy.conf"
lab_wait_udp server 67 10 || lab_die "main dnsmasq did not start"
lab_wait_udp proxy 69 10 || lab_die "proxy dnsmasq did not start"

boot pi3p pi3b-rom b8:27:eb:85:c0:f2 7285c0f2 --strict
lab_eq "proxy pi3b-rom strict: exit code" 0 "$RC"
lab_eq "proxy pi3b-rom strict: stages" "dhcp,firmware,kernel" "$(q '.stages | join(",")')"
lab_eq "proxy pi3b-rom strict: TFTP from the proxy (its option 54)" 10.42.0.2 "$(q .tftp_server)"
lab_check "proxy pi3b-rom strict: address from the main server's pool" \
    bash -c "case $(q .ip) in 10.42.0.1[6-9][0-9]) exit 0;; *) exit 1;; esac"
for c in rom.q1_menu_3b rom.q5_ip_before_proxy rom.e_proxy_fields rom.f_proxy_delay_1s \
    rom.a_opt43_bytes rom.q10_siaddr_is_opt54; do
    lab_eq "proxy pi3b-rom strict: check $c" true "$(q ".checks[] | select(.name == \"$c\") | .ok")"
done
lab_check "proxy pi3b-rom strict: every fetched file matches the served bytes" check_hashes pi3p

boot pi4p pi4 dc:a6:32:01:36:c3 6aee7244 --strict
lab_eq "proxy pi4 strict: exit code" 0 "$RC"
lab_eq "proxy pi4 strict: stages" "dhcp,firmware,kernel" "$(q '.stages | join(",")')"
lab_eq "proxy pi4 strict: TFTP from the proxy" 10.42.0.2 "$(q .tftp_server)"
lab_eq "proxy pi4 strict: proxy reply has yiaddr 0 and the broadcast flag" true \
    "$(q '.checks[] | select(.name == "eeprom.e_proxy_fields") | .ok')"
lab_check "proxy pi4 strict: every fetched file matches the served bytes" check_hashes pi4p

lab_finish
