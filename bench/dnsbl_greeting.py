#!/usr/bin/env python3
"""dnsbl_greeting.py: connect-to-greeting latency of `mxguard serve` with [dnsbl] off
and with 4 lists on (stage "connect"), against a real DNS server (dnsmasq on a loopback
port serving the 4 list zones), issue 12 section 2. Recipe in docs/benchmarks.md.

Each connection comes from its own source address in 127.1.0.0/16 (none trusted), so
every greeting with the lists on waits for 4 fresh A queries (dnsmasq answers NXDOMAIN
from --local without an SOA, which our cache never stores: RFC 2308 5) -- the worst
case, a client never seen before. A fifth of the clients are listed on one list with a
weight below every threshold, so they are greeted too and the answers are read.
Prints one JSON line per case: connections, p50/p99/max connect-to-220 in ms, server
CPU (user+system from /proc/PID/stat) per connection in microseconds, dnsmasq CPU per
connection.

  MXGUARD=build/mxguard python3 bench/dnsbl_greeting.py [--connections 4000] [--threads 4]
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
from mxg_gateway_harness import Gateway, Dnsmasq  # noqa: E402

ZONES = ["bl1.test", "bl2.test", "bl3.test", "wl.test"]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICKS  # utime, stime


def source(i):
    return f"127.1.{(i >> 8) & 0xff}.{(i & 0xff) or 1}"


def probe(port, src):
    t0 = time.perf_counter()
    s = socket.socket()
    s.settimeout(30)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    try:
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise EOFError("closed before the greeting")
            buf += chunk
        if not buf.startswith(b"220"):
            raise ValueError(buf[:80])
        t = time.perf_counter() - t0
        s.sendall(b"QUIT\r\n")
        s.recv(4096)
        return t
    finally:
        s.close()


def run_case(name, top, dns, n, threads):
    relay = 'local_domains = ["local.test"]\ntrusted_networks = []\n'
    with Gateway(mode="hold", top=top, relay=relay) as gw:
        # warm-up: the server's first connection pays one-time costs
        for i in range(20):
            probe(gw.port, source(60000 + i))
        lat, failed, lock = [], [0], threading.Lock()
        next_i = [0]
        c0, d0, w0 = cpu_seconds(gw.proc.pid), cpu_seconds(dns.proc.pid), time.time()

        def worker():
            while True:
                with lock:
                    i = next_i[0]
                    next_i[0] += 1
                if i >= n:
                    return
                try:
                    t = probe(gw.port, source(i))
                    with lock:
                        lat.append(t)
                except Exception:  # noqa: BLE001 (counted)
                    with lock:
                        failed[0] += 1

        ts = [threading.Thread(target=worker) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        c1, d1, w1 = cpu_seconds(gw.proc.pid), cpu_seconds(dns.proc.pid), time.time()
        lat.sort()

        def pct(p):
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 3) if lat else None

        print(json.dumps({"case": name, "connections": len(lat), "failed": failed[0],
                          "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                          "max_ms": round(lat[-1] * 1000, 3) if lat else None,
                          "wall_s": round(w1 - w0, 2),
                          "server_cpu_us_per_conn": round((c1 - c0) / max(1, len(lat)) * 1e6, 1),
                          "dnsmasq_cpu_us_per_conn": round((d1 - d0) / max(1, len(lat)) * 1e6,
                                                           1)}))
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=4)
    a = ap.parse_args()
    listed = []
    for i in range(0, a.connections, 5):  # a fifth listed on bl1.test (weight 1 < 3)
        o = source(i).split(".")
        listed.append(f"--host-record={o[3]}.{o[2]}.{o[1]}.{o[0]}.bl1.test,127.0.0.2")
    args = listed + [f"--local=/{z}/" for z in ZONES]
    with Dnsmasq(*args) as dns:
        dnscfg = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "2s"\ntries = 1\n'
                  'hosts_file = ""\n')
        run_case("dnsbl off", dnscfg, dns, a.connections, a.threads)
        on = dnscfg + ('[dnsbl]\nenabled = true\nstage = "connect"\ntimeout_ms = 1000\n'
                       '[dnsbl.actions]\nreject = 3\n')
        for z in ZONES:
            on += f'[[dnsbl.zone]]\nname = "{z}"\n' + (
                'type = "allow"\n' if z.startswith("wl") else "")
        run_case("dnsbl on, 4 lists", on, dns, a.connections, a.threads)


if __name__ == "__main__":
    main()
