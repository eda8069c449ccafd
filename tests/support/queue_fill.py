#!/usr/bin/env python3
"""queue_fill.py: writes N small held messages straight into a queue directory in the
documented format (docs/queue.md "Queue formats", src/queue/envelope.hpp): split
(.data + .ctl) or single (.msg); default: $MXG_QUEUE_FORMAT, else the server's default
(mxg_gateway_harness.DEFAULT_QUEUE_FORMAT). Fast: for tests and benchmarks of
`mxguard queue` at scale (issue 16 items 4 and 5). Ids are consecutive microseconds
from a start time, with one node part per call, so they sort in the order written and
never collide with the server's own.

  python3 queue_fill.py QUEUE_DIR N [LISTENER [FORMAT]]     prints the number written
As a module: fill(qdir, n, listener="test", fmt=None) -> [ids]
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mxg_gateway_harness import current_queue_format, write_queue_message  # noqa: E402


def fill(qdir, n, listener="test", start_micros=None, sender="bench@bench.test", fmt=None):
    fmt = current_queue_format(fmt)
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
        write_queue_message(qdir, qid, ctl, data, fmt)
        ids.append(qid)
    return ids


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: queue_fill.py QUEUE_DIR N [LISTENER [split|single]]")
    got = fill(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "test",
               fmt=sys.argv[4] if len(sys.argv) > 4 else None)
    print(len(got))
