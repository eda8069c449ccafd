// path_test.cpp: reverse-path / forward-path parser, table-driven from RFC 5321
// 4.1.2 (grammar), 4.1.3 (address literals), 4.5.3.1.1-3 (limits), 4.1.1.3
// (<Postmaster>), appendix C (source routes) and RFC 6531 3.3 (SMTPUTF8).
#include <gtest/gtest.h>

#include <string>

#include "smtp/path.hpp"

namespace mxg::smtp {
namespace {

struct good_case {
  const char* text;
  path_kind kind;
  bool utf8;
  const char* address;  // expected address()
  const char* domain;   // expected domain()
};

const good_case kGood[] = {
    {"<user@example.com>", path_kind::reverse, false, "user@example.com", "example.com"},
    {"<user@example.com>", path_kind::forward, false, "user@example.com", "example.com"},
    // 2.4: local parts are case-sensitive, domains are not (normalized to lower case).
    {"<User.Name@Example.COM>", path_kind::forward, false, "User.Name@example.com", "example.com"},
    // Lenient: one trailing dot is removed from the domain.
    {"<user@example.com.>", path_kind::forward, false, "user@example.com", "example.com"},
    // Lenient: no angle brackets.
    {"user@example.com", path_kind::reverse, false, "user@example.com", "example.com"},
    {"drj@drj.test", path_kind::reverse, false, "drj@drj.test", "drj.test"},
    // 4.1.2 atext specials.
    {"<a!#$%&'*+-/=?^_`{|}~@example.com>", path_kind::forward, false,
     "a!#$%&'*+-/=?^_`{|}~@example.com", "example.com"},
    {"<first.middle.last@sub.example.com>", path_kind::forward, false,
     "first.middle.last@sub.example.com", "sub.example.com"},
    // Quoted-string local parts keep their wire form.
    {"<\"john smith\"@example.com>", path_kind::forward, false, "\"john smith\"@example.com",
     "example.com"},
    {"<\"a\\\"b\"@x.test>", path_kind::forward, false, "\"a\\\"b\"@x.test", "x.test"},
    // Appendix C / 4.1.2: source route accepted and ignored.
    {"<@a.test,@b.test:user@d.test>", path_kind::forward, false, "user@d.test", "d.test"},
    {"<@a.test:user@d.test>", path_kind::reverse, false, "user@d.test", "d.test"},
    // 4.1.3 address literals.
    {"<u@[192.0.2.1]>", path_kind::forward, false, "u@[192.0.2.1]", "[192.0.2.1]"},
    {"<u@[IPv6:2001:db8::1]>", path_kind::forward, false, "u@[ipv6:2001:db8::1]",
     "[ipv6:2001:db8::1]"},
    {"<u@[IPv6:::1]>", path_kind::forward, false, "u@[ipv6:::1]", "[ipv6:::1]"},
    {"<u@[IPv6:2001:db8:0:0:0:0:2:1]>", path_kind::forward, false, "u@[ipv6:2001:db8:0:0:0:0:2:1]",
     "[ipv6:2001:db8:0:0:0:0:2:1]"},
    {"<u@[IPv6:::ffff:192.0.2.1]>", path_kind::forward, false, "u@[ipv6:::ffff:192.0.2.1]",
     "[ipv6:::ffff:192.0.2.1]"},
    {"<u@[IPv6:1:2:3:4:5:6:192.0.2.1]>", path_kind::forward, false,
     "u@[ipv6:1:2:3:4:5:6:192.0.2.1]", "[ipv6:1:2:3:4:5:6:192.0.2.1]"},
    {"<u@[x-tag:abc]>", path_kind::forward, false, "u@[x-tag:abc]", "[x-tag:abc]"},
    // 4.1.1.3: postmaster with a domain is an ordinary mailbox.
    {"<postmaster@example.com>", path_kind::forward, false, "postmaster@example.com",
     "example.com"},
    // Single-label domain is valid Domain syntax.
    {"<root@localhost>", path_kind::forward, false, "root@localhost", "localhost"},
    // RFC 6531 3.3: UTF-8 local part and domain with SMTPUTF8.
    {"<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>",
     path_kind::forward, true,
     "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
     "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a"},
    {"<j\xc3\xb6rg@example.com>", path_kind::reverse, true, "j\xc3\xb6rg@example.com",
     "example.com"},
};

TEST(SmtpPath, GoodPaths) {
  for (const auto& c : kGood) {
    SCOPED_TRACE(c.text);
    auto r = parse_path(c.text, c.kind, path_options{.smtputf8 = c.utf8});
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->address(), c.address);
    EXPECT_EQ(r->domain(), c.domain);
    EXPECT_FALSE(r->is_null());
  }
}

TEST(SmtpPath, NullPathOnlyAsReversePath) {
  auto r = parse_path("<>", path_kind::reverse);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->is_null());
  EXPECT_EQ(r->address(), "");
  auto f = parse_path("<>", path_kind::forward);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, path_errc::null_not_allowed);
}

TEST(SmtpPath, PostmasterWithoutDomainOnlyAsForwardPath) {
  for (const char* t : {"<Postmaster>", "<postmaster>", "<POSTMASTER>", "postmaster"}) {
    SCOPED_TRACE(t);
    auto r = parse_path(t, path_kind::forward);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->is_postmaster_only());
    EXPECT_EQ(r->domain(), "");
    EXPECT_EQ(r->address(), "Postmaster");
  }
  EXPECT_FALSE(parse_path("<Postmaster>", path_kind::reverse).has_value());
}

TEST(SmtpPath, QuotedLocalPartUnquoting) {
  auto r = parse_path("<\"a\\\"b c\"@x.test>", path_kind::forward);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->local_part_quoted());
  EXPECT_EQ(r->local_part_unquoted(), "a\"b c");
  auto e = parse_path("<\"\"@x.test>", path_kind::forward);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->local_part_unquoted(), "");
}

TEST(SmtpPath, SourceRouteIsFlagged) {
  auto r = parse_path("<@a.test,@b.test:user@d.test>", path_kind::forward);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->had_source_route());
  EXPECT_FALSE(parse_path("<user@d.test>", path_kind::forward)->had_source_route());
}

struct bad_case {
  const char* text;
  bool utf8;
  path_errc code;
};

const std::string k64(64, 'a');
const std::string k63label(63, 'b');

const bad_case kBad[] = {
    {"", false, path_errc::syntax},
    {"<", false, path_errc::syntax},
    {"<user@example.com", false, path_errc::syntax},
    {"user@example.com>", false, path_errc::syntax},
    {"<user>", false, path_errc::syntax},          // no domain (and not postmaster)
    {"<@example.com>", false, path_errc::syntax},  // empty local part
    {"<user@>", false, path_errc::syntax},
    {"<a..b@example.com>", false, path_errc::syntax},  // 4.1.2 Dot-string: no empty atom
    {"<.a@example.com>", false, path_errc::syntax},
    {"<a.@example.com>", false, path_errc::syntax},
    {"<a b@example.com>", false, path_errc::syntax},
    {"<a(b)@example.com>", false, path_errc::syntax},
    {"<user@ext.test@local.test>", false, path_errc::syntax},
    {"<u@-a.test>", false, path_errc::syntax},  // sub-domain = Let-dig [Ldh-str]
    {"<u@a-.test>", false, path_errc::syntax},
    {"<u@a..test>", false, path_errc::syntax},
    {"<u@.test>", false, path_errc::syntax},
    {"<u@exa_mple.test>", false, path_errc::syntax},
    {"<u@[256.1.1.1]>", false, path_errc::syntax},
    {"<u@[1.2.3]>", false, path_errc::syntax},
    {"<u@[IPv6:1::2::3]>", false, path_errc::syntax},
    {"<u@[IPv6:1:2:3:4:5:6:7]>", false, path_errc::syntax},
    {"<u@[IPv6:1:2:3:4:5:6:7:8:9]>", false, path_errc::syntax},
    {"<u@[IPv6:12345::1]>", false, path_errc::syntax},
    {"<u@[192.0.2.1>", false, path_errc::syntax},
    {"<@[192.0.2.1]:u@d.test>", false, path_errc::syntax},  // At-domain is a Domain only
    {"<@a.test;u@d.test>", false, path_errc::syntax},
    {"<\"unterminated@x.test>", false, path_errc::syntax},
    {"<\"a\x01\"@x.test>", false, path_errc::syntax},
    {"<a\x7f@x.test>", false, path_errc::syntax},
    {"<a@b.c>>", false, path_errc::syntax},
    // The web page obfuscation text, any case, with or without brackets.
    {"[email protected]", false, path_errc::web_obfuscation},
    {"<[email protected]>", false, path_errc::web_obfuscation},
    {"[EMAIL PROTECTED]", false, path_errc::web_obfuscation},
    // RFC 6531 3.5: non-ASCII needs SMTPUTF8; with it, UTF-8 must be well-formed.
    {"<j\xc3\xb6rg@example.com>", false, path_errc::non_ascii},
    {"<jorg@ex\xc3\xa4mple.com>", false, path_errc::non_ascii},
    {"<\xc3\x28@x.test>", true, path_errc::bad_utf8},
    {"<\xc0\xaf@x.test>", true, path_errc::bad_utf8},      // overlong
    {"<\xed\xa0\x80@x.test>", true, path_errc::bad_utf8},  // surrogate
};

TEST(SmtpPath, BadPaths) {
  for (const auto& c : kBad) {
    SCOPED_TRACE(c.text);
    auto r = parse_path(c.text, path_kind::forward, path_options{.smtputf8 = c.utf8});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(SmtpPath, LengthLimits) {
  // 4.5.3.1.1: 64 octets of local part are fine, 65 are not.
  EXPECT_TRUE(parse_path("<" + k64 + "@x.test>", path_kind::forward).has_value());
  auto lp = parse_path("<" + k64 + "a@x.test>", path_kind::forward);
  ASSERT_FALSE(lp.has_value());
  EXPECT_EQ(lp.error().code, path_errc::local_too_long);
  // 4.5.3.1.2 / RFC 1035: a 63-octet label is fine, 64 is not.
  EXPECT_TRUE(parse_path("<u@" + k63label + ".test>", path_kind::forward).has_value());
  auto l = parse_path("<u@" + k63label + "b.test>", path_kind::forward);
  ASSERT_FALSE(l.has_value());
  EXPECT_EQ(l.error().code, path_errc::domain_too_long);
  // A domain over 255 octets.
  std::string dom = k63label + "." + k63label + "." + k63label + "." + k63label + ".test";
  auto d = parse_path("<u@" + dom + ">", path_kind::forward);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, path_errc::domain_too_long);
  // 4.5.3.1.3: the whole path, with its brackets, at most 256 octets.
  std::string dom190 = k63label + "." + k63label + "." + k63label;        // 191
  std::string ok_path = "<" + std::string(62, 'a') + "@" + dom190 + ">";  // 1+62+1+191+1 = 256
  ASSERT_EQ(ok_path.size(), 256u);
  EXPECT_TRUE(parse_path(ok_path, path_kind::forward).has_value());
  std::string long_path = "<" + std::string(63, 'a') + "@" + dom190 + ">";  // 257
  auto p = parse_path(long_path, path_kind::forward);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, path_errc::path_too_long);
  // Same without brackets: counted as if they were there.
  auto q = parse_path(long_path.substr(1, long_path.size() - 2), path_kind::forward);
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().code, path_errc::path_too_long);
}

TEST(SmtpPath, PrefixStopsAtParameters) {
  auto r = parse_path_prefix("<a@b.test> SIZE=10", path_kind::reverse);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->consumed, 10u);
  EXPECT_TRUE(r->bracketed);
  auto u = parse_path_prefix("a@b.test SIZE=10", path_kind::reverse);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->consumed, 8u);
  EXPECT_FALSE(u->bracketed);
  // A quoted local part may hold '>' and spaces.
  auto q = parse_path_prefix("<\"a> b\"@c.test> X", path_kind::forward);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->value.local_part_unquoted(), "a> b");
  EXPECT_EQ(q->consumed, 15u);
}

TEST(SmtpPath, DomainAndLiteralValidators) {
  EXPECT_TRUE(is_valid_domain("example.com"));
  EXPECT_TRUE(is_valid_domain("a-b.c0"));
  EXPECT_FALSE(is_valid_domain("example.com."));  // the parser strips it, the grammar has none
  EXPECT_FALSE(is_valid_domain(""));
  EXPECT_FALSE(is_valid_domain("a b"));
  EXPECT_TRUE(is_valid_address_literal("[127.0.0.1]"));
  EXPECT_TRUE(is_valid_address_literal("[IPv6:fe80::1]"));
  EXPECT_FALSE(is_valid_address_literal("[127.0.0.1"));
  EXPECT_FALSE(is_valid_address_literal("[]"));
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x93\xa7"));   // U+1F4E7
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
}

}  // namespace
}  // namespace mxg::smtp
