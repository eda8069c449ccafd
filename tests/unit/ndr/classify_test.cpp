// classify_test.cpp: table-driven tests of the reason classifier: RFC 3463
// status codes alone, status + text, text alone, SMTP command context, and the
// Sisimai-compatible pseudo status. Cases are written from RFC 3463 and the
// reason definitions in ../shared/conformance/bounces/SOURCE.md.
#include <gtest/gtest.h>

#include <algorithm>

#include "ndr/classify.hpp"

namespace mxg::ndr {
namespace {

struct status_case {
  const char* status;
  const char* reason;
};

TEST(NdrClassify, StatusCodeAloneImpliesReason) {
  const status_case cases[] = {
      {"5.1.1", "userunknown"},  // RFC 3463 3.2 bad destination mailbox address
      {"5.1.2", "hostunknown"},  // bad destination system address
      {"5.1.6", "hasmoved"},     // mailbox has moved
      {"5.2.2", "mailboxfull"},  // mailbox full
      {"4.2.2", "mailboxfull"},
      {"5.3.4", "mesgtoobig"},    // message too big for system
      {"5.2.3", "exceedlimit"},   // message length exceeds administrative limit
      {"4.4.7", "expired"},       // delivery time expired
      {"5.7.25", "requireptr"},   // RFC 7372 reverse DNS validation failed
      {"5.7.26", "authfailure"},  // RFC 7372 multiple authentication checks failed
      {"5.1.10", "notaccept"},    // RFC 7505 null MX
      {"5.6.0", "contenterror"},
      {"2.1.5", "delivered"},
      {"5.0.0", ""},  // class only: no reason
      {"9.9.9", ""},  // not a status code
      {"5.1", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(reason_for_status(c.status), c.reason) << c.status;
}

struct fact_case {
  const char* status;
  const char* reply;
  const char* diag;
  const char* command;
  const char* action;
  const char* want;
};

TEST(NdrClassify, StatusTextAndCommand) {
  const fact_case cases[] = {
      {"5.1.1", "550", "550 5.1.1 <a@example.org>... User Unknown", "RCPT", "failed",
       "userunknown"},
      {"", "550", "550 No such user here", "RCPT", "failed", "userunknown"},
      // The same words after DATA mean a recipient-side filter (Sisimai "filtered").
      {"", "550", "550 No such user here", "DATA", "failed", "filtered"},
      // x.2.1 "mailbox disabled" with no command named: a recipient-side refusal.
      {"5.2.1", "550", "550 5.2.1 <a@example.org>... User Unknown", "", "failed", "filtered"},
      {"4.2.2", "452", "452 4.2.2 Mailbox full", "RCPT", "delayed", "mailboxfull"},
      {"", "552", "552 Requested mail action aborted: exceeded storage allocation", "", "failed",
       "mailboxfull"},
      {"5.7.1", "554",
       "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
       "RCPT", "failed", "blocked"},
      {"5.7.1", "550", "550 5.7.1 Relaying denied", "RCPT", "failed", "norelaying"},
      {"5.0.0", "554", "554 Message rejected as spam by content filter", "DATA", "failed",
       "spamdetected"},
      {"5.1.8", "501", "501 5.1.8 Sender address rejected: Domain not found", "MAIL", "failed",
       "rejected"},
      {"4.4.7", "", "", "", "delayed", "expired"},
      {"", "", "", "", "delayed", "expired"},
      {"5.3.4", "552", "552 5.3.4 Message size exceeds fixed limit", "DATA", "failed",
       "mesgtoobig"},
      {"", "550", "550 Host unknown", "RCPT", "failed", "hostunknown"},
      {"5.7.1", "550", "550 5.7.1 Client host rejected: cannot find your hostname", "RCPT",
       "failed", "requireptr"},
      {"5.7.1", "550", "550 5.7.1 SPF check failed", "MAIL", "failed", "authfailure"},
      {"", "", "Mail forwarding loop for a@example.org", "", "failed", "networkerror"},
      {"", "", "something nobody has a rule for", "", "failed", "onhold"},
      {"", "", "", "", "failed", "undefined"},
      {"2.1.5", "250", "250 2.1.5 Ok", "", "delivered", "delivered"},
      // A DNS failure saying "not found" under a transient code: the lookup
      // failed for now (X.4.3), the host is not known not to exist.
      {"4.0.0", "", "DNS Error: lookup of example.org responded with NXDOMAIN: domain not found",
       "RCPT", "failed", "networkerror"},
      {"5.0.0", "550", "550 DNS lookup failure: host example.org not found", "RCPT", "failed",
       "hostunknown"},
      // X.4.4 (unable to route) that names no mail exchanger: notaccept;
      // X.1.2 keeps the address's host as the reason.
      {"5.4.4", "", "Sorry, I could not find a mail exchanger for example.org", "", "failed",
       "notaccept"},
      {"5.1.2", "550", "550 5.1.2 Host unknown (Name server: .: host not found)", "RCPT", "failed",
       "hostunknown"},
      // The outcome (the message expired) before the cause of the retries.
      {"5.4.316", "550", "550 5.4.316 Message expired, connection refused", "RCPT", "failed",
       "expired"},
      {"5.7.1", "554", "554 5.7.1 Connection refused by policy", "CONN", "failed", "blocked"},
      // An SPF record named with a failure is authfailure; named as advice, not.
      {"5.0.0", "550", "550 Bad SPF records for [example.org:192.0.2.2]", "MAIL", "failed",
       "authfailure"},
      {"5.0.0", "",
       "Your email was rejected due to spam classification. Set up SPF records for "
       "your sending domain",
       "RCPT", "failed", "spamdetected"},
      // SMTP authentication required or refused (RFC 4954 X.7.0/X.7.8).
      {"5.0.0", "550", "550 Unauthenticated senders not allowed", "MAIL", "failed",
       "securityerror"},
      // The sender's address named with the condition first (RFC 4407 PRA).
      {"5.7.1", "550", "550 5.7.1 can't determine Purported Responsible Address", "DATA", "failed",
       "rejected"},
      {"", "550", "550 Unroutable sender address", "MAIL", "failed", "rejected"},
      // The client's name and address disagree.
      {"5.5.0", "550", "550 domain [example.com] mismatches client ip 192.0.2.1.", "RCPT", "failed",
       "requireptr"},
      // A refusal that sends the sender to its access provider.
      {"5.7.0", "550", "550 5.7.0 <a@example.jp>... Please use the smtp server of your ISP.",
       "MAIL", "failed", "blocked"},
      // RFC 5321 4.2.3: 421 after connect is the server's own unavailability.
      {"4.2.0", "421", "421 4.2.0 Service refused, please try later", "DATA", "failed",
       "systemerror"},
      // "spam" is a word: a DNS list's name (Spamhaus) names a blocked client.
      {"5.1.3", "553", "553 http://www.spamhaus.org/query/bl?ip=192.0.2.1", "RCPT", "failed",
       "blocked"},
      // One noun class for lists of refused senders.
      {"", "550", "550 Part of their network is on our block list", "MAIL", "failed", "blocked"},
      {"", "554", "554 Client listed in a DNSBL", "CONN", "failed", "blocked"},
      // An address code in reply to MAIL FROM is about the sender.
      {"5.1.0", "553", "553 5.1.0 sender.example does not exist", "MAIL", "failed", "rejected"},
      // A local program's own message ("name: condition").
      {"", "", "procmail: Lock failure on \"/var/mail/a.lock\"", "", "failed", "mailererror"},
      // Content or attachment refused by a rule after DATA.
      {"5.7.0", "552", "552 5.7.0 Our system detected a prohibited attachment", "DATA", "failed",
       "policyviolation"},
      {"5.7.0", "552", "552 5.7.0 Executable attachments not allowed", "DATA", "failed",
       "policyviolation"},
  };
  for (const auto& c : cases) {
    failure_facts f{c.status, c.reply, c.diag, "SMTP", c.action, c.command, ""};
    EXPECT_EQ(classify(f), c.want) << c.diag << " / " << c.status << " / " << c.command;
  }
}

TEST(NdrClassify, PresetReasonOfProducerWins) {
  failure_facts f{"", "", "anything", "SMTP", "failed", "", "suspend"};
  EXPECT_EQ(classify(f), "suspend");
}

TEST(NdrClassify, MailerErrorForXUnixDiagnostics) {
  failure_facts f{"5.0.0", "", "procmail: Quota exceeded while writing", "X-Unix", "failed",
                  "",      ""};
  EXPECT_EQ(classify(f), "mailboxfull");  // the text still says why
  failure_facts g{"5.0.0", "", "exit 75", "X-Unix", "failed", "", ""};
  EXPECT_EQ(classify(g), "mailererror");
}

struct text_case {
  const char* text;
  const char* reason;
};

TEST(NdrClassify, PhraseTables) {
  const text_case cases[] = {
      {"Recipient address rejected: User unknown in local recipient table", "userunknown"},
      {"Mailbox is full", "mailboxfull"},
      {"This account has been suspended", "suspend"},
      {"Relay access denied", "norelaying"},
      {"Message too large", "mesgtoobig"},
      {"Connection timed out", "expired"},
      {"Client host rejected: blocked using bl.spamcop.net", "blocked"},
      {"Too many connections from your host", "toomanyconn"},
  };
  for (const auto& c : cases) EXPECT_TRUE(text_matches(c.reason, c.text)) << c.text;
  EXPECT_FALSE(text_matches("userunknown", "Mailbox is full"));
  EXPECT_FALSE(text_matches("rejected", "Recipient address rejected: Access denied"));
}

TEST(NdrClassify, PseudoStatus) {
  EXPECT_EQ(pseudo_status("userunknown", false), "5.0.911");
  EXPECT_EQ(pseudo_status("userunknown", true), "5.0.911");  // no temporary form
  EXPECT_EQ(pseudo_status("mailboxfull", true), "4.0.922");
  EXPECT_EQ(pseudo_status("expired", false), "5.0.947");
  EXPECT_EQ(pseudo_status("nonsense", false), "");
}

TEST(NdrClassify, StatusCodeSyntax) {
  // RFC 3463 section 2: class.subject.detail, subject and detail up to 3 digits.
  EXPECT_TRUE(is_status_code("5.1.1"));
  EXPECT_TRUE(is_status_code("4.7.26"));
  EXPECT_TRUE(is_status_code("5.1.351"));
  EXPECT_FALSE(is_status_code("3.1.1"));
  EXPECT_FALSE(is_status_code("5.1"));
  EXPECT_FALSE(is_status_code("5.1.1.1"));
  EXPECT_FALSE(is_status_code("5.1234.1"));
  EXPECT_FALSE(is_status_code(""));
}

}  // namespace
}  // namespace mxg::ndr

namespace mxg::ndr {
namespace {

failure_facts facts(const char* status, const char* reply, const char* diag, const char* cmd) {
  return {status, reply, diag, "SMTP", "failed", cmd, ""};
}

// Precedence: a specific RFC 3463 detail decides; a non-specific code (x.0.0,
// 5.7.0 "other security", 5.7.1 "delivery not authorized") leaves it to the
// text; with no known phrase the reply code's meaning for the command
// (RFC 5321 4.2.2/4.2.3) decides before "onhold".
TEST(NdrClassify, PrecedenceStatusThenPhrasesThenReplyCode) {
  std::string rule;
  EXPECT_EQ(classify(facts("5.2.2", "552", "552 5.2.2 something new", "RCPT"), &rule),
            "mailboxfull");
  EXPECT_EQ(rule, "status:5.2.2");
  EXPECT_EQ(classify(facts("5.7.1", "550", "550 5.7.1 Relay access denied", "RCPT"), &rule),
            "norelaying");
  EXPECT_TRUE(rule.starts_with("phrase:norelaying:")) << rule;
  // 5.7.1 with words nobody has a rule for: the class is the last resort.
  EXPECT_EQ(classify(facts("5.7.1", "550", "550 5.7.1 go fish", "RCPT"), &rule), "securityerror");
  EXPECT_EQ(rule, "status-class:x.7");
  // No status, unknown words: RFC 5321 550 at RCPT = mailbox unavailable.
  EXPECT_EQ(classify(facts("", "550", "550 computer says no", "RCPT"), &rule), "userunknown");
  EXPECT_EQ(rule, "reply:550@RCPT");
  // 5xx to MAIL FROM: the sender was refused.
  EXPECT_EQ(classify(facts("", "553", "553 computer says no", "MAIL"), &rule), "rejected");
  // Refused at connection time or to HELO: the client was refused.
  EXPECT_EQ(classify(facts("", "554", "554 computer says no", "CONN"), &rule), "blocked");
  // No reply code, no command, unknown words: too little to decide.
  EXPECT_EQ(classify(facts("", "", "computer says no", ""), &rule), "onhold");
}

// One vocabulary of stems per reason, not one provider's sentence.
TEST(NdrClassify, VocabularyStems) {
  EXPECT_EQ(reason_for_text("The account kijitora@example.org has been disabled"), "suspend");
  EXPECT_EQ(reason_for_text("Your mailbox has exceeded its allowed size"), "mailboxfull");
  EXPECT_EQ(reason_for_text("The recipient's folder is full"), "mailboxfull");
  EXPECT_EQ(reason_for_text("554 5.4.6 Too many hops"), "networkerror");
  EXPECT_EQ(reason_for_text("No MX for example.org"), "notaccept");
  EXPECT_EQ(reason_for_text("550 Protocol violation"), "policyviolation");
  EXPECT_EQ(reason_for_text("Unauthenticated email is not accepted (DMARC)"), "authfailure");
  auto m = matching_phrases("suspend", "account DISABLED");
  ASSERT_FALSE(m.empty());
  EXPECT_NE(std::find(m.begin(), m.end(), "disabled"), m.end());
}

// The leave-one-family-out hook: a disabled phrase no longer decides.
TEST(NdrClassify, DisabledRulesAreNotUsed) {
  const auto f = facts("", "", "Mailbox is full", "");
  EXPECT_EQ(classify(f), "mailboxfull");
  const std::set<std::string> off = {"phrase:mailboxfull:mailbox*full",
                                     "phrase:mailboxfull:is full"};
  set_disabled_rules(&off);
  EXPECT_TRUE(rule_disabled("phrase:mailboxfull:is full"));
  EXPECT_NE(classify(f), "mailboxfull");
  set_disabled_rules(nullptr);
  EXPECT_FALSE(rule_disabled("phrase:mailboxfull:is full"));
  EXPECT_EQ(classify(f), "mailboxfull");
}

}  // namespace
}  // namespace mxg::ndr

namespace mxg::ndr {
namespace {

// The vocabulary's pattern syntax (classify.cpp): '*' any gap, '~' a short gap
// inside one clause, '{a|b}' alternatives, whole words inside frames.
TEST(NdrVocabulary, PatternSyntax) {
  const std::string_view frame = "{user|mailbox}~{unknown|does not exist}";
  EXPECT_TRUE(phrase_matches("the mailbox bob@example.org does not exist", frame));
  EXPECT_TRUE(phrase_matches("550 user unknown", frame));
  // A label and its value, or two sentences, do not pair up.
  EXPECT_FALSE(phrase_matches("mailbox: unknown", frame));
  EXPECT_FALSE(phrase_matches("user quota ok. unknown error", frame));
  // The near gap is short (at most 40 characters).
  EXPECT_FALSE(
      phrase_matches("user bob, who wrote to us last week about the party, is unknown", frame));
  // Whole words: "locked" is not in "blocked", "user" not in "username".
  EXPECT_FALSE(phrase_matches("sender blocked", "{sender}~{locked}"));
  EXPECT_FALSE(phrase_matches("username unknown", frame));
  // '*' keeps its unbounded meaning; plain phrases are substrings.
  EXPECT_TRUE(phrase_matches("mailbox of bob: sorry. it is full", "mailbox*full"));
  EXPECT_TRUE(phrase_matches("xx over quota", "over quota"));
  EXPECT_FALSE(phrase_matches("", frame));
}

// Phrase -> reason, written from the wording MTAs document for each condition
// (RFC 3463's descriptions, Postfix/Sendmail/Exim/qmail notices as Sisimai's
// reason modules list them), mostly in words the corpus does not use.
TEST(NdrVocabulary, PhraseToReason) {
  const text_case cases[] = {
      // X.1.1 bad destination mailbox
      {"The mailbox bob@example.org does not exist", "userunknown"},
      {"550 No such recipient here", "userunknown"},
      {"Recipient could not be found in the directory", "userunknown"},
      // a user without an account on the host is one that does not exist there
      {"550 This user doesn't have an example.org account", "userunknown"},
      {"550 The user does not have a mailbox on this server", "userunknown"},
      // X.1.2 bad destination system
      {"Domain example.invalid does not exist", "hostunknown"},
      {"550 Unknown domain", "hostunknown"},
      {"Host or domain name not found", "hostunknown"},
      {"554 The mail could not be delivered because the domain is not reachable", "hostunknown"},
      // X.2.1 mailbox disabled
      {"This mailbox has been deactivated", "suspend"},
      {"Account frozen by the administrator", "suspend"},
      // X.4.7 delivery time expired
      {"Message could not be delivered for 5 days", "expired"},
      {"The remote server did not respond", "expired"},
      // X.4.3/X.4.4 routing and name service
      {"DNS lookup error for example.org", "networkerror"},
      {"connect to mx.example.org: No route to host", "networkerror"},
      // X.3.0/X.3.5 the receiving system
      {"451 Local configuration error", "systemerror"},
      {"421 Service temporarily unavailable", "systemerror"},
      {"Transaction failed", "systemerror"},
      // X.7.1 relaying
      {"554 Relaying not permitted", "norelaying"},
      {"We do not relay for example.org", "norelaying"},
      // RFC 7372 X.7.23-X.7.26 authentication verdicts
      {"DKIM signature verification failed", "authfailure"},
      {"SPF check failed for 192.0.2.1", "authfailure"},
      // RFC 4954 X.7.8/X.7.9, RFC 3207 X.7.10/X.7.11
      {"530 Must issue a STARTTLS command first", "securityerror"},
      {"SMTP authentication is required", "securityerror"},
      // RFC 7505 null MX, RFC 5321 5.1 no MX
      {"This domain does not accept mail", "notaccept"},
      {"No MX record for example.org", "notaccept"},
      // RFC 5322 3.6 header counts
      {"Duplicate Message-ID header", "notcompliantrfc"},
      {"554 Message not RFC 5322 compliant", "notcompliantrfc"},
      // X.3.4 message too big
      {"552 Message size exceeds fixed limit", "mesgtoobig"},
      {"Mail program exited with status 75", "mailererror"},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(text_matches(c.reason, c.text)) << c.reason << " <- " << c.text;
  }
  // The frames do not fire on their neighbours' words.
  EXPECT_FALSE(text_matches("suspend", "Your IP has been blocked"));
  EXPECT_FALSE(text_matches("userunknown", "Sender address rejected: Domain not found"));
  EXPECT_FALSE(text_matches("userunknown", "Recipient address rejected: Domain not found"));
  EXPECT_FALSE(text_matches("norelaying", "relay.example.org accepted the message"));
  EXPECT_FALSE(text_matches("hostunknown", "The mailbox bob@example.org does not exist"));
}

// Status -> reason: RFC 3463 section 3 subject/detail meanings and the IANA
// "Simple Mail Transfer Protocol (SMTP) Enhanced Status Codes" registry.
TEST(NdrVocabulary, StatusToReason) {
  const status_case cases[] = {
      {"5.1.1", "userunknown"},    // bad destination mailbox address
      {"5.1.3", "userunknown"},    // bad destination mailbox address syntax
      {"5.1.2", "hostunknown"},    // bad destination system address
      {"5.4.4", "hostunknown"},    // unable to route
      {"5.1.6", "hasmoved"},       // destination mailbox has moved
      {"5.1.7", "rejected"},       // bad sender's mailbox address syntax
      {"5.1.8", "rejected"},       // bad sender's system address
      {"5.2.2", "mailboxfull"},    // mailbox full
      {"5.2.3", "exceedlimit"},    // message length exceeds administrative limit
      {"5.3.1", "systemfull"},     // mail system full
      {"5.3.2", "notaccept"},      // system not accepting network messages
      {"5.3.4", "mesgtoobig"},     // message too big for system
      {"4.4.7", "expired"},        // delivery time expired
      {"5.5.3", "toomanyconn"},    // too many recipients
      {"5.6.1", "contenterror"},   // media not supported
      {"5.7.8", "securityerror"},  // RFC 4954 authentication credentials invalid
      {"5.7.25", "requireptr"},    // RFC 7372 reverse DNS validation failed
      {"5.7.23", "authfailure"},   // RFC 7372 SPF validation failed
      {"5.7.27", "notaccept"},     // RFC 7505 sender address has null MX
      {"5.1.10", "notaccept"},     // RFC 7505 recipient address has null MX
      {"5.7.0", ""},               // other or undefined security status: the text decides
      {"5.7.1", ""},               // delivery not authorized, message refused: the text decides
      {"4.0.0", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(reason_for_status(c.status), c.reason) << c.status;
}

TEST(NdrVocabulary, SpecificCodesBeforePhrases) {
  std::string rule;
  // X.2.3 is the recipient's own limit even when the words say "message size".
  EXPECT_EQ(classify(facts("5.2.3", "552", "552 5.2.3 Message size exceeds limit", "DATA"), &rule),
            "exceedlimit");
  // RFC 7372 X.7.26: the authentication verdict, whatever else the text names.
  EXPECT_EQ(
      classify(facts("5.7.26", "550", "550 5.7.26 did not pass SPF [relay.example.com]", "DATA"),
               &rule),
      "authfailure");
  EXPECT_EQ(rule, "status:5.7.26");
  // RFC 5321 4.5.3.1.10: "452 Too many recipients" (552 from older servers).
  const std::set<std::string> off = {"phrase:toomanyconn:too many recipients"};
  set_disabled_rules(&off);
  EXPECT_EQ(classify(facts("", "552", "552 Too many recipients", "RCPT"), &rule), "toomanyconn");
  EXPECT_EQ(rule, "reply:552@RCPT");
  set_disabled_rules(nullptr);
  // The envelope sender refused at MAIL: rejected, not an unknown host.
  EXPECT_EQ(
      classify(facts("", "450", "450 4.1.8 Sender address rejected: Domain not found", "MAIL")),
      "rejected");
}

// A frame is one rule: switching it off (leave-one-family-out) takes all its
// wordings away at once.
TEST(NdrVocabulary, AccountConditionIsPartOfTheMailboxFrame) {
  // "doesn't have a ... account" is read by the one mailbox frame (noun
  // "user", condition "doesn't have a"), not by a sentence of its own; the
  // same text after the message was accepted (no command) is "filtered".
  std::string rule;
  EXPECT_EQ(
      classify(facts("", "550", "550 This user doesn't have a example.org account", "RCPT"), &rule),
      "userunknown");
  EXPECT_TRUE(rule.starts_with("phrase:userunknown:{user|")) << rule;
  EXPECT_EQ(
      classify(facts("", "", "This user doesn't have a example.org account (b@example.org)", "")),
      "filtered");
  // "does not have a" about a host's PTR record is not a mailbox condition
  EXPECT_NE(
      classify(facts("", "550", "The IP address sending this message does not have a PTR record",
                     "RCPT")),
      "userunknown");
}

TEST(NdrVocabulary, FrameIsOneRule) {
  const auto f = facts("", "", "The mailbox bob@example.org does not exist", "RCPT");
  std::string rule;
  EXPECT_EQ(classify(f, &rule), "userunknown");
  ASSERT_TRUE(rule.starts_with("phrase:userunknown:{")) << rule;
  const std::set<std::string> off = {rule};
  set_disabled_rules(&off);
  EXPECT_NE(classify(f), "userunknown");
  set_disabled_rules(nullptr);
}

}  // namespace
}  // namespace mxg::ndr
