// Pure parts of `mxguard probe` (src/delivery/probe.hpp): the HOST[:PORT] argument, the
// Domain of a greeting / EHLO reply (RFC 5321 4.3.1, 4.1.1.1), address literals (RFC 5321
// 4.1.3), banner/HELO/rDNS agreement, the 16 relay tests as nmap's
// scripts/smtp-open-relay.nse spells them, and the exit code. Conversations with real
// servers are in tests/integration/probe.py.
#include "delivery/probe.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include "dns/memory_zone.hpp"

using namespace mxg::delivery;

TEST(ProbeTarget, HostPortForms) {
  struct Case {
    const char* in;
    const char* host;
    int port;
    bool ip;
  } cases[] = {
      {"example.com", "example.com", 25, false},
      {"Example.COM.", "example.com", 25, false},
      {"mx.example.com:2525", "mx.example.com", 2525, false},
      {"192.0.2.1", "192.0.2.1", 25, true},
      {"192.0.2.1:587", "192.0.2.1", 587, true},
      {"[192.0.2.1]:26", "192.0.2.1", 26, true},
      {"2001:db8::1", "2001:db8::1", 25, true},  // bare IPv6: no port
      {"[2001:db8::1]:2525", "2001:db8::1", 2525, true},
      {"[IPv6:2001:db8::1]", "2001:db8::1", 25, true},
      {"[mx.example.com]:25", "mx.example.com", 25, false},
  };
  for (const auto& c : cases) {
    auto t = parse_target(c.in);
    ASSERT_TRUE(t) << c.in << ": " << t.error().message;
    EXPECT_EQ(t->host, c.host) << c.in;
    EXPECT_EQ(t->port, c.port) << c.in;
    EXPECT_EQ(t->is_ip, c.ip) << c.in;
  }
  for (const char* bad : {"", ":25", "host:", "host:0", "host:65536", "host:25x", "[::1", "[::1]x",
                          "ho st", "a..b", "d..", "-x.test", "host:-1", "bad_\x01.test"})
    EXPECT_FALSE(parse_target(bad)) << bad;
}

TEST(GreetingName, FirstWordWhenADomainOrLiteral) {
  // RFC 5321 4.3.1: greeting = "220 " (Domain / address-literal) [ SP textstring ].
  EXPECT_EQ(greeting_name("mx.example.com ESMTP Postfix (Debian/GNU)"), "mx.example.com");
  EXPECT_EQ(greeting_name("mx.example.com"), "mx.example.com");
  EXPECT_EQ(greeting_name("mx.example.com. ready"), "mx.example.com");
  EXPECT_EQ(greeting_name("[192.0.2.1] ready"), "[192.0.2.1]");
  EXPECT_EQ(greeting_name("[IPv6:2001:db8::1] ready"), "[IPv6:2001:db8::1]");
  EXPECT_EQ(greeting_name("[not.an.ip] ready"), "");
  EXPECT_EQ(greeting_name("*** welcome ***"), "");  // a banner without its name
  EXPECT_EQ(greeting_name(""), "");
  EXPECT_EQ(greeting_name("evil\x1b[31m.example"), "");
  EXPECT_EQ(greeting_name("a..b ready"), "");
  EXPECT_EQ(greeting_name("d.. ready"), "");  // found by fuzz/probe_reply.cpp
  using namespace std::string_view_literals;  // an embedded NUL, also found by the fuzzer
  EXPECT_EQ(greeting_name("[192.0.2.1\0x] ready"sv), "");
  EXPECT_FALSE(parse_target("[192.0.2.1\0x]:25"sv));
  EXPECT_EQ(greeting_name(std::string(300, 'a')), "");  // longer than a domain can be
}

TEST(AddressLiteral, Rfc5321Section413) {
  EXPECT_EQ(address_literal("192.0.2.1"), "[192.0.2.1]");
  EXPECT_EQ(address_literal("2001:db8::1"), "[IPv6:2001:db8::1]");
}

TEST(NameAgreement, PairsAndUnknowns) {
  auto a = judge_names("mx.example.com", "MX.example.com.", "mx.example.com");
  EXPECT_EQ(a.banner_ehlo, true);
  EXPECT_EQ(a.banner_rdns, true);
  EXPECT_EQ(a.ehlo_rdns, true);
  EXPECT_TRUE(a.all_agree());

  auto b = judge_names("mx.example.com", "mail.other.test", "mx.example.com");
  EXPECT_EQ(b.banner_ehlo, false);
  EXPECT_EQ(b.ehlo_rdns, false);
  EXPECT_FALSE(b.all_agree());

  auto c = judge_names("mx.example.com", "mx.example.com", "");  // no confirmed rDNS
  EXPECT_EQ(c.banner_ehlo, true);
  EXPECT_FALSE(c.banner_rdns.has_value());
  EXPECT_FALSE(c.ehlo_rdns.has_value());
  EXPECT_FALSE(c.all_agree());  // agreement needs a confirmed rDNS name

  auto d = judge_names("", "mx.example.com", "mx.example.com");  // banner without a name
  EXPECT_FALSE(d.banner_ehlo.has_value());
  EXPECT_TRUE(d.all_agree());
}

TEST(RelayCases, NmapSmtpOpenRelayList) {
  relay_names n;
  n.sender_local = "antispam";
  n.sender_domain = "nmap.scanme.org";
  n.user = "relaytest";
  n.dest = "nmap.scanme.org";
  n.server = "mx.target.test";
  n.ip = "10.0.1.2";
  // The 16 (from, to) pairs of nmap's scripts/smtp-open-relay.nse for domain
  // nmap.scanme.org, from "antispam", to "relaytest", srvname mx.target.test and ip
  // 10.0.1.2, written out by hand from the script's string.format() patterns.
  const std::pair<const char*, const char*> want[] = {
      {"", "relaytest@nmap.scanme.org"},
      {"antispam@nmap.scanme.org", "relaytest@nmap.scanme.org"},
      {"antispam@mx.target.test", "relaytest@nmap.scanme.org"},
      {"antispam@[10.0.1.2]", "relaytest@nmap.scanme.org"},
      {"antispam@[10.0.1.2]", "relaytest%nmap.scanme.org@[10.0.1.2]"},
      {"antispam@[10.0.1.2]", "relaytest%nmap.scanme.org@mx.target.test"},
      {"antispam@[10.0.1.2]", "\"relaytest@nmap.scanme.org\""},
      {"antispam@[10.0.1.2]", "\"relaytest%nmap.scanme.org\""},
      {"antispam@[10.0.1.2]", "relaytest@nmap.scanme.org@[10.0.1.2]"},
      {"antispam@[10.0.1.2]", "\"relaytest@nmap.scanme.org\"@[10.0.1.2]"},
      {"antispam@[10.0.1.2]", "relaytest@nmap.scanme.org@mx.target.test"},
      {"antispam@[10.0.1.2]", "@[10.0.1.2]:relaytest@nmap.scanme.org"},
      {"antispam@[10.0.1.2]", "@mx.target.test:relaytest@nmap.scanme.org"},
      {"antispam@[10.0.1.2]", "nmap.scanme.org!relaytest"},
      {"antispam@[10.0.1.2]", "nmap.scanme.org!relaytest@[10.0.1.2]"},
      {"antispam@[10.0.1.2]", "nmap.scanme.org!relaytest@mx.target.test"},
  };
  auto cases = relay_cases(n);
  ASSERT_EQ(cases.size(), kRelayTests);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(cases[i].number, static_cast<int>(i + 1));
    EXPECT_EQ(cases[i].mail_from, want[i].first) << i + 1;
    EXPECT_EQ(cases[i].rcpt_to, want[i].second) << i + 1;
    EXPECT_FALSE(cases[i].what.empty());
  }
}

TEST(RelayCases, Ipv6LiteralAndNoServerName) {
  relay_names n;
  n.user = "me";
  n.dest = "mine.example";
  n.ip = "2001:db8::25";  // no name known: the literal stands for the server
  auto c = relay_cases(n);
  EXPECT_EQ(c[1].mail_from, "relaytest@mine.example");  // sender domain defaults to dest
  EXPECT_EQ(c[2].mail_from, "relaytest@[IPv6:2001:db8::25]");
  EXPECT_EQ(c[11].rcpt_to, "@[IPv6:2001:db8::25]:me@mine.example");
  EXPECT_EQ(c[15].rcpt_to, "mine.example!me@[IPv6:2001:db8::25]");
}

TEST(ProbeVerdict, ExitCodes) {
  probe_report r;
  EXPECT_EQ(probe_exit_code(r), 3);  // nothing reached
  host_report h;
  h.connected = false;
  r.hosts.push_back(h);
  EXPECT_EQ(probe_exit_code(r), 3);
  r.hosts[0].connected = true;
  EXPECT_EQ(probe_exit_code(r), 0);
  relay_outcome refused, accepted;
  refused.test.number = 1;
  accepted.test.number = 7;
  accepted.accepted = true;
  r.hosts[0].relay = {refused, accepted};
  EXPECT_EQ(probe_exit_code(r), 1);
  auto acc = r.accepted();
  ASSERT_EQ(acc.size(), 1u);
  EXPECT_EQ(acc[0]->test.number, 7);
}

TEST(Probe, UnknownDomainIsCouldNotConnect) {
  mxg::dns::memory_zone z;  // empty: every name is NXDOMAIN
  asio::io_context io;
  auto t = parse_target("nowhere.test");
  ASSERT_TRUE(t);
  auto fut = asio::co_spawn(io, probe(z, *t, probe_options{}), asio::use_future);
  io.run();
  auto r = fut.get();
  EXPECT_TRUE(r.mx_lookup);
  EXPECT_TRUE(r.hosts.empty());
  EXPECT_NE(r.dns_error.find("NXDOMAIN"), std::string::npos) << r.dns_error;
  EXPECT_EQ(probe_exit_code(r), 3);
}
