// Parser tests (RFC 7208 4.5, 4.6, 5, 6, 7.1, 12): a table of records, each with the
// expected outcome; errors carry the diagnostic's term, offset and suggestion.
// Cases come from the RFC's ABNF and the openspf suite (../shared/conformance/spf).
#include "spf/record.hpp"

#include <gtest/gtest.h>

using namespace mxg::spf;

namespace {

struct bad_case {
  const char* record;
  const char* term;                 // expected diagnostic term
  std::size_t offset;               // expected offset
  const char* suggestion_contains;  // "" = no check
};

const bad_case kBad[] = {
    // The typo record: ipv4: is not a mechanism.
    {"v=spf1 mx ip4:24.214.64.230 ip4:24.214.64.231 ip4:64.8.71.110 ipv4:64.8.71.111 "
     "ipv4:64.8.71.112 -all",
     "ipv4:64.8.71.111", 62, "did you mean ip4:?"},
    {"v=spf1 ip4:1.2.3.4 -all moo", "moo", 24, ""},  // 4.6: errors anywhere
    {"v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all", "moo.cow/far_out=man:dog/cat", 7, ""},
    {"v=spf1 moo.cow:far_out=man:dog/cat -all", "moo.cow:far_out=man:dog/cat", 7, ""},
    {"v=spf1 ip4:1.2.3.4 redirect:t2.example.com", "redirect:t2.example.com", 19, "redirect="},
    {"v=spf1 a:foo-bar -all", "a:foo-bar", 7, ""},
    {"v=spf1 -all.", "-all.", 7, "no argument"},
    {"v=spf1 -all:foobar", "-all:foobar", 7, "write \"-all\""},
    {"v=spf1 -all/8", "-all/8", 7, ""},
    {"v=spf1 ptr/0 -all", "ptr/0", 7, ""},
    {"v=spf1 ptr:", "ptr:", 7, ""},
    {"v=spf1 a/33 -all", "a/33", 7, "0-32"},
    {"v=spf1 a//129 -all", "a//129", 7, ""},
    {"v=spf1 a/24/64 -all", "a/24/64", 7, ""},
    {"v=spf1 a:example.com:8080", "a:example.com:8080", 7, ""},
    {"v=spf1 a:111.222.33.44", "a:111.222.33.44", 7, "ip4:111.222.33.44"},
    {"v=spf1 a:abc.123", "a:abc.123", 7, ""},
    {"v=spf1 a:museum", "a:museum", 7, ""},
    {"v=spf1 a:museum.", "a:museum.", 7, ""},
    {"v=spf1 a:example.-com", "a:example.-com", 7, ""},
    {"v=spf1 a:", "a:", 7, ""},
    {"v=spf1 include +all", "include", 7, ""},
    {"v=spf1 include:ip5.example.com/24 -all", "include:ip5.example.com/24", 7, "CIDR"},
    {"v=spf1 exists", "exists", 7, ""},
    {"v=spf1 exists:mail.example.com/24", "exists:mail.example.com/24", 7, ""},
    {"v=spf1 ip4:1.2.3.4/33 -all", "ip4:1.2.3.4/33", 7, "0-32"},
    {"v=spf1 ip4:1.2.3.4/032 -all", "ip4:1.2.3.4/032", 7, ""},
    {"v=spf1 ip4", "ip4", 7, ""},
    {"v=spf1 ip4:1.2.3.4//32", "ip4:1.2.3.4//32", 7, ""},
    {"v=spf1 ip4:1.2.3.4:8080", "ip4:1.2.3.4:8080", 7, "port"},
    {"v=spf1 ip4:1.2.3", "ip4:1.2.3", 7, "four octets"},
    {"v=spf1 ip4:01.2.3.4", "ip4:01.2.3.4", 7, ""},
    {"v=spf1 ip4:%{i}", "ip4:%{i}", 7, "macros are not expanded"},
    {"v=spf1 ip6:%{i}/64", "ip6:%{i}/64", 7, "macros are not expanded"},
    {"v=spf1 -all ip6", "ip6", 12, ""},
    {"v=spf1 ip6:::1.1.1.1/129", "ip6:::1.1.1.1/129", 7, ""},
    {"v=spf1 ip6:::1.1.1.1//33", "ip6:::1.1.1.1//33", 7, ""},
    {"v=spf1 ip6::CAFE::BABE", "ip6::CAFE::BABE", 7, ""},
    {"v=spf1 exp=a.example.com -all exp=b.example.com", "exp=b.example.com", 30, "offset 7"},
    {"v=spf1 redirect=a.example.com redirect=b.example.com", "redirect=b.example.com", 30,
     "offset 7"},
    {"v=spf1 exp= -all", "exp=", 7, ""},
    {"v=spf1 exp=-all", "exp=-all", 7, ""},
    {"v=spf1 redirect=-all ?all", "redirect=-all", 7, ""},
    {"v=spf1 ?all redirect=", "redirect=", 12, ""},
    {"v=spf1 1up=foo", "1up=foo", 7, ""},
    {"v=spf1 =all", "=all", 7, ""},
    {"v=spf1 -all foo=%abc", "foo=%abc", 12, ""},
    {"v=spf1 a:ctrl.example.com\rptr -all", "a:ctrl.example.com\rptr", 7, "control"},
    {"v=spf1 \xc2\x80"
     "a:example.net -all",
     "\xc2\x80"
     "a:example.net",
     7, "7-bit"},
    {"v=spf1 include:_spf.example.com~all", "include:_spf.example.com~all", 7, "glued"},
    {"v=spf1 a mx-all", "mx-all", 9, "glued"},
    {"v=spf1 mx~all", "mx~all", 7, "glued"},
    {"v=spf1 -exists:%(ir).sbl.example.com ?all", "-exists:%(ir).sbl.example.com", 7, ""},
    {"v=spf1 exists:foo%.sbl.example.com ?all", "exists:foo%.sbl.example.com", 7, ""},
    {"v=spf1 -all exp=%{r}.example.com", "exp=%{r}.example.com", 12, ""},
    {"v=spf1 a:%{a}.example.com -all", "a:%{a}.example.com", 7, ""},
    {"v=spf1 a:%{d0}.example.com -all", "a:%{d0}.example.com", 7, ""},
    {"v=spf1 inlcude:_spf.example.com", "inlcude:_spf.example.com", 7, "include:"},
    {"v=spf10", "v=spf10", 0, "v=spf1"},
};

TEST(SpfParse, Errors) {
  for (const auto& c : kBad) {
    SCOPED_TRACE(c.record);
    auto r = parse(c.record);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().term, c.term);
    EXPECT_EQ(r.error().offset, c.offset);
    if (*c.suggestion_contains) {
      EXPECT_NE(r.error().suggestion.find(c.suggestion_contains), std::string::npos)
          << r.error().to_string();
    }
  }
}

TEST(SpfParse, TypoRecordDiagnosticText) {
  auto r = parse(
      "v=spf1 mx ip4:24.214.64.230 ip4:24.214.64.231 ip4:64.8.71.110 ipv4:64.8.71.111 "
      "ipv4:64.8.71.112 -all");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string(),
            "unknown mechanism \"ipv4:64.8.71.111\" at offset 62 (did you mean ip4:?)");
  std::vector<diagnostic> all;
  auto r2 = parse(
      "v=spf1 mx ip4:24.214.64.230 ip4:24.214.64.231 ip4:64.8.71.110 ipv4:64.8.71.111 "
      "ipv4:64.8.71.112 -all",
      all);
  ASSERT_FALSE(r2);
  ASSERT_EQ(all.size(), 2u);  // both ipv4: terms are reported
  EXPECT_EQ(all[1].term, "ipv4:64.8.71.112");
  EXPECT_EQ(all[1].offset, 79u);
}

TEST(SpfParse, EmbeddedNul) {
  std::string rec("v=spf1 a:foo.example.com\0", 25);
  auto r = parse(rec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 7u);
}

struct good_case {
  const char* record;
  std::size_t mechanisms;
  const char* last_term;
};

const good_case kGood[] = {
    {"v=spf1", 0, ""},
    {"V=SpF1 ~all", 1, "~all"},
    {"v=spf1 a  -all", 2, "-all"},
    {"v=spf1 a -all ", 2, "-all"},
    {"v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", 2, "-all"},
    {"v=spf1 a:foo:bar/baz.example.com", 1, "a:foo:bar/baz.example.com"},
    {"v=spf1 a:foo.example.xn--zckzah -all", 2, "-all"},
    {"v=spf1 a:mail.example...com -all", 2, "-all"},
    {"v=spf1 a:%{H}.bar -all", 2, "-all"},
    {"v=spf1 a/24//64 mx//0 a//33 mx/0", 4, "mx/0"},
    {"v=spf1 ip6:::FFFF:1.2.3.4 -ip4:1.2.3.4", 2, "-ip4:1.2.3.4"},
    {"v=spf1 ip6:Cafe:Babe:8000::/33", 1, "ip6:Cafe:Babe:8000::/33"},
    {"v=spf1 default=pass", 0, ""},
    {"v=spf1 default=+", 0, ""},
    {"v=spf1 exists:%{i}.%{l2r-}.user.%{d2}", 1, "exists:%{i}.%{l2r-}.user.%{d2}"},
    {"v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all", 2, "-all"},
    {"v=spf1 redirect=%{d}.d.spf.example.com.", 0, ""},
    {"v=spf1 include:o.spf.example.com. ~all", 2, "~all"},
    {"v=spf1 -all exp=msg8.%{D2}", 1, "-all"},
    {"v=spf1 ip4:72.241.62.1/26 ~all", 2, "~all"},
};

TEST(SpfParse, Valid) {
  for (const auto& c : kGood) {
    SCOPED_TRACE(c.record);
    auto r = parse(c.record);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->mechanisms().size(), c.mechanisms);
    if (c.mechanisms) {
      EXPECT_EQ(r->mechanisms().back().text, c.last_term);
    }
  }
}

TEST(SpfParse, AstFields) {
  auto r = parse(
      "v=spf1 -a:Example.COM/24//64 ~mx ip4:192.0.2.1/26 ip6:2001:db8::/32 "
      "?include:_spf.example.net exp=why.%{d} redirect=other.example foo=bar");
  ASSERT_TRUE(r) << r.error().to_string();
  const auto& m = r->mechanisms();
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].kind, mechanism_kind::a);
  EXPECT_EQ(m[0].qual, qualifier::fail);
  EXPECT_EQ(m[0].domain_spec, "Example.COM");
  EXPECT_EQ(m[0].cidr4, 24);
  EXPECT_EQ(m[0].cidr6, 64);
  EXPECT_EQ(m[1].kind, mechanism_kind::mx);
  EXPECT_EQ(m[1].qual, qualifier::softfail);
  EXPECT_TRUE(m[1].domain_spec.empty());
  EXPECT_EQ(m[1].cidr4, 32);
  EXPECT_EQ(m[1].cidr6, 128);
  EXPECT_EQ(m[2].network.to_string(), "192.0.2.1");
  EXPECT_EQ(m[2].cidr4, 26);
  EXPECT_EQ(m[2].offset, 33u);
  EXPECT_EQ(m[3].cidr6, 32);
  EXPECT_EQ(m[4].qual, qualifier::neutral);
  EXPECT_EQ(m[4].domain_spec, "_spf.example.net");
  ASSERT_NE(r->exp(), nullptr);
  EXPECT_EQ(r->exp()->value, "why.%{d}");
  ASSERT_NE(r->redirect(), nullptr);
  EXPECT_EQ(r->redirect()->value, "other.example");
  EXPECT_EQ(r->modifiers().size(), 3u);
  EXPECT_EQ(r->modifiers()[2].kind, modifier_kind::unknown);
  // Copies keep their views valid (they point into the copy's own text).
  record copy = *r;
  r = parse("v=spf1 -all");
  EXPECT_EQ(copy.mechanisms()[0].domain_spec, "Example.COM");
  EXPECT_EQ(copy.redirect()->value, "other.example");
  EXPECT_EQ(copy.mechanisms()[4].text.data(), copy.text().data() + copy.mechanisms()[4].offset);
}

TEST(SpfParse, IsSpfRecord) {
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("v=spf1 -all"));
  EXPECT_TRUE(is_spf_record("V=SPF1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf10"));
  EXPECT_FALSE(is_spf_record("v=spf1mx"));
  EXPECT_FALSE(is_spf_record("spf2.0/pra -all"));
  EXPECT_FALSE(is_spf_record(""));
}

}  // namespace
