#!/usr/bin/env python3
"""Wire-level TFTP checks the stock clients cannot make: the Pi's probe-then-abort, duplicate
ACKs, retransmitted RRQs, the RRQ race and a client that goes away. Prints one "ok|FAIL name: detail" line per check and
exits non-zero if any failed. Usage: tftp_probe.py SERVER FILE SIZE"""
import socket, struct, sys, time

server, fname, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
failed = 0


def check(name, cond, detail=""):
    global failed
    print(("ok   " if cond else "FAIL ") + name + (": " + detail if detail else ""))
    if not cond:
        failed += 1


def sock(timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.settimeout(timeout)
    return s


def rrq(name, opts=()):
    b = struct.pack("!H", 1) + name.encode() + b"\0octet\0"
    for k, v in opts:
        b += k.encode() + b"\0" + v.encode() + b"\0"
    return b


def recv(s):
    try:
        return s.recvfrom(65536)
    except socket.timeout:
        return None, None


def ack(n):
    return struct.pack("!HH", 4, n & 0xFFFF)


EARLY = bytes.fromhex("00050000") + b"Early terminate\0"

# 1. The Pi probe: tsize -> OACK -> ACK 0 -> DATA 1 -> ERROR 0 "Early terminate"; then silence.
s = sock()
s.sendto(rrq(fname, [("tsize", "0"), ("blksize", "1024")]), (server, 69))
pkt, peer = recv(s)
check("probe: OACK first", pkt is not None and pkt[:2] == b"\0\6", repr(pkt[:40] if pkt else None))
if pkt:
    fields = pkt[2:].split(b"\0")
    opts = dict(zip(fields[0::2], fields[1::2]))
    check("probe: OACK tsize is the exact size", opts.get(b"tsize") == str(size).encode(), repr(opts))
    check("probe: OACK blksize 1024", opts.get(b"blksize") == b"1024", repr(opts))
    s.sendto(ack(0), peer)
    d, _ = recv(s)
    check("probe: DATA 1 after ACK 0", d is not None and d[:4] == b"\0\3\0\1" and len(d) == 4 + 1024)
    s.sendto(EARLY, peer)
    s.settimeout(2.5)
    late, _ = recv(s)
    check("probe: nothing sent after Early terminate", late is None, repr(late[:8]) if late else "")
s.close()

# 2. Duplicate ACKs are never answered (T5); the lost block comes back only after the timeout.
s = sock(0.5)
s.sendto(rrq(fname), (server, 69))
d1, peer = recv(s)
check("no options: DATA 1 without OACK", d1 is not None and d1[:4] == b"\0\3\0\1" and len(d1) == 516)
if d1:
    s.sendto(ack(1), peer)
    d2, _ = recv(s)
    check("DATA 2 after ACK 1", d2 is not None and d2[:4] == b"\0\3\0\2")
    t0 = time.monotonic()
    s.sendto(ack(1), peer)  # duplicate: must not trigger a second DATA 2
    s.sendto(ack(1), peer)
    dup, _ = recv(s)
    check("duplicate ACK 1 not answered within 0.5 s", dup is None, repr(dup[:4]) if dup else "")
    s.settimeout(3)
    again, _ = recv(s)
    waited = time.monotonic() - t0
    check("DATA 2 retransmitted after the timeout", again is not None and again[:4] == b"\0\3\0\2"
          and waited >= 0.8, "after %.2f s" % waited)
    s.sendto(struct.pack("!HH", 5, 0) + b"done\0", peer)
s.close()

# 3. A retransmitted RRQ from the same port is not a new transfer (busybox re-sends after 100 ms).
# A second transfer would send its own DATA 1 at once; the one transfer re-sends DATA 1 only after
# its 1 s timeout, so within 0.6 s exactly one DATA 1 may arrive. (All transfers share one server
# port, so the server port cannot tell transfers apart; the count of DATA 1 can.)
s = sock(0.6)
s.sendto(rrq(fname), (server, 69))
s.sendto(rrq(fname), (server, 69))
firsts, peer_port = 0, None
while True:
    p, peer = recv(s)
    if p is None:
        break
    if p[:4] == b"\0\3\0\1":
        firsts += 1
        peer_port = peer[1]
check("duplicate RRQ from one port: one transfer", firsts == 1, "%d DATA 1 received" % firsts)
if peer_port:
    s.sendto(EARLY, (server, peer_port))
s.close()

# 4. A packet from an address and port with no transfer, on the transfer port, gets ERROR 5
# "Unknown transfer ID" (RFC 1350) and does not disturb the transfer it was aimed at.
a, stranger = sock(), sock(1.0)
a.sendto(rrq(fname, [("blksize", "1468")]), (server, 69))
p, peer = recv(a)
check("unknown TID: transfer answers with OACK", p is not None and p[:2] == b"\0\6")
if p:
    stranger.sendto(ack(0), peer)
    e, _ = recv(stranger)
    check("unknown TID: stranger gets ERROR 5", e is not None and e[:4] == b"\0\5\0\5", repr(e[:24] if e else None))
    a.sendto(ack(0), peer)
    d, _ = recv(a)
    check("unknown TID: the real transfer goes on (DATA 1)", d is not None and d[:4] == b"\0\3\0\1")
    a.sendto(EARLY, peer)
a.close()
stranger.close()

# 5. The RRQ race: two RRQs for the same file from two ports run side by side to the end.
a, b = sock(), sock()
a.sendto(rrq(fname, [("blksize", "1468")]), (server, 69))
b.sendto(rrq(fname, [("blksize", "1468")]), (server, 69))
got = {}
for name, s in (("a", a), ("b", b)):
    p, peer = recv(s)
    ok = p is not None and p[:2] == b"\0\6"
    s.sendto(ack(0), peer)
    data = bytearray()
    block = 1
    while ok:
        p, _ = recv(s)
        if p is not None and p[:2] == b"\0\6":
            s.sendto(ack(0), peer)  # a retransmitted OACK (this transfer waited while the other ran)
            continue
        if p is None or p[:2] != b"\0\3":
            ok = False
            break
        n = struct.unpack("!H", p[2:4])[0]
        if n == (block & 0xFFFF):
            data += p[4:]
            s.sendto(ack(block), peer)
            block += 1
            if len(p) - 4 < 1468:
                break
    got[name] = len(data) if ok else -1
    # Leave b's transfer waiting while a runs: both exist at once.
check("RRQ race: both transfers complete", got.get("a") == size and got.get("b") == size, repr(got))

# 5. A client that goes away mid-transfer: its port closes, the server's retransmit of DATA 1 (after
# 1 s) draws an ICMP port unreachable, and the transfer must end there (the caller checks the log for
# tftp.error "client unreachable" and that the daemon does not spin on the error).
s = sock()
s.sendto(rrq(fname), (server, 69))
d, peer = recv(s)
check("gone client: DATA 1 before it leaves", d is not None and d[:4] == b"\0\3\0\1")
s.close()
time.sleep(2.5)

sys.exit(1 if failed else 0)
