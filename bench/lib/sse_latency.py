#!/usr/bin/env python3
"""Event-stream subscriber for bench/api.sh: subscribes to netbootd's GET /api/v1/events/stream
and writes one line per event, "seq latency_us kind", where latency_us is the time this process
received the event minus the event's own time_us (stamped by the event bus when the event was
published, i.e. when the packet was handled). Both clocks are CLOCK_REALTIME of the same machine.

    sse_latency.py HOST PORT OUT_FILE READY_FILE [MAX_SECONDS]

READY_FILE is created once the stream's head has arrived (the subscription exists). Stops on
SIGTERM/SIGINT, when the server closes the stream, or after MAX_SECONDS (default 600). Only the
standard library."""

import json
import os
import signal
import socket
import sys
import time


def main() -> int:
    host, port, out_path, ready_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    max_seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 600.0
    stop = False

    def on_signal(_signo, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sock = socket.create_connection((host, port), timeout=10)
    sock.sendall(
        f"GET /api/v1/events/stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    # Short timeouts so a signal or the deadline is noticed promptly even when nothing arrives.
    sock.settimeout(0.2)
    deadline = time.monotonic() + max_seconds
    buf = b""
    in_body = False
    events = 0
    bad = 0
    with open(out_path, "w", encoding="utf-8") as out:
        while not stop and time.monotonic() < deadline:
            try:
                chunk = sock.recv(1 << 16)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            # One receive time for everything in this chunk: the moment it reached us.
            now_us = time.time_ns() // 1000
            if not chunk:
                break
            buf += chunk
            if not in_body:
                head_end = buf.find(b"\r\n\r\n")
                if head_end < 0:
                    if len(buf) > 65536:
                        print("sse_latency: no HTTP head", file=sys.stderr)
                        return 1
                    continue
                status = buf.split(b"\r\n", 1)[0]
                if status.split()[1:2] != [b"200"]:
                    print(f"sse_latency: {status.decode(errors='replace')}", file=sys.stderr)
                    return 1
                buf = buf[head_end + 4:]
                in_body = True
                with open(ready_path, "w", encoding="utf-8") as ready:
                    ready.write("ready\n")
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if not line.startswith(b"data:"):
                    continue
                try:
                    e = json.loads(line[5:])
                    out.write(f"{e['seq']} {now_us - int(e['time_us'])} {e['kind']}\n")
                    events += 1
                except (ValueError, KeyError, TypeError):
                    bad += 1
            out.flush()
    sock.close()
    print(f"sse_latency: {events} events, {bad} unreadable", file=sys.stderr)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
