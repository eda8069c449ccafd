#!/usr/bin/python3
"""delivery_queue_run.py: `mxguard queue run` (offline) delivers a queue to real peers.

Peers, all on 127.0.0.1 high ports, stopped at the end, bounded in time:
  - postfix's smtp-sink, dumping each received message to a file (-d);
  - tests/support/delivery_smtpd.py, a scripted server answering RCPT per recipient
    (temp* -> 450, perm* -> 550, else 250), offering STARTTLS with a self-signed cert.
Messages are put in a fresh queue directory by hand in the documented format
(src/queue/envelope.hpp; tests/support/mxg_gateway_harness.write_queue_message writes
$MXG_QUEUE_FORMAT, else the server's default queue format), then `mxguard queue run`
runs with a sendmail-style routing table. Checked (issue 3 section 5, RFC 5321, RFC 3464):
  1. routing by sender domain: `@aicpa.org relay:[127.0.0.1]:SINK` -> smtp-sink got it,
     dot-stuffing round trip, the message left the queue;
  2. per-recipient results in one transaction: 250 delivered, 450 deferred with a next
     attempt in the envelope, 550 failed -> an RFC 3464 DSN queued to the envelope
     sender with the null reverse-path (parsed with python's email package);
  3. null sender + permanent failure -> no DSN (RFC 5321 4.5.5);
  4. --no-dsn -> no DSN;
  5. hold messages stay; queueonly messages are delivered by the queue run;
  6. a `hold` route puts the message on hold;
  7. `relay:host:PORT` with an MX lookup through --zone (RFC 5321 5.1); expiry after
     the maximum queue lifetime fails a deferred recipient and sends a DSN;
  8. opportunistic STARTTLS and PIPELINING were used with the scripted server.
"""
import email
import email.policy
import glob
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

MXGUARD = os.environ.get("MXGUARD", "mxguard")
SRC = os.environ.get("MXG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from mxg_gateway_harness import write_queue_message  # noqa: E402
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


_last_micros = [0]


def new_id():
    m = max(int(time.time() * 1e6), _last_micros[0] + 1)
    _last_micros[0] = m
    return "%013X%05X" % (m, random.randrange(16 ** 5))


def put(qdir, sender, rcpts, subject, body="Just a test!\r\n", mode="deliver", age=0):
    """Writes a message into the queue like the server does (envelope.hpp format)."""
    qid = new_id()
    data = ("Received: from test (localhost [127.0.0.1])\r\n\tby mxguard; test\r\n"
            "From: <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n\r\n%s"
            % (sender or "mailer-daemon@test", ", ".join(rcpts), subject, qid, body)).encode()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - age))
    ctl = "mxguard-queue: 1\nid: %s\ncreated: %s\nsender: %s\n" % (qid, created, sender or "<>")
    ctl += "".join("recipient: pending %s\n" % r for r in rcpts)
    ctl += ("client-ip: 127.0.0.1\nclient-name:\nhelo: localhost\nlistener: test\nsession:\n"
            "mode: %s\nattempts: 0\nnext-attempt:\nsize: %d\nbody: 7bit\nsmtputf8: no\nend: %s\n"
            % (mode, len(data), qid))
    write_queue_message(qdir, qid, ctl, data)
    return qid


def mx(*args, timeout=120):
    return subprocess.run([MXGUARD, *args], capture_output=True, text=True, timeout=timeout)


def queue_list(qdir):
    r = mx("queue", "--queue-dir", qdir, "--offline", "--json", "list")
    if r.returncode not in (0, 1):
        print(r.stdout, r.stderr)
        return {}
    return {m["id"]: m for m in json.loads(r.stdout)["messages"]}


def queue_run(qdir, routes, *ids, extra=()):
    r = mx("queue", "--queue-dir", qdir, "--offline", "run", "--routes", routes,
           "--hostname", "gw.delivery.test", "--connect-timeout", "5", *extra, *ids)
    print("$ queue run", " ".join(ids), "->", r.returncode)
    print(r.stdout + r.stderr)
    return r


def main():
    work = tempfile.mkdtemp(prefix="mxg-delivery-")
    procs = []
    try:
        sink_port, scripted_port = free_port(), free_port()
        sink_dir = os.path.join(work, "sink")
        scripted_dir = os.path.join(work, "scripted")
        os.makedirs(sink_dir)
        os.makedirs(scripted_dir)
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=scripted.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        procs.append(subprocess.Popen(
            ["/usr/sbin/smtp-sink", "-u", "root", "-d", sink_dir + "/%M.",
             "127.0.0.1:%d" % sink_port, "100"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            ["/usr/bin/python3", os.path.join(SRC, "tests/support/delivery_smtpd.py"),
             str(scripted_port), scripted_dir, "--cert", cert, "--key", key, "--max-seconds", "300"]))
        if not (wait_port(sink_port) and wait_port(scripted_port)):
            check(False, "peers started")
            return
        zone = os.path.join(work, "zone")
        with open(zone, "w") as f:
            f.write("relayhost.test. 300 IN MX 10 mx1.relayhost.test.\n"
                    "mx1.relayhost.test. 300 IN A 127.0.0.1\n")
        routes = os.path.join(work, "routes")
        with open(routes, "w") as f:
            f.write("# sendmail smarttable style, first match wins\n"
                    "@aicpa.org            relay:[127.0.0.1]:%d\n"
                    "@viamx.test           relay:relayhost.test:%d\n"
                    "to:@hold.test         hold\n"
                    "*                     relay:[127.0.0.1]:%d\n"
                    % (sink_port, scripted_port, scripted_port))
        q = os.path.join(work, "queue")
        zone_args = ("--zone", zone)

        # 1. sender-domain route to smtp-sink, dot-stuffing round trip.
        a = put(q, "alice@aicpa.org", ["bob@anywhere.test"], "route by sender domain",
                body="line one\r\n.hidden dot line\r\n..two dots\r\n")
        r = queue_run(q, routes, a, extra=zone_args)
        check(r.returncode == 0, "queue run exits 0")
        check("to=<bob@anywhere.test> sent relay=[127.0.0.1]:%d" % sink_port in r.stdout,
              "per-recipient outcome printed (sent via the sink)")
        dumps = glob.glob(os.path.join(sink_dir, "*"))
        check(len(dumps) == 1, "smtp-sink received one message")
        if dumps:
            text = open(dumps[0], encoding="utf-8", errors="replace").read()
            check("Subject: route by sender domain" in text, "sink got the message text")
            check("\n.hidden dot line" in text and "\n..two dots" in text,
                  "dot-stuffing round trip (RFC 5321 4.5.2)")
        check(a not in queue_list(q), "delivered message left the queue")

        # 2. per-recipient 250/450/550 in one transaction, DSN to the sender.
        b = put(q, "carol@sender.test", ["ok@scripted.test", "temp1@scripted.test",
                                         "perm1@scripted.test"], "mixed results")
        r = queue_run(q, routes, b, extra=zone_args)
        lst = queue_list(q)
        check(b in lst, "message with a deferred recipient stays queued")
        if b in lst:
            st = {x["address"]: x for x in lst[b]["recipients"]}
            check(st["ok@scripted.test"]["status"] == "delivered", "250 -> delivered")
            check(st["temp1@scripted.test"]["status"] == "deferred"
                  and st["temp1@scripted.test"]["reply"].startswith("450 4.2.0")
                  and st["temp1@scripted.test"]["next_attempt"], "450 -> deferred with next attempt")
            check(st["perm1@scripted.test"]["status"] == "failed"
                  and st["perm1@scripted.test"]["reply"].startswith("550 5.1.1"), "550 -> failed")
            check(lst[b]["attempts"] == 1, "attempt counted")
        dsns = [m for i, m in lst.items() if m["sender"] == "" and i != b]
        check(len(dsns) == 1, "one DSN queued")
        if dsns:
            d = dsns[0]
            check([x["address"] for x in d["recipients"]] == ["carol@sender.test"],
                  "DSN goes to the envelope sender")
            data = mx("queue", "--queue-dir", q, "--offline", "--json", "show", "--body", d["id"])
            body = json.loads(data.stdout).get("body", "") if data.returncode == 0 else ""
            msg = email.message_from_string(body, policy=email.policy.compat32)
            check(msg.get_content_type() == "multipart/report"
                  and msg.get_param("report-type") == "delivery-status",
                  "DSN is multipart/report; report-type=delivery-status (RFC 3464 / 6522)")
            parts = msg.get_payload() if msg.is_multipart() else []
            types = [p.get_content_type() for p in parts]
            check(types == ["text/plain", "message/delivery-status", "text/rfc822-headers"],
                  "DSN parts: human text, delivery-status, returned headers: %s" % types)
            if len(parts) == 3:
                ds = parts[1].get_payload()
                fields = "\n".join(p.as_string() for p in ds) if isinstance(ds, list) else str(ds)
                for want in ("Reporting-MTA: dns; gw.delivery.test", "Arrival-Date:",
                             "Final-Recipient: rfc822; perm1@scripted.test", "Action: failed",
                             "Status: 5.1.1", "Remote-MTA: dns; 127.0.0.1",
                             "Diagnostic-Code: smtp; 550 5.1.1"):
                    check(want in fields, "delivery-status has '%s'" % want)
                check("ok@scripted.test" not in fields and "temp1@" not in fields,
                      "only the failed recipient is reported")
                check("Subject: mixed results" in parts[2].get_payload(),
                      "original headers returned")
            got = sorted(glob.glob(os.path.join(scripted_dir, "msg-*.eml")))
            check(len(got) == 1, "scripted server accepted one message")
            if got:
                head = open(got[-1], encoding="utf-8", newline="").read().split("\r\n\r\n", 1)[0]
                check("X-Env-To: <ok@scripted.test>" in head and "temp1" not in head,
                      "only the accepted recipient got the message")
                check("X-TLS: yes" in head, "opportunistic STARTTLS used (RFC 3207)")
                check("X-Pipelined: yes" in head, "MAIL and RCPTs pipelined (RFC 2920)")
            # The deferred recipient alone is tried on the next run (and deferred again).
            r = queue_run(q, routes, b, extra=zone_args)
            check("to=<temp1@scripted.test> deferred" in r.stdout
                  and "ok@scripted.test" not in r.stdout, "next run retries only the deferred one")
            check(queue_list(q).get(b, {}).get("attempts") == 2, "second attempt counted")

        # 3. null sender: no DSN for a bounce (RFC 5321 4.5.5).
        before = len(queue_list(q))
        c = put(q, "", ["perm2@scripted.test"], "a bounce that bounces")
        r = queue_run(q, routes, c, extra=zone_args)
        lst = queue_list(q)
        check(c not in lst, "failed null-sender message removed")
        check(len(lst) == before, "no DSN queued for the null sender")
        check("dsn queued" not in r.stdout, "no DSN reported for the null sender")

        # 4. --no-dsn
        e = put(q, "dave@sender.test", ["perm3@scripted.test"], "no dsn please")
        r = queue_run(q, routes, e, extra=zone_args + ("--no-dsn",))
        check(len(queue_list(q)) == before, "--no-dsn: no DSN queued")

        # 5. hold stays, queueonly goes on a queue run.
        h = put(q, "erin@sender.test", ["ok2@scripted.test"], "held", mode="hold")
        o = put(q, "erin@sender.test", ["ok3@scripted.test"], "queueonly", mode="queueonly")
        r = queue_run(q, routes, h, o, extra=zone_args)
        lst = queue_list(q)
        check(h in lst and lst[h]["mode"] == "hold" and lst[h]["attempts"] == 0,
              "held message not attempted")
        check("%s skipped: held" % h in r.stdout, "held message reported as skipped")
        check(o not in lst, "queueonly message delivered by the queue run")

        # 6. a `hold` route holds the message.
        g = put(q, "erin@sender.test", ["x@hold.test"], "route to hold")
        r = queue_run(q, routes, g, extra=zone_args)
        lst = queue_list(q)
        check(g in lst and lst[g]["mode"] == "hold", "hold route puts the message on hold")

        # 7. relay:host:port with an MX lookup through the zone.
        m = put(q, "frank@viamx.test", ["ok4@anywhere.test"], "via mx")
        r = queue_run(q, routes, m, extra=zone_args)
        check("to=<ok4@anywhere.test> sent relay=mx1.relayhost.test[127.0.0.1]:%d" % scripted_port
              in r.stdout, "MX of the relay host looked up (RFC 5321 5.1)")

        # 7b. expiry: a message older than the 5-day lifetime that is deferred again fails
        # (RFC 5321 4.5.4.1) and is reported to its sender.
        before = set(queue_list(q))
        x = put(q, "gina@sender.test", ["temp9@scripted.test"], "too old", age=6 * 86400)
        r = queue_run(q, routes, x, extra=zone_args)
        lst = queue_list(q)
        check(x not in lst and "to=<temp9@scripted.test> bounced" in r.stdout
              and "gave up" in r.stdout, "expired message fails instead of being deferred")
        new = [m for i, m in lst.items() if i not in before]
        check(len(new) == 1 and new[0]["sender"] == ""
              and new[0]["recipients"][0]["address"] == "gina@sender.test",
              "expiry DSN queued to the sender")

        # 8. JSON output of a run over the whole queue: the held ones are skipped.
        r = mx("queue", "--queue-dir", q, "--offline", "--json", "run", "--routes", routes,
               "--zone", zone, "--hostname", "gw.delivery.test")
        try:
            out = json.loads(r.stdout)
            check(any(x.get("skipped") == "held" for x in out), "JSON run output lists skips")
        except ValueError:
            check(False, "JSON run output parses: %r" % r.stdout[:200])

        # 9. unknown id and bad routing table.
        r = mx("queue", "--queue-dir", q, "--offline", "run", "00000000000000000F")
        check(r.returncode == 1 and "no message" in r.stderr, "unknown id -> exit 1")
        bad = os.path.join(work, "bad-routes")
        with open(bad, "w") as f:
            f.write("@aicpa.org relay:[127.0.0.1\n")
        r = mx("queue", "--queue-dir", q, "--offline", "run", "--routes", bad)
        check(r.returncode == 2 and "bad-routes:1:" in r.stderr, "routing error names file:line")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
