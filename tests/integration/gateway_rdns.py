#!/usr/bin/env python3
"""gateway_rdns.py: the client's reverse DNS in the RFC 5321 4.4 Received header of
`mxguard serve` (issue 3 leftover), through the server's resolver ([dns] servers) and
a real DNS server (dnsmasq on a loopback port):
  - 127.0.0.1 has PTR good.rdns.test and good.rdns.test has A 127.0.0.1 (forward
    confirmed): "from client.test (good.rdns.test [127.0.0.1])", client-name in the envelope;
  - 127.0.0.2 has PTR liar.rdns.test whose A is 192.0.2.7 (not confirmed):
    "(unknown [127.0.0.2])";
  - a DNS server that never answers: the greeting is not delayed, and the Received
    header says unknown (the lookup wait is bounded); after a timed-out lookup the
    next sessions do not wait at all.
The log names the client on an "rdns" line after the connect line."""
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Client, Checker, Dnsmasq, wait_for  # noqa: E402

c = Checker()


def one_message(gw, source=None):
    cl = Client(gw.port, source=source)
    t0 = time.time()
    code, _ = cl.reply()
    greet = time.time() - t0
    cl.cmd("EHLO client.test")
    cl.cmd("MAIL FROM:<a@ext.test>")
    cl.cmd("RCPT TO:<user@local.test>")
    cl.cmd("DATA")
    code, text = cl.cmd("Subject: rdns\r\n\r\nhi\r\n.")
    cl.cmd("QUIT")
    cl.close()
    qid = text.split()[2] if code == 250 else None
    msgs = gw.messages()
    ctl, data = msgs.get(qid, ("", b""))
    return code, greet, ctl, data.decode(errors="replace")


dns = Dnsmasq("--ptr-record=1.0.0.127.in-addr.arpa,good.rdns.test",
              "--host-record=good.rdns.test,127.0.0.1",
              "--ptr-record=2.0.0.127.in-addr.arpa,liar.rdns.test",
              "--address=/liar.rdns.test/192.0.2.7")
try:
    top = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\ntimeout = "500ms"\ntries = 1\n'
           'hosts_file = ""\n')  # DNS only: /etc/hosts would name 127.0.0.1 first
    with Gateway(mode="hold", top=top) as gw:
        code, _, ctl, data = one_message(gw)
        c.eq(code, 250, "queued from 127.0.0.1")
        c.ok(data.startswith("Received: from client.test (good.rdns.test [127.0.0.1])"),
             f"confirmed name in Received: {data.splitlines()[:1]}")
        c.ok("client-name: good.rdns.test" in ctl, f"client-name in the envelope: {ctl!r}")
        c.ok(wait_for(lambda: "name=good.rdns.test" in gw.log_text() and
                      "confirmed=yes" in gw.log_text(), "log"), "rdns log line names the client")
        code, _, ctl, data = one_message(gw, source="127.0.0.2")
        c.eq(code, 250, "queued from 127.0.0.2")
        c.ok(data.startswith("Received: from client.test (unknown [127.0.0.2])"),
             f"unconfirmed PTR gives unknown: {data.splitlines()[:1]}")
        c.ok("\nclient-name:\n" in ctl, f"no client-name when unconfirmed: {ctl!r}")
        c.ok("ptr=liar.rdns.test confirmed=no" in gw.log_text(), "log shows the unconfirmed PTR")
finally:
    dns.stop()

# A DNS server that never answers (a UDP socket nobody reads): greeting at once,
# "unknown" after the bounded wait.
silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
silent.bind(("127.0.0.1", 0))
top = (f'[dns]\nservers = ["127.0.0.1:{silent.getsockname()[1]}"]\ntimeout = "3s"\ntries = 1\n'
       'hosts_file = ""\n')
with Gateway(mode="hold", top=top) as gw:
    t0 = time.time()
    code, greet, ctl, data = one_message(gw)
    c.eq(code, 250, "queued with a silent DNS server")
    c.ok(greet < 1.0, f"greeting not delayed by rDNS ({greet:.2f}s)")
    c.ok(time.time() - t0 < 6, f"the rDNS wait is bounded ({time.time() - t0:.2f}s)")
    c.ok(data.startswith("Received: from client.test (unknown [127.0.0.1])"),
         f"unknown without an answer: {data.splitlines()[:1]}")
    # Once a lookup has timed out, sessions stop waiting for rDNS at DATA.
    c.ok(wait_for(lambda: "dns=TIMEOUT" in gw.log_text(), "timeout"), "the lookup timed out")
    t0 = time.time()
    code, _, _, data = one_message(gw)
    c.ok(code == 250 and time.time() - t0 < 1.0,
         f"no wait while the resolver times out ({time.time() - t0:.2f}s)")

# The static host table answers before DNS (as "hosts: files dns" does): a client
# listed there is named without a query, even with a DNS server that never answers.
hosts = tempfile.NamedTemporaryFile("w", suffix=".hosts", delete=False)
hosts.write("# test table\n127.0.0.1\tTable.Rdns.Test alias.rdns.test  # comment\n"
            "not-an-ip bogus.test\n127.0.0.3 three.rdns.test\n")
hosts.close()
top = (f'[dns]\nservers = ["127.0.0.1:{silent.getsockname()[1]}"]\ntimeout = "3s"\ntries = 1\n'
       f'hosts_file = "{hosts.name}"\n')
with Gateway(mode="hold", top=top) as gw:
    t0 = time.time()
    code, _, ctl, data = one_message(gw)
    c.eq(code, 250, "queued from a client in the host table")
    c.ok(time.time() - t0 < 1.0, f"no DNS wait for a host-table client ({time.time() - t0:.2f}s)")
    c.ok(data.startswith("Received: from client.test (table.rdns.test [127.0.0.1])"),
         f"host-table name in Received: {data.splitlines()[:1]}")
    c.ok("client-name: table.rdns.test" in ctl, f"client-name from the host table: {ctl!r}")
    c.ok("dns=hosts-file" in gw.log_text(), "the rdns log line says where the name came from")
os.unlink(hosts.name)
silent.close()
c.done()
