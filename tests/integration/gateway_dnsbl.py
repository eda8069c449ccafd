#!/usr/bin/env python3
"""gateway_dnsbl.py: DNS block and allow lists in `mxguard serve` (issue 12 section 2),
end to end against a real DNS server (dnsmasq on a loopback port) serving four list
zones, with clients presented by XCLIENT from the trusted 127.0.0.1 (and one direct
client, 127.0.0.2, the RFC 5782 5 test point):
  - stage "connect": a listed client gets 554 5.7.1 naming the list instead of the
    greeting (RFC 5321 3.1), then only QUIT; IPv6 clients are asked in nibble form
    (RFC 5782 2.4); an allow-listed client passes although a block list lists it; a
    low score tags the message (X-Mxguard-DNSBL); a list answering 127.255.255.254
    ("blocked from querying") is an error, not a listing; a list whose server never
    answers ends at the deadline as an error and the client is greeted; a monitor rule
    records what it would have done; the trusted client is not looked up;
  - stage "rcpt" with error_action = "tempfail": 554 5.7.1 at each RCPT for a listed
    client, 451 4.4.3 for a client whose list answered 127.255.255.254;
  - the history records every dnsbl decision (sqlite3 on history.db);
  - `mxguard dnsbl check` shows each list's answer and the score (text and --json),
    and `--test-points` the RFC 5782 5 entries.
Expected answers come from RFC 5782, RFC 5321 / RFC 3463 and the configuration below;
the deadline is asserted on the reply and the log ("deadline" error), not wall time."""
import json
import os
import socket
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, Dnsmasq, wait_for,  # noqa: E402
                                 wait_log, MXGUARD)

c = Checker()

if not os.path.exists("/usr/sbin/dnsmasq"):
    print("dnsmasq missing: skipped")
    sys.exit(77)

# A UDP socket that never answers: every query for slow.test times out.
silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
silent.bind(("127.0.0.1", 0))
silent_port = silent.getsockname()[1]


def v4name(ip, zone):
    return ".".join(reversed(ip.split("."))) + "." + zone


def v6name(ip, zone):
    # RFC 5782 2.4, written here independently: 32 nibbles, least significant first.
    full = socket.inet_pton(socket.AF_INET6, ip).hex()
    return ".".join(reversed(full)) + "." + zone


hosts = {
    v4name("127.0.0.2", "bl.test"): "127.0.0.2",   # RFC 5782 5 test point
    v4name("192.0.2.2", "bl.test"): "127.0.0.2",   # listed: weight 3 -> reject
    v4name("192.0.2.3", "bl.test"): "127.0.0.2",   # listed, but allow-listed
    v4name("192.0.2.3", "wl.test"): "127.0.10.3",  # allow list: weight -10
    v4name("192.0.2.4", "bl.test"): "127.0.0.4",   # weight 1 -> tag
    v4name("192.0.2.5", "blocked.test"): "127.255.255.254",  # "blocked from querying"
    v4name("198.51.100.2", "bl.test"): "127.0.0.2",  # monitor rule
    v6name("2001:db8::2", "bl.test"): "127.0.0.2",
    v6name("::ffff:7f00:2", "bl.test"): "127.0.0.2",  # RFC 5782 5 IPv6 test point
}
dns_args = [f"--host-record={n},{a}" for n, a in hosts.items()]
dns_args += [f"--txt-record={v4name('192.0.2.2', 'bl.test')},Listed for spam see bl.test"]
dns_args += ["--local=/bl.test/", "--local=/wl.test/", "--local=/blocked.test/",
             f"--server=/slow.test/127.0.0.1#{silent_port}"]

ZONES = '''
[[dnsbl.zone]]
name = "bl.test"
codes = { "127.0.0.2" = { weight = 3, meaning = "spam source" }, "127.0.0.4" = 1 }
txt = true

[[dnsbl.zone]]
name = "wl.test"
type = "allow"
codes = { "127.0.10.3" = -10 }

[[dnsbl.zone]]
name = "blocked.test"
'''
SLOW = '''
[[dnsbl.zone]]
name = "slow.test"
'''


def config(dns_port, stage, error_action, slow):
    return (f'[dns]\nservers = ["127.0.0.1:{dns_port}"]\ntimeout = "5s"\ntries = 1\n'
            'hosts_file = ""\n'
            f'[dnsbl]\nenabled = true\nstage = "{stage}"\ntimeout_ms = 400\n'
            f'error_action = "{error_action}"\n'
            '[dnsbl.actions]\nreject = 3\ntag = 1\n'
            '[[dnsbl.rule]]\nname = "watch"\nnetworks = ["198.51.100.0/24"]\nmonitor = true\n'
            + ZONES + (SLOW if slow else ""))


def greet_as(gw, ip):
    """Connect from 127.0.0.1 (trusted), present `ip` by XCLIENT; returns the reply to
    XCLIENT (the new greeting) and the client (open)."""
    cl = Client(gw.port)
    cl.reply()
    cl.cmd("EHLO proxy.test")
    addr = ("IPV6:" + ip) if ":" in ip else ip
    return cl.cmd(f"XCLIENT ADDR={addr} NAME=[UNAVAILABLE]"), cl


def send_message(cl, subject):
    cl.cmd("EHLO client.example")
    cl.cmd("MAIL FROM:<a@sender.example>")
    rr = cl.cmd("RCPT TO:<u1@local.test>")
    if rr[0] != 250:
        return rr
    cl.cmd("DATA")
    return cl.cmd(f"Subject: {subject}\r\n\r\nbody\r\n.")


def dnsbl_rows(gw):
    db = sqlite3.connect(os.path.join(gw.state, "history.db"))
    try:
        return db.execute("SELECT m.client_ip, m.decision, d.action, d.monitor, d.would, d.reason "
                          "FROM decisions d JOIN messages m ON d.message = m.id "
                          "WHERE d.\"check\" = 'dnsbl' ORDER BY m.id").fetchall()
    finally:
        db.close()


relay = 'local_domains = ["local.test"]\ntrusted_networks = ["127.0.0.1/32"]\n'

with Dnsmasq(*dns_args) as dns:
    # ---- stage "connect" -------------------------------------------------------------
    with Gateway(mode="hold", top=config(dns.port, "connect", "accept", True), relay=relay) as gw:
        # The trusted proxy itself is not looked up.
        cl = Client(gw.port)
        code, text = cl.reply()
        c.eq(code, 220, "trusted 127.0.0.1 greeted")
        cl.close()
        c.ok(wait_log(gw, "result=skipped why=\"trusted network\"") > 0,
             "trusted client: the lists are not asked (log)")

        # A listed client: 554 5.7.1 naming the list, with the list's TXT reason.
        (code, text), cl = greet_as(gw, "192.0.2.2")
        c.ok(code == 554 and "5.7.1" in text and "bl.test" in text and "[192.0.2.2]" in text,
             f"listed 192.0.2.2: 554 5.7.1 naming bl.test ({text})")
        c.ok("Listed for spam see bl.test" in text, f"the reply carries the TXT reason ({text})")
        code2, text2 = cl.cmd("MAIL FROM:<a@sender.example>")
        c.eq(code2, 503, "after a 554 greeting only QUIT is served (RFC 5321 3.1)")
        c.eq(cl.cmd("QUIT")[0], 221, "QUIT answered 221")
        cl.close()

        # The slow list ends at the deadline as an error, never a listing.
        c.ok(wait_log(gw, "slow.test=error(deadline)") > 0,
             "a list that never answers: error(deadline) in the log")

        # IPv6 client, nibble query (RFC 5782 2.4).
        (code, text), cl = greet_as(gw, "2001:db8::2")
        c.ok(code == 554 and "bl.test" in text, f"IPv6 2001:db8::2 listed: 554 ({text})")
        cl.close()

        # Allow list lowers the score below every threshold: greeted and accepted.
        (code, text), cl = greet_as(gw, "192.0.2.3")
        c.eq(code, 220, "allow-listed 192.0.2.3 greeted despite bl.test")
        r = send_message(cl, "allowed")
        c.eq(r[0], 250, "allow-listed: message accepted")
        cl.close()

        # Score 1: tagged.
        (code, text), cl = greet_as(gw, "192.0.2.4")
        c.eq(code, 220, "192.0.2.4 (weight 1) greeted")
        r = send_message(cl, "tagged")
        c.eq(r[0], 250, "tagged message accepted")
        cl.close()

        # "Blocked from querying" is an error, not a listing: greeted (error_action accept).
        (code, text), cl = greet_as(gw, "192.0.2.5")
        c.eq(code, 220, "127.255.255.254 from blocked.test is not a listing: greeted")
        r = send_message(cl, "blocked list")
        c.eq(r[0], 250, "blocked-list client: message accepted")
        cl.close()

        # Monitor rule: would reject, does not.
        (code, text), cl = greet_as(gw, "198.51.100.2")
        c.eq(code, 220, "monitor rule: 198.51.100.2 greeted although listed")
        r = send_message(cl, "monitored")
        c.eq(r[0], 250, "monitor rule: message accepted")
        cl.close()

        # A direct untrusted client, the RFC 5782 5 test point 127.0.0.2: refused at greeting.
        cl = Client(gw.port, source="127.0.0.2")
        code, text = cl.reply()
        c.ok(code == 554 and "bl.test" in text, f"direct client 127.0.0.2: greeting is 554 ({text})")
        cl.close()

        # The messages carry our field with the lists' answers.
        def msg(subject):
            for ctl, data in gw.messages().values():
                t = data.decode(errors="replace")
                if f"Subject: {subject}\r\n" in t:
                    return t
            return None
        t = wait_for(lambda: msg("tagged"), "tagged message queued")
        c.ok(t and "X-Mxguard-DNSBL: score=1 action=tag; listed=bl.test (127.0.0.4 +1)" in t,
             "tag: X-Mxguard-DNSBL names the listing")
        t = msg("allowed")
        c.ok(t and "X-Mxguard-DNSBL: score=-7 action=accept; listed=bl.test (127.0.0.2 +3); "
             "allowed=wl.test (127.0.10.3 -10)" in t, "allow: the field shows both lists")
        t = msg("blocked list")
        c.ok(t and "error=blocked.test (blocked from querying 127.255.255.254)" in t,
             "blocked: the field shows the error")
        c.ok(t and "error=slow.test (deadline)" in t, "slow list: the field shows the deadline")
        t = msg("monitored")
        c.ok(t and "action=accept would=reject" in t, "monitor: the field shows would=reject")

        # History: the refusal at connect, the tag, the allow, the monitor.
        rows = wait_for(lambda: len(dnsbl_rows(gw)) >= 7 and dnsbl_rows(gw), "history rows")
        rows = dnsbl_rows(gw) if not rows else rows
        by_ip = {}
        for ip, dec, action, monitor, would, reason in rows:
            by_ip.setdefault(ip, []).append((dec, action, monitor, would, reason))
        c.ok(any(a == "reject" and "listed=bl.test(127.0.0.2)" in rs
                 for _, a, _, _, rs in by_ip.get("192.0.2.2", [])),
             f"history: 192.0.2.2 rejected at connect by bl.test ({by_ip.get('192.0.2.2')})")
        c.ok(any(a == "reject" for _, a, _, _, _ in by_ip.get("2001:db8::2", [])),
             "history: the IPv6 client's refusal")
        c.ok(any(a == "tag" for _, a, _, _, _ in by_ip.get("192.0.2.4", [])), "history: tag")
        c.ok(any(a == "accept" and "allowed=wl.test(127.0.10.3)" in rs
                 for _, a, _, _, rs in by_ip.get("192.0.2.3", [])), "history: allow-listed accept")
        c.ok(any(m == 1 and w == "reject" for _, _, m, w, _ in by_ip.get("198.51.100.2", [])),
             "history: monitor rule's would=reject")
        c.ok(any("error=blocked.test(blocked from querying 127.255.255.254)" in rs
                 for _, _, _, _, rs in by_ip.get("192.0.2.5", [])),
             "history: the blocked answer recorded as an error")

        # `mxguard dnsbl check` against the same DNS and the gateway's configuration.
        r = gw.cli("dnsbl", "check", "192.0.2.2", "--config", gw.config,
                   "--dns", f"127.0.0.1:{dns.port}", "--json", check=False)
        c.eq(r.returncode, 1, "dnsbl check: a listed address exits 1")
        try:
            j = json.loads(r.stdout)
        except ValueError:
            j = {}
        lists = {x["zone"]: x for x in j.get("lists", [])}
        c.eq(j.get("score"), 3, "dnsbl check --json: score 3")
        c.eq(j.get("action"), "reject", "dnsbl check --json: decision reject")
        bl = lists.get("bl.test", {})
        c.ok(bl.get("status") == "listed" and bl.get("codes", [{}])[0].get("meaning") == "spam source"
             and bl.get("query") == "2.2.0.192.bl.test", f"dnsbl check: bl.test answer ({bl})")
        c.eq(lists.get("slow.test", {}).get("status"), "error", "dnsbl check: slow list is an error")
        r = gw.cli("dnsbl", "check", "192.0.2.5", "--config", gw.config,
                   "--dns", f"127.0.0.1:{dns.port}", check=False)
        c.ok(r.returncode == 3 and "blocked from querying 127.255.255.254" in r.stdout,
             f"dnsbl check: blocked answer shown as an error, exit 3 ({r.returncode}: {r.stdout})")
        r = gw.cli("dnsbl", "check", "192.0.2.3", "--config", gw.config,
                   "--dns", f"127.0.0.1:{dns.port}", check=False)
        c.ok("score -7" in r.stdout and "wl.test" in r.stdout, f"dnsbl check: allow list ({r.stdout})")
        r = gw.cli("dnsbl", "check", "--test-points", "--list", "bl.test",
                   "--dns", f"127.0.0.1:{dns.port}", check=False)
        c.ok(r.returncode == 0 and r.stdout.count(" ok") == 4,
             f"dnsbl check --test-points: RFC 5782 5 entries of bl.test ({r.stdout})")
        r = gw.cli("dnsbl", "check", "--test-points", "--list", "wl.test",
                   "--dns", f"127.0.0.1:{dns.port}", check=False)
        c.ok(r.returncode == 1 and "FAIL" in r.stdout,
             f"dnsbl check --test-points: a list without 127.0.0.2 fails ({r.stdout})")

    # ---- stage "rcpt", error_action tempfail -----------------------------------------
    with Gateway(mode="hold", top=config(dns.port, "rcpt", "tempfail", False), relay=relay) as gw:
        (code, text), cl = greet_as(gw, "192.0.2.2")
        c.eq(code, 220, "stage rcpt: a listed client is greeted")
        r = send_message(cl, "rcpt stage")
        c.ok(r[0] == 554 and "5.7.1" in r[1] and "bl.test" in r[1],
             f"stage rcpt: RCPT refused 554 5.7.1 naming bl.test ({r})")
        cl.close()
        (code, text), cl = greet_as(gw, "192.0.2.5")
        r = send_message(cl, "rcpt blocked")
        c.ok(r[0] == 451 and "4.4.3" in r[1], f"stage rcpt: list error -> 451 4.4.3 ({r})")
        cl.close()
        (code, text), cl = greet_as(gw, "192.0.2.9")
        r = send_message(cl, "rcpt clean")
        c.eq(r[0], 250, "stage rcpt: a clean client's message accepted")
        cl.close()
        rows = wait_for(lambda: len(dnsbl_rows(gw)) >= 3 and dnsbl_rows(gw), "history rows")
        c.ok(rows and any(ip == "192.0.2.2" and a == "reject" for ip, _, a, _, _, _ in rows),
             "stage rcpt: the refusal is in the history")
silent.close()
c.done()
