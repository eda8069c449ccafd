// spf_eval_test.cpp: the SPF check of one client under the policy
// (policy/spf_policy.hpp, spf_eval.cpp) over an in-memory zone, the header fields it
// writes, the test of an arriving Authentication-Results field, and how a transaction's
// decisions combine (policy/decision.hpp).
//   - evaluate_spf: RFC 7208 2.3 (a HELO fail decides over the MAIL FROM result when
//     check_helo), 2.4 (null sender: the HELO identity, postmaster@HELO), 2.6.6/5 (a DNS
//     timeout is temperror -> 451 4.4.3, RFC 3463 3.5), trusted networks and forwarders
//     skip the check, a monitor rule gives `would` and the global action;
//   - received_spf_field: RFC 7208 9.1 (result, comment, key=value pairs, identity=);
//   - authentication_results_field: RFC 8601 2.2 / 2.7.2 (spf=RESULT smtp.mailfrom= or
//     smtp.helo=; "none" when no method ran);
//   - claims_authserv_id: RFC 8601 2.2 authserv-id = value, [CFWS authres-version],
//     comments (RFC 5322 3.2.2), case-insensitive (a host name);
//   - txn_decisions: strongest wins (reject > tempfail > quarantine > tag > accept), a
//     tie keeps the first unless it has no reason and the new one has.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <regex>

#include "dns/memory_zone.hpp"
#include "policy/decision.hpp"
#include "policy/spf_policy.hpp"

using namespace mxg;
using namespace mxg::policy;
using R = mxg::spf::result;

namespace {

constexpr const char* kReceiver = "mx.our.test";

void txt(dns::memory_zone& z, const std::string& name, const std::string& text) {
  dns::record r;
  r.type = dns::rrtype::txt;
  r.name = name;
  r.ttl = 300;
  r.strings = {text};
  z.add(r);
}

dns::memory_zone make_zone() {
  dns::memory_zone z;
  txt(z, "pass.test", "v=spf1 ip4:192.0.2.0/24 -all");
  txt(z, "fail.test", "v=spf1 ip4:203.0.113.0/24 -all");
  txt(z, "soft.test", "v=spf1 ip4:203.0.113.0/24 ~all");
  txt(z, "neutral.test", "v=spf1 ?all");
  txt(z, "watch.test", "v=spf1 ip4:203.0.113.0/24 ~all");
  txt(z, "helo-fail.test", "v=spf1 ip4:203.0.113.0/24 -all");
  txt(z, "helo-soft.test", "v=spf1 ip4:203.0.113.0/24 ~all");
  txt(z, "helo-pass.test", "v=spf1 ip4:192.0.2.0/24 -all");
  z.add_timeout("slow.test");
  return z;
}

spf_policy_config base_policy() {
  spf_policy_config c;
  c.enabled = true;
  c.check_helo = true;
  c.authserv_id = "mx.our.test";
  spf_rule watch;
  watch.name = "watch";
  watch.domains = {"watch.test"};
  watch.actions[static_cast<std::size_t>(R::softfail)] = verdict::reject;
  watch.monitor = true;
  spf_rule tagging;
  tagging.name = "tag neutral";
  tagging.domains = {"neutral.test"};
  tagging.actions[static_cast<std::size_t>(R::neutral)] = verdict::tag;
  c.rules = {watch, tagging};
  return c;
}

spf_evaluation eval(dns::resolver& z, const spf_policy_config& c, const char* ip,
                    const char* sender, const char* helo, std::vector<net::cidr> trusted = {}) {
  asio::io_context io;
  spf_evaluation out;
  bool done = false;
  spf_request req{*net::ip_address::parse(ip), sender, helo};
  asio::co_spawn(io, evaluate_spf(c, trusted, z, std::move(req), kReceiver),
                 [&](std::exception_ptr e, spf_evaluation r) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(r);
                   done = true;
                 });
  io.run();
  EXPECT_TRUE(done);
  return out;
}

net::cidr cidr(const char* s) {
  return *net::cidr::parse(s);
}

// RFC 7208 9.1: "Received-SPF:" [CFWS] result FWS [comment FWS] [key-value-list] CRLF,
// key-value-pair = key [CFWS] "=" ( dot-atom / quoted-string ), ";" separated. Checked
// on the one-line form the field functions return (no CRLF).
void expect_received_spf_syntax(const std::string& f) {
  static const std::regex re(
      R"(^Received-SPF: (pass|fail|softfail|neutral|none|temperror|permerror) \((?:[^()\\]|\\.)*\)( [a-z-]+=([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+|"(?:[^"\\]|\\.)*");)+$)");
  EXPECT_TRUE(std::regex_match(f, re)) << f;
  for (unsigned char c : f) EXPECT_TRUE(c >= 0x20 && c != 0x7f) << f;
}

std::string kv(const std::string& f, const std::string& key) {
  auto at = f.find(" " + key + "=");
  if (at == std::string::npos) return "<absent>";
  at += key.size() + 2;
  return f.substr(at, f.find(';', at) - at);
}

}  // namespace

// --- evaluate_spf ---

TEST(EvaluateSpf, HeloFailDecidesOverMailFromPass) {
  auto z = make_zone();
  const auto c = base_policy();
  auto e = eval(z, c, "192.0.2.7", "user@pass.test", "helo-fail.test");
  EXPECT_FALSE(e.skipped);
  EXPECT_EQ(e.outcome.result, R::pass);  // the MAIL FROM identity was checked too
  ASSERT_TRUE(e.helo_outcome);
  EXPECT_EQ(e.helo_outcome->result, R::fail);
  EXPECT_EQ(e.facts.result, R::fail);
  EXPECT_EQ(e.facts.identity, spf::identity::helo);
  EXPECT_EQ(e.facts.domain, "helo-fail.test");
  EXPECT_EQ(e.dec.action, verdict::reject);
  EXPECT_EQ(e.dec.reply.code, 550);
  EXPECT_EQ(e.dec.reply.status, smtp::status::k_5_7_23);

  const std::string rs = received_spf_field(e, kReceiver);
  expect_received_spf_syntax(rs);
  EXPECT_TRUE(rs.starts_with("Received-SPF: fail ")) << rs;
  EXPECT_EQ(kv(rs, "identity"), "helo");
  EXPECT_EQ(kv(rs, "client-ip"), "192.0.2.7");
  EXPECT_EQ(kv(rs, "helo"), "helo-fail.test");
  EXPECT_EQ(kv(rs, "receiver"), kReceiver);
  EXPECT_EQ(authentication_results_field("mx.our.test", e),
            "Authentication-Results: mx.our.test; spf=fail smtp.helo=helo-fail.test");
}

TEST(EvaluateSpf, WithoutCheckHeloMailFromDecides) {
  auto z = make_zone();
  auto c = base_policy();
  c.check_helo = false;
  auto e = eval(z, c, "192.0.2.7", "user@pass.test", "helo-fail.test");
  EXPECT_FALSE(e.helo_outcome);
  EXPECT_EQ(e.facts.result, R::pass);
  EXPECT_EQ(e.facts.identity, spf::identity::mailfrom);
  EXPECT_EQ(e.dec.action, verdict::accept);
  EXPECT_TRUE(e.dec.reply.empty());
  const std::string rs = received_spf_field(e, kReceiver);
  expect_received_spf_syntax(rs);
  EXPECT_TRUE(rs.starts_with("Received-SPF: pass ")) << rs;
  EXPECT_EQ(kv(rs, "identity"), "mailfrom");
  // RFC 7208 9.1: a value is a dot-atom or a quoted-string; an address is not a
  // dot-atom (its example: envelope-from="myname@example.com").
  EXPECT_EQ(kv(rs, "envelope-from"), "\"user@pass.test\"");
  EXPECT_EQ(authentication_results_field("mx.our.test", e),
            "Authentication-Results: mx.our.test; spf=pass smtp.mailfrom=user@pass.test");
}

TEST(EvaluateSpf, HeloPassOrSoftfailLeavesTheDecisionToMailFrom) {
  auto z = make_zone();
  const auto c = base_policy();
  // MAIL FROM fail decides when the HELO passes.
  auto e = eval(z, c, "192.0.2.7", "user@fail.test", "helo-pass.test");
  ASSERT_TRUE(e.helo_outcome);
  EXPECT_EQ(e.helo_outcome->result, R::pass);
  EXPECT_EQ(e.facts.identity, spf::identity::mailfrom);
  EXPECT_EQ(e.facts.result, R::fail);
  EXPECT_EQ(e.facts.domain, "fail.test");
  EXPECT_EQ(e.dec.action, verdict::reject);
  EXPECT_EQ(authentication_results_field("mx.our.test", e),
            "Authentication-Results: mx.our.test; spf=fail smtp.mailfrom=user@fail.test");
  // Only a HELO *fail* decides: a HELO softfail with a MAIL FROM pass is a pass.
  e = eval(z, c, "192.0.2.7", "user@pass.test", "helo-soft.test");
  ASSERT_TRUE(e.helo_outcome);
  EXPECT_EQ(e.helo_outcome->result, R::softfail);
  EXPECT_EQ(e.facts.result, R::pass);
  EXPECT_EQ(e.dec.action, verdict::accept);
}

TEST(EvaluateSpf, HeloThatIsNoDomainIsNotChecked) {
  auto z = make_zone();
  const auto c = base_policy();
  // RFC 7208 2.3: a HELO that is not a valid domain (literal, single label) has no record.
  for (const char* helo : {"[192.0.2.7]", "localhost", ""}) {
    SCOPED_TRACE(helo);
    auto e = eval(z, c, "192.0.2.7", "user@fail.test", helo);
    EXPECT_FALSE(e.helo_outcome);
    EXPECT_EQ(e.facts.result, R::fail);
    EXPECT_EQ(e.facts.identity, spf::identity::mailfrom);
  }
}

TEST(EvaluateSpf, NullSenderUsesTheHeloIdentity) {
  auto z = make_zone();
  const auto c = base_policy();
  // RFC 7208 2.4: MAIL FROM:<> -> postmaster@<HELO>; one check, no separate HELO check.
  auto e = eval(z, c, "192.0.2.7", "", "helo-fail.test");
  EXPECT_FALSE(e.helo_outcome);
  EXPECT_EQ(e.outcome.identity, spf::identity::helo);
  EXPECT_EQ(e.facts.identity, spf::identity::helo);
  EXPECT_EQ(e.facts.result, R::fail);
  EXPECT_EQ(e.facts.domain, "helo-fail.test");
  EXPECT_EQ(e.dec.action, verdict::reject);
  EXPECT_NE(e.dec.reply.lines.at(0).find("HELO helo-fail.test"), std::string::npos);
  const std::string rs = received_spf_field(e, kReceiver);
  expect_received_spf_syntax(rs);
  EXPECT_EQ(kv(rs, "identity"), "helo");
  EXPECT_EQ(kv(rs, "envelope-from"), "\"postmaster@helo-fail.test\"");
  EXPECT_EQ(authentication_results_field("mx.our.test", e),
            "Authentication-Results: mx.our.test; spf=fail smtp.helo=helo-fail.test");
  // The null sender with a passing HELO.
  e = eval(z, c, "192.0.2.7", "", "helo-pass.test");
  EXPECT_EQ(e.facts.result, R::pass);
  EXPECT_EQ(e.dec.action, verdict::accept);
}

TEST(EvaluateSpf, TrustedNetworkSkips) {
  auto z = make_zone();
  auto c = base_policy();
  // From the caller's list (relay defaults) ...
  auto e = eval(z, c, "192.0.2.7", "user@fail.test", "helo-fail.test", {cidr("192.0.2.0/24")});
  EXPECT_TRUE(e.skipped);
  EXPECT_EQ(e.skip_reason, "trusted network");
  EXPECT_EQ(e.dec.action, verdict::accept);
  EXPECT_EQ(e.dec.check, "spf");
  EXPECT_TRUE(e.dec.reply.empty());
  EXPECT_EQ(received_spf_field(e, kReceiver), "");
  EXPECT_EQ(authentication_results_field("mx.our.test", e),
            "Authentication-Results: mx.our.test; none");
  // ... or from [spf] trusted_networks; an IPv4-mapped client counts as IPv4 (RFC 7208 5).
  c.trusted_networks = {cidr("2001:db8::/32"), cidr("198.51.100.0/24")};
  e = eval(z, c, "::ffff:198.51.100.9", "user@fail.test", "h.example");
  EXPECT_TRUE(e.skipped);
  EXPECT_EQ(e.skip_reason, "trusted network");
  e = eval(z, c, "2001:db8::25", "user@fail.test", "h.example");
  EXPECT_TRUE(e.skipped);
  // Outside: checked.
  e = eval(z, c, "192.0.2.7", "user@fail.test", "h.example");
  EXPECT_FALSE(e.skipped);
  EXPECT_EQ(e.dec.action, verdict::reject);
}

TEST(EvaluateSpf, TrustedForwarderSkips) {
  auto z = make_zone();
  auto c = base_policy();
  c.trusted_forwarders = {cidr("198.51.100.7")};
  auto e = eval(z, c, "198.51.100.7", "user@fail.test", "helo-fail.test");
  EXPECT_TRUE(e.skipped);
  EXPECT_EQ(e.skip_reason, "trusted forwarder");
  EXPECT_EQ(e.dec.action, verdict::accept);
  EXPECT_EQ(authentication_results_field("mx.our.test", e),
            "Authentication-Results: mx.our.test; none");
  e = eval(z, c, "198.51.100.8", "user@fail.test", "h.example");
  EXPECT_FALSE(e.skipped);
  EXPECT_EQ(e.facts.result, R::fail);
}

TEST(EvaluateSpf, DnsTimeoutIsTemperror451_4_4_3) {
  auto z = make_zone();
  const auto c = base_policy();
  auto e = eval(z, c, "192.0.2.7", "user@slow.test", "h.example");
  EXPECT_EQ(e.facts.result, R::temperror);
  EXPECT_TRUE(e.facts.dns_timeout);
  EXPECT_EQ(e.dec.action, verdict::tempfail);
  EXPECT_EQ(e.dec.reply.code, 451);
  EXPECT_EQ(e.dec.reply.status, smtp::status::k_4_4_3);
  const std::string rs = received_spf_field(e, kReceiver);
  expect_received_spf_syntax(rs);
  EXPECT_TRUE(rs.starts_with("Received-SPF: temperror ")) << rs;
  EXPECT_EQ(authentication_results_field("mx.our.test", e),
            "Authentication-Results: mx.our.test; spf=temperror smtp.mailfrom=user@slow.test");
  // The HELO identity timing out while the MAIL FROM passes: the MAIL FROM decides.
  e = eval(z, c, "192.0.2.7", "user@pass.test", "slow.test");
  ASSERT_TRUE(e.helo_outcome);
  EXPECT_EQ(e.helo_outcome->result, R::temperror);
  EXPECT_EQ(e.facts.result, R::pass);
}

TEST(EvaluateSpf, MonitorRuleGivesWould) {
  auto z = make_zone();
  const auto c = base_policy();
  auto e = eval(z, c, "192.0.2.7", "user@watch.test", "h.example");
  EXPECT_EQ(e.facts.result, R::softfail);
  EXPECT_EQ(e.dec.rule, "watch");
  EXPECT_TRUE(e.dec.monitor);
  ASSERT_TRUE(e.dec.would);
  EXPECT_EQ(*e.dec.would, verdict::reject);
  EXPECT_EQ(e.dec.action, verdict::quarantine);  // the global softfail action
  EXPECT_TRUE(e.dec.reply.empty());
  // Not monitor: the rule acts.
  auto enforcing = c;
  enforcing.rules[0].monitor = false;
  e = eval(z, enforcing, "192.0.2.7", "user@watch.test", "h.example");
  EXPECT_FALSE(e.dec.monitor);
  EXPECT_FALSE(e.dec.would);
  EXPECT_EQ(e.dec.action, verdict::reject);
  EXPECT_EQ(e.dec.reply.status, smtp::status::k_5_7_23);
}

TEST(EvaluateSpf, TagAddsAHeaderWithoutLineBreaks) {
  auto z = make_zone();
  const auto c = base_policy();
  auto e = eval(z, c, "192.0.2.7", "user@neutral.test", "h.example");
  EXPECT_EQ(e.facts.result, R::neutral);
  EXPECT_EQ(e.dec.action, verdict::tag);
  EXPECT_TRUE(e.dec.header.starts_with("X-Mxguard-Policy: ")) << e.dec.header;
  EXPECT_EQ(e.dec.header.find_first_of("\r\n"), std::string::npos);
  // Other actions add no header.
  e = eval(z, c, "192.0.2.7", "user@pass.test", "h.example");
  EXPECT_EQ(e.dec.header, "");
}

// --- header fields with hostile identities ---

TEST(SpfFields, HostileSenderAndHeloStayOneLineAndQuoted) {
  auto z = make_zone();
  auto c = base_policy();
  c.check_helo = false;
  auto e = eval(z, c, "192.0.2.7", "a b\"\r\nX-Injected: 1@nowhere.test",
                "evil\r\nAuthentication-Results: mx.our.test; spf=pass");
  const std::string rs = received_spf_field(e, kReceiver);
  expect_received_spf_syntax(rs);
  EXPECT_EQ(rs.find('\n'), std::string::npos);
  const std::string ar = authentication_results_field("mx.our.test", e);
  EXPECT_EQ(ar.find_first_of("\r\n"), std::string::npos) << ar;
  // RFC 8601 2.2: the pvalue is a quoted-string when it is not a token / address.
  static const std::regex re(
      R"(^Authentication-Results: mx\.our\.test; spf=[a-z]+ smtp\.mailfrom="(?:[^"\\]|\\.)*"$)");
  EXPECT_TRUE(std::regex_match(ar, re)) << ar;
  for (unsigned char ch : ar) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << ar;
  // And our own filter test recognises our field, and not the hostile sender's text.
  EXPECT_TRUE(claims_authserv_id(ar.substr(ar.find(':') + 1), "mx.our.test"));
}

TEST(SpfFields, Ipv6ClientIsAQuotedString) {
  // RFC 7208 9.1: client-ip of an IPv6 client is no dot-atom (colons): a quoted-string.
  auto z = make_zone();
  const auto c = base_policy();
  auto e = eval(z, c, "2001:db8::7", "user@fail.test", "h.example");
  EXPECT_EQ(e.facts.result, R::fail);
  const std::string rs = received_spf_field(e, kReceiver);
  expect_received_spf_syntax(rs);
  EXPECT_EQ(kv(rs, "client-ip"), "\"2001:db8::7\"");
}

TEST(SpfFields, EveryResultHasItsName) {
  // RFC 8601 2.7.2 / RFC 7208 2.6: the result keywords.
  const std::pair<R, const char*> results[] = {
      {R::pass, "pass"},           {R::fail, "fail"}, {R::softfail, "softfail"},
      {R::neutral, "neutral"},     {R::none, "none"}, {R::temperror, "temperror"},
      {R::permerror, "permerror"},
  };
  for (auto [r, name] : results) {
    spf_evaluation e;
    e.request.ip = *net::ip_address::parse("192.0.2.7");
    e.request.sender = "u@d.example";
    e.request.helo = "h.example";
    e.outcome.result = r;
    e.outcome.domain = "d.example";
    e.outcome.sender = "u@d.example";
    EXPECT_EQ(authentication_results_field("mx.our.test", e),
              std::string("Authentication-Results: mx.our.test; spf=") + name +
                  " smtp.mailfrom=u@d.example");
    const std::string rs = received_spf_field(e, kReceiver);
    expect_received_spf_syntax(rs);
    EXPECT_TRUE(rs.starts_with(std::string("Received-SPF: ") + name + " (")) << rs;
  }
}

// --- claims_authserv_id ---

TEST(ClaimsAuthservId, Rfc8601Forms) {
  struct {
    const char* value;  // after "Authentication-Results:"
    bool ours;
  } cases[] = {
      {" mx.example.com; none", true},
      {"mx.example.com;none", true},
      {" MX.Example.COM; spf=pass smtp.mailfrom=a.example", true},  // case
      {" mx.example.com 1; none", true},                            // version (2.2)
      {" mx.example.com\r\n 1 ; none", true},                       // folded
      {" mx.example.com (comment) 1; none", true},
      {" (comment) mx.example.com; none", true},  // CFWS before the id
      {"\r\n\t(a (nested) \\) c)\r\n mx.example.com ; dkim=pass", true},
      {" mx.example.com(c); none", true},
      {" \"mx.example.com\"; none", true},  // value = quoted-string (RFC 2045)
      {" mx.example.com.; none", true},     // an absolute name (RFC 1034 3.1)
      {" other.example; none", false},
      {" mx.example.co; none", false},
      {" mx.example.comm; none", false},
      {" a.mx.example.com; none", false},
      {" (mx.example.com) other.example; none", false},
      {" other.example; spf=pass smtp.mailfrom=mx.example.com", false},
      {" other.example 1; none (mx.example.com)", false},
      {"; none", false},
      {"", false},
      {"   \r\n ", false},
  };
  for (const auto& tc : cases) {
    EXPECT_EQ(claims_authserv_id(tc.value, "mx.example.com"), tc.ours) << "[" << tc.value << "]";
  }
  // The configured id may carry a final dot or other case.
  EXPECT_TRUE(claims_authserv_id(" mx.example.com; none", "MX.EXAMPLE.COM."));
  // An empty configured id claims nothing.
  EXPECT_FALSE(claims_authserv_id(" ; none", ""));
  EXPECT_FALSE(claims_authserv_id(" x; none", ""));
}

TEST(ClaimsAuthservId, Rfc8601AppendixBExamples) {
  // RFC 8601 Appendix B, as seen by the receiver named there.
  EXPECT_TRUE(claims_authserv_id(" example.org 1; none", "example.org"));  // B.2
  EXPECT_TRUE(claims_authserv_id(" example.com; spf=pass smtp.mailfrom=example.net",
                                 "example.com"));  // B.3
  EXPECT_TRUE(
      claims_authserv_id(" example.com;\r\n auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
                         " spf=pass smtp.mailfrom=example.net",
                         "example.com"));  // B.4
  EXPECT_TRUE(
      claims_authserv_id(" example.com;\r\n sender-id=fail header.from=example.com;\r\n"
                         " dkim=pass (good signature) header.d=example.com",
                         "example.com"));  // B.5
  EXPECT_FALSE(
      claims_authserv_id(" example.com; spf=pass smtp.mailfrom=example.net", "example.net"));
}

// --- txn_decisions ---

namespace {
decision make(verdict v, std::string check, std::string reason = "") {
  decision d;
  d.action = v;
  d.check = std::move(check);
  d.reason = std::move(reason);
  return d;
}
}  // namespace

TEST(TxnDecisions, EmptyIsAccept) {
  txn_decisions t;
  EXPECT_EQ(t.final().action, verdict::accept);
  EXPECT_TRUE(t.final().check.empty());
  EXPECT_TRUE(t.all().empty());
}

TEST(TxnDecisions, StrongestWinsInAnyOrder) {
  const verdict order[] = {verdict::accept, verdict::tag, verdict::quarantine, verdict::tempfail,
                           verdict::reject};
  // Every pair, both orders: the stronger is final.
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 5; ++j) {
      if (i == j) continue;
      txn_decisions t;
      EXPECT_TRUE(t.add(make(order[i], "first", "r1")));
      const bool second_wins = j > i;
      EXPECT_EQ(t.add(make(order[j], "second", "r2")), second_wins) << i << " then " << j;
      EXPECT_EQ(t.final().check, second_wins ? "second" : "first") << i << " then " << j;
      EXPECT_EQ(t.final().action, order[std::max(i, j)]);
    }
  txn_decisions t;
  t.add(make(verdict::tag, "a", "x"));
  t.add(make(verdict::reject, "b", "x"));
  EXPECT_FALSE(t.add(make(verdict::quarantine, "c", "x")));
  EXPECT_FALSE(t.add(make(verdict::tempfail, "d", "x")));
  EXPECT_EQ(t.final().check, "b");
  ASSERT_EQ(t.all().size(), 4u);  // every decision kept, in order
  EXPECT_EQ(t.all()[0].check, "a");
  EXPECT_EQ(t.all()[3].check, "d");
  t.clear();
  EXPECT_TRUE(t.all().empty());
  EXPECT_EQ(t.final().action, verdict::accept);
  EXPECT_TRUE(t.add(make(verdict::tag, "e")));
  EXPECT_EQ(t.final().check, "e");
}

TEST(TxnDecisions, TieKeepsFirstUnlessItHasNoReason) {
  txn_decisions t;
  t.add(make(verdict::accept, "spf", "spf=pass"));
  EXPECT_FALSE(t.add(make(verdict::accept, "backscatter", "bounce about mail we sent")));
  EXPECT_EQ(t.final().check, "spf");

  txn_decisions u;
  u.add(make(verdict::accept, "spf"));  // no reason
  EXPECT_TRUE(u.add(make(verdict::accept, "backscatter", "bounce about mail we sent")));
  EXPECT_EQ(u.final().check, "backscatter");
  // Once a reason is there, a later tie with a reason does not take over.
  EXPECT_FALSE(u.add(make(verdict::accept, "third", "other")));
  EXPECT_EQ(u.final().check, "backscatter");

  txn_decisions v;
  v.add(make(verdict::quarantine, "a"));
  EXPECT_FALSE(v.add(make(verdict::quarantine, "b")));  // neither has a reason: first stays
  EXPECT_EQ(v.final().check, "a");
  // A weaker decision with a reason never takes over a stronger one without.
  EXPECT_FALSE(v.add(make(verdict::tag, "c", "why")));
  EXPECT_EQ(v.final().check, "a");
}
