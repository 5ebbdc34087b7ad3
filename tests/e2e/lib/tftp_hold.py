#!/usr/bin/env python3
"""Keeps N transfers of FILE running for SECONDS: N sockets each send an RRQ (no options) and ACK
the newest DATA they got every 0.2 s (well inside the server's 1 s timeout, so nothing is
retransmitted and the transfers crawl on), then end them all with ERROR 0 "Early terminate".
Prints "held K of N" (K = transfers that answered with DATA 1 and were held to the end).
Usage: tftp_hold.py SERVER FILE N SECONDS"""
import select, socket, struct, sys, time

server, fname, n, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
EARLY = bytes.fromhex("00050000") + b"Early terminate\0"
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.setblocking(False)
    s.sendto(struct.pack("!H", 1) + fname.encode() + b"\0octet\0", (server, 69))
    socks.append(s)
peer = {}   # socket -> the server's transfer address
newest = {} # socket -> newest DATA block seen
end = time.monotonic() + seconds
while time.monotonic() < end:
    ready, _, _ = select.select(socks, [], [], 0.2)
    for s in ready:
        while True:
            try:
                pkt, addr = s.recvfrom(65536)
            except BlockingIOError:
                break
            if len(pkt) >= 4 and pkt[:2] == b"\0\3":
                peer[s] = addr
                newest[s] = struct.unpack("!H", pkt[2:4])[0]
    for s, block in newest.items():
        s.sendto(struct.pack("!HH", 4, block), peer[s])
    time.sleep(0.2)
for s, addr in peer.items():
    s.sendto(EARLY, addr)
print(f"held {len(peer)} of {n}")
sys.exit(0 if len(peer) == n else 1)
