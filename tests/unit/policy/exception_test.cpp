// Policy exceptions of "release and allow": scope matching (address, domain + CIDR
// v4/v6), the From alignment rule for DMARC, and what an exception changes.
#include "policy/exception.hpp"

#include <gtest/gtest.h>

namespace mxg::policy {
namespace {

store::policy_exception sender_scope(std::string s, std::int64_t id = 1) {
  store::policy_exception e;
  e.id = id;
  e.kind = "sender";
  e.sender = std::move(s);
  EXPECT_TRUE(normalize_scope(e));
  return e;
}

store::policy_exception domain_net(std::string d, std::string n, std::int64_t id = 2) {
  store::policy_exception e;
  e.id = id;
  e.kind = "domain_net";
  e.domain = std::move(d);
  e.net = std::move(n);
  EXPECT_TRUE(normalize_scope(e));
  return e;
}

TEST(Exception, NormalizeRefusesBlanketAndMalformedScopes) {
  struct row {
    const char *kind, *sender, *domain, *net;
  };
  for (const row& r :
       {row{"sender", "", "", ""}, row{"sender", "nodomain", "", ""},
        row{"sender", "@ext.test", "", ""}, row{"domain_net", "", "", "192.0.2.0/24"},
        row{"domain_net", "", "ext.test", ""}, row{"domain_net", "", "ext.test", "192.0.2.1"},
        row{"domain_net", "", "ext.test", "0.0.0.0/0"},
        row{"domain_net", "", "ext.test", "10.0.0.0/7"}, row{"domain_net", "", "ext.test", "::/0"},
        row{"domain_net", "", "ext.test", "2001::/15"},
        row{"domain_net", "", "ext.test", "junk/24"}, row{"all", "a@b.c", "", ""}}) {
    store::policy_exception e;
    e.kind = r.kind, e.sender = r.sender, e.domain = r.domain, e.net = r.net;
    EXPECT_FALSE(normalize_scope(e))
        << r.kind << " " << r.sender << " " << r.domain << " " << r.net;
  }
  auto e = domain_net("Ext.TEST", "192.0.2.77/24");
  EXPECT_EQ(e.domain, "ext.test");
  EXPECT_EQ(e.net, "192.0.2.0/24");
  auto s = sender_scope("Bob@Ext.Test");
  EXPECT_EQ(s.sender, "bob@ext.test");
  EXPECT_EQ(s.domain, "ext.test");
}

TEST(Exception, DefaultNetIsTheClientsSlash24OrSlash64) {
  EXPECT_EQ(default_net("192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(default_net("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(default_net("::ffff:192.0.2.9"), "192.0.2.0/24");
  EXPECT_EQ(default_net("nonsense"), "");
}

TEST(Exception, SenderScopeMatchesThatAddressOnlyFromAnyNetwork) {
  auto e = sender_scope("bob@ext.test");
  EXPECT_TRUE(scope_matches(e, "bob@ext.test", "192.0.2.1", 100));
  EXPECT_TRUE(scope_matches(e, "BOB@EXT.TEST", "2001:db8::1", 100));
  EXPECT_FALSE(scope_matches(e, "alice@ext.test", "192.0.2.1", 100));
  EXPECT_FALSE(scope_matches(e, "bob@ext.test.evil", "192.0.2.1", 100));
  EXPECT_FALSE(scope_matches(e, "", "192.0.2.1", 100));
}

TEST(Exception, DomainNetScopeNeedsTheDomainAndTheNetwork) {
  auto v4 = domain_net("ext.test", "192.0.2.0/24");
  EXPECT_TRUE(scope_matches(v4, "anyone@ext.test", "192.0.2.200", 0));
  EXPECT_TRUE(scope_matches(v4, "x@EXT.test", "::ffff:192.0.2.3", 0));
  EXPECT_FALSE(scope_matches(v4, "anyone@ext.test", "192.0.3.1", 0));
  EXPECT_FALSE(scope_matches(v4, "anyone@sub.ext.test", "192.0.2.1", 0));
  EXPECT_FALSE(scope_matches(v4, "anyone@other.test", "192.0.2.1", 0));
  EXPECT_FALSE(scope_matches(v4, "anyone@ext.test", "2001:db8::1", 0));
  auto v6 = domain_net("ext.test", "2001:db8:1::/48");
  EXPECT_TRUE(scope_matches(v6, "a@ext.test", "2001:db8:1:ffff::1", 0));
  EXPECT_FALSE(scope_matches(v6, "a@ext.test", "2001:db8:2::1", 0));
  EXPECT_FALSE(scope_matches(v6, "a@ext.test", "192.0.2.1", 0));
}

TEST(Exception, ExpiredOrDeletedNeverMatches) {
  auto e = sender_scope("bob@ext.test");
  e.expires_at = 100;
  EXPECT_TRUE(scope_matches(e, "bob@ext.test", "192.0.2.1", 99));
  EXPECT_FALSE(scope_matches(e, "bob@ext.test", "192.0.2.1", 100));
  e.expires_at.reset();
  e.deleted_at = 5;
  EXPECT_FALSE(scope_matches(e, "bob@ext.test", "192.0.2.1", 1));
}

TEST(Exception, ExceptSpfAppliesTheFirstLiveCoveringExceptionAtTheGivenClock) {
  // An exception that expires at t=1000 (set at creation, no sleeping): it changes a
  // quarantine before, nothing at and after its expiry; listed as expired then.
  auto e = domain_net("ext.test", "192.0.2.0/24", 7);
  e.expires_at = 1000;
  exception_set set({e});
  auto quarantined = [] {
    decision d;
    d.check = "spf";
    d.action = verdict::quarantine;
    d.rule = "default";
    d.reason = "spf=softfail";
    return d;
  };
  decision d = quarantined();
  const auto* x = except_spf(d, set, "a@ext.test", "192.0.2.9", 999);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->id, 7);
  EXPECT_EQ(d.action, verdict::tag);
  EXPECT_EQ(d.rule, "exception:7");
  EXPECT_FALSE(expired(e, 999));
  d = quarantined();
  EXPECT_EQ(except_spf(d, set, "a@ext.test", "192.0.2.9", 1000), nullptr);
  EXPECT_EQ(d.action, verdict::quarantine);
  EXPECT_TRUE(expired(e, 1000));
  EXPECT_FALSE(live(e, 1000));
  // Outside the network, or a tempfail: unchanged, null.
  d = quarantined();
  EXPECT_EQ(except_spf(d, set, "a@ext.test", "198.51.100.9", 10), nullptr);
  EXPECT_EQ(d.action, verdict::quarantine);
  d.action = verdict::tempfail;
  EXPECT_EQ(except_spf(d, set, "a@ext.test", "192.0.2.9", 10), nullptr);
  EXPECT_EQ(d.action, verdict::tempfail);
  // A deleted exception is neither live nor expired.
  e.deleted_at = 5;
  EXPECT_FALSE(expired(e, 2000));
  // DMARC: only for the scope's From domain.
  decision r;
  r.check = "dmarc";
  r.action = verdict::reject;
  EXPECT_EQ(except_dmarc(r, set, "a@ext.test", "192.0.2.9", "other.test", 10), nullptr);
  EXPECT_EQ(r.action, verdict::reject);
  ASSERT_NE(except_dmarc(r, set, "a@ext.test", "192.0.2.9", "ext.test", 10), nullptr);
  EXPECT_EQ(r.action, verdict::tag);
}

TEST(Exception, DmarcCoversOnlyAFromDomainEqualToTheScopesDomain) {
  auto e = sender_scope("bob@ext.test");
  EXPECT_TRUE(dmarc_matches(e, "bob@ext.test", "192.0.2.1", "ext.test", 0));
  EXPECT_TRUE(dmarc_matches(e, "bob@ext.test", "192.0.2.1", "EXT.TEST", 0));
  // A forged From (another domain) is not waved through by the envelope's exception.
  EXPECT_FALSE(dmarc_matches(e, "bob@ext.test", "192.0.2.1", "bank.test", 0));
  EXPECT_FALSE(dmarc_matches(e, "bob@ext.test", "192.0.2.1", "mail.ext.test", 0));
  EXPECT_FALSE(dmarc_matches(e, "bob@ext.test", "192.0.2.1", "", 0));
  EXPECT_FALSE(dmarc_matches(e, "eve@ext.test", "192.0.2.1", "ext.test", 0));
  auto n = domain_net("ext.test", "192.0.2.0/24");
  EXPECT_TRUE(dmarc_matches(n, "x@ext.test", "192.0.2.9", "ext.test", 0));
  EXPECT_FALSE(dmarc_matches(n, "x@ext.test", "198.51.100.9", "ext.test", 0));
  exception_set set({e, n});
  EXPECT_EQ(set.find_dmarc("bob@ext.test", "198.51.100.1", "ext.test", 0)->id, 1);
  EXPECT_EQ(set.find_dmarc("bob@ext.test", "198.51.100.1", "bank.test", 0), nullptr);
  EXPECT_EQ(set.find_spf("zed@ext.test", "192.0.2.1", 0)->id, 2);
  EXPECT_EQ(set.find_spf("zed@ext.test", "203.0.113.1", 0), nullptr);
}

TEST(Exception, ApplyTurnsQuarantineAndRejectIntoATagOnly) {
  auto e = sender_scope("bob@ext.test", 7);
  for (verdict v : {verdict::quarantine, verdict::reject}) {
    decision d;
    d.action = v;
    d.check = "spf";
    d.reason = "spf softfail";
    EXPECT_TRUE(apply(d, e));
    EXPECT_EQ(d.action, verdict::tag);
    EXPECT_EQ(d.rule, "exception:7");
    EXPECT_NE(d.header.find("X-Mxguard-Policy: "), std::string::npos);
  }
  for (verdict v : {verdict::accept, verdict::tag, verdict::tempfail}) {
    decision d;
    d.action = v;
    EXPECT_FALSE(apply(d, e));
    EXPECT_EQ(d.action, v);
  }
  decision m;
  m.action = verdict::accept;
  m.monitor = true;
  m.would = verdict::quarantine;
  EXPECT_FALSE(apply(m, e));
}

}  // namespace
}  // namespace mxg::policy
