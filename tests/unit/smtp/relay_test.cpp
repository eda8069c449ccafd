// relay_test.cpp: relay control (issue 3 section 3, RFC 2505 2.4/2.5): the
// classic open-relay probes from an untrusted client must all be refused, in
// lower and upper case, bracketed or not; local and relay domains and trusted
// clients are accepted. Probes go through the real command parser, as they
// arrive on the wire; a syntax refusal (501) counts as refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "smtp/command.hpp"
#include "smtp/relay.hpp"

namespace mxg::smtp {
namespace {

const relay_domains kDomains{
    {"local.test", ".sub.local.test"}, {"relay.test"}, "hostmaster@local.test"};

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// The forward-path text after "RCPT TO:".
const char* const kProbes[] = {
    "<user%ext.test@local.test>",
    "<\"user@ext.test\"@local.test>",
    "<@local.test:user@ext.test>",
    "<ext.test!user@local.test>",
    "<user@ext.test@local.test>",
    "<user@[127.0.0.1]>",
    "<user@[IPv6:::1]>",
    "<user@ext.test.>",
    "<user@ext.test>",
    "<\"\"@local.test>",
    "<\"user\"@local.test>",
    "<\"user%ext.test\"@local.test>",
    "<@local.test>",
    "<user%ext.test%local.test@local.test>",
    "<user@local.test.ext.test>",
    "<user@sub.local.test.ext.test>",
    "<user@localtest>",
    "<user@xlocal.test>",
    "<user@relay.test.ext.test>",
    "<@local.test,@relay.test:user@ext.test>",
};

// Returns the reply code an untrusted client gets for RCPT TO:<probe>: the parse
// error, relay refusal, or 250.
int rcpt_code(const std::string& arg, bool trusted) {
  auto c = parse_command("RCPT TO:" + arg);
  if (!c) return c.error().code;
  relay_decision d = check_relay(c->address, kDomains, trusted);
  return d.accepted() ? 250 : d.refusal.code;
}

TEST(SmtpRelay, OpenRelayProbesAreRefused) {
  for (const char* p : kProbes) {
    for (const std::string& form : {std::string(p), upper(p)}) {
      // And without the angle brackets, as typed in telnet.
      std::string bare = form.substr(1, form.size() - 2);
      for (const std::string& arg : {form, bare}) {
        SCOPED_TRACE(arg);
        int code = rcpt_code(arg, false);
        EXPECT_GE(code, 500) << "accepted a relay probe";
      }
    }
  }
}

TEST(SmtpRelay, RefusalIsRelayAccessDenied) {
  auto c = parse_command("RCPT TO:<user%ext.test@local.test>");
  ASSERT_TRUE(c.has_value());
  relay_decision d = check_relay(c->address, kDomains, false);
  EXPECT_FALSE(d.accepted());
  EXPECT_EQ(d.refusal.format(), "554 5.7.1 Relay access denied\r\n");
  EXPECT_FALSE(d.why.empty());
}

struct ok_case {
  const char* arg;
  bool trusted;
  relay_verdict verdict;
};

const ok_case kAccepted[] = {
    {"<user@local.test>", false, relay_verdict::local},
    {"<USER@LOCAL.TEST>", false, relay_verdict::local},
    {"<user@local.test.>", false, relay_verdict::local},  // trailing dot is the same domain
    {"user@local.test", false, relay_verdict::local},
    {"<first.last+tag@local.test>", false, relay_verdict::local},
    {"<user@a.sub.local.test>", false, relay_verdict::local},  // ".sub.local.test" entry
    {"<user@relay.test>", false, relay_verdict::relay_domain},
    {"<Postmaster>", false, relay_verdict::local},                 // RFC 5321 4.5.1
    {"<@ext.test:user@local.test>", false, relay_verdict::local},  // route ignored (4.1.2)
    // A trusted client (trusted network / authenticated) may relay.
    {"<user@ext.test>", true, relay_verdict::trusted},
    {"<user@[192.0.2.1]>", true, relay_verdict::trusted},
};

TEST(SmtpRelay, LocalRelayAndTrustedAreAccepted) {
  for (const auto& c : kAccepted) {
    SCOPED_TRACE(c.arg);
    auto cmd = parse_command(std::string("RCPT TO:") + c.arg);
    ASSERT_TRUE(cmd.has_value()) << cmd.error().summary();
    relay_decision d = check_relay(cmd->address, kDomains, c.trusted);
    EXPECT_TRUE(d.accepted()) << d.why;
    EXPECT_EQ(d.verdict, c.verdict);
  }
}

// RFC 5321 4.5.1: <Postmaster> without a domain (case-insensitive) is this host's
// postmaster: delivered to the configured address, from trusted and untrusted
// clients alike; never kept as the bare local part (which would leave by the default
// route); refused with 550 5.1.1 when no address is configured.
TEST(SmtpRelay, PostmasterGoesToTheConfiguredAddress) {
  for (const char* arg : {"<Postmaster>", "<postmaster>", "<POSTMASTER>", "<PostMaster>",
                          "Postmaster", "postmaster"}) {
    for (bool trusted : {false, true}) {
      SCOPED_TRACE(std::string(arg) + (trusted ? " trusted" : " untrusted"));
      auto cmd = parse_command(std::string("RCPT TO:") + arg);
      ASSERT_TRUE(cmd.has_value()) << cmd.error().summary();
      relay_decision d = check_relay(cmd->address, kDomains, trusted);
      EXPECT_TRUE(d.accepted());
      EXPECT_EQ(d.verdict, relay_verdict::local);
      EXPECT_EQ(d.deliver_to, "hostmaster@local.test");
    }
  }
}

TEST(SmtpRelay, PostmasterWithoutConfiguredAddressIsRefused) {
  relay_domains none{{"local.test"}, {}, ""};
  for (bool trusted : {false, true}) {
    auto cmd = parse_command("RCPT TO:<postmaster>");
    ASSERT_TRUE(cmd.has_value());
    relay_decision d = check_relay(cmd->address, none, trusted);
    EXPECT_FALSE(d.accepted());
    EXPECT_EQ(d.refusal.code, 550);
    EXPECT_EQ(d.refusal.status, status::k_5_1_1);
    EXPECT_NE(d.refusal.format().find("Postmaster"), std::string::npos);
    EXPECT_TRUE(d.deliver_to.empty());
  }
  // postmaster@domain is an ordinary address: judged by its domain as always.
  auto cmd = parse_command("RCPT TO:<postmaster@local.test>");
  ASSERT_TRUE(cmd.has_value());
  relay_decision d = check_relay(cmd->address, none, false);
  EXPECT_TRUE(d.accepted());
  EXPECT_TRUE(d.deliver_to.empty());
}

TEST(SmtpRelay, SubdomainEntryDoesNotMatchItsParent) {
  EXPECT_TRUE(domain_matches("a.sub.local.test", kDomains.local));
  EXPECT_FALSE(domain_matches("sub.local.test", {".sub.local.test"}));
  EXPECT_FALSE(domain_matches("xsub.local.test", {".sub.local.test"}));
  EXPECT_TRUE(domain_matches("LOCAL.TEST.", kDomains.local));
  EXPECT_FALSE(domain_matches("", kDomains.local));
}

}  // namespace
}  // namespace mxg::smtp
