// command_test.cpp: command line parser, table-driven from RFC 5321 4.1.1
// (commands), 4.1.2 (grammar), 4.1.1.11 (555 for unknown parameters), 4.2.4
// (500/502), RFC 1870 6 (SIZE), RFC 6152 / RFC 3030 (BODY, BDAT), RFC 6531 3.4
// (SMTPUTF8) and the lenient forms real clients type (`mail from: a@b`).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "smtp/command.hpp"

namespace mxg::smtp {
namespace {

struct good_case {
  const char* line;
  verb v;
  const char* address;   // MAIL/RCPT address() or nullptr
  const char* argument;  // argument or nullptr
};

const good_case kGood[] = {
    {"EHLO mx.example.com", verb::ehlo, nullptr, "mx.example.com"},
    {"ehlo [192.0.2.1]", verb::ehlo, nullptr, "[192.0.2.1]"},
    {"HELO localhost", verb::helo, nullptr, "localhost"},
    {"helo localhost", verb::helo, nullptr, "localhost"},
    {"MAIL FROM:<user@example.com>", verb::mail, "user@example.com", nullptr},
    {"mail from: drj@drj.test", verb::mail, "drj@drj.test", nullptr},
    {"Mail From: <user@example.com>", verb::mail, "user@example.com", nullptr},
    {"MAIL FROM : <user@example.com>", verb::mail, "user@example.com", nullptr},
    {"MAIL FROM:<user@example.com>   ", verb::mail, "user@example.com", nullptr},
    {"MAIL FROM:<>", verb::mail, "", nullptr},
    {"rcpt to: user@drj.test", verb::rcpt, "user@drj.test", nullptr},
    {"RCPT TO:<Postmaster>", verb::rcpt, "Postmaster", nullptr},
    {"RCPT TO:<@a.test,@b.test:user@d.test>", verb::rcpt, "user@d.test", nullptr},
    {"rcpt to:<\"john smith\"@example.com>", verb::rcpt, "\"john smith\"@example.com", nullptr},
    {"DATA", verb::data, nullptr, nullptr},
    {"data", verb::data, nullptr, nullptr},
    {"RSET", verb::rset, nullptr, nullptr},
    {"NOOP", verb::noop, nullptr, ""},
    {"NOOP hello there", verb::noop, nullptr, "hello there"},  // 4.1.1.9: argument ignored
    {"QUIT", verb::quit, nullptr, ""},
    {"VRFY smith", verb::vrfy, nullptr, "smith"},
    {"HELP", verb::help, nullptr, ""},
    {"HELP MAIL", verb::help, nullptr, "MAIL"},
    {"STARTTLS", verb::starttls, nullptr, nullptr},
    {"starttls", verb::starttls, nullptr, nullptr},
    {"EXPN staff", verb::not_implemented, nullptr, nullptr},
    {"AUTH PLAIN AGFiYwBk", verb::not_implemented, nullptr, nullptr},
    {"GET / HTTP/1.1", verb::non_smtp, nullptr, nullptr},
    {"CONNECT mx.example.com:25 HTTP/1.0", verb::non_smtp, nullptr, nullptr},
    {"FOO bar", verb::unknown, nullptr, nullptr},
    {"subject: test of the capture-only instance", verb::unknown, nullptr, nullptr},
};

TEST(SmtpCommand, GoodLines) {
  for (const auto& c : kGood) {
    SCOPED_TRACE(c.line);
    auto r = parse_command(c.line);
    ASSERT_TRUE(r.has_value()) << r.error().summary();
    EXPECT_EQ(r->v, c.v);
    if (c.address) {
      EXPECT_EQ(r->address.address(), c.address);
    }
    if (c.argument) {
      EXPECT_EQ(r->argument, c.argument);
    }
  }
}

TEST(SmtpCommand, VerbNameIsUpperCased) {
  EXPECT_EQ(parse_command("eXpN x")->name, "EXPN");
  EXPECT_EQ(parse_command("mail FROM:<a@b.test>")->name, "MAIL");
}

TEST(SmtpCommand, MailParameters) {
  auto r = parse_command("MAIL FROM:<a@b.test> SIZE=1000 BODY=8BITMIME");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->params.size, 1000u);
  EXPECT_EQ(r->params.body, body_param::eight_bit_mime);
  EXPECT_FALSE(r->params.smtputf8);

  r = parse_command("mail from:<a@b.test> body=binarymime smtputf8");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->params.body, body_param::binary_mime);
  EXPECT_TRUE(r->params.smtputf8);
  EXPECT_FALSE(r->params.size.has_value());

  r = parse_command("MAIL FROM:<a@b.test> BODY=7BIT");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->params.body, body_param::seven_bit);

  // Unbracketed path followed by parameters.
  r = parse_command("mail from: a@b.test size=42");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->address.address(), "a@b.test");
  EXPECT_EQ(r->params.size, 42u);

  // RFC 1870: size-value = 1*20DIGIT; beyond 64 bits is simply "too big".
  r = parse_command("MAIL FROM:<a@b.test> SIZE=99999999999999999999");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->params.size, std::numeric_limits<std::uint64_t>::max());

  // RFC 6531 3.4: UTF-8 path with SMTPUTF8.
  r = parse_command("MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->address.is_utf8());
}

TEST(SmtpCommand, Bdat) {
  // RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]
  auto r = parse_command("BDAT 100");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->v, verb::bdat);
  EXPECT_EQ(r->chunk_size, 100u);
  EXPECT_FALSE(r->last_chunk);
  r = parse_command("bdat 0 last");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->chunk_size, 0u);
  EXPECT_TRUE(r->last_chunk);
  EXPECT_EQ(peek_verb("BDAT nonsense"), verb::bdat);
  EXPECT_EQ(peek_verb("  bdat"), verb::bdat);
  EXPECT_EQ(peek_verb("MAIL FROM:<>"), verb::mail);
}

struct bad_case {
  const char* line;
  int code;
  enhanced_status st;
};

using namespace status;

const bad_case kBad[] = {
    {"", 500, k_5_5_2},
    {"   ", 500, k_5_5_2},
    {"NOOP\x01", 500, k_5_5_2},                                  // control byte
    {"MAIL FROM:<a@b.test>\rRCPT TO:<c@d.test>", 500, k_5_5_2},  // CR inside a line
    {"MAIL", 501, k_5_5_4},
    {"MAIL FROM", 501, k_5_5_4},
    {"MAIL TO:<a@b.test>", 501, k_5_5_4},
    {"RCPT FROM:<a@b.test>", 501, k_5_5_4},
    {"MAIL FROM:", 501, k_5_1_7},
    {"MAIL FROM:<a@b.test", 501, k_5_1_7},
    {"MAIL FROM:a@b.test>", 501, k_5_1_7},
    {"MAIL FROM:<a@b.test>x", 501, k_5_1_7},
    {"MAIL FROM:<a..b@c.test>", 501, k_5_1_7},
    {"MAIL FROM:<a@-b.test>", 501, k_5_1_7},
    {"mail from: [email protected]", 501, k_5_1_7},  // web page obfuscation
    {"rcpt to: [email protected]", 501, k_5_1_3},
    {"RCPT TO:<>", 501, k_5_1_3},
    {"RCPT TO:", 501, k_5_1_3},
    {"RCPT TO:<user@ext.test@local.test>", 501, k_5_1_3},
    {"RCPT TO:<a b@c.test>", 501, k_5_1_3},
    {"MAIL FROM:<a@b.test> SIZE=abc", 501, k_5_5_4},
    {"MAIL FROM:<a@b.test> SIZE=", 501, k_5_5_4},
    {"MAIL FROM:<a@b.test> SIZE", 501, k_5_5_4},
    {"MAIL FROM:<a@b.test> SIZE=123456789012345678901", 501, k_5_5_4},  // 21 digits
    {"MAIL FROM:<a@b.test> SIZE=1 SIZE=2", 501, k_5_5_4},
    {"MAIL FROM:<a@b.test> BODY=9BIT", 501, k_5_5_4},
    {"MAIL FROM:<a@b.test> SMTPUTF8=yes", 501, k_5_5_4},
    {"MAIL FROM:<a@b.test> =x", 501, k_5_5_4},
    {"MAIL FROM:<a@b.test> RET=FULL", 555, k_5_5_4},  // 4.1.1.11: not offered (no DSN)
    {"MAIL FROM:<a@b.test> AUTH=<>", 555, k_5_5_4},
    {"RCPT TO:<a@b.test> NOTIFY=NEVER", 555, k_5_5_4},
    {"MAIL FROM:<j\xc3\xb6rg@example.com>", 553, k_5_6_7},  // RFC 6531 3.5
    {"MAIL FROM:<\xc3\x28@x.test> SMTPUTF8", 501, k_5_1_7},
    {"DATA now", 501, k_5_5_4},
    {"STARTTLS please", 501, k_5_5_4},
    {"RSET all", 501, k_5_5_4},
    {"VRFY", 501, k_5_5_4},
    {"EHLO", 501, k_5_5_4},
    {"HELO   ", 501, k_5_5_4},
    {"BDAT", 501, k_5_5_4},
    {"BDAT x", 501, k_5_5_4},
    {"BDAT 10 FIRST", 501, k_5_5_4},
    {"BDAT -1", 501, k_5_5_4},
    {"BDAT 12x", 501, k_5_5_4},
    {"BDAT 99999999999999999999", 501, k_5_5_4},
};

TEST(SmtpCommand, BadLines) {
  for (const auto& c : kBad) {
    SCOPED_TRACE(c.line);
    auto r = parse_command(c.line);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, c.code) << r.error().summary();
    EXPECT_EQ(r.error().status, c.st) << r.error().summary();
    ASSERT_FALSE(r.error().lines.empty());
    EXPECT_FALSE(r.error().lines[0].empty());
  }
}

TEST(SmtpCommand, ObfuscatedAddressReplyExplainsItself) {
  auto r = parse_command("mail from: [email protected]");
  ASSERT_FALSE(r.has_value());
  const std::string text = r.error().format();
  EXPECT_NE(text.find("501-5.1.7 "), std::string::npos) << text;
  EXPECT_NE(text.find("[email protected]"), std::string::npos) << text;
  EXPECT_NE(text.find("501 5.1.7 "), std::string::npos) << text;
}

}  // namespace
}  // namespace mxg::smtp
