#!/usr/bin/env python3
"""gateway_transcript.py: issue 3 section 7. The telnet transcript, replayed byte
for byte with CRLF, must put the message in the queue (control + data file) and
`mxguard queue show` must display it; the same transcript with the web-obfuscated
address text `[email protected]` must get 501/553 and the session must go on.
Also: PIPELINING (RFC 2920) replies in order, and smuggling (`\\n.\\n` does not end
DATA, RFC 5321 4.1.1.4 / CVE-2023-51765)."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker  # noqa: E402

TRANSCRIPT = (b"helo localhost\r\n"
              b"mail from: drj@drj.test\r\n"
              b"rcpt to: user@drj.test\r\n"
              b"data\r\n"
              b"subject: test of the capture-only instance\r\n"
              b"\r\n"
              b"Just a test!\r\n"
              b"-Dr J\r\n"
              b".\r\n"
              b"quit\r\n")


def hosts_name(addr):
    """The name /etc/hosts gives addr (first line, lower case), as the gateway's rDNS
    asks the host table first; b"unknown" when it lists none."""
    try:
        for line in open("/etc/hosts"):
            f = line.split("#", 1)[0].split()
            if len(f) >= 2 and f[0] == addr:
                return f[1].lower().rstrip(".").encode()
    except OSError:
        pass
    return b"unknown"


LOOPBACK_NAME = hosts_name("127.0.0.1")

c = Checker()
with Gateway(mode="hold") as gw:
    # 1. typed line by line, reading each reply as a person in telnet would
    cl = Client(gw.port)
    code, _ = cl.reply()
    c.eq(code, 220, "greeting")
    replies = []
    lines = TRANSCRIPT.split(b"\r\n")[:-1]
    in_data = False
    for line in lines:
        cl.send(line + b"\r\n")
        if in_data and line != b".":
            continue
        code, text = cl.reply()
        replies.append((code, text))
        in_data = code == 354
    codes = [r[0] for r in replies]
    c.eq(codes, [250, 250, 250, 354, 250, 221], "transcript reply codes")
    m = re.match(r"250 2\.0\.0 (\S+) Message accepted for delivery", replies[4][1])
    c.ok(m is not None, f"250 after DATA names the queue id: {replies[4][1]!r}")
    qid = m.group(1) if m else ""
    c.ok(cl.closed(), "connection closed after QUIT")
    cl.close()

    msgs = gw.messages()
    c.ok(qid in msgs, f"message {qid} has a control and a data file in the queue")
    if qid in msgs:
        ctl, data = msgs[qid]
        c.ok("sender: drj@drj.test" in ctl, "control file: sender")
        c.ok("user@drj.test" in ctl, "control file: recipient")
        c.ok(re.search(r"mode: hold", ctl) is not None, "control file: hold mode")
        c.ok(data.startswith(b"Received: from localhost (" + LOOPBACK_NAME +
                             b" [127.0.0.1])\r\n\tby mx.test"),
             f"data starts with the Received header: {data[:80]!r}")
        c.ok(f"id {qid}".encode() in data and b"for <user@drj.test>;" in data,
             "Received header has the queue id and the single recipient")
        c.ok(data.endswith(b"subject: test of the capture-only instance\r\n\r\nJust a test!\r\n-Dr J\r\n"),
             "data file holds the message exactly")
    sock = os.path.join(gw.state, "control.sock")
    r = gw.cli("queue", "--socket", sock, "show", qid, check=False)
    c.eq(r.returncode, 0, f"mxguard queue show (online) exit: {r.stderr}")
    c.ok(qid in r.stdout and "drj@drj.test" in r.stdout, "queue show displays the message")
    r = gw.cli("queue", "--socket", sock, "list", check=False)
    c.ok(r.returncode == 0 and qid in r.stdout, "queue list (online) lists it")

    # 2. the whole transcript in one write (pipelined as a paste into telnet would be)
    cl = Client(gw.port)
    cl.reply()
    cl.send(TRANSCRIPT)
    codes = [cl.reply()[0] for _ in range(6)]
    c.eq(codes, [250, 250, 250, 354, 250, 221], "transcript pasted at once")
    cl.close()

    # 3. the web-obfuscated address text: 501/553, the session goes on
    cl = Client(gw.port)
    cl.reply()
    c.eq(cl.cmd("helo localhost")[0], 250, "obfuscated: helo")
    code, text = cl.cmd("mail from: [email protected]")
    c.ok(code in (501, 553), f"MAIL FROM [email protected] refused with 501/553: {text!r}")
    c.eq(cl.cmd("mail from: drj@drj.test")[0], 250, "session goes on: real MAIL FROM")
    code, text = cl.cmd("rcpt to: [email protected]")
    c.ok(code in (501, 553), f"RCPT TO [email protected] refused with 501/553: {text!r}")
    c.eq(cl.cmd("rcpt to: user@drj.test")[0], 250, "session goes on: real RCPT TO")
    c.eq(cl.cmd("data")[0], 354, "obfuscated: data")
    cl.send("subject: x\r\n\r\nbody\r\n.\r\n")
    c.eq(cl.reply()[0], 250, "obfuscated: message accepted after the refusals")
    c.eq(cl.cmd("quit")[0], 221, "obfuscated: quit")
    cl.close()

    # 4. smuggling: <LF>.<LF> and <CR>.<CR> inside DATA do not end it; reject by default
    cl = Client(gw.port)
    cl.reply()
    cl.cmd("ehlo client.test")
    cl.cmd("mail from:<a@local.test>")
    cl.cmd("rcpt to:<b@local.test>")
    cl.cmd("data")
    cl.send(b"subject: smuggle\r\n\r\nfirst\n.\nmail from:<evil@x.test>\r\nrcpt to:<v@local.test>\r\n"
            b"data\r\nsmuggled\r\n.\r\n")
    code, text = cl.reply()
    c.ok(code == 550 and "5.6.0" in text, f"bare LF in DATA refused (550 5.6.0): {text!r}")
    # the session is still in sync: the next command gets its own reply
    c.eq(cl.cmd("noop")[0], 250, "session in sync after the smuggling attempt")
    cl.cmd("quit")
    cl.close()
    c.ok(not any(b"smuggled" in d for _, d in gw.messages().values()),
         "no smuggled message in the queue")

    # 5. PIPELINING: one write, replies in order (RFC 2920 3.1)
    cl = Client(gw.port)
    cl.reply()
    code, text = cl.cmd("ehlo client.test")
    c.ok("PIPELINING" in text and "8BITMIME" in text and "ENHANCEDSTATUSCODES" in text
         and "SIZE" in text and "CHUNKING" in text, f"EHLO keywords: {text!r}")
    cl.send("mail from:<p@local.test>\r\nrcpt to:<x@local.test>\r\nrcpt to:<y@ext.test>\r\n"
            "rcpt to:<z@local.test>\r\ndata\r\n")
    codes = [cl.reply()[0] for _ in range(5)]
    c.eq(codes, [250, 250, 554, 250, 354], "pipelined replies in order (one relay refusal)")
    cl.send("subject: p\r\n\r\npipelined\r\n.\r\nrset\r\nnoop\r\nquit\r\n")
    codes = [cl.reply()[0] for _ in range(4)]
    c.eq(codes, [250, 250, 250, 221], "pipelined end of data, RSET, NOOP, QUIT")
    cl.close()

    # 6. BDAT (RFC 3030)
    cl = Client(gw.port)
    cl.reply()
    cl.cmd("ehlo client.test")
    cl.cmd("mail from:<q@local.test>")
    cl.cmd("rcpt to:<r@local.test>")
    body = b"subject: chunked\r\n\r\nin two chunks\r\n"
    cl.send(b"BDAT 10\r\n" + body[:10])
    c.eq(cl.reply()[0], 250, "BDAT first chunk")
    cl.send(b"BDAT %d LAST\r\n" % (len(body) - 10) + body[10:])
    code, text = cl.reply()
    c.ok(code == 250 and "Message accepted" in text, f"BDAT LAST queued: {text!r}")
    cl.cmd("quit")
    cl.close()
    found = [d for _, d in gw.messages().values() if d.endswith(body)]
    c.ok(len(found) == 1, "BDAT message stored exactly")

    log = gw.log_text()
    c.ok(re.search(r"queued sid=\S+ qid=" + qid, log) is not None, "log: queued line with sid and qid")
    c.eq(gw.stop(), 0, "SIGTERM: exit 0")
c.done()
