#!/usr/bin/env python3
"""greeting_probe.py: measures SMTP greeting latency (connect until the 220 line has
arrived) from THREADS parallel clients, each opening a new connection every INTERVAL
seconds, until the file UNTIL exists (or for SECONDS). Prints one JSON line:
{"probes":N, "p50_ms":..., "p99_ms":..., "max_ms":..., "failed":N}.
Used by bench/queue_list_latency.sh (issue 16 item 5).

  greeting_probe.py --port P [--threads 8] [--interval 0.02] (--until FILE | --seconds S)
"""
import argparse
import json
import os
import socket
import threading
import time


def probe(port, timeout=30.0):
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise EOFError("closed before the greeting")
            buf += chunk
        if not buf.startswith(b"220"):
            raise ValueError(buf[:60])
        t = time.perf_counter() - t0
        s.sendall(b"QUIT\r\n")
        return t
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--until")
    ap.add_argument("--seconds", type=float)
    a = ap.parse_args()
    end = time.time() + a.seconds if a.seconds else None
    lat, failed, lock = [], [0], threading.Lock()

    def stop():
        return (end is not None and time.time() >= end) or (a.until and os.path.exists(a.until))

    def worker():
        while not stop():
            try:
                t = probe(a.port)
                with lock:
                    lat.append(t)
            except Exception:  # noqa: BLE001 (a failed probe is counted, not fatal)
                with lock:
                    failed[0] += 1
            time.sleep(a.interval)

    ts = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else None

    print(json.dumps({"probes": len(lat), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                      "max_ms": round(lat[-1] * 1000, 2) if lat else None, "failed": failed[0]}))


if __name__ == "__main__":
    main()
