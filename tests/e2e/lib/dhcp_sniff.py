#!/usr/bin/env python3
"""Listens on UDP port 68 inside a lab namespace and prints one line per DHCP reply seen:
type hops bootp_len siaddr yiaddr opt54 opt60 opt43hex opt97hex pads_between_options.
Used by the DHCP e2e test to check replies on the wire (busybox hides some options)."""
import socket, struct, sys, time

count = int(sys.argv[1]) if len(sys.argv) > 1 else 2
timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
out = open(sys.argv[3], "w") if len(sys.argv) > 3 else sys.stdout
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("0.0.0.0", 68))
print("listening", file=out, flush=True)
deadline = time.time() + timeout
seen = 0
while seen < count and time.time() < deadline:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        b, _ = s.recvfrom(4096)
    except socket.timeout:
        break
    if len(b) < 240 or b[0] != 2:
        continue
    opts, i, pads = {}, 240, 0
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            pads += 1
            i += 1
            continue
        code, ln = b[i], b[i + 1]
        opts[code] = opts.get(code, b"") + b[i + 2:i + 2 + ln]
        i += 2 + ln
    ip = lambda x: socket.inet_ntoa(x)
    print(opts.get(53, b"\0")[0], b[3], len(b), ip(b[20:24]), ip(b[16:20]),
          ip(opts[54]) if 54 in opts else "-", opts.get(60, b"-").decode(errors="replace"),
          opts.get(43, b"").hex() or "-", opts.get(97, b"").hex() or "-", pads, file=out, flush=True)
    seen += 1
