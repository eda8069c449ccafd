#!/usr/bin/python3
"""probe_postfix.py: `mxguard probe --relay-tests` against a real open relay: a PRIVATE
Postfix instance (tests/support/private_postfix.py) on a loopback port configured as
the classic misconfiguration, mynetworks = 0.0.0.0/0 with permit_mynetworks, relaying
everything to a local SMTP sink (tests/support/delivery_smtpd.py).
  - exit 1, the accepted tests listed (at least the plain foreign recipient with the null,
    foreign, own-name and address-literal senders: tests 1-4), each stopped at RCPT with
    RSET and QUIT, no DATA; nothing reaches the sink;
  - --confirm-with-data --to ADDR: exactly one DATA (on the first accepted test), and the
    test message reaches the sink for ADDR through the relay.
Needs root and Postfix; exits 77 (skip) with the reason otherwise. Loopback only.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MXG_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from mxg_gateway_harness import Checker, free_port  # noqa: E402
from private_postfix import PrivatePostfix, available, listening, skip  # noqa: E402

TIMEOUT = 30

OPEN_RELAY = """\
myhostname = relay.open.test
mydomain = open.test
myorigin = open.test
mydestination =
mynetworks = 0.0.0.0/0
relayhost = [127.0.0.1]:{sink_port}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
"""


def sink_messages(d):
    out = []
    for name in sorted(os.listdir(d)):
        if name.startswith("msg-") and name.endswith(".eml"):
            with open(os.path.join(d, name), errors="replace") as f:
                out.append(f.read())
    return out


def main():
    why = available()
    if why:
        skip(why)
    mxguard = os.environ.get("MXGUARD")
    if not mxguard or not os.access(mxguard, os.X_OK):
        skip("MXGUARD does not point to the mxguard binary")
    c = Checker()
    tmp = tempfile.mkdtemp(prefix="mxg-probe-pf-")
    os.chmod(tmp, 0o755)  # the postfix user walks into its queue below
    sink = postfix = None
    try:
        sink_port = free_port()
        sink_dir = os.path.join(tmp, "sink")
        os.makedirs(sink_dir)
        sink = subprocess.Popen([sys.executable, os.path.join(SRC, "tests", "support",
                                                              "delivery_smtpd.py"),
                                 str(sink_port), sink_dir, "--max-seconds", "300"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + TIMEOUT
        while not listening(sink_port):
            if time.time() > deadline or sink.poll() is not None:
                raise AssertionError("the SMTP sink did not start")
            time.sleep(0.05)
        postfix = PrivatePostfix(tmp, OPEN_RELAY.format(sink_port=sink_port)).start()
        target = f"127.0.0.1:{postfix.port}"
        zone = os.path.join(tmp, "zone.txt")
        with open(zone, "w") as f:
            f.write("$TTL 300\n1.0.0.127.in-addr.arpa. PTR relay.open.test.\n"
                    "relay.open.test. A 127.0.0.1\n")
        print(f"open relay: postfix {target} -> sink :{sink_port}")

        r = subprocess.run([mxguard, "probe", target, "--relay-tests", "--json", "--zone", zone,
                            "--to", "me@operator.example", "--from-domain", "sender.example"],
                           capture_output=True, text=True, timeout=300)
        c.eq(r.returncode, 1, "open relay: exit 1")
        rep = json.loads(r.stdout)
        h = rep["hosts"][0]
        c.eq(h["banner_name"], "relay.open.test", "Postfix banner names the host")
        acc = rep["accepted_relay_tests"]
        c.ok(set(range(1, 5)) <= set(acc), f"tests 1-4 accepted: {acc}")
        c.eq(rep["verdict"], "open relay", "verdict")
        tests = h["relay_tests"]
        c.eq(len(tests), 16, "16 tests run")
        c.eq(tests[2]["mail_from"], "relaytest@relay.open.test",
             "test 3's sender is at the banner's name (nmap srvname)")
        cmds = [[e["command"].split(" ")[0].split(":")[0] for e in t["transcript"]]
                for t in tests]
        c.ok(all("DATA" not in cs for cs in cmds), "no DATA without --confirm-with-data")
        c.ok(all(t["transcript"][-2]["command"] == "RSET" for t in tests if t["accepted"]),
             "accepted tests stop at RCPT (RSET, QUIT)")
        c.ok(all(t["transcript"][-1]["command"] == "QUIT" for t in tests), "every test QUITs")

        # The text form lists the accepted tests.
        r = subprocess.run([mxguard, "probe", target, "--relay-tests", "--zone", zone, "--to",
                            "me@operator.example"],
                           capture_output=True, text=True, timeout=300)
        c.eq(r.returncode, 1, "text form: exit 1")
        c.ok("verdict: OPEN RELAY" in r.stdout and
             " 1 MAIL FROM:<> -> RCPT TO:<me@operator.example>" in r.stdout,
             "text verdict lists the accepted tests")
        c.eq(sink_messages(sink_dir), [], "nothing relayed without --confirm-with-data")

        # One harmless message through the relay to the operator's address.
        r = subprocess.run([mxguard, "probe", target, "--relay-tests", "--confirm-with-data",
                            "--to", "me@operator.example", "--json", "--zone", zone],
                           capture_output=True, text=True, timeout=300)
        c.eq(r.returncode, 1, "confirm-with-data: exit 1")
        tests = json.loads(r.stdout)["hosts"][0]["relay_tests"]
        with_data = [t["number"] for t in tests
                     if any(e["command"] == "DATA" for e in t["transcript"])]
        c.eq(with_data, [1], "exactly one DATA, on the first accepted test")
        c.ok(tests[0]["data_sent"], "the test message was accepted")
        deadline = time.time() + 60
        msgs = []
        while time.time() < deadline and not msgs:
            msgs = [m for m in sink_messages(sink_dir) if "Subject: mxguard relay test 1" in m]
            time.sleep(0.2)
        c.eq(len(msgs), 1, "the test message reached the sink through the relay")
        if msgs:
            c.ok("X-Env-To: <me@operator.example>" in msgs[0], "addressed to --to")
    finally:
        if postfix:
            postfix.stop()
        if sink and sink.poll() is None:
            sink.kill()
            sink.wait(timeout=TIMEOUT)
        if os.environ.get("MXG_KEEP_TMP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    c.done()


if __name__ == "__main__":
    main()
