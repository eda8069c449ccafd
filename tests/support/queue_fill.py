#!/usr/bin/env python3
"""queue_fill.py: writes N small held messages straight into a queue directory, as
control + data files in the documented format (docs/queue.md, src/queue/envelope.hpp),
fast: for tests and benchmarks of `mxguard queue` at scale (issue 16 items 4 and 5).
Ids are consecutive microseconds from a start time, with one node part per call, so
they sort in the order written and never collide with the server's own.

  python3 queue_fill.py QUEUE_DIR N [LISTENER]     prints the number written
As a module: fill(qdir, n, listener="test") -> [ids]
"""
import os
import random
import sys
import time


def fill(qdir, n, listener="test", start_micros=None, sender="bench@bench.test"):
    msgs = os.path.join(qdir, "messages")
    os.makedirs(msgs, exist_ok=True)
    for sub in ("tmp", "corrupt"):
        os.makedirs(os.path.join(qdir, sub), exist_ok=True)
    base = start_micros if start_micros is not None else int(time.time() * 1e6) - n - 10**6
    node = random.randrange(16 ** 5)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base / 1e6))
    ids = []
    for i in range(n):
        qid = "%013X%05X" % (base + i, node)
        data = ("Received: from bench (localhost [127.0.0.1])\r\n\tby mxguard; bench\r\n"
                "From: <%s>\r\nSubject: queued %d\r\nMessage-ID: <%s@bench>\r\n\r\nsmall body\r\n"
                % (sender, i, qid)).encode()
        ctl = ("mxguard-queue: 1\nid: %s\ncreated: %s\nsender: %s\n"
               "recipient: pending user%d@local.test\n"
               "client-ip: 127.0.0.1\nclient-name:\nhelo: bench\nlistener: %s\nsession:\n"
               "mode: hold\nattempts: 0\nnext-attempt:\nsize: %d\nbody: 7bit\nsmtputf8: no\n"
               "end: %s\n" % (qid, created, sender, i % 1000, listener, len(data), qid)).encode()
        stem = os.path.join(msgs, qid)
        fd = os.open(stem + ".data", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.close(fd)
        fd = os.open(stem + ".ctl", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, ctl)
        os.close(fd)
        ids.append(qid)
    return ids


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: queue_fill.py QUEUE_DIR N [LISTENER]")
    got = fill(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "test")
    print(len(got))
