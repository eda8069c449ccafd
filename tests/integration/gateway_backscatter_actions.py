#!/usr/bin/env python3
"""gateway_backscatter_actions.py: issue 4 section 3 actions in `mxguard serve`, with
the history database checked through python's sqlite3 module.
 1. BATV, unsigned_bounce = quarantine: a bounce to an unsigned address is answered 250
    and held (x-quarantine, quarantine index); `mxguard queue list/show` say why;
    `mxguard queue release` (control socket, and offline) releases it and marks the
    index; a validly prvs=-signed recipient is queued without its tag.
 2. BATV, unsigned_bounce = tag: X-Mxguard-Backscatter right after our Received.
 3. No BATV (after-DATA judgement, SPF from a dnsmasq zone): a trusted client first
    relays a message out (outbound history); a bounce about it is accepted as
    legitimate; a forged bounce (tests/data/backscatter/forged-1.eml) is quarantined,
    then after SIGHUP reloads tagged, then rejected with 550 5.7.1 after DATA (nothing
    queued); a null-sender message above the 1 MiB judging cap is accepted unjudged.
BATV tags are computed here from the documented scheme (docs/backscatter.md)."""
import os
import signal
import sqlite3
import sys
import time

SRC = os.environ.get("MXG_SOURCE_DIR", ".")
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker, Dnsmasq, wait_for, wait_log, batv_tag  # noqa: E402

SECRET = "actions-secret"


def prvs(address, day, validity=7):
    return batv_tag(SECRET, address, day, validity)


def rows(gw, sql, args=()):
    path = os.path.join(gw.state, "history.db")
    if not os.path.exists(path):
        return []
    db = sqlite3.connect(path, timeout=5)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def send(gw, sender, rcpts, data, helo="client.test"):
    """One transaction; returns (final code, text, queue id or None)."""
    cl = Client(gw.port)
    cl.reply()
    cl.cmd(f"EHLO {helo}")
    cl.cmd(f"MAIL FROM:<{sender}>")
    for r in rcpts:
        code, text = cl.cmd(f"RCPT TO:<{r}>")
        if code != 250:
            cl.close()
            return code, text, None
    cl.cmd("DATA")
    body = data.replace("\r\n", "\n").replace("\n", "\r\n")
    body = "\r\n".join("." + ln if ln.startswith(".") else ln for ln in body.split("\r\n"))
    cl.send(body + ("" if body.endswith("\r\n") else "\r\n") + ".\r\n")
    code, text = cl.reply()
    cl.cmd("QUIT")
    cl.close()
    qid = None
    if code == 250:
        parts = text.split()
        qid = parts[2] if len(parts) > 2 else None
    return code, text, qid


def ctl_of(gw, qid):
    # Delivery may remove the message at any moment: a missing one reads as "".
    return gw.envelope(qid)


def data_of(gw, qid):
    m = gw.message(qid)
    return m[1].decode(errors="replace") if m else ""


c = Checker()
today = int(time.time()) // 86400
PLAIN_BOUNCE = ("From: MAILER-DAEMON@mx.ext.test\nTo: user@local.test\n"
                "Subject: Undelivered Mail Returned to Sender\n\nsorry\n")

# ---- 1. BATV with quarantine -------------------------------------------------------
dns = Dnsmasq("--local=/test/")
dns_top = f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "300ms"\ntries = 1\n'
top = (f'[backscatter]\nenabled = true\nbatv_secret = "{SECRET}"\n'
       f'unsigned_bounce = "quarantine"\n' + dns_top)
try:
    with Gateway(mode="queueonly", top=top) as gw:
        sock = os.path.join(gw.state, "control.sock")
        code, text, q1 = send(gw, "", ["user@local.test"], PLAIN_BOUNCE)
        c.eq(code, 250, "BATV quarantine: the sender is answered 250 as usual")
        ctl = ctl_of(gw, q1 or "-")
        c.ok("\nmode: hold\n" in ctl, f"quarantined message is held: {ctl!r}")
        c.ok("x-quarantine: backscatter: bounce to an address without a valid BATV tag" in ctl,
             "x-quarantine says why")
        lst = gw.cli("queue", "list", "--socket", sock).stdout
        c.ok(q1 in lst and "quarantine" in lst and "without a valid BATV tag" in lst,
             f"queue list shows it quarantined and why: {lst!r}")
        show = gw.cli("queue", "show", q1, "--socket", sock).stdout
        c.ok("quarantined:" in show, f"queue show says quarantined: {show!r}")
        qrow = wait_for(lambda: rows(gw, "SELECT reason, released_at FROM quarantine "
                                         "WHERE queue_id=?", (q1,)), "quarantine row")
        c.ok(qrow and qrow[0][1] is None and "BATV" in qrow[0][0],
             f"quarantine index has it, unreleased: {qrow}")
        mrow = wait_for(lambda: rows(gw, "SELECT decision, direction, sender, recipients, subject "
                                         "FROM messages WHERE queue_id=?", (q1,)), "message row")
        c.eq(mrow[:1], [("quarantine", "inbound", "", "user@local.test",
                         "Undelivered Mail Returned to Sender")], "history row of the quarantine")
        # A validly signed recipient: accepted and queued without its tag.
        tagged = prvs("user@local.test", today)
        code, _, q2 = send(gw, "", [tagged], PLAIN_BOUNCE)
        c.eq(code, 250, "bounce to a valid BATV address accepted")
        ctl2 = ctl_of(gw, q2 or "-")
        c.ok("recipient: pending user@local.test\n" in ctl2, f"tag stripped in the envelope: {ctl2!r}")
        c.ok(f"x-batv-recipients: {tagged}" in ctl2, "tagged form kept in an extra field")
        c.ok("\nmode: queueonly\n" in ctl2, "not quarantined")
        arow = wait_for(lambda: rows(gw, "SELECT decision FROM messages WHERE queue_id=?", (q2,)),
                        "accept row")
        c.eq(arow, [("accept",)], "history row of the valid bounce: accept")
        # Release through the control socket.
        r = gw.cli("queue", "release", q1, "--socket", sock)
        c.ok("released" in r.stdout, f"release via control socket: {r.stdout!r}")
        # Released mail goes to delivery at once (here it fails: no route), so the
        # envelope may already be gone; the log says what happened to it.
        ctl = ctl_of(gw, q1)
        c.ok(ctl == "" or ("\nmode: deliver\n" in ctl and "x-quarantine-released:" in ctl and
                           "x-quarantine:" not in ctl), f"released envelope: {ctl!r}")
        # Log records are written once per event loop turn (base/log.hpp): wait for it.
        c.ok(wait_log(gw, f"quarantine released qid={q1}") > 0, "the log says it was released")
        rel = wait_for(lambda: rows(gw, "SELECT released_by FROM quarantine WHERE queue_id=? "
                                        "AND released_at IS NOT NULL", (q1,)), "released row")
        c.eq(rel, [("control-socket",)], "quarantine index marked released")
        # The control socket's status counts the history writes.
        import json  # noqa: E402
        import socket as so  # noqa: E402
        u = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        u.connect(sock)
        u.sendall(b'{"cmd":"status"}\n')
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = u.recv(65536)
            if not chunk:
                break
            answer += chunk
        u.close()
        st = json.loads(json.loads(answer)["output"])
        c.ok(st.get("history", {}).get("written", 0) >= 4 and st["history"]["failed"] == 0,
             f"status reports history writes: {st.get('history')}")
        # One more for the offline release after the server stops.
        code, _, q3 = send(gw, "", ["other@local.test"], PLAIN_BOUNCE)
        c.eq(code, 250, "second quarantined bounce")
        wait_for(lambda: rows(gw, "SELECT 1 FROM quarantine WHERE queue_id=?", (q3,)), "q3 row")
        gw.stop()
        r = gw.cli("queue", "release", q3, "--offline", "--queue-dir", gw.queue)
        c.ok("released" in r.stdout, f"offline release: {r.stdout!r} {r.stderr!r}")
        rel = rows(gw, "SELECT released_by FROM quarantine WHERE queue_id=? AND released_at "
                       "IS NOT NULL", (q3,))
        c.eq(rel, [("offline",)], "offline release marks the quarantine index")
        c.ok("x-quarantine-released:" in ctl_of(gw, q3), "offline release rewrites the envelope")

    # ---- 2. BATV with tag --------------------------------------------------------------
    top_tag = top.replace('unsigned_bounce = "quarantine"', 'unsigned_bounce = "tag"')
    with Gateway(mode="hold", top=top_tag) as gw:
        code, _, q = send(gw, "", ["user@local.test"], PLAIN_BOUNCE)
        c.eq(code, 250, "BATV tag: accepted")
        data = data_of(gw, q or "-")
        lines = data.split("\r\n")
        hdr = [i for i, ln in enumerate(lines) if ln.startswith("X-Mxguard-Backscatter:")]
        rec_end = next((i for i in range(1, len(lines)) if not lines[i].startswith("\t")), -1)
        c.ok(lines[0].startswith("Received: from client.test") and hdr == [rec_end],
             f"X-Mxguard-Backscatter right after our Received header: {lines[:8]}")
        c.ok("X-Mxguard-Backscatter: yes; bounce to an address without a valid BATV tag (unsigned)"
             in data,
             "header says why")
        c.ok("x-quarantine" not in ctl_of(gw, q), "tagged, not quarantined")
        trow = wait_for(lambda: rows(gw, "SELECT decision FROM messages WHERE queue_id=?", (q,)),
                        "tag row")
        c.eq(trow, [("tag",)], "history row: tag")
finally:
    dns.stop()

# ---- 3. Without BATV: after-DATA judgement -------------------------------------------
forged = open(os.path.join(SRC, "tests", "data", "backscatter", "forged-1.eml"),
              encoding="utf-8").read().replace("our.test", "local.test")
OUT_ID = "out-77@mua.elsewhere.test"
real = f"""From: MAILER-DAEMON@mx.ext.test
To: alice@local.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-9@mx.ext.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="R1"

--R1
Content-Type: text/plain

Your message could not be delivered.

--R1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.ext.test

Final-Recipient: rfc822; bob@ext.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <bob@ext.test>: User unknown

--R1
Content-Type: text/rfc822-headers

Received: from mx.test (relay.example [198.51.100.7])
\tby mx.ext.test with ESMTP id 88; Mon, 02 Nov 2026 09:59:58 +0000
From: alice@local.test
To: bob@ext.test
Subject: lunch
Message-ID: <{OUT_ID}>

--R1--
"""
dns = Dnsmasq("--local=/test/", "--txt-record=local.test,v=spf1 ip4:192.0.2.0/24 -all")
relay = ('local_domains = ["local.test"]\nrelay_domains = []\n'
         'trusted_networks = ["127.0.0.0/8"]\n')
dns_top = f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "500ms"\ntries = 1\n'
top3 = '[backscatter]\nenabled = true\nndr_backscatter = "quarantine"\n' + dns_top
try:
    gw = Gateway(mode="queueonly", top=top3, relay=relay)
    with gw:
        # Our own mail first: a trusted client relays it out.
        code, _, qo = send(gw, "alice@local.test", ["bob@ext.test"],
                           f"From: alice@local.test\nTo: bob@ext.test\nSubject: lunch\n"
                           f"Message-ID: <{OUT_ID}>\n\nsee you\n")
        c.eq(code, 250, "outbound mail from a trusted client queued")
        orow = wait_for(lambda: rows(gw, "SELECT direction, message_id, subject, decision, client_ip,"
                                         " helo FROM messages WHERE queue_id=?", (qo,)), "out row")
        c.eq(orow, [("outbound", OUT_ID, "lunch", "accept", "127.0.0.1", "client.test")],
             "outbound history row with Message-ID and Subject from the header block")
        # A bounce about it: legitimate.
        code, _, qr = send(gw, "", ["alice@local.test"], real, helo="mx.ext.test")
        c.eq(code, 250, "bounce about our own mail accepted")
        ctl = ctl_of(gw, qr or "-")
        c.ok("\nmode: queueonly\n" in ctl and "x-quarantine" not in ctl,
             f"real bounce not quarantined: {ctl!r}")
        c.ok("X-Mxguard-Backscatter" not in data_of(gw, qr or "-"), "real bounce not tagged")
        rrow = wait_for(lambda: rows(gw, "SELECT decision, reason, direction FROM messages "
                                         "WHERE queue_id=?", (qr,)), "real row")
        c.eq(rrow, [("accept", "bounce about mail we sent", "inbound")],
             "history row of the legitimate bounce")
        # A forged bounce: quarantined.
        code, _, qf = send(gw, "", ["alice@local.test"], forged, helo="mx.victim.test")
        c.eq(code, 250, "forged bounce answered 250")
        ctl = ctl_of(gw, qf or "-")
        c.ok("\nmode: hold\n" in ctl and "x-quarantine: backscatter:" in ctl,
             f"forged bounce quarantined: {ctl!r}")
        frow = wait_for(lambda: rows(gw, "SELECT decision, message_id, subject FROM messages "
                                         "WHERE queue_id=?", (qf,)), "forged row")
        c.eq(frow, [("quarantine", "bounce-1@mx.victim.test", "Undelivered Mail Returned to Sender")],
             "history row of the quarantined bounce")
        c.ok(wait_for(lambda: rows(gw, "SELECT 1 FROM quarantine WHERE queue_id=?", (qf,)), "q"),
             "forged bounce in the quarantine index")
        # Too large to judge: accepted, streamed.
        big = PLAIN_BOUNCE + ("x" * 76 + "\n") * 15000
        code, _, qb = send(gw, "", ["alice@local.test"], big)
        c.eq(code, 250, "null-sender message above the cap accepted")
        c.ok("x-quarantine" not in ctl_of(gw, qb or "-"), "above the cap: not quarantined")
        brow = wait_for(lambda: rows(gw, "SELECT decision, reason FROM messages WHERE queue_id=?",
                                     (qb,)), "big row")
        c.eq(brow, [("accept", "too large to judge")], "above the cap: reason logged in history")
        c.ok("too large to judge" in gw.log_text(), "above the cap: logged")

        # SIGHUP to tag.
        def reload(action):
            text = open(gw.config).read()
            for a in ("quarantine", "tag", "reject"):
                text = text.replace(f'ndr_backscatter = "{a}"', f'ndr_backscatter = "{action}"')
            open(gw.config, "w").write(text)
            n = gw.log_text().count("reload done")
            gw.proc.send_signal(signal.SIGHUP)
            return wait_for(lambda: gw.log_text().count("reload done") > n, "reload")

        c.ok(reload("tag"), "reload to tag")
        code, _, qt = send(gw, "", ["alice@local.test"], forged, helo="mx.victim.test")
        c.eq(code, 250, "tag: accepted")
        data = data_of(gw, qt or "-")
        c.ok("\r\nX-Mxguard-Backscatter: yes; " in data and "x-quarantine" not in ctl_of(gw, qt),
             "forged bounce tagged after the reload")
        c.ok(data.index("X-Mxguard-Backscatter") < data.index("Return-Path:"),
             "the tag precedes the message's own header fields")
        c.ok(reload("reject"), "reload to reject")
        before = set(gw.messages())
        code, text, _ = send(gw, "", ["alice@local.test"], forged, helo="mx.victim.test")
        c.eq(code, 550, "reject: 550 after DATA")
        c.ok("5.7.1" in text, f"enhanced status 5.7.1: {text!r}")
        c.eq(set(gw.messages()) - before, set(), "reject: nothing queued")
        jrow = wait_for(lambda: rows(gw, "SELECT decision, queue_id, recipients FROM messages "
                                         "WHERE decision='reject'"), "reject row")
        c.eq(jrow, [("reject", "", "alice@local.test")], "history row of the rejection")
        # The legitimate bounce still passes under reject.
        code, _, _ = send(gw, "", ["alice@local.test"], real, helo="mx.ext.test")
        c.eq(code, 250, "reject: a bounce about our own mail still accepted")
finally:
    dns.stop()

# history disabled: no database is created, mail still flows.
with Gateway(mode="hold", top='[history]\nenabled = false\n') as gw:
    code, _, q = send(gw, "a@ext.test", ["user@local.test"], "Subject: x\n\nhi\n")
    c.eq(code, 250, "history off: mail accepted")
    c.ok(not os.path.exists(os.path.join(gw.state, "history.db")), "history off: no history.db")
c.done()
