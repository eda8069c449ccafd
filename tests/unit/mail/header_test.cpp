// header_test.cpp: the raw-header reader (src/mail/header.hpp) on RFC 5322 shapes:
// folding kept byte-exact (2.2.3), name/value split (2.2), obs WSP before the colon (4.5),
// the empty line ending the header (3.5), CRLF and bare-LF input, malformed lines.
#include <gtest/gtest.h>

#include "mail/header.hpp"

namespace {

using mxg::mail::find_body_offset;
using mxg::mail::read_header;

TEST(MailHeader, SplitsFieldsKeepingFoldingByteExact) {
  // RFC 6376 3.4.5's example header (folded B field, WSP before the colon).
  std::string m = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\n";
  auto hb = read_header(m);
  ASSERT_TRUE(hb.complete);
  ASSERT_EQ(hb.fields.size(), 2u);
  EXPECT_EQ(hb.fields[0].name, "A");
  EXPECT_EQ(hb.fields[0].value, " X");
  EXPECT_EQ(hb.fields[0].raw, "A: X\r\n");
  EXPECT_EQ(hb.fields[1].name, "B");
  EXPECT_EQ(hb.fields[1].value, " Y\t\r\n\tZ  ");
  EXPECT_EQ(hb.fields[1].raw, "B : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(hb.fields[1].offset, 6u);
  EXPECT_EQ(m.substr(hb.body_offset), " C \r\n");
}

TEST(MailHeader, BareLfInput) {
  std::string m = "Subject: a\n b\nFrom: x@y\n\nbody\n";
  auto hb = read_header(m);
  ASSERT_TRUE(hb.complete);
  ASSERT_EQ(hb.fields.size(), 2u);
  EXPECT_EQ(hb.fields[0].value, " a\n b");
  EXPECT_EQ(m.substr(hb.body_offset), "body\n");
  EXPECT_EQ(find_body_offset(m), hb.body_offset);
}

TEST(MailHeader, NoBodyAndNoEmptyLine) {
  std::string m = "From: a@b\r\nTo: c@d\r\n";
  auto hb = read_header(m);
  EXPECT_FALSE(hb.complete);
  EXPECT_EQ(hb.fields.size(), 2u);
  EXPECT_EQ(hb.body_offset, m.size());
  EXPECT_EQ(find_body_offset(m), std::string::npos);
}

TEST(MailHeader, EmptyHeader) {
  std::string m = "\r\nbody";
  auto hb = read_header(m);
  EXPECT_TRUE(hb.complete);
  EXPECT_TRUE(hb.fields.empty());
  EXPECT_EQ(hb.body_offset, 2u);
}

TEST(MailHeader, MalformedLinesAreCountedAndSkipped) {
  std::string m =
      " leading continuation\r\nno colon here\r\n: empty name\r\nbad name: x\r\nOk: y\r\n\r\n";
  auto hb = read_header(m);
  EXPECT_EQ(hb.malformed_lines, 4u);
  ASSERT_EQ(hb.fields.size(), 1u);
  EXPECT_EQ(hb.fields[0].name, "Ok");
}

TEST(MailHeader, FieldCapIsReported) {
  std::string m;
  for (int i = 0; i < 20; ++i) m += "X: 1\r\n";
  auto hb = read_header(m, 5);
  EXPECT_EQ(hb.fields.size(), 5u);
  EXPECT_TRUE(hb.truncated);
}

TEST(MailHeader, LongLinesAreCounted) {
  std::string m = "X: " + std::string(1200, 'a') + "\r\n\r\n";
  EXPECT_EQ(read_header(m).long_lines, 1u);
}

TEST(MailHeader, UnfoldAndCrlf) {
  EXPECT_EQ(mxg::mail::unfold(" Y\t\r\n\tZ  "), " Y\t\tZ  ");
  EXPECT_EQ(mxg::mail::unfold(" a\n b"), " a b");
  std::string out;
  mxg::mail::append_crlf(out, "a\nb\r");
  mxg::mail::append_crlf(out, "\nc\n");
  EXPECT_EQ(out, "a\r\nb\r\nc\r\n");
}

}  // namespace
