#!/usr/bin/python3
"""spf_side_by_side_compare.py: reads the outputs of the three SPF implementations
run by bench/spf_side_by_side.sh, extracts one result token per query, and prints the
throughput table (markdown) and the mismatches.
Usage: compare.py QUERIES N_QUERIES name=seconds:outfile:format ...
format: mxguard (first token of each --batch line), pyspf (one token per line),
libspf2 (spfquery -file blocks: optional StartError..EndError, the result line, 3 more)."""
import sys

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


def main():
    queries = open(sys.argv[1]).read().splitlines()
    n = int(sys.argv[2])
    runs = []
    for spec in sys.argv[3:]:
        name, rest = spec.split("=", 1)
        secs, path, fmt = rest.split(":")
        runs.append((name, float(secs), parse(path, fmt)))
    base = runs[0]
    print("| implementation | queries | seconds | queries/s | mxguard speed-up |")
    print("|---|---:|---:|---:|---:|")
    for name, secs, res in runs:
        qps = n / secs if secs > 0 else 0
        ratio = (n / base[1]) / qps if qps else 0
        print("| %s | %d | %.2f | %.0f | %s |" % (name, n, secs, qps,
              "1.0x" if name == base[0] else "%.1fx" % ratio))
    print()
    counts = {}
    for r in base[2]:
        counts[r] = counts.get(r, 0) + 1
    print("Results (%s): %s" % (base[0], ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    for name, _secs, res in runs[1:]:
        if len(res) != n:
            print("%s: %d results for %d queries (output format?)" % (name, len(res), n))
        mism = [(i, base[2][i] if i < len(base[2]) else "-", res[i] if i < len(res) else "-")
                for i in range(n) if (base[2][i] if i < len(base[2]) else "-") != (res[i] if i < len(res) else "-")]
        print("%s vs %s: %d mismatches of %d" % (base[0], name, len(mism), n))
        for i, a, b in mism[:10]:
            print("  line %d: %s -> %s %s, %s %s" % (i + 1, queries[i], base[0], a, name, b))


main()
