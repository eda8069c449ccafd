// reply_test.cpp: the reply formatter (RFC 5321 4.2.1 multi-line replies, RFC 2034
// 3 enhanced status prefix on every line) and the parser of operator-written
// reply overrides (RFC 3463 2: class.subject.detail, class matching the code).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtp/reply.hpp"

namespace mxg::smtp {
namespace {

TEST(SmtpReply, SingleAndMultiLine) {
  EXPECT_EQ(reply(250, status::k_2_1_5, "Recipient ok").format(), "250 2.1.5 Recipient ok\r\n");
  // 4.2.1: "250-" on every line but the last, which has "250 ".
  EXPECT_EQ(reply(250, status::none, std::vector<std::string>{"mx.test", "PIPELINING", "SIZE 10"})
                .format(),
            "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
  // RFC 2034 3: the enhanced code starts every line of a multi-line reply.
  EXPECT_EQ(reply(550, status::k_5_7_1, std::vector<std::string>{"first", "second"}).format(),
            "550-5.7.1 first\r\n550 5.7.1 second\r\n");
  EXPECT_EQ(reply().format(), "");
  EXPECT_TRUE(reply().empty());
}

TEST(SmtpReply, ControlBytesCannotSplitTheStream) {
  reply r(250, status::k_2_0_0, "evil\r\n250 injected\x01");
  EXPECT_EQ(r.format(), "250 2.0.0 evil??250 injected?\r\n");
}

TEST(SmtpReply, Classes) {
  EXPECT_TRUE(reply(250, status::k_2_0_0, "x").positive());
  EXPECT_TRUE(reply(354, status::none, "x").positive());
  EXPECT_TRUE(reply(451, status::k_4_3_0, "x").transient());
  EXPECT_TRUE(reply(554, status::k_5_7_1, "x").permanent());
  EXPECT_TRUE(reply(421, status::k_4_7_0, "x").failure());
  EXPECT_EQ(status::k_5_3_4.to_string(), "5.3.4");
  EXPECT_EQ(status::none.to_string(), "");
}

TEST(SmtpReply, Summary) {
  EXPECT_EQ(reply(550, status::k_5_7_1, std::vector<std::string>{"a", "b"}).summary(),
            "550 5.7.1 a / b");
}

struct parse_case {
  const char* text;
  int code;
  enhanced_status st;
  const char* first_line;
};

const parse_case kParse[] = {
    {"550 5.7.1 SPF check failed", 550, status::k_5_7_1, "SPF check failed"},
    {"451 4.7.0 try later", 451, status::k_4_7_0, "try later"},
    {"554 no enhanced code here", 554, status::none, "no enhanced code here"},
    {"550 4.7.1 class does not match", 550, status::none, "4.7.1 class does not match"},
    {"250", 250, status::none, ""},
    {"550 5.1.1", 550, status::k_5_1_1, ""},
    {"650 bad code", 0, status::none, nullptr},
    {"55", 0, status::none, nullptr},
    {"5501 x", 0, status::none, nullptr},
    {"abc", 0, status::none, nullptr},
    {"570 bad second digit", 0, status::none, nullptr},
};

TEST(SmtpReply, ParseOverride) {
  for (const auto& c : kParse) {
    SCOPED_TRACE(c.text);
    reply r = parse_reply_text(c.text);
    EXPECT_EQ(r.code, c.code);
    if (c.code != 0) {
      EXPECT_EQ(r.status, c.st);
      ASSERT_EQ(r.lines.size(), 1u);
      EXPECT_EQ(r.lines[0], c.first_line);
    }
  }
}

}  // namespace
}  // namespace mxg::smtp
