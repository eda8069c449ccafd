// from_test.cpp: the Author Domain (RFC 9989 3.2.2, 4.4, 5.3.1) from RFC 5322 3.6.2 From
// fields: the address forms of RFC 5322 3.4 and Appendix A (A.1.2 groups and display
// names, A.5 comments, A.6 obsolete syntax), RFC 6532 UTF-8, IDNA A-labels (RFC 5890 2.3),
// and the edge cases decided in from.hpp (none, several fields, several domains).
#include <gtest/gtest.h>

#include "dmarc/from.hpp"

namespace {

using namespace mxg;
using namespace mxg::dmarc;

from_domain from_of(const std::string& header) {
  static std::string keep;  // read_header gives views into its input
  keep = header + "\r\n";
  return extract_from_domain(mail::read_header(keep));
}

struct ok_case {
  const char* header;
  const char* domain;
};

TEST(DmarcFrom, Extracted) {
  const ok_case cases[] = {
      {"From: sender@example.com", "example.com"},                             // RFC 9989 B.1.1
      {"From: Sender <sender@Example.COM>", "example.com"},                    // RFC 4343 case
      {"From: \"Joe Q. Public\" <john.q.public@example.com>", "example.com"},  // 5322 A.1.2
      {"From: John Doe <jdoe@machine.example>", "machine.example"},            // 5322 A.1.1
      {"From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
       "silly.test"},                                                      // 5322 A.5
      {"From: Joe Q. Public <john.q.public@example.com>", "example.com"},  // 5322 A.6.3 obs-phrase
      {"From: <@route.example:user@example.org>", "example.org"},          // 4.4 obs-route
      {"From: \"a,b@evil.example\" <x@good.example>", "good.example"},     // quoted specials
      {"From: \"quoted local\"@example.net", "example.net"},
      {"From: a@example.com, b@EXAMPLE.com", "example.com"},          // one domain
      {"From: Mary Smith <mary@x.test>,, jdoe@x.test", "x.test"},     // obs-mbox-list
      {"From: The Group: a@g.example, b@g.example;", "g.example"},    // group, one domain
      {"From: user@example.com.", "example.com"},                     // see below
      {"From:\r\n  folded@example.org", "example.org"},               // folding
      {"From: =?utf-8?q?J=C3=B6rg?= <j@example.de>", "example.de"},   // RFC 2047 word
      {"From: Jörg <jörg@bücher.example>", "xn--bcher-kva.example"},  // RFC 6532 + IDNA
      {"From: u@BÜCHER.example", "xn--bcher-kva.example"},            // UTS 46 mapping
      {"From: u@xn--bcher-kva.example", "xn--bcher-kva.example"},
      {"From: u@食狮.中国", "xn--85x722f.xn--fiqs8s"},  // PSL test's IDN
      {"from: lower@case.example", "case.example"},     // field name case
  };
  for (const auto& c : cases) {
    auto f = from_of(c.header);
    if (std::string(c.header) == "From: user@example.com.") {
      // dot-atom forbids a final dot (RFC 5322 3.2.3): an error, not a guess.
      EXPECT_FALSE(f.ok) << c.header;
      continue;
    }
    EXPECT_TRUE(f.ok) << c.header << ": " << f.error;
    EXPECT_EQ(f.domain, c.domain) << c.header;
  }
}

struct bad_case {
  const char* header;
  const char* error;  // a substring of from_domain::error
};

TEST(DmarcFrom, Refused) {
  const bad_case cases[] = {
      {"Subject: no from here", "no From"},
      {"From: a@example.com\r\nFrom: b@example.com", "several From fields"},
      {"From: a@example.com\r\nfrom: a@example.com", "several From fields"},
      {"From: a@one.example, b@two.example", "several From domains"},
      {"From: G: a@one.example;, b@two.example", "several From domains"},
      {"From: undisclosed-recipients:;", "no address"},
      {"From: user@[192.0.2.1]", "domain literal"},
      {"From: <>", "unparseable"},
      {"From: just a name", "unparseable"},
      {"From: John Smith@example.com", "unparseable"},  // two words, no dot: no local-part
      {"From: a@b@example.com", "unparseable"},
      {"From: <user@example.com", "unparseable"},
      {"From: (unterminated comment a@example.com", "unparseable"},
      {"From: \"unterminated a@example.com", "unparseable"},
      {"From: a@exa mple.com", "unparseable"},
      {"From: a@under_score..example", "unparseable"},
      {"From: u@\xff\xfe.example", "invalid From domain"},  // not UTF-8
      {"From: u@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
       "invalid From domain"},  // a 64-octet label (RFC 1035 2.3.4)
      {"From:", "no address"},
  };
  for (const auto& c : cases) {
    auto f = from_of(c.header);
    EXPECT_FALSE(f.ok) << c.header << " gave " << f.domain;
    EXPECT_NE(f.error.find(c.error), std::string::npos) << c.header << ": " << f.error;
  }
}

TEST(DmarcFrom, NestedCommentsCapped) {
  std::string deep = "From: " + std::string(100, '(') + std::string(100, ')') + " a@example.com";
  auto f = from_of(deep);
  EXPECT_FALSE(f.ok);
  EXPECT_NE(f.error.find("nested"), std::string::npos) << f.error;
  std::string ok = "From: ((c)) a@example.com";
  EXPECT_TRUE(from_of(ok).ok);
}

TEST(DmarcFrom, SizeCap) {
  std::string big = "From: " + std::string(kFromMax, 'a') + "@example.com";
  auto f = from_of(big);
  EXPECT_FALSE(f.ok);
}

TEST(DmarcFrom, ToALabel) {
  EXPECT_EQ(to_a_label("Example.COM.").value(), "example.com");
  EXPECT_EQ(to_a_label("bücher.example").value(), "xn--bcher-kva.example");
  EXPECT_FALSE(to_a_label(""));
  EXPECT_FALSE(to_a_label(".com"));
  EXPECT_FALSE(to_a_label("a..com"));
  EXPECT_FALSE(to_a_label("a b.com"));
  EXPECT_FALSE(to_a_label(std::string(254, 'a')));
}

}  // namespace
