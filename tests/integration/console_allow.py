#!/usr/bin/env python3
"""console_allow.py: the console's "release and allow" (issue 11 section 3, docs/console.md,
docs/policy.md "Policy exceptions") with a real HTTP client against a real `mxguard serve`
whose [spf] quarantines softfail (the SPF record served by dnsmasq):
  - a softfail message is quarantined; release-allow with the sender scope releases it
    (smtp-sink receives it exactly once; a second release-allow is refused and adds
    nothing) and adds an exception recorded with the console user;
  - the same sender from the same IP is then accepted with a tag, and the history says
    rule "exception:<id>"; another sender of the domain is still quarantined;
  - release-allow with the domain_net scope (default: the client's /24) covers another
    sender of the domain from that /24, not from another range (quarantined again);
  - without the CSRF token: 403; a helpdesk user: 403; a bad scope, a too wide net or an
    expiry that is not a duration: 400; an exception expires after 30 days by default;
  - GET/DELETE /api/exceptions list and delete (a deleted exception stops applying at
    once), `mxguard policy exceptions list|delete` on the store.
Expected answers come from docs/console.md and docs/policy.md, not from running the code."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, Dnsmasq, wait_for,  # noqa: E402
                                 wait_log, free_port, MXGUARD)
from console_client import ConsoleApi, console_passwd, sink_copies as sink_copies_in  # noqa: E402,E501

c = Checker()

if not os.path.exists("/usr/sbin/dnsmasq") or not os.path.exists("/usr/sbin/smtp-sink"):
    print("dnsmasq or smtp-sink missing: skipped")
    sys.exit(77)


def passwd(user, password, *extra):
    return console_passwd(c, user, password, *extra)


users = (passwd("admin", "admin pass 1") +
         passwd("desk", "desk pass 2", "--role", "helpdesk", "--domain", "local.test"))
cport = free_port()
sink_port = free_port()
work = tempfile.mkdtemp(prefix="mxg-allow-")
sink_dir = os.path.join(work, "sink")
os.makedirs(sink_dir)
routes = os.path.join(work, "routes")
with open(routes, "w") as f:
    f.write(f"* relay:[127.0.0.1]:{sink_port}\n")


def Api():
    return ConsoleApi(cport)


def sink_copies(subject):
    return sink_copies_in(sink_dir, subject)


def send(gw, source, sender, subject):
    """One message; answers its queue id (or None)."""
    cl = Client(gw.port, source=source)
    cl.reply()
    cl.cmd("EHLO client.example")
    cl.cmd(f"MAIL FROM:<{sender}>")
    cl.cmd("RCPT TO:<u1@local.test>")
    cl.cmd("DATA")
    code, text = cl.cmd(f"Subject: {subject}\r\nFrom: <{sender}>\r\n\r\nhello\r\n.")
    cl.cmd("QUIT")
    cl.close()
    c.eq(code, 250, f"{subject}: answered 250 ({text})")
    return text.split()[2] if code == 250 else None


sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "root", "-d", sink_dir + "/%M.",
                         f"127.0.0.1:{sink_port}", "100"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    with Dnsmasq("--txt-record=soft.test,v=spf1 ip4:192.0.2.0/24 ~all") as dns:
        top = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "2s"\ntries = 2\n'
               'hosts_file = ""\n'
               f'[routing]\ntable = "{routes}"\n'
               '[spf]\nenabled = true\nauthserv_id = "mx.test"\ntrusted_networks = []\n'
               '[spf.actions]\nsoftfail = "quarantine"\n'
               f'[console]\nlisten = "127.0.0.1:{cport}"\n' + users)
        relay = 'local_domains = ["local.test"]\ntrusted_networks = []\n'
        with Gateway(mode="deliver", top=top, relay=relay) as gw:
            wait_log(gw, "console listening on http://127.0.0.1:")
            admin = Api()
            c.eq(admin.login("admin", "admin pass 1")[0], 200, "admin signs in")

            def entry(qid):
                status, j = admin.call("GET", f"/api/quarantine/{qid}")
                return (j or {}).get("entry", {}) if status == 200 else {}

            def held(qid):
                return wait_for(lambda: entry(qid).get("status") == "held", f"{qid} held")

            def history(qid):
                status, j = admin.call("GET", f"/api/history?queue_id={qid}&since=1d")
                msgs = (j or {}).get("messages", []) if status == 200 else []
                return msgs[0] if msgs else None

            q1 = send(gw, "127.0.0.5", "carol@soft.test", "allow one")
            c.ok(held(q1), "the softfail message is quarantined")

            # Refusals first: nothing released, nothing added.
            body = {"id": q1, "scope": "sender"}
            status, j = admin.call("POST", "/api/quarantine/release-allow", body, csrf=False)
            c.eq(status, 403, f"release-allow without the CSRF token refused 403 ({j})")
            desk = Api()
            c.eq(desk.login("desk", "desk pass 2")[0], 200, "helpdesk signs in")
            status, j = desk.call("POST", "/api/quarantine/release-allow", body)
            c.eq(status, 403, f"release-allow is for admins only ({j})")
            status, j = desk.call("GET", "/api/exceptions")
            c.eq(status, 403, "the exceptions list is for admins only")
            status, j = admin.call("POST", "/api/quarantine/release-allow",
                                      {"id": q1, "scope": "everyone"})
            c.eq(status, 400, f"an unknown scope is refused 400 ({j})")
            status, j = admin.call("POST", "/api/quarantine/release-allow",
                                      {"id": q1, "scope": "domain_net", "net": "0.0.0.0/0"})
            c.eq(status, 400, f"a blanket network is refused 400 ({j})")
            status, j = admin.call("POST", "/api/quarantine/release-allow",
                                      {"id": q1, "scope": "sender", "expires": "forever"})
            c.eq(status, 400, f"an expiry that is not a duration is refused 400 ({j})")
            c.eq(entry(q1).get("status"), "held", "still held after the refusals")
            status, j = admin.call("GET", "/api/exceptions")
            c.eq((status, (j or {}).get("count")), (200, 0), "no exception after the refusals")

            # Release and allow this sender.
            status, j = admin.call("POST", "/api/quarantine/release-allow", body)
            c.eq(status, 200, f"release-allow (sender) answers 200 ({j})")
            ex1 = (j or {}).get("exception") or {}
            c.ok(j and j["results"][0]["ok"], "the message is released")
            c.eq((ex1.get("scope"), ex1.get("sender"), ex1.get("domain"), ex1.get("created_by")),
                 ("sender", "carol@soft.test", "soft.test", "console:admin"),
                 "the exception: this sender, made by the console user")
            life = (ex1.get("expires_at") or 0) - (ex1.get("created_at") or 0)
            c.ok(abs(life - 30 * 86400) < 60 and ex1.get("expired") is False,
                 f"  it expires after the default 30 days ({life} s), not expired")
            got = wait_for(lambda: sink_copies("allow one"), "released message delivered")
            c.eq(len(got), 1, "the released message reached smtp-sink")
            status, j = admin.call("POST", "/api/quarantine/release-allow", body)
            c.eq(status, 409, f"a second release-allow is refused 409 ({j})")
            c.ok(j and j.get("exception") is None, "  and adds no exception")
            wait_for(lambda: q1 not in gw.messages(), "released message left the queue")
            c.eq(len(sink_copies("allow one")), 1, "delivered exactly once")
            c.ok(wait_log(gw, f"policy exception added id={ex1.get('id')} scope=sender") > 0,
                 "the creation is logged")

            # The same sender from the same IP: accepted with the exception's tag.
            q2 = send(gw, "127.0.0.5", "carol@soft.test", "allow two")
            got = wait_for(lambda: sink_copies("allow two"), "excepted message delivered")
            c.eq(len(got), 1, "the same sender again is delivered, not quarantined")
            c.ok(got and "X-Mxguard-Policy: spf excepted" in got[0],
                 "  with the exception's tag header")
            h = wait_for(lambda: history(q2), "history of the excepted message")
            rule = f"exception:{ex1.get('id')}"
            c.eq(((h or {}).get("decision"), (h or {}).get("rule")), ("tag", rule),
                 f"history: decision tag, rule {rule}")
            c.ok(any(d["check"] == "spf" and d["rule"] == rule for d in (h or {}).get("decisions", [])),
                 "  the SPF decision carries the exception's rule")

            # Another sender of the domain: not covered by a sender exception.
            q3 = send(gw, "127.0.0.5", "dave@soft.test", "allow three")
            c.ok(held(q3), "another sender is still quarantined")

            # Release and allow the domain from the client's /24 (the default net).
            status, j = admin.call("POST", "/api/quarantine/release-allow",
                                      {"id": q3, "scope": "domain_net", "net": ""})
            ex2 = (j or {}).get("exception") or {}
            c.eq((status, ex2.get("scope"), ex2.get("domain"), ex2.get("net")),
                 (200, "domain_net", "soft.test", "127.0.0.0/24"),
                 f"release-allow (domain_net) defaults to the client's /24 ({j})")
            wait_for(lambda: sink_copies("allow three"), "released domain_net message delivered")
            q4 = send(gw, "127.0.0.9", "erin@soft.test", "allow four")
            wait_for(lambda: sink_copies("allow four"), "domain_net: same /24 delivered")
            h = wait_for(lambda: history(q4), "history of the domain_net message")
            c.eq((h or {}).get("rule"), f"exception:{ex2.get('id')}", "  rule exception:<id>")
            q5 = send(gw, "127.0.1.5", "erin@soft.test", "allow five")
            c.ok(held(q5), "from another IP range: quarantined again")

            # List and delete.
            status, j = admin.call("GET", "/api/exceptions")
            ids = [e["id"] for e in (j or {}).get("exceptions", [])]
            c.eq(ids, [ex1.get("id"), ex2.get("id")], "GET /api/exceptions lists both")
            status, j = admin.call("DELETE", f"/api/exceptions/{ex1.get('id')}", csrf=False)
            c.eq(status, 403, "DELETE without the CSRF token refused 403")
            status, j = admin.call("DELETE", f"/api/exceptions/{ex1.get('id')}")
            c.eq(status, 200, f"DELETE /api/exceptions/ID ({j})")
            status, j = admin.call("DELETE", f"/api/exceptions/{ex1.get('id')}")
            c.eq(status, 404, "a second delete answers 404")
            c.ok(wait_log(gw, f"policy exception deleted id={ex1.get('id')} by=console:admin") > 0,
                 "the deletion is logged with the user")
            q6 = send(gw, "127.0.1.7", "carol@soft.test", "allow six")
            c.ok(held(q6), "a deleted exception no longer applies")

            # The CLI on the store.
            db = os.path.join(gw.state, "history.db")
            r = gw.cli("policy", "exceptions", "list", "--history", db, "--json", check=False)
            listed = json.loads(r.stdout) if r.returncode == 0 else []
            c.eq([e["id"] for e in listed], [ex2.get("id")], f"CLI list: the live one ({r.stderr})")
            r = gw.cli("policy", "exceptions", "delete", str(ex2.get("id")), "--history", db,
                       "--by", "root", check=False)
            c.eq(r.returncode, 0, f"CLI delete exits 0 ({r.stderr})")
            r = gw.cli("policy", "exceptions", "list", "--history", db, "--all", "--json",
                       check=False)
            listed = json.loads(r.stdout) if r.returncode == 0 else []
            c.eq([(e["id"], e["deleted_by"]) for e in listed],
                 [(ex1.get("id"), "console:admin"), (ex2.get("id"), "cli:root")],
                 "CLI list --all: both, with who deleted them")
finally:
    sink.kill()
    sink.wait()
c.done()
