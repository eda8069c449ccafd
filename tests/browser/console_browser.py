#!/usr/bin/env python3
"""console_browser.py: the web console's pages in a real browser (issue 11 section 4):
Debian's chromium, headless, driven by playwright-core (tests/browser/console.mjs) against
a real `mxguard serve` with a [console] section and the [spf] policy softfail ->
quarantine. This script sets the scene and checks the mail side; console.mjs checks the
pages:
  - users made with `mxguard console passwd` (argon2id): an admin, a helpdesk user of
    other.test; a wrong password is refused on the sign-in page;
  - swaks sends a softfail message (SPF record served by dnsmasq) that lands in the
    quarantine and appears on the quarantine page; it is released in the page and
    smtp-sink receives it exactly once;
  - a POST without the CSRF token (or with a wrong one) from the signed-in page is refused
    403 and releases nothing;
  - the helpdesk user of other.test sees its own domain's message, not local.test's, and
    no admin page; other.test is an approval domain: its release files a request, the
    admin sees the pending badge and approves it on the Requests page, smtp-sink receives
    it exactly once;
  - a message whose body carries <script>, <img src=http://...> and a javascript: link is
    shown as text: no dialog, no console side effect, no request to anything but the
    console's origin (the browser's request log), no element made from it;
  - "release all from domain" (with its confirmation) releases both messages of a domain;
    a cancelled confirmation changes nothing;
  - every page is drawn; screenshots are kept in $MXG_BUILD_DIR/tests/browser-artifacts/.
Exit 77 when chromium, node or a mail peer is missing (ctest: skipped)."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("MXG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, Dnsmasq, wait_for,  # noqa: E402
                                 wait_log, free_port, MXGUARD)
from console_client import console_passwd, sink_copies as sink_copies_in  # noqa: E402

HERE = os.path.join(SRC, "tests", "browser")
CHROMIUM = os.environ.get("MXG_CHROMIUM", "/usr/bin/chromium")

for need in (CHROMIUM, "/usr/sbin/dnsmasq", "/usr/sbin/smtp-sink", "/usr/bin/swaks"):
    if not os.path.exists(need):
        print(f"{need} missing: skipped")
        sys.exit(77)
if not shutil.which("node") or not shutil.which("npm"):
    print("node or npm missing: skipped")
    sys.exit(77)
deps = subprocess.run([os.path.join(SRC, "scripts", "browser-deps")], capture_output=True,
                      text=True, timeout=300)
if deps.returncode != 0:
    print("scripts/browser-deps failed (playwright-core not installed): skipped\n" + deps.stdout +
          deps.stderr)
    sys.exit(77)

c = Checker()
artifacts = os.path.join(os.environ.get("MXG_BUILD_DIR", tempfile.gettempdir()), "tests",
                         "browser-artifacts")
shutil.rmtree(artifacts, ignore_errors=True)
os.makedirs(artifacts)


def passwd(user, password, *extra):
    return console_passwd(c, user, password, *extra)


PASS = {"admin": "admin browser pass", "desk": "desk browser pass"}
users = (passwd("admin", PASS["admin"]) +
         passwd("desk", PASS["desk"], "--role", "helpdesk", "--domain", "other.test"))
c.ok('password = "$argon2id$' in users, "users carry argon2id hashes")

cport = free_port()
sink_port = free_port()
work = tempfile.mkdtemp(prefix="mxg-browser-")
sink_dir = os.path.join(work, "sink")
os.makedirs(sink_dir)
routes = os.path.join(work, "routes")
with open(routes, "w") as f:
    f.write(f"* relay:[127.0.0.1]:{sink_port}\n")


def sink_copies(subject):
    return sink_copies_in(sink_dir, subject)


def smtp(gw, sender, rcpt, data):
    """One message over raw SMTP from 127.0.0.5 (outside every SPF record here); its id."""
    cl = Client(gw.port, source="127.0.0.5")
    cl.reply()
    cl.cmd("EHLO client.example")
    c.eq(cl.cmd(f"MAIL FROM:<{sender}>")[0], 250, f"MAIL FROM:<{sender}> accepted")
    c.eq(cl.cmd(f"RCPT TO:<{rcpt}>")[0], 250, f"RCPT TO:<{rcpt}> accepted")
    cl.cmd("DATA")
    code, text = cl.cmd(data + "\r\n.")
    cl.cmd("QUIT")
    cl.close()
    c.eq(code, 250, f"message from {sender} answered 250 ({text})")
    return text.split()[2] if code == 250 else "-"


def swaks(gw, sender, rcpt, subject, body):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(gw.port),
                        "--local-interface", "127.0.0.5", "--helo", "client.example",
                        "--from", sender, "--to", rcpt, "--header", f"Subject: {subject}",
                        "--body", body], capture_output=True, text=True, timeout=60)
    c.eq(r.returncode, 0, f"swaks sends {subject!r} ({r.stderr.strip()[-200:]})")
    # "<-  250 2.0.0 ID Message accepted for delivery" (smtp/reply.cpp queued()).
    for line in r.stdout.splitlines():
        words = line.split()
        if len(words) > 4 and words[1] == "250" and "accepted for delivery" in line:
            return words[3]
    return "-"


XSS_BODY = ("Content-Type: text/html\r\n\r\n"
            "<html><body><p>Hello <b>there</b></p>\r\n"
            "<script>alert('xss-script'); console.log('xss-ran')</script>\r\n"
            "<img src=\"http://192.0.2.1/pixel.png\" onerror=\"alert('xss-img')\">\r\n"
            "<a href=\"javascript:alert('xss-link')\">click me</a>\r\n"
            "<iframe src=\"http://192.0.2.2/frame\"></iframe>\r\n"
            "<link rel=stylesheet href=\"http://192.0.2.3/s.css\">\r\n"
            "</body></html>")

sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "root", "-d", sink_dir + "/%M.",
                         f"127.0.0.1:{sink_port}", "100"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    with Dnsmasq("--txt-record=soft.test,v=spf1 ip4:192.0.2.0/24 ~all",
                 "--txt-record=bulk.test,v=spf1 ip4:192.0.2.0/24 ~all") as dns:
        top = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "2s"\ntries = 2\n'
               'hosts_file = ""\n'
               f'[routing]\ntable = "{routes}"\n'
               '[spf]\nenabled = true\nauthserv_id = "mx.test"\ntrusted_networks = []\n'
               '[spf.actions]\nsoftfail = "quarantine"\n'
               f'[console]\nlisten = "127.0.0.1:{cport}"\n'
               'approval_domains = ["other.test"]\n' + users)
        relay = 'local_domains = ["local.test", "other.test"]\ntrusted_networks = []\n'
        with Gateway(mode="deliver", top=top, relay=relay) as gw:
            c.ok(wait_log(gw, "console listening on http://127.0.0.1:") > 0,
                 "the console logs its address")
            qids = {
                "soft": swaks(gw, "carol@soft.test", "u1@local.test", "browser softfail",
                              "A softfail message for the browser test."),
                "xss": smtp(gw, "mallory@soft.test", "u2@local.test",
                            "Subject: <img src=x onerror=alert('subj')> hostile body\r\n"
                            "Message-ID: <xss@client.example>\r\n" + XSS_BODY),
                "other": smtp(gw, "dave@soft.test", "u3@other.test",
                              "Subject: for other.test\r\n\r\nHello other.test."),
                "bulk1": smtp(gw, "b1@bulk.test", "u4@local.test",
                              "Subject: bulk one\r\n\r\nOne."),
                "bulk2": smtp(gw, "b2@bulk.test", "u5@local.test",
                              "Subject: bulk two\r\n\r\nTwo."),
            }
            c.ok(all(v != "-" and len(v) > 8 for v in qids.values()),
                 f"five softfail messages queued ({qids})")

            env = dict(os.environ, CONSOLE_URL=f"http://127.0.0.1:{cport}", ARTIFACTS=artifacts,
                       CHROMIUM=CHROMIUM, ADMIN_PASS=PASS["admin"], DESK_PASS=PASS["desk"],
                       NODE_PATH=os.path.join(HERE, "node_modules"),
                       **{f"QID_{k.upper()}": v for k, v in qids.items()})
            try:
                r = subprocess.run(["node", os.path.join(HERE, "console.mjs")], env=env,
                                   capture_output=True, text=True, timeout=150)
                out, rc = r.stdout, r.returncode
                err = r.stderr
            except subprocess.TimeoutExpired as e:
                out = e.stdout or ""
                out = out if isinstance(out, str) else out.decode(errors="replace")
                rc, err = -1, "timed out"
            for line in out.splitlines():
                if line.startswith("ok - "):
                    c.ok(True, "browser: " + line[5:])
                elif line.startswith("not ok - "):
                    c.ok(False, "browser: " + line[9:])
                else:
                    print(line)
            c.eq(rc, 0, f"console.mjs exits 0 ({err.strip()[-2000:]})")

            # The mail side: the released message reaches smtp-sink exactly once.
            got = wait_for(lambda: sink_copies("browser softfail"), "released message delivered")
            c.eq(len(got), 1, "the message released in the page reached smtp-sink")
            wait_for(lambda: qids["soft"] not in gw.messages(), "released message left the queue")
            for name in ("bulk1", "bulk2"):
                wait_for(lambda: qids[name] not in gw.messages(), f"{name} left the queue")
            c.eq(len(sink_copies("browser softfail")), 1, "delivered exactly once")
            c.eq(len(sink_copies("bulk one")) + len(sink_copies("bulk two")), 2,
                 "release all from bulk.test delivered both of its messages")
            got = wait_for(lambda: sink_copies("for other.test"), "approved request delivered")
            c.eq(len(got or []), 1,
                 "the helpdesk's request, approved by the admin in the page, delivered once")
            c.ok(wait_log(gw, f"quarantine released qid={qids['other']} by=console:admin "
                              "via=console request=") > 0,
                 "the approved release is logged with the admin and the request")
            c.ok(not any("hostile body" in t for t in
                         (open(p, errors="replace").read() for p in glob.glob(sink_dir + "/*"))),
                 "the hostile message is still held (not delivered)")
            c.ok(wait_log(gw, f"quarantine released qid={qids['soft']} by=console:admin "
                              "via=console") > 0, "the release is logged with the console user")
            c.ok("console csrf refused user=admin" in gw.log_text(),
                 "the refused CSRF-less POST is logged")
finally:
    sink.kill()
    sink.wait()
    shutil.rmtree(work, ignore_errors=True)
print("screenshots in", artifacts)
c.done()
