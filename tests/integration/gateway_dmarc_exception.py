#!/usr/bin/python3
"""gateway_dmarc_exception.py: policy exceptions ("release and allow", issue 11) for DMARC
in `mxguard serve`, end to end (docs/policy.md "Policy exceptions"). The senders' SPF
records authorize 192.0.2.0/24 only and the messages carry no DKIM signature, so mail
from 127.0.0.x fails DMARC (RFC 9989: neither identifier aligned and passing); records
are served by dnsmasq on a loopback port. Exceptions are added with
`mxguard policy exceptions add` on the gateway's store and taken in with SIGHUP:
  - exc.test (p=reject) from 127.0.0.4/30 and quar.test (p=quarantine) from
    127.0.0.4/30, plus an already expired one for late.test (p=reject) from the same net;
  - exc.test from 127.0.0.5: accepted (250) with the tag header, the history's "dmarc"
    decision is action "tag", rule "exception:ID"; from 127.0.0.9 (outside the net):
    550 5.7.1;
  - quar.test from 127.0.0.5: accepted, not quarantined, rule "exception:ID"; from
    127.0.0.9: quarantined (check "dmarc");
  - a forged From: envelope sender in exc.test (inside the scope) with From: of
    other.test (p=reject): 550 5.7.1 (the exception covers exc.test's From only);
  - late.test (expired exception) from 127.0.0.5: 550 5.7.1; `policy exceptions list`
    shows it EXPIRED.
Expected answers come from RFC 9989 and docs/policy.md, not from running the code.
Exit 77 when dnsmasq is missing."""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker, Dnsmasq, wait_for, wait_log  # noqa: E402

if not os.path.exists("/usr/sbin/dnsmasq"):
    print("dnsmasq missing: skipped")
    sys.exit(77)

c = Checker()

domains = {"exc.test": "p=reject", "quar.test": "p=quarantine", "other.test": "p=reject",
           "late.test": "p=reject"}
dns_args = ["--local=/test/"]
for d, p in domains.items():
    dns_args.append(f"--txt-record={d},v=spf1 ip4:192.0.2.0/24 -all")
    dns_args.append(f"--txt-record=_dmarc.{d},v=DMARC1; {p}")


def message(frm, subject):
    return (f"From: <{frm}>\r\nTo: <u1@local.test>\r\nSubject: {subject}\r\n"
            f"Date: Sun, 06 Dec 2026 03:00:00 +0000\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@sender.test>\r\n\r\nHello {subject}.\r\n")


def send(gw, sender, frm, subject, source):
    """One transaction; returns (final reply code, text, queue id or None)."""
    cl = Client(gw.port, source=source)
    cl.reply()
    cl.cmd("EHLO client.sender.test")
    cl.cmd(f"MAIL FROM:<{sender}>")
    code, text = cl.cmd("RCPT TO:<u1@local.test>")
    if code != 250:
        cl.close()
        return code, text, None
    cl.cmd("DATA")
    code, text = cl.cmd(message(frm, subject).rstrip("\r\n") + "\r\n.")
    cl.cmd("QUIT")
    cl.close()
    return code, text, (text.split()[2] if code == 250 else None)


with Dnsmasq(*dns_args) as dns:
    top = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "1s"\ntries = 2\n'
           'hosts_file = ""\n'
           '[spf]\nenabled = true\nauthserv_id = "mx.test"\ntrusted_networks = []\n'
           '[spf.actions]\nfail = "accept"\nsoftfail = "accept"\n'
           '[dkim]\nenabled = true\n'
           '[dmarc]\nenabled = true\n')
    relay = 'local_domains = ["local.test"]\ntrusted_networks = []\n'
    with Gateway(mode="hold", top=top, relay=relay) as gw:
        hist = os.path.join(gw.state, "history.db")

        def add(*args):
            r = gw.cli("policy", "exceptions", "add", "--history", hist, "--by", "test", *args)
            # "exception ID added: ..."
            return int(r.stdout.split()[1])

        exc = add("--scope", "domain_net", "--domain", "exc.test", "--net", "127.0.0.4/30")
        quar = add("--scope", "domain_net", "--domain", "quar.test", "--net", "127.0.0.4/30",
                   "--expires", "90d")
        late = add("--scope", "domain_net", "--domain", "late.test", "--net", "127.0.0.4/30",
                   "--expires-at", str(int(time.time()) - 60))
        listed = gw.cli("policy", "exceptions", "list", "--history", hist).stdout
        late_line = [ln for ln in listed.splitlines() if ln.startswith(str(late) + " ")]
        c.ok(late_line and " EXPIRED " in late_line[0], f"the expired one is listed EXPIRED: {listed}")
        c.ok(all(" EXPIRED " not in ln for ln in listed.splitlines() if not ln.startswith(str(late) + " ")),
             "  and only that one")
        gw.proc.send_signal(1)  # SIGHUP: the gateway reads the exceptions again
        c.ok(wait_log(gw, "policy exceptions loaded live=2 expired=1 (reload)") > 0,
             "SIGHUP loads the two live exceptions and the expired one")

        code, text, q_in = send(gw, "alice@exc.test", "alice@exc.test", "exc inside", "127.0.0.5")
        c.eq(code, 250, f"exc.test p=reject from inside the exception's net: accepted ({text})")
        code, text, _ = send(gw, "alice@exc.test", "alice@exc.test", "exc outside", "127.0.0.9")
        c.ok(code == 550 and text.startswith("550 5.7.1"),
             f"exc.test from outside the net: still 550 5.7.1 ({code} {text})")
        code, text, q_quar_in = send(gw, "bob@quar.test", "bob@quar.test", "quar inside",
                                     "127.0.0.5")
        c.eq(code, 250, f"quar.test p=quarantine from inside: accepted ({text})")
        code, text, q_quar_out = send(gw, "bob@quar.test", "bob@quar.test", "quar outside",
                                      "127.0.0.9")
        c.eq(code, 250, f"quar.test from outside: 250 (quarantined) ({text})")
        code, text, _ = send(gw, "alice@exc.test", "ceo@other.test", "forged from", "127.0.0.5")
        c.ok(code == 550 and text.startswith("550 5.7.1"),
             f"a From of another domain is not covered: 550 5.7.1 ({code} {text})")
        code, text, _ = send(gw, "carol@late.test", "carol@late.test", "late", "127.0.0.5")
        c.ok(code == 550 and text.startswith("550 5.7.1"),
             f"an expired exception no longer applies: 550 5.7.1 ({code} {text})")

        msgs = gw.messages()
        # The DMARC tag goes on top at delivery (the control file's prepend, session.cpp).
        c.ok(q_in in msgs and "X-Mxguard-Policy: dmarc excepted (would reject" in msgs[q_in][0],
             "the excepted message is queued with the exception's tag header")

        def decisions():
            db = sqlite3.connect(hist)
            try:
                return db.execute(
                    "SELECT m.subject, d.action, d.rule FROM decisions d "
                    "JOIN messages m ON d.message = m.id WHERE d.\"check\" = 'dmarc'").fetchall()
            finally:
                db.close()
        rows = wait_for(lambda: len(decisions()) >= 6 and decisions(), "dmarc decisions recorded")
        by_subject = {r[0]: r[1:] for r in rows or []}
        c.eq(by_subject.get("exc inside"), ("tag", f"exception:{exc}"),
             "history: exc.test inside the net tagged by the exception")
        c.eq(by_subject.get("quar inside"), ("tag", f"exception:{quar}"),
             "history: quar.test inside the net tagged by the exception")
        c.eq(by_subject.get("exc outside", (None,))[0], "reject", "history: outside rejected")
        c.eq(by_subject.get("quar outside", (None,))[0], "quarantine",
             "history: outside quarantined")
        c.eq(by_subject.get("forged from", (None,))[0], "reject", "history: forged From rejected")
        c.eq(by_subject.get("late", (None,))[0], "reject", "history: expired exception: rejected")

        def quarantined():
            db = sqlite3.connect(hist)
            try:
                return {r[0]: r[1] for r in db.execute('SELECT queue_id, "check" FROM quarantine')}
            finally:
                db.close()
        q = wait_for(lambda: q_quar_out in quarantined() and quarantined(), "quarantine entry")
        c.eq((q or {}).get(q_quar_out), "dmarc", "quar.test from outside is quarantined (dmarc)")
        c.ok(q_quar_in not in (q or {}), "quar.test from inside is not quarantined")
        log = gw.log_text()
        c.ok(f"exception={exc} scope=domain_net action=tag" in log, "the log names the exception")
c.done()
