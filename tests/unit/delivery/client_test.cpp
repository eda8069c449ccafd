// Pure parts of the SMTP client (src/delivery/client.hpp): RFC 5321 4.5.2 dot-stuffing,
// EHLO keyword parsing (RFC 5321 4.1.1.1, RFC 2920, RFC 3207, RFC 1870), next hops of
// routing actions, and the RFC 5321 5.1 host order (with RFC 7505 null MX) resolved
// through the in-memory DNS zone. The dialogue itself is tested against real peers in
// tests/integration/delivery_*.
#include "delivery/client.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <set>

#include "dns/memory_zone.hpp"

using namespace mxg::delivery;
using mxg::dns::memory_zone;
using mxg::dns::record;
using mxg::dns::rrtype;

TEST(DotStuff, Rfc5321Transparency) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
      {".\r\n", "..\r\n.\r\n"},
      {"a\r\n.b\r\n..c\r\n", "a\r\n..b\r\n...c\r\n.\r\n"},
      {".start", "..start\r\n.\r\n"},
      {"no final line end", "no final line end\r\n.\r\n"},
      {"bare\nlf\n.dot\n", "bare\r\nlf\r\n..dot\r\n.\r\n"},  // never send a bare LF
      {"bare\rcr", "bare\r\ncr\r\n.\r\n"},
      {"mid.dot\r\n", "mid.dot\r\n.\r\n"},
      {"", ".\r\n"},
      {"\r\n.\r\n", "\r\n..\r\n.\r\n"},  // a smuggled end of data stays data
  };
  for (const auto& c : cases) EXPECT_EQ(dot_stuff(c.in), c.out) << c.in;
}

TEST(Ehlo, Keywords) {
  auto i = parse_ehlo({"PIPELINING", "SIZE 10240000", "starttls", "8BITMIME", "ENHANCEDSTATUSCODES",
                       "SMTPUTF8", "DSN"});
  EXPECT_TRUE(i.pipelining);
  EXPECT_TRUE(i.starttls);
  EXPECT_TRUE(i.eightbitmime);
  EXPECT_TRUE(i.smtputf8);
  EXPECT_TRUE(i.size);
  EXPECT_EQ(i.size_max, 10240000u);
  auto j = parse_ehlo({"SIZE", "AUTH PLAIN"});
  EXPECT_FALSE(j.pipelining);
  EXPECT_FALSE(j.starttls);
  EXPECT_TRUE(j.size);
  EXPECT_EQ(j.size_max, 0u);  // SIZE without a number: no limit announced
  EXPECT_EQ(parse_ehlo({"SIZE 99999999999999999999999"}).size_max, 0u);
}

TEST(NextHop, FromRoutingActions) {
  struct Case {
    const char* action;
    const char* rcpt;
    bool hold;
    const char* host;
    bool mx;
    unsigned port;
    bool relay;
  } cases[] = {
      {"mx", "u@Example.COM", false, "example.com", true, 25, false},
      {"mx", "u@[192.0.2.7]", false, "192.0.2.7", false, 25, false},
      {"mx", "u@[IPv6:2001:db8::1]", false, "2001:db8::1", false, 25, false},
      {"relay:[127.0.0.1]:2525", "u@example.com", false, "127.0.0.1", false, 2525, true},
      {"relay:smart.test", "u@example.com", false, "smart.test", true, 25, true},
      {"hold", "u@example.com", true, "", false, 0, false},
  };
  for (const auto& c : cases) {
    auto a = parse_action(c.action);
    ASSERT_TRUE(a);
    auto h = hop_for(*a, c.rcpt);
    ASSERT_EQ(!h, c.hold) << c.action;
    if (!h) continue;
    EXPECT_EQ(h->host, c.host) << c.action;
    EXPECT_EQ(h->mx_lookup, c.mx) << c.action;
    EXPECT_EQ(h->port, c.port) << c.action;
    EXPECT_EQ(h->relay, c.relay) << c.action;
  }
}

namespace {

record rr_a(const char* name, const char* ip) {
  record r;
  r.name = name;
  r.type = mxg::net::ip_address::parse(ip)->is_v4() ? rrtype::a : rrtype::aaaa;
  r.addr = *mxg::net::ip_address::parse(ip);
  return r;
}
record rr_mx(const char* name, int pref, const char* target) {
  record r;
  r.name = name;
  r.type = rrtype::mx;
  r.preference = static_cast<std::uint16_t>(pref);
  r.target = target;
  return r;
}

resolved_hop resolve(memory_zone& z, next_hop hop) {
  asio::io_context io;
  resolved_hop out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out = co_await resolve_hop(z, hop, kMxHostsMax); },
      asio::detached);
  io.run();
  return out;
}

std::vector<std::string> names(const resolved_hop& r) {
  std::vector<std::string> n;
  for (const auto& h : r.hosts) n.push_back(h.name);
  return n;
}

}  // namespace

TEST(ResolveHop, MxOrderByPreferenceRandomAmongEquals) {
  memory_zone z;
  z.add(rr_mx("dest.test", 20, "b1.dest.test"));
  z.add(rr_mx("dest.test", 10, "a.dest.test"));
  z.add(rr_mx("dest.test", 20, "b2.dest.test"));
  z.add(rr_mx("dest.test", 30, "noaddr.dest.test"));
  z.add(rr_a("a.dest.test", "192.0.2.1"));
  z.add(rr_a("a.dest.test", "2001:db8::1"));
  z.add(rr_a("b1.dest.test", "192.0.2.21"));
  z.add(rr_a("b2.dest.test", "192.0.2.22"));
  std::set<std::string> second;  // which equal-preference host came first
  for (int i = 0; i < 64; ++i) {
    auto r = resolve(z, {"dest.test", true, 25, false});
    ASSERT_EQ(r.code, 0) << r.reply;
    auto n = names(r);
    ASSERT_EQ(n.size(), 3u);  // noaddr has no address: left out
    EXPECT_EQ(n[0], "a.dest.test");
    EXPECT_EQ(r.hosts[0].addrs, (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
    EXPECT_EQ(std::set<std::string>(n.begin() + 1, n.end()),
              (std::set<std::string>{"b1.dest.test", "b2.dest.test"}));
    second.insert(n[1]);
  }
  // 64 draws of a fair order: both orders appear (the chance of not is 2^-63).
  EXPECT_EQ(second.size(), 2u);
}

TEST(ResolveHop, FallbacksAndFailures) {
  memory_zone z;
  z.add(rr_a("nomx.test", "192.0.2.9"));  // no MX: implicit MX (5321 5.1)
  z.add(rr_mx("nullmx.test", 0, ""));     // RFC 7505
  z.add(rr_a("smart.test", "192.0.2.10"));
  z.add(rr_mx("mxnoaddr.test", 10, "gone.test"));
  z.add_name("empty.test");
  z.add_timeout("slow.test");
  struct Case {
    next_hop hop;
    int code;
    std::vector<std::string> hosts;
  } cases[] = {
      {{"nomx.test", true, 25, false}, 0, {"nomx.test"}},
      {{"nullmx.test", true, 25, false}, 556, {}},
      {{"missing.test", true, 25, false}, 550, {}},  // NXDOMAIN recipient domain: permanent
      {{"missing.test", true, 25, true}, 451, {}},   // ... but a relay name: temporary
      {{"empty.test", true, 25, false}, 550, {}},    // no MX, no address
      {{"mxnoaddr.test", true, 25, false}, 550, {}},
      {{"slow.test", true, 25, false}, 451, {}},               // DNS timeout: temporary
      {{"smart.test", false, 2525, true}, 0, {"smart.test"}},  // [host]: A only, no MX
      {{"127.0.0.1", false, 2525, true}, 0, {"127.0.0.1"}},
      {{"192.0.2.3", true, 25, false}, 0, {"192.0.2.3"}},  // literal: no lookup at all
  };
  for (const auto& c : cases) {
    auto r = resolve(z, c.hop);
    EXPECT_EQ(r.code, c.code) << c.hop.host << " " << r.reply;
    EXPECT_EQ(names(r), c.hosts) << c.hop.host;
    if (c.code) {
      EXPECT_EQ(r.reply.substr(0, 3), std::to_string(c.code));
    }
  }
}
