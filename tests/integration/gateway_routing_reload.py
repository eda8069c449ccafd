#!/usr/bin/env python3
"""gateway_routing_reload.py: a missing or broken routing table never silently turns
delivery off (issue 16 item 1).
  - `serve --check` and the start refuse a missing or broken table, exit 78, with the
    config's FILE:LINE and the table's own FILE:LINE;
  - a running server shows its delivery state and routing table in `mxguard status`;
  - SIGHUP with a broken or missing table reports "reload failed" at error level, never
    "reload done", and keeps the table in force;
  - SIGHUP with a fixed table applies it: a message is then delivered by its new route
    (a scripted SMTP sink, tests/support/delivery_smtpd.py)."""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import shutil

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, MXGUARD, free_port,  # noqa: E402
                                 wait_for)

c = Checker()


def config_line(path, prefix):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.startswith(prefix):
                return n
    return None


def serve(gw, *extra):
    """Runs `serve` (or `serve --check`) that must refuse the config and exit at once;
    a server that starts anyway is stopped after 20 s and reported as returncode None."""
    try:
        return subprocess.run([MXGUARD, "serve", "--config", gw.config, *extra],
                              capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired as e:  # run() has killed it
        return subprocess.CompletedProcess(e.cmd, None, e.stdout or "", "started anyway")


# --- start-up and --check refuse a missing table and a broken one
for kind in ("missing", "broken"):
    gw = Gateway(mode="deliver", top="")
    try:
        table = os.path.join(gw.tmp, "routes.txt")
        if kind == "broken":
            with open(table, "w") as f:
                f.write("# routes\n@a.test relay:[127.0.0.1]:25\n@b.test relay:[\n")
        with open(gw.config, "a") as f:
            f.write(f'[routing]\ntable = "{table}"\n')
        line = config_line(gw.config, "table = ")
        want = f"{gw.config}:{line}: routing.table: {table}" + (
            ": cannot open" if kind == "missing" else ":3: ")
        for args in (("--check",), ()):
            r = serve(gw, *args)
            what = "serve " + " ".join(args) if args else "serve"
            c.eq(r.returncode, 78, f"{kind} table: {what} exits 78 ({r.stdout}{r.stderr})")
            c.ok(want in r.stderr, f"{kind} table: {what} names {want!r}: {r.stderr!r}")
        c.ok(not os.path.exists(os.path.join(gw.state, "control.sock")),
             f"{kind} table: nothing started")
    finally:
        gw.cleanup()

# --- a running server: status, failed reloads, a fixed table applies
sink_port = free_port()
sink_dir = tempfile.mkdtemp(prefix="mxg-rt-sink-")
smtpd = os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support", "delivery_smtpd.py")
sink = subprocess.Popen(["/usr/bin/python3", smtpd, str(sink_port), sink_dir, "--max-seconds", "120"])
gw = Gateway(mode="deliver", relay='local_domains = ["local.test"]\ntrusted_networks = ["127.0.0.0/8"]\n')
table = os.path.join(gw.tmp, "routes.txt")
try:
    with open(table, "w") as f:
        f.write("* hold\n")  # everything stays in the queue
    with open(gw.config, "a") as f:
        f.write(f'[routing]\ntable = "{table}"\n')
    gw.start()
    sock = os.path.join(gw.state, "control.sock")

    def status():
        r = gw.cli("status", "--socket", sock, "--json", check=False)
        try:
            return r.returncode, json.loads(r.stdout)
        except ValueError:
            return r.returncode, {}

    rc, st = status()
    c.eq(rc, 0, "status: exit 0 while delivering")
    c.eq(st.get("delivery", {}).get("state"), "on", "status: delivery on")
    c.eq(st.get("delivery", {}).get("routing_table"), table, "status: the routing table in force")
    c.eq(st.get("delivery", {}).get("rules"), 1, "status: its rule count")
    r = gw.cli("status", "--config", gw.config, check=False)
    c.ok(r.returncode == 0 and r.stdout.startswith(f"delivery: on (routing table {table}, 1 rules)"),
         f"status text via --config: {r.stdout!r}")

    def hup_and_wait(marker_counts):
        before = {k: gw.log_text().count(k) for k in marker_counts}
        gw.proc.send_signal(signal.SIGHUP)
        # a HUP ends in exactly one of these lines
        wait_for(lambda: gw.log_text().count("reload done") > before["reload done"] or
                 gw.log_text().count("reload failed") > before["reload failed"], "reload end")
        return {k: gw.log_text().count(k) - before[k] for k in marker_counts}

    for kind, text in (("broken", "* relay:[\n"), ("missing", None)):
        if text is None:
            os.unlink(table)
        else:
            with open(table, "w") as f:
                f.write(text)
        d = hup_and_wait(["reload done", "reload failed"])
        c.eq(d["reload done"], 0, f"{kind} table on HUP: no 'reload done'")
        c.ok(d["reload failed"] >= 1, f"{kind} table on HUP: 'reload failed'")
        fail_lines = [ln for ln in gw.log_text().splitlines() if "reload failed" in ln]
        c.ok(re.search(r" error reload failed, keeping the running configuration: " +
                       re.escape(gw.config) + r":\d+: routing\.table: " + re.escape(table),
                       fail_lines[-1] if fail_lines else "") is not None,
             f"{kind} table on HUP: error level, config and table named: {fail_lines[-1:]!r}")
        rc, st = status()
        c.ok(rc == 0 and st.get("delivery", {}).get("state") == "on" and
             st["delivery"].get("rules") == 1, f"{kind} table on HUP: the old table stays in force "
                                              f"({st.get('delivery')})")
        c.ok(gw.proc.poll() is None, f"{kind} table on HUP: still running")

    # the fixed table applies: mail for ext.test now leaves through the sink
    with open(table, "w") as f:
        f.write(f"to:@ext.test relay:[127.0.0.1]:{sink_port}\n* hold\n")
    d = hup_and_wait(["reload done", "reload failed"])
    c.eq((d["reload done"], d["reload failed"]), (1, 0), "fixed table on HUP: reload done")
    c.ok("reload done listeners=1 delivery=on" in gw.log_text(), "reload done says delivery=on")
    rc, st = status()
    c.eq(st.get("delivery", {}).get("rules"), 2, "status: the new table's rule count")
    cl = Client(gw.port)
    cl.reply()
    cl.cmd("ehlo ops.test")
    cl.cmd("mail from:<s@local.test>")
    code, _ = cl.cmd("rcpt to:<r@ext.test>")
    c.eq(code, 250, "relay for a trusted client")
    cl.cmd("data")
    cl.send("subject: after the fix\r\n\r\nrouted by the new table\r\n.\r\n")
    code, text = cl.reply()
    c.eq(code, 250, f"accepted ({text!r})")
    cl.cmd("quit")
    cl.close()
    got = wait_for(lambda: glob.glob(os.path.join(sink_dir, "msg-*.eml")), "delivered")
    c.ok(bool(got), "the message left by the route of the reloaded table")
finally:
    gw.cleanup()
    sink.kill()
    sink.wait()
    shutil.rmtree(sink_dir, ignore_errors=True)
c.done()
