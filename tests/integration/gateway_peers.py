#!/usr/bin/env python3
"""gateway_peers.py: real SMTP clients nobody here wrote send to mxguard (issue 3
section 7): swaks (plain and --tls), python smtplib (plain and STARTTLS, RFC 3207)
against a self-signed certificate made here, and postfix's smtp-source with
several sessions. Every message must land in the queue."""
import os
import smtplib
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Checker  # noqa: E402

c = Checker()
with Gateway(mode="hold", tls=True) as gw:
    def count():
        return len(gw.messages())

    # swaks, plain
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{gw.port}", "--from", "a@local.test",
                        "--to", "b@local.test", "--header", "Subject: swaks plain",
                        "--body", "swaks-plain-token"], capture_output=True, text=True, timeout=60)
    c.ok(r.returncode == 0 and "Message accepted for delivery" in r.stdout,
         f"swaks plain accepted (exit {r.returncode})")
    # swaks, STARTTLS
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{gw.port}", "--tls", "--from", "a@local.test",
                        "--to", "b@local.test", "--header", "Subject: swaks tls",
                        "--body", "swaks-tls-token"], capture_output=True, text=True, timeout=60)
    c.ok(r.returncode == 0 and "Message accepted for delivery" in r.stdout,
         f"swaks --tls accepted (exit {r.returncode}) {r.stdout[-300:]!r}")
    # smtplib, plain
    with smtplib.SMTP("127.0.0.1", gw.port, timeout=30) as s:
        s.ehlo("smtplib.test")
        c.ok(s.has_extn("starttls"), "STARTTLS offered when a certificate is configured")
        refused = s.sendmail("p@local.test", ["q@local.test"],
                             b"Subject: smtplib\r\n\r\nsmtplib-plain-token\r\n")
        c.eq(refused, {}, "smtplib plain: all recipients accepted")
    # smtplib, STARTTLS against the self-signed cert
    ctx = ssl.create_default_context(cafile=gw.cert)
    ctx.check_hostname = False
    with smtplib.SMTP("127.0.0.1", gw.port, timeout=30) as s:
        s.ehlo("smtplib.test")
        code, _ = s.starttls(context=ctx)
        c.eq(code, 220, "smtplib STARTTLS 220")
        s.ehlo("smtplib.test")
        c.ok(not s.has_extn("starttls"), "STARTTLS not offered again inside TLS")
        refused = s.sendmail("p@local.test", ["q@local.test", "r@local.test"],
                             b"Subject: smtplib tls\r\n\r\nsmtplib-tls-token\r\n")
        c.eq(refused, {}, "smtplib STARTTLS: accepted")
    # smtp-source: 50 messages over 5 sessions
    before = count()
    r = subprocess.run(["/usr/sbin/smtp-source", "-s", "5", "-m", "50", "-l", "1024",
                        "-f", "src@local.test", "-t", "dst@local.test", f"127.0.0.1:{gw.port}"],
                       capture_output=True, text=True, timeout=120)
    c.eq(r.returncode, 0, f"smtp-source exit {r.stderr[-300:]!r}")
    c.eq(count() - before, 50, "smtp-source: 50 messages queued")

    msgs = gw.messages()
    datas = [d for _, d in msgs.values()]
    for token in ["swaks-plain-token", "swaks-tls-token", "smtplib-plain-token", "smtplib-tls-token"]:
        c.ok(any(token.encode() in d for d in datas), f"{token} is in the queue")
    tls_msgs = [d for d in datas if b"smtplib-tls-token" in d]
    c.ok(bool(tls_msgs) and b"with ESMTPS" in tls_msgs[0] and b"version=TLSv1." in tls_msgs[0],
         "Received header of the TLS message names ESMTPS and the TLS version")
    c.eq(gw.stop(), 0, "SIGTERM: exit 0")
c.done()
