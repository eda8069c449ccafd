#!/usr/bin/python3
"""gateway_dmarc.py: [dkim] + [dmarc] in `mxguard serve` (issue 10 section 4), end to end:
messages signed here by dkimpy (python3-dkim, a peer nobody here wrote), sent over raw
SMTP from 127.0.0.5, keys / SPF / DMARC records served by a real DNS server (dnsmasq on
a loopback port; --local=/test/ answers NXDOMAIN for every other name under .test, so
the RFC 9989 tree walk gets authoritative answers), delivered to smtp-sink:
  - p=reject, nothing aligned          -> 550 5.7.1 after DATA, nothing queued;
  - p=quarantine, nothing aligned      -> 250, held, quarantine entry with check "dmarc";
  - p=none, nothing aligned            -> delivered, Authentication-Results dmarc=fail;
  - pass (aligned DKIM and SPF)        -> delivered with ONE Authentication-Results field
    of ours, on top (above Received-SPF and our Received): spf, dkim (one entry per
    signature, two here), dmarc, arc; a forged field claiming our authserv-id removed;
  - local override ([[dmarc.rule]] fail_reject = "quarantine") -> quarantined, not
    rejected; a monitor rule (fail_none = "reject", monitor) -> delivered, the history
    records would=reject;
  - ARC (RFC 8617 7.2): a list (lists.test, trusted sealer) breaks the author's DKIM
    signature and seals with AAR dmarc=pass -> accepted ("arc override"); the same from
    an untrusted sealer -> 550 5.7.1;
  - the history records every DMARC decision (decisions table, check "dmarc").
Expected answers come from RFC 9989 / RFC 8617 / the configuration below, not from
running the code. Exit 77 when dkimpy, dnsmasq or smtp-sink is missing."""
import base64
import glob
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, Dnsmasq, wait_for,  # noqa: E402
                                 free_port)

try:
    import dkim  # python3-dkim
except ImportError:
    print("SKIP: python3-dkim (dkimpy) not installed")
    sys.exit(77)
if not os.path.exists("/usr/sbin/dnsmasq") or not os.path.exists("/usr/sbin/smtp-sink"):
    print("dnsmasq or smtp-sink missing: skipped")
    sys.exit(77)

c = Checker()
work = tempfile.mkdtemp(prefix="mxg-dmarc-")


def rsa_key(name):
    pem = os.path.join(work, name + ".pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", pem], check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return open(pem, "rb").read(), base64.b64encode(der).decode()


def txt(name, text):
    # dnsmasq: one TXT record of several character-strings (RFC 1035 3.3.14: <= 255 each).
    parts = [text[i:i + 200] for i in range(0, len(text), 200)]
    return f"--txt-record={name}," + ",".join(parts)


author_priv, author_pub = rsa_key("author")
esp_priv, esp_pub = rsa_key("esp")
list_priv, list_pub = rsa_key("list")

# Domains: SPF authorizes 127.0.0.0/8 for each sender domain; DMARC records as named.
domains = {"reject.test": "p=reject", "quar.test": "p=quarantine", "none.test": "p=none",
           "partner.test": "p=reject", "watch.test": "p=none", "pass.test": "p=reject"}
dns_args = ["--local=/test/"]
for d, p in domains.items():
    dns_args.append(txt(d, "v=spf1 ip4:127.0.0.0/8 -all"))
    dns_args.append(txt("_dmarc." + d, "v=DMARC1; " + p))
    dns_args.append(txt("sel._domainkey." + d, "v=DKIM1; k=rsa; p=" + author_pub))
dns_args.append(txt("bulk.test", "v=spf1 ip4:127.0.0.0/8 -all"))
dns_args.append(txt("esp._domainkey.bulk.test", "v=DKIM1; k=rsa; p=" + esp_pub))
for lst in ("lists.test", "untrusted.test"):
    dns_args.append(txt(lst, "v=spf1 ip4:127.0.0.0/8 -all"))
    dns_args.append(txt("arc._domainkey." + lst, "v=DKIM1; k=rsa; p=" + list_pub))

HDRS = [b"from", b"to", b"subject", b"date", b"message-id"]


def message(frm, subject, extra=b""):
    return (extra + b"From: <" + frm.encode() + b">\r\nTo: <u1@local.test>\r\nSubject: " +
            subject.encode() + b"\r\nDate: Sun, 06 Dec 2026 03:00:00 +0000\r\nMessage-ID: <" +
            subject.replace(" ", "-").encode() + b"@sender.test>\r\n\r\nHello " +
            subject.encode() + b".\r\n")


def sign(m, domain, priv, selector=b"sel"):
    return dkim.sign(m, selector, domain.encode(), priv, include_headers=HDRS) + m


def arc_forward(original, sealer):
    """What a mailing list does: checks the author's message (A-R of its own), changes the
    subject and adds a footer (the author's signature breaks), then seals (ARC i=1)."""
    ar = (b"Authentication-Results: " + sealer.encode() + b"; dkim=pass header.d=reject.test;"
          b" dmarc=pass header.from=reject.test\r\n")
    changed = original.replace(b"Subject: ", b"Subject: [list] ") + b"-- \r\nlist footer\r\n"
    seal = dkim.arc_sign(ar + changed, b"arc", sealer.encode(), list_priv, sealer.encode(),
                         include_headers=HDRS)
    return b"".join(seal) + changed


def send(gw, sender, msg, source="127.0.0.5"):
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
    body = msg.decode().replace("\r\n.", "\r\n..")
    code, text = cl.cmd(body.rstrip("\r\n") + "\r\n.")
    cl.cmd("QUIT")
    cl.close()
    qid = text.split()[2] if code == 250 else None
    return code, text, qid


sink_port = free_port()
sink_dir = os.path.join(work, "sink")
os.makedirs(sink_dir)
with Dnsmasq(*dns_args) as dns:
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "root", "-d", sink_dir + "/%M.",
                             f"127.0.0.1:{sink_port}", "100"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    routes = os.path.join(work, "routes")
    with open(routes, "w") as f:
        f.write(f"* relay:[127.0.0.1]:{sink_port}\n")
    top = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "1s"\ntries = 2\n'
           'hosts_file = ""\n'
           f'[routing]\ntable = "{routes}"\n'
           '[spf]\nenabled = true\nauthserv_id = "mx.test"\n'
           '[spf.actions]\nfail = "accept"\nsoftfail = "accept"\n'
           '[dkim]\nenabled = true\n'
           '[dmarc]\nenabled = true\ntrusted_arc_sealers = ["lists.test"]\n'
           '[[dmarc.rule]]\nname = "partner"\ndomains = ["partner.test"]\n'
           'fail_reject = "quarantine"\n'
           '[[dmarc.rule]]\nname = "watch"\ndomains = ["watch.test"]\nfail_none = "reject"\n'
           'monitor = true\n')
    relay = 'local_domains = ["local.test"]\ntrusted_networks = ["127.0.0.1/32"]\n'
    with Gateway(mode="deliver", top=top, relay=relay) as gw:
        # Nothing aligned: the From domain's mail sent by a bulk sender signing as itself.
        def unaligned(dom, subject):
            return sign(message("alice@" + dom, subject), "bulk.test", esp_priv, b"esp")

        code, text, _ = send(gw, "bounces@bulk.test", unaligned("reject.test", "dmarc reject"))
        c.ok(code == 550 and text.startswith("550 5.7.1"), f"p=reject: 550 5.7.1 ({code} {text})")
        c.ok("reject.test" in text and "http" not in text, "p=reject: the text names the domain")

        code, text, qquar = send(gw, "bounces@bulk.test", unaligned("quar.test", "dmarc quarantine"))
        c.eq(code, 250, f"p=quarantine: answered 250 ({text})")

        code, text, _ = send(gw, "bounces@bulk.test", unaligned("none.test", "dmarc none"))
        c.eq(code, 250, f"p=none: delivered ({text})")

        # Aligned pass, signed twice (author and ESP), with a forged A-R of our id.
        forged = b"Authentication-Results: mx.test; dmarc=pass header.from=reject.test\r\n"
        m = sign(sign(message("alice@pass.test", "dmarc pass", forged), "pass.test", author_priv),
                 "bulk.test", esp_priv, b"esp")
        code, text, _ = send(gw, "alice@pass.test", m)
        c.eq(code, 250, f"pass: delivered ({text})")

        code, text, qpartner = send(gw, "bounces@bulk.test", unaligned("partner.test", "partner"))
        c.eq(code, 250, f"override: partner.test p=reject quarantined, not rejected ({text})")

        code, text, _ = send(gw, "bounces@bulk.test", unaligned("watch.test", "watch"))
        c.eq(code, 250, f"monitor: p=none accepted, the rule only records ({text})")

        original = sign(message("alice@reject.test", "arc trusted"), "reject.test", author_priv)
        code, text, _ = send(gw, "list-bounces@lists.test", arc_forward(original, "lists.test"))
        c.eq(code, 250, f"ARC: trusted sealer overrides the DMARC fail ({code} {text})")
        original = sign(message("alice@reject.test", "arc untrusted"), "reject.test", author_priv)
        code, text, _ = send(gw, "list-bounces@untrusted.test",
                             arc_forward(original, "untrusted.test"))
        c.ok(code == 550 and "5.7.1" in text, f"ARC: untrusted sealer, still 550 ({code} {text})")

        def with_subject(s):
            out = []
            for p in glob.glob(os.path.join(sink_dir, "*")):
                t = open(p, errors="replace").read().replace("\r\n", "\n")
                if f"\nSubject: {s}\n" in t or t.startswith(f"Subject: {s}\n"):
                    out.append(t)
            return out

        def header_of(t):
            """The header as we sent it on: without smtp-sink's X-* lines and its own
            Received field ("by smtp-sink"), which it puts above everything."""
            h = t.split("\n\n", 1)[0]
            at = h.find("by smtp-sink")
            if at >= 0:
                nxt = h.find("\n", at)
                while nxt >= 0 and h[nxt + 1:nxt + 2] in (" ", "\t"):
                    nxt = h.find("\n", nxt + 1)
                h = h[nxt + 1:] if nxt >= 0 else ""
            return h

        got = wait_for(lambda: with_subject("dmarc pass"), "pass delivered")
        if got:
            h = header_of(got[0])
            c.eq(h.count("Authentication-Results: mx.test"), 1, "pass: exactly one A-R of ours")
            c.ok(h.startswith("Authentication-Results: mx.test;"), "pass: our A-R on top")
            i_ar, i_rs, i_rc = (h.find("Authentication-Results: mx.test"),
                                h.find("Received-SPF:"), h.find("Received: from client.sender.test"))
            c.ok(0 <= i_ar < i_rs < i_rc, f"pass: A-R, Received-SPF, Received ({i_ar},{i_rs},{i_rc})")
            ar = h[i_ar:i_rs].replace("\n\t", " ")
            for frag in ("spf=pass smtp.mailfrom=alice@pass.test", "dkim=pass header.d=pass.test",
                         "dkim=pass header.d=bulk.test", "dmarc=pass", "header.from=pass.test",
                         "arc=none"):
                c.ok(frag in ar, f"pass: A-R has {frag!r} ({ar})")
            c.eq(ar.count("dkim="), 2, "pass: one dkim entry per signature")
            c.ok(ar.find("spf=") < ar.find("dkim=") < ar.find("dmarc=") < ar.find("arc="),
                 "pass: spf, dkim, dmarc, arc in order")
            c.ok("dmarc=pass header.from=reject.test" not in h, "pass: the forged A-R is removed")
        else:
            c.ok(False, "pass delivered")
        got = wait_for(lambda: with_subject("dmarc none"), "p=none delivered")
        c.ok(got and "dmarc=fail" in header_of(got[0]).replace("\n\t", " "),
             "p=none: delivered with dmarc=fail in the A-R")
        got = wait_for(lambda: with_subject("[list] arc trusted"), "ARC override delivered")
        c.ok(got and "arc=pass" in header_of(got[0]).replace("\n\t", " "),
             "ARC override: delivered, A-R says arc=pass")
        c.eq(with_subject("dmarc quarantine"), [], "p=quarantine: not delivered")

        sock = os.path.join(gw.state, "control.sock")
        hist = os.path.join(gw.state, "history.db")
        qargs = ["--socket", sock, "--history", hist, "--queue-dir", os.path.join(gw.state, "queue")]
        import json
        listed = wait_for(lambda: qquar and qquar in gw.cli("quarantine", *qargs, "list", "--json").stdout,
                          "quarantine lists the p=quarantine message")
        c.ok(listed, "quarantine list shows the p=quarantine message")
        r = gw.cli("quarantine", *qargs, "list", "--json")
        entries = json.loads(r.stdout)
        by_id = {e.get("id"): e for e in entries.get("messages", [])}
        c.eq(by_id.get(qquar, {}).get("check"), "dmarc", "quarantine entry has check dmarc")
        c.eq(by_id.get(qpartner, {}).get("check"), "dmarc", "override: quarantine check dmarc")
        c.eq(by_id.get(qpartner, {}).get("rule"), "partner", "override: the rule is named")

        def decisions():
            db = sqlite3.connect(hist)
            try:
                return db.execute(
                    "SELECT m.subject, d.action, d.rule, d.monitor, d.would FROM decisions d "
                    "JOIN messages m ON d.message = m.id WHERE d.\"check\" = 'dmarc'").fetchall()
            finally:
                db.close()
        rows = wait_for(lambda: len(decisions()) >= 8 and decisions(), "dmarc decisions recorded")
        rows = rows or []
        by_subject = {r[0]: r for r in rows}
        c.eq(by_subject.get("dmarc reject", (None, None))[1], "reject", "history: p=reject rejected")
        c.eq(by_subject.get("dmarc quarantine", (None, None))[1], "quarantine",
             "history: p=quarantine quarantined")
        c.eq(by_subject.get("watch", (None,) * 5)[1:], ("accept", "watch", 1, "reject"),
             "history: monitor rule's would-action")
        c.eq(by_subject.get("[list] arc trusted", (None,) * 5)[1:3], ("accept", "arc override"),
             "history: ARC override recorded")
    sink.kill()
c.done()
