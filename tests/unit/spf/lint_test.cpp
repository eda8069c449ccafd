// SPF linter: each finding the linter promises (RFC 7208 3-6, 4.6.4 limits), on zones
// built in memory. Expectations come from the RFC's rules, e.g. 4.6.4 counts include,
// a, mx, ptr, exists and redirect across the whole include/redirect tree.
#include "spf/lint.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include "dns/memory_zone.hpp"

using namespace mxg;
using namespace mxg::spf;

namespace {

void txt(dns::memory_zone& z, const std::string& name, const std::string& text,
         dns::rrtype type = dns::rrtype::txt) {
  dns::record r;
  r.type = type;
  r.name = name;
  r.ttl = 300;
  r.strings = {text};
  z.add(r);
}
void a(dns::memory_zone& z, const std::string& name, const std::string& ip) {
  dns::record r;
  r.type = ip.find(':') == std::string::npos ? dns::rrtype::a : dns::rrtype::aaaa;
  r.name = name;
  r.addr = *net::ip_address::parse(ip);
  z.add(r);
}
void mx(dns::memory_zone& z, const std::string& name, int pref, const std::string& host) {
  dns::record r;
  r.type = dns::rrtype::mx;
  r.name = name;
  r.preference = static_cast<std::uint16_t>(pref);
  r.target = host;
  z.add(r);
}

lint_report run_domain(dns::memory_zone& z, const std::string& domain) {
  asio::io_context io;
  auto f = asio::co_spawn(io, lint_domain(z, domain), asio::use_future);
  io.run();
  return f.get();
}
lint_report run_record(dns::resolver* z, const std::string& record) {
  asio::io_context io;
  auto f = asio::co_spawn(io, lint_record(z, record), asio::use_future);
  io.run();
  return f.get();
}
const finding* find(const lint_report& r, const std::string& code) {
  for (const auto& f : r.findings)
    if (f.code == code) return &f;
  return nullptr;
}
int count_code(const lint_report& r, const std::string& code) {
  int n = 0;
  for (const auto& f : r.findings) n += f.code == code;
  return n;
}

}  // namespace

TEST(SpfLint, TypoRecordIsAPermerrorWithPositionAndFix) {
  auto r = run_record(nullptr,
                      "v=spf1 mx ip4:24.214.64.230 ip4:24.214.64.231 ip4:64.8.71.110 "
                      "ipv4:64.8.71.111 ipv4:64.8.71.112 -all");
  ASSERT_EQ(count_code(r, "syntax"), 2);  // both ipv4: terms are listed, not just the first
  const auto* f = find(r, "syntax");
  EXPECT_EQ(f->term, "ipv4:64.8.71.111");
  ASSERT_TRUE(f->offset);
  EXPECT_EQ(*f->offset, 62u);  // 0-based byte offset from the "v" of v=spf1
  EXPECT_NE(f->message.find("unknown mechanism"), std::string::npos) << f->message;
  EXPECT_EQ(f->fix, "write \"ip4:64.8.71.111\"");
  EXPECT_FALSE(r.ok());
}

TEST(SpfLint, AllQualifiersAndMissingAll) {
  struct Case {
    const char* record;
    const char* code;
    severity sev;
  } cases[] = {
      {"v=spf1 +all", "plus-all", severity::error},
      {"v=spf1 a ?all", "neutral-all", severity::warning},
      {"v=spf1 a ~all", "softfail-all", severity::info},
      {"v=spf1 ip4:192.0.2.1", "no-all", severity::warning},
      {"v=spf1 ptr -all", "ptr-deprecated", severity::warning},
      {"v=spf1 -all ip4:192.0.2.1", "after-all", severity::warning},
      {"v=spf1 -all redirect=_spf.example.com", "redirect-ignored", severity::warning},
      {"v=spf1 ip4:72.241.62.1/26 ~all", "cidr-host-bits", severity::warning},
      {"v=spf1 ip4:192.0.2.0/24 ip4:192.0.2.0/24 -all", "duplicate-network", severity::warning},
      {"v=spf1 ip4:192.0.2.0/24 ip4:192.0.2.128/25 -all", "overlapping-network", severity::warning},
      {"v=spf1 ip6:2001:db8::/32 ip6:2001:db8:1::/48 -all", "overlapping-network",
       severity::warning},
      {"v=spf1 foo=bar -all", "unknown-modifier", severity::info},
  };
  for (const auto& c : cases) {
    auto r = run_record(nullptr, c.record);
    const auto* f = find(r, c.code);
    ASSERT_NE(f, nullptr) << c.record << "\n" << format_report(r);
    EXPECT_EQ(f->sev, c.sev) << c.record;
    EXPECT_FALSE(f->fix.empty()) << c.record;
  }
  auto host_bits = run_record(nullptr, "v=spf1 ip4:72.241.62.1/26 ~all");
  EXPECT_NE(find(host_bits, "cidr-host-bits")->message.find("72.241.62.0/26"), std::string::npos);
  auto clean = run_record(nullptr, "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all");
  EXPECT_TRUE(clean.findings.empty()) << format_report(clean);
}

TEST(SpfLint, SyntaxGluedAllMacroInIpDuplicateModifiers) {
  for (const char* rec : {"v=spf1 a-all", "v=spf1 ip4:%{i} -all", "v=spf1 ip4:1.2.3.4/33 -all",
                          "v=spf1 redirect=a.example redirect=b.example",
                          "v=spf1 exp=a.example exp=b.example -all"}) {
    auto r = run_record(nullptr, rec);
    EXPECT_GE(count_code(r, "syntax"), 1) << rec << "\n" << format_report(r);
  }
}

TEST(SpfLint, DomainRecordSelection) {
  dns::memory_zone z;
  txt(z, "two.example", "v=spf1 -all");
  txt(z, "two.example", "v=spf1 mx -all");
  txt(z, "none.example", "some verification token");
  txt(z, "old.example", "v=spf1 -all");
  txt(z, "old.example", "v=spf1 -all", dns::rrtype::spf);
  txt(z, "old.example", "spf2.0/pra -all");
  EXPECT_EQ(find(run_domain(z, "two.example"), "multiple-records")->sev, severity::error);
  EXPECT_EQ(find(run_domain(z, "none.example"), "no-record")->sev, severity::error);
  EXPECT_NE(find(run_domain(z, "missing.example"), "no-domain"), nullptr);
  auto old = run_domain(z, "old.example");
  EXPECT_NE(find(old, "spf-rrtype"), nullptr);
  EXPECT_NE(find(old, "sender-id"), nullptr);
  EXPECT_TRUE(old.ok());
  z.add_timeout("slow.example");
  EXPECT_NE(find(run_domain(z, "slow.example"), "dns-error"), nullptr);
}

TEST(SpfLint, CountsDnsTermsAcrossTheTreeExactly) {
  dns::memory_zone z;
  // top: 2 includes + mx = 3; each include has 4 a: terms -> 3 + 8 = 11, then a redirect is
  // not reached because of -all.
  txt(z, "big.example", "v=spf1 include:i1.example include:i2.example mx -all");
  txt(z, "i1.example", "v=spf1 a:h.example a:h.example a:h.example a:h.example -all");
  txt(z, "i2.example", "v=spf1 a:h.example a:h.example a:h.example a:h.example ~all");
  a(z, "h.example", "192.0.2.1");
  a(z, "h.example", "2001:db8::1");
  mx(z, "big.example", 10, "h.example");
  auto r = run_domain(z, "big.example");
  EXPECT_EQ(r.dns_terms, 11);
  EXPECT_NE(find(r, "too-many-dns-terms"), nullptr) << format_report(r);
  ASSERT_EQ(r.tree.size(), 3u);
  EXPECT_EQ(r.tree[1].via, "include");

  // Exactly 10 is allowed; redirect counts; terms after all do not.
  txt(z, "ten.example", "v=spf1 include:i1.example include:i2.example -all a a a");
  auto ten = run_domain(z, "ten.example");
  EXPECT_EQ(ten.dns_terms, 10);
  EXPECT_EQ(find(ten, "too-many-dns-terms"), nullptr);
  txt(z, "red.example", "v=spf1 a:h.example redirect=i1.example");
  EXPECT_EQ(run_domain(z, "red.example").dns_terms, 1 + 1 + 4);
}

TEST(SpfLint, VoidLookupsPerClientFamily) {
  dns::memory_zone z;
  a(z, "v4only.example", "192.0.2.1");
  txt(z, "voids.example",
      "v=spf1 a:v4only.example a:v4only.example a:v4only.example a:gone.example -all");
  auto r = run_domain(z, "voids.example");
  EXPECT_EQ(r.void_lookups_v4, 1);  // only gone.example
  EXPECT_EQ(r.void_lookups_v6, 4);  // no AAAA anywhere
  const auto* f = find(r, "too-many-void-lookups");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->message.find("IPv6"), std::string::npos);
}

TEST(SpfLint, LoopsMissingTargetsAndTooManyMx) {
  dns::memory_zone z;
  txt(z, "loop.example", "v=spf1 include:loop2.example -all");
  txt(z, "loop2.example", "v=spf1 include:loop.example -all");
  EXPECT_NE(find(run_domain(z, "loop.example"), "include-loop"), nullptr);
  txt(z, "self.example", "v=spf1 redirect=self.example");
  EXPECT_NE(find(run_domain(z, "self.example"), "redirect-loop"), nullptr);
  txt(z, "dangling.example", "v=spf1 include:nothing.example -all");
  auto d = run_domain(z, "dangling.example");
  const auto* f = find(d, "include-no-record");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->term, "include:nothing.example");
  txt(z, "manymx.example", "v=spf1 mx -all");
  for (int i = 0; i < 11; ++i) mx(z, "manymx.example", i, "mx" + std::to_string(i) + ".example");
  EXPECT_NE(find(run_domain(z, "manymx.example"), "too-many-mx"), nullptr);
}

TEST(SpfLint, LongRecordNeedsSplitting) {
  std::string rec = "v=spf1";
  for (int i = 0; i < 20; ++i) rec += " ip4:192.0." + std::to_string(i) + ".0/24";
  rec += " -all";
  ASSERT_GT(rec.size(), 255u);
  EXPECT_NE(find(run_record(nullptr, rec), "string-too-long"), nullptr);
}
