// parse_test.cpp: whole-message tests of the bounce parser on small messages
// written for these tests (not copies of corpus files): an RFC 3464 DSN in LF,
// CRLF and CR line endings, free-text bounces (qmail-style and Exim-style), an
// ARF report, a message that is not a bounce, hostile input, and mbox splitting.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ndr/ndr.hpp"

namespace mxg::ndr {
namespace {

// What a test expects of the one record a notice yields.
struct want {
  std::string recipient, status, reason;
};

// Parses msg, expects exactly one record with w's recipient, status and reason, and
// returns it for the test's further checks (an empty record when there is none).
record expect_one(const std::string& msg, const want& w) {
  auto recs = parse_message(msg);
  EXPECT_EQ(recs.size(), 1u);
  if (recs.empty()) return {};
  EXPECT_EQ(recs[0].recipient, w.recipient);
  EXPECT_EQ(recs[0].status, w.status);
  EXPECT_EQ(recs[0].reason, w.reason);
  return recs[0];
}

const std::string kDsn =
    "Return-Path: <>\n"
    "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
    "To: alice@example.com\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\n"
    "\n"
    "--B1\n"
    "Content-Type: text/plain\n"
    "\n"
    "<bob@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1 <bob@example.org>:\n"
    "    Recipient address rejected: User unknown (in reply to RCPT TO command)\n"
    "\n"
    "--B1\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.net\n"
    "Arrival-Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
    "\n"
    "Final-Recipient: rfc822; bob@example.org\n"
    "Original-Recipient: rfc822; bob@example.org\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mx.example.org\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown\n"
    "Last-Attempt-Date: Mon, 1 Jan 2024 10:00:05 +0000\n"
    "\n"
    "--B1\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Return-Path: <alice@example.com>\n"
    "Received: from webform.example.com (webform.example.com [198.51.100.7])\n"
    "\tby mx.example.net (Postfix) with ESMTP id 1234; Mon, 1 Jan 2024 10:00:00 +0000\n"
    "Received: from localhost (localhost [127.0.0.1]) by webform.example.com; Mon, 1 Jan 2024\n"
    "From: Alice <alice@example.com>\n"
    "To: bob@example.org\n"
    "Subject: =?UTF-8?Q?Tell_a_friend?=\n"
    "Message-ID: <abc123@example.com>\n"
    "Date: Mon, 1 Jan 2024 09:59:59 +0000\n"
    "\n"
    "hello\n"
    "--B1--\n";

std::string with_line_ends(const std::string& s, const char* eol) {
  std::string out;
  for (char c : s) {
    if (c == '\n')
      out += eol;
    else
      out.push_back(c);
  }
  return out;
}

TEST(NdrParse, Rfc3464AllLineEndings) {
  for (const char* eol : {"\n", "\r\n", "\r"}) {
    auto recs = parse_message(with_line_ends(kDsn, eol));
    ASSERT_EQ(recs.size(), 1u) << "eol " << (eol[0] == '\r' ? (eol[1] ? "CRLF" : "CR") : "LF");
    const auto& r = recs[0];
    EXPECT_EQ(r.recipient, "bob@example.org");
    EXPECT_EQ(r.status, "5.1.1");
    EXPECT_FALSE(r.status_pseudo);
    EXPECT_EQ(r.reason, "userunknown");
    EXPECT_EQ(r.action, "failed");
    EXPECT_EQ(r.reply_code, "550");
    EXPECT_EQ(r.smtp_command, "RCPT");
    EXPECT_EQ(r.diagnostic_type, "SMTP");
    EXPECT_EQ(r.reporting_mta, "mx.example.net");
    EXPECT_EQ(r.remote_mta, "mx.example.org");
    EXPECT_EQ(r.arrival_date, "Mon, 1 Jan 2024 10:00:00 +0000");
    EXPECT_EQ(r.original_sender, "alice@example.com");
    EXPECT_EQ(r.original_subject, "Tell a friend");
    EXPECT_EQ(r.original_message_id, "abc123@example.com");
    EXPECT_EQ(r.original_client_host, "webform.example.com");
    EXPECT_EQ(r.original_client_ip, "198.51.100.7");
  }
}

TEST(NdrParse, QmailStyleText) {
  const std::string msg =
      "From: MAILER-DAEMON@mail.example.net\n"
      "To: alice@example.com\n"
      "Subject: failure notice\n"
      "\n"
      "Hi. This is the qmail-send program at mail.example.net.\n"
      "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
      "This is a permanent error; I've given up. Sorry it didn't work out.\n"
      "\n"
      "<carol@example.org>:\n"
      "192.0.2.9 does not like recipient.\n"
      "Remote host said: 552 5.2.2 <carol@example.org>... Mailbox full\n"
      "Giving up on 192.0.2.9.\n"
      "\n"
      "--- Below this line is a copy of the message.\n"
      "\n"
      "Return-Path: <alice@example.com>\n"
      "From: alice@example.com\n"
      "To: carol@example.org\n"
      "Subject: hi\n"
      "\n"
      "body\n";
  auto r = expect_one(msg, {"carol@example.org", "5.2.2", "mailboxfull"});
  EXPECT_EQ(r.reporting_mta, "mail.example.net");
  EXPECT_EQ(r.original_subject, "hi");
}

// With no enhanced status code, the pseudo status takes its class from the
// reply code (RFC 5321 4.2.1: 4yz is transient) also when the notice gives
// the code as a labelled value ("ERROR_CODE :421").
TEST(NdrParse, LabelledReplyCodeDecidesTheClass) {
  const std::string msg =
      "From: MAILER-DAEMON@mail.example.net\n"
      "To: alice@example.com\n"
      "Subject: Undelivered Mail Returned to Sender\n"
      "\n"
      "Your message could not be delivered.\n"
      "\n"
      "dave@example.org Error, ERROR_CODE :421, ERROR_CODE :, Server not responding.\n";
  auto recs = parse_message(msg);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].recipient, "dave@example.org");
  EXPECT_EQ(recs[0].reply_code, "421");
  ASSERT_FALSE(recs[0].status.empty());
  EXPECT_EQ(recs[0].status[0], '4');
  EXPECT_TRUE(recs[0].status_pseudo);
}

// A listing of the message's envelope ("MAIL FROM: a RCPT TO: b", no angle
// brackets, RFC 5321 4.1.1.2-4.1.1.3) does not say which command failed.
TEST(NdrParse, EnvelopeListingIsNotTheFailedCommand) {
  const std::string msg =
      "From: MAILER-DAEMON@mail.example.net\n"
      "To: alice@example.com\n"
      "Subject: Delivery failure\n"
      "\n"
      "Error: Invalid user address\n"
      "Error message below: 550 - Requested action not taken: no such user here\n"
      "Message details:\n"
      "  Subject: Test message\n"
      "  MAIL FROM: alice@example.com\n"
      "  RCPT TO: erin@example.org\n";
  auto recs = parse_message(msg);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].recipient, "erin@example.org");
  EXPECT_EQ(recs[0].reply_code, "550");
  EXPECT_EQ(recs[0].smtp_command, "");
}

// A recipient list written as list items ("* addr"): the same shape as an
// address alone on its line.
TEST(NdrParse, BulletedRecipientLine) {
  const std::string msg =
      "From: MAILER-DAEMON@mail.example.net\nTo: alice@example.com\n"
      "Subject: Delivery Status Notification\n\n"
      "Delivery to the following recipients was aborted:\n\n"
      "  * dave@example.org\n\n"
      "Technical details: the domain has no mail exchanger\n";
  auto recs = parse_message(msg);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].recipient, "dave@example.org");
  EXPECT_EQ(recs[0].recipient_rule, "text:line-starts-with-address");
}

// A notice whose only words are the sentence that introduces the list of
// recipients ("... failed permanently:", a lead-in ending with ':') says
// nothing about why: no diagnostic, reason "undefined" (not "onhold", which is
// an error text no rule reads), a permanent pseudo status.
TEST(NdrParse, LeadInAloneIsNoDiagnostic) {
  const std::string msg =
      "From: MAILER-DAEMON@mail.example.net\nTo: alice@example.com\n"
      "Subject: Delivery Status Notification (Failure)\n\n"
      "This is an automatically generated Delivery Status Notification.\n\n"
      "Delivery to the following recipients failed permanently:\n\n"
      "   * dave@example.org\n\n\n";
  auto r = expect_one(msg, {"dave@example.org", "5.0.900", "undefined"});
  EXPECT_EQ(r.diagnostic, "");
  EXPECT_TRUE(r.status_pseudo);
  // An error text above the address (Notes) is still the diagnostic.
  const std::string notes =
      "From: MAILER-DAEMON@mail.example.net\nTo: alice@example.com\n"
      "Subject: Delivery Status Notification (Failure)\n\n"
      "Your message could not be delivered: quota problem in the directory\n\n"
      "   * dave@example.org\n\n\n";
  auto recs = parse_message(notes);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_NE(recs[0].diagnostic, "");
}

// The same with a double-dash list mark; the enhanced code given further down
// the notice (RFC 3463) is the record's status.
TEST(NdrParse, DoubleDashListItemAndItsCode) {
  const std::string msg =
      "From: postmaster@gateway.example.net\nTo: alice@example.com\n"
      "Subject: Failure notice\n\n"
      "An email that you attempted to send to the following address could not be delivered:\n"
      "\n"
      "-- frank@example.org\n\n"
      "The problem appears to be :\n\n"
      "-- Recipient email address is possibly incorrect\n\n"
      "Additional information follows :\n\n"
      "-- 5.2.2 Mailbox quota exceeded\n";
  auto r = expect_one(msg, {"frank@example.org", "5.2.2", "mailboxfull"});
  EXPECT_FALSE(r.status_pseudo);
}

// Recipients named in prose: any <addr> after "to", "for" or "recipient",
// whatever sentence leads to it; the rule that found each field is recorded.
TEST(NdrParse, RecipientInProseAndRuleTrace) {
  const std::string msg =
      "From: MAILER-DAEMON@mx.example.net\n"
      "To: alice@example.com\n"
      "Subject: Undeliverable mail\n"
      "\n"
      "We were unable to hand your message over for <carol@example.org>.\n"
      "Remote host said: 550 5.1.1 User unknown\n";
  auto recs = parse_message(msg);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].recipient, "carol@example.org");
  EXPECT_EQ(recs[0].recipient_rule, "text:prose-for-<addr>");
  EXPECT_EQ(recs[0].status, "5.1.1");
  EXPECT_EQ(recs[0].status_rule, "diagnostic");
  EXPECT_EQ(recs[0].reason, "userunknown");
  EXPECT_EQ(recs[0].reason_rule, "status:5.1.1");
}

TEST(NdrParse, EximStyleTextTwoRecipients) {
  const std::string msg =
      "From: Mail Delivery System <Mailer-Daemon@relay.example.net>\n"
      "To: alice@example.com\n"
      "Subject: Mail delivery failed: returning message to sender\n"
      "X-Failed-Recipients: dave@example.org, erin@example.org\n"
      "\n"
      "This message was created automatically by mail delivery software.\n"
      "\n"
      "A message that you sent could not be delivered to one or more of its\n"
      "recipients. This is a permanent error. The following address(es) failed:\n"
      "\n"
      "  dave@example.org\n"
      "    SMTP error from remote mail server after RCPT TO:<dave@example.org>:\n"
      "    host mx.example.org [192.0.2.30]: 550 5.1.1 No such user here\n"
      "  erin@example.org\n"
      "    SMTP error from remote mail server after RCPT TO:<erin@example.org>:\n"
      "    host mx.example.org [192.0.2.30]: 452 4.2.2 Over quota\n"
      "\n"
      "------ This is a copy of the message, including all the headers. ------\n"
      "\n"
      "Return-path: <alice@example.com>\n"
      "Received: from [203.0.113.5] (helo=form) by relay.example.net with esmtp\n"
      "From: alice@example.com\n"
      "Subject: hello\n"
      "\n"
      "x\n";
  auto recs = parse_message(msg);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].recipient, "dave@example.org");
  EXPECT_EQ(recs[0].reason, "userunknown");
  EXPECT_EQ(recs[0].remote_mta, "mx.example.org");
  EXPECT_EQ(recs[1].recipient, "erin@example.org");
  EXPECT_EQ(recs[1].reason, "mailboxfull");
  EXPECT_EQ(recs[1].status, "4.2.2");
  EXPECT_EQ(recs[0].original_client_ip, "203.0.113.5");
}

TEST(NdrParse, ArfFeedbackReport) {
  const std::string msg =
      "From: fbl@isp.example\n"
      "To: abuse@example.com\n"
      "Subject: complaint\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n"
      "\n"
      "--F\n"
      "Content-Type: text/plain\n"
      "\n"
      "This is an email abuse report.\n"
      "--F\n"
      "Content-Type: message/feedback-report\n"
      "\n"
      "Feedback-Type: abuse\n"
      "User-Agent: test/1.0\n"
      "Version: 1\n"
      "Original-Rcpt-To: <frank@isp.example>\n"
      "Source-IP: 192.0.2.44\n"
      "\n"
      "--F\n"
      "Content-Type: message/rfc822\n"
      "\n"
      "From: news@example.com\n"
      "To: frank@isp.example\n"
      "Subject: offer\n"
      "\n"
      "x\n"
      "--F--\n";
  auto recs = parse_message(msg);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].recipient, "frank@isp.example");
  EXPECT_EQ(recs[0].reason, "feedback");
  EXPECT_EQ(recs[0].feedback_type, "abuse");
  EXPECT_EQ(recs[0].remote_mta, "192.0.2.44");
  EXPECT_EQ(recs[0].status, "");
}

TEST(NdrParse, OrdinaryMailIsNotABounce) {
  const std::string msg =
      "From: bob@example.org\nTo: alice@example.com\nSubject: lunch?\n\n"
      "Are you free at noon? Write to carol@example.net: 550 seats left.\n";
  EXPECT_TRUE(parse_message(msg).empty());
}

TEST(NdrParse, HostileInputNeverThrows) {
  const std::string inputs[] = {
      "",
      "\r\r\r\n\n",
      std::string(100000, '@'),
      "Content-Type: multipart/report; boundary=\"\"\n\n--\n--\n",
      "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\n--x\n"
      "Content-Type: message/delivery-status\n\nFinal-Recipient: ;\nStatus: 5.\n--x--",
      "Subject: Undeliverable\nFrom: postmaster@x\n\n<@>:\n<a@b.c\n>a@b.c<\n",
  };
  for (const auto& in : inputs) {
    EXPECT_NO_THROW({
      auto r = parse_message(in);
      (void)r;
    });
  }
}

// A DSN body with the given per-recipient fields (hand-written, minimal).
std::string dsn_with(const std::string& fields, const std::string& boundary = "B2",
                     const std::string& declared = "B2") {
  return "From: MAILER-DAEMON@mx.example.net\nTo: alice@example.com\nSubject: Undelivered Mail\n"
         "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
         "boundary=\"" +
         declared + "\"\n\n--" + boundary + "\nContent-Type: text/plain\n\nThe mail system\n\n--" +
         boundary +
         "\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n" +
         fields + "\n--" + boundary + "--\n";
}

TEST(NdrParse, StatusPreferenceBetweenFieldAndReply) {
  struct {
    const char* status;
    const char* diag;
    const char* want;
  } cases[] = {
      // x.0.0 in Status: says less than the code in the reply (RFC 3463 3.1).
      {"5.0.0", "smtp; 550 5.1.1 <bob@example.org>... User unknown", "5.1.1"},
      // an explicit Status: stays when the reply's code is generic
      {"5.1.1", "smtp; 550 5.0.0 <bob@example.org>... User unknown", "5.1.1"},
      // 4.4.7 "delivery time expired" is vaguer than the reply that failed
      {"4.4.7", "smtp; 450 4.7.1 Client host rejected", "4.7.1"},
      // no Status: at all: the reply's code
      {"", "smtp; 552 5.2.2 Mailbox full", "5.2.2"},
  };
  for (const auto& c : cases) {
    std::string fields = "Final-Recipient: rfc822; bob@example.org\nAction: failed\n";
    if (*c.status) fields += std::string("Status: ") + c.status + "\n";
    fields += std::string("Diagnostic-Code: ") + c.diag + "\n";
    auto recs = parse_message(dsn_with(fields));
    ASSERT_EQ(recs.size(), 1u) << c.diag;
    EXPECT_EQ(recs[0].status, c.want) << c.status << " / " << c.diag;
  }
}

TEST(NdrParse, MultiLineReplyCodesAreFolded) {
  auto recs = parse_message(
      dsn_with("Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.7.1\n"
               "Diagnostic-Code: smtp; 550-5.7.1 Messages with multiple\n"
               "    550-5.7.1 addresses in From: header are not accepted.\n"));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].diagnostic,
            "550 5.7.1 Messages with multiple addresses in From: header are not accepted.");
  EXPECT_EQ(recs[0].reason, "notcompliantrfc");
}

TEST(NdrParse, FirstLineOfAMultiLineReplyIsCompletedFromTheTranscript) {
  // Sendmail's DSN carries only "550-" (the first line, RFC 5321 4.2.1); the
  // session transcript in the notification has the whole reply.
  const std::string msg =
      "From: MAILER-DAEMON@mx.example.net\nTo: alice@example.com\nSubject: Returned mail\n"
      "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
      "boundary=\"B3\"\n\n--B3\nContent-Type: text/plain\n\n"
      "   ----- Transcript of session follows -----\n"
      "... while talking to mx.example.org.:\n>>> DATA\n"
      "<<< 550-5.7.1 This message does not have authentication information or fails to pass\n"
      "<<< 550-5.7.1 authentication checks. The message has been blocked.\n"
      "<<< 550 5.7.1 More information at the help page.\n"
      "554 5.0.0 Service unavailable\n\n--B3\nContent-Type: message/delivery-status\n\n"
      "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; bob@example.org\n"
      "Action: failed\nStatus: 5.7.1\n"
      "Diagnostic-Code: SMTP; 550-5.7.1 This message does not have authentication information "
      "or fails to pass\n\n--B3--\n";
  auto recs = parse_message(msg);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].diagnostic,
            "550 5.7.1 This message does not have authentication information or fails to pass "
            "authentication checks. The message has been blocked. More information at the help "
            "page.");
  EXPECT_EQ(recs[0].reason, "authfailure");
}

TEST(NdrParse, ExpiredStatusYieldsToTheCodeOfTheAttempts) {
  // RFC 3463 3.5, X.4.7 "Delivery time expired": "If possible, the code for
  // the actual problem found when delivery was attempted should be returned
  // rather than this code." The notification lists the attempts' replies.
  auto dsn = [](const std::string& notice, const std::string& diag) {
    return "From: MAILER-DAEMON@mx.example.net\nTo: alice@example.com\nSubject: Undeliverable\n"
           "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
           "boundary=\"B9\"\n\n--B9\nContent-Type: text/plain\n\n" +
           notice +
           "\n\n--B9\nContent-Type: message/delivery-status\n\n"
           "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; bob@example.org\n"
           "Action: failed\nStatus: 4.4.7\nDiagnostic-Code: smtp; " +
           diag + "\n\n--B9--\n";
  };
  auto recs = parse_message(
      dsn("Delivery has failed to these recipients: bob@example.org\n\n"
          "Remote Server at mx.example.org returned '550 4.4.7 QUEUE.Expired; message expired'\n"
          "Remote Server at mx.example.org returned '441 4.4.1 Error encountered while "
          "communicating with primary target IP address'",
          "550 4.4.7 QUEUE.Expired; message expired"));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status, "4.4.1");
  EXPECT_EQ(recs[0].status_rule, "dsn:x.4.7-attempt");
  EXPECT_EQ(recs[0].reason, "expired");
  // the attempt's reply inside the Diagnostic-Code itself
  recs = parse_message(dsn("Your message could not be delivered.",
                           "554 4.4.7 Message expired: unable to deliver in 840 minutes."
                           "<421 4.4.2 Connection timed out>"));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status, "4.4.2");
  // no other code, or several different ones: X.4.7 stays
  recs = parse_message(dsn("Your message could not be delivered.", "Envelope expired"));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status, "4.4.7");
  recs = parse_message(
      dsn("Attempts: 421 4.4.2 timed out; 450 4.2.0 try later", "4.4.7 message expired"));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status, "4.4.7");
}

TEST(NdrParse, ProgramRecipientFailureIsTheLocalMailers) {
  // Final-Recipient is a pipe (an alias delivering to a program): the local
  // mailer failed (X-Unix, RFC 3464 2.3.6), whatever the text around it says.
  const std::string msg =
      "From: MAILER-DAEMON@mx.example.net\nTo: alice@example.com\nSubject: Mail failure\n"
      "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
      "boundary=\"B4\"\n\n--B4\nContent-Type: text/plain\n\n"
      "The following address(es) failed:\n\n"
      "  pipe to |/usr/local/bin/filter bob@example.org /home/bob/.filter\n"
      "    generated by bob@example.org\n\n"
      "--B4\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
      "Action: failed\nFinal-Recipient: rfc822;|/usr/local/bin/filter bob@example.org\n"
      "Status: 5.0.0\n\n--B4--\n";
  auto recs = parse_message(msg);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].recipient, "bob@example.org");
  EXPECT_EQ(recs[0].diagnostic_type, "X-Unix");
  EXPECT_EQ(recs[0].reason, "mailererror");
}

TEST(NdrParse, EachRecipientsTextEndsAtTheNextRecipientsLine) {
  // Two recipient lines without a blank line between them: each DSN record
  // takes its own line as the diagnostic.
  const std::string msg =
      "From: MAILER-DAEMON@mx.example.net\nTo: alice@example.com\nSubject: failed\n"
      "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
      "boundary=\"B5\"\n\n--B5\nContent-Type: text/plain\n\n"
      "The following list of recipients failed:\n\n"
      "bob@example.org: 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown\n"
      "carol@example.org: 552 5.2.2 <carol@example.org>: Mailbox full\n\n"
      "--B5\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
      "Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.0.0\n\n"
      "Final-Recipient: rfc822; carol@example.org\nAction: failed\nStatus: 5.0.0\n\n--B5--\n";
  auto recs = parse_message(msg);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].status, "5.1.1");
  EXPECT_EQ(recs[0].reason, "userunknown");
  EXPECT_EQ(recs[1].status, "5.2.2");
  EXPECT_EQ(recs[1].reason, "mailboxfull");
}

TEST(NdrParse, TranscriptFailureWinsOverClosingSuccess) {
  auto recs = parse_message(dsn_with(
      "Final-Recipient: rfc822; bob@example.org\nAction: delayed\n"
      "Diagnostic-Code: X-Postfix; Out: 250 2.1.5 Ok In: DATA Out: 451 4.3.0 Error: queue file\n"
      "    write error In: QUIT Out: 221 2.0.0 Bye\n"));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status, "4.3.0");
  EXPECT_EQ(recs[0].reply_code, "451");
  EXPECT_EQ(recs[0].reason, "systemerror");
}

TEST(NdrParse, BrokenBoundaryStillFindsTheDsn) {
  // The declared boundary never occurs (seen in real bounces): read the raw body.
  auto recs = parse_message(
      dsn_with("Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n", "REAL",
               "OTHER"));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].recipient, "bob@example.org");
  EXPECT_EQ(recs[0].reason, "userunknown");
}

TEST(NdrParse, BounceWrappedInABounce) {
  const std::string inner = dsn_with(
      "Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.2.2\n"
      "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n");
  const std::string outer =
      "From: postmaster@relay.example.net\nTo: alice@example.com\nSubject: Returned mail\n"
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"W\"\n\n--W\n"
      "Content-Type: text/plain\n\nThe attached report could not be delivered.\n\n--W\n"
      "Content-Type: message/rfc822\n\n" +
      inner + "\n--W--\n";
  auto recs = parse_message(outer);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].recipient, "bob@example.org");
  EXPECT_EQ(recs[0].reason, "mailboxfull");
}

TEST(NdrParse, MboxSeparatorRightAfterClosingBoundary) {
  // RFC 4155 wants a blank line before From_; some writers omit it.
  const std::string two =
      "Subject: one\n\nbody\n--b--\nFrom MAILER-DAEMON  Thu Jul  2 12:05:05 2020\n"
      "Subject: two\n\nbody\n";
  auto msgs = split_messages(two);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].rfind("Subject: two", 0), 0u);
  // "From " in prose is not a separator.
  EXPECT_EQ(split_messages("Subject: x\n\nFrom me to you, 10:20:30 in 2020\n").size(), 1u);
}

TEST(NdrParse, MboxSplit) {
  const std::string mbox =
      "From a@example.org Mon Jan  1 00:00:00 2024\n"
      "Subject: one\n\nbody\n>From the start\n"
      "\n"
      "From b@example.org Mon Jan  1 00:00:01 2024\n"
      "Subject: two\n\nbody2\n";
  auto msgs = split_mbox(mbox);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].rfind("Subject: one", 0), 0u);
  EXPECT_NE(msgs[0].find("\nFrom the start"), std::string::npos);
  EXPECT_EQ(msgs[1].rfind("Subject: two", 0), 0u);
}

// RFC 4155 From_ lines separate the messages whatever the line ends: an mbox
// written with CR-only line ends (classic Mac OS) holds two messages too, and
// each gives its record.
TEST(NdrParse, MboxWithCrLineEndsIsSplit) {
  const std::string mbox =
      with_line_ends("From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n" + kDsn + "\n" +
                         "From MAILER-DAEMON Mon Jan  1 00:00:01 2024\n" + kDsn,
                     "\r");
  EXPECT_EQ(split_messages(with_line_ends("Subject: one\n\nbody\n", "\r")).size(), 1u);
  const auto msgs = split_messages(mbox);
  ASSERT_EQ(msgs.size(), 2u);
  for (const auto& m : msgs) {
    auto recs = parse_message(m);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].recipient, "bob@example.org");
    EXPECT_EQ(recs[0].status, "5.1.1");
  }
  // `mxguard ndr parse FILE` reads such a file as two messages too.
  const auto path = std::filesystem::temp_directory_path() /
                    ("ndr-cr-mbox-" + std::to_string(::getpid()) + ".mbox");
  {
    std::ofstream out(path, std::ios::binary);
    out << mbox;
  }
  std::vector<std::string> names;
  auto n = read_inputs(path.string(), [&](input_message&& m) { names.push_back(m.name); });
  std::filesystem::remove(path);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 2u);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_TRUE(names[1].ends_with("#2"));
}

}  // namespace
}  // namespace mxg::ndr
