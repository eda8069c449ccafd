#!/usr/bin/python3
"""delivery_to_mxguard.py: one mxguard delivers to a second mxguard instance.

The receiver is `mxguard serve` with a hold (capture) listener on a random
127.0.0.1 high port offering STARTTLS with a self-signed certificate; the sender is an
offline `mxguard queue run` over a queue with a routing table
`@aicpa.org relay:[127.0.0.1]:PORT`. Checked: the message arrives in the receiver's
queue with its envelope (sender, recipients) and text intact, the transaction ran
under STARTTLS (RFC 3207), and a recipient the receiver refuses (relay control,
554 5.7.1) fails with a DSN queued to the sender. Then a sending `mxguard serve`
(python smtplib in) relays a deliver-mode message at once through its scheduler, and
a queueonly one only on `mxguard queue run` through its control socket.
Needs `mxguard serve` (src/gateway); fails when it is not built.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import delivery_queue_run as t  # noqa: E402  (helpers: put, mx, queue_list, check)


def main():
    h = t.mx("serve", "--help")
    if h.returncode != 0 or "--config" not in h.stdout:
        print("FAIL: mxguard serve is not in this build")
        return 1
    work = tempfile.mkdtemp(prefix="mxg-delivery2-")
    recv = None
    try:
        port = t.free_port()
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=receiver.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        rq = os.path.join(work, "recv", "queue")
        conf = os.path.join(work, "recv.toml")
        with open(conf, "w") as f:
            f.write('state_dir = "%s"\n[log]\nlevel = "info"\n'
                    '[relay]\nlocal_domains = ["receiver.test"]\ntrusted_networks = []\n'
                    '[listener.in]\naddress = "127.0.0.1:%d"\ndelivery_mode = "hold"\n'
                    'queue_dir = "%s"\ntls_cert = "%s"\ntls_key = "%s"\n'
                    % (os.path.join(work, "recv"), port, rq, cert, key))
        log = open(os.path.join(work, "recv.log"), "w")
        recv = subprocess.Popen([t.MXGUARD, "serve", "--config", conf], cwd=work,
                                stdout=log, stderr=subprocess.STDOUT)
        if not t.wait_port(port):
            t.check(False, "receiver mxguard serve started")
            return
        routes = os.path.join(work, "routes")
        with open(routes, "w") as f:
            f.write("@aicpa.org relay:[127.0.0.1]:%d\n" % port)
        q = os.path.join(work, "send")
        a = t.put(q, "alice@aicpa.org", ["bob@receiver.test", "eve@elsewhere.test"],
                  "mxguard to mxguard", body="hello\r\n.dot line\r\n")
        r = t.queue_run(q, routes, a)
        t.check("to=<bob@receiver.test> sent" in r.stdout, "receiver accepted bob")
        t.check("to=<eve@elsewhere.test> bounced" in r.stdout and "5.7.1" in r.stdout,
                "receiver refused the relay recipient with 5.7.1")
        t.check("dsn queued as" in r.stdout, "DSN queued for the refused recipient")
        got = t.mx("queue", "--queue-dir", rq, "--offline", "--json", "list")
        msgs = json.loads(got.stdout).get("messages", []) if got.returncode == 0 else []
        t.check(len(msgs) == 1, "one message in the receiver's queue")
        if msgs:
            m = msgs[0]
            t.check(m["sender"] == "alice@aicpa.org", "envelope sender kept")
            t.check([x["address"] for x in m["recipients"]] == ["bob@receiver.test"],
                    "only the accepted recipient")
            t.check(m["mode"] == "hold", "held by the capture listener")
            show = t.mx("queue", "--queue-dir", rq, "--offline", "--json", "show", "--body",
                        m["id"])
            body = json.loads(show.stdout).get("body", "") if show.returncode == 0 else ""
            t.check("Subject: mxguard to mxguard" in body and "\n.dot line" in body,
                    "message text intact (dot-stuffing round trip)")
            t.check("TLS" in body.split("\r\n\r\n", 1)[0], "Received header shows TLS (RFC 3207)")

        # The scheduler inside `mxguard serve`: a deliver-mode listener relays at once,
        # a queueonly listener waits for `mxguard queue run` through the control socket.
        pa, pb = t.free_port(), t.free_port()
        sa = os.path.join(work, "a")
        conf_a = os.path.join(work, "a.toml")
        with open(conf_a, "w") as f:
            f.write('state_dir = "%s"\n[relay]\ntrusted_networks = ["127.0.0.0/8"]\n'
                    '[routing]\ntable = "%s"\n'
                    '[listener.out]\naddress = "127.0.0.1:%d"\ndelivery_mode = "deliver"\n'
                    'queue_dir = "%s/queue/out"\n'
                    '[listener.later]\naddress = "127.0.0.1:%d"\ndelivery_mode = "queueonly"\n'
                    'queue_dir = "%s/queue/later"\n' % (sa, routes, pa, sa, pb, sa))
        log_a = open(os.path.join(work, "a.log"), "w")
        sender = subprocess.Popen([t.MXGUARD, "serve", "--config", conf_a], cwd=work,
                                  stdout=log_a, stderr=subprocess.STDOUT)
        try:
            if not (t.wait_port(pa) and t.wait_port(pb)):
                t.check(False, "sending mxguard serve started")
                return
            import smtplib
            for port, subj in ((pa, "deliver mode"), (pb, "queueonly mode")):
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
                    c.sendmail("alice@aicpa.org", ["carl@receiver.test"],
                               "Subject: %s\r\n\r\nvia two mxguards\r\n" % subj)

            def received(subject):
                got = t.mx("queue", "--queue-dir", rq, "--offline", "--json", "list")
                for m in json.loads(got.stdout).get("messages", []) if got.returncode == 0 else []:
                    show = t.mx("queue", "--queue-dir", rq, "--offline", "--json", "show",
                                "--body", m["id"])
                    if show.returncode == 0 and subject in json.loads(show.stdout).get("body", ""):
                        return True
                return False

            def wait_for(pred, seconds=30):
                end = time.time() + seconds
                while time.time() < end:
                    if pred():
                        return True
                    time.sleep(0.3)
                return False

            t.check(wait_for(lambda: received("Subject: deliver mode")),
                    "deliver-mode message relayed by the server's scheduler")
            t.check(not received("Subject: queueonly mode"), "queueonly message waits")
            r = t.mx("queue", "--queue-dir", os.path.join(sa, "queue"), "--socket",
                     os.path.join(sa, "control.sock"), "--listener", "later", "run")
            print("$ queue run (online) ->", r.returncode, r.stdout, r.stderr)
            t.check(wait_for(lambda: received("Subject: queueonly mode")),
                    "queueonly message delivered by `queue run` through the control socket")
        finally:
            sender.terminate()
            try:
                sender.wait(timeout=20)
            except subprocess.TimeoutExpired:
                sender.kill()
    finally:
        if recv:
            recv.terminate()
            try:
                recv.wait(timeout=20)
            except subprocess.TimeoutExpired:
                recv.kill()
        shutil.rmtree(work, ignore_errors=True)
    if t.FAILURES:
        print("%d check(s) failed" % len(t.FAILURES))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    sys.exit(main())
