#!/usr/bin/python3
"""ndr_report_probe.py: `mxguard ndr report --probe` (issue 12 section 3), in the style of
ndr_report.sh: the two forged bounces of tests/data/backscatter with the abused site's
address replaced by 127.0.0.1, where mxguard's own gateway (hostname mx.test) plays the
abused site's server. Expects the source abused.test probed (banner, EHLO, rDNS from the
zone, no STARTTLS offered), no relay tests unless --relay-tests, the findings in the JSON
output, the text output and the draft abuse report; --relay-tests without --probe is a
usage error (2). DNS lists (--dnsbl-config / --dnsbl-list), served by the same zone file
as the probe's DNS: the source 127.0.0.1 is listed on bl.test (RFC 5782 2.1 query name
1.0.0.127.bl.test, code 127.0.0.2 with the config's weight 3 and meaning), not on
clean.test (NXDOMAIN), and err.test answers 127.255.255.254 ("blocked from querying":
an error, never a listing); the list status is in `probe.lists` of the JSON, the text
output and the draft; without the flags the output says the lists were not checked;
--dnsbl-list without --probe is a usage error. Loopback only; every wait bounded.
"""
import json
import os
import re
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
            f.write(z + "1.0.0.127.in-addr.arpa. PTR mx.test.\nmx.test. A 127.0.0.1\n"
                    # The DNS lists (RFC 5782 2.1: reversed octets under the list's zone).
                    "1.0.0.127.bl.test. A 127.0.0.2\n"
                    "1.0.0.127.err.test. A 127.255.255.254\n")
        lists_cfg = os.path.join(tmp, "lists.toml")
        with open(lists_cfg, "w") as f:
            f.write('[dnsbl]\n[[dnsbl.zone]]\nname = "bl.test"\n'
                    'codes = { "127.0.0.2" = { weight = 3, meaning = "spam source" } }\n'
                    '[[dnsbl.zone]]\nname = "clean.test"\n')

        with Gateway() as gw:
            drafts = os.path.join(tmp, "drafts")
            common = [*bounces, "--our-domains", "our.test", "--zone", zone, "--probe",
                      "--probe-port", str(gw.port), "--probe-timeout", "10"]
            rc, out, err = report(*common, "--json", "--draft-reports", drafts,
                                  "--dnsbl-config", lists_cfg, "--dnsbl-list", "err.test")
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
            pl = p.get("lists", {})
            c.eq(pl.get("checked"), True, "probe.lists: checked")
            addrs = pl.get("addresses") or [{}]
            c.eq(len(addrs), 1, "probe.lists: one probed address")
            c.eq(addrs[0].get("ip"), "127.0.0.1", "probe.lists: the probed address")
            c.eq(addrs[0].get("score"), 3, "probe.lists: score = bl.test's weight for 127.0.0.2")
            by = {x.get("zone"): x for x in addrs[0].get("lists", [])}
            c.eq(sorted(by), ["bl.test", "clean.test", "err.test"], "probe.lists: three lists")
            bl, cl, er = by.get("bl.test", {}), by.get("clean.test", {}), by.get("err.test", {})
            c.eq(bl.get("status"), "listed", "bl.test: listed")
            c.eq(bl.get("query"), "1.0.0.127.bl.test", "bl.test: RFC 5782 2.1 query name")
            c.eq(bl.get("codes"), [{"code": "127.0.0.2", "weight": 3, "meaning": "spam source"}],
                 "bl.test: code, weight and meaning")
            c.eq(cl.get("status"), "not-listed", "clean.test: not listed")
            c.eq(cl.get("codes"), [], "clean.test: no codes")
            c.eq(er.get("status"), "error", "err.test: 127.255.255.254 is an error")
            c.ok(er.get("error", "") != "", "err.test: the error is explained")
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
            c.ok("\r\n  lists:   127.0.0.1 score 3" in d, "draft: list score of the address")
            c.ok(re.search(r"block bl\.test +listed +weight \+3: 127\.0\.0\.2 "
                           r"\(\+3, spam source\)\r\n", d), "draft: listed on bl.test")
            c.ok(re.search(r"block clean\.test +not-listed\r\n", d), "draft: not on clean.test")
            c.ok(re.search(r"block err\.test +error +blocked from querying 127\.255\.255\.254\r\n",
                           d), "draft: err.test error, not a listing")
            c.ok(d.index("lists:") < d.index("Thank you,"), "list status before closing")

            # The text output with --dnsbl-list only.
            rc, out, err = report(*common, "--dnsbl-list", "bl.test", "--dnsbl-list",
                                  "clean.test")
            c.eq(rc, 0, "--dnsbl-list: exit 0")
            c.ok("      lists:   127.0.0.1 score 1\n" in out, "text output: score (weight 1)")
            c.ok(re.search(r"\n        block bl\.test +listed +weight \+1: 127\.0\.0\.2 "
                           r"\(\+1\)\n", out), "text output: listed on bl.test")
            c.ok(re.search(r"\n        block clean\.test +not-listed\n", out),
                 "text output: not on clean.test")

            # Relay tests on request; the text form carries the probe lines too.
            rc, out, err = report(*common, "--relay-tests")
            c.eq(rc, 0, "--relay-tests: exit 0")
            c.ok("    probe\n" in out and "banner:  220 mx.test" in out, "text output: probe")
            c.ok("relay:   no relay test accepted" in out, "text output: relay tests ran")
            c.ok("      lists:   not checked (give --dnsbl-config FILE or --dnsbl-list ZONE)\n"
                 in out, "text output: lists not checked without the flags")
            rc, out, err = report(*common, "--json")
            c.eq(json.loads(out)["sources"][0]["probe"].get("lists", {}).get("checked") if rc == 0
                 else None, False, "JSON: probe.lists.checked false without the flags")
            c.eq(gw.messages(), {}, "nothing queued at the probed gateway")

        rc, out, err = report(*bounces, "--our-domains", "our.test", "--zone", zone,
                              "--relay-tests")
        c.eq(rc, 2, "--relay-tests without --probe: usage error")
        rc, out, err = report(*bounces, "--our-domains", "our.test", "--zone", zone,
                              "--dnsbl-list", "bl.test")
        c.eq(rc, 2, "--dnsbl-list without --probe: usage error")
        rc, out, err = report(*bounces, "--our-domains", "our.test", "--zone", zone, "--probe",
                              "--probe-port", "1", "--dnsbl-list", "not a zone")
        c.eq(rc, 2, "--dnsbl-list with a bad zone name: usage error")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c.done()


main()
