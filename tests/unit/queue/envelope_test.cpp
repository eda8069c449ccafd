// envelope_test.cpp: control file format: round trip, escaping of hostile values
// (CR, LF, NUL from SMTP peers must never start a line), and the strict parser's
// refusals (missing end marker, truncation at every byte, malformed lines).
#include "queue/envelope.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace mxg::queue {
namespace {

using namespace std::chrono_literals;

time_point at(std::int64_t unix_seconds) {
  return time_point(std::chrono::seconds(unix_seconds));
}

envelope sample() {
  envelope e;
  e.id = *queue_id::parse("00661A2B3C4D5A3F9C");
  e.created = at(1795835800);  // 2026-11-28T03:16:40Z
  e.sender = "drj@drj.test";
  e.recipients = {
      {"user@drj.test", rcpt_status::pending, "", std::nullopt},
      {"done@x.test", rcpt_status::delivered, "250 2.0.0 Ok: queued as 4Xyz", std::nullopt},
      {"gone@x.test", rcpt_status::failed, "550 5.1.1 <gone@x.test>: unknown user", std::nullopt},
      {"later@y.test", rcpt_status::deferred, "451 4.4.1 no answer", at(1795837600)},
  };
  e.client_ip = "2001:db8::25";
  e.client_name = "mail.drj.test";
  e.helo = "localhost";
  e.listener = "capture";
  e.session = "S0001";
  e.mode = delivery_mode::hold;
  e.attempts = 3;
  e.next_attempt = at(1795837600);
  e.size = 1234;
  e.body = body_type::eight_bit_mime;
  e.smtputf8 = true;
  e.extra = {{"dsn-ret", "hdrs"}, {"dsn-envid", "QQ314159"}};
  return e;
}

TEST(ControlFile, GoldenText) {
  // The documented format (docs/queue.md), field for field.
  const char* expected =
      "mxguard-queue: 1\n"
      "id: 00661A2B3C4D5A3F9C\n"
      "created: 2026-11-28T03:16:40Z\n"
      "sender: drj@drj.test\n"
      "recipient: pending user@drj.test\n"
      "recipient: delivered done@x.test 250 2.0.0 Ok: queued as 4Xyz\n"
      "recipient: failed gone@x.test 550 5.1.1 <gone@x.test>: unknown user\n"
      "recipient: deferred later@y.test 2026-11-28T03:46:40Z 451 4.4.1 no answer\n"
      "client-ip: 2001:db8::25\n"
      "client-name: mail.drj.test\n"
      "helo: localhost\n"
      "listener: capture\n"
      "session: S0001\n"
      "mode: hold\n"
      "attempts: 3\n"
      "next-attempt: 2026-11-28T03:46:40Z\n"
      "size: 1234\n"
      "body: 8bitmime\n"
      "smtputf8: yes\n"
      "x-dsn-ret: hdrs\n"
      "x-dsn-envid: QQ314159\n"
      "end: 00661A2B3C4D5A3F9C\n";
  EXPECT_EQ(format_control(sample()), expected);
  auto back = parse_control(expected);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, sample());
}

TEST(ControlFile, RoundTripOfHostileValues) {
  const std::string hostile[] = {
      std::string("a\r\nend: 00661A2B3C4D5A3F9C\r\nrecipient: pending evil@x.test"),
      std::string("nul\0inside", 10),
      "back\\slash\\",
      "tab\there",
      "del\x7f",
      "bell\x07 esc\x1b[31m",
      "caf\xc3\xa9@\xe4\xbe\x8b\xe5\xad\x90.test",  // UTF-8 (RFC 6531) kept as is
      "sp ace",
      "\\x41 not an escape",
      "<>",
      "trailing space ",
      " leading space",
      "\n",
  };
  for (const auto& v : hostile) {
    SCOPED_TRACE(escape_value(v));
    envelope e = sample();
    e.sender = v;
    e.helo = v;
    e.client_name = v;
    e.listener = v;
    e.recipients[0].address = v;
    e.recipients[1].reply = v;
    e.recipients[3].reply = v;
    e.extra[0].second = v;
    std::string text = format_control(e);
    // Exactly one line per field: no value could add a line.
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 22);
    EXPECT_EQ(text.find('\r'), std::string::npos);
    EXPECT_EQ(text.find('\0'), std::string::npos);
    auto back = parse_control(text);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, e);
  }
}

TEST(ControlFile, NullSender) {
  envelope e = sample();
  e.sender.clear();
  std::string text = format_control(e);
  EXPECT_NE(text.find("\nsender: <>\n"), std::string::npos);
  auto back = parse_control(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sender, "");
}

TEST(ControlFile, EscapeTable) {
  struct tc {
    std::string in;
    bool space;
    const char* out;
  };
  const tc cases[] = {
      {"plain@x.test", false, "plain@x.test"},
      {"a\\b", false, "a\\\\b"},
      {"a\rb\nc\td", false, "a\\rb\\nc\\td"},
      {std::string("\0", 1), false, "\\x00"},
      {"\x01\x1f\x7f", false, "\\x01\\x1F\\x7F"},
      {"a b", false, "a b"},
      {"a b", true, "a\\x20b"},
      {"\xc3\xa9", false, "\xc3\xa9"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(escape_value(c.in, c.space), c.out);
    auto back = unescape_value(c.out);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c.in);
  }
}

TEST(ControlFile, UnescapeRefusals) {
  const std::string bad[] = {"lone\\", "\\q",     "\\x4",     "\\xZZ",
                             "\\x",    "raw\rcr", "raw\ttab", std::string("raw\0nul", 7)};
  for (const auto& b : bad) {
    SCOPED_TRACE(escape_value(b));
    auto r = unescape_value(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::parse_error);
  }
}

TEST(ControlFile, TimeFormat) {
  struct tc {
    std::int64_t unix;
    const char* text;
  };
  const tc cases[] = {{0, "1970-01-01T00:00:00Z"},
                      {951827696, "2000-02-29T12:34:56Z"},
                      {2147483648, "2038-01-19T03:14:08Z"},
                      {1795835800, "2026-11-28T03:16:40Z"}};
  for (const auto& c : cases) {
    EXPECT_EQ(format_time(at(c.unix)), c.text);
    auto t = parse_time(c.text);
    ASSERT_TRUE(t) << c.text;
    EXPECT_EQ(*t, at(c.unix));
  }
  const char* bad[] = {"2001-02-29T00:00:00Z",      "2026-13-01T00:00:00Z",
                       "2026-11-28T24:00:00Z",      "2026-11-28T03:60:00Z",
                       "2026-11-28 03:16:40Z",      "2026-11-28T03:16:40",
                       "2026-11-28T03:16:40+00:00", "2026-11-28T03:16:4Z",
                       "+026-11-28T03:16:40Z",      ""};
  for (const char* b : bad) EXPECT_FALSE(parse_time(b)) << b;
}

// Every proper prefix of a valid control file is refused: a file cut anywhere by a
// crash never parses as a (smaller) message.
TEST(ControlFile, EveryTruncationIsRefused) {
  std::string text = format_control(sample());
  for (std::size_t n = 0; n < text.size(); ++n) {
    auto r = parse_control(std::string_view(text).substr(0, n));
    ASSERT_FALSE(r) << "prefix of " << n << " bytes parsed";
    EXPECT_EQ(r.error().code, errc::parse_error);
  }
  EXPECT_TRUE(parse_control(text));
}

// Malformed files: each case replaces or removes lines of the golden text; the error
// must name the line where the problem is (0: no specific line).
TEST(ControlFile, ParserRefusals) {
  const std::string good = format_control(sample());
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    auto p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    s.replace(p, from.size(), to);
    return s;
  };
  struct tc {
    const char* name;
    std::string text;
    const char* error;  // substring of the message
  };
  const tc cases[] = {
      {"missing end marker", replace("end: 00661A2B3C4D5A3F9C\n", ""), "no end marker"},
      {"end marker of another id", replace("end: 00661A2B3C4D5A3F9C", "end: 00661A2B3C4D5A3F9D"),
       "line 22: end marker does not repeat the id"},
      {"data after end", good + "sender: x@y\n", "line 23: data after the end marker"},
      {"no final newline", good.substr(0, good.size() - 1), "line 22: no line end"},
      {"wrong version", replace("mxguard-queue: 1", "mxguard-queue: 2"),
       "line 1: unsupported control file version"},
      {"not a control file", "From drj@drj.test\n" + good, "line 1: not a \"key: value\""},
      {"first line not version", replace("mxguard-queue: 1\n", ""), "line 1: not an mxguard"},
      {"unknown field", replace("helo: localhost", "hello: localhost"),
       "line 11: unknown field \"hello\""},
      {"line without colon", replace("helo: localhost", "helo localhost"),
       "line 11: not a \"key: value\" line"},
      {"no space after colon", replace("helo: localhost", "helo:localhost"),
       "line 11: expected a space"},
      {"duplicate id", replace("created:", "id: 00661A2B3C4D5A3F9C\ncreated:"),
       "line 3: duplicate field \"id\""},
      {"duplicate helo", replace("helo: localhost", "helo: a\nhelo: b"),
       "line 12: duplicate field \"helo\""},
      {"bad id", replace("id: 00661A2B3C4D5A3F9C", "id: ../../x"), "line 2: not a queue id"},
      {"bad created", replace("created: 2026-11-28T03:16:40Z", "created: yesterday"),
       "line 3: bad time"},
      {"empty sender", replace("sender: drj@drj.test", "sender:"), "line 4: empty sender"},
      {"unknown recipient status", replace("recipient: pending", "recipient: maybe"),
       "line 5: unknown recipient status"},
      {"recipient without address",
       replace("recipient: pending user@drj.test", "recipient: pending"),
       "line 5: recipient without an address"},
      {"deferred without time",
       replace("later@y.test 2026-11-28T03:46:40Z 451", "later@y.test 451"),
       "line 8: deferred recipient: bad time"},
      {"raw CR in a value", replace("helo: localhost", "helo: local\rhost"),
       "line 11: raw control character"},
      {"bad escape", replace("helo: localhost", "helo: local\\host"), "line 11: unknown escape"},
      {"bad mode", replace("mode: hold", "mode: later"), "line 14: unknown delivery mode"},
      {"negative attempts", replace("attempts: 3", "attempts: -3"), "line 15: bad attempts"},
      {"size with sign", replace("size: 1234", "size: +1234"), "line 17: bad size"},
      {"size overflow", replace("size: 1234", "size: 99999999999999999999"), "line 17: bad size"},
      {"bad body", replace("body: 8bitmime", "body: 9bit"), "line 18: unknown body type"},
      {"bad smtputf8", replace("smtputf8: yes", "smtputf8: true"), "line 19: smtputf8 must be"},
      {"bad extension name", replace("x-dsn-ret:", "x-DSN_ret:"), "line 20: bad extension"},
      {"duplicate extension", replace("x-dsn-envid:", "x-dsn-ret:"), "line 21: duplicate field"},
      {"missing size", replace("size: 1234\n", ""), "missing field \"size\""},
      {"missing mode", replace("mode: hold\n", ""), "missing field \"mode\""},
      {"no recipient",
       replace("recipient: pending user@drj.test\n"
               "recipient: delivered done@x.test 250 2.0.0 Ok: queued as 4Xyz\n"
               "recipient: failed gone@x.test 550 5.1.1 <gone@x.test>: unknown user\n"
               "recipient: deferred later@y.test 2026-11-28T03:46:40Z 451 4.4.1 no answer\n",
               ""),
       "no recipient"},
      {"empty file", "", "empty control file"},
      {"CRLF line ends",
       [&] {
         std::string s;
         for (char c : good) {
           if (c == '\n') s += '\r';
           s += c;
         }
         return s;
       }(),
       "line 1: raw control character"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = parse_control(c.text);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::parse_error);
    EXPECT_NE(r.error().message.find(c.error), std::string::npos) << r.error().message;
  }
}

TEST(ControlFile, OversizedInputIsRefused) {
  std::string text = format_control(sample());
  std::string big =
      text.substr(0, text.find("end:")) + "helo: " + std::string(kControlLineMax, 'a') + "\n";
  auto r = parse_control(big);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("line too long"), std::string::npos) << r.error().message;
  std::string huge(kControlFileMax + 1, '\n');
  EXPECT_FALSE(parse_control(huge));
}

TEST(Envelope, DoneAndExtras) {
  envelope e = sample();
  EXPECT_FALSE(e.done());
  for (auto& r : e.recipients)
    if (r.status != rcpt_status::failed) r.status = rcpt_status::delivered;
  EXPECT_TRUE(e.done());
  ASSERT_NE(e.find_extra("dsn-ret"), nullptr);
  EXPECT_EQ(*e.find_extra("dsn-ret"), "hdrs");
  e.set_extra("dsn-ret", "full");
  e.set_extra("tls", "TLSv1.3");
  EXPECT_EQ(*e.find_extra("dsn-ret"), "full");
  EXPECT_EQ(e.extra.size(), 3u);
  EXPECT_EQ(e.find_extra("nope"), nullptr);
}

}  // namespace
}  // namespace mxg::queue
