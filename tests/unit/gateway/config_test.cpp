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
        bad_case{"state_dir = \n", "bad.toml:1:"},  // TOML syntax error
        bad_case{"state_dir = \"x\"\n", "no [listener.NAME] table"}));

TEST(GatewayConfig, EveryErrorIsReportedNotOnlyTheFirst) {
  auto c =
      parse_config("typo1 = 1\n[listener.a]\naddress = \"127.0.0.1:25\"\ntypo2 = 2\n", "x.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("x.toml:1: unknown key 'typo1'"), std::string::npos);
  EXPECT_NE(c.error().message.find("x.toml:4: unknown key 'typo2'"), std::string::npos);
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

}  // namespace
}  // namespace mxg::gateway
