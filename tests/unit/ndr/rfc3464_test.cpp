// rfc3464_test.cpp: the message/delivery-status field parser (RFC 3464 section 2)
// and the text helpers it relies on: folded fields, groups, typed values,
// recipients run together without blank lines, address/status/code extraction.
#include <gtest/gtest.h>

#include "ndr/rfc3464.hpp"
#include "ndr/text.hpp"

namespace mxg::ndr {
namespace {

TEST(NdrRfc3464, PerMessageAndPerRecipientGroups) {
  const char* body =
      "Reporting-MTA: dns; mx.example.net\n"
      "Arrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
      "\n"
      "Final-Recipient: rfc822; a@example.org\n"
      "Action: failed\n"
      "Status: 5.1.1\n"
      "Remote-MTA: dns; mx.example.org\n"
      "Diagnostic-Code: smtp; 550 5.1.1 <a@example.org>: Recipient address\n"
      "    rejected: User unknown\n"
      "\n"
      "Final-Recipient: rfc822; b@example.org\n"
      "Action: delayed\n"
      "Status: 4.4.1\n";
  auto d = parse_delivery_status(body);
  EXPECT_EQ(strip_type(d.per_message.get("Reporting-MTA")), "mx.example.net");
  ASSERT_EQ(d.recipients.size(), 2u);
  EXPECT_EQ(strip_type(d.recipients[0].get("final-recipient")), "a@example.org");
  std::string type;
  EXPECT_EQ(strip_type(d.recipients[0].get("Diagnostic-Code"), &type),
            "550 5.1.1 <a@example.org>: Recipient address rejected: User unknown");
  EXPECT_EQ(type, "smtp");
  EXPECT_EQ(d.recipients[1].get("Action"), "delayed");
}

TEST(NdrRfc3464, RecipientsWithoutBlankLinesAreSplit) {
  const char* body =
      "Final-Recipient: rfc822; a@example.org\n"
      "Status: 5.1.1\n"
      "Final-Recipient: rfc822; b@example.org\n"
      "Status: 5.2.2\n";
  auto d = parse_delivery_status(body);
  ASSERT_EQ(d.recipients.size(), 2u);
  EXPECT_EQ(d.recipients[1].get("Status"), "5.2.2");
  EXPECT_TRUE(d.per_message.fields.empty());
}

TEST(NdrRfc3464, GarbageLinesAreIgnored) {
  auto d = parse_delivery_status("not a field\n: no name\n\n\n   \nX: y\n");
  EXPECT_TRUE(d.recipients.empty());
  EXPECT_EQ(d.per_message.get("X"), "y");
}

struct addr_case {
  const char* in;
  const char* want;
};

TEST(NdrText, CleanAddress) {
  const addr_case cases[] = {
      {"rfc822; user@example.org", "user@example.org"},
      {"RFC822;<User@Example.org>", "User@Example.org"},
      {"  <a.b+c@sub.example.co.jp>: ", "a.b+c@sub.example.co.jp"},
      {"\"Name\" <x@example.net>", "x@example.net"},
  };
  for (const auto& c : cases) EXPECT_EQ(text::clean_address(c.in), c.want) << c.in;
}

TEST(NdrText, FindAddresses) {
  auto a = text::find_addresses("to <a@example.org>, b@example.net. and c@localhost or @x.org");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0], "a@example.org");
  EXPECT_EQ(a[1], "b@example.net");
}

struct code_case {
  const char* text;
  const char* status;
  const char* reply;
  const char* command;
};

TEST(NdrText, StatusReplyAndCommand) {
  const code_case cases[] = {
      {"host mx.example.org[192.0.2.1] said: 550 5.1.1 <a@example.org>: User unknown (in reply to "
       "RCPT TO command)",
       "5.1.1", "550", "RCPT"},
      {"SMTP error from remote mail server after end of data: 554 5.7.0 Header error", "5.7.0",
       "554", "DATA"},
      {"remote host 192.0.2.32 said: 452 4.2.2 full (in reply to MAIL FROM command)", "4.2.2",
       "452", "MAIL"},
      {"connected to 192.0.2.1 version 5.1.1.1 no code here", "", "", ""},
      {"(#5.5.0)", "5.5.0", "", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(text::find_status(c.text), c.status) << c.text;
    EXPECT_EQ(text::find_reply_code(c.text), c.reply) << c.text;
    EXPECT_EQ(text::find_command(c.text), c.command) << c.text;
  }
}

// A reply code given as the value of a field labelled "code" (RFC 5321 4.2
// codes are three digits; the label says what the number is), whatever
// punctuation surrounds it. Unlabelled numbers after ':' stay no code (times,
// ports, counters).
TEST(NdrText, LabelledReplyCode) {
  EXPECT_EQ(text::find_reply_code("Host not reachable, ERROR_CODE :421, ERROR_CODE :"), "421");
  EXPECT_EQ(text::find_reply_code("Delivery failed. Error code: 552."), "552");
  EXPECT_EQ(text::find_reply_code("smtp code = 450; try later"), "450");
  EXPECT_EQ(text::find_reply_code("reply code:5501 is no code"), "");
  EXPECT_EQ(text::find_reply_code("connected to 192.0.2.1:550, closed"), "");
  EXPECT_EQ(text::find_reply_code("retry at 10:450 seconds"), "");
}

// RFC 5321 4.1.1.2-4.1.1.3: the commands carry their path in angle brackets
// ("RCPT TO:<forward-path>"). A "RCPT TO: addr" line without them is a label
// in a listing of the message's envelope, not the command a reply answered.
TEST(NdrText, CommandNeedsItsPathSyntax) {
  EXPECT_EQ(text::find_command(">>> RCPT To:<bob@example.org>\n<<< 550 5.1.1 unknown"), "RCPT");
  EXPECT_EQ(text::find_command(">>> MAIL From: <alice@example.com> SIZE=100\n<<< 553 no"), "MAIL");
  EXPECT_EQ(text::find_command("Message details: Subject: Test MAIL FROM: alice@example.com "
                               "RCPT TO: bob@example.org From: alice@example.com"),
            "");
}

TEST(NdrText, ReceivedIp) {
  EXPECT_EQ(text::find_ip("from mail.example.org (mail.example.org [192.0.2.7]) by mx"),
            "192.0.2.7");
  EXPECT_EQ(text::find_ip("from x ([IPv6:2001:db8::1]) by y"), "2001:db8::1");
  EXPECT_EQ(text::find_ip("from x (HELO y) (192.0.2.4) by z"), "192.0.2.4");
  EXPECT_EQ(text::find_ip("from localhost by z"), "");
}

TEST(NdrText, NewlinesAndAligned) {
  EXPECT_EQ(text::normalize_newlines("a\r\nb\rc\n"), "a\nb\nc\n");
  EXPECT_TRUE(text::aligned("your mailbox is full now", "mailbox*full"));
  EXPECT_FALSE(text::aligned("full mailbox", "mailbox*full"));
}

}  // namespace
}  // namespace mxg::ndr
