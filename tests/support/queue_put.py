#!/usr/bin/env python3
"""queue_put.py: puts one committed message into a queue directory by hand, for the
shell tests (tests/integration/*.sh), in either documented format (docs/queue.md
"Queue formats"): split (.data + .ctl) or single (.msg); default: $MXG_QUEUE_FORMAT,
else the server's default (mxg_gateway_harness.DEFAULT_QUEUE_FORMAT).

  queue_put.py QUEUE_DIR ID DATA_FILE [split|single] <CONTROL_TEXT
CONTROL_TEXT is the envelope (src/queue/envelope.hpp) with its "end: ID" line; its
`size` must be DATA_FILE's size. Prints the names of the files written.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mxg_gateway_harness import queue_message_files, write_queue_message  # noqa: E402

if len(sys.argv) not in (4, 5):
    sys.exit("usage: queue_put.py QUEUE_DIR ID DATA_FILE [split|single] <CONTROL_TEXT")
qdir, qid, data_file = sys.argv[1:4]
with open(data_file, "rb") as f:
    data = f.read()
write_queue_message(qdir, qid, sys.stdin.buffer.read(), data,
                    sys.argv[4] if len(sys.argv) > 4 else None)
print(" ".join(queue_message_files(qdir, qid)))
