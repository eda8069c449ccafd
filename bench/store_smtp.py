#!/usr/bin/env python3
"""store_smtp.py: the SMTP side by side of issue 14: `mxguard serve` (hold mode) taking
N messages of 1 KB from Postfix's smtp-source (S sessions at once) with the history on
SQLite and on PostgreSQL (a private durable server, tests/support/private_postgres.py),
alternating, ROUNDS times each; prints msgs/s per run and checks that every message
reached the PostgreSQL history. The history writer is off the session path, so the two
should not differ beyond noise. Recipe: docs/benchmarks.md.
Usage: MXGUARD=build/mxguard [N=3000 S=20 ROUNDS=2] python3 bench/store_smtp.py"""
import os
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "tests", "support"))
os.environ.setdefault("MXGUARD", os.path.join(root, "build", "mxguard"))
from mxg_gateway_harness import Gateway  # noqa: E402
from private_postgres import PrivatePostgres  # noqa: E402

N, S = int(os.environ.get("N", "3000")), int(os.environ.get("S", "20"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
if not os.path.exists("/usr/sbin/smtp-source"):
    print("store_smtp.py: smtp-source missing: skipped")
    sys.exit(0)
pg = PrivatePostgres(fast=False)
if not pg.available():
    print("store_smtp.py: PostgreSQL server binaries missing: skipped")
    sys.exit(0)
res = {}
with pg:
    for _ in range(ROUNDS):
        for name, top in (("sqlite", ""),
                          ("postgresql", f'[store]\nbackend = "postgresql"\ndsn = "{pg.dsn}"\n')):
            gw = Gateway(mode="hold", top=top)
            gw.start()
            t = time.time()
            subprocess.run(["/usr/sbin/smtp-source", "-s", str(S), "-m", str(N), "-l", "1024",
                            "-f", "a@client.example", "-t", "u@local.test",
                            f"127.0.0.1:{gw.port}"], check=True)
            res.setdefault(name, []).append(N / (time.time() - t))
            gw.stop()  # flushes the history writer
            if name == "postgresql":
                rows = int(pg.psql("SELECT count(*) FROM messages"))
                if rows != N:
                    print(f"store_smtp.py: {rows} history rows for {N} messages")
                    sys.exit(1)
                pg.psql("TRUNCATE messages, recipients, decisions, dkim_results, quarantine")
            gw.cleanup()
for k, v in res.items():
    print(f"{k:10} " + " ".join(f"{x:.0f}" for x in v) + " msgs/s")
