#!/usr/bin/env python3
"""console_insight.py: the console's read-only admin views (issue 11 section 3,
docs/console.md) with a real HTTP client against a real `mxguard serve`:
  - GET /api/policy: the running [spf] (actions, rules in order, monitor), [dkim], [dmarc]
    and [dnsbl] (zones, thresholds, rules) as the configuration file says; after a
    SIGHUP with a changed [spf] the answer changes (the configuration in force);
  - GET /api/backscatter?since=7d: a forged bounce (tests/data/backscatter/forged-1.eml)
    that the backscatter filter quarantined is judged backscatter and its source, the
    abused site abused.test, is listed with abuse@abused.test (as `mxguard ndr report`
    ranks it);
  - both are admin-only: a helpdesk user is refused 403, no session 401.
Expected answers come from the configuration written here, docs/backscatter.md and
docs/console.md, not from running the code."""
import os
import signal
import sys

SRC = os.environ.get("MXG_SOURCE_DIR", ".")
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, Dnsmasq, wait_for,  # noqa: E402
                                 wait_log, free_port, MXGUARD)
from console_client import ConsoleApi, console_passwd  # noqa: E402,E501

c = Checker()
if not os.path.exists("/usr/sbin/dnsmasq"):
    print("dnsmasq missing: skipped")
    sys.exit(77)


def passwd(user, password, *extra):
    return console_passwd(c, user, password, *extra)


users = passwd("admin", "admin pass 1") + passwd("desk", "desk pass 2", "--role", "helpdesk",
                                                 "--domain", "local.test")
cport = free_port()


def Api():
    return ConsoleApi(cport, timeout=90)


def send(gw, sender, rcpt, data, helo):
    cl = Client(gw.port)
    cl.reply()
    cl.cmd(f"EHLO {helo}")
    cl.cmd(f"MAIL FROM:<{sender}>")
    cl.cmd(f"RCPT TO:<{rcpt}>")
    cl.cmd("DATA")
    body = data.replace("\r\n", "\n").replace("\n", "\r\n")
    body = "\r\n".join("." + ln if ln.startswith(".") else ln for ln in body.split("\r\n"))
    cl.send(body + ("" if body.endswith("\r\n") else "\r\n") + ".\r\n")
    code, text = cl.reply()
    cl.cmd("QUIT")
    cl.close()
    return code, (text.split()[2] if code == 250 else None)


forged = open(os.path.join(SRC, "tests", "data", "backscatter", "forged-1.eml"),
              encoding="utf-8").read().replace("our.test", "local.test")

SPF = ('[spf]\nenabled = true\nauthserv_id = "mx.test"\ntrusted_networks = []\n'
       '[spf.actions]\nsoftfail = "quarantine"\nfail = "reject"\n'
       '[[spf.rule]]\nname = "brands"\ndomains = ["brand.test", ".brand.test"]\nsoftfail = "reject"\n'
       '[[spf.rule]]\nname = "watch"\ndomains = ["watch.test"]\nfail = "quarantine"\nmonitor = true\n')
DNSBL = ('[dnsbl]\nenabled = true\n[dnsbl.actions]\nreject = 3\nquarantine = 1\n'
         '[[dnsbl.zone]]\nname = "bl.test"\nweight = 2\n'
         '[[dnsbl.rule]]\nname = "partners"\nnetworks = ["192.0.2.0/24"]\nreject = 10\nmonitor = true\n')

dns = Dnsmasq("--local=/test/", "--txt-record=local.test,v=spf1 ip4:192.0.2.0/24 -all")
try:
    dns_top = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "500ms"\ntries = 1\n'
               'hosts_file = ""\n')
    top = (dns_top + '[backscatter]\nenabled = true\nndr_backscatter = "quarantine"\n' + SPF +
           DNSBL + f'[console]\nlisten = "127.0.0.1:{cport}"\n' + users)
    relay = 'local_domains = ["local.test"]\nrelay_domains = []\ntrusted_networks = []\n'
    with Gateway(mode="queueonly", top=top, relay=relay) as gw:
        admin, desk, anon = Api(), Api(), Api()
        c.eq(admin.call("POST", "/api/login", {"user": "admin", "password": "admin pass 1"})[0],
             200, "admin signs in")
        c.eq(desk.call("POST", "/api/login", {"user": "desk", "password": "desk pass 2"})[0],
             200, "helpdesk signs in")

        # ---- /api/policy
        status, p = admin.call("GET", "/api/policy")
        c.eq(status, 200, "GET /api/policy answers 200")
        p = p or {}
        spf = p.get("spf", {})
        c.eq(spf.get("enabled"), True, "spf enabled")
        acts = spf.get("actions", {})
        c.eq((acts.get("softfail"), acts.get("fail"), acts.get("pass"), acts.get("temperror")),
             ("quarantine", "reject", "accept", "tempfail"),
             "spf global actions: as configured, the rest the documented defaults")
        rules = spf.get("rules", [])
        c.eq([r.get("name") for r in rules], ["brands", "watch"], "spf rules in order")
        if len(rules) == 2:
            c.eq(rules[0]["domains"], ["brand.test", ".brand.test"], "rule domains as parsed")
            c.eq(rules[0]["actions"], {"softfail": "reject"}, "a rule lists only what it sets")
            c.eq((rules[0]["monitor"], rules[1]["monitor"]), (False, True), "monitor flags")
            c.eq(rules[1]["actions"], {"fail": "quarantine"}, "second rule's action")
        c.eq(p.get("dkim", {}).get("enabled"), False, "dkim off")
        c.eq(p.get("dmarc", {}).get("enabled"), False, "dmarc off")
        c.ok(isinstance(p.get("dmarc", {}).get("actions"), dict) and
             p["dmarc"]["actions"].get("fail_reject") is not None,
             "dmarc global actions listed (by outcome)")
        bl = p.get("dnsbl", {})
        c.eq(bl.get("enabled"), True, "dnsbl enabled")
        c.eq(bl.get("actions"), {"reject": 3, "quarantine": 1}, "dnsbl thresholds")
        c.eq([(z.get("name"), z.get("weight"), z.get("type")) for z in bl.get("zones", [])],
             [("bl.test", 2, "block")], "dnsbl zones")
        c.eq([(r.get("name"), r.get("networks"), r.get("actions"), r.get("monitor"))
              for r in bl.get("rules", [])],
             [("partners", ["192.0.2.0/24"], {"reject": 10}, True)], "dnsbl rules")
        c.eq(desk.call("GET", "/api/policy")[0], 403, "helpdesk: /api/policy refused 403")
        c.eq(anon.call("GET", "/api/policy")[0], 401, "no session: /api/policy refused 401")

        # ---- /api/backscatter
        code, qf = send(gw, "", "alice@local.test", forged, helo="mx.victim.test")
        c.eq(code, 250, "forged bounce answered 250 (quarantined)")
        got = wait_for(lambda: (admin.call("GET", "/api/backscatter?since=7d")[1] or {})
                       .get("quarantined", 0) >= 1, "the bounce is in the quarantine index")
        c.ok(got, "the quarantined bounce is read")
        status, b = admin.call("GET", "/api/backscatter?since=7d")
        c.eq(status, 200, f"GET /api/backscatter answers 200 ({b if status != 200 else ''})")
        b = b or {}
        c.eq(b.get("quarantined"), 1, "one quarantined bounce")
        c.ok(b.get("verdicts", {}).get("backscatter", 0) >= 1, f"judged backscatter ({b.get('verdicts')})")
        src = b.get("sources", [])
        c.eq([s.get("source") for s in src], ["abused.test"], "the source is the abused site")
        if src:
            c.ok("198.51.100.7" in src[0].get("ips", []), "with the address that accepted the forgery")
            c.ok("abuse@abused.test" in [x["address"] for x in src[0].get("contacts", [])],
                 f"abuse contact abuse@abused.test ({src[0].get('contacts')})")
            c.eq(src[0].get("queue_ids"), [qf], "the evidence is the quarantined bounce's queue id")
            c.eq(src[0].get("target_domains"), {"victim.test": 1}, "the forged mail's target domain")
        c.eq(desk.call("GET", "/api/backscatter")[0], 403, "helpdesk: /api/backscatter refused 403")

        # ---- a reload changes the rules in force
        with open(gw.config) as f:
            conf = f.read()
        with open(gw.config, "w") as f:
            f.write(conf.replace('softfail = "quarantine"\nfail = "reject"\n',
                                 'softfail = "tag"\nfail = "reject"\n'))
        gw.proc.send_signal(signal.SIGHUP)
        c.ok(wait_for(lambda: (admin.call("GET", "/api/policy")[1] or {}).get("spf", {})
                      .get("actions", {}).get("softfail") == "tag", "reloaded policy"),
             "after SIGHUP /api/policy shows the new softfail action")
finally:
    dns.stop()
c.done()
