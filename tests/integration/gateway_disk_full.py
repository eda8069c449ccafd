#!/usr/bin/env python3
"""gateway_disk_full.py: a really full file system under the queue (issue 3 section 4,
issue 13 section 2). The queue directory is a 2 MB tmpfs (mount needs root: exit 77,
skipped, without it). Clients send 40 KB messages without SIZE (so nothing is refused
at MAIL) until the disk is full: every message is answered either 250 or 4yz, never
5yz and never 250 without being there; once full, the server answers 452 4.3.1 (RFC
3463: mail system full). Every message answered 250 is in the queue intact (either
queue format: $MXG_QUEUE_FORMAT, else the default; each format's files are checked by
its own commit rule), no half-written file is visible in messages/, and
after a restart on the full disk the start-up scan keeps every one of them. Bounded:
at most 100 messages."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker, parse_msg_file  # noqa: E402

c = Checker()
gw = Gateway(mode="hold")
qroot = os.path.join(gw.state, "queue")
os.makedirs(qroot, exist_ok=True)
r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", qroot],
                   capture_output=True, text=True)
if r.returncode != 0:
    print(f"SKIP: cannot mount a tmpfs ({r.stderr.strip()}): needs root")
    gw.cleanup()
    sys.exit(77)


def body(i):
    line = f"token m{i:03d} " + "x" * 60 + "\r\n"
    return f"Subject: full {i}\r\n\r\n" + line * 520  # ~40 KB


try:
    gw.start()
    accepted, refused = {}, []
    cl = Client(gw.port)
    cl.reply()
    cl.cmd("EHLO full.test")
    for i in range(100):
        code, text = cl.cmd("MAIL FROM:<s@full.test>")
        if code != 250:
            refused.append((i, "MAIL", code, text))
            break
        cl.cmd("RCPT TO:<u@local.test>")
        code, text = cl.cmd("DATA")
        if code != 354:
            refused.append((i, "DATA", code, text))
            cl.cmd("RSET")
            continue
        cl.send(body(i) + ".\r\n")
        code, text = cl.reply()
        if code == 250:
            accepted[i] = body(i)
        else:
            refused.append((i, "end of DATA", code, text))
            if len(refused) >= 3:
                break
    cl.cmd("QUIT")
    cl.close()
    print(f"{len(accepted)} accepted, refused: {[(i, w, code) for i, w, code, _ in refused]}")
    c.ok(len(accepted) >= 5, f"some messages fit before the disk is full ({len(accepted)})")
    c.ok(refused, "the disk filled up: some messages refused")
    c.eq([x for x in refused if not 400 <= x[2] < 500], [], "every refusal is 4yz, never 5yz")
    c.ok(any(x[2] == 452 and "4.3.1" in x[3] for x in refused),
         f"a full disk is 452 4.3.1 (RFC 3463 3.4): {[x[3] for x in refused]}")

    def check_queue(when):
        msgs = gw.messages()
        found = {}
        for qid, (_ctl, data) in msgs.items():
            m = re.search(rb"token m(\d{3}) ", data)
            if m:
                found[int(m.group(1))] = data
        c.eq(sorted(set(accepted) - set(found)), [], f"{when}: every message answered 250 is there")
        c.eq([i for i in accepted if i in found and not found[i].endswith(accepted[i].encode())],
             [], f"{when}: intact")
        c.eq(sorted(set(found) - set(accepted)), [], f"{when}: no refused message is visible")
        d = os.path.join(gw.queue, "messages")
        half = []
        for n in os.listdir(d):
            p = os.path.join(d, n)
            if n.endswith(".msg"):
                with open(p, "rb") as f:
                    if parse_msg_file(f.read()) is None:
                        half.append(n)
            elif n.endswith(".ctl"):
                with open(p, errors="replace") as f:
                    if not f.read().endswith(f"end: {n[:-4]}\n"):
                        half.append(n)
            elif n.endswith(".data") and not os.path.exists(p[:-5] + ".ctl"):
                half.append(n)
        c.eq(half, [], f"{when}: nothing half-written in messages/")
        want_ext = ".msg" if gw.queue_format == "single" else ".ctl"
        c.ok(any(n.endswith(want_ext) for n in os.listdir(d)),
             f"{when}: the queue holds {want_ext} files (format {gw.queue_format})")

    check_queue("full disk")
    gw.kill9()
    gw.start()  # recovery on the still full disk
    check_queue("after kill -9 and restart")
    c.eq(os.listdir(os.path.join(gw.queue, "corrupt")), [], "nothing moved to corrupt/")
    c.eq(gw.stop(), 0, "SIGTERM: exit 0")
finally:
    gw.stop()
    subprocess.run(["umount", qroot], capture_output=True)
    gw.cleanup()
c.done()
