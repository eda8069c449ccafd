// data_test.cpp: the DATA body reader and the command line reader, from RFC 5321
// 4.1.1.4 (end of data is <CRLF>.<CRLF>), 4.5.2 (dot-stuffing), 2.3.8 (bare CR
// and LF), 4.5.3.1.4/6 (line limits) and the SMTP smuggling variants
// (CVE-2023-51764/5/6: <LF>.<LF>, <CR>.<CR>, <CRLF>.<LF>, <LF>.<CRLF>, ...).
// Every case is also fed split at every byte boundary and byte by byte.
#include <gtest/gtest.h>

#include <string>

#include "smtp/data.hpp"

namespace mxg::smtp {
namespace {

struct data_case {
  const char* name;
  std::string input;
  bare_line_end bare;
  bool done;
  std::size_t consumed;  // when done: bytes used (the rest is the next command)
  std::string body;      // expected output (only checked when error == none)
  data_error error;
};

const std::string kEndOnly = ".\r\n";

const data_case kCases[] = {
    // 4.1.1.4: the DATA line's CRLF is the first CRLF of the terminator.
    {"empty message", ".\r\n", bare_line_end::reject, true, 3, "", data_error::none},
    {"one line", "a\r\n.\r\n", bare_line_end::reject, true, 6, "a\r\n", data_error::none},
    {"empty lines kept", "\r\n\r\n.\r\n", bare_line_end::reject, true, 7, "\r\n\r\n",
     data_error::none},
    {"pipelined command after end", "a\r\n.\r\nQUIT\r\n", bare_line_end::reject, true, 6, "a\r\n",
     data_error::none},
    // 4.5.2: a leading period is removed when the line has more characters.
    {"dot-stuffed dot line", "..\r\n.\r\n", bare_line_end::reject, true, 7, ".\r\n",
     data_error::none},
    {"dot-stuffed text", "..a\r\nb.\r\n.\r\n", bare_line_end::reject, true, 12, ".a\r\nb.\r\n",
     data_error::none},
    {"three dots", "...\r\n.\r\n", bare_line_end::reject, true, 8, "..\r\n", data_error::none},
    {"dot not at line start", "a.\r\n.b\r\n.\r\n", bare_line_end::reject, true, 11, "a.\r\nb\r\n",
     data_error::none},
    {"dot space is content", ". \r\n.\r\n", bare_line_end::reject, true, 7, " \r\n",
     data_error::none},
    {"telnet transcript body",
     "subject: test of the capture-only instance\r\n\r\nJust a test!\r\n-Dr J\r\n.\r\n",
     bare_line_end::reject, true, 70,
     "subject: test of the capture-only instance\r\n\r\nJust a test!\r\n-Dr J\r\n",
     data_error::none},
    // Smuggling: none of these ends the data.
    {"LF.LF does not end", "a\n.\nMAIL FROM:<x@y.test>\n", bare_line_end::reject, false, 0, "",
     data_error::bare_lf},
    {"CR.CR does not end", "a\r.\rMAIL FROM:<x@y.test>\r", bare_line_end::reject, false, 0, "",
     data_error::bare_cr},
    {"CRLF.LF does not end", "a\r\n.\nMAIL FROM:<x@y.test>\r\n", bare_line_end::reject, false, 0,
     "", data_error::bare_lf},
    {"LF.CRLF does not end", "a\n.\r\nMAIL FROM:<x@y.test>\r\n", bare_line_end::reject, false, 0,
     "", data_error::bare_lf},
    {"CR.CRLF does not end", "a\r.\r\nMAIL FROM:<x@y.test>\r\n", bare_line_end::reject, false, 0,
     "", data_error::bare_cr},
    {"CRLF.CR does not end", "a\r\n.\rMAIL FROM:<x@y.test>\r\n", bare_line_end::reject, false, 0,
     "", data_error::bare_cr},
    // ...and the reader keeps swallowing until the real terminator.
    {"LF.LF then real end", "a\n.\nMAIL FROM:<x@y.test>\r\n.\r\nNOOP\r\n", bare_line_end::reject,
     true, 29, "", data_error::bare_lf},
    {"CR.CR then real end", "a\r.\rb\r\n.\r\n", bare_line_end::reject, true, 10, "",
     data_error::bare_cr},
    {"LF.CRLF then real end", "a\n.\r\n.\r\n", bare_line_end::reject, true, 8, "",
     data_error::bare_lf},
    {"bare LF inside body", "a\nb\r\n.\r\n", bare_line_end::reject, true, 8, "",
     data_error::bare_lf},
    {"bare CR inside body", "a\rb\r\n.\r\n", bare_line_end::reject, true, 8, "",
     data_error::bare_cr},
    // Normalize mode: bare LF/CR become CRLF, but a line after one never ends the data.
    {"normalize bare LF", "a\nb\r\n.\r\n", bare_line_end::normalize, true, 8, "a\r\nb\r\n",
     data_error::none},
    {"normalize bare CR", "a\rb\r\n.\r\n", bare_line_end::normalize, true, 8, "a\r\nb\r\n",
     data_error::none},
    {"normalize LF.LF is content", "a\n.\nb\r\n.\r\n", bare_line_end::normalize, true, 10,
     "a\r\n.\r\nb\r\n", data_error::none},
    {"normalize LF.CRLF is content", "a\n.\r\nb\r\n.\r\n", bare_line_end::normalize, true, 11,
     "a\r\n.\r\nb\r\n", data_error::none},
    {"normalize CR.CR is content", "a\r.\rb\r\n.\r\n", bare_line_end::normalize, true, 10,
     "a\r\n.\r\nb\r\n", data_error::none},
    {"normalize CRLF.LF is content", "a\r\n.\nb\r\n.\r\n", bare_line_end::normalize, true, 11,
     "a\r\n.\r\nb\r\n", data_error::none},
    {"normalize LF.LF never ends", "a\n.\n", bare_line_end::normalize, false, 0, "",
     data_error::none},
    // RFC 5321 2.3.8: NUL SHOULD NOT be sent; refused (554 5.6.0) and swallowed to the end.
    {"NUL inside a line", std::string("a\0b\r\n.\r\nNOOP\r\n", 14), bare_line_end::reject, true, 8,
     "", data_error::nul},
    {"NUL at line start", std::string("x\r\n\0\r\n.\r\n", 9), bare_line_end::reject, true, 9, "",
     data_error::nul},
    {"NUL after a stuffed dot", std::string("..\0\r\n.\r\n", 8), bare_line_end::reject, true, 8, "",
     data_error::nul},
    {"NUL in normalize mode too", std::string("\0\r\n.\r\n", 6), bare_line_end::normalize, true, 6,
     "", data_error::nul},
};

struct result {
  bool done = false;
  std::size_t consumed = 0;
  std::string body;
  data_error error = data_error::none;
};

result run(const data_case& c, const std::vector<std::size_t>& cuts, data_limits lim = {}) {
  lim.bare = c.bare;
  data_reader r(lim);
  result out;
  std::size_t pos = 0;
  std::vector<std::size_t> bounds = cuts;
  bounds.push_back(c.input.size());
  for (std::size_t b : bounds) {
    if (r.done() || b < pos) continue;
    std::size_t used = r.feed(std::string_view(c.input).substr(pos, b - pos), out.body);
    out.consumed += used;
    pos += used;
    if (!r.done()) {
      EXPECT_EQ(pos, b);
    }  // everything is consumed until the end is found
  }
  out.done = r.done();
  out.error = r.error();
  return out;
}

void check(const data_case& c, const result& got) {
  EXPECT_EQ(got.done, c.done);
  EXPECT_EQ(got.error, c.error);
  if (c.done) {
    EXPECT_EQ(got.consumed, c.consumed);
  }
  if (c.error == data_error::none && c.done) {
    EXPECT_EQ(got.body, c.body);
  }
}

TEST(SmtpData, Table) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    check(c, run(c, {}));
  }
}

TEST(SmtpData, EverySplitPoint) {
  for (const auto& c : kCases) {
    for (std::size_t cut = 0; cut <= c.input.size(); ++cut) {
      SCOPED_TRACE(std::string(c.name) + " cut at " + std::to_string(cut));
      check(c, run(c, {cut}));
    }
  }
}

TEST(SmtpData, ByteByByte) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < c.input.size(); ++i) cuts.push_back(i);
    check(c, run(c, cuts));
  }
}

TEST(SmtpData, SizeLimitSwallowsToTerminator) {
  data_reader r(data_limits{.max_size = 5, .max_line = 1000, .bare = bare_line_end::reject});
  std::string out;
  std::string in = "123456\r\nmore\r\n.\r\nQUIT\r\n";
  std::size_t used = r.feed(in, out);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.error(), data_error::too_big);
  EXPECT_EQ(used, in.size() - 6);
  EXPECT_EQ(r.size(), 14u);  // counted past the limit
  EXPECT_LE(out.size(), 5u);
  EXPECT_EQ(data_error_reply(r.error(), 5).code, 552);
  EXPECT_EQ(data_error_reply(r.error(), 5).status, status::k_5_3_4);
}

TEST(SmtpData, LineLengthLimit) {
  // RFC 5321 4.5.3.1.6: 1000 octets with CRLF; here 10 for the test.
  data_limits lim{.max_size = 1000, .max_line = 10, .bare = bare_line_end::reject};
  {
    data_reader r(lim);
    std::string out;
    r.feed("12345678\r\n.\r\n", out);  // exactly 10 with CRLF
    EXPECT_TRUE(r.done());
    EXPECT_EQ(r.error(), data_error::none);
    EXPECT_EQ(out, "12345678\r\n");
  }
  {
    data_reader r(lim);
    std::string out;
    r.feed("123456789\r\n.\r\n", out);  // 11
    EXPECT_TRUE(r.done());
    EXPECT_EQ(r.error(), data_error::line_too_long);
  }
}

TEST(SmtpData, ErrorReplies) {
  EXPECT_TRUE(data_error_reply(data_error::none, 0).empty());
  for (auto e : {data_error::bare_lf, data_error::bare_cr, data_error::line_too_long}) {
    reply r = data_error_reply(e, 0);
    EXPECT_EQ(r.code, 550);
    EXPECT_EQ(r.status, status::k_5_6_0);
  }
  // NUL: the transaction failed (RFC 5321 4.2.5 / 2.3.8), media error (RFC 3463 3.7).
  reply nul = data_error_reply(data_error::nul, 0);
  EXPECT_EQ(nul.code, 554);
  EXPECT_EQ(nul.status, status::k_5_6_0);
}

// ---- line_reader: RFC 5321 4.5.3.1.4 (512 with CRLF), 2.3.8 line ends ----

TEST(SmtpLineReader, SplitsCrlfAndBareLf) {
  line_reader lr(512, false);
  std::string buf = "HELO a\r\nNOOP\nQUIT";
  auto e = lr.next(buf);
  ASSERT_EQ(e.status, line_status::line);
  EXPECT_EQ(e.line, "HELO a");
  EXPECT_EQ(e.consumed, 8u);
  buf.erase(0, e.consumed);
  e = lr.next(buf);
  ASSERT_EQ(e.status, line_status::line);
  EXPECT_EQ(e.line, "NOOP");  // bare LF accepted when not strict
  buf.erase(0, e.consumed);
  e = lr.next(buf);
  EXPECT_EQ(e.status, line_status::need_more);
  EXPECT_EQ(e.consumed, 0u);
}

TEST(SmtpLineReader, StrictRejectsBareLf) {
  line_reader lr(512, true);
  auto e = lr.next("NOOP\nQUIT\r\n");
  EXPECT_EQ(e.status, line_status::bare_lf);
  EXPECT_EQ(e.consumed, 5u);
}

TEST(SmtpLineReader, CapCountsCrlf) {
  line_reader lr(10, false);
  EXPECT_EQ(lr.next("12345678\r\n").status, line_status::line);       // 10
  EXPECT_EQ(lr.next("123456789\r\n").status, line_status::too_long);  // 11
  EXPECT_EQ(lr.next("123456789\n").status, line_status::too_long);    // counted as with CRLF
}

TEST(SmtpLineReader, OverlongLineIsSwallowedAcrossReads) {
  line_reader lr(10, false);
  std::string buf = "0123456789";  // 10 bytes, no LF yet: already too long
  auto e = lr.next(buf);
  EXPECT_EQ(e.status, line_status::too_long);
  EXPECT_EQ(e.consumed, 10u);
  EXPECT_TRUE(lr.discarding());
  e = lr.next("abcdef");
  EXPECT_EQ(e.status, line_status::need_more);
  EXPECT_EQ(e.consumed, 6u);
  std::string tail = "xyz\r\nNOOP\r\n";
  e = lr.next(tail);
  ASSERT_EQ(e.status, line_status::line);
  EXPECT_EQ(e.line, "NOOP");
  EXPECT_EQ(e.consumed, tail.size());
  EXPECT_FALSE(lr.discarding());
}

TEST(SmtpLineReader, PartialLineUnderCapWaits) {
  line_reader lr(10, false);
  auto e = lr.next("12345678\r");  // 9 bytes, the LF may still come
  EXPECT_EQ(e.status, line_status::need_more);
  EXPECT_EQ(e.consumed, 0u);
}

}  // namespace
}  // namespace mxg::smtp
