#!/usr/bin/env python3
"""console_requests.py: release requests (issue 11: "a helpdesk user or a recipient can
request, an admin approves (optional per domain)"; docs/console.md "Release requests")
with a real HTTP client against a real `mxguard serve` whose [spf] quarantines softfail
(the SPF record served by dnsmasq) and whose deliveries go to smtp-sink:
  - [console] approval_domains = ["approve.test"]: a helpdesk release of mail to
    approve.test files a request (not delivered, still held); to direct.test it releases
    at once (delivered once);
  - the helpdesk user sees its own request pending and cannot approve (403); the admin
    sees it with the message; approving releases it: smtp-sink receives it exactly once,
    the index says released by console:admin, the request approved by console:admin; a
    second approval is refused (409, API and CLI) and delivers nothing;
  - deny with a note: the message stays held, the helpdesk user sees denied and the note;
  - a message deleted after its request: approving answers 409 and the request becomes
    cancelled (saying deleted), nothing delivered;
  - CLI: `quarantine requests`, `quarantine approve ID` (delivered once), `deny` of a
    decided one exits 1;
  - the digest's per-recipient "Ask" link: the page shows sender, subject and date and no
    body text, sets no cookie; a tampered token, a token of another message or another
    recipient: 403; the form POST files a request by recipient:ADDRESS that an admin
    approves (delivered once); repeated bad tokens: 429 even for a good one.
Expected answers come from docs/console.md and the issue text, not from running the code."""
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, Dnsmasq, wait_for,  # noqa: E402
                                 wait_log, free_port, MXGUARD)
from console_client import ConsoleApi, console_passwd, sink_copies as sink_copies_in  # noqa: E402,E501

c = Checker()

if not os.path.exists("/usr/sbin/dnsmasq") or not os.path.exists("/usr/sbin/smtp-sink"):
    print("dnsmasq or smtp-sink missing: skipped")
    sys.exit(77)

users = (console_passwd(c, "admin", "admin pass 1") +
         console_passwd(c, "desk", "desk pass 2", "--role", "helpdesk", "--domain",
                        "approve.test", "--domain", "direct.test"))
cport = free_port()
sink_port = free_port()
work = tempfile.mkdtemp(prefix="mxg-requests-")
sink_dir = os.path.join(work, "sink")
os.makedirs(sink_dir)
routes = os.path.join(work, "routes")
with open(routes, "w") as f:
    f.write(f"* relay:[127.0.0.1]:{sink_port}\n")

BODY_MARK = "BODY-SECRET-7f3a"


def sink_copies(subject):
    return sink_copies_in(sink_dir, subject)


def send(gw, rcpt, subject):
    """One softfail message from 127.0.0.5; answers its queue id (or None)."""
    cl = Client(gw.port, source="127.0.0.5")
    cl.reply()
    cl.cmd("EHLO client.example")
    cl.cmd("MAIL FROM:<carol@soft.test>")
    cl.cmd(f"RCPT TO:<{rcpt}>")
    cl.cmd("DATA")
    code, text = cl.cmd(f"Subject: {subject}\r\nFrom: <carol@soft.test>\r\n\r\n"
                        f"{BODY_MARK} <b>not for the request page</b>\r\n.")
    cl.cmd("QUIT")
    cl.close()
    c.eq(code, 250, f"{subject}: answered 250 ({text})")
    return text.split()[2] if code == 250 else "-"


def plain(method, path, body=None, headers=None):
    """(status, headers dict, text) of a plain request (no cookie)."""
    conn = http.client.HTTPConnection("127.0.0.1", cport, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode(errors="replace")
    finally:
        conn.close()


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
               f'[console]\nlisten = "127.0.0.1:{cport}"\n'
               'approval_domains = ["approve.test"]\n' + users)
        relay = 'local_domains = ["approve.test", "direct.test"]\ntrusted_networks = []\n'
        with Gateway(mode="deliver", top=top, relay=relay) as gw:
            wait_log(gw, "console listening on http://127.0.0.1:")
            admin = ConsoleApi(cport)
            c.eq(admin.login("admin", "admin pass 1")[0], 200, "admin signs in")
            desk = ConsoleApi(cport)
            status, me = desk.login("desk", "desk pass 2")
            c.eq(status, 200, "helpdesk signs in")
            c.eq((me or {}).get("approval_domains"), ["approve.test"],
                 "/api/login tells the page the approval domains")

            def entry(qid):
                status, j = admin.call("GET", f"/api/quarantine/{qid}")
                return (j or {}).get("entry", {}) if status == 200 else {}

            def held(qid):
                return wait_for(lambda: entry(qid).get("status") == "held", f"{qid} held")

            def requests(api, state="all"):
                status, j = api.call("GET", f"/api/requests?state={state}")
                return {r["id"]: r for r in (j or {}).get("requests", [])} if status == 200 else {}

            def cli(*args):
                return gw.cli("quarantine", "--config", gw.config, *args, check=False)

            q1 = send(gw, "u1@approve.test", "req one")
            q2 = send(gw, "u2@approve.test", "req two")
            q3 = send(gw, "u3@direct.test", "req direct")
            q5 = send(gw, "u5@approve.test", "req gone")
            q6 = send(gw, "u6@approve.test", "req cli")
            q4 = send(gw, "bob@approve.test", "req recipient")
            for q in (q1, q2, q3, q4, q5, q6):
                c.ok(held(q), f"{q} is quarantined")

            # --- helpdesk in an approval domain: a request, not a release ---
            status, j = desk.call("POST", "/api/quarantine/release", {"ids": [q1]})
            res = (j or {}).get("results", [{}])[0]
            c.eq(status, 200, f"helpdesk release in approve.test answers 200 ({j})")
            r1 = res.get("request")
            c.ok(res.get("ok") and isinstance(r1, int) and r1 > 0,
                 f"  filed as request {r1}, not released ({res})")
            c.eq(entry(q1).get("status"), "held", "  the message is still held")
            mine = requests(desk, "pending")
            c.ok(r1 in mine and mine[r1]["requested_by"] == "console:desk"
                 and mine[r1]["queue_id"] == q1,
                 "the helpdesk user sees its request pending, by console:desk")
            status, j = desk.call("POST", f"/api/requests/{r1}/approve", {})
            c.eq(status, 403, f"the helpdesk user cannot approve ({j})")
            status, j = admin.call("POST", f"/api/requests/{r1}/approve", {}, csrf=False)
            c.eq(status, 403, "approve without the CSRF token refused 403")
            c.eq(sink_copies("req one"), [], "not delivered before an approval")

            # --- helpdesk outside the approval domains: released at once ---
            status, j = desk.call("POST", "/api/quarantine/release", {"ids": [q3]})
            res = (j or {}).get("results", [{}])[0]
            c.ok(status == 200 and res.get("ok") and "request" not in res,
                 f"helpdesk release in direct.test is a release ({j})")
            got = wait_for(lambda: sink_copies("req direct"), "direct release delivered")
            c.eq(len(got or []), 1, "  delivered once, without a request")
            c.eq((entry(q3).get("status"), entry(q3).get("released_by")),
                 ("released", "console:desk"), "  released by console:desk")

            # --- the admin approves: released once ---
            pend = requests(admin, "pending")
            c.ok(r1 in pend and (pend[r1].get("message") or {}).get("subject") == "req one",
                 "the admin sees the pending request with its message")
            c.eq(admin.call("GET", "/api/requests?state=bogus")[0], 400, "a bad state is 400")
            status, j = admin.call("POST", f"/api/requests/{r1}/approve", {})
            c.eq(status, 200, f"the admin approves ({j})")
            c.eq(((j or {}).get("request") or {}).get("state"), "approved", "  state approved")
            got = wait_for(lambda: sink_copies("req one"), "approved message delivered")
            c.eq(len(got or []), 1, "  the approved message reached smtp-sink")
            status, j = admin.call("POST", f"/api/requests/{r1}/approve", {})
            c.eq(status, 409, f"a second approval is refused 409 ({j})")
            c.ok("approved already" in json.dumps(j), "  it says approved already")
            r = cli("approve", str(r1))
            c.eq(r.returncode, 1, f"CLI approve of an approved request exits 1 ({r.stderr.strip()})")
            r = cli("deny", str(r1), "--note", "too late")
            c.eq(r.returncode, 1, f"CLI deny of an approved request exits 1 ({r.stderr.strip()})")
            wait_for(lambda: q1 not in gw.messages(), "approved message left the queue")
            c.eq(len(sink_copies("req one")), 1, "delivered exactly once")
            e = entry(q1)
            c.eq((e.get("status"), e.get("released_by")), ("released", "console:admin"),
                 "the index records the release by the approving admin")
            c.ok(wait_log(gw, f"quarantine released qid={q1} by=console:admin via=console "
                              f"request={r1}") > 0, "the release is logged with the request id")
            done = requests(desk)
            c.eq((done.get(r1, {}).get("state"), done.get(r1, {}).get("decided_by")),
                 ("approved", "console:admin"), "the helpdesk user sees it approved by the admin")

            # --- deny ---
            status, j = desk.call("POST", "/api/quarantine/release", {"ids": [q2]})
            r2 = ((j or {}).get("results", [{}])[0]).get("request")
            c.ok(isinstance(r2, int) and r2 != r1, f"second message: request {r2}")
            status, j = admin.call("POST", f"/api/requests/{r2}/deny", {"note": "looks like phishing"})
            c.eq(status, 200, f"the admin denies ({j})")
            status, j = admin.call("POST", f"/api/requests/{r2}/deny", {"note": "again"})
            c.eq(status, 409, "a second decision is refused 409")
            status, j = admin.call("POST", f"/api/requests/{r2}/approve", {})
            c.eq(status, 409, "a denied request cannot be approved")
            c.eq(entry(q2).get("status"), "held", "the denied message stays held")
            seen = requests(desk).get(r2, {})
            c.eq((seen.get("state"), seen.get("note"), seen.get("decided_by")),
                 ("denied", "looks like phishing", "console:admin"),
                 "the helpdesk user sees denied, the note and who")

            # --- a message deleted after its request: cancelled, never a crash ---
            status, j = desk.call("POST", "/api/quarantine/release", {"ids": [q5]})
            r5 = ((j or {}).get("results", [{}])[0]).get("request")
            c.ok(isinstance(r5, int), f"request {r5} for the message about to be deleted")
            status, j = admin.call("POST", "/api/quarantine/delete", {"ids": [q5]})
            c.eq(status, 200, "the admin deletes that message")
            status, j = admin.call("POST", f"/api/requests/{r5}/approve", {})
            c.eq(status, 409, f"approving a request of a deleted message is refused ({j})")
            req5 = (j or {}).get("request") or {}
            c.ok(req5.get("state") == "cancelled" and "deleted" in req5.get("note", ""),
                 f"  the request is cancelled, saying deleted ({req5})")
            c.eq(sink_copies("req gone"), [], "  nothing delivered")

            # --- CLI: list, approve ---
            status, j = desk.call("POST", "/api/quarantine/release", {"ids": [q6]})
            r6 = ((j or {}).get("results", [{}])[0]).get("request")
            r = cli("requests")
            c.ok(r.returncode == 0 and re.search(rf"^{r6}\s+{q6}\s.*console:desk\s+pending",
                                                 r.stdout, re.M),
                 f"CLI requests lists the pending one ({r.stdout!r})")
            c.ok(f" {q1} " not in r.stdout, "  and not the approved one")
            r = cli("requests", "--state", "all", "--json")
            states = {x["id"]: x["state"] for x in json.loads(r.stdout or "{}").get("requests", [])}
            c.eq((states.get(r1), states.get(r2), states.get(r5), states.get(r6)),
                 ("approved", "denied", "cancelled", "pending"), "CLI --json: every state")
            r = cli("approve", str(r6), "--by", "console:cliadmin")
            c.ok(r.returncode == 0 and f"request {r6}: approved ({q6} released)" in r.stdout,
                 f"CLI approve ({r.stdout!r} {r.stderr!r})")
            got = wait_for(lambda: sink_copies("req cli"), "CLI-approved message delivered")
            c.eq(len(got or []), 1, "  delivered once")

            # --- the recipient's link in the digest ---
            r = subprocess.run([MXGUARD, "quarantine", "digest", "--since", "1d", "--config",
                                gw.config, "--dry-run"], capture_output=True, text=True, timeout=60)
            c.eq(r.returncode, 0, f"digest --dry-run ({r.stderr.strip()})")
            links = re.findall(r"Ask:\s+(\S+)", r.stdout)
            mine = [u for u in links if f"/request/{q4}?" in u]
            c.eq(len(mine), 1, f"the digest for bob has one Ask link for its message ({links})")
            key = os.path.join(gw.state, "console-request.key")
            c.eq(oct(os.stat(key).st_mode & 0o777), "0o600", "the request key file is 0600")
            link = urllib.parse.urlsplit(mine[0] if mine else "http://x/request/x?rcpt=x&t=x")
            c.eq(f"{link.hostname}:{link.port}", f"127.0.0.1:{cport}", "the link names the console")
            qs = urllib.parse.parse_qs(link.query)
            rcpt, token = qs.get("rcpt", [""])[0], qs.get("t", [""])[0]
            c.eq(rcpt, "bob@approve.test", "the link names the recipient")
            path = link.path + "?" + link.query
            status, hdrs, page = plain("GET", path)
            c.eq(status, 200, "the request page answers 200")
            c.ok("req recipient" in page and "carol@soft.test" in page,
                 "  it shows the subject and the sender")
            c.ok(BODY_MARK not in page and "not for the request page" not in page,
                 "  it carries no body text")
            c.ok("set-cookie" not in hdrs, "  it signs nobody in (no cookie)")
            c.ok("default-src 'self'" in hdrs.get("content-security-policy", ""),
                 "  with the console's Content-Security-Policy")
            bad = token[:-1] + ("0" if token[-1:] != "0" else "1")
            status, _, page = plain("GET", f"{link.path}?rcpt={urllib.parse.quote(rcpt)}&t={bad}")
            c.eq(status, 403, "a tampered token is refused 403")
            c.ok("req recipient" not in page, "  and shows nothing of the message")
            status, _, _ = plain("GET", f"/request/{q2}?rcpt={urllib.parse.quote(rcpt)}&t={token}")
            c.eq(status, 403, "the token of another message is refused 403")
            status, _, _ = plain("GET", f"{link.path}?rcpt=eve%40approve.test&t={token}")
            c.eq(status, 403, "the token of another recipient is refused 403")
            form = urllib.parse.urlencode({"rcpt": rcpt, "t": bad, "comment": "x"})
            status, _, _ = plain("POST", link.path, form,
                                {"Content-Type": "application/x-www-form-urlencoded"})
            c.eq(status, 403, "a POST with a tampered token files nothing (403)")
            form = urllib.parse.urlencode({"rcpt": rcpt, "t": token, "comment": "my invoice"})
            status, hdrs, page = plain("POST", link.path, form,
                                      {"Content-Type": "application/x-www-form-urlencoded"})
            c.eq(status, 200, f"the form files the request ({page[-300:]!r})")
            c.ok("set-cookie" not in hdrs, "  still no cookie")
            pend = [x for x in requests(admin, "pending").values() if x["queue_id"] == q4]
            c.ok(len(pend) == 1 and pend[0]["requested_by"] == "recipient:bob@approve.test"
                 and pend[0]["comment"] == "my invoice",
                 f"the admin sees the recipient's request ({pend})")
            c.eq(entry(q4).get("status"), "held", "  the message is still held")
            c.eq(sink_copies("req recipient"), [], "  and not delivered")
            r4 = pend[0]["id"] if pend else 0
            status, j = admin.call("POST", f"/api/requests/{r4}/approve", {})
            c.eq(status, 200, f"the admin approves the recipient's request ({j})")
            got = wait_for(lambda: sink_copies("req recipient"), "recipient's message delivered")
            c.eq(len(got or []), 1, "  delivered once")
            status, _, page = plain("GET", path)
            c.ok(status == 200 and "no longer held" in page,
                 "the link of a released message says it is no longer held")

            # Rate limit: repeated wrong tokens for a message, then even the right one is 429.
            q2_token = None
            for u in links:
                if f"/request/{q2}?" in u:
                    q2_token = u
            for i in range(5):
                plain("GET", f"/request/{q2}?rcpt=u2%40approve.test&t={'0' * 63}{i}")
            q2_path = urllib.parse.urlsplit(q2_token).path + "?" + \
                urllib.parse.urlsplit(q2_token).query if q2_token else "/"
            status, _, _ = plain("GET", q2_path)
            c.eq(status, 429, "after 5 wrong tokens the right link is refused 429")
finally:
    sink.kill()
    sink.wait()
c.done()
