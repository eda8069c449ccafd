#!/usr/bin/python3
"""probe.py: `mxguard probe` (issue 12 section 1) against mxguard's own gateway on a
loopback port, with DNS from a zone file (PTR 127.0.0.1 -> mx.test, A mx.test, MX of
probe.test -> mx.test):
  - the 16 relay tests against the gateway: every one refused at RCPT, each on its own
    connection, none reaching DATA, nothing queued; exit 0; banner, EHLO and rDNS names
    (mx.test) agree and the rDNS is forward-confirmed;
  - a domain target goes through its MX (probe.test -> mx.test);
  - STARTTLS with the gateway's self-signed certificate: handshake done, verification
    against the system trust store reported as failed with OpenSSL's reason;
  - a port nobody listens on: exit 3; usage errors: exit 2.
The open-relay case (a private Postfix) is tests/integration/probe_postfix.py.
Only loopback targets. Every wait is bounded (the harness's and subprocess timeouts).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MXG_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from mxg_gateway_harness import Checker, Gateway, free_port  # noqa: E402

MXGUARD = os.environ.get("MXGUARD")
if not MXGUARD or not os.access(MXGUARD, os.X_OK):
    print("SKIP: MXGUARD does not point to the mxguard binary")
    sys.exit(77)

ZONE = """$TTL 300
1.0.0.127.in-addr.arpa.  PTR  mx.test.
mx.test.                 A    127.0.0.1
probe.test.              MX   10 mx.test.
"""


def probe(*args, timeout=120):
    r = subprocess.run([MXGUARD, "probe", *args], capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def main():
    c = Checker()
    tmp = tempfile.mkdtemp(prefix="mxg-probe-")
    zone = os.path.join(tmp, "zone.txt")
    with open(zone, "w") as f:
        f.write(ZONE)

    # 1. The gateway (local domains local.test, drj.test; no trusted network): no relay.
    with Gateway() as gw:
        rc, out, err = probe(f"127.0.0.1:{gw.port}", "--relay-tests", "--zone", zone, "--json",
                             "--from-domain", "sender.example", "--to", "me@operator.example")
        c.eq(rc, 0, "gateway: exit 0 (no relay found)")
        r = json.loads(out)
        h = r["hosts"][0]
        c.ok(h["connected"] and h["banner_code"] == 220, f"connected, banner {h['banner']!r}")
        c.eq(h["banner_name"], "mx.test", "banner names the host (RFC 5321 4.3.1)")
        c.eq(h["ehlo_name"], "mx.test", "EHLO reply names the host (RFC 5321 4.1.1.1)")
        c.eq(h["rdns"]["confirmed"], "mx.test", "rDNS of 127.0.0.1 forward-confirmed")
        c.ok(h["names"]["agree"] and h["names"]["banner_rdns"] is True, "banner/EHLO/rDNS agree")
        c.ok(h["esmtp"] and any(k.startswith("SIZE") for k in h["capabilities"]),
             f"EHLO capabilities with SIZE: {h['capabilities']}")
        c.ok(h["size"] is not None, "SIZE reported")
        c.ok(not h["starttls"]["offered"], "no STARTTLS without a certificate")
        c.ok(h["timings_ms"]["total"] > 0, "timings reported")
        tests = h["relay_tests"]
        c.eq(len(tests), 16, "16 relay tests")
        c.eq([t["number"] for t in tests], list(range(1, 17)), "in nmap's order")
        c.eq(r["accepted_relay_tests"], [], "none accepted")
        c.eq(r["verdict"], "no relay found", "verdict")
        # Each test: its own connection (a greeting first), MAIL, RCPT refused, RSET, QUIT.
        greet_first = all(t["transcript"][0]["command"] == "" for t in tests)
        c.ok(greet_first, "each test opens its own connection (greeting first)")
        cmds = [[e["command"].split(" ")[0].split(":")[0] for e in t["transcript"]] for t in tests]
        c.ok(all("DATA" not in cs for cs in cmds), "no DATA sent")
        c.ok(all(cs[-2:] == ["RSET", "QUIT"] for cs in cmds), f"every test ends RSET, QUIT")
        rcpt_replies = [e["reply"] for t in tests for e in t["transcript"]
                        if e["command"].startswith("RCPT TO:")]
        c.ok(len(rcpt_replies) >= 14 and all(re.match(r"^5\d\d", x) for x in rcpt_replies),
             f"RCPT refused with 5xx ({len(rcpt_replies)} RCPTs)")
        t3 = tests[2]
        c.eq(t3["mail_from"], "relaytest@mx.test", "test 3: sender at the banner's name")
        c.eq(tests[11]["rcpt_to"], "@[127.0.0.1]:me@operator.example",
             "test 12: source route through the address literal")
        c.eq(tests[1]["mail_from"], "relaytest@sender.example", "test 2: --from-domain sender")
        c.eq(gw.messages(), {}, "nothing queued at the gateway")

        # Text form: transcript lines and the verdict.
        rc, out, err = probe(f"127.0.0.1:{gw.port}", "--relay-tests", "--zone", zone,
                             "--to", "me@operator.example")
        c.eq(rc, 0, "text form: exit 0")
        c.ok("verdict: no relay found" in out, "text verdict")
        c.ok("C: RCPT TO:<\"me@operator.example\"@[127.0.0.1]>" in out,
             "text shows each test's commands")
        c.ok(re.search(r"S: 5\d\d ", out) is not None, "text shows the replies")

        # A domain: MX lookup (probe.test -> mx.test -> 127.0.0.1), no relay tests.
        rc, out, err = probe(f"probe.test:{gw.port}", "--zone", zone, "--json")
        r = json.loads(out)
        c.eq(rc, 0, "domain target: exit 0")
        c.ok(r["mx_lookup"] and r["mx"] == ["mx.test"], f"MX of probe.test: {r['mx']}")
        c.eq(r["hosts"][0]["name"], "mx.test", "the MX host was probed")
        c.eq(r["hosts"][0]["relay_tests"], [], "no relay tests unless asked")

    # 2. STARTTLS with a self-signed certificate (CN=localhost).
    with Gateway(tls=True) as gw:
        rc, out, err = probe(f"127.0.0.1:{gw.port}", "--zone", zone, "--json")
        c.eq(rc, 0, "TLS gateway: exit 0")
        t = json.loads(out)["hosts"][0]["starttls"]
        c.ok(t["offered"] and t["attempted"] and t["ok"], f"STARTTLS handshake done: {t['error']}")
        c.ok(t["protocol"].startswith("TLSv1."), f"protocol {t['protocol']}")
        c.ok(t["cipher"] != "", f"cipher {t['cipher']}")
        c.eq(t["verified"], False, "self-signed certificate does not verify")
        c.ok(re.search(r"self.signed", t["verify_result"]) is not None,
             f"verification failure reason: {t['verify_result']!r}")
        c.eq(t["verify_code"], 18, "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT")
        c.ok(len(t["chain"]) >= 1 and "CN=localhost" in t["chain"][0]["subject"],
             f"chain subject: {t['chain'][:1]}")
        c.ok(t["chain"][0]["days_left"] in (0, 1), "expiry: the 1-day certificate")
        c.eq(t["checked_name"], "mx.test", "checked against the banner's name")
        rc, out, err = probe(f"127.0.0.1:{gw.port}", "--zone", zone)
        c.ok("verify    FAILED against mx.test: self" in out, "text form names the failure")

    # 3. Nobody listens: exit 3.
    port = free_port()
    rc, out, err = probe(f"127.0.0.1:{port}", "--zone", zone, "--json", "--relay-tests")
    c.eq(rc, 3, "unreachable port: exit 3")
    r = json.loads(out)
    c.ok(r["verdict"] == "could not connect" and "cannot connect" in r["hosts"][0]["error"],
         f"could-not-connect reported: {r['hosts'][0]['error']}")
    c.eq(r["hosts"][0]["relay_tests"], [], "no relay tests without a connection")
    rc, out, err = probe("nowhere.test", "--zone", zone)
    c.eq(rc, 3, "unknown domain: exit 3")

    # 4. Usage errors: exit 2.
    for args in ([], ["bad host:"], ["127.0.0.1:70000"], ["127.0.0.1", "--bogus"],
                 ["127.0.0.1", "--confirm-with-data"], ["127.0.0.1", "--to", "nobody"]):
        rc, out, err = probe(*args)
        c.eq(rc, 2, f"usage error {args}")

    subprocess.run(["rm", "-rf", tmp], check=False)
    c.done()


main()
