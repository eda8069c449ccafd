#!/usr/bin/env python3
"""gateway_crash.py: crash safety of the queue under load (issue 3 sections 4, 7).
Many sessions send messages with a unique token; a token is recorded only when the
client got 250 after DATA. The server is killed with SIGKILL at random moments
(3 times) and restarted. At the end every recorded token is in the queue, intact,
and nothing is half-visible: every data file in messages/ has its control file
with the end marker (format A), every .msg file its valid end marker (format B), and
the offline `mxguard queue list` finds nothing unreadable. The queue format is
$MXG_QUEUE_FORMAT, else the server's default (tests/CMakeLists.txt runs this test once
per format); the files of both formats are checked, each by its own commit rule.
Bounded: 200 messages, 3 kills."""
import json
import os
import random
import re
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Checker, parse_msg_file  # noqa: E402

TOTAL = 200
WORKERS = 10
KILLS = 3

c = Checker()
gw = Gateway(mode="hold")
accepted = {}  # token -> body
lock = threading.Lock()
counter = iter(range(TOTAL))
stop = threading.Event()


def body_of(token):
    return (f"Message-ID: <{token}@crash.test>\r\nSubject: crash {token}\r\n\r\n"
            + f"token {token}\r\n" * 20)


def worker():
    while not stop.is_set():
        with lock:
            i = next(counter, None)
        if i is None:
            return
        token = f"tok{i:05d}x{random.randrange(1 << 30):08x}"
        for _attempt in range(50):  # retry while the server is down
            try:
                with smtplib.SMTP("127.0.0.1", gw.port, timeout=10) as s:
                    s.sendmail("c@local.test", ["d@local.test"], body_of(token).encode())
                with lock:
                    accepted[token] = body_of(token)
                break
            except (OSError, smtplib.SMTPException):
                # no 250 seen: the message may or may not be there, never half
                token = f"tok{i:05d}x{random.randrange(1 << 30):08x}"
                time.sleep(0.1)


try:
    gw.start()
    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for k in range(KILLS):
        time.sleep(random.uniform(0.05, 0.2))
        gw.kill9()
        print(f"killed #{k + 1} after {len(accepted)} accepted")
        time.sleep(0.2)
        gw.start()
    deadline = time.time() + 240
    for t in threads:
        t.join(timeout=max(1, deadline - time.time()))
    stop.set()
    c.ok(all(not t.is_alive() for t in threads), "all senders finished in time")
    c.ok(len(accepted) >= TOTAL * 0.9, f"{len(accepted)} of {TOTAL} messages got 250")
    gw.kill9()  # last crash with nothing in flight

    msgs = gw.messages()
    by_token = {}
    for qid, (ctl, data) in msgs.items():
        m = re.search(rb"token (tok\w+)", data)
        if m:
            by_token.setdefault(m.group(1).decode(), []).append((qid, ctl, data))
    missing = [t for t in accepted if t not in by_token]
    c.eq(missing, [], "every message answered 250 is in the queue")
    broken = [t for t, body in accepted.items()
              if t in by_token and not by_token[t][0][2].endswith(body.encode())]
    c.eq(broken, [], "every accepted message is intact")
    d = os.path.join(gw.queue, "messages")
    half = []
    for name in os.listdir(d):
        qid, ext = name.rsplit(".", 1)
        if ext == "data" and not os.path.exists(os.path.join(d, qid + ".ctl")):
            half.append(name)  # the scanner removes these at start; they are never listed
        if ext == "ctl":
            with open(os.path.join(d, name)) as f:
                text = f.read()
            if not text.rstrip("\n").endswith(f"end: {qid}"):
                half.append(name)
        if ext == "msg":
            with open(os.path.join(d, name), "rb") as f:
                if parse_msg_file(f.read()) is None:
                    half.append(name)
    c.eq([h for h in half if h.endswith((".ctl", ".msg"))], [],
         "every control file / message file has its end marker")
    want_ext = ".msg" if gw.queue_format == "single" else ".ctl"
    c.ok(any(n.endswith(want_ext) for n in os.listdir(d)),
         f"the queue holds {want_ext} files (format {gw.queue_format})")
    r = gw.cli("queue", "--offline", "--queue-dir", gw.queue, "--json", "list", check=False)
    c.eq(r.returncode, 0, f"offline queue list exit ({r.stderr[-200:]!r})")
    try:
        j = json.loads(r.stdout)
        c.eq(j.get("unreadable", []), [], "offline list: nothing unreadable")
        c.eq(j.get("count"), len([n for n in os.listdir(d) if n.endswith((".ctl", ".msg"))]),
             "offline list counts every committed message")
    except ValueError:
        c.ok(False, f"queue list --json output is JSON: {r.stdout[:200]!r}")
    # a restart recovers: orphans removed, every message still there
    gw.start()
    c.eq(set(gw.messages()) >= {q for v in by_token.values() for q, _, _ in v}, True,
         "restart keeps every committed message")
    c.eq(gw.stop(), 0, "SIGTERM after recovery: exit 0")
finally:
    stop.set()
    gw.cleanup()
c.done()
