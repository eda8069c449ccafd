#!/usr/bin/python3
"""spf_side_by_side_gen.py: writes the zone (as dnsmasq options, one per line) and the
query list ("IP SENDER HELO" per line) for bench/spf_side_by_side.sh. Deterministic
(fixed seed). The zone is shaped like real mail domains: customer domains that include
an email provider's record (which itself includes a netblock record), plus a, mx and
ip4 terms, some with ~all or ?all, a few with redirect=, a few without SPF, some
names that do not exist, and a few with the "ipv4:" typo (permerror).
Usage: spf_side_by_side_gen.py OUTDIR [QUERIES]"""
import os
import random
import sys

out = sys.argv[1]
nq = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
rng = random.Random(7208)
Z = "bench.test"
# Authoritative mode, so negative answers carry the SOA (RFC 2308 3) as every real
# authoritative server's do; A/AAAA of host-records are only served inside these subnets.
opts = ["--auth-server=ns.%s,127.0.0.1" % Z,
        "--auth-zone=%s,192.0.0.0/16,100.64.0.0/10" % Z,
        "--auth-soa=1,hostmaster.%s,1200,120,604800,300" % Z,
        "--auth-ttl=300", "--local-ttl=300"]
ESPS = 5
DOMAINS = 100

for k in range(ESPS):
    opts.append("--txt-record=_spf.esp%d.%s,v=spf1 ip4:198.51.%d.0/24 ip6:2001:db8:%x::/48 "
                "include:_nb.esp%d.%s ~all" % (k, Z, k, k + 1, k, Z))
    opts.append("--txt-record=_nb.esp%d.%s,v=spf1 ip4:203.0.%d.0/24 -all" % (k, Z, 100 + k))

kinds = []
for i in range(DOMAINS):
    d = "d%d.%s" % (i, Z)
    kind = ("redirect" if i % 20 == 19 else "nospf" if i % 20 == 18 else
            "typo" if i % 50 == 17 else "normal")
    kinds.append(kind)
    opts.append("--host-record=%s,192.0.%d.%d" % (d, 2 + i // 250, i % 250 + 1))
    opts.append("--mx-host=%s,mx.%s,10" % (d, d))
    opts.append("--host-record=mx.%s,100.64.%d.25" % (d, i))
    allq = ["-all", "~all", "?all"][i % 3]
    if kind == "normal":
        # Several character-strings, as long records are published (RFC 7208 3.3).
        opts.append("--txt-record=%s,v=spf1 include:_spf.esp%d.%s ,a mx ip4:10.%d.0.0/16 %s"
                    % (d, i % ESPS, Z, i, allq))
        opts.append("--txt-record=%s,google-site-verification=x%d" % (d, i))
    elif kind == "redirect":
        opts.append("--txt-record=%s,v=spf1 ip4:10.%d.0.0/16 redirect=d%d.%s" % (d, i, i - 1, Z))
    elif kind == "typo":
        opts.append("--txt-record=%s,v=spf1 mx ip4:10.%d.0.1 ipv4:10.%d.0.2 -all" % (d, i, i))

queries = []
for _ in range(nq):
    i = rng.randrange(DOMAINS + 5)
    sender = "user%d@d%d.%s" % (rng.randrange(1000), i, Z) if i < DOMAINS else \
        "user@missing%d.%s" % (i, Z)
    k = i % ESPS
    pick = rng.randrange(7)
    if pick == 0:
        ip = "198.51.%d.%d" % (k, rng.randrange(256))       # provider (include)
    elif pick == 1:
        ip = "203.0.%d.%d" % (100 + k, rng.randrange(256))  # provider netblock (nested include)
    elif pick == 2:
        ip = "192.0.%d.%d" % (2 + i // 250, i % 250 + 1)     # a
    elif pick == 3:
        ip = "100.64.%d.25" % (i % 256)                      # mx
    elif pick == 4:
        ip = "10.%d.%d.%d" % (i % 256, rng.randrange(256), rng.randrange(256))  # ip4
    elif pick == 5:
        ip = "2001:db8:%x::%x" % (k + 1, rng.randrange(65536))  # provider ip6
    else:
        ip = "172.16.%d.%d" % (rng.randrange(256), rng.randrange(256))  # nobody's
    queries.append("%s %s mail.client%d.example" % (ip, sender, rng.randrange(100)))

os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "dnsmasq.opts"), "w") as f:
    f.write("\n".join(opts) + "\n")
with open(os.path.join(out, "queries.txt"), "w") as f:
    f.write("\n".join(queries) + "\n")
