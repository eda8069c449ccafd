#!/usr/bin/env python3
"""gateway_limits.py: relay control and limits of the running gateway (issue 3
sections 2 and 3). Open-relay probes from an untrusted client are all refused
with 554 5.7.1; each limit (line length, message size, recipients, errors per
session, sessions per IP, talking before the greeting) is configured small and
crossed once."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
import re  # noqa: E402

from mxg_gateway_harness import Gateway, Client, Checker, wait_for  # noqa: E402

PROBES = [
    "user%ext.test@local.test", '"user@ext.test"@local.test', "@local.test:user@ext.test",
    "ext.test!user@local.test", "user@ext.test@local.test", "user@[127.0.0.1]", "<user@ext.test.>",
    "user@ext.test", '""@local.test', '"user"@local.test',
]


def all_ended(gw):
    """Every session the log says started has logged its disconnect line."""
    log = gw.log_text()
    return len(re.findall(r"\bconnect sid=", log)) == len(re.findall(r"\bdisconnect sid=", log))


def rcpt_arg(p):
    return p if p.startswith("<") else f"<{p}>"


c = Checker()
LIMITS = """
[listener.test.limits]
line_length = 512
message_size = 2048
recipients = 3
errors = 4
sessions_per_ip = 3
[listener.test.timeouts]
greeting_delay = "300ms"
command = "3s"
"""
with Gateway(mode="hold", listener=LIMITS) as gw:
    # --- open-relay probes from an untrusted client (trusted_networks = [])
    cl = Client(gw.port)
    cl.reply()
    cl.cmd("ehlo probe.test")
    c.eq(cl.cmd("mail from:<probe@ext.test>")[0], 250, "probe: MAIL")
    n = 0
    for p in PROBES + [p.upper() for p in PROBES]:
        code, text = cl.cmd(f"rcpt to:{rcpt_arg(p)}")
        # a syntax error (501/553) is also a refusal; relay refusals must be 554 5.7.1
        c.ok(code >= 500, f"relay probe {p!r} refused: {text!r}")
        n += 1
        if code == 554:
            c.ok("5.7.1" in text, f"relay probe {p!r}: 5.7.1")
        if n % 3 == 0:  # stay under the error limit: a fresh session every few probes
            cl.cmd("quit")
            cl.close()
            cl = Client(gw.port)
            cl.reply()
            cl.cmd("ehlo probe.test")
            cl.cmd("mail from:<probe@ext.test>")
    code, text = cl.cmd("rcpt to:<user@ext.test>")
    c.eq(code, 554, f"plain foreign domain refused with 554: {text!r}")
    c.ok("Relay access denied" in text, "554 text says relay access denied")
    c.eq(cl.cmd("rcpt to:<user@local.test>")[0], 250, "local domain accepted")
    # RFC 5321 4.5.1: <Postmaster> is this host's postmaster; with no [relay] postmaster
    # configured it is refused, never sent on by the default route (issue 16 item 3).
    c.eq(cl.cmd("rcpt to:<Postmaster>")[0], 550, "<Postmaster> refused without [relay] postmaster")
    cl.cmd("quit")
    cl.close()
    c.eq(len(gw.messages()), 0, "no probe message queued")

    # --- command line length (RFC 5321 4.5.3.1.4)
    cl = Client(gw.port)
    cl.reply()
    code, text = cl.cmd("ehlo " + "a" * 600)
    c.eq(code, 500, f"overlong command line: 500 ({text!r})")
    c.eq(cl.cmd("ehlo ok.test")[0], 250, "session goes on after an overlong line")
    # --- recipients per message
    cl.cmd("mail from:<a@local.test>")
    codes = [cl.cmd(f"rcpt to:<r{i}@local.test>")[0] for i in range(4)]
    c.eq(codes[:3], [250, 250, 250], "3 recipients accepted")
    c.ok(codes[3] in (452, 552), f"4th recipient refused with 452/552: {codes[3]}")
    # --- message size (SIZE, RFC 1870)
    code, text = cl.cmd("data")
    cl.send("subject: big\r\n\r\n" + ("x" * 70 + "\r\n") * 100 + ".\r\n")
    code, text = cl.reply()
    c.eq(code, 552, f"message over message_size refused: {text!r}")
    cl.cmd("rset")
    code, text = cl.cmd("mail from:<a@local.test> SIZE=100000")
    c.eq(code, 552, f"SIZE= over the limit refused at MAIL: {text!r}")
    cl.cmd("quit")
    cl.close()

    # --- errors per session: after 4 errors the next command gets 421 and the close
    cl = Client(gw.port)
    cl.reply()
    codes = [cl.cmd("bogus")[0] for _ in range(5)]
    c.eq(codes, [500, 500, 500, 500, 421], "4 errors allowed, then 421")
    c.ok(cl.closed(), "connection closed after too many errors")
    cl.close()

    # --- talking before the greeting: 554 and close
    cl = Client(gw.port)
    cl.send("EHLO early.test\r\n")
    code, text = cl.reply()
    c.eq(code, 554, f"pregreet talker gets 554: {text!r}")
    c.ok(cl.closed(), "pregreet talker disconnected")
    cl.close()

    # --- sessions per IP: the 4th concurrent session gets 421 4.7.0
    c.ok(wait_for(lambda: all_ended(gw), "earlier sessions ended"), "earlier sessions ended")
    held = []
    for _ in range(3):
        h = Client(gw.port)
        h.reply()
        held.append(h)
    extra = Client(gw.port)
    code, text = extra.reply()
    c.eq(code, 421, f"4th concurrent session from one IP refused: {text!r}")
    c.ok("4.7.0" in text, "refusal is 4.7.0")
    extra.close()
    for h in held:
        h.cmd("quit")
        h.close()
    c.ok(wait_for(lambda: all_ended(gw), "held sessions ended"), "held sessions ended")
    again = Client(gw.port)
    c.eq(again.reply()[0], 220, "sessions free again after QUIT")
    # --- command timeout: 421 4.4.2 after 3 s of silence
    t0 = time.time()
    code, text = again.reply()
    c.ok(code == 421 and "4.4.2" in text and time.time() - t0 < 10, f"idle timeout 421 4.4.2: {text!r}")
    again.close()
    c.eq(gw.stop(), 0, "SIGTERM: exit 0")
c.done()
