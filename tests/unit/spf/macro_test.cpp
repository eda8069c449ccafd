// Macro expander tests: the examples of RFC 7208 section 7.4 (IPv4 and IPv6), URL
// escaping of upper-case letters (7.3), the escapes %% %_ %-, explanation-only letters
// and syntax errors (7.1). Expected values are copied from the RFC text.
#include "spf/macro.hpp"

#include <gtest/gtest.h>

using namespace mxg::spf;

namespace {

macro_env rfc_env(const char* ip) {
  macro_env e;
  e.sender = "strong-bad@email.example.com";
  e.local_part = "strong-bad";
  e.sender_domain = "email.example.com";
  e.domain = "email.example.com";
  e.helo = "mx.example.org";
  e.validated_ptr = "mx.example.org";
  e.ip = *mxg::net::ip_address::parse(ip);
  e.receiver = "receiver.example.net";
  e.now = 1234567890;
  return e;
}

struct expand_case {
  const char* ip;
  const char* input;
  const char* expected;
  macro_context ctx = macro_context::domain;
};

const expand_case kCases[] = {
    // RFC 7208 7.4, first table
    {"192.0.2.3", "%{s}", "strong-bad@email.example.com"},
    {"192.0.2.3", "%{o}", "email.example.com"},
    {"192.0.2.3", "%{d}", "email.example.com"},
    {"192.0.2.3", "%{d4}", "email.example.com"},
    {"192.0.2.3", "%{d3}", "email.example.com"},
    {"192.0.2.3", "%{d2}", "example.com"},
    {"192.0.2.3", "%{d1}", "com"},
    {"192.0.2.3", "%{dr}", "com.example.email"},
    {"192.0.2.3", "%{d2r}", "example.email"},
    {"192.0.2.3", "%{l}", "strong-bad"},
    {"192.0.2.3", "%{l-}", "strong.bad"},
    {"192.0.2.3", "%{lr}", "strong-bad"},
    {"192.0.2.3", "%{lr-}", "bad.strong"},
    {"192.0.2.3", "%{l1r-}", "strong"},
    // RFC 7208 7.4, second table
    {"192.0.2.3", "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
    {"192.0.2.3", "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
    {"192.0.2.3", "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
     "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
    {"192.0.2.3", "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
     "3.2.0.192.in-addr.strong.lp._spf.example.com"},
    {"192.0.2.3", "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
    // RFC 7208 7.4, IPv6
    {"2001:db8::cb01", "%{ir}.%{v}._spf.%{d2}",
     "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"},
    // 7.3: p, h, i
    {"192.0.2.3", "%{p}", "mx.example.org"},
    {"192.0.2.3", "%{h}", "mx.example.org"},
    {"192.0.2.3", "%{i}", "192.0.2.3"},
    // 7.1 escapes
    {"192.0.2.3", "a%%b%_c%-d", "a%b c%20d"},
    // 7.3: upper case letters are URL-escaped after expansion (RFC 3986 unreserved kept)
    {"192.0.2.3", "%{L}", "strong-bad"},
    {"192.0.2.3", "%{S}", "strong-bad%40email.example.com"},
    // explanation-only letters, and spaces in explanation text (6.2)
    {"192.0.2.3", "%{c} via %{r} at %{t}", "192.0.2.3 via receiver.example.net at 1234567890",
     macro_context::explanation},
    {"2001:db8::cb01", "%{c}", "2001:db8::cb01", macro_context::explanation},
    // transformers: more parts asked than exist, several delimiters
    {"192.0.2.3", "%{d9}", "email.example.com"},
    {"192.0.2.3", "%{s2r.-}", "bad@email.strong"},  // 7.1: "@" is no delimiter
};

TEST(SpfMacro, Rfc7208Examples) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.input);
    auto env = rfc_env(c.ip);
    std::string out;
    auto err = expand(c.input, c.ctx, env, out);
    ASSERT_FALSE(err) << err->reason;
    EXPECT_EQ(out, c.expected);
  }
}

TEST(SpfMacro, UrlEscapeOfUpperCase) {
  // The suite's upper-macro case: ~ stays, & and = are escaped.
  macro_env e = rfc_env("192.168.218.42");
  e.local_part = "~jack&jill=up-a_b3.c";
  std::string out;
  ASSERT_FALSE(expand("l=%{L}", macro_context::explanation, e, out));
  EXPECT_EQ(out, "l=~jack%26jill%3Dup-a_b3.c");
}

struct bad_case {
  const char* input;
  macro_context ctx;
  std::size_t offset;
};

const bad_case kBad[] = {
    {"%(ir).sbl.example.com", macro_context::domain, 0},  // 7.1: '%' then '('
    {"foo%.sbl.example.com", macro_context::domain, 3},
    {"foo%", macro_context::domain, 3},
    {"%{r}.example.com", macro_context::domain, 2},  // r: exp only
    {"%{c}", macro_context::domain, 2},
    {"%{t}", macro_context::domain, 2},
    {"%{a}.example.com", macro_context::domain, 2},  // no such letter
    {"%{d0}", macro_context::domain, 3},             // digit must be nonzero
    {"%{d2", macro_context::domain, 4},              // unterminated
    {"%{d2x}", macro_context::domain, 4},            // bad delimiter
    {"The %{x}-files.", macro_context::explanation, 6},
    {"a b", macro_context::domain, 1},  // SP only in explanations
    {"a\x01"
     "b",
     macro_context::explanation, 1},
    {"\xc2\x80", macro_context::domain, 0},
};

TEST(SpfMacro, SyntaxErrors) {
  for (const auto& c : kBad) {
    SCOPED_TRACE(c.input);
    auto err = check_macro_string(c.input, c.ctx);
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(err->offset, c.offset);
    std::string out;
    EXPECT_TRUE(expand(c.input, c.ctx, rfc_env("192.0.2.3"), out).has_value());
  }
}

TEST(SpfMacro, CheckFacts) {
  macro_check f;
  ASSERT_FALSE(check_macro_string("%{p}.example.com", macro_context::domain, &f));
  EXPECT_TRUE(f.uses_p);
  EXPECT_FALSE(f.ends_with_macro);
  ASSERT_FALSE(check_macro_string("foo.%{d2}", macro_context::domain, &f));
  EXPECT_FALSE(f.uses_p);
  EXPECT_TRUE(f.ends_with_macro);
  ASSERT_FALSE(check_macro_string("foo%%", macro_context::domain, &f));
  EXPECT_TRUE(f.ends_with_macro);
}

TEST(SpfMacro, ExpansionIsBounded) {
  macro_env e = rfc_env("192.0.2.3");
  std::string big(300, 'a');
  e.local_part = big;
  std::string rec;
  for (int i = 0; i < 40; ++i) rec += "%{l}";
  std::string out;
  auto err = expand(rec, macro_context::domain, e, out);
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->reason.find("longer"), std::string::npos);
}

}  // namespace
