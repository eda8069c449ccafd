// dnsbl_test.cpp: the DNS list check (policy/dnsbl.hpp, issue 12 section 2).
//   - dnsbl_query_name: RFC 5782 2.1 (IPv4 octets reversed, its example 192.0.2.99) and
//     2.4 (IPv6 nibbles, its example 2001:db8:1:2:3:4:567:89ab), the RFC 5782 5 test
//     points 127.0.0.2 and ::ffff:7f00:2;
//   - interpret: RFC 5782 2.1 (no A record = not listed; codes in 127.0.0.0/8), 5
//     (127.0.0.1 is never a listing), the lists' "blocked from querying" answers
//     (Spamhaus 127.255.255.254) as errors, codes with weights, bitmask lists;
//   - decide: thresholds per action, allow lists lowering the score, rules per client
//     network, monitor, error_action, replies 554 5.7.1 / 451 4.7.1 / 451 4.4.3
//     (RFC 5321 4.2, RFC 3463 3.5, 3.8) naming the list;
//   - evaluate_dnsbl over the in-memory zone (IPv4, IPv6, TXT reason, trusted networks)
//     and against a real UDP socket that never answers (the deadline, through c-ares);
//   - the [dnsbl] reader's FILE:LINE errors.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/use_future.hpp>

#include "dns/cares_resolver.hpp"
#include "dns/memory_zone.hpp"
#include "policy/dnsbl.hpp"
#include "policy/dnsbl_config.hpp"

using namespace mxg;
using namespace mxg::policy;

namespace {

net::ip_address ip(const char* s) {
  return *net::ip_address::parse(s);
}

dns::answer a_answer(std::initializer_list<const char*> codes) {
  dns::answer a;
  a.st = dns::status::ok;
  a.ttl = 300;
  for (const char* c : codes) {
    dns::record r;
    r.type = dns::rrtype::a;
    r.ttl = 300;
    r.addr = ip(c);
    a.records.push_back(r);
  }
  return a;
}

dns::answer status_answer(dns::status st) {
  dns::answer a;
  a.st = st;
  return a;
}

dnsbl_zone zen() {
  dnsbl_zone z;
  z.name = "zen.example";
  z.weight = 1;
  z.codes = {{ip("127.0.0.2"), 3, "SBL"}, {ip("127.0.0.4"), 2, "XBL"}};
  z.errors = {*net::cidr::parse("127.255.255.0/24")};
  return z;
}

dnsbl_zone allow_list() {
  dnsbl_zone z;
  z.name = "wl.example";
  z.type = dnsbl_zone_type::allow;
  z.weight = -1;
  z.codes = {{ip("127.0.10.3"), -4, "high trust"}};
  z.errors = {*net::cidr::parse("127.255.255.0/24"), *net::cidr::parse("127.0.0.255/32")};
  return z;
}

}  // namespace

TEST(DnsblQueryName, Rfc5782Examples) {
  // RFC 5782 2.1: 192.0.2.99 is queried as 99.2.0.192.<zone>.
  EXPECT_EQ(dnsbl_query_name(ip("192.0.2.99"), "bl.example"), "99.2.0.192.bl.example");
  // RFC 5782 2.4: the IPv6 example, one nibble per label, least significant first.
  EXPECT_EQ(dnsbl_query_name(ip("2001:db8:1:2:3:4:567:89ab"), "bl.example"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example");
  // RFC 5782 5: the test points.
  EXPECT_EQ(dnsbl_query_name(ip("127.0.0.2"), "bl.example"), "2.0.0.127.bl.example");
  EXPECT_EQ(dnsbl_query_name(ip("::ffff:7f00:2"), "bl.example"),
            "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example");
}

TEST(DnsblInterpret, NotListedAndListed) {
  auto z = zen();
  EXPECT_EQ(interpret(z, status_answer(dns::status::nxdomain)).status, dnsbl_status::not_listed);
  EXPECT_EQ(interpret(z, status_answer(dns::status::nodata)).status, dnsbl_status::not_listed);

  auto r = interpret(z, a_answer({"127.0.0.2"}));
  EXPECT_EQ(r.status, dnsbl_status::listed);
  ASSERT_EQ(r.hits.size(), 1u);
  EXPECT_EQ(r.hits[0].meaning, "SBL");
  EXPECT_EQ(r.weight, 3);

  // Two codes (SBL and XBL) add up; a repeated code counts once.
  r = interpret(z, a_answer({"127.0.0.2", "127.0.0.4", "127.0.0.2"}));
  EXPECT_EQ(r.status, dnsbl_status::listed);
  EXPECT_EQ(r.weight, 5);
  EXPECT_EQ(r.hits.size(), 2u);

  // A code the configuration does not name counts the zone's weight.
  r = interpret(z, a_answer({"127.0.0.10"}));
  EXPECT_EQ(r.status, dnsbl_status::listed);
  EXPECT_EQ(r.weight, 1);
  EXPECT_EQ(r.hits[0].meaning, "");
}

TEST(DnsblInterpret, ErrorsAreNeverListings) {
  auto z = zen();
  // Spamhaus: 127.255.255.254 "query via public/open resolver", .255 "excessive number
  // of queries", .252 "typing error in DNSBL name".
  for (const char* code : {"127.255.255.254", "127.255.255.255", "127.255.255.252"}) {
    auto r = interpret(z, a_answer({code}));
    EXPECT_EQ(r.status, dnsbl_status::error) << code;
    EXPECT_EQ(r.weight, 0) << code;
    EXPECT_NE(r.error.find("blocked from querying"), std::string::npos) << r.error;
  }
  // An error code spoils the whole answer, even beside a listing code.
  auto mixed = interpret(z, a_answer({"127.0.0.2", "127.255.255.254"}));
  EXPECT_EQ(mixed.status, dnsbl_status::error);
  EXPECT_EQ(mixed.weight, 0);
  // RFC 5782 5: 127.0.0.1 must never be listed; an answer with it is broken.
  EXPECT_EQ(interpret(z, a_answer({"127.0.0.1"})).status, dnsbl_status::error);
  // RFC 5782 2.1: codes are in 127.0.0.0/8; anything else is a rewriting resolver.
  auto outside = interpret(z, a_answer({"198.51.100.7"}));
  EXPECT_EQ(outside.status, dnsbl_status::error);
  EXPECT_NE(outside.error.find("outside 127.0.0.0/8"), std::string::npos);
  EXPECT_EQ(interpret(z, status_answer(dns::status::timeout)).error, "timeout");
  EXPECT_EQ(interpret(z, status_answer(dns::status::servfail)).status, dnsbl_status::error);
  // DNSWL's own "blocked" code is configured on its zone (127.0.0.255).
  EXPECT_EQ(interpret(allow_list(), a_answer({"127.0.0.255"})).status, dnsbl_status::error);
  EXPECT_EQ(interpret(zen(), a_answer({"127.0.0.255"})).status, dnsbl_status::listed);
}

TEST(DnsblInterpret, Bitmask) {
  dnsbl_zone z;
  z.name = "multi.example";
  z.bitmask = true;
  z.weight = 1;
  z.codes = {{ip("127.0.0.2"), 1, "a"}, {ip("127.0.0.4"), 3, "b"}, {ip("127.0.0.8"), 5, "c"}};
  auto r = interpret(z, a_answer({"127.0.0.6"}));  // bits 2 and 4
  EXPECT_EQ(r.status, dnsbl_status::listed);
  EXPECT_EQ(r.weight, 4);
  EXPECT_EQ(r.hits.size(), 2u);
  r = interpret(z, a_answer({"127.0.0.16"}));  // a bit nobody configured: the zone's weight
  EXPECT_EQ(r.weight, 1);
  r = interpret(z, a_answer({"127.0.0.14"}));
  EXPECT_EQ(r.weight, 9);
}

namespace {

dnsbl_config two_lists() {
  dnsbl_config c;
  c.enabled = true;
  c.zones = {zen(), allow_list()};
  c.actions.reject = 5;
  c.actions.quarantine = 3;
  c.actions.tag = 1;
  return c;
}

dnsbl_evaluation eval_of(std::vector<dnsbl_zone_result> zones, const char* client = "192.0.2.1") {
  dnsbl_evaluation e;
  e.ip = client;
  e.zones = std::move(zones);
  return e;
}

}  // namespace

TEST(DnsblDecide, ScoreTable) {
  const auto c = two_lists();
  const auto nx = status_answer(dns::status::nxdomain);
  struct row {
    std::vector<const char*> bl;  // zen codes (empty: NXDOMAIN)
    bool allowed;                 // wl answers 127.0.10.3 (-4)
    int score;
    verdict v;
  };
  const row rows[] = {
      {{}, false, 0, verdict::accept},
      {{"127.0.0.10"}, false, 1, verdict::tag},
      {{"127.0.0.2"}, false, 3, verdict::quarantine},
      {{"127.0.0.2", "127.0.0.4"}, false, 5, verdict::reject},
      {{"127.0.0.2", "127.0.0.4"}, true, 1, verdict::tag},
      {{"127.0.0.2"}, true, -1, verdict::accept},
  };
  for (const auto& r : rows) {
    dns::answer bl = nx;
    if (!r.bl.empty()) {
      bl = a_answer({});
      for (const char* code : r.bl) bl.records.push_back(a_answer({code}).records.front());
    }
    auto e = eval_of({interpret(c.zones[0], bl),
                      interpret(c.zones[1], r.allowed ? a_answer({"127.0.10.3"}) : nx)});
    auto d = decide(c, e);
    EXPECT_EQ(e.score, r.score);
    EXPECT_EQ(d.action, r.v) << "score " << r.score;
    EXPECT_EQ(d.check, "dnsbl");
  }
}

TEST(DnsblDecide, RejectNamesTheList) {
  auto c = two_lists();
  auto e = eval_of({interpret(c.zones[0], a_answer({"127.0.0.2", "127.0.0.4"})),
                    interpret(c.zones[1], status_answer(dns::status::nxdomain))});
  auto d = decide(c, e);
  ASSERT_EQ(d.action, verdict::reject);
  EXPECT_EQ(d.reply.code, 554);
  const std::string text = d.reply.format();
  EXPECT_NE(text.find("5.7.1"), std::string::npos) << text;
  EXPECT_NE(text.find("zen.example"), std::string::npos) << text;
  EXPECT_NE(text.find("[192.0.2.1]"), std::string::npos) << text;
  EXPECT_NE(d.reason.find("listed=zen.example(127.0.0.2,127.0.0.4)"), std::string::npos)
      << d.reason;
  // A label replaces the zone name in replies; the operator's text is substituted.
  c.zones[0].label = "ZEN";
  c.reject_text = "go away {ip}: {lists} score {score}";
  e = eval_of({interpret(c.zones[0], a_answer({"127.0.0.2", "127.0.0.4"})),
               interpret(c.zones[1], status_answer(dns::status::nxdomain))});
  d = decide(c, e);
  EXPECT_NE(d.reply.format().find("go away 192.0.2.1: ZEN score 5"), std::string::npos)
      << d.reply.format();
}

TEST(DnsblDecide, ErrorsMonitorAndRules) {
  auto c = two_lists();
  auto blocked = [&] {
    return eval_of({interpret(c.zones[0], a_answer({"127.255.255.254"})),
                    interpret(c.zones[1], status_answer(dns::status::nxdomain))});
  };
  auto e = blocked();
  auto d = decide(c, e);
  EXPECT_EQ(e.errors, 1u);
  EXPECT_EQ(d.action, verdict::accept);  // default error_action
  EXPECT_NE(d.reason.find("error=zen.example(blocked from querying 127.255.255.254)"),
            std::string::npos)
      << d.reason;
  c.error_action = verdict::tempfail;
  e = blocked();
  d = decide(c, e);
  EXPECT_EQ(d.action, verdict::tempfail);
  EXPECT_EQ(d.reply.code, 451);
  EXPECT_NE(d.reply.format().find("4.4.3"), std::string::npos) << d.reply.format();

  // A monitor rule for 192.0.2.0/24 records what it would do; others are refused.
  c.error_action = verdict::accept;
  dnsbl_rule watch;
  watch.name = "watch";
  watch.networks = {*net::cidr::parse("192.0.2.0/24")};
  watch.monitor = true;
  dnsbl_rule strict;
  strict.name = "strict";
  strict.networks = {*net::cidr::parse("198.51.100.0/24")};
  strict.thresholds.reject = 3;
  c.rules = {watch, strict};
  auto listed = [&](const char* client) {
    return eval_of({interpret(c.zones[0], a_answer({"127.0.0.2", "127.0.0.4"})),
                    interpret(c.zones[1], status_answer(dns::status::nxdomain))},
                   client);
  };
  e = listed("192.0.2.1");
  d = decide(c, e);
  EXPECT_EQ(d.action, verdict::accept);
  EXPECT_TRUE(d.monitor);
  ASSERT_TRUE(d.would);
  EXPECT_EQ(*d.would, verdict::reject);
  EXPECT_EQ(d.rule, "watch");
  EXPECT_TRUE(d.reply.empty());

  // The strict rule's reject threshold 3 is reached by SBL alone.
  e = eval_of({interpret(c.zones[0], a_answer({"127.0.0.2"})),
               interpret(c.zones[1], status_answer(dns::status::nxdomain))},
              "198.51.100.9");
  d = decide(c, e);
  EXPECT_EQ(d.action, verdict::reject);
  EXPECT_EQ(d.rule, "strict");
  // Elsewhere the global quarantine threshold decides the same answer.
  e = eval_of({interpret(c.zones[0], a_answer({"127.0.0.2"})),
               interpret(c.zones[1], status_answer(dns::status::nxdomain))},
              "203.0.113.5");
  EXPECT_EQ(decide(c, e).action, verdict::quarantine);

  // The global monitor switch.
  c.rules.clear();
  c.monitor = true;
  e = listed("203.0.113.5");
  d = decide(c, e);
  EXPECT_EQ(d.action, verdict::accept);
  EXPECT_EQ(*d.would, verdict::reject);
}

TEST(DnsblHeader, ListedAllowedAndErrors) {
  auto c = two_lists();
  auto e = eval_of({interpret(c.zones[0], a_answer({"127.0.0.2"})),
                    interpret(c.zones[1], a_answer({"127.0.10.3"}))});
  e.dec = decide(c, e);
  EXPECT_EQ(dnsbl_header_field(e),
            "X-Mxguard-DNSBL: score=-1 action=accept; listed=zen.example (127.0.0.2 +3); "
            "allowed=wl.example (127.0.10.3 -4)");
  e = eval_of({interpret(c.zones[0], status_answer(dns::status::timeout)),
               interpret(c.zones[1], status_answer(dns::status::nxdomain))});
  e.dec = decide(c, e);
  EXPECT_EQ(dnsbl_header_field(e),
            "X-Mxguard-DNSBL: score=0 action=accept; error=zen.example (timeout)");
  e.skipped = true;
  EXPECT_EQ(dnsbl_header_field(e), "");
}

namespace {

void add_a(dns::memory_zone& z, const std::string& name, const char* addr) {
  dns::record r;
  r.type = dns::rrtype::a;
  r.name = name;
  r.ttl = 300;
  r.addr = ip(addr);
  z.add(r);
}

dnsbl_evaluation run(const dnsbl_config& c, dns::resolver& res, const char* client,
                     std::vector<net::cidr> trusted = {}) {
  asio::io_context io;
  auto f = asio::co_spawn(io, evaluate_dnsbl(c, trusted, res, ip(client)), asio::use_future);
  io.run();
  return f.get();
}

}  // namespace

TEST(DnsblEvaluate, MemoryZone) {
  dns::memory_zone z;
  // RFC 5782 5 test points of both lists, and one listed client with its TXT reason.
  add_a(z, "2.0.0.127.zen.example", "127.0.0.2");
  add_a(z, "9.2.0.192.zen.example", "127.0.0.4");
  dns::record t;
  t.type = dns::rrtype::txt;
  t.name = "9.2.0.192.zen.example";
  t.ttl = 300;
  t.strings = {"https://example/query?ip=192.0.2.9\r\nInjected: yes"};
  z.add(t);
  add_a(z, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example",
        "127.0.0.2");
  add_a(z, "9.2.0.192.wl.example", "127.0.0.255");  // DNSWL "blocked": an error
  auto c = two_lists();
  c.zones[0].txt = true;

  auto e = run(c, z, "127.0.0.2");
  ASSERT_EQ(e.zones.size(), 2u);
  EXPECT_EQ(e.zones[0].status, dnsbl_status::listed);
  EXPECT_EQ(e.zones[0].query, "2.0.0.127.zen.example");
  EXPECT_EQ(e.zones[1].status, dnsbl_status::not_listed);
  e = run(c, z, "127.0.0.1");  // RFC 5782 5: never listed
  EXPECT_EQ(e.zones[0].status, dnsbl_status::not_listed);

  e = run(c, z, "192.0.2.9");
  EXPECT_EQ(e.zones[0].status, dnsbl_status::listed);
  EXPECT_EQ(e.zones[0].weight, 2);
  // The TXT reason is outside input: CR/LF never survive.
  EXPECT_EQ(e.zones[0].txt.find('\r'), std::string::npos);
  EXPECT_EQ(e.zones[0].txt.find('\n'), std::string::npos);
  EXPECT_EQ(e.zones[0].txt.rfind("https://example/query?ip=192.0.2.9", 0), 0u) << e.zones[0].txt;
  EXPECT_EQ(e.zones[1].status, dnsbl_status::error);
  EXPECT_EQ(e.errors, 1u);

  // IPv6 (RFC 5782 2.4), and a v4-mapped client asked as IPv4.
  e = run(c, z, "2001:db8::1");
  EXPECT_EQ(e.zones[0].status, dnsbl_status::listed);
  e = run(c, z, "::ffff:127.0.0.2");
  EXPECT_EQ(e.ip, "127.0.0.2");
  EXPECT_EQ(e.zones[0].status, dnsbl_status::listed);
  // An IPv4-only list is not asked about an IPv6 client.
  c.zones[0].ipv6 = false;
  e = run(c, z, "2001:db8::1");
  ASSERT_EQ(e.zones.size(), 1u);
  EXPECT_EQ(e.zones[0].zone, "wl.example");

  // Trusted clients are not looked up.
  e = run(c, z, "192.0.2.9", {*net::cidr::parse("192.0.2.0/24")});
  EXPECT_TRUE(e.skipped);
  EXPECT_TRUE(e.zones.empty());
  EXPECT_EQ(e.dec.action, verdict::accept);
}

// A real DNS server that never answers (a bound UDP socket nobody reads), asked through
// c-ares with a retry timeout far beyond the check's deadline: the check ends at its
// deadline with "deadline" errors (not c-ares' own "timeout"), and its error_action.
TEST(DnsblEvaluate, DeadlineWithSilentServer) {
  asio::io_context io;
  asio::ip::udp::socket silent(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  dns::cares_options o;
  o.servers = {"127.0.0.1:" + std::to_string(silent.local_endpoint().port())};
  o.timeout = std::chrono::milliseconds(60000);
  o.tries = 1;
  auto res = dns::cares_resolver::create(io.get_executor(), o);
  ASSERT_TRUE(res.has_value()) << res.error().message;
  std::unique_ptr<dns::cares_resolver> r = std::move(*res);
  auto c = two_lists();
  c.timeout = std::chrono::milliseconds(50);
  c.error_action = verdict::tempfail;
  auto task = [&]() -> asio::awaitable<dnsbl_evaluation> {
    auto e = co_await evaluate_dnsbl(c, {}, *r, ip("192.0.2.9"));
    r.reset();  // queries still in flight end now ("resolver shut down")
    co_return e;
  };
  auto f = asio::co_spawn(io, task(), asio::use_future);
  io.run();
  auto e = f.get();
  ASSERT_EQ(e.zones.size(), 2u);
  for (const auto& z : e.zones) {
    EXPECT_EQ(z.status, dnsbl_status::error);
    EXPECT_EQ(z.error, "deadline");
  }
  EXPECT_EQ(e.dec.action, verdict::tempfail);
  EXPECT_NE(e.dec.reply.format().find("451 4.4.3"), std::string::npos) << e.dec.reply.format();
}

TEST(DnsblConfig, ReadsTheFullSection) {
  auto c = parse_dnsbl_config(R"([dnsbl]
enabled = true
stage = "rcpt"
timeout_ms = 800
error_action = "tempfail"
trusted_networks = ["10.0.0.0/8"]
reject_text = "blocked: {lists}"

[dnsbl.actions]
reject = 5
quarantine = 3
tag = 1

[[dnsbl.zone]]
name = "Zen.Example."
label = "zen"
codes = { "127.0.0.2" = 3, "127.0.0.4" = { weight = 2, meaning = "XBL" } }
txt = true

[[dnsbl.zone]]
name = "wl.example"
type = "allow"
codes = { "127.0.10.3" = -4 }
errors = ["127.0.0.255"]
ipv6 = false

[[dnsbl.zone]]
name = "multi.example"
bitmask = true
weight = 0
codes = { "127.0.0.2" = 1, "127.0.0.4" = 2 }

[[dnsbl.rule]]
name = "watch"
networks = ["192.0.2.0/24", "2001:db8::/32"]
reject = 10
monitor = true
)",
                              "t.toml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->enabled);
  EXPECT_EQ(c->stage, dnsbl_stage::rcpt);
  EXPECT_EQ(c->timeout, std::chrono::milliseconds(800));
  EXPECT_EQ(c->error_action, verdict::tempfail);
  EXPECT_TRUE(c->trusted_networks_set);
  EXPECT_EQ(*c->actions.reject, 5);
  EXPECT_FALSE(c->actions.tempfail);
  ASSERT_EQ(c->zones.size(), 3u);
  EXPECT_EQ(c->zones[0].name, "zen.example");
  EXPECT_EQ(c->zones[0].label, "zen");
  ASSERT_EQ(c->zones[0].codes.size(), 2u);
  EXPECT_EQ(c->zones[0].codes[1].meaning, "XBL");
  EXPECT_TRUE(c->zones[0].txt);
  EXPECT_EQ(c->zones[0].errors.size(), 1u);  // the default 127.255.255.0/24
  EXPECT_EQ(c->zones[1].type, dnsbl_zone_type::allow);
  EXPECT_EQ(c->zones[1].weight, -1);
  EXPECT_FALSE(c->zones[1].ipv6);
  EXPECT_EQ(c->zones[1].errors.front().to_string(), "127.0.0.255/32");
  EXPECT_TRUE(c->zones[2].bitmask);
  ASSERT_EQ(c->rules.size(), 1u);
  EXPECT_TRUE(c->rules[0].monitor);
  EXPECT_EQ(*c->rules[0].thresholds.reject, 10);
}

TEST(DnsblConfig, ErrorsCarryFileAndLine) {
  struct bad {
    const char* toml;
    const char* want;  // in the message, after "t.toml:LINE: "
    int line;
  };
  const bad cases[] = {
      {"[dnsbl]\nenabled = true\nstagee = \"rcpt\"\n[[dnsbl.zone]]\nname = \"a.example\"\n",
       "unknown key 'stagee'", 3},
      {"[dnsbl]\nstage = \"helo\"\n", "must be \"connect\" or \"rcpt\"", 2},
      {"[dnsbl]\ntimeout_ms = 0\n", "'timeout_ms' must be an integer from 1 to 30000", 2},
      {"[dnsbl]\nenabled = true\n", "enabled but has no [[dnsbl.zone]]", 1},
      {"[dnsbl]\n[[dnsbl.zone]]\nname = \"a.example\"\ncodes = { \"127.0.0.1\" = 3 }\n",
       "other than 127.0.0.1", 4},
      {"[dnsbl]\n[[dnsbl.zone]]\nname = \"a.example\"\ncodes = { \"10.0.0.2\" = 3 }\n",
       "in 127.0.0.0/8", 4},
      {"[dnsbl]\n[[dnsbl.zone]]\nname = \"a.example\"\ntype = \"allow\"\nweight = 3\n",
       "weight (of an allow list)' must be an integer from -1000 to 0", 5},
      {"[dnsbl]\n[[dnsbl.zone]]\nname = \"a.example\"\ncodes = { \"127.0.0.2\" = -3 }\n",
       "must be an integer from 0 to 1000", 4},
      {"[dnsbl]\n[[dnsbl.zone]]\nname = \"a.example\"\n[[dnsbl.zone]]\nname = \"A.example\"\n",
       "zone 'a.example' is listed twice", 5},
      {"[dnsbl]\n[[dnsbl.zone]]\nname = \"not a zone\"\n", "is not a DNS zone", 3},
      {"[dnsbl]\n[[dnsbl.zone]]\nlabel = \"x\"\n", "'name' is required", 2},
      {"[dnsbl]\n[dnsbl.actions]\nreject = 0\n", "'reject' must be an integer from 1", 3},
      {"[dnsbl]\nerror_action = \"drop\"\n", "the action must be one of", 2},
      {"[dnsbl]\n[[dnsbl.zone]]\nname = \"a.example\"\nipv4 = false\nipv6 = false\n", "never asked",
       2},
      {"[dnsbl]\n[[dnsbl.rule]]\nname = \"r\"\nnetworks = [\"300.0.0.0/8\"]\n", "is not a network",
       4},
      {"[dnsbl]\n[[dnsbl.zone]]\nname = \"a.example\"\nbitmask = true\ncodes = { \"127.0.1.2\" = 1 "
       "}\n",
       "with bitmask = true", 5},
  };
  for (const auto& b : cases) {
    auto c = parse_dnsbl_config(b.toml, "t.toml");
    ASSERT_FALSE(c.has_value()) << b.toml;
    const std::string prefix = "t.toml:" + std::to_string(b.line) + ": ";
    const std::string& m = c.error().message;
    EXPECT_NE(m.find(prefix), std::string::npos) << m;
    EXPECT_NE(m.find(b.want), std::string::npos) << m;
  }
  EXPECT_FALSE(parse_dnsbl_config("[spf]\n", "t.toml").has_value());
}
