#!/usr/bin/env python3
"""gateway_queue_scale.py: `mxguard queue` online at scale (issue 16 items 4 and 5).

A server with three listeners: `test` and `third` share one queue, `second` has its
own. A few thousand held messages are written into both queues before it starts
(tests/support/queue_fill.py, the documented file formats): the shared queue in the
format the server writes ($MXG_QUEUE_FORMAT, else its default), the second queue in the
other one, so every run lists and changes messages of both formats. Checks:
  1. online `queue list` (text and --json) covers every listener's queue, each
     message once (the shared queue is not listed twice), and prints exactly what
     the offline mode prints;
  2. the listing is streamed: the first piece reaches a control client that then stops
     reading, and while that listing is unfinished an SMTP client gets its greeting
     (ordering of events, no timing);
  3. show / hold / release / delete / run of a message in the second listener's queue
     work online.
"""
import json
import os
import re
import socket
import sys

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import (  # noqa: E402
    Gateway, Client, Checker, free_port, other_queue_format, queue_message,
    queue_message_files, wait_for)
from queue_fill import fill  # noqa: E402

PER_QUEUE = 1500
c = Checker()
port2, port3 = free_port(), free_port()
gw = Gateway(mode="hold")
q1 = gw.queue
q2 = os.path.join(gw.state, "queue", "second")
with open(gw.config, "a") as f:  # [listener.test] is the file's last section
    f.write(f'\n[listener.second]\naddress = "127.0.0.1:{port2}"\ndelivery_mode = "hold"\n'
            f'queue_dir = "{q2}"\n'
            f'\n[listener.third]\naddress = "127.0.0.1:{port3}"\ndelivery_mode = "hold"\n'
            f'queue_dir = "{q1}"\n')

ids1 = fill(q1, PER_QUEUE, "test", fmt=gw.queue_format)
ids2 = fill(q2, PER_QUEUE, "second", start_micros=int(ids1[-1][:13], 16) + 1,
            fmt=other_queue_format(gw.queue_format))
all_ids = set(ids1) | set(ids2)


def mx(*args):
    return gw.cli("queue", "--socket", sock, *args, check=False)


def offline(*args):
    return gw.cli("queue", "--offline", "--queue-dir", os.path.join(gw.state, "queue"), *args,
                  check=False)


def read_frame(s, buf):
    """One answer line of the control socket: (json, rest of the buffer)."""
    while b"\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("control socket closed")
        buf += chunk
    line, buf = buf.split(b"\n", 1)
    return json.loads(line), buf


try:
    gw.start()
    sock = os.path.join(gw.state, "control.sock")
    c.ok(wait_for(lambda: os.path.exists(sock), "control socket"), "control socket exists")

    # --- 1. every listener's queue, once, same as offline
    on = mx("--json", "list")
    off = offline("--json", "list")
    c.eq(on.returncode, 0, "online list --json exit")
    c.eq(off.returncode, 0, "offline list --json exit")
    try:
        j = json.loads(on.stdout)
    except ValueError:
        j = {"messages": [], "count": -1}
    got = [m["id"] for m in j["messages"]]
    c.eq(j.get("count"), 2 * PER_QUEUE, "online list counts both queues")
    c.eq(len(got), len(set(got)), "no message listed twice (shared queue once)")
    c.ok(set(got) == all_ids, "online list holds exactly the messages of both queues")
    c.eq(sorted({m["queue"] for m in j["messages"]}),
         sorted([os.path.realpath(q1), os.path.realpath(q2)]), "queue paths of the messages")
    c.ok(on.stdout == off.stdout, "online --json output == offline --json output")
    on = mx("list")
    off = offline("list")
    c.eq(on.returncode, 0, "online list exit")
    c.ok(on.stdout == off.stdout, "online text output == offline text output")
    c.eq(len(re.findall(r"^queue .*:$", on.stdout, re.M)), 2, "two queue headers")
    c.eq(on.stdout.count(f"-- {PER_QUEUE} messages\n"), 2, "one summary per queue")

    # --- 2. streamed: a greeting is served while a listing is unfinished
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.settimeout(15)
    ctl.connect(sock)
    ctl.sendall(json.dumps({"cmd": "list", "json": True, "args": []}).encode() + b"\n")
    first, buf = read_frame(ctl, b"")
    c.ok("exit" not in first and first.get("output", "").startswith("{"),
         "the first piece of the listing arrives before its end")
    # This client reads nothing more for now: the server's listing is stuck mid-way
    # (more than a socket buffer of JSON is left), yet SMTP is served.
    cl = Client(gw.port)
    code, _ = cl.reply()
    c.eq(code, 220, "greeting while the listing is unfinished")
    c.eq(cl.cmd("ehlo ops.test")[0], 250, "EHLO answered while the listing is unfinished")
    cl.cmd("quit")
    cl.close()
    pieces, text, last = 1, first["output"], None
    while True:
        fr, buf = read_frame(ctl, buf)
        text += fr.get("output", "")
        if "exit" in fr:
            last = fr
            break
        pieces += 1
    ctl.close()
    c.ok(pieces > 1, f"the listing came in several pieces ({pieces})")
    c.eq(last and last["exit"], 0, "the listing ends with exit 0")
    c.eq(json.loads(text)["count"], 2 * PER_QUEUE, "the streamed listing is whole")
    c.ok(wait_for(lambda: re.search(r"queue list via=control-socket messages=3000 unreadable=0",
                                    gw.log_text()), "log line"),
         "the server logs the listing")

    # --- 3. one message of the second listener's queue, online
    m = ids2[7]
    r = mx("show", m)
    c.eq(r.returncode, 0, f"online show of a second-queue message: {r.stderr!r}")
    c.ok(re.search(r"^listener: +second$", r.stdout, re.M) is not None, "show: its envelope")
    c.ok(f"queue:        {os.path.realpath(q2)}\n" in r.stdout, "show names its queue")
    r_off = offline("show", m)
    c.ok(r.stdout == r_off.stdout, "online show == offline show")
    r = mx("--json", "show", m)
    c.ok(r.returncode == 0 and json.loads(r.stdout)["queue"] == os.path.realpath(q2),
         "online show --json names its queue")
    c.ok(queue_message(q2, m) is not None, f"{m} is in the second queue's files")
    r = mx("hold", m)
    c.ok(r.returncode == 0 and f"{m}: held" in r.stdout, f"online hold: {r.stdout!r} {r.stderr!r}")
    c.ok("\nmode: hold\n" in (queue_message(q2, m) or ("",))[0], "the envelope says hold")
    # release hands the message to delivery at once (it may leave the queue): the
    # answer and the server's log say it was released in the second queue.
    r = mx("release", m)
    c.ok(r.returncode == 0 and f"{m}: released" in r.stdout,
         f"online release: {r.stdout!r} {r.stderr!r}")
    c.ok(wait_for(lambda: f"release qid={m} via=control-socket" in gw.log_text(), "log"),
         "the server logs the release")
    r = mx("run", ids2[8])
    c.eq(r.returncode, 0, f"online run of a second-queue message: {r.stderr!r}")
    c.ok(f"{ids2[8]} skipped: held" in r.stdout,
         f"run found it in the second queue (a held message stays): {r.stdout!r}")
    d = ids2[9]
    r = mx("delete", d)
    c.ok(r.returncode == 0 and queue_message_files(q2, d) == [],
         f"online delete of a second-queue message: {r.stderr!r}")
    r = mx("--listener", "second", "list")
    c.ok(r.returncode == 0 and f"-- {PER_QUEUE - 1} messages" in r.stdout
         and ids1[0] not in r.stdout and "queue " not in r.stdout.split("\n")[0],
         "--listener second lists that queue only")
    r = mx("show", "00661A2B3C4D5A3F9D")
    c.eq(r.returncode, 1, "online show of an unknown id: exit 1")
finally:
    gw.cleanup()
c.done()
