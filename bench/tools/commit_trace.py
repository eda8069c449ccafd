#!/usr/bin/env python3
"""commit_trace.py: where the time between the end of DATA and the 250 goes, per step.

Reads the "T <qid> t0 .. t7" lines (microseconds) that a server built with
bench/tools/commit_trace.patch prints on stderr, one per message committed in format B:
  t0 the session hands the message to the queue    t1 a writer thread takes it
  t2 the file is renamed into messages/            t3 the file's fsync returned
  t4 the directory syncer starts its fsync         t5 the directory's fsync returned
  t6 the commit callback runs                      t7 the session resumes (sends the 250)
Prints p50/p90/p99/max of each step, then the mean of each step over the slowest 1 %
of messages (by t7 - t0), which says what the tail is made of.

Recipe (docs/benchmarks.md, "The tail at 20 sessions"):
  git apply bench/tools/commit_trace.patch && cmake --build build --target mxguard
  taskset -c 0 build/mxguard serve --config C.toml 2> trace.txt &
  taskset -c 1 build/bench/smtp_latency 127.0.0.1 PORT 20 8000 1024
  python3 bench/tools/commit_trace.py trace.txt;  git apply -R bench/tools/commit_trace.patch
"""
import sys

STEPS = [
    ("queue hand-over (t1-t0)", lambda t: t[1] - t[0]),
    ("write tail + rename (t2-t1)", lambda t: t[2] - t[1]),
    ("file fsync (t3-t2)", lambda t: t[3] - t[2]),
    ("dir fsync starts after rename (t4-t2)", lambda t: t[4] - t[2]),
    ("dir fsync (t5-t4)", lambda t: t[5] - t[4]),
    ("callback after last fsync", lambda t: t[6] - max(t[3], t[5])),
    ("back on the event loop (t7-t6)", lambda t: t[7] - t[6]),
    ("total (t7-t0)", lambda t: t[7] - t[0]),
]


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))]


def main(path):
    rows = []
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) != 10 or parts[0] != "T":
                continue
            t = [int(x) for x in parts[2:]]
            if 0 not in t:  # a message without every mark (fsync off, a failure) is skipped
                rows.append(t)
    if not rows:
        sys.exit(f"{path}: no complete trace lines")
    print(f"{len(rows)} messages (microseconds)")
    print(f"{'step':40s} {'p50':>7s} {'p90':>7s} {'p99':>7s} {'max':>7s}")
    for name, fn in STEPS:
        v = [fn(t) for t in rows]
        print(f"{name:40s} {pct(v, .5):7d} {pct(v, .9):7d} {pct(v, .99):7d} {max(v):7d}")
    slow = sorted(rows, key=lambda t: t[7] - t[0])[-max(1, len(rows) // 100):]
    print(f"slowest 1 % ({len(slow)} messages), mean of each step:")
    for name, fn in STEPS:
        v = [fn(t) for t in slow]
        print(f"  {name:38s} {sum(v) / len(v):8.0f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: commit_trace.py TRACE_FILE")
    main(sys.argv[1])
