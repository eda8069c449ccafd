// Evaluator tests: check_host() (RFC 7208) over an in-memory zone, as a table of
// (client, sender, helo) -> expected result and deciding term. The zone holds the
// issue's real-world records (the ipv4: typo record, a /26 with ~all) and small
// records for each rule: include mapping (5.2), redirect (6.1), exp (6.2), limits
// (4.6.4), IPv4-mapped clients (5), HELO identity and postmaster (2.4, 4.3), %{p} (7.3).
#include "spf/evaluator.hpp"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "dns/cache.hpp"
#include "dns/memory_zone.hpp"
#include "spf/received_spf.hpp"

using namespace mxg;
using spf::result;

namespace {

dns::record txt(std::string name, std::string text) {
  dns::record r;
  r.type = dns::rrtype::txt;
  r.name = std::move(name);
  r.ttl = 300;
  r.strings = {std::move(text)};
  return r;
}
dns::record addr(std::string name, const char* ip) {
  dns::record r;
  r.name = std::move(name);
  r.ttl = 300;
  r.addr = *net::ip_address::parse(ip);
  r.type = r.addr.is_v4() ? dns::rrtype::a : dns::rrtype::aaaa;
  return r;
}
dns::record mx(std::string name, std::uint16_t pref, std::string host) {
  dns::record r;
  r.type = dns::rrtype::mx;
  r.name = std::move(name);
  r.ttl = 300;
  r.preference = pref;
  r.target = std::move(host);
  return r;
}
dns::record ptr(std::string name, std::string host) {
  dns::record r;
  r.type = dns::rrtype::ptr;
  r.name = std::move(name);
  r.ttl = 300;
  r.target = std::move(host);
  return r;
}

dns::memory_zone make_zone() {
  dns::memory_zone z;
  // The records.
  z.add(txt("typo.example",
            "v=spf1 mx ip4:24.214.64.230 ip4:24.214.64.231 ip4:64.8.71.110 ipv4:64.8.71.111 "
            "ipv4:64.8.71.112 -all"));
  z.add(mx("typo.example", 10, "mail.typo.example"));
  z.add(addr("mail.typo.example", "24.214.64.229"));
  z.add(txt("slash26.example", "v=spf1 ip4:72.241.62.1/26 ~all"));
  // Mechanisms.
  z.add(txt("a.example", "v=spf1 a/24 a:v6.a.example//64 -all"));
  z.add(addr("a.example", "192.0.2.10"));
  z.add(addr("v6.a.example", "2001:db8:1::1"));
  z.add(txt("mx.example", "v=spf1 mx -all"));
  z.add(mx("mx.example", 10, "mx1.mx.example"));
  z.add(mx("mx.example", 20, "mx2.mx.example"));
  z.add(addr("mx1.mx.example", "198.51.100.1"));
  z.add(addr("mx2.mx.example", "198.51.100.2"));
  z.add(txt("ptr.example", "v=spf1 ptr -all"));
  z.add(ptr("7.2.0.192.in-addr.arpa", "host.ptr.example"));
  z.add(addr("host.ptr.example", "192.0.2.7"));
  z.add(ptr("8.2.0.192.in-addr.arpa", "forged.ptr.example"));  // no forward match
  z.add(addr("forged.ptr.example", "192.0.2.99"));
  z.add(txt("exists.example", "v=spf1 exists:%{ir}.list.exists.example -all"));
  z.add(addr("9.2.0.192.list.exists.example", "127.0.0.2"));
  z.add(txt("ip6.example", "v=spf1 ip6:2001:db8::/32 ip4:192.0.2.0/24 -all"));
  // include mapping (5.2) and redirect (6.1).
  z.add(txt("pass.inc", "v=spf1 +all"));
  z.add(txt("fail.inc", "v=spf1 -all"));
  z.add(txt("incpass.example", "v=spf1 -include:pass.inc +all"));
  z.add(txt("incfail.example", "v=spf1 include:fail.inc ?all"));
  z.add(txt("incnone.example", "v=spf1 include:nothing.inc -all"));
  z.add(txt("redir.example", "v=spf1 ip4:203.0.113.1 redirect=fail.inc"));
  z.add(txt("redirnone.example", "v=spf1 redirect=nothing.inc"));
  z.add(txt("allredir.example", "v=spf1 ?all redirect=fail.inc"));
  // exp (6.2).
  z.add(txt("exp.example", "v=spf1 -all exp=why.exp.example"));
  z.add(txt("why.exp.example", "%{i} may not send for %{d} (%{l})"));
  z.add(txt("incexp.example", "v=spf1 include:exp.example -all"));
  // limits (4.6.4).
  z.add(txt("terms.example", "v=spf1 a a a a a a a a a a a -all"));
  z.add(addr("terms.example", "192.0.2.200"));
  z.add(
      txt("voids.example", "v=spf1 a:n1.voids.example a:n2.voids.example a:n3.voids.example ?all"));
  z.add(txt("twovoids.example", "v=spf1 a:n1.voids.example a:n2.voids.example ?all"));
  z.add(txt("mxmany.example", "v=spf1 mx ?all"));
  for (int i = 0; i < 11; ++i)
    z.add(mx("mxmany.example", static_cast<std::uint16_t>(i), "h.example"));
  z.add(txt("loop.example", "v=spf1 include:loop.example"));
  // record selection (4.5).
  z.add(txt("two.example", "v=spf1 -all"));
  z.add(txt("two.example", "v=spf1 +all"));
  z.add(txt("other.example", "google-site-verification=abc"));
  z.add_timeout("timeout.example");
  z.add(txt("inctimeout.example", "v=spf1 include:timeout.example -all"));
  // HELO identity.
  z.add(txt("helo.example", "v=spf1 a -all"));
  z.add(addr("helo.example", "192.0.2.50"));
  // %{p} (7.3): validated name preferred under the domain.
  z.add(txt("p.example", "v=spf1 exists:%{p}.ok.p.example -all"));
  z.add(ptr("60.2.0.192.in-addr.arpa", "mail.p.example"));
  z.add(addr("mail.p.example", "192.0.2.60"));
  z.add(addr("mail.p.example.ok.p.example", "127.0.0.2"));
  return z;
}

spf::outcome run(dns::resolver& z, const char* ip, const char* sender, const char* helo,
                 bool trace = false) {
  asio::io_context io;
  spf::options o;
  o.default_explanation = "DEFAULT %{d}";
  o.trace = trace;
  spf::evaluator ev(z, o);
  spf::outcome out;
  asio::co_spawn(io, ev.check({*net::ip_address::parse(ip), sender, helo}),
                 [&](std::exception_ptr e, spf::outcome r) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(r);
                 });
  io.run();
  return out;
}

struct eval_case {
  const char* ip;
  const char* sender;
  const char* helo;
  result want;
  const char* mechanism;  // nullptr: not checked
};

const eval_case kCases[] = {
    // The typo record: permerror for every client, even one the mx would pass.
    {"24.214.64.229", "user@typo.example", "h", result::permerror, nullptr},
    {"64.8.71.111", "user@typo.example", "h", result::permerror, nullptr},
    {"2001:db8::1", "user@typo.example", "h", result::permerror, nullptr},
    // /26 with host bits set: 72.241.62.0-63 pass, the rest softfail.
    {"72.241.62.0", "u@slash26.example", "h", result::pass, "ip4:72.241.62.1/26"},
    {"72.241.62.63", "u@slash26.example", "h", result::pass, "ip4:72.241.62.1/26"},
    {"72.241.62.64", "u@slash26.example", "h", result::softfail, "~all"},
    {"::ffff:72.241.62.5", "u@slash26.example", "h", result::pass, "ip4:72.241.62.1/26"},
    // a with dual CIDR.
    {"192.0.2.77", "u@a.example", "h", result::pass, "a/24"},
    {"2001:db8:1::ffff", "u@a.example", "h", result::pass, "a:v6.a.example//64"},
    {"2001:db8:2::1", "u@a.example", "h", result::fail, "-all"},
    // mx, ptr, exists, ip6.
    {"198.51.100.2", "u@mx.example", "h", result::pass, "mx"},
    {"198.51.100.3", "u@mx.example", "h", result::fail, "-all"},
    {"192.0.2.7", "u@ptr.example", "h", result::pass, "ptr"},
    {"192.0.2.8", "u@ptr.example", "h", result::fail, "-all"},
    {"192.0.2.9", "u@exists.example", "h", result::pass, nullptr},
    {"192.0.2.10", "u@exists.example", "h", result::fail, "-all"},
    {"2001:db8:ffff::1", "u@ip6.example", "h", result::pass, "ip6:2001:db8::/32"},
    {"::ffff:192.0.2.1", "u@ip6.example", "h", result::pass, "ip4:192.0.2.0/24"},
    // include mapping.
    {"192.0.2.1", "u@incpass.example", "h", result::fail, "-include:pass.inc"},
    {"192.0.2.1", "u@incfail.example", "h", result::neutral, "?all"},
    {"192.0.2.1", "u@incnone.example", "h", result::permerror, nullptr},
    {"192.0.2.1", "u@inctimeout.example", "h", result::temperror, nullptr},
    // redirect.
    {"203.0.113.1", "u@redir.example", "h", result::pass, nullptr},
    {"203.0.113.2", "u@redir.example", "h", result::fail, "-all"},
    {"203.0.113.2", "u@redirnone.example", "h", result::permerror, nullptr},
    {"203.0.113.2", "u@allredir.example", "h", result::neutral, "?all"},
    // limits.
    {"192.0.2.1", "u@terms.example", "h", result::permerror, nullptr},
    {"192.0.2.1", "u@voids.example", "h", result::permerror, nullptr},
    {"192.0.2.1", "u@twovoids.example", "h", result::neutral, "?all"},
    {"192.0.2.1", "u@mxmany.example", "h", result::permerror, nullptr},
    {"192.0.2.1", "u@loop.example", "h", result::permerror, nullptr},
    // record selection and initial processing.
    {"192.0.2.1", "u@two.example", "h", result::permerror, nullptr},
    {"192.0.2.1", "u@other.example", "h", result::none, nullptr},
    {"192.0.2.1", "u@nowhere.example", "h", result::none, nullptr},
    {"192.0.2.1", "u@timeout.example", "h", result::temperror, nullptr},
    {"192.0.2.1", "u@single-label", "h", result::none, nullptr},
    {"192.0.2.1", "u@[192.0.2.1]", "h", result::none, nullptr},
    // HELO identity for the null sender.
    {"192.0.2.50", "", "helo.example", result::pass, "a"},
    {"192.0.2.51", "", "helo.example", result::fail, "-all"},
    // %{p}.
    {"192.0.2.60", "u@p.example", "h", result::pass, nullptr},
    {"192.0.2.61", "u@p.example", "h", result::fail, "-all"},
};

TEST(SpfEvaluator, Table) {
  auto zone = make_zone();
  for (const auto& c : kCases) {
    SCOPED_TRACE(std::string(c.ip) + " " + c.sender + " " + c.helo);
    auto o = run(zone, c.ip, c.sender, c.helo);
    EXPECT_EQ(spf::to_string(o.result), std::string(spf::to_string(c.want))) << o.problem;
    if (c.mechanism) {
      EXPECT_EQ(o.mechanism, c.mechanism);
    }
  }
}

TEST(SpfEvaluator, TypoRecordDiagnostic) {
  auto zone = make_zone();
  auto o = run(zone, "24.214.64.229", "user@typo.example", "h");
  ASSERT_EQ(o.result, result::permerror);
  ASSERT_TRUE(o.diag.has_value());
  EXPECT_EQ(o.diag->term, "ipv4:64.8.71.111");
  EXPECT_EQ(o.diag->offset, 62u);
  EXPECT_EQ(o.problem, "unknown mechanism \"ipv4:64.8.71.111\" at offset 62 (did you mean ip4:?)");
  EXPECT_EQ(o.dns_terms, 0);  // parsed whole before the mx ran (4.6)
}

TEST(SpfEvaluator, Explanations) {
  auto zone = make_zone();
  auto o = run(zone, "192.0.2.1", "joe@exp.example", "h");
  EXPECT_EQ(o.result, result::fail);
  EXPECT_EQ(o.explanation, "192.0.2.1 may not send for exp.example (joe)");
  // 5.2 / 6.2: the exp of an included record is never used.
  o = run(zone, "192.0.2.1", "joe@incexp.example", "h");
  EXPECT_EQ(o.result, result::fail);
  EXPECT_EQ(o.explanation, "DEFAULT incexp.example");
  // Empty local part -> postmaster (4.3).
  o = run(zone, "192.0.2.1", "@exp.example", "h");
  EXPECT_EQ(o.explanation, "192.0.2.1 may not send for exp.example (postmaster)");
  EXPECT_EQ(o.sender, "postmaster@exp.example");
  // Only fail gets an explanation.
  o = run(zone, "72.241.62.64", "u@slash26.example", "h");
  EXPECT_TRUE(o.explanation.empty());
}

TEST(SpfEvaluator, TraceListsQueriesAndTerms) {
  auto zone = make_zone();
  auto o = run(zone, "198.51.100.2", "u@mx.example", "h", true);
  ASSERT_EQ(o.result, result::pass);
  int queries = 0, terms = 0;
  for (const auto& e : o.trace) {
    if (e.what == spf::trace_event::kind::query) ++queries;
    if (e.what == spf::trace_event::kind::term) ++terms;
  }
  EXPECT_EQ(queries, 4);  // TXT, MX, A of mx1, A of mx2
  EXPECT_EQ(queries, o.dns_queries);
  EXPECT_EQ(terms, 1);
  EXPECT_EQ(o.trace.front().text, "mx.example");
  ASSERT_FALSE(o.trace.front().answers.empty());
  EXPECT_NE(o.trace.front().answers[0].find("v=spf1 mx -all"), std::string::npos);
  // Without trace nothing is recorded.
  EXPECT_TRUE(run(zone, "198.51.100.2", "u@mx.example", "h").trace.empty());
}

TEST(SpfReceivedSpf, Fields) {
  auto zone = make_zone();
  spf::request req{*net::ip_address::parse("72.241.62.5"), "u@slash26.example",
                   "mx.client.example"};
  auto o = run(zone, "72.241.62.5", "u@slash26.example", "mx.client.example");
  EXPECT_EQ(spf::received_spf_header(o, req, "mx.receiver.example"),
            "Received-SPF: pass (mx.receiver.example: domain of u@slash26.example designates "
            "72.241.62.5 as permitted sender) receiver=mx.receiver.example; "
            "client-ip=72.241.62.5; envelope-from=\"u@slash26.example\"; "
            "helo=mx.client.example; mechanism=\"ip4:72.241.62.1/26\"; identity=mailfrom;");
  // Hostile HELO: no CR/LF reaches the header, quotes are escaped.
  spf::request bad{*net::ip_address::parse("192.0.2.1"), "", "evil\r\nX-Injected: \"1\""};
  spf::outcome none;
  none.result = result::none;
  none.identity = spf::identity::helo;
  none.sender = "postmaster@evil";
  auto v = spf::received_spf_value(none, bad, "r.example");
  EXPECT_EQ(v.find('\r'), std::string::npos);
  EXPECT_EQ(v.find('\n'), std::string::npos);
  EXPECT_NE(v.find("helo=\"evil??X-Injected: \\\"1\\\"\""), std::string::npos) << v;
}

}  // namespace

namespace {

TEST(SpfEvaluator, OverallTimeLimitGivesTemperror) {
  // RFC 7208 4.6.4: past the evaluation time limit no query is sent; the check is a
  // temperror. A negative limit makes the deadline already passed.
  auto zone = make_zone();
  asio::io_context io;
  spf::options o;
  o.time_limit = std::chrono::milliseconds(-1);
  spf::evaluator ev(zone, o);
  spf::outcome out;
  asio::co_spawn(io, ev.check({*net::ip_address::parse("192.0.2.1"), "u@slash26.example", "h"}),
                 [&](std::exception_ptr e, spf::outcome r) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(r);
                 });
  io.run();
  EXPECT_EQ(out.result, result::temperror);
  EXPECT_EQ(out.dns_queries, 0);
  EXPECT_NE(out.problem.find("TIMEOUT"), std::string::npos) << out.problem;
}

TEST(SpfEvaluator, SyntaxErrorNamesTheTerm) {
  auto zone = make_zone();
  auto o = run(zone, "192.0.2.1", "u@typo.example", "h");
  EXPECT_EQ(o.mechanism, "ipv4:64.8.71.111");
}

}  // namespace

namespace {

// A resolver that never has an answer ready at once (like c-ares without a cache): every
// query of a check goes through the evaluator's passes (evaluator.hpp "Evaluation in
// passes"), each pass replaying the answers of the one before. It answers from the zone
// and counts the queries sent.
class never_ready : public dns::resolver {
 public:
  explicit never_ready(const dns::memory_zone& z) : z_(z) {}
  asio::awaitable<dns::answer> query(std::string name, dns::rrtype type) override {
    ++sent;
    co_return z_.lookup(name, type);
  }
  int sent = 0;

 private:
  const dns::memory_zone& z_;
};

std::string trace_text(const spf::outcome& o) {
  std::string s;
  for (const auto& e : o.trace) {
    s += std::to_string(static_cast<int>(e.what)) + "|" + std::to_string(e.depth) + "|" + e.domain +
         "|" + e.text + "|" + e.detail + "|";
    for (const auto& a : e.answers) s += a + ";";
    s += "\n";
  }
  return s;
}

TEST(SpfEvaluator, AnswersFetchedBetweenPassesGiveTheSameOutcome) {
  // The same check, once with every answer at hand (the zone) and once with none (each
  // one fetched, then the check replayed): the same result, term, explanation, counters
  // and trace, and exactly one query sent per query of the check (replayed answers are
  // never asked again).
  auto zone = make_zone();
  for (const auto& c : kCases) {
    SCOPED_TRACE(std::string(c.ip) + " " + c.sender + " " + c.helo);
    never_ready slow(zone);
    auto direct = run(zone, c.ip, c.sender, c.helo, true);
    auto fetched = run(slow, c.ip, c.sender, c.helo, true);
    EXPECT_EQ(fetched.result, direct.result);
    EXPECT_EQ(fetched.mechanism, direct.mechanism);
    EXPECT_EQ(fetched.explanation, direct.explanation);
    EXPECT_EQ(fetched.problem, direct.problem);
    EXPECT_EQ(fetched.dns_terms, direct.dns_terms);
    EXPECT_EQ(fetched.void_lookups, direct.void_lookups);
    EXPECT_EQ(fetched.dns_queries, direct.dns_queries);
    EXPECT_EQ(slow.sent, direct.dns_queries);
    EXPECT_EQ(trace_text(fetched), trace_text(direct));
  }
}

TEST(SpfEvaluator, CheckNowNeedsEveryAnswerCached) {
  // check_now() answers only from what is ready at once: before the cache holds the
  // answers it gives nothing (and sends nothing); after check() fetched them it gives
  // the outcome check() gave.
  auto zone = make_zone();
  never_ready slow(zone);
  dns::caching_resolver cache(slow);
  spf::evaluator ev(cache);
  spf::request req{*net::ip_address::parse("198.51.100.2"), "u@mx.example", "h"};
  EXPECT_FALSE(ev.check_now(req).has_value());
  EXPECT_EQ(slow.sent, 0);
  asio::io_context io;
  spf::outcome out;
  asio::co_spawn(io, ev.check(req), [&](std::exception_ptr e, spf::outcome r) {
    if (e) std::rethrow_exception(e);
    out = std::move(r);
  });
  io.run();
  ASSERT_EQ(out.result, result::pass);
  EXPECT_EQ(slow.sent, 4);  // TXT, MX, A of mx1, A of mx2
  auto again = ev.check_now(req);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->result, result::pass);
  EXPECT_EQ(again->mechanism, "mx");
  EXPECT_EQ(again->dns_queries, 4);
  EXPECT_EQ(slow.sent, 4);
}

}  // namespace
