// backscatter_config_test.cpp: the [backscatter], [history] and [dns] keys of the
// gateway configuration (docs/configuration.md): values, defaults, FILE:LINE errors.
#include <gtest/gtest.h>

#include "gateway/config.hpp"

namespace mxg::gateway {
namespace {

constexpr const char* kListener = "[listener.a]\naddress = \"127.0.0.1:25\"\n";

result<config> parse(const std::string& top) {
  return parse_config(top + "\n" + kListener, "bs.toml");
}

TEST(BackscatterConfig, Defaults) {
  auto c = parse("state_dir = \"/tmp/st\"");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->backscatter.enabled);
  EXPECT_EQ(c->backscatter.unsigned_bounce, bs_action::reject);
  EXPECT_EQ(c->backscatter.ndr_backscatter, bs_action::quarantine);
  EXPECT_TRUE(c->history.enabled);
  EXPECT_EQ(c->history.path, "/tmp/st/history.db");
  EXPECT_TRUE(c->dns.servers.empty());  // /etc/resolv.conf
  EXPECT_EQ(c->dns.timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c->dns.tries, 2);
}

TEST(BackscatterConfig, EveryActionAtRcptAndAfterData) {
  for (const char* a : {"accept", "tag", "quarantine", "reject"}) {
    auto c = parse(std::string("[relay]\nlocal_domains = [\"Our.Test\"]\n[backscatter]\n"
                               "enabled = true\nbatv_secret = \"s\"\nunsigned_bounce = \"") +
                   a + "\"\nndr_backscatter = \"" + a + "\"\n");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_STREQ(to_string(c->backscatter.unsigned_bounce), a);
    EXPECT_STREQ(to_string(c->backscatter.ndr_backscatter), a);
    ASSERT_EQ(c->backscatter.our_domains.size(), 1u);
    EXPECT_EQ(c->backscatter.our_domains[0], "our.test");  // from relay.local_domains
  }
}

TEST(BackscatterConfig, EnabledWithoutBatvJudgesAfterData) {
  auto c = parse(
      "[backscatter]\nenabled = true\nour_domains = [\"our.test\"]\nndr_backscatter = \"tag\"\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->backscatter.batv);
  backscatter_filter f(c->backscatter);
  EXPECT_TRUE(f.judges_after_data());
  EXPECT_FALSE(f.batv_on());
  auto b = parse(
      "[backscatter]\nenabled = true\nour_domains = [\"our.test\"]\nbatv_secret = \"k\"\n"
      "batv_days = 3\nbatv_old_secrets = [\"old\"]\n");
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_TRUE(b->backscatter.batv);
  EXPECT_EQ(b->backscatter.batv->validity_days, 3);
  EXPECT_EQ(b->backscatter.batv->old_secrets, std::vector<std::string>{"old"});
  backscatter_filter g(b->backscatter);
  EXPECT_FALSE(g.judges_after_data());
  EXPECT_TRUE(g.batv_on());
}

TEST(BackscatterConfig, HistoryAndDns) {
  auto c = parse(
      "[history]\nenabled = false\npath = \"/var/h.db\"\n[dns]\n"
      "servers = [\"127.0.0.1:5353\", \"[::1]:53\", \"192.0.2.1\"]\ntimeout = \"500ms\"\n"
      "tries = 3\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->history.enabled);
  EXPECT_EQ(c->history.path, "/var/h.db");
  EXPECT_EQ(c->dns.servers.size(), 3u);
  EXPECT_EQ(c->dns.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c->dns.tries, 3);
}

struct bad_case {
  const char* text;
  const char* expected;  // substring of the error, with FILE:LINE
};

class BackscatterConfigErrors : public ::testing::TestWithParam<bad_case> {};

TEST_P(BackscatterConfigErrors, ReportsFileAndLine) {
  auto c = parse(GetParam().text);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find(GetParam().expected), std::string::npos) << c.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BackscatterConfigErrors,
    ::testing::Values(
        bad_case{"[backscatter]\nenabled = true\nour_domains = [\"o.test\"]\n"
                 "unsigned_bounce = \"drop\"\n",
                 "bs.toml:4: backscatter.unsigned_bounce must be"},
        bad_case{"[backscatter]\nndr_backscatter = \"bounce\"\n",
                 "bs.toml:2: backscatter.ndr_backscatter must be"},
        bad_case{"[backscatter]\nndr_backscatter = 1\n", "bs.toml:2: backscatter.ndr_backscatter"},
        bad_case{"[backscatter]\nenabled = true\n", "bs.toml:1: [backscatter] needs our_domains"},
        bad_case{"[backscatter]\nbatv_old_secrets = [\"x\"]\n",
                 "bs.toml:2: backscatter.batv_old_secrets needs batv_secret"},
        bad_case{"[backscatter]\nbatv_secret = \"s\"\nbatv_days = 0\n",
                 "bs.toml:3: backscatter.batv_days"},
        bad_case{"[backscatter]\nndr_backscater = \"tag\"\n",
                 "bs.toml:2: unknown key 'ndr_backscater' in [backscatter]"},
        bad_case{"[history]\nenabled = \"yes\"\n", "bs.toml:2: 'enabled' must be true or false"},
        bad_case{"[history]\nfile = \"h.db\"\n", "bs.toml:2: unknown key 'file' in [history]"},
        bad_case{"[dns]\nservers = [\"localhost:53\"]\n", "bs.toml:2: dns.servers:"},
        bad_case{"[dns]\nservers = [\"127.0.0.1:99999\"]\n", "bs.toml:2: dns.servers:"},
        bad_case{"[dns]\nservers = \"127.0.0.1\"\n", "bs.toml:2: 'servers' must be an array"},
        bad_case{"[dns]\ntimeout = \"0s\"\n", "bs.toml:2: 'timeout'"},
        bad_case{"[dns]\ntries = 0\n", "bs.toml:2: 'tries'"},
        bad_case{"[dns]\nserver = []\n", "bs.toml:2: unknown key 'server' in [dns]"}));

}  // namespace
}  // namespace mxg::gateway
