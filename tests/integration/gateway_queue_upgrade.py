#!/usr/bin/env python3
"""gateway_queue_upgrade.py: a queue written in format A (split: .data + .ctl) is
delivered by a server set to format B (single: one .msg file), issue 13 section 2
("existing queues must still be read, so an upgrade loses nothing"). A server with
[queue] format = "split" accepts messages (queueonly: they stay queued) and stops; the
same configuration with format = "single" starts on that directory, writes new messages as .msg files, lists every message
(old and new) and, on `mxguard queue run`, delivers all of them to a second mxguard
(hold mode); the sender's queue ends empty and every message arrived intact."""
import json
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Checker  # noqa: E402

c = Checker()
recv = Gateway(mode="hold")
gw = None


def body(tok):
    return f"Subject: upgrade {tok}\r\nMessage-ID: <{tok}@upgrade.test>\r\n\r\ntoken {tok}\r\n"


def send(port, tok):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail("old@drj.test", ["user@local.test"], body(tok).encode())


try:
    recv.start()
    routes = os.path.join(recv.tmp, "routes")
    with open(routes, "w") as f:
        f.write(f"to:@local.test relay:[127.0.0.1]:{recv.port}\n")
    gw = Gateway(mode="queueonly", top=f'[routing]\ntable = "{routes}"\n', queue_format="split")
    gw.start()
    old = [f"old{i}" for i in range(4)]
    for t in old:
        send(gw.port, t)
    d = os.path.join(gw.queue, "messages")
    names = sorted(os.listdir(d))
    c.eq(len([n for n in names if n.endswith(".ctl")]), 4, f"format A: 4 control files {names}")
    c.eq([n for n in names if n.endswith(".msg")], [], "format A: no .msg file")
    c.eq(gw.stop(), 0, "split-format server stopped")

    with open(gw.config) as f:
        conf = f.read()
    c.ok('format = "split"' in conf, "the configuration names the split format")
    with open(gw.config, "w") as f:
        f.write(conf.replace('format = "split"', 'format = "single"'))
    gw.start()
    # (the start-up scan logs "holds 4 message(s) in the split format" before the log
    # file is opened, on the server's stderr, which the harness does not keep)
    new = [f"new{i}" for i in range(2)]
    for t in new:
        send(gw.port, t)
    names = sorted(os.listdir(d))
    c.eq(len([n for n in names if n.endswith(".msg")]), 2, f"format B: 2 new .msg files {names}")
    c.eq(len([n for n in names if n.endswith(".ctl")]), 4, "the old control files are still there")
    sock = os.path.join(gw.state, "control.sock")
    lst = json.loads(gw.cli("queue", "list", "--json", "--socket", sock).stdout)
    c.eq(lst.get("count"), 6, "queue list shows old and new messages")
    c.eq(lst.get("unreadable", []), [], "nothing unreadable")
    oldest = sorted(m["id"] for m in lst.get("messages", []))[0]
    show = gw.cli("queue", "show", oldest, "--body", "--socket", sock).stdout
    c.ok("token old0" in show, f"queue show --body of a split-format message: {show[-200:]!r}")
    gw.cli("queue", "run", "--socket", sock)
    deadline = time.time() + 60
    while time.time() < deadline and gw.messages():
        time.sleep(0.2)
    c.eq(gw.messages(), {}, "the sender's queue is empty after the run")
    got = {}
    for qid, (ctl, data) in recv.messages().items():
        for t in old + new:
            if f"token {t}\r\n".encode() in data:
                got[t] = data
    c.eq(sorted(got), sorted(old + new), "every message, old and new format, was delivered")
    c.ok(all(got[t].endswith(body(t).split("\r\n\r\n", 1)[1].encode()) for t in got),
         "delivered intact")
    c.eq(sorted(os.listdir(d)), [], "no file of either format left in messages/")
    c.eq(gw.stop(), 0, "single-format server stopped")
finally:
    if gw:
        gw.cleanup()
    recv.cleanup()
c.done()
