// SPF policy (issue 9 section 2): decide() as a table of cases (each RFC 7208 result
// under the global actions, a rule, `all`, monitor, "d" vs ".d" matching, first rule
// wins), the replies (RFC 7372 X.7.23/X.7.24, RFC 3463 4.4.3) and their texts, and
// the [spf] configuration: the issue's exact example and errors with their lines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "policy/spf_config.hpp"
#include "policy/spf_policy.hpp"

namespace spf = mxg::spf;
namespace smtp = mxg::smtp;
namespace toml = ::toml;
using namespace mxg::policy;
using R = mxg::spf::result;

namespace {

// The issue's example policy, as a string (config tests parse it; decide tests use it).
constexpr const char* kIssueExample = R"([spf]
enabled = true
check_helo = true                 # RFC 7208 2.3; used as the identity for the null sender
reject_stage = "rcpt"             # "rcpt" (default) or "mail"
authserv_id = "mx.example.com"    # for Authentication-Results
[spf.actions]                     # per result: accept | tag | quarantine | reject | tempfail
pass = "accept"
fail = "reject"
softfail = "quarantine"
neutral = "accept"
none = "accept"
permerror = "accept"
temperror = "tempfail"
[[spf.rule]]                      # first matching rule wins; "domain" = exact, ".domain" = subdomains too
name = "strict brands"
domains = ["bbb.org", "ups.com", ".ups.com", "fedex.com"]
softfail = "reject"
[[spf.rule]]
name = "broken record, known sender"
domains = ["partner.example"]
all = "accept"                    # an exception: no enforcement for any result
monitor = false                   # true: log and record what the rule would do, do the global action
)";

struct parsed {
  spf_policy_config config;
  std::vector<std::string> errors;
};

parsed parse_spf(std::string_view text) {
  parsed p;
  toml::table doc = toml::parse(text, std::string_view("test.toml"));
  const toml::table* spf = doc["spf"].as_table();
  EXPECT_NE(spf, nullptr);
  if (spf) read_spf_config(*spf, "test.toml", p.config, p.errors);
  return p;
}

spf_facts facts(R r, std::string domain, bool timeout = false) {
  spf_facts f;
  f.result = r;
  f.domain = std::move(domain);
  f.ip = "192.0.2.7";
  f.dns_timeout = timeout;
  return f;
}

// A hand-built policy mirroring the issue's example plus a monitor rule and a
// subdomain-only rule, so every branch has a case.
spf_policy_config table_policy() {
  spf_policy_config c;
  c.enabled = true;
  spf_rule strict;
  strict.name = "strict brands";
  strict.domains = {"bbb.org", "ups.com", ".ups.com", "fedex.com"};
  strict.actions[static_cast<std::size_t>(R::softfail)] = verdict::reject;
  spf_rule exception;
  exception.name = "exception";
  exception.domains = {"partner.example"};
  exception.actions.fill(verdict::accept);
  spf_rule watch;
  watch.name = "watch";
  watch.domains = {"watch.example"};
  watch.actions.fill(verdict::reject);
  watch.monitor = true;
  spf_rule subs;
  subs.name = "subs only";
  subs.domains = {".sub.example"};
  subs.actions[static_cast<std::size_t>(R::neutral)] = verdict::tag;
  // Never reached for ups.com: "strict brands" comes first.
  spf_rule shadowed;
  shadowed.name = "shadowed";
  shadowed.domains = {"ups.com", "late.example"};
  shadowed.actions.fill(verdict::tempfail);
  c.rules = {strict, exception, watch, subs, shadowed};
  return c;
}

struct decide_case {
  R r;
  const char* domain;
  verdict action;
  const char* rule;
  bool monitor;
  std::optional<verdict> would;
  int code;  // 0: no reply
  smtp::enhanced_status status;
};

}  // namespace

TEST(SpfPolicy, DefaultActionsAreTheIssuesShape) {
  auto a = default_spf_actions();
  EXPECT_EQ(a[static_cast<std::size_t>(R::pass)], verdict::accept);
  EXPECT_EQ(a[static_cast<std::size_t>(R::fail)], verdict::reject);
  EXPECT_EQ(a[static_cast<std::size_t>(R::softfail)], verdict::quarantine);
  EXPECT_EQ(a[static_cast<std::size_t>(R::neutral)], verdict::accept);
  EXPECT_EQ(a[static_cast<std::size_t>(R::none)], verdict::accept);
  EXPECT_EQ(a[static_cast<std::size_t>(R::permerror)], verdict::accept);
  EXPECT_EQ(a[static_cast<std::size_t>(R::temperror)], verdict::tempfail);
  EXPECT_STREQ(to_string(spf_stage::mail), "mail");
  EXPECT_STREQ(to_string(spf_stage::rcpt), "rcpt");
}

TEST(SpfPolicy, RuleMatching) {
  spf_rule r;
  r.domains = {"ups.com", ".ups.com"};
  EXPECT_TRUE(r.matches("ups.com"));
  EXPECT_TRUE(r.matches("UPS.COM."));
  EXPECT_TRUE(r.matches("mail.ups.com"));
  EXPECT_TRUE(r.matches("a.b.ups.com"));
  EXPECT_FALSE(r.matches("notups.com"));  // a label boundary, not a string suffix
  EXPECT_FALSE(r.matches("ups.com.evil.example"));
  EXPECT_FALSE(r.matches(""));
  spf_rule sub;
  sub.domains = {".ups.com"};
  EXPECT_FALSE(sub.matches("ups.com"));  // ".d" is subdomains only
  EXPECT_TRUE(sub.matches("x.ups.com"));
  EXPECT_FALSE(sub.matches(".ups.com"));
}

TEST(SpfPolicy, DecideTable) {
  using namespace smtp::status;
  const auto c = table_policy();
  const decide_case cases[] = {
      // Global actions, one per result (no rule matches other.example).
      {R::pass, "other.example", verdict::accept, "", false, {}, 0, none},
      {R::fail, "other.example", verdict::reject, "", false, {}, 550, k_5_7_23},
      {R::softfail, "other.example", verdict::quarantine, "", false, {}, 0, none},
      {R::neutral, "other.example", verdict::accept, "", false, {}, 0, none},
      {R::none, "other.example", verdict::accept, "", false, {}, 0, none},
      {R::permerror, "other.example", verdict::accept, "", false, {}, 0, none},
      {R::temperror, "other.example", verdict::tempfail, "", false, {}, 451, k_4_7_24},
      // A rule with one key: that result changes, the others fall back to the global.
      {R::softfail, "ups.com", verdict::reject, "strict brands", false, {}, 550, k_5_7_23},
      {R::fail, "ups.com", verdict::reject, "strict brands", false, {}, 550, k_5_7_23},
      {R::pass, "ups.com", verdict::accept, "strict brands", false, {}, 0, none},
      {R::temperror, "ups.com", verdict::tempfail, "strict brands", false, {}, 451, k_4_7_24},
      // ".ups.com" covers subdomains; first rule wins over "shadowed".
      {R::softfail, "mail.ups.com", verdict::reject, "strict brands", false, {}, 550, k_5_7_23},
      {R::softfail, "notups.com", verdict::quarantine, "", false, {}, 0, none},
      {R::softfail, "late.example", verdict::tempfail, "shadowed", false, {}, 451, k_4_7_1},
      {R::fail, "late.example", verdict::tempfail, "shadowed", false, {}, 451, k_4_7_1},
      // `all` = accept: an exception for every result.
      {R::pass, "partner.example", verdict::accept, "exception", false, {}, 0, none},
      {R::fail, "partner.example", verdict::accept, "exception", false, {}, 0, none},
      {R::softfail, "partner.example", verdict::accept, "exception", false, {}, 0, none},
      {R::permerror, "partner.example", verdict::accept, "exception", false, {}, 0, none},
      {R::temperror, "partner.example", verdict::accept, "exception", false, {}, 0, none},
      // Monitor: the global action is done, the rule's is `would`.
      {R::pass, "watch.example", verdict::accept, "watch", true, verdict::reject, 0, none},
      {R::softfail, "watch.example", verdict::quarantine, "watch", true, verdict::reject, 0, none},
      {R::fail, "watch.example", verdict::reject, "watch", true, verdict::reject, 550, k_5_7_23},
      {R::temperror, "watch.example", verdict::tempfail, "watch", true, verdict::reject, 451,
       k_4_7_24},
      // ".sub.example" only: the parent is not matched.
      {R::neutral, "a.sub.example", verdict::tag, "subs only", false, {}, 0, none},
      {R::neutral, "sub.example", verdict::accept, "", false, {}, 0, none},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(std::string(spf::to_string(tc.r)) + " " + tc.domain);
    auto d = decide(c, facts(tc.r, tc.domain));
    EXPECT_EQ(d.check, "spf");
    EXPECT_EQ(d.action, tc.action) << to_string(d.action);
    EXPECT_EQ(d.rule, tc.rule);
    EXPECT_EQ(d.monitor, tc.monitor);
    EXPECT_EQ(d.would, tc.would);
    EXPECT_EQ(d.reply.code, tc.code);
    EXPECT_EQ(d.reply.status, tc.status) << d.reply.status.to_string();
  }
}

TEST(SpfPolicy, RepliesPerResult) {
  using namespace smtp::status;
  spf_policy_config c;
  c.actions.fill(verdict::reject);
  struct {
    R r;
    smtp::enhanced_status st;
  } rejects[] = {{R::fail, k_5_7_23},    {R::softfail, k_5_7_23}, {R::permerror, k_5_7_24},
                 {R::neutral, k_5_7_1},  {R::none, k_5_7_1},      {R::pass, k_5_7_1},
                 {R::temperror, k_5_7_1}};
  for (const auto& tc : rejects) {
    auto d = decide(c, facts(tc.r, "example.com"));
    EXPECT_EQ(d.reply.code, 550) << spf::to_string(tc.r);
    EXPECT_EQ(d.reply.status, tc.st) << spf::to_string(tc.r);
  }
  c.actions.fill(verdict::tempfail);
  EXPECT_EQ(decide(c, facts(R::temperror, "example.com")).reply.status, k_4_7_24);
  EXPECT_EQ(decide(c, facts(R::temperror, "example.com", true)).reply.status, k_4_4_3);
  EXPECT_EQ(decide(c, facts(R::softfail, "example.com")).reply.status, k_4_7_1);
  EXPECT_EQ(decide(c, facts(R::temperror, "example.com")).reply.code, 451);
  // Quarantine and tag carry no reply.
  c.actions.fill(verdict::quarantine);
  EXPECT_TRUE(decide(c, facts(R::fail, "example.com")).reply.empty());
}

TEST(SpfPolicy, DefaultTextsNameDomainAndResultWithoutUrl) {
  spf_policy_config c;
  c.actions[static_cast<std::size_t>(R::permerror)] = verdict::reject;
  for (R r : {R::fail, R::permerror, R::temperror}) {
    auto d = decide(c, facts(r, "example.com"));
    ASSERT_FALSE(d.reply.empty());
    const std::string text = d.reply.lines.at(0);
    EXPECT_NE(text.find("example.com"), std::string::npos) << text;
    EXPECT_NE(text.find(spf::to_string(r)), std::string::npos) << text;
    EXPECT_EQ(text.find("http"), std::string::npos) << text;
    EXPECT_EQ(text.find("://"), std::string::npos) << text;
  }
  EXPECT_EQ(decide(c, facts(R::fail, "example.com")).reply.format(),
            "550 5.7.23 SPF fail: example.com does not authorize 192.0.2.7 to send its mail\r\n");
  EXPECT_EQ(decide(c, facts(R::temperror, "example.com", true)).reply.format(),
            "451 4.4.3 SPF temperror for example.com: DNS lookup timed out, try again later\r\n");
  // HELO identity is named as such.
  auto f = facts(R::fail, "mx.example.com");
  f.identity = spf::identity::helo;
  EXPECT_NE(decide(c, f).reply.lines[0].find("HELO mx.example.com"), std::string::npos);
}

TEST(SpfPolicy, CustomTextSubstitution) {
  spf_policy_config c;
  c.reject_text = "{result} for {domain} from {ip} ({identity}); {unknown} stays";
  c.tempfail_text = "later: {domain} {result}";
  auto f = facts(R::fail, "example.com");
  EXPECT_EQ(decide(c, f).reply.format(),
            "550 5.7.23 fail for example.com from 192.0.2.7 (mailfrom); {unknown} stays\r\n");
  f.result = R::temperror;
  EXPECT_EQ(decide(c, f).reply.format(), "451 4.7.24 later: example.com temperror\r\n");
}

TEST(SpfPolicy, PeerTextCannotInjectLines) {
  spf_policy_config c;
  auto f = facts(R::fail, "evil.example\r\n250 ok");
  auto d = decide(c, f);
  const std::string wire = d.reply.format();
  EXPECT_EQ(wire.find("\r\n"), wire.size() - 2) << wire;
  EXPECT_EQ(d.reason.find('\n'), std::string::npos);
  f.domain = std::string(5000, 'a');
  EXPECT_LT(decide(c, f).reply.format().size(), 512u);  // RFC 5321 4.5.3.1.5
}

TEST(SpfPolicy, Reason) {
  const auto c = table_policy();
  EXPECT_EQ(decide(c, facts(R::softfail, "ups.com")).reason,
            "spf=softfail domain=ups.com rule=strict brands");
  EXPECT_EQ(decide(c, facts(R::fail, "other.example")).reason, "spf=fail domain=other.example");
  EXPECT_EQ(decide(c, facts(R::softfail, "watch.example")).reason,
            "spf=softfail domain=watch.example rule=watch monitor would=reject");
  auto f = facts(R::permerror, "broken.example");
  f.problem = "unknown mechanism 'ipv4:192.0.2.1'";
  EXPECT_EQ(decide(c, f).reason,
            "spf=permerror domain=broken.example problem=\"unknown mechanism 'ipv4:192.0.2.1'\"");
}

// --- configuration ---

TEST(SpfConfig, IssueExampleParses) {
  auto p = parse_spf(kIssueExample);
  ASSERT_TRUE(p.errors.empty()) << p.errors.at(0);
  const auto& c = p.config;
  EXPECT_TRUE(c.enabled);
  EXPECT_TRUE(c.check_helo);
  EXPECT_EQ(c.reject_stage, spf_stage::rcpt);
  EXPECT_EQ(c.authserv_id, "mx.example.com");
  EXPECT_EQ(c.actions, default_spf_actions());
  ASSERT_EQ(c.rules.size(), 2u);
  EXPECT_EQ(c.rules[0].name, "strict brands");
  EXPECT_EQ(c.rules[0].domains,
            (std::vector<std::string>{"bbb.org", "ups.com", ".ups.com", "fedex.com"}));
  EXPECT_EQ(c.rules[0].line, 14u);
  for (std::size_t i = 0; i < kSpfResults; ++i) {
    if (i == static_cast<std::size_t>(R::softfail))
      EXPECT_EQ(c.rules[0].actions[i], verdict::reject);
    else
      EXPECT_FALSE(c.rules[0].actions[i].has_value()) << i;
  }
  EXPECT_FALSE(c.rules[0].monitor);
  EXPECT_EQ(c.rules[1].name, "broken record, known sender");
  EXPECT_EQ(c.rules[1].line, 18u);
  for (const auto& a : c.rules[1].actions) EXPECT_EQ(a, verdict::accept);
  EXPECT_FALSE(c.rules[1].monitor);
  EXPECT_FALSE(c.trusted_networks_set);
  // And it decides as the issue says.
  EXPECT_EQ(decide(c, facts(R::softfail, "ups.com")).action, verdict::reject);
  EXPECT_EQ(decide(c, facts(R::softfail, "dhl.com")).action, verdict::quarantine);
  EXPECT_EQ(decide(c, facts(R::fail, "partner.example")).action, verdict::accept);
}

TEST(SpfConfig, AllOtherKeys) {
  auto p = parse_spf(R"([spf]
reject_stage = "mail"
check_helo = false
trusted_networks = ["192.0.2.0/24", "2001:db8::/32"]
trusted_forwarders = ["198.51.100.7"]
reject_text = "no: {domain}"
tempfail_text = "later: {domain}"
[spf.actions]
neutral = "tag"
[[spf.rule]]
name = "r"
domains = ["Example.COM.", ".Sub.Example"]
all = "reject"
pass = "accept"
monitor = true
)");
  ASSERT_TRUE(p.errors.empty()) << p.errors.at(0);
  const auto& c = p.config;
  EXPECT_FALSE(c.enabled);
  EXPECT_FALSE(c.check_helo);
  EXPECT_EQ(c.reject_stage, spf_stage::mail);
  ASSERT_EQ(c.trusted_networks.size(), 2u);
  EXPECT_TRUE(c.trusted_networks_set);
  EXPECT_EQ(c.trusted_networks[0].to_string(), "192.0.2.0/24");
  ASSERT_EQ(c.trusted_forwarders.size(), 1u);
  EXPECT_EQ(c.reject_text, "no: {domain}");
  EXPECT_EQ(c.tempfail_text, "later: {domain}");
  EXPECT_EQ(c.actions[static_cast<std::size_t>(R::neutral)], verdict::tag);
  EXPECT_EQ(c.actions[static_cast<std::size_t>(R::fail)], verdict::reject);  // default kept
  ASSERT_EQ(c.rules.size(), 1u);
  EXPECT_EQ(c.rules[0].domains, (std::vector<std::string>{"example.com", ".sub.example"}));
  EXPECT_TRUE(c.rules[0].monitor);
  // `all` sets every result; the explicit `pass` wins over it.
  for (std::size_t i = 0; i < kSpfResults; ++i)
    EXPECT_EQ(c.rules[0].actions[i],
              i == static_cast<std::size_t>(R::pass) ? verdict::accept : verdict::reject);
}

TEST(SpfConfig, ErrorsWithLines) {
  struct {
    const char* name;
    const char* toml;
    const char* expected;  // the error must start with this
  } cases[] = {
      {"typo key in [spf]", "[spf]\nenabled = true\nenabeld = true\n",
       "test.toml:3: unknown key 'enabeld' in [spf]"},
      {"typo key in actions", "[spf]\n[spf.actions]\nsoftfial = \"reject\"\n",
       "test.toml:3: unknown key 'softfial' in [spf.actions]"},
      {"bad action", "[spf]\n[spf.actions]\nfail = \"bounce\"\n",
       "test.toml:3: 'fail' = \"bounce\": the action must be one of"},
      {"bad action in rule",
       "[spf]\n[[spf.rule]]\nname = \"x\"\ndomains = [\"a.example\"]\n"
       "all = \"drop\"\n",
       "test.toml:5: 'all' = \"drop\""},
      {"ipv4-style unknown result key",
       "[spf]\n[[spf.rule]]\nname = \"x\"\ndomains = [\"a.example\"]\nipv4 = \"accept\"\n",
       "test.toml:5: unknown key 'ipv4' in [[spf.rule]] #1"},
      {"missing name", "[spf]\n\n[[spf.rule]]\ndomains = [\"a.example\"]\n",
       "test.toml:3: [[spf.rule]] #1: 'name' is required"},
      {"duplicate name",
       "[spf]\n[[spf.rule]]\nname = \"x\"\ndomains = [\"a.example\"]\n[[spf.rule]]\n"
       "name = \"x\"\ndomains = [\"b.example\"]\n",
       "test.toml:6: rule name 'x' is used twice"},
      {"missing domains", "[spf]\n[[spf.rule]]\nname = \"x\"\n",
       "test.toml:2: [[spf.rule]] #1: 'domains' is required"},
      {"empty domains", "[spf]\n[[spf.rule]]\nname = \"x\"\ndomains = []\n",
       "test.toml:4: 'domains' must be a non-empty array"},
      {"bad domain",
       "[spf]\n[[spf.rule]]\nname = \"x\"\ndomains = [\"ok.example\",\n"
       "  \"not a domain\"]\n",
       "test.toml:5: 'domains': \"not a domain\" is not a domain"},
      {"single-label exact domain", "[spf]\n[[spf.rule]]\nname = \"x\"\ndomains = [\"com\"]\n",
       "test.toml:4: 'domains': \"com\" is not a domain"},
      {"bad CIDR", "[spf]\ntrusted_networks = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n",
       "test.toml:2: 'trusted_networks': \"10.0.0.0/33\" is not a network"},
      {"bad forwarder", "[spf]\n\ntrusted_forwarders = [\"mx.example\"]\n",
       "test.toml:3: 'trusted_forwarders': \"mx.example\" is not a network"},
      {"bad stage", "[spf]\nreject_stage = \"data\"\n",
       "test.toml:2: 'reject_stage' = \"data\": must be \"rcpt\" or \"mail\""},
      {"bad type", "[spf]\nenabled = \"yes\"\n", "test.toml:2: 'enabled' must be true or false"},
      {"multi-line text", "[spf]\nreject_text = \"a\\r\\n250 ok\"\n",
       "test.toml:2: 'reject_text' must be one line"},
      {"bad authserv_id", "[spf]\nauthserv_id = \"mx example\"\n",
       "test.toml:2: 'authserv_id' must be a host name"},
      {"rule not an array of tables", "[spf]\nrule = \"x\"\n",
       "test.toml:2: 'rule' must be an array of tables"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    auto p = parse_spf(tc.toml);
    ASSERT_EQ(p.errors.size(), 1u) << (p.errors.empty() ? "" : p.errors[0] + " / ...");
    EXPECT_TRUE(p.errors[0].starts_with(tc.expected)) << p.errors[0];
  }
}

TEST(SpfConfig, EveryErrorIsReported) {
  auto p = parse_spf("[spf]\nenabeld = 1\n[spf.actions]\nfail = \"x\"\n[[spf.rule]]\nipv4 = 1\n");
  // enabeld (2), fail (4), ipv4 (6), and the rule (5) misses name and domains.
  ASSERT_EQ(p.errors.size(), 5u);
  EXPECT_TRUE(p.errors[0].starts_with("test.toml:2:")) << p.errors[0];
}

TEST(SpfConfig, LoadFile) {
  auto dir =
      std::filesystem::temp_directory_path() / ("mxg_spf_config_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "candidate.toml").string();
  { std::ofstream(path) << "[server]\nhostname = \"ignored\"\n\n" << kIssueExample; }
  auto c = load_spf_policy_file(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->rules.size(), 2u);

  std::ofstream(path) << "[server]\nx = 1\n";
  auto none = load_spf_policy_file(path);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, path + ": no [spf] section");

  std::ofstream(path) << "[spf]\nenabled = true\n[spf.actions]\nfail = \"nope\"\n";
  auto bad = load_spf_policy_file(path);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with(path + ":4: 'fail'")) << bad.error().message;

  std::ofstream(path) << "[spf]\nenabled = \n";
  auto syntax = load_spf_policy_file(path);
  ASSERT_FALSE(syntax);
  EXPECT_TRUE(syntax.error().message.starts_with(path + ":2: ")) << syntax.error().message;

  auto missing = load_spf_policy_file((dir / "absent.toml").string());
  EXPECT_FALSE(missing);
  std::filesystem::remove_all(dir);
}
