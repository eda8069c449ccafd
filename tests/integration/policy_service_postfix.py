#!/usr/bin/python3
"""policy_service_postfix.py: mxguard's Postfix policy delegation service (issue 9
section 6, SMTPD_POLICY_README) behind Debian's real Postfix.

A PRIVATE Postfix instance (its own config_directory, queue_directory and data
directory under a temporary directory; smtpd on a free 127.0.0.1 port; never the
system instance) relays our.test to a scripted SMTP sink
(tests/support/delivery_smtpd.py) and asks
    smtpd_recipient_restrictions = reject_unauth_destination,
        check_policy_service inet:127.0.0.1:PORT
of `mxguard serve` with [spf] rules and [policy_service] listen; the SPF zone is
served by dnsmasq on a loopback port ([dns] servers). Clients are python smtplib
connections from 127.0.0.2 / 127.0.0.3 (not in Postfix's mynetworks).
Cases:
  - a softfail sender of a rule domain (rule softfail = "reject") is refused at RCPT
    with 550 5.7.23, and nothing is delivered;
  - a pass with two recipients is delivered once to both, with Received-SPF exactly
    once (the second recipient's answer is DUNNO from the per-instance cache);
  - an exception domain (rule all = "accept") with a fail record is delivered;
  - policy exceptions (issue 11, docs/policy-service.md): after
    `mxguard policy exceptions add` (brand.example.test from 127.0.0.3/32) and SIGHUP,
    the softfail sender of case 1 from 127.0.0.3 is accepted with Received-SPF (PREPEND,
    the exception's tag) and delivered, the log names rule exception:ID; the same
    sender from 127.0.0.4 (outside the net) is still refused 550 5.7.23, and so is one
    from 127.0.0.6 whose exception has expired.
Needs root (Postfix's master), /usr/sbin/postfix, dnsmasq; exits 77 (skip) with the
reason when a peer is missing or Postfix cannot start. Every wait has a deadline;
Postfix, dnsmasq, the sink and mxguard are stopped in a finally block.
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MXG_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from mxg_gateway_harness import Gateway, free_port  # noqa: E402
from private_postfix import PrivatePostfix  # noqa: E402

TIMEOUT = 20  # seconds for any single wait
POSTFIX = "/usr/sbin/postfix"
DNSMASQ = "/usr/sbin/dnsmasq"
SKIP = 77


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def wait_for(what, pred, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def start_dnsmasq(tmp, records):
    """dnsmasq on 127.0.0.1:free port, no upstream (as tests/support/dnsmasq_lib.sh)."""
    for _ in range(5):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        args = [DNSMASQ, "--keep-in-foreground", f"--port={port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--no-poll",
                "--conf-file=/dev/null", "--pid-file=", f"--log-facility={tmp}/dnsmasq.log",
                "--local=/test/", "--local-ttl=300"] + records
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 5
        while time.time() < deadline and p.poll() is None:
            if listening(port):
                return p, port
            time.sleep(0.05)
        p.kill()
        p.wait(timeout=TIMEOUT)
    raise AssertionError("dnsmasq did not start")


# This case's main.cf settings, appended to private_postfix.py's common ones: relay
# our.test to the sink, ask the policy service at RCPT.
EXTRA_CF = """\
myhostname = mx.our.test
mydomain = our.test
myorigin = our.test
mydestination =
mynetworks = 127.0.0.1/32
relay_domains = our.test
transport_maps = inline:{{ our.test=smtp:[127.0.0.1]:{sink_port} }}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# check_policy_service after reject_unauth_destination (docs/policy-service.md).
smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:{policy_port}
smtpd_policy_service_timeout = 30s
smtpd_policy_service_max_idle = 300s
"""


def send(port, source, helo, sender, rcpts, subject):
    """One message; returns {rcpt: (code, text)} of refused recipients, or raises."""
    msg = (f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject}@mxg.test>\r\n\r\nbody {subject}\r\n")
    with smtplib.SMTP("127.0.0.1", port, local_hostname=helo, timeout=TIMEOUT,
                      source_address=(source, 0)) as s:
        try:
            refused = s.sendmail(sender, rcpts, msg)
        except smtplib.SMTPRecipientsRefused as e:
            refused = e.recipients
    return {r: (c, t.decode(errors="replace") if isinstance(t, bytes) else t)
            for r, (c, t) in refused.items()}


def sink_messages(sink_dir):
    out = []
    for name in sorted(os.listdir(sink_dir)):
        if name.startswith("msg-") and name.endswith(".eml"):
            with open(os.path.join(sink_dir, name), errors="replace") as f:
                out.append(f.read())
    return out


def main():
    if os.geteuid() != 0:
        skip("Postfix's master must run as root")
    for tool in (POSTFIX, DNSMASQ, "/usr/lib/postfix/sbin/master"):
        if not os.access(tool, os.X_OK):
            skip(f"{tool} is not installed (scripts/install-deps installs postfix and dnsmasq)")
    mxguard = os.environ.get("MXGUARD")
    if not mxguard or not os.access(mxguard, os.X_OK):
        skip("MXGUARD does not point to the mxguard binary")

    tmp = tempfile.mkdtemp(prefix="mxg-pfpol-")
    os.chmod(tmp, 0o755)  # the postfix user walks into its queue below
    procs = []
    postfix = gw = None
    fails = []
    try:
        dns, dns_port = start_dnsmasq(tmp, [
            # 127.0.0.2 is the permitted client; 127.0.0.3 is not.
            "--txt-record=pass.example.test,v=spf1 ip4:127.0.0.2 -all",
            "--txt-record=brand.example.test,v=spf1 ip4:127.0.0.2 ~all",
            "--txt-record=partner.example.test,v=spf1 ip4:192.0.2.1 -all",
        ])
        procs.append(dns)

        sink_port = free_port()
        sink_dir = os.path.join(tmp, "sink")
        os.makedirs(sink_dir)
        sink = subprocess.Popen([sys.executable, os.path.join(SRC, "tests", "support",
                                                              "delivery_smtpd.py"),
                                 str(sink_port), sink_dir, "--max-seconds", "300"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(sink)
        wait_for("the SMTP sink", lambda: listening(sink_port))

        policy_port = free_port()
        top = (f'[dns]\nservers = ["127.0.0.1:{dns_port}"]\ntimeout = "1s"\ntries = 1\n'
               'hosts_file = ""\n'
               '[spf]\nenabled = true\ncheck_helo = true\nauthserv_id = "mx.our.test"\n'
               'trusted_networks = []\n'
               '[spf.actions]\npass = "accept"\nfail = "reject"\nsoftfail = "quarantine"\n'
               'neutral = "accept"\nnone = "accept"\npermerror = "accept"\n'
               'temperror = "tempfail"\n'
               '[[spf.rule]]\nname = "strict brands"\ndomains = ["brand.example.test"]\n'
               'softfail = "reject"\n'
               '[[spf.rule]]\nname = "broken record, known sender"\n'
               'domains = ["partner.example.test"]\nall = "accept"\n'
               f'[policy_service]\nlisten = "127.0.0.1:{policy_port}"\n')
        gw = Gateway(top=top)
        gw.start()
        try:
            wait_for("the policy service", lambda: "policy-service listening" in gw.log_text())
        except AssertionError:
            skip("`mxguard serve` does not start [policy_service] (not wired in server.cpp "
                 "in this build)")
        wait_for("the policy port", lambda: listening(policy_port))

        postfix = PrivatePostfix(tmp, EXTRA_CF.format(sink_port=sink_port, policy_port=policy_port))
        postfix.start()
        print(f"postfix smtpd 127.0.0.1:{postfix.port} -> policy 127.0.0.1:{policy_port} "
              f"(dnsmasq :{dns_port}, sink :{sink_port})")

        def check(ok, what):
            print(("ok: " if ok else "FAIL: ") + what)
            if not ok:
                fails.append(what)

        # 1. softfail of a rule domain: 550 5.7.23 at RCPT, for both recipients.
        refused = send(postfix.port, "127.0.0.3", "client.example.test", "news@brand.example.test",
                       ["a@our.test", "b@our.test"], "softfail")
        check(len(refused) == 2 and all(c == 550 and t.startswith("5.7.23")
                                        for c, t in refused.values()),
              f"softfail sender of the strict rule refused with 550 5.7.23: {refused}")

        # 2. pass, two recipients: delivered, Received-SPF exactly once.
        refused = send(postfix.port, "127.0.0.2", "client.example.test", "alice@pass.example.test",
                       ["a@our.test", "b@our.test"], "pass")
        check(refused == {}, f"pass accepted for both recipients: {refused}")
        msgs = wait_for("the pass message at the sink",
                        lambda: [m for m in sink_messages(sink_dir) if "Subject: pass" in m])
        m = msgs[0]
        check(len(msgs) == 1, f"the pass message reached the sink once ({len(msgs)})")
        check(sorted(re.findall(r"^X-Env-To: <(.*)>", m, re.M)) == ["a@our.test", "b@our.test"],
              "both recipients in one delivery")
        rspf = re.findall(r"^Received-SPF:.*", m, re.M | re.I)
        check(len(rspf) == 1 and rspf[0].startswith("Received-SPF: pass"),
              f"Received-SPF exactly once: {rspf}")
        check("client-ip=127.0.0.2" in m, "Received-SPF names the client")

        # 3. exception domain with a fail record: accepted.
        refused = send(postfix.port, "127.0.0.3", "client.example.test",
                       "billing@partner.example.test", ["a@our.test"], "exception")
        check(refused == {}, f"exception domain accepted: {refused}")
        msgs = wait_for("the exception message at the sink",
                        lambda: [m for m in sink_messages(sink_dir) if "Subject: exception" in m])
        rspf = re.findall(r"^Received-SPF:.*", msgs[0], re.M | re.I)
        check(len(rspf) == 1 and rspf[0].startswith("Received-SPF: fail"),
              f"exception message carries Received-SPF: fail once: {rspf}")

        check(not any("Subject: softfail" in m for m in sink_messages(sink_dir)),
              "nothing of the refused message was delivered")

        # 4. policy exceptions, from the gateway's snapshot (taken in on SIGHUP).
        hist = os.path.join(gw.state, "history.db")
        r = gw.cli("policy", "exceptions", "add", "--history", hist, "--scope", "domain_net",
                   "--domain", "brand.example.test", "--net", "127.0.0.3/32", "--by", "test")
        exc_id = int(r.stdout.split()[1])
        gw.cli("policy", "exceptions", "add", "--history", hist, "--scope", "domain_net",
               "--domain", "brand.example.test", "--net", "127.0.0.6/32", "--by", "test",
               "--expires-at", str(int(time.time()) - 3600))
        seen = gw.log_text().count("policy exceptions loaded")
        gw.proc.send_signal(signal.SIGHUP)
        wait_for("the exceptions loaded on SIGHUP",
                 lambda: gw.log_text().count("policy exceptions loaded") > seen)
        check("policy exceptions loaded live=1 expired=1 (reload)" in gw.log_text(),
              "SIGHUP loads one live and one expired exception")
        refused = send(postfix.port, "127.0.0.3", "client.example.test", "news@brand.example.test",
                       ["a@our.test"], "excepted")
        check(refused == {}, f"the excepted softfail sender is accepted: {refused}")
        msgs = wait_for("the excepted message at the sink",
                        lambda: [m for m in sink_messages(sink_dir) if "Subject: excepted" in m])
        rspf = re.findall(r"^Received-SPF:.*", msgs[0], re.M | re.I)
        check(len(rspf) == 1 and rspf[0].startswith("Received-SPF: softfail"),
              f"the excepted message carries Received-SPF: softfail once: {rspf}")
        for source, what in (("127.0.0.4", "outside the exception's net"),
                             ("127.0.0.6", "whose exception expired")):
            refused = send(postfix.port, source, "client.example.test",
                           "news@brand.example.test", ["a@our.test"], "not excepted " + source)
            check(len(refused) == 1 and all(c == 550 and t.startswith("5.7.23")
                                            for c, t in refused.values()),
                  f"the same sender {what} is still refused 550 5.7.23: {refused}")
        log = gw.log_text()
        check(re.search(rf"policy-service .*exception={exc_id} scope=domain_net action=tag", log)
              is not None, "the log names the exception")
        check(re.search(rf"policy-service .*sender=<news@brand\.example\.test>.*"
                        rf"rule=exception:{exc_id}.*action=\"PREPEND Received-SPF: softfail",
                        log) is not None, "the decision's rule is exception:ID, the action PREPEND")
        log = gw.log_text()
        check(re.search(r"policy-service .*sender=<alice@pass\.example\.test>.*cached=yes "
                        r"action=DUNNO", log) is not None,
              "the second recipient was answered from the instance cache")
        check(re.search(r"policy-service .*rule=\"strict brands\".*action=\"550 5\.7\.23", log)
              is not None, "the mxguard log names the rule of the rejection")
        if fails:
            print("--- mxguard log ---\n" + log[-6000:])
            print("--- postfix log ---\n" + postfix.log()[-6000:])
    finally:
        if postfix:
            postfix.stop()
        if gw:
            gw.stop()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=TIMEOUT)
        if os.environ.get("MXG_KEEP_TMP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            if gw:
                shutil.rmtree(gw.tmp, ignore_errors=True)
    print(f"policy_service_postfix: {'FAILED: ' + str(len(fails)) if fails else 'all checks passed'}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
