// DMARC policy (issue 10 section 4): decide() as tables built from the issue and the
// RFCs, not from running the code: every DMARC result x published policy (p=none,
// quarantine, reject; t=y one step lower, RFC 9989 4.7) under the global defaults
// (honour p=: reject 550 5.7.1, quarantine, temperror 451 4.7.1), a local override
// rule, a monitor rule, and the ARC override (RFC 8617 7.2: trusted sealer, cv=pass,
// AAR pass) with each of its conditions missing; the AAR reader (RFC 8601 2.2); the
// [dkim]/[dmarc] configuration and its FILE:LINE errors; the Authentication-Results
// field (RFC 8601): one field, entry order, folding, hostile values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include <string>
#include <vector>

#include "policy/auth_results.hpp"
#include "policy/dmarc_config.hpp"
#include "policy/dmarc_policy.hpp"

namespace smtp = mxg::smtp;
namespace dmarc = mxg::dmarc;
namespace arc = mxg::arc;
namespace dkim = mxg::dkim;
namespace toml = ::toml;
using namespace mxg::policy;
using D = mxg::dmarc::disposition;
using DR = mxg::dmarc::result;
using V = mxg::policy::verdict;

namespace {

dmarc_facts facts(DR r, std::optional<D> p, std::string from = "example.com",
                  bool testing = false) {
  dmarc_facts f;
  f.result = r;
  f.policy = p;
  f.from_domain = std::move(from);
  f.testing = testing;
  return f;
}

struct parsed {
  dmarc_policy_config dmarc;
  dkim_policy_config dkim;
  std::vector<std::string> errors;
};

parsed parse(std::string_view text) {
  parsed p;
  toml::table doc = toml::parse(text, std::string_view("t.toml"));
  if (const toml::table* t = doc["dmarc"].as_table())
    read_dmarc_config(*t, "t.toml", p.dmarc, p.errors);
  if (const toml::table* t = doc["dkim"].as_table())
    read_dkim_config(*t, "t.toml", p.dkim, p.errors);
  return p;
}

// The issue's shape: defaults plus a local override and a monitor rule.
dmarc_policy_config table_policy() {
  dmarc_policy_config c;
  c.enabled = true;
  dmarc_rule partner;  // a forwarder-heavy partner whose p=reject we do not enforce
  partner.name = "partner";
  partner.domains = {"partner.example", ".partner.example"};
  partner.actions[static_cast<std::size_t>(dmarc_outcome::fail_reject)] = V::quarantine;
  dmarc_rule strict;  // enforce a brand even at p=none
  strict.name = "brand";
  strict.domains = {"brand.example"};
  for (auto o :
       {dmarc_outcome::fail_none, dmarc_outcome::fail_quarantine, dmarc_outcome::fail_reject})
    strict.actions[static_cast<std::size_t>(o)] = V::reject;
  dmarc_rule watch;
  watch.name = "watch";
  watch.domains = {"watch.example"};
  watch.actions.fill(V::reject);
  watch.monitor = true;
  c.rules = {partner, strict, watch};
  c.trusted_arc_sealers = {"lists.example.org", ".forwarder.example"};
  return c;
}

}  // namespace

TEST(DmarcPolicy, DefaultsHonourThePublishedPolicy) {
  auto a = default_dmarc_actions();
  EXPECT_EQ(a[static_cast<std::size_t>(dmarc_outcome::pass)], V::accept);
  EXPECT_EQ(a[static_cast<std::size_t>(dmarc_outcome::fail_reject)], V::reject);
  EXPECT_EQ(a[static_cast<std::size_t>(dmarc_outcome::fail_quarantine)], V::quarantine);
  EXPECT_EQ(a[static_cast<std::size_t>(dmarc_outcome::fail_none)], V::accept);
  EXPECT_EQ(a[static_cast<std::size_t>(dmarc_outcome::none)], V::accept);
  EXPECT_EQ(a[static_cast<std::size_t>(dmarc_outcome::temperror)], V::tempfail);
  EXPECT_EQ(a[static_cast<std::size_t>(dmarc_outcome::permerror)], V::accept);
  for (std::size_t i = 0; i < kDmarcOutcomes; ++i) {
    auto o = static_cast<dmarc_outcome>(i);
    EXPECT_EQ(dmarc_outcome_from_string(to_string(o)), o);
  }
  EXPECT_FALSE(dmarc_outcome_from_string("fail"));
}

TEST(DmarcPolicy, OutcomeWithTestingFlag) {
  // RFC 9989 4.7 t=y: one step lower.
  EXPECT_EQ(outcome_of(facts(DR::fail, D::reject)), dmarc_outcome::fail_reject);
  EXPECT_EQ(outcome_of(facts(DR::fail, D::reject, "x.example", true)),
            dmarc_outcome::fail_quarantine);
  EXPECT_EQ(outcome_of(facts(DR::fail, D::quarantine)), dmarc_outcome::fail_quarantine);
  EXPECT_EQ(outcome_of(facts(DR::fail, D::quarantine, "x.example", true)),
            dmarc_outcome::fail_none);
  EXPECT_EQ(outcome_of(facts(DR::fail, D::none, "x.example", true)), dmarc_outcome::fail_none);
  EXPECT_EQ(outcome_of(facts(DR::fail, std::nullopt)), dmarc_outcome::fail_none);
  EXPECT_EQ(outcome_of(facts(DR::pass, D::reject)), dmarc_outcome::pass);
  EXPECT_EQ(outcome_of(facts(DR::none, std::nullopt)), dmarc_outcome::none);
  EXPECT_EQ(outcome_of(facts(DR::temperror, std::nullopt)), dmarc_outcome::temperror);
  EXPECT_EQ(outcome_of(facts(DR::permerror, std::nullopt)), dmarc_outcome::permerror);
}

struct decide_case {
  DR r;
  std::optional<D> p;
  bool testing;
  const char* from;
  V action;
  const char* rule;
  bool monitor;
  std::optional<V> would;
  int code;
  smtp::enhanced_status status;
};

TEST(DmarcPolicy, DecideTable) {
  using namespace smtp::status;
  const auto c = table_policy();
  const std::optional<V> no;
  const decide_case cases[] = {
      // global defaults: every result x published policy
      {DR::pass, D::reject, false, "a.example", V::accept, "", false, no, 0, none},
      {DR::pass, D::none, false, "a.example", V::accept, "", false, no, 0, none},
      {DR::fail, D::reject, false, "a.example", V::reject, "", false, no, 550, k_5_7_1},
      {DR::fail, D::quarantine, false, "a.example", V::quarantine, "", false, no, 0, none},
      {DR::fail, D::none, false, "a.example", V::accept, "", false, no, 0, none},
      {DR::fail, D::reject, true, "a.example", V::quarantine, "", false, no, 0, none},
      {DR::fail, D::quarantine, true, "a.example", V::accept, "", false, no, 0, none},
      {DR::none, std::nullopt, false, "a.example", V::accept, "", false, no, 0, none},
      {DR::temperror, std::nullopt, false, "a.example", V::tempfail, "", false, no, 451, k_4_7_1},
      {DR::permerror, std::nullopt, false, "", V::accept, "", false, no, 0, none},
      // local override: partner's p=reject failures quarantined, others of it default
      {DR::fail, D::reject, false, "partner.example", V::quarantine, "partner", false, no, 0, none},
      {DR::fail, D::reject, false, "mail.partner.example", V::quarantine, "partner", false, no, 0,
       none},
      {DR::fail, D::quarantine, false, "partner.example", V::quarantine, "partner", false, no, 0,
       none},
      {DR::pass, D::reject, false, "partner.example", V::accept, "partner", false, no, 0, none},
      {DR::fail, D::reject, false, "notpartner.example", V::reject, "", false, no, 550, k_5_7_1},
      // stricter override: the brand is enforced at p=none, and under t=y
      {DR::fail, D::none, false, "brand.example", V::reject, "brand", false, no, 550, k_5_7_1},
      {DR::fail, D::reject, true, "brand.example", V::reject, "brand", false, no, 550, k_5_7_1},
      {DR::temperror, std::nullopt, false, "brand.example", V::tempfail, "brand", false, no, 451,
       k_4_7_1},
      // monitor: the global action is done, the rule's recorded
      {DR::fail, D::none, false, "watch.example", V::accept, "watch", true, V::reject, 0, none},
      {DR::fail, D::reject, false, "watch.example", V::reject, "watch", true, V::reject, 550,
       k_5_7_1},
      {DR::pass, D::reject, false, "watch.example", V::accept, "watch", true, V::reject, 0, none},
  };
  for (const auto& tc : cases) {
    auto f = facts(tc.r, tc.p, tc.from, tc.testing);
    decision d = decide(c, f);
    const std::string what = std::string(dmarc::to_string(tc.r)) + " " +
                             (tc.p ? dmarc::to_string(*tc.p) : "-") + (tc.testing ? " t=y " : " ") +
                             tc.from;
    EXPECT_EQ(d.check, "dmarc") << what;
    EXPECT_EQ(d.action, tc.action) << what << " got " << to_string(d.action);
    EXPECT_EQ(d.rule, tc.rule) << what;
    EXPECT_EQ(d.monitor, tc.monitor) << what;
    EXPECT_EQ(d.would, tc.would) << what;
    EXPECT_EQ(d.reply.code, tc.code) << what;
    EXPECT_EQ(d.reply.status, tc.status) << what;
    EXPECT_NE(d.reason.find(std::string("dmarc=") + dmarc::to_string(tc.r)), std::string::npos)
        << d.reason;
  }
}

TEST(DmarcPolicy, ArcOverride) {
  const auto c = table_policy();
  auto base = facts(DR::fail, D::reject, "sender.example");
  base.arc.cv = arc::chain_result::pass;
  base.arc.sealer = "lists.example.org";
  base.arc.passed = "dmarc";

  decision d = decide(c, base);  // RFC 8617 7.2: all conditions hold
  EXPECT_EQ(d.action, V::accept);
  EXPECT_EQ(d.rule, "arc override");
  EXPECT_TRUE(d.reply.empty());
  EXPECT_NE(d.reason.find("arc_sealer=lists.example.org"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("arc_aar=dmarc=pass"), std::string::npos) << d.reason;

  for (const char* m : {"spf", "dkim"}) {  // the AAR's spf or dkim pass counts too
    auto f = base;
    f.arc.passed = m;
    EXPECT_EQ(decide(c, f).action, V::accept) << m;
  }
  auto sub = base;  // ".forwarder.example": its subdomains are trusted
  sub.arc.sealer = "arc.forwarder.example";
  EXPECT_EQ(decide(c, sub).action, V::accept);

  struct miss {
    const char* why;
    dmarc_facts f;
  };
  std::vector<miss> misses;
  {
    auto f = base;
    f.arc.sealer = "evil.example";
    misses.push_back({"untrusted sealer", f});
  }
  {
    auto f = base;
    f.arc.sealer = "forwarder.example";  // ".forwarder.example" is subdomains only
    misses.push_back({"parent of a subdomain pattern", f});
  }
  {
    auto f = base;
    f.arc.cv = arc::chain_result::fail;
    misses.push_back({"chain fails", f});
  }
  {
    auto f = base;
    f.arc.cv = arc::chain_result::none;
    misses.push_back({"no chain", f});
  }
  {
    auto f = base;
    f.arc.passed = "";
    misses.push_back({"AAR passes nothing", f});
  }
  for (const auto& m : misses) {
    decision x = decide(c, m.f);
    EXPECT_EQ(x.action, V::reject) << m.why;
    EXPECT_EQ(x.reply.code, 550) << m.why;
    EXPECT_NE(x.rule, "arc override") << m.why;
  }
  // The override never applies to anything but a fail (temperror stays tempfail).
  auto t = base;
  t.result = DR::temperror;
  t.policy.reset();
  EXPECT_EQ(decide(c, t).action, V::tempfail);
  // With the override the local rule is not consulted: a partner fail is accepted too.
  auto p = base;
  p.from_domain = "partner.example";
  EXPECT_EQ(decide(c, p).action, V::accept);
  EXPECT_EQ(decide(c, p).rule, "arc override");
  // Under a monitor rule the override still accepts (nothing to monitor).
  auto w = base;
  w.from_domain = "watch.example";
  EXPECT_EQ(decide(c, w).action, V::accept);
}

TEST(DmarcPolicy, ReplyTextsAndSubstitution) {
  dmarc_policy_config c;
  auto f = facts(DR::fail, D::reject, "bad\r\nhost.example");
  decision d = decide(c, f);
  ASSERT_EQ(d.reply.code, 550);
  ASSERT_FALSE(d.reply.lines.empty());
  EXPECT_EQ(d.reply.lines[0].find('\r'), std::string::npos);
  EXPECT_NE(d.reply.lines[0].find("bad??host.example"), std::string::npos) << d.reply.lines[0];
  EXPECT_EQ(d.reason.find('\n'), std::string::npos);
  c.reject_text = "{domain} failed DMARC ({result}, p={policy})";
  d = decide(c, facts(DR::fail, D::reject, "x.example"));
  EXPECT_EQ(d.reply.lines.at(0), "x.example failed DMARC (fail, p=reject)");
  c.tempfail_text = "later for {domain} {unknown}";
  d = decide(c, facts(DR::temperror, std::nullopt, "x.example"));
  EXPECT_EQ(d.reply.code, 451);
  EXPECT_EQ(d.reply.lines.at(0), "later for x.example {unknown}");
}

TEST(DmarcPolicy, AarPass) {
  EXPECT_EQ(aar_pass("lists.example.org; dmarc=pass header.from=a.example"), "dmarc");
  EXPECT_EQ(aar_pass("lists.example.org; spf=fail smtp.mailfrom=x; dkim=pass header.d=a"), "dkim");
  EXPECT_EQ(aar_pass("lists.example.org; spf=pass smtp.mailfrom=x; dkim=pass header.d=a"), "spf");
  EXPECT_EQ(aar_pass("lists.example.org;\r\n\tDKIM = Pass (good) header.d=a"), "dkim");
  EXPECT_EQ(aar_pass("lists.example.org; spf=fail; dkim=fail; dmarc=fail"), "");
  // Text inside comments and quoted strings is not a result (RFC 8601 2.2).
  EXPECT_EQ(aar_pass("lists.example.org; spf=fail (; dmarc=pass) smtp.mailfrom=x"), "");
  EXPECT_EQ(aar_pass("lists.example.org; spf=fail reason=\"; dkim=pass\""), "");
  EXPECT_EQ(aar_pass("dmarc=pass"), "");  // the authserv-id comes first, no resinfo here
  EXPECT_EQ(aar_pass(""), "");
  EXPECT_EQ(aar_pass("x; dmarc=passed"), "");
}

TEST(DmarcPolicy, ArcFactsUseTheNewestHop) {
  arc::validation v;
  v.cv = arc::chain_result::pass;
  arc::hop h1, h2;
  h1.instance = 1;
  h1.seal_domain = "first.example";
  h1.aar = "first.example; dmarc=pass";
  h2.instance = 2;
  h2.seal_domain = "Lists.Example.Org";
  h2.aar = "lists.example.org; spf=pass smtp.mailfrom=a@b.example";
  v.hops = {h1, h2};
  auto a = arc_facts_of(v);
  EXPECT_EQ(a.cv, arc::chain_result::pass);
  EXPECT_EQ(a.sealer, "lists.example.org");
  EXPECT_EQ(a.passed, "spf");
}

TEST(DmarcConfig, FullSectionReads) {
  auto p = parse(R"([dkim]
enabled = true
[dmarc]
enabled = true
mode = "psl"
psl_file = "/usr/share/publicsuffix/public_suffix_list.dat"
authserv_id = "MX.Example.com"
trusted_arc_sealers = ["lists.example.org", ".forwarder.example"]
reject_text = "no"
[dmarc.actions]
fail = "quarantine"
fail_reject = "reject"
temperror = "accept"
[[dmarc.rule]]
name = "partner"
domains = ["partner.example", ".partner.example"]
fail_reject = "quarantine"
[[dmarc.rule]]
name = "watch"
domains = ["watch.example"]
all = "reject"
none = "accept"
monitor = true
)");
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_TRUE(p.dkim.enabled);
  EXPECT_TRUE(p.dmarc.enabled);
  EXPECT_EQ(p.dmarc.mode, dmarc::discovery_mode::psl);
  EXPECT_EQ(p.dmarc.authserv_id, "mx.example.com");
  EXPECT_EQ(p.dmarc.trusted_arc_sealers,
            (std::vector<std::string>{"lists.example.org", ".forwarder.example"}));
  auto at = [&](dmarc_outcome o) { return p.dmarc.actions[static_cast<std::size_t>(o)]; };
  EXPECT_EQ(at(dmarc_outcome::fail_reject), V::reject);  // explicit beats `fail`
  EXPECT_EQ(at(dmarc_outcome::fail_quarantine), V::quarantine);
  EXPECT_EQ(at(dmarc_outcome::fail_none), V::quarantine);
  EXPECT_EQ(at(dmarc_outcome::temperror), V::accept);
  EXPECT_EQ(at(dmarc_outcome::pass), V::accept);
  ASSERT_EQ(p.dmarc.rules.size(), 2u);
  EXPECT_EQ(p.dmarc.rules[0].line, 14u);  // the [[dmarc.rule]] line
  EXPECT_EQ(p.dmarc.rules[0].actions[static_cast<std::size_t>(dmarc_outcome::fail_reject)],
            V::quarantine);
  EXPECT_FALSE(p.dmarc.rules[0].actions[static_cast<std::size_t>(dmarc_outcome::pass)]);
  EXPECT_TRUE(p.dmarc.rules[1].monitor);
  EXPECT_EQ(p.dmarc.rules[1].actions[static_cast<std::size_t>(dmarc_outcome::pass)], V::reject);
  EXPECT_EQ(p.dmarc.rules[1].actions[static_cast<std::size_t>(dmarc_outcome::none)], V::accept);
}

TEST(DmarcConfig, DefaultsWhenEmpty) {
  auto p = parse("[dmarc]\n");
  ASSERT_TRUE(p.errors.empty());
  EXPECT_FALSE(p.dmarc.enabled);
  EXPECT_EQ(p.dmarc.mode, dmarc::discovery_mode::treewalk);
  EXPECT_EQ(p.dmarc.actions, default_dmarc_actions());
}

TEST(DmarcConfig, ErrorsNameFileAndLine) {
  struct error_case {
    const char* text;
    const char* expect;  // a substring of the one error, which starts with t.toml:LINE:
    int line;
  };
  const error_case cases[] = {
      {"[dmarc]\nenabeld = true\n", "unknown key 'enabeld' in [dmarc]", 2},
      {"[dkim]\nenabled = \"yes\"\n", "'enabled' must be true or false", 2},
      {"[dkim]\nverify = true\n", "unknown key 'verify' in [dkim]", 2},
      {"[dmarc]\nmode = \"orgdomain\"\n", "must be \"treewalk\"", 2},
      {"[dmarc]\nmode = \"psl\"\n", "needs 'psl_file'", 2},
      {"[dmarc]\nauthserv_id = \"mx example\"\n", "RFC 8601 2.5", 2},
      {"[dmarc]\ntrusted_arc_sealers = [\"ok.example\", \"bad domain\"]\n", "\"bad domain\"", 2},
      {"[dmarc]\ntrusted_arc_sealers = \"lists.example.org\"\n", "must be an array", 2},
      {"[dmarc]\nreject_text = \"a\\nb\"\n", "one line", 2},
      {"[dmarc]\n[dmarc.actions]\nfail_reject = \"bounce\"\n", "the action must be one of", 3},
      {"[dmarc]\n[dmarc.actions]\nsoftfail = \"reject\"\n", "unknown key 'softfail'", 3},
      {"[dmarc]\n[dmarc.actions]\nall = \"reject\"\n", "unknown key 'all'", 3},
      {"[dmarc]\n[[dmarc.rule]]\ndomains = [\"a.example\"]\n", "'name' is required", 2},
      {"[dmarc]\n[[dmarc.rule]]\nname = \"x\"\n", "'domains' is required", 2},
      {"[dmarc]\n[[dmarc.rule]]\nname = \"x\"\ndomains = [\"nodot\"]\n", "is not a domain", 4},
      {"[dmarc]\n[[dmarc.rule]]\nname = \"x\"\ndomains = [\"a.example\"]\npass = 3\n",
       "must be an action string", 5},
      {"[dmarc]\n[[dmarc.rule]]\nname = \"x\"\ndomains = [\"a.example\"]\n[[dmarc.rule]]\n"
       "name = \"x\"\ndomains = [\"b.example\"]\n",
       "rule name 'x' is used twice", 6},
      {"[dmarc]\n[[dmarc.rule]]\nname = \"x\"\ndomains = [\"a.example\"]\nfail_rejct = "
       "\"accept\"\n",
       "unknown key 'fail_rejct' in [[dmarc.rule]] #1", 5},
  };
  for (const auto& tc : cases) {
    auto p = parse(tc.text);
    ASSERT_EQ(p.errors.size(), 1u) << tc.text << (p.errors.empty() ? "" : p.errors[0]);
    EXPECT_NE(p.errors[0].find(tc.expect), std::string::npos) << p.errors[0];
    EXPECT_TRUE(p.errors[0].starts_with("t.toml:" + std::to_string(tc.line) + ":")) << p.errors[0];
  }
  // A broken rule is not applied at all.
  auto p =
      parse("[dmarc]\n[[dmarc.rule]]\nname = \"x\"\ndomains = [\"a.example\"]\npass = \"no\"\n");
  EXPECT_TRUE(p.dmarc.rules.empty());
}

TEST(DmarcConfig, LoadFile) {
  EXPECT_FALSE(load_dmarc_policy_file("/nonexistent/x.toml"));
  char tmpl[] = "/tmp/mxg-dmarc-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  std::string text = "[spf]\nenabled = true\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto r = load_dmarc_policy_file(tmpl);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no [dmarc] section"), std::string::npos);
  FILE* f = std::fopen(tmpl, "w");
  std::fputs("[dmarc]\nenabled = true\n[dmarc.actions]\nfail_none = \"quarantine\"\n", f);
  std::fclose(f);
  r = load_dmarc_policy_file(tmpl);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->actions[static_cast<std::size_t>(dmarc_outcome::fail_none)], V::quarantine);
  std::remove(tmpl);
}

// --- Authentication-Results (RFC 8601) ---

namespace {

spf_evaluation spf_pass(std::string sender) {
  spf_evaluation e;
  e.request.sender = sender;
  e.outcome.result = mxg::spf::result::pass;
  e.outcome.identity = mxg::spf::identity::mailfrom;
  e.outcome.sender = sender;
  return e;
}

dkim::signature_result sig(dkim::result r, std::string d, std::string s, std::string b) {
  dkim::signature_result x;
  x.res = r;
  x.domain = std::move(d);
  x.selector = std::move(s);
  x.identity = "@" + x.domain;
  x.algorithm = "rsa-sha256";
  x.b = std::move(b);
  return x;
}

}  // namespace

TEST(AuthResults, OneFieldInOrder) {
  auto spf = spf_pass("alice@example.com");
  std::vector<dkim::signature_result> sigs = {
      sig(dkim::result::pass, "example.com", "s1", "AAAAAAAAAAAA"),
      sig(dkim::result::fail, "esp.example", "s2", "BBBBBBBBBB")};
  sigs[1].reason = "body hash mismatch";
  dmarc::evaluation e;
  e.res = DR::pass;
  e.from_domain = "example.com";
  e.policy = D::reject;
  arc::validation v;
  v.cv = arc::chain_result::none;

  auth_results_input in;
  in.authserv_id = "mx.test";
  in.spf = &spf;
  in.dkim = &sigs;
  in.dmarc = &e;
  in.arc = &v;
  in.client_ip = "192.0.2.1";
  const std::string one = authentication_results(in);
  // RFC 8601 2.2: "Authentication-Results:" authserv-id, then ";" resinfo, in our order.
  const std::string head =
      "Authentication-Results: mx.test; spf=pass smtp.mailfrom=alice@example.com; "
      "dkim=pass header.d=example.com header.i=@example.com header.s=s1 header.a=rsa-sha256 "
      "header.b=AAAAAAAA; dkim=fail (body hash mismatch) header.d=esp.example";
  EXPECT_TRUE(one.starts_with(head)) << one;
  const auto p_dkim2 = one.find("header.d=esp.example");
  const auto p_dmarc = one.find("; " + dmarc::authres_entry(e));
  const auto p_arc = one.find("; arc=none");
  ASSERT_NE(p_dmarc, std::string::npos) << one;
  ASSERT_NE(p_arc, std::string::npos) << one;
  EXPECT_LT(p_dkim2, p_dmarc);
  EXPECT_LT(p_dmarc, p_arc);
  EXPECT_EQ(one.find("Authentication-Results:", 1), std::string::npos);  // exactly one field
  EXPECT_EQ(one.find('\n'), std::string::npos);

  // Folded: the same entries, each on a continuation line (CRLF + TAB), no line > 998.
  const std::string folded = authentication_results(in, true);
  std::string unfolded = folded;
  for (std::size_t at; (at = unfolded.find(";\r\n\t")) != std::string::npos;)
    unfolded.replace(at, 4, "; ");
  EXPECT_EQ(unfolded, one);
  std::size_t start = 0;
  for (std::size_t nl; (nl = folded.find("\r\n", start)) != std::string::npos; start = nl + 2) {
    EXPECT_LE(nl - start, 998u);
    EXPECT_EQ(folded[nl + 2], '\t');
  }
}

TEST(AuthResults, NoneAndDkimNone) {
  auth_results_input in;
  in.authserv_id = "mx.test";
  EXPECT_EQ(authentication_results(in), "Authentication-Results: mx.test; none");
  spf_evaluation skipped;
  skipped.skipped = true;
  in.spf = &skipped;
  EXPECT_EQ(authentication_results(in), "Authentication-Results: mx.test; none");
  std::vector<dkim::signature_result> nosig;
  in.dkim = &nosig;
  EXPECT_EQ(authentication_results(in), "Authentication-Results: mx.test; dkim=none");
  // The SPF-only field of issue 9 is the same builder.
  auto spf = spf_pass("a@b.example");
  EXPECT_EQ(authentication_results_field("mx.test", spf),
            "Authentication-Results: mx.test; spf=pass smtp.mailfrom=a@b.example");
}

TEST(AuthResults, HostileValuesCannotBreakTheField) {
  std::vector<dkim::signature_result> sigs = {
      sig(dkim::result::permerror, "evil.example\r\nX-Injected: yes", "s\x01", "\xff\xfe")};
  sigs[0].reason = "bad\r\n(reason)";
  auth_results_input in;
  in.authserv_id = "mx.test";
  in.dkim = &sigs;
  for (bool folded : {false, true}) {
    const std::string h = authentication_results(in, folded);
    EXPECT_EQ(h.find("\r\nX-Injected"), std::string::npos) << h;
    for (std::size_t i = 0; i < h.size(); ++i) {
      auto c = static_cast<unsigned char>(h[i]);
      if (folded && h.compare(i, 3, "\r\n\t") == 0) {
        i += 2;
        continue;
      }
      EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << "byte " << int(c) << " at " << i << " in " << h;
    }
  }
}

// --- policy simulate over [dmarc] (issue 10 section 4) ---

#include "policy/simulate.hpp"

namespace {

mxg::store::message_record dmarc_row(std::string from, std::string result, std::string policy,
                                     std::string action, std::string reason = {}) {
  mxg::store::message_record m;
  m.dir = mxg::store::direction::inbound;
  m.client_ip = "192.0.2.9";
  m.header_from = std::move(from);
  m.dmarc_result = std::move(result);
  m.dmarc_policy = std::move(policy);
  m.arc_result = "none";
  mxg::store::decision_record d;
  d.check = "dmarc";
  d.action = std::move(action);
  d.reason = std::move(reason);
  m.decisions.push_back(d);
  return m;
}

}  // namespace

TEST(DmarcSimulate, ReDecidesStoredResults) {
  std::vector<mxg::store::message_record> rows = {
      dmarc_row("a.example", "fail", "reject", "reject"),
      dmarc_row("partner.example", "fail", "reject", "reject"),
      dmarc_row("brand.example", "fail", "none", "accept"),
      dmarc_row("b.example", "pass", "reject", "accept"),
      // recorded with an ARC override; the candidate trusts the sealer too
      dmarc_row("c.example", "fail", "reject", "accept",
                "dmarc=fail from=c.example policy=reject outcome=fail_reject arc=pass "
                "arc_sealer=lists.example.org arc_aar=dmarc=pass rule=\"arc override\""),
  };
  rows[4].arc_result = "pass";
  mxg::store::message_record no_dmarc;  // SPF only: skipped
  no_dmarc.dir = mxg::store::direction::inbound;
  rows.push_back(no_dmarc);
  auto f = dmarc_facts_from_record(rows[4]);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->arc.sealer, "lists.example.org");
  EXPECT_EQ(f->arc.passed, "dmarc");
  EXPECT_EQ(f->arc.cv, arc::chain_result::pass);
  EXPECT_FALSE(dmarc_facts_from_record(no_dmarc));

  const auto s = simulate_dmarc(table_policy(), rows, {});
  EXPECT_EQ(s.records, 5u);
  EXPECT_EQ(s.skipped, 1u);
  // a.example unchanged (reject), partner quarantined by its rule, brand rejected by its
  // rule, b.example pass unchanged, c.example still accepted by the ARC override.
  EXPECT_EQ(s.transitions.at("reject->reject"), 1u);
  EXPECT_EQ(s.transitions.at("reject->quarantine"), 1u);
  EXPECT_EQ(s.transitions.at("accept->reject"), 1u);
  EXPECT_EQ(s.transitions.at("accept->accept"), 2u);
  EXPECT_EQ(s.would_reject, 1u);
  ASSERT_EQ(s.domains.size(), 2u);
  // Without the trusted sealer the ARC-accepted message would be rejected.
  auto strict = table_policy();
  strict.trusted_arc_sealers.clear();
  const auto s2 = simulate_dmarc(strict, rows, {});
  EXPECT_EQ(s2.transitions.at("accept->reject"), 2u);
}
