#!/usr/bin/env python3
"""gateway_store_outage.py: issue 14, the shared database unreachable must not stop mail.
A gateway with [store] backend = "postgresql" on a private PostgreSQL server
(tests/support/private_postgres.py) takes mail from Python's smtplib on several
connections; the database is stopped in the middle of the load and started again:
  - every message is answered 250 (no SMTP error caused by the database);
  - while it is down `mxguard status` shows the database unreachable and the spool
    backlog, and the log says it spools;
  - after it is back the backlog is replayed: the database holds exactly one row per
    message (counts equal, no uid twice, recipients once), the backlog is 0.
Waits are on events (rows in the database, log lines, status answers), never sleeps."""
import json
import os
import smtplib
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Checker, wait_for, wait_log, MXGUARD  # noqa: E402
from private_postgres import PrivatePostgres, SKIP  # noqa: E402

TOTAL = 120
CONNECTIONS = 4

c = Checker()
pg = PrivatePostgres()
if not pg.available():
    print("PostgreSQL server binaries missing: skipped")
    sys.exit(SKIP)


def count(sql):
    try:
        return int(pg.psql(sql) or 0)
    except RuntimeError:
        return -1  # down, or the schema not there yet


def status(gw):
    r = subprocess.run([MXGUARD, "status", "--config", gw.config, "--json"], capture_output=True,
                       text=True, timeout=30)
    try:
        return json.loads(r.stdout).get("history", {})
    except ValueError:
        return {}


replies = []  # (code) of every message's end of data
sent = [0]
lock = threading.Lock()
half_sent = threading.Event()


def sender(gw, conn_no):
    per = TOTAL // CONNECTIONS
    s = smtplib.SMTP("127.0.0.1", gw.port, timeout=30)
    s.ehlo("load.example")
    for i in range(per):
        n = conn_no * per + i
        msg = (f"From: load{n}@client.example\r\nTo: u{n}@local.test\r\nSubject: load {n}\r\n"
               f"Message-ID: <load-{n}@client.example>\r\n\r\nbody {n}\r\n")
        try:
            s.sendmail(f"load{n}@client.example", [f"u{n}@local.test"], msg)
            code = 250
        except smtplib.SMTPResponseException as e:
            code = e.smtp_code
        except smtplib.SMTPException as e:
            code = str(e)
        with lock:
            replies.append(code)
            sent[0] += 1
            if sent[0] >= TOTAL // 2:
                half_sent.set()
        # The second half waits until the database is down (an event, set below).
        if i == per // 2 - 1:
            db_down.wait(60)
    s.quit()


db_down = threading.Event()

try:
    pg.start()
    top = f'[store]\nbackend = "postgresql"\ndsn = "{pg.dsn}"\nhost_id = "mx-a"\n'
    with Gateway(mode="hold", top=top) as gw:
        c.ok("history backend=postgresql" in gw.log_text(), "the gateway uses the PostgreSQL store")
        threads = [threading.Thread(target=sender, args=(gw, k)) for k in range(CONNECTIONS)]
        for t in threads:
            t.start()
        c.ok(half_sent.wait(60), "half of the load sent")
        # Mid-load: the database goes away while sessions keep sending.
        got = wait_for(lambda: count("SELECT count(*) FROM messages") >= 1, "first rows written")
        c.ok(got, "rows reach the database before the outage")
        pg.stop()
        db_down.set()
        for t in threads:
            t.join(120)
        c.eq(len(replies), TOTAL, "every message got an answer")
        c.eq([r for r in replies if r != 250], [], "every message answered 250 during the outage")
        c.ok(wait_log(gw, "history database unreachable, spooling") > 0,
             "the log says the database is unreachable and records are spooled")
        st = wait_for(lambda: (lambda h: h if h.get("spool_backlog", 0) > 0 else None)(status(gw)),
                      "status shows the backlog")
        c.ok(st and st.get("db_up") is False and st.get("spool_backlog", 0) > 0,
             f"mxguard status: database unreachable, backlog {st and st.get('spool_backlog')}")
        out = subprocess.run([MXGUARD, "status", "--config", gw.config], capture_output=True,
                             text=True, timeout=30).stdout
        c.ok("history database: UNREACHABLE, spool backlog" in out,
             "mxguard status prints the backlog: " +
             next((l for l in out.splitlines() if "spool" in l), "(none)"))
        pg.start()
        back = wait_for(lambda: status(gw).get("spool_backlog", -1) == 0 and
                        count("SELECT count(*) FROM messages") == TOTAL, "replayed", timeout=60)
        c.ok(back, "after the restart the backlog is replayed (status backlog 0)")
        c.ok(wait_log(gw, "history database reachable again") > 0, "the log says it is back")
        c.eq(count("SELECT count(*) FROM messages"), TOTAL, "one row per message")
        c.eq(count("SELECT count(DISTINCT uid) FROM messages"), TOTAL, "no uid twice")
        c.eq(count("SELECT count(DISTINCT queue_id) FROM messages"), TOTAL,
             "every queue id once")
        c.eq(count("SELECT count(*) FROM recipients"), TOTAL, "recipient rows once each")
        c.eq(count("SELECT count(*) FROM messages WHERE host <> 'mx-a'"), 0,
             "every row names the host")
        st = status(gw)
        c.ok(st.get("db_up") is True and st.get("replayed", 0) > 0,
             f"status: reachable again, replayed {st.get('replayed')}")
        c.eq(len(gw.messages()), TOTAL, "every message in the queue")

        # A gateway (re)started while the database is away starts, spools, replays.
        pg.stop()
        gw.stop()
        gw.start()
        c.ok(True, "the gateway starts while the database is unreachable")
        s = smtplib.SMTP("127.0.0.1", gw.port, timeout=30)
        late = []
        for n in range(TOTAL, TOTAL + 10):
            try:
                s.sendmail(f"late{n}@client.example", [f"u{n}@local.test"],
                           f"Subject: late {n}\r\n\r\nbody\r\n")
                late.append(250)
            except smtplib.SMTPException as e:
                late.append(str(e))
        s.quit()
        c.eq(late, [250] * 10, "messages after a start without the database: all 250")
        c.ok(wait_for(lambda: status(gw).get("spool_backlog", 0) >= 10, "spooled at start"),
             "they wait in the spool")
        pg.start()
        c.ok(wait_for(lambda: count("SELECT count(*) FROM messages") == TOTAL + 10 and
                      status(gw).get("spool_backlog", -1) == 0, "replayed", timeout=60),
             "replayed once the database is back")
        c.eq(count("SELECT count(DISTINCT uid) FROM messages"), TOTAL + 10, "still no uid twice")
finally:
    if c.failed:
        print(pg.log())
    pg.destroy()
c.done()
