#!/usr/bin/python3
"""ndr_report_probe.py: `mxguard ndr report --probe` (issue 12 section 3), in the style of
ndr_report.sh: the two forged bounces of tests/data/backscatter with the abused site's
address replaced by 127.0.0.1, where mxguard's own gateway (hostname mx.test) plays the
abused site's server. Expects the source abused.test probed (banner, EHLO, rDNS from the
zone, no STARTTLS offered), no relay tests unless --relay-tests, the findings in the JSON
output, the text output and the draft abuse report; --relay-tests without --probe is a
usage error (2). Loopback only; every wait bounded.
"""
import json
import os
import subprocess
import sys
import tempfile
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MXG_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from mxg_gateway_harness import Checker, Gateway  # noqa: E402

MXGUARD = os.environ.get("MXGUARD")
if not MXGUARD or not os.access(MXGUARD, os.X_OK):
    print("SKIP: MXGUARD does not point to the mxguard binary")
    sys.exit(77)
DATA = os.path.join(SRC, "tests", "data", "backscatter")


def report(*args):
    r = subprocess.run([MXGUARD, "ndr", "report", *args], capture_output=True, text=True,
                       timeout=300)
    return r.returncode, r.stdout, r.stderr


def main():
    c = Checker()
    tmp = tempfile.mkdtemp(prefix="mxg-ndr-probe-")
    try:
        bounces = []
        for name in ("forged-1.eml", "forged-2.eml"):
            with open(os.path.join(DATA, name), errors="surrogateescape") as f:
                text = f.read().replace("198.51.100.7", "127.0.0.1").replace("198.51.100.8",
                                                                            "127.0.0.1")
            path = os.path.join(tmp, name)
            with open(path, "w", errors="surrogateescape") as f:
                f.write(text)
            bounces.append(path)
        zone = os.path.join(tmp, "zone.txt")
        with open(os.path.join(DATA, "zone.txt")) as f:
            z = f.read()
        with open(zone, "w") as f:
            f.write(z + "1.0.0.127.in-addr.arpa. PTR mx.test.\nmx.test. A 127.0.0.1\n")

        with Gateway() as gw:
            drafts = os.path.join(tmp, "drafts")
            common = [*bounces, "--our-domains", "our.test", "--zone", zone, "--probe",
                      "--probe-port", str(gw.port), "--probe-timeout", "10"]
            rc, out, err = report(*common, "--json", "--draft-reports", drafts)
            c.eq(rc, 0, f"ndr report --probe: exit 0 {err.strip()}")
            src = json.loads(out)["sources"]
            c.ok(len(src) == 1 and src[0]["source"] == "abused.test", "one source, abused.test")
            p = src[0].get("probe", {})
            h = (p.get("hosts") or [{}])[0]
            c.eq(p.get("target"), "127.0.0.1", "the address that accepted the forged mail")
            c.eq(h.get("banner_name"), "mx.test", "banner probed")
            c.eq(h.get("rdns", {}).get("confirmed"), "mx.test", "rDNS forward-confirmed")
            c.eq(h.get("starttls", {}).get("offered"), False, "TLS state reported")
            c.eq(h.get("relay_tests"), [], "no relay tests without --relay-tests")
            files = os.listdir(drafts) if os.path.isdir(drafts) else []
            c.eq(len(files), 1, "one draft")
            d = ""
            if files:  # newline="": keep the CRLFs to check them
                with open(os.path.join(drafts, files[0]), errors="replace", newline="") as f:
                    d = f.read()
            c.ok("What we see of the source (mxguard probe, 127.0.0.1" in d, "draft: probe section")
            c.ok("  banner:  220 mx.test" in d, "draft: banner")
            c.ok("rDNS:    mx.test (forward-confirmed)" in d, "draft: rDNS")
            c.ok("TLS:     STARTTLS not offered" in d, "draft: TLS")
            c.ok("\r\n  host " in d and "\n" not in d.replace("\r\n", ""),
                 "draft: CRLF line ends only (the probe section too)")
            c.ok(d.index("What we see") < d.index("Thank you,"), "probe section before closing")

            # Relay tests on request; the text form carries the probe lines too.
            rc, out, err = report(*common, "--relay-tests")
            c.eq(rc, 0, "--relay-tests: exit 0")
            c.ok("    probe\n" in out and "banner:  220 mx.test" in out, "text output: probe")
            c.ok("relay:   no relay test accepted" in out, "text output: relay tests ran")
            c.eq(gw.messages(), {}, "nothing queued at the probed gateway")

        rc, out, err = report(*bounces, "--our-domains", "our.test", "--zone", zone,
                              "--relay-tests")
        c.eq(rc, 2, "--relay-tests without --probe: usage error")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c.done()


main()
