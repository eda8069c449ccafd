"""The web console's tests share these: a JSON API client that behaves as one browser
(session cookie and CSRF token), `mxguard console passwd`, and the smtp-sink copies of a
message. Used by tests/integration/console_*.py and tests/browser/console_browser.py."""
import glob
import http.client
import json
import os
import subprocess

from mxg_gateway_harness import MXGUARD


class ConsoleApi:
    """One browser: keeps the session cookie and the CSRF token of its last sign-in."""

    def __init__(self, port, timeout=60):
        self.port = port
        self.timeout = timeout
        self.cookie = None
        self.csrf = None
        self.set_cookie = None  # the last Set-Cookie the console sent

    def call(self, method, path, body=None, csrf=True, cookie=True):
        """(status, JSON answer or text); a successful /api/login signs this browser in."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if cookie and self.cookie:
            headers["Cookie"] = "mxg_session=" + self.cookie
        if csrf and self.csrf and method != "GET":
            headers["X-CSRF-Token"] = self.csrf
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            sc = r.getheader("Set-Cookie")
            if sc:
                self.set_cookie = sc
            try:
                j = json.loads(raw) if raw else None
            except ValueError:
                j = raw.decode(errors="replace")
            if path == "/api/login" and r.status == 200 and sc and isinstance(j, dict):
                self.cookie = sc.split(";")[0].split("=", 1)[1]
                self.csrf = j.get("csrf")
            return r.status, j
        finally:
            conn.close()

    def login(self, user, password):
        return self.call("POST", "/api/login", {"user": user, "password": password})


def console_passwd(checker, user, password, *extra):
    """`mxguard console passwd USER` with the password on stdin: the user's table."""
    r = subprocess.run([MXGUARD, "console", "passwd", user, *extra], input=password + "\n",
                       capture_output=True, text=True, timeout=60)
    checker.eq(r.returncode, 0, f"console passwd {user} exits 0 ({r.stderr.strip()})")
    checker.ok(password not in r.stdout,
               f"console passwd {user}: the password itself is not printed")
    return r.stdout


def sink_copies(sink_dir, subject):
    """The messages smtp-sink stored in sink_dir whose Subject is `subject`."""
    out = []
    for p in glob.glob(os.path.join(sink_dir, "*")):
        with open(p, errors="replace") as f:
            t = f.read().replace("\r\n", "\n")
        if f"Subject: {subject}\n" in t:
            out.append(t)
    return out
