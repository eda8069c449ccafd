#!/usr/bin/env python3
"""gateway_backscatter.py: issue 4 section 3 in `mxguard serve`. With [backscatter]
enabled, a bounce (MAIL FROM:<>) to one of our users is accepted only when the
recipient carries a valid BATV prvs= tag (draft-levine-smtp-batv-01 4.1). The tag is
computed here from the documented scheme (docs/backscatter.md), independently of the
C++ code: K = signing day mod 10, DDD = expiry day mod 1000, SSSSSS = first 3 bytes of
HMAC-SHA256(HMAC-SHA256(secret, "mxguard-batv:" + day), KDDD + lower(address))."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker, batv_tag, wait_for  # noqa: E402

SECRET = "integration-secret"


def prvs(address, day, validity=7):
    return batv_tag(SECRET, address, day, validity)


c = Checker()
top = ('[backscatter]\nenabled = true\nbatv_secret = "%s"\nunsigned_bounce = "reject"\n' % SECRET)
today = int(time.time()) // 86400
with Gateway(mode="hold", top=top) as gw:
    cl = Client(gw.port)
    c.eq(cl.reply()[0], 220, "greeting")
    c.eq(cl.cmd("EHLO bouncer.test")[0], 250, "EHLO")
    c.eq(cl.cmd("MAIL FROM:<>")[0], 250, "null sender accepted at MAIL")
    code, text = cl.cmd("RCPT TO:<user@local.test>")
    c.eq(code, 550, "bounce to an unsigned address is rejected")
    c.ok("5.7.1" in text and "BATV" in text, f"rejection explains itself: {text!r}")
    code, _ = cl.cmd(f"RCPT TO:<{prvs('user@local.test', today)}>")
    c.eq(code, 250, "bounce to a validly signed address is accepted")
    forged = prvs("user@local.test", today).replace("prvs=", "prvs=").rsplit("=", 1)[0]
    forged = forged[:-1] + ("0" if forged[-1] != "0" else "1") + "=user@local.test"
    c.eq(cl.cmd(f"RCPT TO:<{forged}>")[0], 550, "a forged tag is rejected")
    c.eq(cl.cmd(f"RCPT TO:<{prvs('user@local.test', today - 30)}>")[0], 550,
         "an expired tag is rejected")
    c.eq(cl.cmd("RSET")[0], 250, "RSET")
    # Ordinary mail is untouched by the filter.
    c.eq(cl.cmd("MAIL FROM:<someone@ext.test>")[0], 250, "normal sender")
    c.eq(cl.cmd("RCPT TO:<user@local.test>")[0], 250, "normal mail to an unsigned address")
    c.eq(cl.cmd("QUIT")[0], 221, "QUIT")
    c.ok("backscatter: BATV check" in gw.log_text(), "the log says the filter is on")

# Outbound: mail relayed by a deliver-mode listener leaves with a BATV-signed sender,
# and the tag verifies under the scheme above. The next hop is delivery_smtpd.py.
import glob  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from mxg_gateway_harness import free_port  # noqa: E402

sink_port = free_port()
sink_dir = tempfile.mkdtemp(prefix="mxg-bs-sink-")
smtpd = os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support", "delivery_smtpd.py")
sink = subprocess.Popen(["/usr/bin/python3", smtpd, str(sink_port), sink_dir, "--max-seconds", "60"])
routes = os.path.join(sink_dir, "routes")
with open(routes, "w") as f:
    f.write(f"to:@ext.test relay:[127.0.0.1]:{sink_port}\n")
relay = 'local_domains = ["local.test"]\nrelay_domains = ["ext.test"]\ntrusted_networks = []\n'
out_top = top + f'[routing]\ntable = "{routes}"\n'


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


try:
    c.ok(wait_for(lambda: listening(sink_port), "next hop listening"), "next hop listening")
    with Gateway(mode="deliver", top=out_top, relay=relay) as gw:
        cl = Client(gw.port)
        cl.reply()
        cl.cmd("EHLO client.test")
        c.eq(cl.cmd("MAIL FROM:<alice@local.test>")[0], 250, "outbound MAIL")
        c.eq(cl.cmd("RCPT TO:<bob@ext.test>")[0], 250, "outbound RCPT (relay domain)")
        c.eq(cl.cmd("DATA")[0], 354, "DATA")
        c.eq(cl.cmd("Subject: signed\r\n\r\nhello\r\n.")[0], 250, "queued")
        cl.cmd("QUIT")
        files = wait_for(lambda: glob.glob(os.path.join(sink_dir, "msg-*.eml")), "relayed",
                         timeout=20) or []
        c.ok(len(files) == 1, f"relayed to the next hop ({len(files)} message)")
        env_from = ""
        if files:
            for line in open(files[0], encoding="utf-8", errors="replace"):
                if line.startswith("X-Env-From:"):
                    env_from = line.split(":", 1)[1].strip().strip("<>")
        c.eq(env_from, prvs("alice@local.test", int(time.time()) // 86400),
             "the envelope sender left BATV-signed")
finally:
    sink.kill()
    sink.wait()
    import shutil  # noqa: E402
    shutil.rmtree(sink_dir, ignore_errors=True)

# A config naming an unknown action is refused with file:line.
bad = Gateway(mode="hold", top='[backscatter]\nenabled = true\nbatv_secret = "s"\n'
              'unsigned_bounce = "drop"\n')
r = bad.cli("serve", "--config", bad.config, "--check", check=False)
c.ok(r.returncode != 0 and "unsigned_bounce" in (r.stdout + r.stderr) and
     "mxguard.toml:" in (r.stdout + r.stderr), f"bad action refused: {r.stdout}{r.stderr}")
bad.cleanup()
c.done()
