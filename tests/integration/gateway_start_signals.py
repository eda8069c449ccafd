#!/usr/bin/env python3
"""gateway_start_signals.py: a SIGTERM during a slow start is a clean drain, never the
default death (issue 16 item 8: gateway_crash saw "exit 0: got -15" when SIGTERM came
before the handler was installed).

Deterministic, no timing: the test holds a write lock on the history database, so
`mxguard serve` blocks in its start (SQLite busy wait, 5 s) after its listener is bound
and before it is ready. SIGTERM is sent while it is blocked there (the listener answers,
the ready line is not logged yet); then the lock is released. The server must finish
its start, drain and exit 0."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Checker, MXGUARD, TIMEOUT, wait_log  # noqa: E402



def listening(port):
    """True when a socket listens on 127.0.0.1:port (/proc/net/tcp, state 0A), found
    without connecting: a connection would be a session the drain has to wait for."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return any(ln.split()[1] == want and ln.split()[3] == "0A" for ln in list(f)[1:])


c = Checker()
gw = Gateway(mode="hold")
try:
    os.makedirs(gw.state, exist_ok=True)
    db = sqlite3.connect(os.path.join(gw.state, "history.db"), isolation_level=None, timeout=1)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN IMMEDIATE")  # the server's BEGIN IMMEDIATE waits for this
    proc = subprocess.Popen([MXGUARD, "serve", "--config", gw.config],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    gw.proc = proc
    bound = False
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and proc.poll() is None and not bound:
        bound = listening(gw.port)
        if not bound:
            time.sleep(0.02)
    c.ok(bound, "the listener is bound while the start waits for the history lock")
    c.ok(Gateway.READY not in gw.log_text(), "not ready yet (blocked on the history lock)")
    proc.send_signal(signal.SIGTERM)
    db.execute("COMMIT")
    db.close()
    try:
        rc = proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait(timeout=TIMEOUT)
    out = proc.stdout.read().decode(errors="replace")
    c.eq(rc, 0, f"SIGTERM during the start: drain and exit 0 ({out[-300:]!r})")
    c.ok(wait_log(gw, "signal TERM received: draining", 0, timeout=1) == 1,
         "the drain is logged")
    c.ok(Gateway.READY in gw.log_text(), "the start completed before the drain")

    # The harness waits for the ready line: a SIGTERM right after start() is a drain.
    for i in range(3):
        gw.start()
        c.eq(gw.stop(), 0, f"SIGTERM right after the ready line, round {i + 1}: exit 0")
finally:
    gw.cleanup()
c.done()
