#!/usr/bin/env python3
"""gateway_ops.py: operating the gateway (issue 3 sections 1 and 6): config errors
as FILE:LINE at start, SIGHUP reload (a good config applies, a bad one is reported
and the old one kept), JSON log lines that stay valid JSON with hostile HELO text,
`mxguard log trace QUEUE-ID LOGFILE`, queue hold/release/delete over the control
socket, and the SIGTERM drain (a transaction in progress finishes, exit 0)."""
import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker, MXGUARD, wait_log  # noqa: E402


def send_one(port, helo="ops.test", rcpt="u@local.test"):
    cl = Client(port)
    cl.reply()
    cl.cmd(f"ehlo {helo}")
    cl.cmd("mail from:<s@local.test>")
    cl.cmd(f"rcpt to:<{rcpt}>")
    cl.cmd("data")
    cl.send("subject: ops\r\n\r\nbody\r\n.\r\n")
    code, text = cl.reply()
    cl.cmd("quit")
    cl.close()
    m = re.search(r"2\.0\.0 (\S+) Message accepted", text)
    return m.group(1) if m else None


c = Checker()
# --- config errors at start: every one as FILE:LINE, exit 78
gw = Gateway()
try:
    with open(gw.config, "a") as f:
        f.write("typo_key = 1\n[listener.test.limits]\nrecipints = 5\n")
    r = subprocess.run([MXGUARD, "serve", "--config", gw.config], capture_output=True, text=True, timeout=30)
    c.eq(r.returncode, 78, "bad config: exit 78")
    c.ok(re.search(re.escape(gw.config) + r":\d+: unknown key 'typo_key'", r.stderr) is not None,
         f"unknown top-level key as FILE:LINE: {r.stderr!r}")
    c.ok("unknown key 'recipints'" in r.stderr, "unknown limits key reported too")
finally:
    gw.cleanup()

with Gateway(log_format="json") as gw:
    # --- JSON log lines stay JSON with hostile HELO text
    qid = send_one(gw.port, helo='evil"\\helo')
    c.ok(qid is not None, "message accepted")
    c.ok(wait_log(gw, '"msg":"disconnect ') > 0, "session logged its end")
    bad = []
    for line in gw.log_text().splitlines():
        try:
            json.loads(line)
        except ValueError:
            bad.append(line)
    c.eq(bad, [], "every log line is valid JSON")
    # --- log trace
    r = gw.cli("log", "trace", qid, gw.log, check=False)
    c.eq(r.returncode, 0, "log trace exit 0")
    for ev in ["connect", "helo", "mail", "rcpt", "queued", "disconnect"]:
        c.ok(f'"msg":"{ev} ' in r.stdout, f"log trace shows the {ev} line")
    other = send_one(gw.port)
    r = gw.cli("log", "trace", qid, gw.log, check=False)
    c.ok(other not in r.stdout, "log trace leaves out other messages")
    # --- control socket: hold / release / delete while running
    sock = os.path.join(gw.state, "control.sock")
    r = gw.cli("queue", "--socket", sock, "--json", "list", check=False)
    c.ok(r.returncode == 0 and qid in r.stdout, "online list --json")
    r = gw.cli("queue", "--socket", sock, "delete", other, check=False)
    c.ok(r.returncode == 0 and other not in gw.messages(), "online delete removes the message")
    r = gw.cli("queue", "--socket", sock, "show", "ZZZ", check=False)
    c.ok(r.returncode != 0, "online show of a bad id fails")

    # --- SIGHUP: a good new config applies (new limit), a bad one is kept out
    with open(gw.config) as f:
        good = f.read()
    with open(gw.config, "a") as f:
        f.write("[listener.test.limits]\nrecipients = 1\n")
    n = gw.log_text().count("reload done")
    gw.proc.send_signal(signal.SIGHUP)
    c.ok(wait_log(gw, "reload done", n) > n, "good reload: reload done logged")
    cl = Client(gw.port)
    cl.reply()
    cl.cmd("ehlo ops.test")
    cl.cmd("mail from:<s@local.test>")
    codes = [cl.cmd("rcpt to:<a@local.test>")[0], cl.cmd("rcpt to:<b@local.test>")[0]]
    c.ok(codes[0] == 250 and codes[1] in (452, 552), f"reloaded limit applies: {codes}")
    cl.cmd("quit")
    cl.close()
    with open(gw.config, "w") as f:
        f.write(good + "bogus = [\n")
    n = gw.log_text().count("reload failed")
    gw.proc.send_signal(signal.SIGHUP)
    wait_log(gw, "reload failed", n)
    c.ok(gw.proc.poll() is None, "bad reload: still running")
    c.ok("reload failed" in gw.log_text(), "bad reload reported in the log")
    c.ok(send_one(gw.port) is not None, "bad reload: old config still serves")

    # --- SIGTERM drain: a transaction in progress finishes, idle sessions get 421
    idle = Client(gw.port)
    idle.reply()
    busy = Client(gw.port)
    busy.reply()
    busy.cmd("ehlo ops.test")
    busy.cmd("mail from:<s@local.test>")
    busy.cmd("rcpt to:<d@local.test>")
    busy.cmd("data")
    gw.proc.send_signal(signal.SIGTERM)
    code, text = idle.reply()  # blocks until the drain's 421 (the client has a timeout)
    c.ok(code == 421, f"idle session gets 421 on drain: {text!r}")
    busy.send("subject: drain\r\n\r\nlast one\r\n.\r\n")
    code, text = busy.reply()
    c.eq(code, 250, f"transaction in progress finishes during the drain ({text!r})")
    busy.send("quit\r\n")
    busy.close()
    idle.close()
    c.eq(gw.proc.wait(timeout=20), 0, "drain: exit 0")
c.done()
