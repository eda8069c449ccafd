#!/usr/bin/env python3
"""gateway_slowloris.py: slow clients cannot hold sessions (issue 16 item 2).

1,200 connections from 10 source addresses (127.0.0.2-11) each trickle one byte a
second into a command line that never ends; later 100 more trickle one byte a second
into their DATA (every fifth into a BDAT chunk). The command timeout and the DATA
timeout are 3 s, the minimum data rate 500 B/s (smtpd_per_record_deadline / smtpd_min_data_rate semantics): every slow
client must get `421 4.4.2` and be disconnected within the deadline plus a margin,
although it keeps sending, while a normal client (127.0.0.1) is greeted and served
during the attack. Before the deadlines each byte restarted the timeout, so the slow
clients were never disconnected. Timing margins are wide: the deadlines are 3 s, the
checks allow up to 12 s."""
import os
import resource
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
import mxg_gateway_harness as harness  # noqa: E402
from mxg_gateway_harness import Gateway, Client, Checker  # noqa: E402

DEADLINE = 3.0  # the configured command and data_block timeouts (seconds)
MARGIN = 9.0  # slack for a loaded machine
N_ADDRS = 10
N_CMD = 1200  # more than the common soft limit of 1024 open files
N_DATA = 100

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = N_CMD + N_DATA + 200
if soft < want:
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    except (ValueError, OSError):
        pass
soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
if soft < want:
    N_CMD = max(100, soft - N_DATA - 200)

c = Checker()

# The server starts with the common default soft limit of 1024 open files (when the
# hard limit allows more): it must lift it itself, or 1,000 slow sockets leave no
# descriptor for accept() and the normal client waits in the backlog (EMFILE).
WRAPPER = None
if hard == resource.RLIM_INFINITY or hard >= 4096:
    import tempfile
    wdir = tempfile.mkdtemp(prefix="mxg-slowloris-")
    WRAPPER = os.path.join(wdir, "mxguard-ulimit-1024")
    with open(WRAPPER, "w") as f:
        f.write(f'#!/bin/sh\nulimit -Sn 1024\nexec "{os.path.abspath(harness.MXGUARD)}" "$@"\n')
    os.chmod(WRAPPER, 0o755)
    harness.MXGUARD = WRAPPER
    print("server started with a soft open-file limit of 1024")
LISTENER = f"""
[listener.test.limits]
sessions_per_ip = 200
[listener.test.timeouts]
command = "{int(DEADLINE)}s"
data_block = "{int(DEADLINE)}s"
data_min_rate = 500
"""


class Slow:
    """One slow client: a non-blocking socket, what it received, when it ended."""

    def __init__(self, port, source, prefix):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                          source_address=(source, 0))
        self.s.setblocking(False)
        self.got = b""
        self.start = time.time()  # when the trickle started
        self.ended = None  # time of EOF / reset
        self.prefix = prefix  # sent at once before the trickle
        self.in_data = False  # a DATA client (its greeting was read elsewhere)


class Trickler(threading.Thread):
    """Sends one byte per second to every open slow socket (only after its greeting: a
    byte before it is a pregreet, 554); reads what comes back, notes the end."""

    def __init__(self, slow):
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        self.slow = list(slow)
        for sl in self.slow:
            self.sel.register(sl.s, selectors.EVENT_READ, sl)
        self.stop = False

    def run(self):
        next_tick = time.time()
        while not self.stop and any(x.ended is None for x in self.slow):
            timeout = max(0.0, min(0.2, next_tick - time.time()))
            for key, _ in self.sel.select(timeout=timeout):
                sl = key.data
                try:
                    data = sl.s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    sl.got += data
                else:
                    sl.ended = time.time()
                    self.sel.unregister(sl.s)
                    sl.s.close()
            if time.time() >= next_tick:
                next_tick += 1.0
                for sl in self.slow:
                    if sl.ended is None and (sl.in_data or sl.got.startswith(b"220")):
                        try:
                            sl.s.send(b"a")
                        except OSError:
                            pass  # full buffer or reset: the reader sees the end


def normal_transaction(port, tag):
    """A normal client: greeted and served; returns (greeting seconds, final code); code 0
    when the server did not answer in time (locked out)."""
    t0 = time.time()
    try:
        return normal_transaction_inner(port, tag, t0)
    except (OSError, EOFError) as e:
        print(f"normal client failed: {e!r}")
        return time.time() - t0, 0


def normal_transaction_inner(port, tag, t0):
    cl = Client(port, timeout=10)
    code, _ = cl.reply()
    greet = time.time() - t0
    if code != 220:
        return greet, code
    cl.cmd("ehlo normal.test")
    cl.cmd("mail from:<n@local.test>")
    cl.cmd("rcpt to:<u@local.test>")
    cl.cmd("data")
    cl.send(f"Subject: {tag}\r\n\r\nnormal client during slowloris\r\n.\r\n")
    code, _ = cl.reply()
    cl.cmd("quit")
    cl.close()
    return greet, code


with Gateway(mode="hold", listener=LISTENER) as gw:

    # --- command slowloris: 1,000 sockets from 10 addresses, lines that never end
    cmd_slow = []
    for i in range(N_CMD):
        src = f"127.0.0.{2 + i % N_ADDRS}"
        cmd_slow.append(Slow(gw.port, src, b""))
    tr = Trickler(cmd_slow)
    tr.start()
    t_open = time.time()
    # While they are all connected and trickling: a normal client is served at once.
    time.sleep(1.0)
    greet, code = normal_transaction(gw.port, "during command slowloris")
    c.ok(greet < 2.0, f"normal client greeted within 2 s during the attack ({greet:.2f} s)")
    c.eq(code, 250, "normal client's message accepted during the command slowloris")
    # Every slow client is told 421 4.4.2 and disconnected, although it keeps sending.
    end_by = t_open + DEADLINE + MARGIN
    while time.time() < end_by and any(s.ended is None for s in cmd_slow):
        time.sleep(0.2)
    ended = [s for s in cmd_slow if s.ended is not None]
    c.eq(len(ended), len(cmd_slow),
         f"all {len(cmd_slow)} trickling command clients disconnected within "
         f"{DEADLINE + MARGIN:.0f} s")
    told = [s for s in cmd_slow if b"421 4.4.2" in s.got]
    c.eq(len(told), len(cmd_slow), "each was told 421 4.4.2 (RFC 3463 bad connection)")
    if ended:
        longest = max(s.ended - s.start for s in ended)
        shortest = min(s.ended - s.start for s in ended)
        print(f"command slowloris: disconnected after {shortest:.1f}-{longest:.1f} s")
        c.ok(shortest >= DEADLINE - 0.5, f"none cut before the deadline ({shortest:.1f} s)")

    tr.stop = True
    tr.join(timeout=5)
    for sl in cmd_slow:
        if sl.ended is None:
            sl.s.close()

    # --- DATA slowloris: transactions whose body trickles in at 1 B/s
    data_slow = []
    for i in range(N_DATA):
        src = f"127.0.0.{2 + i % N_ADDRS}"
        cl = Client(gw.port, timeout=10, source=src)
        cl.reply()
        cl.cmd("ehlo slow.test")
        cl.cmd("mail from:<s@local.test>")
        cl.cmd("rcpt to:<u@local.test>")
        if i % 5 == 4:  # every fifth one trickles a BDAT chunk (RFC 3030) instead
            cl.send("BDAT 100000 LAST\r\n")
        else:
            code, _ = cl.cmd("data")
            if code != 354:
                c.ok(False, f"slow DATA client {i}: DATA answered {code}")
                continue
        sl = Slow.__new__(Slow)
        sl.s = cl.s
        sl.s.setblocking(False)
        sl.got = b""
        sl.start = time.time()
        sl.ended = None
        sl.in_data = True
        data_slow.append(sl)
    tr = Trickler(data_slow)
    tr.start()
    t_open = time.time()
    time.sleep(1.0)
    greet, code = normal_transaction(gw.port, "during data slowloris")
    c.ok(greet < 2.0, f"normal client greeted within 2 s during the DATA attack ({greet:.2f} s)")
    c.eq(code, 250, "normal client's message accepted during the DATA slowloris")
    end_by = t_open + DEADLINE + MARGIN
    while time.time() < end_by and any(s.ended is None for s in data_slow):
        time.sleep(0.2)
    ended = [s for s in data_slow if s.ended is not None]
    c.eq(len(ended), len(data_slow),
         f"all {len(data_slow)} trickling DATA clients disconnected within "
         f"{DEADLINE + MARGIN:.0f} s")
    told = [s for s in data_slow if b"421 4.4.2" in s.got]
    c.eq(len(told), len(data_slow), "each was told 421 4.4.2")
    tr.stop = True
    tr.join(timeout=5)

    # Only the two normal messages were queued; the slow ones left nothing behind.
    c.eq(len(gw.messages()), 2, "only the normal clients' messages are queued")
    log = gw.log_text()
    if WRAPPER:
        c.ok("open files limit=" in log and "was 1024" in log,
             "server lifted its soft open-file limit of 1024 at start")
    c.ok("reason=timeout-data" in log, "log: DATA clients ended by timeout-data")
    c.ok("reason=timeout-bdat" in log, "log: BDAT clients ended by timeout-bdat")
    c.ok(log.count("reason=timeout ") + log.count("reason=timeout\n") >= len(cmd_slow),
         "log: command clients ended by timeout")
if WRAPPER:
    os.remove(WRAPPER)
    os.rmdir(os.path.dirname(WRAPPER))
c.done()
