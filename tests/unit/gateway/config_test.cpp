// config_test.cpp: gateway configuration parsing and validation (docs/configuration.md).
// Tables of TOML texts with the values or the FILE:LINE errors they must give.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gateway/config.hpp"

namespace mxg::gateway {
namespace {

TEST(GatewayConfig, EmbeddedDefaultIsConfMxguardToml) {
  std::ifstream f(MXG_SOURCE_DIR "/conf/mxguard.toml", std::ios::binary);
  ASSERT_TRUE(f) << "conf/mxguard.toml";
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(embedded_default_config(), ss.str()) << "rebuild: the embedded copy is stale";
}

TEST(GatewayConfig, EmbeddedDefaultIsACaptureListenerOnLoopback) {
  auto c = parse_config(embedded_default_config(), "<embedded>");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->listeners.size(), 1u);
  const auto& l = c->listeners[0];
  EXPECT_EQ(l.name, "capture");
  EXPECT_EQ(l.endpoint(), "127.0.0.1:2525");
  EXPECT_EQ(l.mode, delivery_mode::hold);
  EXPECT_EQ(c->state_dir, "./var");
  EXPECT_EQ(c->log_file, "");
  EXPECT_TRUE(c->relay.relay_domains.empty());
}

TEST(GatewayConfig, DefaultsAreRfc5321Values) {
  auto c = parse_config("[listener.a]\naddress = \"127.0.0.1:25\"\n", "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  const auto& l = c->listeners[0];
  EXPECT_EQ(l.limits.line_length, 512u);                 // RFC 5321 4.5.3.1.4
  EXPECT_EQ(l.limits.text_line_length, 1000u);           // 4.5.3.1.6
  EXPECT_EQ(l.limits.recipients, 100u);                  // 4.5.3.1.8
  EXPECT_EQ(l.tmo.command, std::chrono::minutes(5));     // 4.5.3.2.7
  EXPECT_EQ(l.tmo.data_block, std::chrono::minutes(3));  // 4.5.3.2.5
  EXPECT_EQ(l.tmo.data_min_rate, 500u);                  // Postfix smtpd_min_data_rate
  EXPECT_EQ(l.tmo.data_total, std::chrono::milliseconds(0));
  EXPECT_TRUE(l.v6only);
  EXPECT_TRUE(c->relay.postmaster.empty());  // <Postmaster> refused until configured
  EXPECT_EQ(l.queue_dir, "./var/queue/a");
  EXPECT_EQ(c->control_socket, "./var/control.sock");
  // never an open relay: no relay domains, loopback trusted only
  EXPECT_TRUE(c->relay.relay_domains.empty());
  ASSERT_EQ(c->relay.trusted_networks.size(), 2u);
  EXPECT_EQ(c->relay.trusted_networks[0].to_string(), "127.0.0.0/8");
}

TEST(GatewayConfig, SeveralListenersWithOwnSettings) {
  auto c = parse_config(R"(
state_dir = "/tmp/s"
[limits]
recipients = 50
[listener.prod]
address = "[::1]:2525"
delivery_mode = "deliver"
[listener.capture]
address = "127.0.0.2:25"
delivery_mode = "hold"
queue_dir = "/tmp/q2"
[listener.capture.limits]
message_size = "10M"
recipients = 7
[listener.capture.timeouts]
command = "30s"
data_block = 5
data_min_rate = 0
data_total = "1h"
)",
                        "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->listeners.size(), 2u);
  const listener_config* prod = nullptr;
  const listener_config* cap = nullptr;
  for (auto& l : c->listeners) (l.name == "prod" ? prod : cap) = &l;
  ASSERT_TRUE(prod && cap);
  EXPECT_EQ(prod->endpoint(), "[::1]:2525");
  EXPECT_EQ(prod->mode, delivery_mode::deliver);
  EXPECT_EQ(prod->limits.recipients, 50u);
  EXPECT_EQ(prod->queue_dir, "/tmp/s/queue/prod");
  EXPECT_EQ(cap->mode, delivery_mode::hold);
  EXPECT_EQ(cap->queue_dir, "/tmp/q2");
  EXPECT_EQ(cap->limits.message_size, 10u * 1024 * 1024);
  EXPECT_EQ(cap->limits.recipients, 7u);
  EXPECT_EQ(cap->tmo.command, std::chrono::seconds(30));
  EXPECT_EQ(cap->tmo.data_block, std::chrono::seconds(5));
  EXPECT_EQ(cap->tmo.data_min_rate, 0u);
  EXPECT_EQ(cap->tmo.data_total, std::chrono::hours(1));
  EXPECT_EQ(prod->tmo.data_min_rate, 500u);
}

// Issue 13 section 2: [queue] format picks how new messages are written.
TEST(GatewayConfig, QueueFormat) {
  auto dflt = parse_config("[listener.a]\naddress = \"127.0.0.1:25\"\n", "t.toml");
  ASSERT_TRUE(dflt) << dflt.error().message;
  EXPECT_EQ(dflt->queue_format, queue::kQueueFormatDefault);
  EXPECT_EQ(dflt->queue_format, queue::queue_format::single);  // docs/queue.md "Format decision"
  for (auto [text, want] : {std::pair{"single", queue::queue_format::single},
                            std::pair{"split", queue::queue_format::split}}) {
    auto c = parse_config(std::string("[queue]\nformat = \"") + text +
                              "\"\n[listener.a]\naddress = \"127.0.0.1:25\"\n",
                          "t.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->queue_format, want);
  }
}

// Issue 16: [relay] postmaster (RFC 5321 4.5.1) and a listener's v6only.
TEST(GatewayConfig, PostmasterAndV6only) {
  auto c = parse_config(R"(
[relay]
postmaster = "HostMaster@Example.ORG"
[listener.any]
address = "[::]:2525"
v6only = false
)",
                        "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->relay.postmaster, "HostMaster@example.org");  // domain normalized
  EXPECT_FALSE(c->listeners[0].v6only);
}

struct bad_case {
  const char* text;
  const char* expected;  // substring of the error, with FILE:LINE
};

class GatewayConfigErrors : public ::testing::TestWithParam<bad_case> {};

TEST_P(GatewayConfigErrors, ReportsFileAndLine) {
  auto c = parse_config(GetParam().text, "bad.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find(GetParam().expected), std::string::npos) << c.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, GatewayConfigErrors,
    ::testing::Values(
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\nadress = 1\n",
                 "bad.toml:3: unknown key 'adress'"},
        bad_case{"stat_dir = \"x\"\n[listener.a]\naddress = \"127.0.0.1:25\"\n",
                 "bad.toml:1: unknown key 'stat_dir'"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1\"\n", "bad.toml:2: address"},
        bad_case{"[listener.a]\naddress = \"::1:25\"\n", "bad.toml:2: address"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:70000\"\n", "bad.toml:2:"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\ndelivery_mode = \"now\"\n",
                 "bad.toml:3: delivery_mode"},
        bad_case{
            "[listener.a]\naddress = \"127.0.0.1:25\"\n[listener.a.limits]\nline_length = 100\n",
            "bad.toml:4: 'line_length'"},
        bad_case{
            "[listener.a]\naddress = \"127.0.0.1:25\"\n[listener.a.timeouts]\ncommand = \"5x\"\n",
            "bad.toml:4: 'command'"},
        bad_case{"[relay]\ntrusted_networks = [\n \"10.0.0.0/8\",\n \"300.1.1.1/8\"]\n"
                 "[listener.a]\naddress = \"127.0.0.1:25\"\n",
                 "bad.toml:4: trusted_networks"},
        bad_case{"[log]\nformat = \"xml\"\n[listener.a]\naddress = \"127.0.0.1:25\"\n",
                 "bad.toml:2: log.format"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\ntls_cert = \"c.pem\"\n",
                 "tls_cert and tls_key go together"},
        bad_case{
            "[listener.a]\naddress = \"127.0.0.1:25\"\n[listener.b]\naddress = \"127.0.0.1:25\"\n",
            "bad.toml:4: address 127.0.0.1:25 is used by two listeners"},
        bad_case{"[relay]\npostmaster = \"postmaster\"\n[listener.a]\naddress = \"127.0.0.1:25\"\n",
                 "bad.toml:2: relay.postmaster must be a mailbox"},
        bad_case{
            "[relay]\npostmaster = \"a@[127.0.0.1]\"\n[listener.a]\naddress = \"127.0.0.1:25\"\n",
            "bad.toml:2: relay.postmaster"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[listener.a.timeouts]\n"
                 "data_min_rate = -1\n",
                 "bad.toml:4: 'data_min_rate'"},
        bad_case{"[queue]\nformat = \"onefile\"\n[listener.a]\naddress = \"127.0.0.1:25\"\n",
                 "bad.toml:2: [queue] format must be \"split\" or \"single\""},
        bad_case{"[queue]\nformat = 1\n[listener.a]\naddress = \"127.0.0.1:25\"\n",
                 "bad.toml:2: [queue] format"},
        bad_case{"[queue]\nfromat = \"single\"\n[listener.a]\naddress = \"127.0.0.1:25\"\n",
                 "bad.toml:2: unknown key 'fromat'"},
        bad_case{"state_dir = \n", "bad.toml:1:"},  // TOML syntax error
        bad_case{"state_dir = \"x\"\n", "no [listener.NAME] table"}));

TEST(GatewayConfig, EveryErrorIsReportedNotOnlyTheFirst) {
  auto c =
      parse_config("typo1 = 1\n[listener.a]\naddress = \"127.0.0.1:25\"\ntypo2 = 2\n", "x.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("x.toml:1: unknown key 'typo1'"), std::string::npos);
  EXPECT_NE(c.error().message.find("x.toml:4: unknown key 'typo2'"), std::string::npos);
}

// --- issue 9: [spf], [listener.NAME.spf], [policy_service], [quarantine], [history] ---

constexpr const char* kListener = "[listener.mx]\naddress = \"127.0.0.1:2525\"\n";

// The issue's [spf] example, verbatim, inside a server configuration.
constexpr const char* kIssueSpf = R"([spf]
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

TEST(GatewayConfigSpf, IssueExampleParses) {
  auto c = parse_config(std::string(kListener) + kIssueSpf, "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  using policy::verdict;
  using R = spf::result;
  EXPECT_TRUE(c->spf.enabled);
  EXPECT_TRUE(c->spf.check_helo);
  EXPECT_EQ(c->spf.reject_stage, policy::spf_stage::rcpt);
  EXPECT_EQ(c->spf.authserv_id, "mx.example.com");
  EXPECT_EQ(c->spf.actions[static_cast<std::size_t>(R::fail)], verdict::reject);
  EXPECT_EQ(c->spf.actions[static_cast<std::size_t>(R::softfail)], verdict::quarantine);
  EXPECT_EQ(c->spf.actions[static_cast<std::size_t>(R::temperror)], verdict::tempfail);
  ASSERT_EQ(c->spf.rules.size(), 2u);
  EXPECT_EQ(c->spf.rules[0].name, "strict brands");
  EXPECT_EQ(c->spf.rules[0].actions[static_cast<std::size_t>(R::softfail)], verdict::reject);
  EXPECT_EQ(c->spf.rules[1].name, "broken record, known sender");
  for (const auto& a : c->spf.rules[1].actions) EXPECT_EQ(a, verdict::accept);
  // Lines count from the top of the file: the listener takes two.
  EXPECT_EQ(c->spf.rules[0].line, 16u);
  EXPECT_EQ(c->spf.rules[1].line, 20u);
}

TEST(GatewayConfigSpf, DefaultsWithoutTheSection) {
  auto c = parse_config(std::string("hostname = \"mx.here.test\"\n") + kListener, "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->spf.enabled);
  EXPECT_TRUE(c->spf.rules.empty());
  // RFC 8601 2.5: the authserv-id defaults to the host name.
  EXPECT_EQ(c->spf.authserv_id, "mx.here.test");
  EXPECT_TRUE(c->policy_service.listen.empty());
  EXPECT_EQ(c->quarantine.retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(c->history.retention, std::chrono::hours(24 * 90));
  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_FALSE(c->listeners[0].spf_enabled);
  EXPECT_FALSE(c->listeners[0].spf_trusted_networks);
  EXPECT_FALSE(c->listeners[0].spf_trusted_forwarders);
}

TEST(GatewayConfigSpf, ListenerOverrides) {
  auto c = parse_config(R"([spf]
enabled = true
trusted_networks = ["10.0.0.0/8"]
[listener.inbound]
address = "127.0.0.1:2525"
[listener.inbound.spf]
trusted_networks = ["192.0.2.0/24", "2001:db8::/32"]
trusted_forwarders = []
[listener.submission]
address = "127.0.0.1:2587"
[listener.submission.spf]
enabled = false
[listener.plain]
address = "127.0.0.1:2526"
)",
                        "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->listeners.size(), 3u);
  const listener_config *in = nullptr, *sub = nullptr, *plain = nullptr;
  for (auto& l : c->listeners)
    (l.name == "inbound" ? in : l.name == "submission" ? sub : plain) = &l;
  ASSERT_TRUE(in && sub && plain);
  EXPECT_FALSE(in->spf_enabled);  // not set: the global [spf] enabled applies
  ASSERT_TRUE(in->spf_trusted_networks);
  ASSERT_EQ(in->spf_trusted_networks->size(), 2u);
  EXPECT_EQ((*in->spf_trusted_networks)[0].to_string(), "192.0.2.0/24");
  EXPECT_EQ((*in->spf_trusted_networks)[1].to_string(), "2001:db8::/32");
  ASSERT_TRUE(in->spf_trusted_forwarders);  // set, and empty: none for this listener
  EXPECT_TRUE(in->spf_trusted_forwarders->empty());
  ASSERT_TRUE(sub->spf_enabled);
  EXPECT_FALSE(*sub->spf_enabled);
  EXPECT_FALSE(sub->spf_trusted_networks);
  EXPECT_FALSE(plain->spf_enabled);
  EXPECT_FALSE(plain->spf_trusted_networks);
  // The global section is unchanged by the overrides.
  ASSERT_EQ(c->spf.trusted_networks.size(), 1u);
  EXPECT_EQ(c->spf.trusted_networks[0].to_string(), "10.0.0.0/8");
}

TEST(GatewayConfigSpf, PolicyServiceQuarantineHistory) {
  auto c = parse_config(std::string(kListener) + R"([policy_service]
listen = "127.0.0.1:10031"
[quarantine]
retention = "7d"
[history]
retention = "12h"
path = "/tmp/h.db"
)",
                        "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->policy_service.listen, "127.0.0.1:10031");
  EXPECT_EQ(c->quarantine.retention, std::chrono::hours(24 * 7));
  EXPECT_EQ(c->history.retention, std::chrono::hours(12));
  EXPECT_EQ(c->history.path, "/tmp/h.db");

  // 0 keeps forever, as an integer or a string; IPv6 listen address.
  c = parse_config(std::string(kListener) + R"([policy_service]
listen = "[::1]:10031"
[quarantine]
retention = 0
[history]
retention = "0"
)",
                   "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->policy_service.listen, "[::1]:10031");
  EXPECT_EQ(c->quarantine.retention, std::chrono::seconds(0));
  EXPECT_EQ(c->history.retention, std::chrono::seconds(0));
}

INSTANTIATE_TEST_SUITE_P(
    Issue9, GatewayConfigErrors,
    ::testing::Values(
        // [spf] errors come from policy/spf_config with the file's name and line.
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[spf]\n[spf.actions]\n"
                 "fail = \"bounce\"\n",
                 "bad.toml:5: 'fail' = \"bounce\""},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[spf]\n[spf.actions]\n"
                 "softfial = \"reject\"\n",
                 "bad.toml:5: unknown key 'softfial' in [spf.actions]"},
        bad_case{"[spf]\nenabled = true\nreject_stage = \"data\"\n"
                 "[listener.a]\naddress = \"127.0.0.1:25\"\n",
                 "bad.toml:3: 'reject_stage' = \"data\""},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[spf]\n[[spf.rule]]\nname = \"x\"\n"
                 "domains = [\"ok.example\", \"bad domain\"]\n",
                 "bad.toml:6: 'domains': \"bad domain\" is not a domain"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[spf]\nenabeld = true\n",
                 "bad.toml:4: unknown key 'enabeld' in [spf]"},
        // [listener.NAME.spf]
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[listener.a.spf]\nenable = false\n",
                 "bad.toml:4: unknown key 'enable'"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[listener.a.spf]\n"
                 "trusted_networks = [\"10.0.0.0/33\"]\n",
                 "bad.toml:4: trusted_networks"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[listener.a.spf]\nenabled = \"no\"\n",
                 "bad.toml:4:"},
        // [policy_service]
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[policy_service]\n"
                 "listen = \"127.0.0.1\"\n",
                 "bad.toml:4: policy_service.listen"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[policy_service]\nport = 10031\n",
                 "bad.toml:4: unknown key 'port'"},
        // [quarantine] / [history] retention
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[quarantine]\nretention = \"7x\"\n",
                 "bad.toml:4: 'retention' must be a period"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[quarantine]\nretention = -1\n",
                 "bad.toml:4: 'retention' must be a period"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[quarantine]\nkeep = \"7d\"\n",
                 "bad.toml:4: unknown key 'keep'"},
        bad_case{"[listener.a]\naddress = \"127.0.0.1:25\"\n[history]\n\nretention = \"d\"\n",
                 "bad.toml:5: 'retention' must be a period"}));

TEST(GatewayConfigSpf, EverySpfErrorIsReportedWithTheOthers) {
  auto c = parse_config(
      "typo = 1\n[listener.a]\naddress = \"127.0.0.1:25\"\n[spf]\n[spf.actions]\n"
      "fail = \"x\"\n[quarantine]\nretention = \"soon\"\n",
      "x.toml");
  ASSERT_FALSE(c);
  const auto& m = c.error().message;
  EXPECT_NE(m.find("x.toml:1: unknown key 'typo'"), std::string::npos) << m;
  EXPECT_NE(m.find("x.toml:6: 'fail' = \"x\""), std::string::npos) << m;
  EXPECT_NE(m.find("x.toml:8: 'retention'"), std::string::npos) << m;
}

TEST(GatewayConfig, CommandLineOverrides) {
  auto c = parse_config(embedded_default_config(), "<embedded>");
  ASSERT_TRUE(c);
  ASSERT_TRUE(apply_overrides(*c, "[::1]:2626", "queueonly"));
  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_EQ(c->listeners[0].endpoint(), "[::1]:2626");
  EXPECT_EQ(c->listeners[0].mode, delivery_mode::queueonly);
  EXPECT_FALSE(apply_overrides(*c, "", "later"));
  EXPECT_FALSE(apply_overrides(*c, "nohost", ""));
}

// --- issue 12: [dnsbl] inside a server configuration ---

TEST(GatewayConfigDnsbl, ParsesAndReportsLinesOfTheWholeFile) {
  auto c = parse_config(std::string(kListener) + R"([dnsbl]
enabled = true
stage = "rcpt"
[dnsbl.actions]
reject = 4
[[dnsbl.zone]]
name = "bl.example"
codes = { "127.0.0.2" = 4 }
)",
                        "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->dnsbl.enabled);
  EXPECT_EQ(c->dnsbl.stage, policy::dnsbl_stage::rcpt);
  ASSERT_EQ(c->dnsbl.zones.size(), 1u);
  EXPECT_EQ(c->dnsbl.zones[0].line, 8u);  // the listener takes two lines
  auto off = parse_config(kListener, "t.toml");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->dnsbl.enabled);

  auto bad = parse_config(std::string(kListener) + R"([dnsbl]
enabled = true
[[dnsbl.zone]]
name = "bl.example"
wieght = 3
)",
                          "t.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("t.toml:7: unknown key 'wieght' in [[dnsbl.zone]] #1"),
            std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace mxg::gateway

// Issue 10: [dkim], [dmarc] and their per-listener overrides; one authserv-id.
using mxg::gateway::parse_config;

TEST(GatewayConfig, DkimDmarcSectionsAndOverrides) {
  auto c = parse_config(R"(
[spf]
enabled = true
authserv_id = "mx.example.com"
[dkim]
enabled = true
[dmarc]
enabled = true
trusted_arc_sealers = ["lists.example.org"]
[[dmarc.rule]]
name = "partner"
domains = ["partner.example"]
fail_reject = "quarantine"
[listener.mx]
address = "127.0.0.1:2525"
[listener.sub]
address = "127.0.0.1:2587"
[listener.sub.dmarc]
enabled = false
[listener.sub.dkim]
enabled = false
)",
                        "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->dkim.enabled);
  EXPECT_TRUE(c->dmarc.enabled);
  EXPECT_EQ(c->dmarc.authserv_id, "mx.example.com");  // [spf]'s: one A-R field
  ASSERT_EQ(c->dmarc.rules.size(), 1u);
  ASSERT_EQ(c->listeners.size(), 2u);
  const auto& mx = c->listeners[0].name == "mx" ? c->listeners[0] : c->listeners[1];
  const auto& sub = c->listeners[0].name == "sub" ? c->listeners[0] : c->listeners[1];
  EXPECT_FALSE(mx.dmarc_enabled.has_value());
  EXPECT_EQ(sub.dmarc_enabled, false);
  EXPECT_EQ(sub.dkim_enabled, false);
}

TEST(GatewayConfig, DkimDmarcErrors) {
  auto c = parse_config(
      "[spf]\nauthserv_id = \"a.example\"\n[dmarc]\nauthserv_id = \"b.example\"\n"
      "[listener.a]\naddress = \"127.0.0.1:25\"\n[listener.a.dmarc]\nenable = true\n",
      "t.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("t.toml:4: [dmarc] authserv_id differs"), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("t.toml:8: unknown key 'enable'"), std::string::npos)
      << c.error().message;
  auto d =
      parse_config("[dmarc]\nmode = \"psl\"\n[listener.a]\naddress = \"127.0.0.1:25\"\n", "t.toml");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("t.toml:2:"), std::string::npos) << d.error().message;
}
