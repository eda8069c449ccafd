#!/usr/bin/python3
"""spf_side_by_side_compare.py: reads the outputs of the three SPF implementations
run by bench/spf_side_by_side.sh, extracts one result token per query, and prints the
throughput table (markdown) and the mismatches.
Usage: compare.py QUERIES N_QUERIES name=wall,cpu:outfile:format ...
       compare.py --time RUNS OUTFILE CMD...   (best-of-RUNS wall and its CPU seconds)
format: mxguard (first token of each --batch line), pyspf (one token per line),
libspf2 (spfquery -file blocks: optional StartError..EndError, the result line, 3 more)."""
import resource
import subprocess
import sys
import time

TOKENS = {"pass", "fail", "softfail", "neutral", "none", "permerror", "temperror"}
# libspf2's spfquery prints "(invalid)" when a record does not compile ("Unknown mechanism
# found near ...", "Failed to compile SPF record"): RFC 7208 4.6 calls that permerror.
LIBSPF2_MAP = {"(invalid)": "permerror", "error": "temperror", "unknown": "permerror"}


def parse(path, fmt):
    lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    if fmt in ("mxguard", "pyspf"):
        return [l.split()[0] if l.split() else "" for l in lines]
    out, i = [], 0
    while i < len(lines):
        l = lines[i].strip()
        if l == "StartError":
            while i < len(lines) and lines[i].strip() != "EndError":
                i += 1
            i += 1
            continue
        if l in TOKENS or l in LIBSPF2_MAP:
            out.append(LIBSPF2_MAP.get(l, l))
            i += 4
            continue
        i += 1
    return out


def time_cmd(runs, outfile, cmd):
    best = None
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        with open(outfile, "w") as out:
            subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if best is None or wall < best[0]:
            best = (wall, cpu)
    print("%.4f,%.4f" % best)


def main():
    if sys.argv[1] == "--time":
        return time_cmd(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
    queries = open(sys.argv[1]).read().splitlines()
    n = int(sys.argv[2])
    runs = []
    for spec in sys.argv[3:]:
        name, rest = spec.split("=", 1)
        secs, path, fmt = rest.split(":")
        wall, cpu = (float(x) for x in secs.split(","))
        runs.append((name, (wall, cpu), parse(path, fmt)))
    base = runs[0]
    print("| implementation | queries | wall s | queries/s (wall) | CPU s | queries per CPU-s |"
          " mxguard ratio (wall) | mxguard ratio (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (wall, cpu), res in runs:
        rw = wall / base[1][0] if base[1][0] else 0
        rc = cpu / base[1][1] if base[1][1] else 0
        print("| %s | %d | %.3f | %.0f | %.3f | %.0f | %.2fx | %.2fx |" % (
            name, n, wall, n / wall if wall else 0, cpu, n / cpu if cpu else 0, rw, rc))
    print()
    counts = {}
    for r in base[2]:
        counts[r] = counts.get(r, 0) + 1
    print("Results (%s): %s" % (base[0], ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    for name, _t, res in runs[1:]:
        if len(res) != n:
            print("%s: %d results for %d queries (output format?)" % (name, len(res), n))
        mism = [(i, base[2][i] if i < len(base[2]) else "-", res[i] if i < len(res) else "-")
                for i in range(n) if (base[2][i] if i < len(base[2]) else "-") != (res[i] if i < len(res) else "-")]
        print("%s vs %s: %d mismatches of %d" % (base[0], name, len(mism), n))
        for i, a, b in mism[:10]:
            print("  line %d: %s -> %s %s, %s %s" % (i + 1, queries[i], base[0], a, name, b))


main()
