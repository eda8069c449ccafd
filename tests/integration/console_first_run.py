#!/usr/bin/env python3
"""console_first_run.py: the web console with no [console.users] and with TLS (issue 11
section 2, docs/console.md):
  - the first-run admin password is written to <state_dir>/console-admin.txt, mode 0600,
    and the log names the file; a restart keeps the same password (the file is reused);
  - the console answers HTTPS only (tls_cert/tls_key); the session cookie is Secure;
  - signing in with the file's password works, another password does not;
  - `mxguard console passwd ops --config FILE` adds the user's table, a second run
    replaces only its password line; after a restart the new password signs in, the old
    one and the first-run admin do not.
Expected answers come from docs/console.md, not from running the code."""
import http.client
import json
import os
import ssl
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Checker, wait_log, free_port, MXGUARD  # noqa: E402

c = Checker()
cport = free_port()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def login(password, user="admin"):
    conn = http.client.HTTPSConnection("127.0.0.1", cport, timeout=60, context=ctx)
    try:
        conn.request("POST", "/api/login", body=json.dumps({"user": user, "password": password}),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("Set-Cookie") or ""
    finally:
        conn.close()


gw = Gateway(mode="hold", tls=True)
try:
    with open(gw.config, "a") as f:
        f.write(f'[console]\nlisten = "127.0.0.1:{cport}"\n'
                f'tls_cert = "{gw.cert}"\ntls_key = "{gw.key}"\n')
    gw.start()
    c.ok(wait_log(gw, f"console listening on https://127.0.0.1:{cport}") > 0,
         "the console logs its https address")
    path = os.path.join(gw.state, "console-admin.txt")
    c.ok(wait_log(gw, "first-run user admin, password in") > 0, "the log names the password file")
    c.ok(os.path.exists(path), "console-admin.txt written")
    mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else None
    c.eq(mode, 0o600, "console-admin.txt is mode 0600")
    text = open(path).read() if os.path.exists(path) else ""
    pw = [ln[len("password: "):] for ln in text.splitlines() if ln.startswith("password: ")]
    c.eq(len(pw), 1, "the file holds one password")
    pw = pw[0] if pw else "-"
    c.ok(pw not in gw.log_text(), "the password itself is not in the log")

    status, _ = login("not the password")
    c.eq(status, 401, "another password refused")
    status, cookie = login(pw)
    c.eq(status, 200, "the first-run password signs in over https")
    c.ok("Secure" in cookie and "HttpOnly" in cookie, f"the cookie is Secure with TLS ({cookie})")
    # Plain HTTP on the TLS port gets no API answer.
    conn = http.client.HTTPConnection("127.0.0.1", cport, timeout=30)
    try:
        conn.request("GET", "/api/me")
        plain = conn.getresponse().status
    except (OSError, http.client.HTTPException):
        plain = None
    finally:
        conn.close()
    c.ok(plain != 200, f"plain HTTP is not served ({plain})")

    # A restart reuses the file: the same password still works.
    gw.stop()
    n = gw.log_text().count("console listening on")
    gw.start()
    c.ok(wait_log(gw, "console listening on", after=n) > n, "restarted")
    status, _ = login(pw)
    c.eq(status, 200, "after a restart the same first-run password signs in")

    # `console passwd --config`: adds the user's table, then changes only its password line.
    gw.stop()
    for pw_new in ("ops pass 1", "ops pass 2"):
        r = subprocess.run([MXGUARD, "console", "passwd", "ops", "--config", gw.config],
                           input=pw_new + "\n", capture_output=True, text=True, timeout=60)
        c.eq(r.returncode, 0, f"console passwd --config exits 0 ({r.stdout}{r.stderr})")
    conf = open(gw.config).read()
    c.eq(conf.count("[console.users.ops]"), 1, "the user's table is in the file once")
    c.eq(conf.count('password = "$argon2id$'), 1, "one password line, replaced in place")
    c.ok("ops pass" not in conf, "the password itself is not in the file")
    n = gw.log_text().count("console listening on")
    gw.start()
    c.ok(wait_log(gw, "console listening on", after=n) > n, "restarted with a configured user")
    c.eq(login("ops pass 2", "ops")[0], 200, "the new password signs in")
    c.eq(login("ops pass 1", "ops")[0], 401, "the replaced password does not")
    c.eq(login(pw)[0], 401, "with users configured the first-run admin is gone")
finally:
    gw.cleanup()
c.done()
