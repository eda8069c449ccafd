#!/usr/bin/env python3
"""gateway_store_shared.py: issue 14, two gateways on two loopback ports share one
PostgreSQL database (a private server, tests/support/private_postgres.py):
  - a message quarantined on A (SPF softfail -> quarantine, records from dnsmasq) is
    listed from B (`mxguard quarantine list --config B.toml`) with host A;
  - A is stopped; a release issued on B (`mxguard quarantine release --config B.toml`,
    through B's control socket) becomes a remote release for A, shown as pending;
  - A starts again, carries the release out and delivers the message to smtp-sink
    exactly once; the index says released, the work item done; a second release from
    B is refused ("already released") and nothing more reaches the sink;
  - with A up, a release from B is carried out at once through LISTEN/NOTIFY: the
    fallback poll is set to an hour ([store] release_poll), so A's log line of the
    release (and the delivery) within the wait proves the notification did it;
  - B's history sees A's records (one history for both).
Waits are on events (files in the sink, rows, command output), never sleeps."""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import (Gateway, Client, Checker, Dnsmasq, wait_for,  # noqa: E402
                                 free_port, MXGUARD)
from private_postgres import PrivatePostgres, SKIP  # noqa: E402

c = Checker()
pg = PrivatePostgres()
if not pg.available():
    print("PostgreSQL server binaries missing: skipped")
    sys.exit(SKIP)
if not os.path.exists("/usr/sbin/dnsmasq") or not os.path.exists("/usr/sbin/smtp-sink"):
    print("dnsmasq or smtp-sink missing: skipped")
    sys.exit(SKIP)


def send(gw, sender, rcpt, subject, source="127.0.0.5"):
    cl = Client(gw.port, source=source)
    cl.reply()
    cl.cmd("EHLO client.example")
    cl.cmd(f"MAIL FROM:<{sender}>")
    cl.cmd(f"RCPT TO:<{rcpt}>")
    cl.cmd("DATA")
    final = cl.cmd(f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}"
                   f"@client.example>\r\n\r\nbody of {subject}\r\n.")
    cl.cmd("QUIT")
    cl.close()
    return final, (final[1].split()[2] if final[0] == 250 else None)


def cli(*args):
    return subprocess.run([MXGUARD, *args], capture_output=True, text=True, timeout=60)


work = tempfile.mkdtemp(prefix="mxg-shared-")
sink_dir = os.path.join(work, "sink")
os.makedirs(sink_dir)
sink_port = free_port()
sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "root", "-d", sink_dir + "/%M.",
                         f"127.0.0.1:{sink_port}", "100"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
routes = os.path.join(work, "routes")
with open(routes, "w") as f:
    f.write(f"* relay:[127.0.0.1]:{sink_port}\n")


def sink_with(subject):
    out = []
    for p in glob.glob(os.path.join(sink_dir, "*")):
        with open(p, errors="replace") as f:
            t = f.read().replace("\r\n", "\n")
        if f"Subject: {subject}\n" in t:
            out.append(p)
    return out


try:
    pg.start()
    with Dnsmasq("--txt-record=soft.test,v=spf1 ip4:192.0.2.0/24 ~all",
                 "--txt-record=pass.test,v=spf1 ip4:127.0.0.0/8 -all") as dns:
        def top(host):
            return (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "500ms"\ntries = 1\n'
                    'hosts_file = ""\n'
                    f'[routing]\ntable = "{routes}"\n'
                    '[spf]\nenabled = true\nauthserv_id = "mx.test"\n'
                    '[spf.actions]\npass = "accept"\nfail = "reject"\nsoftfail = "quarantine"\n'
                    'neutral = "accept"\nnone = "accept"\npermerror = "reject"\n'
                    'temperror = "tempfail"\n'
                    f'[store]\nbackend = "postgresql"\ndsn = "{pg.dsn}"\nhost_id = "{host}"\n'
                    # Releases must come by NOTIFY: the fallback poll never fires here.
                    'release_poll = "1h"\n')
        relay = 'local_domains = ["local.test"]\ntrusted_networks = []\n'
        a = Gateway(mode="deliver", top=top("mx-a"), relay=relay)
        b = Gateway(mode="deliver", top=top("mx-b"), relay=relay)
        try:
            a.start()
            b.start()
            final, qid = send(a, "carol@soft.test", "u1@local.test", "shared softfail")
            c.eq(final[0], 250, "A: softfail answered 250 (quarantined)")
            final, _ = send(b, "alice@pass.test", "u2@local.test", "via b pass")
            c.eq(final[0], 250, "B: pass accepted")
            c.ok(wait_for(lambda: sink_with("via b pass"), "B delivers"), "B delivers its pass")

            def listed():
                r = cli("quarantine", "list", "--config", b.config, "--json")
                if r.returncode != 0:
                    return None
                m = [e for e in json.loads(r.stdout)["messages"] if e["id"] == qid]
                return m[0] if m else None
            e = wait_for(listed, "B lists A's quarantine")
            c.ok(e is not None, f"B lists the message quarantined on A ({qid})")
            c.eq(e and e["host"], "mx-a", "the index says A holds it")
            c.eq(e and e["status"], "held", "held")

            r = cli("quarantine", "delete", "--config", b.config, qid)
            c.eq(r.returncode, 1, "a delete from B is refused (A holds the body)")
            c.ok("held by host mx-a" in r.stderr, f"... saying where ({r.stderr.strip()})")
            # A is down: the release waits, pending.
            a.stop()
            r = cli("quarantine", "release", "--config", b.config, qid)
            c.eq(r.returncode, 0, f"release from B accepted ({r.stdout.strip()} {r.stderr.strip()})")
            c.ok("release pending on host mx-a" in r.stdout, "B says the release is pending on A")
            e = wait_for(lambda: (lambda x: x if x and x["status"].startswith("release pending")
                                  else None)(listed()), "pending listed")
            c.eq(e and e["status"], "release pending on mx-a", "the list shows it pending")
            c.eq(sink_with("shared softfail"), [], "nothing delivered while A is down")

            # A is back: it carries the release out (read at start) and delivers once.
            listens = a.log_text().count("remote releases: LISTEN mxguard_release")
            a.start()
            got = wait_for(lambda: sink_with("shared softfail"), "A delivers the release")
            c.eq(len(got), 1, "A delivered the released message to smtp-sink once")
            e = wait_for(lambda: (lambda x: x if x and x["status"] == "released" else None)(
                (lambda: [m for m in json.loads(cli("quarantine", "list", "--config", b.config,
                                                    "--all", "--json").stdout)["messages"]
                          if m["id"] == qid][0])()), "released listed")
            c.eq(e and e["status"], "released", "the index says released")
            c.eq(e and e["released_by"] != "", True, "with who released it")
            c.eq(pg.psql("SELECT count(*) || ' ' || min(result) FROM remote_releases "
                         f"WHERE queue_id = '{qid}' AND done_at IS NOT NULL"), "1 released",
                 "the work item is done, once")
            r = cli("quarantine", "release", "--config", b.config, qid)
            c.eq(r.returncode, 1, "a second release from B is refused")
            c.ok("already released" in r.stderr, f"... as already released ({r.stderr.strip()})")
            r = cli("quarantine", "release", "--config", a.config, qid)
            c.eq(r.returncode, 1, "and from A too")
            c.eq(pg.psql("SELECT count(*) FROM remote_releases"), "1", "no second work item")
            c.eq(len(sink_with("shared softfail")), 1, "still delivered exactly once")
            # A up and listening: a release from B is carried out at once (NOTIFY), not
            # after the fallback poll (an hour).
            c.ok(wait_for(lambda: a.log_text().count("remote releases: LISTEN mxguard_release")
                          > listens, "A listens"), "A LISTENs for releases after its restart")
            final, qid2 = send(a, "dave@soft.test", "u3@local.test", "notified softfail")
            c.eq(final[0], 250, "A: second softfail quarantined")

            def held_on_b(q):
                r = cli("quarantine", "list", "--config", b.config, "--json")
                return r.returncode == 0 and any(
                    m["id"] == q and m["status"] == "held"
                    for m in json.loads(r.stdout)["messages"])
            c.ok(wait_for(lambda: held_on_b(qid2), "B lists it"), "B lists the second message")
            r = cli("quarantine", "release", "--config", b.config, qid2)
            c.ok("release pending on host mx-a" in r.stdout,
                 f"B: the second release is pending on A ({r.stdout.strip()} {r.stderr.strip()})")
            c.ok(wait_for(lambda: f"quarantine released qid={qid2}" in a.log_text(),
                          "A releases on NOTIFY"),
                 "A carried the release out on the notification (fallback poll: 1h)")
            got = wait_for(lambda: sink_with("notified softfail"), "A delivers the second")
            c.eq(len(got), 1, "and delivered it once")
            # policy simulate over the shared history (both hosts' traffic).
            cand = os.path.join(work, "candidate.toml")
            with open(cand, "w") as f:
                f.write('[spf]\nenabled = true\n[spf.actions]\nsoftfail = "reject"\n')
            r = cli("policy", "simulate", "--policy", cand, "--history", pg.dsn, "--since", "1d",
                    "--json")
            c.eq(r.returncode, 0, f"policy simulate --history {pg.dsn} ({r.stderr.strip()})")
            try:
                tr = json.loads(r.stdout).get("transitions", {})
            except ValueError:
                tr = {}
            c.eq(tr.get("quarantine->reject"), 2,
                 f"simulate sees A's quarantined softfail in the shared history ({tr})")
            # One history for both gateways.
            c.eq(pg.psql("SELECT string_agg(DISTINCT host, ',' ORDER BY host) FROM messages"),
                 "mx-a,mx-b", "the history holds both gateways' records")
        finally:
            if c.failed:
                print("--- A log\n" + a.log_text()[-3000:] + "\n--- B log\n" + b.log_text()[-3000:])
            a.cleanup()
            b.cleanup()
finally:
    sink.kill()
    sink.wait()
    pg.destroy()
c.done()
