// policy simulate / suggest (issue 9 section 5) over a recorded history built in memory.
// Every expected number below was counted by hand from the scenario in the comments,
// not taken from a run of the code.
#include "policy/simulate.hpp"

#include <gtest/gtest.h>

#include "policy/spf_config.hpp"

using namespace mxg::policy;
namespace store = mxg::store;

namespace {

store::message_record rec(std::string sender, std::string result, std::string ip,
                          std::string recorded, std::string queue_id = "") {
  store::message_record m;
  m.time = 1'700'000'000;
  m.sender = std::move(sender);
  m.client_ip = std::move(ip);
  m.helo = "client.example";
  m.spf_result = std::move(result);
  m.spf_identity = m.spf_result.empty() ? "" : "mailfrom";
  m.spf_domain = store::sender_domain(m.sender);
  m.decision = recorded;
  m.queue_id = std::move(queue_id);
  if (!m.spf_result.empty()) m.decisions.push_back({"spf", recorded, "", false, "", ""});
  return m;
}

store::quarantine_entry qentry(std::string queue_id, std::string domain, std::string ip,
                               std::string result, bool released) {
  store::quarantine_entry q;
  q.queue_id = std::move(queue_id);
  q.sender = "x@" + domain;
  q.spf_domain = std::move(domain);
  q.client_ip = std::move(ip);
  q.spf_result = std::move(result);
  q.check = "spf";
  if (released) {
    q.released_at = 1'700'000'100;
    q.released_by = "admin";
  }
  return q;
}

// The issue's example policy plus a trusted network.
spf_policy_config candidate() {
  spf_policy_config c;
  c.enabled = true;
  spf_rule strict;
  strict.name = "strict brands";
  strict.domains = {"bbb.org", "ups.com", ".ups.com", "fedex.com"};
  strict.actions[static_cast<std::size_t>(mxg::spf::result::softfail)] = verdict::reject;
  spf_rule partner;
  partner.name = "broken record, known sender";
  partner.domains = {"partner.example"};
  partner.actions.fill(verdict::accept);
  c.rules = {strict, partner};
  c.trusted_networks = {*mxg::net::cidr::parse("10.0.0.0/8")};
  c.trusted_networks_set = true;
  return c;
}

// The recorded history (decided under the default actions: fail reject, softfail
// quarantine, temperror tempfail, the rest accept).
std::vector<store::message_record> history() {
  std::vector<store::message_record> h;
  // #1-#3 ups.com softfail from one host, quarantined; #1 and #2 were released.
  h.push_back(rec("a@ups.com", "softfail", "203.0.113.5", "quarantine", "q1"));
  h.push_back(rec("b@ups.com", "softfail", "203.0.113.5", "quarantine", "q2"));
  h.push_back(rec("c@ups.com", "softfail", "203.0.113.5", "quarantine", "q3"));
  // #4, #5 mail.ups.com softfail from two hosts (".ups.com" matches), never released.
  h.push_back(rec("d@mail.ups.com", "softfail", "198.51.100.1", "quarantine", "q4"));
  h.push_back(rec("e@mail.ups.com", "softfail", "198.51.100.2", "quarantine", "q5"));
  // #6 fedex.com pass: accept under both.
  h.push_back(rec("f@fedex.com", "pass", "192.0.2.10", "accept", "q6"));
  // #7 partner.example fail: rejected then, the exception accepts it.
  h.push_back(rec("g@partner.example", "fail", "192.0.2.20", "reject"));
  // #8 partner.example permerror: accept under both.
  h.push_back(rec("h@partner.example", "permerror", "192.0.2.20", "accept", "q8"));
  // #9 other.example softfail: quarantine under both. #10 fail: reject under both.
  h.push_back(rec("i@other.example", "softfail", "192.0.2.30", "quarantine", "q9"));
  h.push_back(rec("j@other.example", "fail", "192.0.2.31", "reject"));
  // #11 no SPF result (trusted client at the time): skipped.
  h.push_back(rec("k@other.example", "", "192.0.2.40", "accept", "q11"));
  // #12 outbound: ignored.
  auto out = rec("l@ours.example", "pass", "127.0.0.1", "accept", "q12");
  out.dir = store::direction::outbound;
  h.push_back(out);
  // #13 notups.com softfail: no rule matches ("ups.com" is not a label suffix of it).
  h.push_back(rec("m@notups.com", "softfail", "192.0.2.50", "quarantine", "q13"));
  // #14 ups.com softfail, SPF quarantined it but another check rejected the message:
  // "from" is the SPF decision's action, quarantine.
  auto m14 = rec("n@ups.com", "softfail", "203.0.113.9", "reject");
  m14.decisions = {{"spf", "quarantine", "", false, "", ""},
                   {"backscatter", "reject", "", false, "", ""}};
  h.push_back(m14);
  // #15 bbb.org pass, no decision_record, the record's decision was "tag".
  auto m15 = rec("o@bbb.org", "pass", "192.0.2.60", "tag", "q15");
  m15.decisions.clear();
  h.push_back(m15);
  // #16 null sender, HELO identity mx.ups.com (no stored domain: taken from HELO).
  auto m16 = rec("", "softfail", "198.51.100.3", "quarantine", "q16");
  m16.spf_identity = "helo";
  m16.spf_domain.clear();
  m16.helo = "MX.UPS.COM";
  h.push_back(m16);
  // #17 other.example fail from 10.1.2.3: the candidate trusts 10/8 and skips SPF.
  h.push_back(rec("p@other.example", "fail", "10.1.2.3", "reject"));
  return h;
}

std::vector<store::quarantine_entry> quarantine() {
  return {qentry("q1", "ups.com", "203.0.113.5", "softfail", true),
          qentry("q2", "ups.com", "203.0.113.5", "softfail", true),
          qentry("q3", "ups.com", "203.0.113.5", "softfail", false),
          qentry("q4", "mail.ups.com", "198.51.100.1", "softfail", false),
          qentry("q5", "mail.ups.com", "198.51.100.2", "softfail", false),
          qentry("q9", "other.example", "192.0.2.30", "softfail", false),
          qentry("q13", "notups.com", "192.0.2.50", "softfail", false),
          qentry("q16", "mx.ups.com", "198.51.100.3", "softfail", false)};
}

}  // namespace

TEST(PolicySimulate, RecordFacts) {
  auto h = history();
  auto f = facts_from_record(h[15]);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->identity, mxg::spf::identity::helo);
  EXPECT_EQ(f->domain, "mx.ups.com");
  EXPECT_FALSE(facts_from_record(h[10]));  // no SPF result
  EXPECT_EQ(recorded_spf_action(h[13]), "quarantine");
  EXPECT_EQ(recorded_spf_action(h[14]), "tag");
  store::message_record m;
  EXPECT_EQ(recorded_spf_action(m), "accept");
  m.decisions.push_back({"spf", "accept", "", false, "",
                         "spf=permerror domain=x.example problem=\"unknown mechanism "
                         "'ipv4:192.0.2.1' (write ip4:)\""});
  EXPECT_EQ(recorded_problem(m), "unknown mechanism 'ipv4:192.0.2.1' (write ip4:)");
}

TEST(PolicySimulate, HandCountedScenario) {
  auto s = simulate(candidate(), history(), quarantine());
  // 17 records: #11 has no SPF result, #12 is outbound -> 15 decided again.
  EXPECT_EQ(s.records, 15u);
  EXPECT_EQ(s.skipped, 1u);
  EXPECT_EQ(s.trusted, 1u);  // #17
  // quarantine->reject: #1 #2 #3 #14 (ups.com), #4 #5 (mail.ups.com), #16 (mx.ups.com) = 7
  // accept->accept: #6 #8 = 2; reject->accept: #7 #17 = 2;
  // quarantine->quarantine: #9 #13 = 2; reject->reject: #10 = 1; tag->accept: #15 = 1.
  const std::map<std::string, std::size_t> expected{
      {"quarantine->reject", 7},     {"accept->accept", 2}, {"reject->accept", 2},
      {"quarantine->quarantine", 2}, {"reject->reject", 1}, {"tag->accept", 1}};
  EXPECT_EQ(s.transitions, expected);
  EXPECT_EQ(s.would_reject, 7u);
  EXPECT_EQ(s.would_reject_released, 2u);  // q1, q2

  // Changed domains, most messages first; ties in (domain, from, to) order.
  ASSERT_EQ(s.domains.size(), 6u);
  const auto& ups = s.domains[0];
  EXPECT_EQ(ups.domain, "ups.com");
  EXPECT_EQ(ups.from, "quarantine");
  EXPECT_EQ(ups.to, "reject");
  EXPECT_EQ(ups.messages, 4u);  // #1 #2 #3 #14
  EXPECT_EQ(ups.released, 2u);
  EXPECT_EQ(ups.distinct_ips, 2u);
  ASSERT_EQ(ups.ips.size(), 2u);
  EXPECT_EQ(ups.ips[0].ip, "203.0.113.5");
  EXPECT_EQ(ups.ips[0].messages, 3u);
  EXPECT_TRUE(ups.ips[0].repeats());
  EXPECT_EQ(ups.ips[1].ip, "203.0.113.9");
  EXPECT_FALSE(ups.ips[1].repeats());
  EXPECT_EQ(ups.repeating_messages, 3u);
  EXPECT_STREQ(ups.pattern(), "repeats");

  const auto& mail = s.domains[1];
  EXPECT_EQ(mail.domain, "mail.ups.com");
  EXPECT_EQ(mail.messages, 2u);
  EXPECT_EQ(mail.released, 0u);
  EXPECT_EQ(mail.distinct_ips, 2u);
  EXPECT_STREQ(mail.pattern(), "scattered");

  const char* rest[][3] = {{"bbb.org", "tag", "accept"},
                           {"mx.ups.com", "quarantine", "reject"},
                           {"other.example", "reject", "accept"},
                           {"partner.example", "reject", "accept"}};
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(rest[i][0]);
    EXPECT_EQ(s.domains[2 + i].domain, rest[i][0]);
    EXPECT_EQ(s.domains[2 + i].from, rest[i][1]);
    EXPECT_EQ(s.domains[2 + i].to, rest[i][2]);
    EXPECT_EQ(s.domains[2 + i].messages, 1u);
  }
}

TEST(PolicySimulate, SameCandidateAsRecordedChangesNothing) {
  // The recorded actions are the defaults; a default candidate keeps every message
  // except #15 (recorded "tag", the defaults accept a pass).
  spf_policy_config defaults;
  auto s = simulate(defaults, history(), quarantine());
  EXPECT_EQ(s.records, 15u);
  ASSERT_EQ(s.domains.size(), 1u);
  EXPECT_EQ(s.domains[0].domain, "bbb.org");
  EXPECT_EQ(s.would_reject, 0u);
}

TEST(PolicySimulate, ReevaluatedFactsReplaceStoredOnes) {
  auto h = history();
  // Fresh evaluation: #1 now passes, #17 is trusted (nullopt), everything else as stored.
  std::vector<std::optional<spf_facts>> fresh;
  for (const auto& m : h) fresh.push_back(facts_from_record(m));
  fresh[0]->result = mxg::spf::result::pass;
  fresh[16] = std::nullopt;
  // #11 had no stored result; the re-run evaluates it: other.example softfail.
  spf_facts f11;
  f11.result = mxg::spf::result::softfail;
  f11.domain = "other.example";
  fresh[10] = f11;
  auto s = simulate(candidate(), h, quarantine(), &fresh);
  // 16 inbound records decided (#11 included now); #17 trusted.
  EXPECT_EQ(s.records, 16u);
  EXPECT_EQ(s.trusted, 1u);
  // #1: quarantine->accept now; #11: recorded accept -> quarantine.
  EXPECT_EQ(s.transitions.at("quarantine->reject"), 6u);
  EXPECT_EQ(s.transitions.at("quarantine->accept"), 1u);
  EXPECT_EQ(s.transitions.at("accept->quarantine"), 1u);
  EXPECT_EQ(s.would_reject_released, 1u);  // q2 only
}

TEST(PolicySimulate, PolicyExceptionsAreAppliedAndCounted) {
  // Exceptions of the store: #9 i@other.example (softfail, 192.0.2.30) by sender, and
  // ups.com from 203.0.113.0/24 (#1 #2 #3; #14 comes from 203.0.113.9, inside too).
  // One expired exception for fedex.com changes nothing (and #6 passes anyway).
  store::policy_exception by_sender, by_net, old;
  by_sender.id = 11, by_sender.kind = "sender", by_sender.sender = "i@other.example";
  by_net.id = 12, by_net.kind = "domain_net", by_net.domain = "ups.com";
  by_net.net = "203.0.113.0/24";
  old.id = 13, old.kind = "sender", old.sender = "d@mail.ups.com", old.expires_at = 50;
  for (auto* e : {&by_sender, &by_net, &old}) ASSERT_TRUE(normalize_scope(*e));
  exception_set set({by_sender, by_net, old});
  auto s = simulate(candidate(), history(), quarantine(), nullptr, &set, 100);
  // quarantine->reject of ups.com #1 #2 #3 #14 becomes quarantine->tag (4); #9
  // quarantine->quarantine becomes quarantine->tag (1); #4 (the expired exception's
  // sender) stays quarantine->reject.
  EXPECT_EQ(s.excepted, 5u);
  const std::map<std::int64_t, std::size_t> by{{11, 1}, {12, 4}};
  EXPECT_EQ(s.by_exception, by);
  EXPECT_EQ(s.transitions.at("quarantine->tag"), 5u);
  EXPECT_EQ(s.transitions.at("quarantine->reject"), 3u);      // #4 #5 #16
  EXPECT_EQ(s.transitions.at("quarantine->quarantine"), 1u);  // #13
  EXPECT_EQ(s.would_reject, 3u);
  EXPECT_EQ(s.would_reject_released, 0u);
  // Without the exceptions: the raw rule (as HandCountedScenario).
  auto raw = simulate(candidate(), history(), quarantine(), nullptr, nullptr, 100);
  EXPECT_EQ(raw.excepted, 0u);
  EXPECT_EQ(raw.transitions.at("quarantine->reject"), 7u);
}

// --- suggest ---

namespace {

struct suggest_fixture {
  std::vector<store::message_record> records;
  std::vector<store::quarantine_entry> q;
};

suggest_fixture suggest_history() {
  suggest_fixture f;
  int n = 0;
  auto id = [&n] { return "s" + std::to_string(++n); };
  // outsourced.example: from 192.0.2.50 3 quarantined, 2 released (67%) -> exception;
  // from 192.0.2.51 1 quarantined, 1 released (under 2 releases). Domain: 3 of 4.
  for (int i = 0; i < 3; ++i)
    f.q.push_back(qentry(id(), "outsourced.example", "192.0.2.50", "softfail", i < 2));
  f.q.push_back(qentry(id(), "outsourced.example", "192.0.2.51", "softfail", true));
  for (int i = 0; i < 4; ++i)
    f.records.push_back(rec("x@outsourced.example", "softfail", "192.0.2.50", "quarantine"));
  // edge.example: one IP, 4 fail quarantined, 2 released: exactly 50% -> exception.
  for (int i = 0; i < 4; ++i)
    f.q.push_back(qentry(id(), "edge.example", "192.0.2.70", "fail", i < 2));
  // forged.example: 4 IPs, one release each -> no exception (no IP has 2).
  for (int i = 0; i < 4; ++i)
    f.q.push_back(
        qentry(id(), "forged.example", "198.51.100." + std::to_string(i), "softfail", true));
  // lowrate.example: one IP, 5 quarantined, 2 released = 40% -> no exception.
  for (int i = 0; i < 5; ++i)
    f.q.push_back(qentry(id(), "lowrate.example", "192.0.2.80", "softfail", i < 2));
  // always.example: 20 pass -> stricter. almost.example: 19 pass -> no.
  for (int i = 0; i < 20; ++i)
    f.records.push_back(
        rec("a@always.example", "pass", "192.0.2." + std::to_string(100 + i % 2), "accept"));
  for (int i = 0; i < 19; ++i)
    f.records.push_back(rec("a@almost.example", "pass", "192.0.2.110", "accept"));
  // mixed.example: 25 pass + 1 softfail -> no.
  for (int i = 0; i < 25; ++i)
    f.records.push_back(rec("a@mixed.example", "pass", "192.0.2.120", "accept"));
  f.records.push_back(rec("a@mixed.example", "softfail", "192.0.2.121", "quarantine"));
  // covered.example: 30 pass; only suggested when no current rule covers it.
  for (int i = 0; i < 30; ++i)
    f.records.push_back(rec("a@covered.example", "pass", "192.0.2.130", "accept"));
  // broken.example: 2 permerror with the stored problem, 1 neutral.
  for (int i = 0; i < 2; ++i) {
    auto m = rec("a@broken.example", "permerror", "192.0.2.140", "accept");
    m.decisions[0].reason =
        "spf=permerror domain=broken.example problem=\"unknown mechanism 'ipv4:192.0.2.1'\"";
    f.records.push_back(m);
  }
  f.records.push_back(rec("a@broken.example", "neutral", "192.0.2.141", "accept"));
  return f;
}

}  // namespace

TEST(PolicySuggest, HandCountedScenario) {
  auto f = suggest_history();
  auto s = suggest(f.records, f.q);
  // exceptions (most released first): outsourced (3), edge (2); permerror: broken;
  // stricter (most messages first): covered (30), always (20).
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].kind, suggestion_kind::exception);
  EXPECT_EQ(s[0].domain, "outsourced.example");
  EXPECT_EQ(s[0].quarantined, 4u);
  EXPECT_EQ(s[0].released, 3u);
  EXPECT_EQ(s[0].messages, 4u);
  ASSERT_EQ(s[0].released_ips.size(), 1u);
  EXPECT_EQ(s[0].released_ips[0].ip, "192.0.2.50");
  EXPECT_EQ(s[0].released_ips[0].quarantined, 3u);
  EXPECT_EQ(s[0].released_ips[0].released, 2u);
  EXPECT_EQ(s[0].released_results, std::vector<std::string>{"softfail"});
  auto ev = s[0].evidence();
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev[0], "3 of 4 quarantined softfail messages were released (75%)");
  EXPECT_EQ(ev[1], "from 192.0.2.50: 2 of 3 released");

  EXPECT_EQ(s[1].kind, suggestion_kind::exception);
  EXPECT_EQ(s[1].domain, "edge.example");
  EXPECT_EQ(s[1].released, 2u);
  EXPECT_EQ(s[1].released_results, std::vector<std::string>{"fail"});

  EXPECT_EQ(s[2].kind, suggestion_kind::permerror);
  EXPECT_EQ(s[2].domain, "broken.example");
  EXPECT_EQ(s[2].messages, 3u);
  EXPECT_EQ(s[2].results.at("permerror"), 2u);
  EXPECT_EQ(s[2].problem, "unknown mechanism 'ipv4:192.0.2.1'");

  EXPECT_EQ(s[3].kind, suggestion_kind::stricter);
  EXPECT_EQ(s[3].domain, "covered.example");
  EXPECT_EQ(s[3].messages, 30u);
  EXPECT_EQ(s[4].domain, "always.example");
  EXPECT_EQ(s[4].messages, 20u);
  ASSERT_EQ(s[4].ips.size(), 2u);
  EXPECT_EQ(s[4].ips[0].messages, 10u);

  // With the current policy: covered.example already has a rule.
  spf_policy_config current;
  spf_rule r;
  r.name = "covered";
  r.domains = {"covered.example"};
  current.rules.push_back(r);
  suggest_options opt;
  opt.current = &current;
  auto s2 = suggest(f.records, f.q, opt);
  ASSERT_EQ(s2.size(), 4u);
  EXPECT_EQ(s2[3].domain, "always.example");
}

TEST(PolicySuggest, SnippetsAreValidConfig) {
  auto f = suggest_history();
  auto s = suggest(f.records, f.q);
  s[2].lint_code = "unknown-mechanism";
  s[2].lint_message = "ipv4:192.0.2.1 is not a mechanism";
  s[2].lint_fix = "write ip4:192.0.2.1";
  std::string all = "[spf]\n";
  for (const auto& x : s) all += x.snippet();
  toml::table doc = toml::parse(all, std::string_view("snippet.toml"));
  spf_policy_config c;
  std::vector<std::string> errors;
  read_spf_config(*doc["spf"].as_table(), "snippet.toml", c, errors);
  ASSERT_TRUE(errors.empty()) << errors[0] << "\n" << all;
  ASSERT_EQ(c.rules.size(), 5u);
  auto facts_for = [](mxg::spf::result r, std::string d) {
    spf_facts x;
    x.result = r;
    x.domain = std::move(d);
    return x;
  };
  using R = mxg::spf::result;
  EXPECT_EQ(decide(c, facts_for(R::softfail, "outsourced.example")).action, verdict::accept);
  EXPECT_EQ(decide(c, facts_for(R::fail, "outsourced.example")).action, verdict::reject);
  EXPECT_EQ(decide(c, facts_for(R::fail, "edge.example")).action, verdict::accept);
  EXPECT_EQ(decide(c, facts_for(R::softfail, "always.example")).action, verdict::reject);
  EXPECT_EQ(decide(c, facts_for(R::permerror, "broken.example")).action, verdict::accept);
  EXPECT_NE(s[2].snippet().find("# ask the domain to fix it: write ip4:192.0.2.1"),
            std::string::npos);
}

TEST(PolicySuggest, HostileDomainsNeverReachSnippets) {
  std::vector<store::message_record> records;
  for (int i = 0; i < 25; ++i) {
    auto m = rec("a@x", "pass", "192.0.2.1", "accept");
    m.spf_domain = "evil.example\"]\nall = \"accept";
    records.push_back(m);
  }
  EXPECT_TRUE(suggest(records, {}).empty());
  EXPECT_EQ(toml_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000A\"");
}
