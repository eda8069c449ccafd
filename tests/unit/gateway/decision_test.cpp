// decision_test.cpp: the header scan the history takes Message-ID and Subject from
// (RFC 5322 2.2.3 folding, the cap). The backscatter decision's tests moved with it to
// tests/unit/policy/backscatter_filter_test.cpp (issue 9 section 1).
#include <gtest/gtest.h>

#include "gateway/header_scan.hpp"

namespace mxg::gateway {
namespace {

struct scan_case {
  const char* message;
  const char* message_id;
  const char* subject;
  bool complete;
};

class HeaderScan : public ::testing::TestWithParam<scan_case> {};

TEST_P(HeaderScan, MessageIdAndSubject) {
  auto f = scan_headers(GetParam().message);
  EXPECT_EQ(f.message_id, GetParam().message_id);
  EXPECT_EQ(f.subject, GetParam().subject);
  EXPECT_EQ(f.complete, GetParam().complete);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HeaderScan,
    ::testing::Values(
        scan_case{"Message-ID: <a@b.test>\r\nSubject: hi\r\n\r\nbody\r\n", "a@b.test", "hi", true},
        // case-insensitive names, LF-only lines, first occurrence wins
        scan_case{"message-id:<x@y>\nSUBJECT:  one  \nSubject: two\n\n", "x@y", "one", true},
        // folded fields (RFC 5322 2.2.3): CRLF WSP is unfolded
        scan_case{"Subject: a long\r\n\tsubject line\r\nMessage-Id:\r\n <f@o.test>\r\n\r\n",
                  "f@o.test", "a long\tsubject line", true},
        // a comment around the id, Received first, no body separator at the end
        scan_case{"Received: from x\r\n\tby y\r\nMessage-ID: (c) <m@n> (d)\r\n", "m@n", "", false},
        // header fields after the empty line are body, not header
        scan_case{"From: a@b\r\n\r\nSubject: in body\r\nMessage-ID: <no@no>\r\n", "", "", true},
        // no brackets: the first token
        scan_case{"Message-ID: bare@id.test junk\r\n\r\n", "bare@id.test", "", true},
        // control bytes become spaces
        scan_case{"Subject: a\x01"
                  "b\r\n\r\n",
                  "", "a b", true}));

TEST(HeaderScan, StopsAtTheCapAndIgnoresACutField) {
  std::string m =
      "Subject: first\r\nX-Pad: " + std::string(200, 'p') + "\r\nMessage-ID: <late@x>\r\n\r\n";
  auto f = scan_headers(m, 100);
  EXPECT_EQ(f.subject, "first");
  EXPECT_EQ(f.message_id, "");  // beyond the cap
  EXPECT_FALSE(f.complete);
  // A field whose continuation may lie beyond the cap is not taken half.
  std::string folded = "Subject: part one\r\n part two\r\n\r\n";
  auto g = scan_headers(folded, 19);  // ends right after "part one\r\n"
  EXPECT_EQ(g.subject, "");
  EXPECT_EQ(scan_headers(folded).subject, "part one part two");
  // Values are capped at the RFC 5322 line limit.
  auto h = scan_headers("Subject: " + std::string(5000, 's') + "\r\n\r\n");
  EXPECT_EQ(h.subject.size(), kHeaderValueMax);
}

}  // namespace
}  // namespace mxg::gateway
