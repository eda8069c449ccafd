#!/usr/bin/python3
"""gateway_dmarc_psl.py: [dmarc] mode = "psl" (RFC 7489 legacy discovery, issue 10
section 2) in `mxguard serve`, end to end, beside the default RFC 9989 tree walk on the
same DNS data and the same messages. Messages are signed here by dkimpy (python3-dkim),
sent over raw SMTP, the records served by dnsmasq (--local=/uk/ and /test/: every other
name there is NXDOMAIN); the list is the pinned Public Suffix List of
../shared/conformance/psl (co.uk and ac.uk are public suffixes in it). SPF passes for
the envelope domain bulk.test, never aligned with the From domains below, so DMARC
rests on DKIM alone.

Records: _dmarc.shop.co.uk "p=reject"; _dmarc.a.co.uk "p=reject"; _dmarc.co.uk "p=none"
(no psd=); _dmarc.ac.uk "p=reject; psd=y". Expected, from the RFCs (not from our code):
  1. From mail.shop.co.uk, DKIM d=shop.co.uk (an aligned subdomain):
     psl:  RFC 7489 6.6.3: no record at the Author Domain, so the Organizational Domain's
           (shop.co.uk by the PSL, 3.2); relaxed alignment (3.1.1): both have the
           Organizational Domain shop.co.uk -> pass, accepted;
     tree: RFC 9989 4.10.2: co.uk has a record without psd=, so co.uk is the
           Organizational Domain of both and its record (p=none) applies; pass too.
  2. From a.co.uk, DKIM d=b.co.uk:
     psl:  the PSL makes a.co.uk and b.co.uk two Organizational Domains -> not aligned,
           a.co.uk's p=reject -> 550 5.7.1;
     tree: RFC 9989 4.10.2: co.uk has a record without psd=, so it is the Organizational
           Domain of both (the fewest labels with a record) -> aligned, pass, accepted.
  3. From brand.ac.uk (no record of its own), DKIM d=bulk.test (unaligned):
     psl:  RFC 7489 has no psd=; brand.ac.uk is its own Organizational Domain and has
           no record -> dmarc none, accepted;
     tree: the walk reaches ac.uk's psd=y record (RFC 9989 4.10.1, the PSD's policy
           applies) -> fail, p=reject -> 550 5.7.1.
The history records each result (messages.dmarc_result, dmarc_policy_domain).
Exit 77 when dkimpy, dnsmasq or the pinned PSL is missing."""
import base64
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker, Dnsmasq, wait_for  # noqa: E402

try:
    import dkim  # python3-dkim
except ImportError:
    print("SKIP: python3-dkim (dkimpy) not installed")
    sys.exit(77)
SHARED = os.environ.get("MXG_SHARED_DIR") or os.path.join(
    os.environ.get("MXG_SOURCE_DIR", "."), "..", "shared")
PSL = os.path.join(SHARED, "conformance", "psl", "public_suffix_list.dat")
if not os.path.exists("/usr/sbin/dnsmasq") or not os.path.exists(PSL):
    print(f"dnsmasq or {PSL} missing: skipped")
    sys.exit(77)

c = Checker()
work = tempfile.mkdtemp(prefix="mxg-dmarc-psl-")


def rsa_key(name):
    pem = os.path.join(work, name + ".pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", pem], check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return open(pem, "rb").read(), base64.b64encode(der).decode()


def txt(name, text):
    parts = [text[i:i + 200] for i in range(0, len(text), 200)]  # RFC 1035 3.3.14
    return f"--txt-record={name}," + ",".join(parts)


priv, pub = rsa_key("signer")
dns_args = ["--local=/uk/", "--local=/test/",
            txt("bulk.test", "v=spf1 ip4:127.0.0.0/8 -all"),
            txt("_dmarc.shop.co.uk", "v=DMARC1; p=reject"),
            txt("_dmarc.a.co.uk", "v=DMARC1; p=reject"),
            txt("_dmarc.co.uk", "v=DMARC1; p=none"),
            txt("_dmarc.ac.uk", "v=DMARC1; p=reject; psd=y")]
for d in ("shop.co.uk", "b.co.uk", "bulk.test"):
    dns_args.append(txt("sel._domainkey." + d, "v=DKIM1; k=rsa; p=" + pub))
# The From domains exist (RFC 9989 np= is not published, but keep them real names).
for d in ("mail.shop.co.uk", "a.co.uk", "brand.ac.uk"):
    dns_args.append(f"--host-record={d},192.0.2.10")

HDRS = [b"from", b"to", b"subject", b"date", b"message-id"]


def signed(frm, subject, d):
    m = (b"From: <" + frm.encode() + b">\r\nTo: <u1@local.test>\r\nSubject: " +
         subject.encode() + b"\r\nDate: Sun, 06 Dec 2026 03:00:00 +0000\r\nMessage-ID: <" +
         subject.replace(" ", "-").encode() + b"@sender.test>\r\n\r\nHello " +
         subject.encode() + b".\r\n")
    return dkim.sign(m, b"sel", d.encode(), priv, include_headers=HDRS) + m


def send(gw, msg):
    """One transaction from bounces@bulk.test; returns (final reply code, text)."""
    cl = Client(gw.port, source="127.0.0.5")
    cl.reply()
    cl.cmd("EHLO client.sender.test")
    cl.cmd("MAIL FROM:<bounces@bulk.test>")
    code, text = cl.cmd("RCPT TO:<u1@local.test>")
    if code == 250:
        cl.cmd("DATA")
        body = msg.decode().replace("\r\n.", "\r\n..")
        code, text = cl.cmd(body.rstrip("\r\n") + "\r\n.")
    cl.cmd("QUIT")
    cl.close()
    return code, text


CASES = [  # subject, From, d=, psl: (code, dmarc result), tree: (code, dmarc result)
    ("aligned subdomain", "alice@mail.shop.co.uk", "shop.co.uk", (250, "pass"), (250, "pass")),
    ("sibling under co.uk", "alice@a.co.uk", "b.co.uk", (550, "fail"), (250, "pass")),
    ("under a psd", "alice@brand.ac.uk", "bulk.test", (250, "none"), (550, "fail")),
]

relay = 'local_domains = ["local.test"]\ntrusted_networks = ["127.0.0.1/32"]\n'
with Dnsmasq(*dns_args) as dns:
    for mode in ("psl", "tree"):
        dmarc = f'mode = "psl"\npsl_file = "{PSL}"\n' if mode == "psl" else ""
        top = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "1s"\ntries = 2\n'
               'hosts_file = ""\n'
               '[spf]\nenabled = true\nauthserv_id = "mx.test"\n'
               '[dkim]\nenabled = true\n'
               f'[dmarc]\nenabled = true\n{dmarc}')
        with Gateway(mode="hold", top=top, relay=relay) as gw:
            for subject, frm, d, psl, tree in CASES:
                want_code, _ = psl if mode == "psl" else tree
                code, text = send(gw, signed(frm, f"{mode} {subject}", d))
                c.eq(code, want_code, f"{mode}: {subject}: From {frm}, d={d} ({text})")
                if want_code == 550:
                    c.ok(text.startswith("550 5.7.1"), f"{mode}: {subject}: 550 5.7.1 ({text})")

            hist = os.path.join(gw.state, "history.db")

            def results():
                db = sqlite3.connect(hist)
                try:
                    return {r[0]: r[1:] for r in db.execute(
                        "SELECT subject, dmarc_result, dmarc_policy_domain, dmarc_dkim_aligned "
                        "FROM messages")}
                except sqlite3.Error:
                    return {}
                finally:
                    db.close()
            rows = wait_for(lambda: len(results()) >= len(CASES) and results(),
                            f"{mode}: history rows") or {}
            for subject, frm, d, psl, tree in CASES:
                _, want = psl if mode == "psl" else tree
                got = rows.get(f"{mode} {subject}", (None, None, None))
                c.eq(got[0], want, f"{mode}: {subject}: history dmarc_result")
            # Where the policy came from: RFC 7489 6.6.3, the PSL's Organizational Domain
            # shop.co.uk; RFC 9989 4.10.1/4.10.2, the Organizational Domain is co.uk (the
            # fewest labels with a record, no psd=), so co.uk's record applies.
            want_from = "shop.co.uk" if mode == "psl" else "co.uk"
            c.eq(rows.get(f"{mode} aligned subdomain", (None,) * 3)[1], want_from,
                 f"{mode}: aligned subdomain: the policy is {want_from}'s record")
            c.eq(rows.get(f"{mode} aligned subdomain", (None,) * 3)[2], 1,
                 f"{mode}: aligned subdomain: DKIM aligned")
            if mode == "tree":
                c.eq(rows.get("tree under a psd", (None,) * 3)[1], "ac.uk",
                     "tree: under a psd: the PSD's record applies")
c.done()
