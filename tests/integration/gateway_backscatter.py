#!/usr/bin/env python3
"""gateway_backscatter.py: issue 4 section 3 in `mxguard serve`. With [backscatter]
enabled, a bounce (MAIL FROM:<>) to one of our users is accepted only when the
recipient carries a valid BATV prvs= tag (draft-levine-smtp-batv-01 4.1). The tag is
computed here from the documented scheme (docs/backscatter.md), independently of the
C++ code: K = signing day mod 10, DDD = expiry day mod 1000, SSSSSS = first 3 bytes of
HMAC-SHA256(HMAC-SHA256(secret, "mxguard-batv:" + day), KDDD + lower(address))."""
import hashlib
import hmac
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker  # noqa: E402

SECRET = "integration-secret"


def prvs(address, day, validity=7):
    day_key = hmac.new(SECRET.encode(), f"mxguard-batv:{day}".encode(), hashlib.sha256).digest()
    kddd = f"{day % 10}{(day + validity) % 1000:03d}"
    mac = hmac.new(day_key, (kddd + address.lower()).encode(), hashlib.sha256).digest()
    return f"prvs={kddd}{mac[:3].hex()}={address}"


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

# A config naming an action serve cannot take at RCPT time is refused with file:line.
bad = Gateway(mode="hold", top='[backscatter]\nenabled = true\nbatv_secret = "s"\n'
              'unsigned_bounce = "quarantine"\n')
r = bad.cli("serve", "--config", bad.config, "--check", check=False)
c.ok(r.returncode != 0 and "unsigned_bounce" in (r.stdout + r.stderr) and
     "mxguard.toml:" in (r.stdout + r.stderr), f"bad action refused: {r.stdout}{r.stderr}")
bad.cleanup()
c.done()
