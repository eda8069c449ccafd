#!/usr/bin/env python3
"""console_api.py: the web console's JSON API (issue 11 sections 2 and 4, docs/console.md)
with a real HTTP client (http.client) against a real `mxguard serve`:
  - users made with `mxguard console passwd` (password from stdin): an admin, a helpdesk
    user of local.test and one of other.test;
  - a real SMTP client sends a softfail message (SPF record served by dnsmasq) that the
    [spf] policy quarantines; the API lists and shows it (headers, body as text);
  - a wrong password is refused 401; repeated failures are rate-limited 429 even with the
    right password; the session cookie is HttpOnly and SameSite=Strict; no cookie: 401;
  - a POST without the CSRF token is refused 403 and changes nothing;
  - the helpdesk user of other.test does not see the message (list, show 404) and cannot
    release it; admin-only endpoints answer it 403;
  - the admin releases it: smtp-sink receives it exactly once; a second release is
    refused (409, "already released"), also through the control socket CLI; the index
    records "console:admin";
  - history search by queue id finds the softfail decision; status and dashboard answer;
  - logout ends the session.
Expected answers come from docs/console.md and RFC 7208 (softfail), not from running the
code."""
import http.client
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
         passwd("desk", "desk pass 2", "--role", "helpdesk", "--domain", "other.test") +
         passwd("localdesk", "local pass 3", "--role", "helpdesk", "--domain", "local.test"))
c.ok('[console.users.desk]\nrole = "helpdesk"\ndomains = ["other.test"]\npassword = "$argon2id$'
     in users, "console passwd prints the user's table with an argon2id hash")

cport = free_port()
sink_port = free_port()
work = tempfile.mkdtemp(prefix="mxg-console-")
sink_dir = os.path.join(work, "sink")
os.makedirs(sink_dir)
routes = os.path.join(work, "routes")
with open(routes, "w") as f:
    f.write(f"* relay:[127.0.0.1]:{sink_port}\n")


def Api():
    return ConsoleApi(cport)


def sink_copies(subject):
    return sink_copies_in(sink_dir, subject)


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
            c.ok(wait_log(gw, "console listening on http://127.0.0.1:") > 0,
                 "the console logs its address")

            # A softfail message from 127.0.0.5 lands in the quarantine.
            cl = Client(gw.port, source="127.0.0.5")
            cl.reply()
            cl.cmd("EHLO client.example")
            c.eq(cl.cmd("MAIL FROM:<carol@soft.test>")[0], 250, "MAIL accepted")
            c.eq(cl.cmd("RCPT TO:<u1@local.test>")[0], 250, "RCPT accepted")
            cl.cmd("DATA")
            code, text = cl.cmd("Subject: console softfail\r\nMessage-ID: <cs@client.example>\r\n"
                                "Content-Type: text/html\r\n\r\n"
                                "<script>alert(1)</script><img src=http://192.0.2.1/x>\r\n.")
            cl.cmd("QUIT")
            cl.close()
            c.eq(code, 250, f"softfail message answered 250 ({text})")
            qid = text.split()[2] if code == 250 else "-"

            admin = Api()
            # No session: 401.
            status, _ = admin.call("GET", "/api/quarantine")
            c.eq(status, 401, "no session: /api/quarantine refused 401")
            # Wrong password: 401, no cookie.
            status, j = admin.login("admin", "wrong")
            c.eq(status, 401, f"wrong password refused 401 ({j})")
            c.eq(admin.cookie, None, "wrong password: no session cookie")
            status, j = admin.login("nosuchuser", "admin pass 1")
            c.eq(status, 401, "unknown user refused 401, like a wrong password")
            status, j = admin.login("admin", "admin pass 1")
            c.eq(status, 200, f"admin signs in ({j})")
            c.eq(j and j.get("role"), "admin", "login answers the role")
            sc = admin.set_cookie or ""
            c.ok("HttpOnly" in sc and "SameSite=Strict" in sc and "Path=/" in sc,
                 f"session cookie HttpOnly, SameSite=Strict ({sc})")
            c.ok("Secure" not in sc, "no Secure attribute without TLS (the cookie would be lost)")
            c.ok("Max-Age" not in sc and "Expires" not in sc,
                 "a browser-session cookie (the server ends idle sessions)")
            c.ok(admin.cookie and len(admin.cookie) == 64, "session id of 256 bits (64 hex digits)")

            def listed(api, query=""):
                status, j = api.call("GET", "/api/quarantine" + query)
                return [m["id"] for m in (j or {}).get("messages", [])] if status == 200 else []

            got = wait_for(lambda: qid in listed(admin), "quarantine lists the message")
            c.ok(got, "admin: the softfail message is listed")
            c.ok(qid in listed(admin, "?domain=soft.test&reason=spf&result=softfail"
                                      "&recipient=u1%40local.test&since=1d"),
                 "admin: filters by domain, reason, result, recipient, date")
            c.ok(qid not in listed(admin, "?domain=other.test"), "admin: the domain filter excludes")
            c.ok(qid not in listed(admin, "?until=1h"), "admin: until=1h excludes a message of now")
            c.ok(qid not in listed(admin, "?result=fail"), "admin: the result filter excludes")
            c.ok(qid not in listed(admin, "?rule=nosuchrule"), "admin: the rule filter excludes")
            status, j = admin.call("GET", f"/api/quarantine/{qid}")
            c.eq(status, 200, "admin: show the message")
            j = j or {}
            c.eq(j.get("entry", {}).get("spf_result"), "softfail", "show: SPF result softfail")
            c.ok("Subject: console softfail" in j.get("headers", ""), "show: headers as text")
            c.ok("<script>alert(1)</script>" in j.get("body_text", ""),
                 "show: an HTML body is returned as text, unchanged (the page shows it as text)")

            # Helpdesk of other.test: sees nothing of local.test.
            desk = Api()
            status, _ = desk.login("desk", "desk pass 2")
            c.eq(status, 200, "helpdesk desk signs in")
            c.ok(qid not in listed(desk), "helpdesk of other.test: message not listed")
            status, _ = desk.call("GET", f"/api/quarantine/{qid}")
            c.eq(status, 404, "helpdesk of other.test: show answers 404")
            status, j = desk.call("POST", "/api/quarantine/release", {"ids": [qid]})
            c.eq(status, 409, f"helpdesk of other.test: release refused ({j})")
            c.ok("not in the quarantine" in json.dumps(j), "  as if the message were absent")
            status, _ = desk.call("POST", "/api/quarantine/release-domain", {"domain": "soft.test"})
            c.eq(status, 200, "helpdesk release-domain answers (nothing of its own to release)")
            status, _ = desk.call("GET", "/api/status")
            c.eq(status, 403, "helpdesk: admin-only endpoint refused 403")
            status, _ = desk.call("GET", "/api/history")
            c.eq(status, 403, "helpdesk: history refused 403")

            # Helpdesk of local.test sees it (but does not release it here).
            local = Api()
            status, _ = local.login("localdesk", "local pass 3")
            c.eq(status, 200, "helpdesk localdesk signs in")
            c.ok(qid in listed(local), "helpdesk of local.test: message listed")

            # POST without the CSRF token: 403, nothing released.
            status, j = admin.call("POST", "/api/quarantine/release", {"ids": [qid]}, csrf=False)
            c.eq(status, 403, f"release without CSRF token refused 403 ({j})")
            status, j = admin.call("DELETE", f"/api/quarantine/{qid}", csrf=False)
            c.eq(status, 403, "DELETE without CSRF token refused 403")
            status, j = admin.call("GET", f"/api/quarantine/{qid}")
            c.eq((j or {}).get("entry", {}).get("status"), "held", "still held after the refusals")
            c.eq(sink_copies("console softfail"), [], "not delivered while quarantined")

            # The admin releases it: delivered exactly once.
            status, j = admin.call("POST", "/api/quarantine/release", {"ids": [qid]})
            c.eq(status, 200, f"admin release answers 200 ({j})")
            c.ok(j and j["results"][0]["ok"], "release result ok")
            got = wait_for(lambda: sink_copies("console softfail"), "released message delivered")
            c.eq(len(got), 1, "released message reached smtp-sink")
            status, j = admin.call("POST", "/api/quarantine/release", {"ids": [qid]})
            c.eq(status, 409, "second release refused 409")
            c.ok("already released" in json.dumps(j), f"  it says already released ({j})")
            sock = os.path.join(gw.state, "control.sock")
            r = gw.cli("quarantine", "--socket", sock, "--history",
                       os.path.join(gw.state, "history.db"), "release", qid, check=False)
            c.eq(r.returncode, 1, f"CLI release after the console's refused ({r.stderr.strip()})")
            wait_for(lambda: qid not in gw.messages(), "released message left the queue")
            c.eq(len(sink_copies("console softfail")), 1, "delivered exactly once")
            status, j = admin.call("GET", f"/api/quarantine/{qid}")
            e = (j or {}).get("entry", {})
            c.eq((e.get("status"), e.get("released_by")), ("released", "console:admin"),
                 "the index records the release with the console user")
            c.ok(wait_log(gw, f"quarantine released qid={qid} by=console:admin via=console") > 0,
                 "the release is logged with user and adapter")

            # History, status, dashboard (admin).
            status, j = admin.call("GET", f"/api/history?queue_id={qid}&since=1d")
            msgs = (j or {}).get("messages", [])
            c.ok(status == 200 and len(msgs) == 1 and msgs[0]["spf_result"] == "softfail"
                 and msgs[0]["decision"] == "quarantine",
                 f"history search by queue id finds the softfail quarantine ({status})")
            status, j = admin.call("GET", "/api/history?sender=carol%40soft&result=quarantine")
            c.ok(status == 200 and qid in [m["queue_id"] for m in j["messages"]],
                 "history search by sender and result")
            status, j = admin.call("GET", "/api/history?client_ip=192.0.2.99")
            c.ok(status == 200 and j["count"] == 0, "history search by client IP excludes")
            status, j = admin.call("GET", "/api/status")
            c.ok(status == 200 and j.get("delivery", {}).get("state") == "on",
                 f"status: delivery on ({j})")
            status, j = admin.call("GET", "/api/dashboard?hours=2")
            quarantined = sum(j.get("series", {}).get("action", {}).get("quarantine", [])) \
                if status == 200 else 0
            softfails = sum(j.get("series", {}).get("spf", {}).get("softfail", [])) \
                if status == 200 else 0
            c.ok(quarantined >= 1 and softfails >= 1,
                 f"dashboard counts the quarantine and the softfail ({status})")
            status, j = admin.call("POST", "/api/policy/simulate",
                                   {"candidate": '[spf]\nenabled = true\n[spf.actions]\n'
                                                 'softfail = "reject"\n', "since": "1d"})
            c.ok(status == 200 and j.get("transitions", {}).get("quarantine->reject", 0) >= 1,
                 f"policy simulate: the softfail would be rejected ({status} {j})")
            status, j = admin.call("POST", "/api/policy/simulate", {"candidate": "[spf]\nbogus = 1\n"})
            c.ok(status == 400 and "candidate:2:" in (j or {}).get("error", ""),
                 f"policy simulate: a bad candidate is refused with its line ({j})")
            status, j = admin.call("POST", "/api/spf/lint", {"record": "v=spf1 +all"})
            c.ok(status == 200 and "+all" in (j or {}).get("report", ""),
                 f"spf lint of a record ({status})")

            status, j = admin.call("GET", "/api/queue")
            c.ok(status == 200 and isinstance(j.get("messages"), list) and "count" in j,
                 f"queue list: messages and count ({status})")
            status, j = desk.call("GET", "/api/queue")
            c.eq(status, 403, "helpdesk: queue refused 403")

            # Rate limit: five failures for localdesk, then even the right password is 429.
            other = Api()
            for i in range(5):
                other.login("localdesk", f"wrong {i}")
            status, _ = other.login("localdesk", "local pass 3")
            c.eq(status, 429, "after 5 failures the right password is refused 429")

            # Logout ends the session.
            status, _ = admin.call("POST", "/api/logout", csrf=False)
            c.eq(status, 403, "logout without CSRF refused")
            status, _ = admin.call("POST", "/api/logout")
            c.eq(status, 200, "logout")
            c.ok("Max-Age=0" in (admin.set_cookie or ""), "logout drops the cookie (Max-Age=0)")
            status, _ = admin.call("GET", "/api/me")
            c.eq(status, 401, "after logout the old cookie is refused")
            # The page itself.
            conn = http.client.HTTPConnection("127.0.0.1", cport, timeout=30)
            conn.request("GET", "/")
            r = conn.getresponse()
            page = r.read().decode()
            csp = r.getheader("Content-Security-Policy") or ""
            conn.close()
            c.ok(r.status == 200 and "/app.js" in page and "default-src 'self'" in csp,
                 "the page is served with a strict Content-Security-Policy")
finally:
    sink.kill()
    sink.wait()
c.done()
