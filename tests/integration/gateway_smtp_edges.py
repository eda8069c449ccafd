#!/usr/bin/env python3
"""gateway_smtp_edges.py: issue 16 items 3 and 7 against the running gateway.

- RCPT TO:<Postmaster> (no domain, any case; RFC 5321 4.5.1) is queued for the
  configured [relay] postmaster, never as a bare "Postmaster"; without one it is
  refused with 550 5.1.1.
- MAIL FROM ... SIZE=n above the queue's free space: 452 4.3.1 (RFC 1870 6.1) before
  the body is sent.
- BDAT with a chunk larger than the maximum message size: 552 at once, without the
  server waiting for (or reading) the chunk; the connection is closed.
- NUL in DATA (RFC 5321 2.3.8): 554 5.6.0, nothing queued.
- A HELO argument with raw 8-bit octets does not reach the Received header of a 7bit
  message (RFC 5322 2.2).
- A reload that fails with several errors logs one record per line, each with its
  timestamp and level.
- A `[::]` listener with `v6only = false` also takes IPv4 (logged as the IPv4 address);
  by default it is IPv6-only.
"""
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker, free_port, wait_for  # noqa: E402

c = Checker()
RELAY = ('local_domains = ["local.test"]\ntrusted_networks = []\n'
         'postmaster = "hostmaster@local.test"\n')
# A maximum message size far above any disk here, so that SIZE is judged by free space.
LISTENER = "[listener.test.limits]\nmessage_size = 1125899906842624\n"


def session(port):
    cl = Client(port)
    cl.reply()
    cl.cmd("ehlo edges.test")
    return cl


def envelope_rcpts(ctl):
    """Addresses of the "recipient: STATUS ADDRESS ..." lines of a control file."""
    return [line.split()[2] for line in ctl.splitlines() if line.startswith("recipient:")]


with Gateway(mode="hold", relay=RELAY, listener=LISTENER) as gw:
    # --- <Postmaster> goes to the configured address
    for form in ("<Postmaster>", "<postmaster>", "<POSTMASTER>"):
        cl = session(gw.port)
        cl.cmd("mail from:<s@ext.test>")
        code, text = cl.cmd(f"rcpt to:{form}")
        c.eq(code, 250, f"RCPT TO:{form} accepted ({text!r})")
        cl.cmd("data")
        cl.send(f"Subject: to {form}\r\n\r\nhello postmaster\r\n.\r\n")
        code, text = cl.reply()
        c.eq(code, 250, f"message to {form} queued")
        cl.cmd("quit")
        cl.close()
    msgs = gw.messages()
    c.eq(len(msgs), 3, "three postmaster messages queued")
    for qid, (ctl, _data) in msgs.items():
        c.eq(envelope_rcpts(ctl), ["hostmaster@local.test"],
             f"{qid}: queued for hostmaster@local.test only, never a bare Postmaster")
    for qid in list(msgs):
        for name in gw.message_files(qid):  # either queue format
            os.remove(os.path.join(gw.queue, "messages", name))

    # --- SIZE above the free space of the queue: 452 4.3.1 before the body
    cl = session(gw.port)
    code, text = cl.cmd("mail from:<s@local.test> SIZE=1000000000000000")
    c.eq(code, 452, f"SIZE=10^15 refused with 452 ({text!r})")
    c.ok("4.3.1" in text, "enhanced status 4.3.1 (RFC 3463 mail system full)")
    code, text = cl.cmd("mail from:<s@local.test> SIZE=1000")
    c.eq(code, 250, "a small SIZE is accepted")
    cl.cmd("rset")

    # --- NUL in DATA: 554 5.6.0, the session goes on, nothing queued
    cl.cmd("mail from:<s@local.test>")
    cl.cmd("rcpt to:<u@local.test>")
    cl.cmd("data")
    cl.send(b"Subject: nul\r\n\r\nbefore\x00after\r\n.\r\n")
    code, text = cl.reply()
    c.eq(code, 554, f"NUL in DATA refused with 554 ({text!r})")
    c.ok("5.6.0" in text, "enhanced status 5.6.0")
    c.eq(cl.cmd("noop")[0], 250, "session goes on after the NUL refusal")
    c.eq(len(gw.messages()), 0, "the message with a NUL was not queued")

    # --- 8-bit HELO: cleaned in the Received header of a 7bit message
    cl.send(b"EHLO caf\xc3\xa9\xff.test\r\n")
    code, _ = cl.reply()
    c.eq(code, 250, "8-bit EHLO answered (the argument is not checked)")
    cl.cmd("mail from:<s@local.test>")
    cl.cmd("rcpt to:<u@local.test>")
    cl.cmd("data")
    cl.send("Subject: helo\r\n\r\nbody\r\n.\r\n")
    code, _ = cl.reply()
    c.eq(code, 250, "message after 8-bit EHLO queued")
    msgs = gw.messages()
    c.eq(len(msgs), 1, "one message")
    if msgs:
        _ctl, data = next(iter(msgs.values()))
        head = data.split(b"\r\n\r\n", 1)[0]
        received = head.split(b"\r\n\t", 1)[0]
        c.ok(received.startswith(b"Received: from "), f"Received first: {received!r}")
        c.ok(all(b < 0x80 for b in head), f"no 8-bit octet in the header: {head[:120]!r}")
    cl.cmd("quit")
    cl.close()

# --- BDAT chunk above the maximum: refused before its octets are read
with Gateway(mode="hold", relay=RELAY, listener="[listener.test.limits]\nmessage_size = 4096\n") as gw:
    cl = session(gw.port)
    cl.cmd("mail from:<s@local.test>")
    cl.cmd("rcpt to:<u@local.test>")
    cl.s.settimeout(10)
    t0 = time.time()
    cl.send("BDAT 1000000000000 LAST\r\nxyz")
    try:
        code, text = cl.reply()
    except Exception as e:  # noqa: BLE001
        code, text = 0, f"no reply: {e!r}"
    took = time.time() - t0
    c.eq(code, 552, f"huge BDAT chunk refused at once with 552 ({text!r}, {took:.2f} s)")
    c.ok("5.3.4" in text, "enhanced status 5.3.4")
    c.ok(cl.closed(), "connection closed after the refusal")
    cl.close()
    # A chunk within the limit still works (streamed, RFC 3030).
    cl = session(gw.port)
    cl.cmd("mail from:<s@local.test>")
    cl.cmd("rcpt to:<u@local.test>")
    body = "Subject: bdat\r\n\r\nok\r\n"
    cl.send(f"BDAT {len(body)} LAST\r\n{body}")
    code, text = cl.reply()
    c.eq(code, 250, f"normal BDAT LAST queued ({text!r})")
    cl.cmd("quit")
    cl.close()

    # --- a reload with two errors: one log record per line, with timestamp and level
    with open(gw.config) as f:
        good = f.read()
    with open(gw.config, "w") as f:
        f.write(good.replace("[relay]\n", "[relay]\nbogus_one = 1\nbogus_two = 2\n", 1))
    gw.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: gw.log_text().count("bogus_two") > 0, "reload failure logged")
    lines = gw.log_text().splitlines()
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\S* (trace|debug|info|warning|warn|"
                       r"error|critical) ")
    bad = [ln for ln in lines if not stamp.match(ln)]
    c.eq(bad, [], "every log line has a timestamp and a level")
    failed = [ln for ln in lines if "reload failed" in ln]
    c.ok(any("bogus_one" in ln for ln in failed) and any("bogus_two" in ln for ln in failed),
         f"each error on its own 'reload failed' error record: {failed!r}")
    c.ok(all(" error " in ln for ln in failed), "reload failures logged at error level")
    with open(gw.config, "w") as f:
        f.write(good)

# --- without [relay] postmaster, <Postmaster> is refused (never the default route)
with Gateway(mode="hold") as gw:
    cl = session(gw.port)
    cl.cmd("mail from:<s@ext.test>")
    code, text = cl.cmd("rcpt to:<Postmaster>")
    c.eq(code, 550, f"<Postmaster> refused without a configured postmaster ({text!r})")
    c.ok("5.1.1" in text, "enhanced status 5.1.1")
    cl.cmd("quit")
    cl.close()

# --- [::] listeners: IPv6-only by default, IPv4 too with v6only = false
def ipv6_usable():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::", 0))
        s.close()
        return True
    except OSError:
        return False


if not ipv6_usable():
    print("skip: no IPv6 here; the [::] listener checks are left out")
else:
    p_dual, p_only = free_port(), free_port()
    extra = (f'\n[listener.dual]\naddress = "[::]:{p_dual}"\nv6only = false\n'
             f'[listener.only6]\naddress = "[::]:{p_only}"\n')
    with Gateway(mode="hold", listener=extra) as gw:
        cl = Client(p_dual)
        code, text = cl.reply()
        c.eq(code, 220, f"v6only = false: IPv4 client greeted on [::] ({text!r})")
        cl.cmd("quit")
        cl.close()
        log = wait_for(lambda: "listener=dual client=127.0.0.1 " in gw.log_text() and gw.log_text(),
                       "connect logged")
        c.ok(bool(log), "the mapped client is logged as 127.0.0.1")
        try:
            socket.create_connection(("127.0.0.1", p_only), timeout=3).close()
            v4 = True
        except OSError:
            v4 = False
        c.ok(not v4, "default [::] listener refuses IPv4 (IPV6_V6ONLY)")
        s6 = socket.create_connection(("::1", p_only), timeout=5)
        c.ok(s6.recv(4).startswith(b"220"), "default [::] listener greets an IPv6 client")
        s6.close()
c.done()
