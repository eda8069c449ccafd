#!/usr/bin/env python3
"""quarantine_digest.py: `mxguard quarantine digest` (issue 11 section 3, docs/console.md)
against a real `mxguard serve` whose [spf] policy quarantines softfail mail (SPF record
served by dnsmasq, as in console_api.py):
  - u1@local.test has two held messages, u2@local.test one (one of them with a UTF-8
    subject, one with a folded subject that tries to smuggle a Bcc: header);
  - the digest goes through the gateway's routing table ([routing] -> smtp-sink): each
    recipient gets exactly one digest with exactly its own queue ids, each with its
    console link URL/#quarantine/ID; the envelope sender is null (<>), the message carries
    Auto-Submitted: auto-generated (RFC 3834), no header comes from mail; exits 0;
  - a released message is no longer listed;
  - --dry-run prints the same messages and sends nothing; --to-admin --smtp HOST:PORT sends
    one digest of everything to the admin at that SMTP server;
  - bad flags exit 2.
Expected answers come from docs/console.md and RFC 3834/5322, not from running the code."""
import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, Dnsmasq, wait_for,  # noqa: E402
                                 free_port, MXGUARD)

c = Checker()

if not os.path.exists("/usr/sbin/dnsmasq") or not os.path.exists("/usr/sbin/smtp-sink"):
    print("dnsmasq or smtp-sink missing: skipped")
    sys.exit(77)

cport = free_port()
sink_port, admin_sink_port = free_port(), free_port()
work = tempfile.mkdtemp(prefix="mxg-digest-")
sink_dir, admin_dir = os.path.join(work, "sink"), os.path.join(work, "admin")
os.makedirs(sink_dir)
os.makedirs(admin_dir)
routes = os.path.join(work, "routes")
with open(routes, "w") as f:
    f.write(f"* relay:[127.0.0.1]:{sink_port}\n")


def received(d):
    out = []
    for p in sorted(glob.glob(os.path.join(d, "*"))):
        with open(p, "rb") as f:
            out.append(f.read().decode("utf-8", errors="replace").replace("\r\n", "\n"))
    return out


def send(port, rcpt, subject_lines):
    cl = Client(port, source="127.0.0.5")
    cl.reply()
    cl.cmd("EHLO client.example")
    c.eq(cl.cmd("MAIL FROM:<carol@soft.test>")[0], 250, "MAIL accepted")
    c.eq(cl.cmd(f"RCPT TO:<{rcpt}>")[0], 250, f"RCPT {rcpt} accepted")
    cl.cmd("DATA")
    code, text = cl.cmd(subject_lines + "\r\nMessage-ID: <d@client.example>\r\n\r\nhello\r\n.")
    cl.cmd("QUIT")
    cl.close()
    c.eq(code, 250, f"softfail message to {rcpt} answered 250 ({text})")
    return text.split()[2] if code == 250 else "-"


def digest(*args):
    return subprocess.run([MXGUARD, "quarantine", "digest", *args], capture_output=True,
                          timeout=120)


def headers_of(msg):
    return msg.split("\n\n", 1)[0]


sinks = [subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "root", "-d", d + "/%M.",
                           f"127.0.0.1:{p}", "100"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
         for d, p in ((sink_dir, sink_port), (admin_dir, admin_sink_port))]
try:
    with Dnsmasq("--txt-record=soft.test,v=spf1 ip4:192.0.2.0/24 ~all") as dns:
        top = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "2s"\ntries = 2\n'
               'hosts_file = ""\n'
               f'[routing]\ntable = "{routes}"\n'
               '[spf]\nenabled = true\nauthserv_id = "mx.test"\ntrusted_networks = []\n'
               '[spf.actions]\nsoftfail = "quarantine"\n'
               f'[console]\nlisten = "127.0.0.1:{cport}"\n')
        relay = 'local_domains = ["local.test"]\ntrusted_networks = []\n'
        with Gateway(mode="deliver", top=top, relay=relay) as gw:
            a1 = send(gw.port, "u1@local.test", "Subject: first for u1")
            a2 = send(gw.port, "u1@local.test",
                      "Subject: Gr\u00fc\u00dfe \u2603")
            b1 = send(gw.port, "u2@local.test", "Subject: for u2\r\n Bcc: evil@attacker.test")
            gone = send(gw.port, "u2@local.test", "Subject: released before the digest")
            url = f"http://127.0.0.1:{cport}"
            ok = wait_for(lambda: all(q in gw.cli("quarantine", "--config", gw.config, "list").stdout
                                      for q in (a1, a2, b1, gone)), "four messages quarantined")
            c.ok(ok, "four softfail messages are in the quarantine")
            gw.cli("quarantine", "--config", gw.config, "release", gone, "--by", "test")
            wait_for(lambda: len(received(sink_dir)) == 1, "the released message delivered")
            # The index learns of the release through the history writer (batched): wait
            # until the database the digest reads says so.
            c.ok(wait_for(lambda: gone not in gw.cli("quarantine", "--config", gw.config,
                                                      "list").stdout,
                          "the release recorded in the index"),
                 "the released message has left the quarantine list")
            before = len(received(sink_dir))

            # --dry-run: printed, nothing sent.
            r = digest("--since", "1d", "--config", gw.config, "--dry-run")
            out = r.stdout.decode("utf-8", errors="replace")
            c.eq(r.returncode, 0, f"--dry-run exits 0 ({r.stderr.decode(errors='replace')})")
            c.eq(out.count("--- digest for "), 2, "--dry-run prints two digests (u1, u2)")
            for q in (a1, a2, b1):
                c.ok(f"{url}/#quarantine/{q}" in out, f"--dry-run: link to {q}")
            c.ok(gone not in out, "--dry-run: the released message is not listed")
            c.ok("Gr\u00fc\u00dfe \u2603" in out, "the UTF-8 subject is shown as UTF-8 in the body")
            c.eq(len(received(sink_dir)), before, "--dry-run sends nothing")

            # Through the routing table: one digest per recipient, exactly its own list.
            r = digest("--since", "1d", "--config", gw.config)
            c.eq(r.returncode, 0, f"digest exits 0 ({r.stdout!r} {r.stderr!r})")
            got = wait_for(lambda: len(received(sink_dir)) >= before + 2, "two digests arrive")
            c.ok(got, "two digests reached smtp-sink through the routing table")
            msgs = [m for m in received(sink_dir) if "Quarantine digest" in m]
            c.eq(len(msgs), 2, "exactly two digests")
            by_to = {}
            for m in msgs:
                for line in headers_of(m).split("\n"):
                    if line.startswith("To: "):
                        by_to.setdefault(line[4:], []).append(m)
            c.eq(sorted(by_to), ["<u1@local.test>", "<u2@local.test>"], "one digest per recipient")
            u1 = (by_to.get("<u1@local.test>") or [""])[0]
            u2 = (by_to.get("<u2@local.test>") or [""])[0]
            c.ok(f"{url}/#quarantine/{a1}" in u1 and f"{url}/#quarantine/{a2}" in u1,
                 "u1's digest lists and links both of its messages")
            c.ok(b1 not in u1 and gone not in u1, "u1's digest holds nothing of u2")
            c.ok(f"{url}/#quarantine/{b1}" in u2 and a1 not in u2 and a2 not in u2,
                 "u2's digest lists its message only")
            c.ok(gone not in u2, "u2's released message is not in its digest")
            for who, m in (("u1", u1), ("u2", u2)):
                h = headers_of(m)
                c.ok("\nAuto-Submitted: auto-generated\n" in "\n" + h + "\n",
                     f"{who}: Auto-Submitted: auto-generated (RFC 3834)")
                c.ok(re.search(r"(?m)^X-Mail-Args: <>( |$)", m) is not None,
                     f"{who}: the envelope sender is null")
                c.ok("\nBcc:" not in "\n" + h and "\nSubject: for u2" not in "\n" + h,
                     f"{who}: no header from a mail subject")
                c.ok("Subject: Quarantine digest: " in h, f"{who}: our own Subject")
                c.ok(all(len(line.encode()) <= 998 for line in m.split("\n")),
                     f"{who}: lines within 998 octets")
            c.ok("for u2\\r\\n Bcc: evil@attacker.test" in u2 or "for u2 Bcc: evil@attacker.test" in u2,
                 "the folded subject is shown on one line in the body")
            c.ok("charset=utf-8" in headers_of(u1) and "Content-Transfer-Encoding: 8bit" in headers_of(u1),
                 "u1 (UTF-8 subject): text/plain; charset=utf-8, 8bit")
            c.ok("Gr\u00fc\u00dfe \u2603" in u1, "u1: the UTF-8 subject arrives intact")
            c.ok("do not sign you in" in u1, "the digest says the link does not sign in")

            # --to-admin --smtp: one digest of everything at the given SMTP server.
            r = digest("--since", "1d", "--config", gw.config, "--to-admin", "admin@local.test",
                       "--smtp", f"127.0.0.1:{admin_sink_port}")
            c.eq(r.returncode, 0, f"--to-admin --smtp exits 0 ({r.stderr!r})")
            got = wait_for(lambda: received(admin_dir), "the admin digest arrives")
            adm = (got or [""])[0]
            c.eq(len(got or []), 1, "one admin digest")
            c.ok("To: <admin@local.test>" in adm and all(q in adm for q in (a1, a2, b1)),
                 "the admin digest lists every held message")

            # Usage errors.
            c.eq(digest("--config", gw.config, "--smtp", "nohostport").returncode, 2,
                 "--smtp without a port: exit 2")
            c.eq(digest("--config", gw.config, "--to-admin", "a@b\r\nBcc: x@y").returncode, 2,
                 "--to-admin with CR LF: exit 2")
            c.eq(digest("--config", gw.config, "--since", "soon").returncode, 2, "bad --since: exit 2")
finally:
    for s in sinks:
        s.kill()
        s.wait()
c.done()
