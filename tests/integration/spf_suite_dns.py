#!/usr/bin/env python3
"""spf_suite_dns.py: the openspf conformance suites (../shared/conformance/spf, untouched)
through a real DNS server and the c-ares path (issue 15 section 1).

conformance.spf_suite runs the same suites against the evaluator over an in-memory zone;
this runs every test as `mxguard spf check --dns 127.0.0.1:PORT --json` against
tests/support/spf_dns_server.py, a small authoritative UDP+TCP server that serves each
scenario's zonedata with the rules of SOURCE.md (TIMEOUT = no answer, NXDOMAIN vs no data,
TXT with several or no character-strings, type 99 SPF records copied to TXT, CNAMEs,
truncation to TCP). So the wire path (query encoding through c-ares, response decoding in
src/dns/wire.cpp) is held to the same figures:
  rfc7208-tests.yml  203 of 203 (no skip allowed)
  rfc4408-tests.yml  191 of 191
  pyspf-test.yml     all but the skips of tests/conformance/spf-skips.txt
Judging is the one of tests/conformance/spf_suite.cpp (SOURCE.md "Judging"): the exact
result or any item of a list; the explanation, when given, exactly (v-macro-ip6
case-insensitively, see spf_suite.cpp), with --default-explanation DEFAULT.
A test fails too if the server was never asked (a harness that cannot fail is a defect).

Informational: when python3-spf (pyspf) is installed, it is run through the same server
and its figures printed; they do not decide the outcome.

Environment: MXGUARD (binary), MXG_SOURCE_DIR, MXG_SHARED_DIR. Options: -v (every test),
-k SUBSTRING (only test ids containing it), --no-pyspf.
Runtime: about one mxguard process per test (410), 200 ms per TIMEOUT test.
"""
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

SRC = os.environ.get("MXG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from spf_dns_server import SpfDnsServer  # noqa: E402

try:
    import yaml
except ImportError:
    print("python3-yaml missing: skipped")
    sys.exit(77)

MXGUARD = os.environ.get("MXGUARD")
if not MXGUARD:
    print("MXGUARD must point to the mxguard binary")
    sys.exit(2)
SHARED = os.environ.get("MXG_SHARED_DIR", os.path.join(SRC, "..", "shared"))
SUITE_DIR = os.path.join(SHARED, "conformance", "spf")
FILES = ["rfc7208-tests.yml", "rfc4408-tests.yml", "pyspf-test.yml"]
MUST_PASS = {"rfc7208-tests.yml": 203, "rfc4408-tests.yml": 191}
# One try: a TIMEOUT entry costs this much per query (16 such entries). 200 ms was too
# short for the Python server on a loaded 2-core machine (answers late -> false temperror).
DNS_TIMEOUT_MS = 1500
WORKERS = 4           # mxguard processes at once (they mostly wait on the server)

verbose = "-v" in sys.argv
only = sys.argv[sys.argv.index("-k") + 1] if "-k" in sys.argv else None
want_pyspf = "--no-pyspf" not in sys.argv


def load_skips():
    skips = {}
    with open(os.path.join(SRC, "tests", "conformance", "spf-skips.txt")) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) >= 2:
                skips[(parts[0], parts[1])] = parts[2].strip() if len(parts) > 2 else ""
    return skips


def wanted(tc):
    r = tc["result"]
    return set(r) if isinstance(r, list) else {r}


def judge(test_id, tc, got, explanation):
    if got not in wanted(tc):
        return "result " + str(got)
    if "explanation" in tc:
        exp = tc["explanation"]
        same = (exp.lower() == explanation.lower()) if test_id == "v-macro-ip6" \
            else exp == explanation
        if not same:
            return "explanation %r, expected %r" % (explanation, exp)
    return None


def run_mxguard(port, tc):
    args = [MXGUARD, "spf", "check", "--dns", "127.0.0.1:%d" % port,
            "--dns-timeout", str(DNS_TIMEOUT_MS), "--dns-tries", "1",
            "--receiver", "receiver.example", "--default-explanation", "DEFAULT", "--json",
            "--ip", str(tc["host"]), "--sender", str(tc.get("mailfrom", "")),
            "--helo", str(tc.get("helo", ""))]
    p = subprocess.run(args, capture_output=True, timeout=60)
    try:
        j = json.loads(p.stdout.decode("utf-8", "replace"))
    except ValueError:
        return None, "", "exit %d, no JSON: %s" % (p.returncode,
                                                  p.stderr.decode("utf-8", "replace")[-300:])
    return j.get("result"), j.get("explanation", ""), j.get("problem", "")


def pyspf_module(port):
    try:
        import spf
    except ImportError:
        return None
    # pyspf asks DNS through dnspython when it is installed, else through pydns.
    try:
        import DNS
        DNS.defaults["server"] = ["127.0.0.1"]
        DNS.defaults["port"] = port
    except ImportError:
        pass
    try:
        import dns.resolver
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = port
        dns.resolver.default_resolver = r
    except ImportError:
        pass
    return spf


def run_pyspf(spf, tc):
    q = spf.query(i=str(tc["host"]), s=str(tc.get("mailfrom", "")), h=str(tc.get("helo", "")),
                  strict=tc.get("strict", True), timeout=1)
    q.set_default_explanation("DEFAULT")
    res, _, exp = q.check()
    return {"unknown": "permerror", "error": "temperror"}.get(res, res), exp


def main():
    skips = load_skips()
    srv = SpfDnsServer().start()
    spf = pyspf_module(srv.port) if want_pyspf else None
    counts = {}
    py_counts = {}
    failures = []
    started = time.monotonic()
    try:
        for fname in FILES:
            c = counts.setdefault(fname, {"total": 0, "passed": 0, "skipped": 0, "failed": 0})
            pc = py_counts.setdefault(fname, {"total": 0, "passed": 0, "failed": []})
            with open(os.path.join(SUITE_DIR, fname), "rb") as f:
                docs = [d for d in yaml.safe_load_all(f) if d and d.get("tests")]
            for doc in docs:
                srv.set_zonedata(doc.get("zonedata"))
                tests = [(tid, tc) for tid, tc in doc["tests"].items()
                         if only is None or only in tid]
                run = []
                for tid, tc in tests:
                    c["total"] += 1
                    if (fname, tid) in skips:
                        c["skipped"] += 1
                        if verbose:
                            print("  skip %s:%s (%s)" % (fname, tid, skips[(fname, tid)]))
                        continue
                    run.append((tid, tc))
                asked_before = srv.queries
                with ThreadPoolExecutor(WORKERS) as pool:
                    outs = list(pool.map(lambda t: run_mxguard(srv.port, t[1]), run))
                if run and srv.queries == asked_before:
                    failures.append("%s: scenario %r: the DNS server was never asked"
                                    % (fname, doc.get("description")))
                for (tid, tc), (got, exp, problem) in zip(run, outs):
                    why = judge(tid, tc, got, exp) if got is not None else problem
                    if why is None:
                        c["passed"] += 1
                        if verbose:
                            print("  ok   %s:%s %s" % (fname, tid, got))
                    else:
                        c["failed"] += 1
                        failures.append("FAIL %s:%s: %s (want %s) problem=%s" % (
                            fname, tid, why, "|".join(sorted(wanted(tc))), problem))
                if spf is not None:
                    for tid, tc in tests:
                        pc["total"] += 1
                        try:
                            got, exp = run_pyspf(spf, tc)
                            why = judge(tid, tc, got, exp or "")
                        except Exception as e:  # informational only
                            why = "exception %r" % e
                        if why is None:
                            pc["passed"] += 1
                        else:
                            pc["failed"].append("%s (%s)" % (tid, why))
    finally:
        srv.stop()

    for line in failures:
        print(line)
    status = 0 if not failures else 1
    print("SPF conformance through DNS (127.0.0.1:%d, c-ares, mxguard spf check --dns):"
          % srv.port)
    for fname in FILES:
        c = counts[fname]
        line = "  %-18s passed %3d of %3d" % (fname, c["passed"], c["total"])
        if c["skipped"]:
            line += ", %d skipped (tests/conformance/spf-skips.txt)" % c["skipped"]
        if c["failed"]:
            line += ", %d FAILED" % c["failed"]
        print(line)
        need = MUST_PASS.get(fname)
        if only is None and need is not None and (c["passed"] != need or c["total"] != need):
            print("  %s: %d of %d passed; all %d must pass" % (fname, c["passed"], need, need))
            status = 1
    if spf is not None:
        print("pyspf %s (%s) through the same server (informational):"
              % (getattr(spf, "__version__", "?"), spf.DNSLookup.__name__))
        for fname in FILES:
            pc = py_counts[fname]
            print("  %-18s passed %3d of %3d%s" % (
                fname, pc["passed"], pc["total"],
                (": not " + ", ".join(pc["failed"])) if pc["failed"] else ""))
    else:
        print("pyspf (python3-spf) not run" + ("" if want_pyspf else " (--no-pyspf)"))
    print("%.1f s" % (time.monotonic() - started))
    print("SPF conformance through DNS: " + ("OK" if status == 0 else "FAILED"))
    return status


if __name__ == "__main__":
    sys.exit(main())
