#!/usr/bin/env python3
"""gateway_spf.py: SPF enforcement in `mxguard serve` (issue 9 sections 2, 3 and 7),
end to end with real clients from several loopback addresses (127.0.0.x, none of them
in the SPF trusted networks unless said) against a real DNS server (dnsmasq on a
loopback port) that serves the SPF records:
  - every action: pass accept (Received-SPF + Authentication-Results on top), fail
    reject 550 5.7.23 at RCPT, softfail quarantine (held, in the quarantine index),
    neutral tag (X-Mxguard-Policy), permerror reject 550 5.7.24, temperror on a DNS
    timeout tempfail 451 4.4.3;
  - per-domain rules: softfail of a "strict brands" domain (and a subdomain through
    ".domain") rejected; an exception (all = "accept") for a broken record (`ipv4:`);
    a monitor rule (global action done, the rule's action recorded);
  - trusted networks skip SPF; the null sender is checked with the HELO identity;
  - XCLIENT: refused from an untrusted client, honoured from a trusted one (the
    presented address is the one SPF checks);
  - a forged Authentication-Results claiming our authserv-id is removed, another kept;
  - a quarantined message released with `mxguard quarantine release` reaches smtp-sink
    exactly once (a second release is refused);
  - the history records every decision (sqlite3 on history.db).
Expected answers come from RFC 7208 / RFC 7372 and the configuration below, not from
running the code."""
import glob
import os
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, Dnsmasq, wait_for,  # noqa: E402
                                 free_port, MXGUARD)

c = Checker()

if not os.path.exists("/usr/sbin/dnsmasq") or not os.path.exists("/usr/sbin/smtp-sink"):
    print("dnsmasq or smtp-sink missing: skipped")
    sys.exit(77)

# A UDP socket that never answers: DNS for timeout.test times out.
silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
silent.bind(("127.0.0.1", 0))
silent_port = silent.getsockname()[1]

records = {
    "pass.test": "v=spf1 ip4:127.0.0.0/8 -all",
    "fail.test": "v=spf1 ip4:192.0.2.0/24 -all",
    "soft.test": "v=spf1 ip4:192.0.2.0/24 ~all",
    "neutral.test": "v=spf1 ?all",
    "brand.test": "v=spf1 ip4:192.0.2.0/24 ~all",
    "sub.brand.test": "v=spf1 ip4:192.0.2.0/24 ~all",
    "partner.test": "v=spf1 ipv4:127.0.0.1 -all",
    "broken.test": "v=spf1 ipv4:127.0.0.1 -all",
    "watch.test": "v=spf1 ip4:192.0.2.0/24 ~all",
    "helo.test": "v=spf1 ip4:192.0.2.0/24 -all",
}
dns_args = [f'--txt-record={name},{text}' for name, text in records.items()]
dns_args.append(f"--server=/timeout.test/127.0.0.1#{silent_port}")

sink_port = free_port()
sink_dir = None
sink = None


def session(gw, sender, rcpts, subject, source="127.0.0.5", helo="client.example",
            headers="", xclient=None):
    """One transaction; returns (list of RCPT replies, final reply or None, qid)."""
    cl = Client(gw.port, source=source)
    cl.reply()
    cl.cmd("EHLO " + helo)
    if xclient:
        code, text = cl.cmd("XCLIENT " + xclient)
        if code != 220:
            cl.close()
            return [(code, text)], None, None
        cl.cmd("EHLO " + helo)
    code, text = cl.cmd(f"MAIL FROM:<{sender}>")
    if code != 250:
        cl.close()
        return [(code, text)], None, None
    rr = [cl.cmd(f"RCPT TO:<{r}>") for r in rcpts]
    final = None
    qid = None
    if any(code == 250 for code, _ in rr):
        cl.cmd("DATA")
        final = cl.cmd(f"{headers}Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}"
                       f"@client.example>\r\n\r\nbody of {subject}\r\n.")
        if final[0] == 250:
            qid = final[1].split()[2]
    cl.cmd("QUIT")
    cl.close()
    return rr, final, qid


with Dnsmasq(*dns_args) as dns:
    import tempfile
    work = tempfile.mkdtemp(prefix="mxg-spf-")
    sink_dir = os.path.join(work, "sink")
    os.makedirs(sink_dir)
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "root", "-d", sink_dir + "/%M.",
                             f"127.0.0.1:{sink_port}", "100"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    routes = os.path.join(work, "routes")
    with open(routes, "w") as f:
        f.write(f"* relay:[127.0.0.1]:{sink_port}\n")
    top = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "500ms"\ntries = 1\n'
           'hosts_file = ""\n'
           f'[routing]\ntable = "{routes}"\n'
           '[spf]\nenabled = true\ncheck_helo = true\nauthserv_id = "mx.test"\n'
           'trusted_networks = ["127.0.0.9/32"]\n'
           '[spf.actions]\npass = "accept"\nfail = "reject"\nsoftfail = "quarantine"\n'
           'neutral = "tag"\nnone = "accept"\npermerror = "reject"\ntemperror = "tempfail"\n'
           '[[spf.rule]]\nname = "strict brands"\ndomains = ["brand.test", ".brand.test"]\n'
           'softfail = "reject"\n'
           '[[spf.rule]]\nname = "broken record, known sender"\ndomains = ["partner.test"]\n'
           'all = "accept"\n'
           '[[spf.rule]]\nname = "watch"\ndomains = ["watch.test"]\nsoftfail = "reject"\n'
           'monitor = true\n')
    relay = 'local_domains = ["local.test"]\ntrusted_networks = ["127.0.0.1/32"]\n'
    with Gateway(mode="deliver", top=top, relay=relay) as gw:
        # pass: accepted, headers on top in the RFC order.
        rr, final, qid = session(gw, "alice@pass.test", ["u1@local.test"], "spf pass")
        c.eq(rr[0][0], 250, "pass: RCPT accepted")
        c.eq(final and final[0], 250, "pass: message queued")

        # fail: 550 5.7.23 at RCPT, per recipient.
        rr, final, _ = session(gw, "bob@fail.test", ["u1@local.test", "u2@local.test"], "spf fail")
        c.ok(all(code == 550 and text.startswith("550 5.7.23") for code, text in rr),
             f"fail: every RCPT 550 5.7.23 ({rr})")
        c.ok("fail.test" in rr[0][1] and "http" not in rr[0][1], "fail: the text names the domain, no URL")
        c.eq(final, None, "fail: no DATA")

        # softfail: quarantined (250, held).
        rr, final, qsoft = session(gw, "carol@soft.test", ["u1@local.test"], "spf softfail")
        c.eq(final and final[0], 250, "softfail: answered 250")
        # neutral: tagged.
        rr, final, qneu = session(gw, "dan@neutral.test", ["u1@local.test"], "spf neutral")
        c.eq(final and final[0], 250, "neutral: answered 250")
        # rule: strict brands softfail -> reject, subdomain too.
        rr, _, _ = session(gw, "eve@brand.test", ["u1@local.test"], "brand")
        c.ok(rr[0][1].startswith("550 5.7.23"), f"rule: brand.test softfail rejected ({rr[0][1]})")
        rr, _, _ = session(gw, "eve@sub.brand.test", ["u1@local.test"], "sub brand")
        c.ok(rr[0][1].startswith("550 5.7.23"), f"rule: .brand.test matches a subdomain ({rr[0][1]})")
        # exception for a broken record; the same record elsewhere is a permerror reject.
        rr, final, _ = session(gw, "fred@partner.test", ["u1@local.test"], "partner")
        c.eq(final and final[0], 250, "exception: partner.test (permerror) accepted")
        rr, _, _ = session(gw, "gina@broken.test", ["u1@local.test"], "broken")
        c.ok(rr[0][1].startswith("550 5.7.24"), f"permerror: 550 5.7.24 ({rr[0][1]})")
        # monitor: the rule would reject, the global softfail action (quarantine) is done.
        rr, final, qwatch = session(gw, "hank@watch.test", ["u1@local.test"], "watch")
        c.eq(final and final[0], 250, "monitor: global action done (quarantine, 250)")
        # temperror on a DNS timeout.
        rr, _, _ = session(gw, "ian@timeout.test", ["u1@local.test"], "timeout")
        c.ok(rr[0][1].startswith("451 4.4.3"), f"temperror on DNS timeout: 451 4.4.3 ({rr[0][1]})")
        # trusted network: SPF skipped.
        rr, final, _ = session(gw, "bob@fail.test", ["u1@local.test"], "trusted", source="127.0.0.9")
        c.eq(final and final[0], 250, "trusted network: SPF skipped, accepted")
        # null sender: the HELO identity (postmaster@helo.test, RFC 7208 2.4) fails.
        rr, _, _ = session(gw, "", ["u1@local.test"], "null sender", helo="helo.test")
        c.ok(rr[0][1].startswith("550 5.7.23") and "helo.test" in rr[0][1],
             f"null sender: HELO identity fail rejected ({rr[0][1]})")
        # XCLIENT: refused from an untrusted client; a trusted proxy presents 192.0.2.10.
        rr, _, _ = session(gw, "bob@fail.test", ["u1@local.test"], "xclient no",
                           source="127.0.0.6", xclient="ADDR=192.0.2.10")
        c.ok(rr[0][0] == 550 and "5.7.0" in rr[0][1], f"XCLIENT refused from 127.0.0.6 ({rr[0]})")
        rr, final, qx = session(gw, "bob@fail.test", ["u1@local.test"], "xclient yes",
                                source="127.0.0.1", xclient="ADDR=192.0.2.10 NAME=mail.fail.test")
        c.eq(final and final[0], 250, "XCLIENT from 127.0.0.1: SPF checks 192.0.2.10 (pass)")
        # A forged Authentication-Results with our authserv-id is removed, another kept.
        rr, final, qar = session(
            gw, "alice@pass.test", ["u1@local.test"], "forged ar",
            headers="Authentication-Results: mx.test; spf=pass smtp.mailfrom=x@pass.test\r\n"
                    "Authentication-Results: other.example;\r\n spf=fail\r\n")
        c.eq(final and final[0], 250, "forged A-R: queued")

        # Delivery: the passes reach the sink with the headers.
        def dumps():
            out = {}
            for p in glob.glob(os.path.join(sink_dir, "*")):
                with open(p, errors="replace") as f:
                    t = f.read()
                out[p] = t
            return out

        def with_subject(s):
            return [t for t in dumps().values() if f"Subject: {s}\n" in t.replace("\r\n", "\n")]

        got = wait_for(lambda: with_subject("spf pass"), "pass delivered")
        c.eq(len(got), 1, "pass: delivered to smtp-sink once")
        if got:
            text = got[0].replace("\r\n", "\n")
            i_ar = text.find("Authentication-Results: mx.test; spf=pass smtp.mailfrom=alice@pass.test")
            i_rs = text.find("Received-SPF: pass")
            i_rc = text.find("Received: from client.example")
            c.ok(0 <= i_ar < i_rs < i_rc, f"pass: A-R, then Received-SPF, then our Received "
                                          f"({i_ar}, {i_rs}, {i_rc})")
        got = wait_for(lambda: with_subject("spf neutral"), "neutral delivered")
        c.ok(got and "X-Mxguard-Policy: spf=neutral" in got[0], "neutral: tagged with X-Mxguard-Policy")
        got = wait_for(lambda: with_subject("xclient yes"), "xclient delivered")
        c.ok(got and "client-ip=192.0.2.10" in got[0] and "Received-SPF: pass" in got[0],
             "XCLIENT: Received-SPF names the presented client")
        got = wait_for(lambda: with_subject("forged ar"), "forged delivered")
        if got:
            t = got[0]
            c.eq(t.count("Authentication-Results: mx.test"), 1, "forged A-R: only ours remains")
            c.ok("Authentication-Results: other.example;" in t, "forged A-R: a foreign one is kept")
        else:
            c.ok(False, "forged A-R message delivered")

        # Quarantine: softfail and monitor held, listed, not delivered.
        c.eq(with_subject("spf softfail"), [], "softfail: not delivered while quarantined")
        sock = os.path.join(gw.state, "control.sock")
        hist = os.path.join(gw.state, "history.db")
        qargs = ["--socket", sock, "--history", hist, "--queue-dir", os.path.join(gw.state, "queue")]
        lst = wait_for(lambda: qsoft and qsoft in gw.cli("quarantine", *qargs, "list").stdout,
                       "quarantine list shows the softfail")
        c.ok(lst, "quarantine list shows the softfail message")
        r = gw.cli("quarantine", *qargs, "list", "--json")
        c.ok(qwatch and qwatch in r.stdout, "quarantine list shows the monitor-rule message")
        # Release once: delivered once; a second release is refused.
        r = gw.cli("quarantine", *qargs, "release", qsoft or "-", "--by", "tester", check=False)
        c.eq(r.returncode, 0, f"quarantine release exits 0 ({r.stdout}{r.stderr})")
        got = wait_for(lambda: with_subject("spf softfail"), "released delivered")
        c.eq(len(got), 1, "released message reached smtp-sink")
        r2 = gw.cli("quarantine", *qargs, "release", qsoft or "-", check=False)
        c.ok(r2.returncode != 0, f"second release refused ({r2.stdout}{r2.stderr})")
        # Wait until the gateway's queue no longer holds it (delivered and removed).
        wait_for(lambda: qsoft not in gw.messages(), "released message left the queue")
        c.eq(len(with_subject("spf softfail")), 1, "released message delivered exactly once")

        # History: every decision recorded.
        def rows():
            db = sqlite3.connect(hist)
            try:
                return db.execute("SELECT sender, spf_result, decision, rule FROM messages").fetchall()
            finally:
                db.close()
        got = wait_for(lambda: len(rows()) >= 14, "history rows")
        r = rows()
        c.ok(("bob@fail.test", "fail", "reject", "") in r, "history: fail rejected recorded")
        c.ok(("eve@brand.test", "softfail", "reject", "strict brands") in r,
             "history: the rule that rejected is recorded")
        db = sqlite3.connect(hist)
        mon = db.execute("SELECT d.action, d.monitor, d.would FROM decisions d JOIN messages m "
                         "ON d.message = m.id WHERE m.sender = 'hank@watch.test'").fetchall()
        db.close()
        c.ok(("quarantine", 1, "reject") in mon, f"history: monitor rule's would-action ({mon})")
    sink.kill()
silent.close()
c.done()
