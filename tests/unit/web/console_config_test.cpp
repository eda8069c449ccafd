// [console] in a server configuration (gateway/console_config.hpp): accepted settings
// and every refusal as FILE:LINE.
#include <gtest/gtest.h>

#include "gateway/config.hpp"
#include "gateway/preflight.hpp"

using namespace mxg::gateway;

namespace {

const char* kListener = "[listener.a]\naddress = \"127.0.0.1:2525\"\n";
const char* kHash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

std::string errors_of(const std::string& text) {
  auto c = parse_config(text, "c.toml");
  return c ? std::string() : c.error().message;
}

}  // namespace

TEST(ConsoleConfig, OffUnlessListenIsSet) {
  auto c = parse_config(kListener, "c.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->console.enabled());
}

TEST(ConsoleConfig, UsersWithRolesAndDomains) {
  std::string text = std::string(kListener) +
                     "[console]\nlisten = \"127.0.0.1:8025\"\nidle_timeout = \"2h\"\n"
                     "[console.users.alice]\nrole = \"admin\"\npassword = \"" +
                     kHash +
                     "\"\n"
                     "[console.users.desk]\nrole = \"helpdesk\"\ndomains = [\"Example.COM\"]\n"
                     "password = \"" +
                     kHash + "\"\n";
  auto c = parse_config(text, "c.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->console.enabled());
  EXPECT_EQ(c->console.listen, "127.0.0.1:8025");
  EXPECT_EQ(c->console.idle_timeout, std::chrono::hours(2));
  ASSERT_EQ(c->console.users.size(), 2u);
  EXPECT_EQ(c->console.users[0].name, "alice");
  EXPECT_EQ(c->console.users[0].role, console_role::admin);
  EXPECT_EQ(c->console.users[1].role, console_role::helpdesk);
  EXPECT_EQ(c->console.users[1].domains, std::vector<std::string>{"example.com"});
  EXPECT_EQ(c->console.users[1].password_hash, kHash);
}

TEST(ConsoleConfig, EveryProblemWithItsLine) {
  std::string text = std::string(kListener) +    // lines 1-2
                     "[console]\n"               // 3
                     "listen = \"localhost\"\n"  // 4: not IP:PORT
                     "tls_cert = \"/x.pem\"\n"   // 5: without tls_key
                     "idle_timeout = \"1w\"\n"   // 6
                     "typo = 1\n"                // 7
                     "[console.users.alice]\n"   // 8
                     "role = \"root\"\n"         // 9
                     "password = \"hunter2\"\n"  // 10: not a hash
                     "[console.users.desk]\n"    // 11: helpdesk without domains
                     "role = \"helpdesk\"\n"     // 12
                     "password = \"" +
                     kHash +
                     "\"\n"                    // 13
                     "[console.users.nopw]\n"  // 14: no password
                     "role = \"admin\"\n";     // 15
  std::string m = errors_of(text);
  EXPECT_NE(m.find("c.toml:4: console.listen"), std::string::npos) << m;
  EXPECT_NE(m.find("c.toml:5: console: set both tls_cert and tls_key"), std::string::npos) << m;
  EXPECT_NE(m.find("c.toml:6: console.idle_timeout"), std::string::npos) << m;
  EXPECT_NE(m.find("c.toml:7: unknown key 'typo' in [console]"), std::string::npos) << m;
  EXPECT_NE(m.find("c.toml:9: [console.users.alice] role must be"), std::string::npos) << m;
  EXPECT_NE(m.find("c.toml:10: [console.users.alice] password must be an argon2id hash"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("c.toml:11: [console.users.desk] a helpdesk user needs domains"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("c.toml:14: [console.users.nopw] needs password"), std::string::npos) << m;
  EXPECT_EQ(m.find("hunter2"), std::string::npos) << "a password is never echoed: " << m;
}

TEST(ConsoleConfig, EmbeddedDefaultEnablesItOnLoopback) {
  auto c = parse_config(embedded_default_config(), "<embedded>");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->console.listen, "127.0.0.1:8025");
  EXPECT_TRUE(c->console.users.empty());  // first-run admin
}

TEST(ConsoleConfig, ListenClashWithAnSmtpListenerIsReported) {
  std::string text = std::string(kListener) + "[console]\nlisten = \"127.0.0.1:2525\"\n";
  std::string m = errors_of(text);
  EXPECT_NE(m.find("c.toml:4: console.listen 127.0.0.1:2525 clashes with listener a"),
            std::string::npos)
      << m;
}

TEST(ConsoleConfig, PreflightChecksTheTlsFilesAtTheirLine) {
  std::string text = "state_dir = \"/tmp\"\n" + std::string(kListener) +
                     "[console]\nlisten = \"127.0.0.1:8025\"\n"
                     "tls_cert = \"/nonexistent/console.pem\"\n"
                     "tls_key = \"/nonexistent/console.key\"\n";
  auto c = parse_config(text, "c.toml");
  ASSERT_TRUE(c) << c.error().message;
  std::string all;
  for (const auto& p : preflight(*c)) all += p + "\n";
  EXPECT_NE(all.find("c.toml:6: tls_cert /nonexistent/console.pem"), std::string::npos) << all;
}

// Issue 11: release requests. approval_domains names the recipient domains where a
// helpdesk release needs an admin's approval; "*" is every domain.
TEST(ConsoleConfig, ApprovalDomainsDecideWhichReleasesNeedApproval) {
  std::string text = std::string(kListener) +
                     "[console]\nlisten = \"127.0.0.1:8025\"\n"
                     "approval_domains = [\"Example.COM\", \"b.test\"]\n";
  auto c = parse_config(text, "c.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->console.approval_domains, (std::vector<std::string>{"example.com", "b.test"}));
  EXPECT_TRUE(c->console.needs_approval("bob@example.com"));
  EXPECT_TRUE(c->console.needs_approval("x@other.test,Bob@EXAMPLE.com"));  // any recipient
  EXPECT_FALSE(c->console.needs_approval("bob@sub.example.com"));          // exact domain
  EXPECT_FALSE(c->console.needs_approval("bob@example.com.evil"));
  EXPECT_FALSE(c->console.needs_approval("bob@other.test"));
  EXPECT_FALSE(c->console.needs_approval(""));

  auto all =
      parse_config(std::string(kListener) +
                       "[console]\nlisten = \"127.0.0.1:8025\"\napproval_domains = [\"*\"]\n",
                   "c.toml");
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_TRUE(all->console.needs_approval("anyone@anywhere.test"));

  auto none =
      parse_config(std::string(kListener) + "[console]\nlisten = \"127.0.0.1:8025\"\n", "c.toml");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->console.needs_approval("bob@example.com"));  // off by default
}

TEST(ConsoleConfig, BadApprovalDomainsAreReportedAtTheirLine) {
  std::string m = errors_of(std::string(kListener) +              // 1-2
                            "[console]\n"                         // 3
                            "listen = \"127.0.0.1:8025\"\n"       // 4
                            "approval_domains = [\"ok.test\",\n"  // 5
                            "  \"bob@example.com\",\n"            // 6
                            "  7]\n");                            // 7
  EXPECT_NE(m.find("c.toml:6: console.approval_domains: 'bob@example.com' is not a domain"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("c.toml:7: console.approval_domains"), std::string::npos) << m;
  std::string s = errors_of(std::string(kListener) +
                            "[console]\nlisten = \"127.0.0.1:8025\"\napproval_domains = \"*\"\n");
  EXPECT_NE(s.find("c.toml:5: console.approval_domains must be an array"), std::string::npos) << s;
}
