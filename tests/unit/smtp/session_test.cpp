// session_test.cpp: golden SMTP transcripts through the I/O-free session and the
// byte-exact fake driver (the same loop the gateway runs). Client bytes in,
// server bytes out, compared exactly. Sources: RFC 5321 4.1.4 (order), 4.2.5,
// 4.3.2 (reply codes per command), 4.5.3.1.10 (452, 500, 552); RFC 2920 3.1
// (pipelining; DATA after all RCPTs failed); RFC 3207 4.2 (STARTTLS resets);
// RFC 3030 2 (BDAT, discarding chunks on error); RFC 1870 6 (SIZE); issue 3
// section 7 (the telnet transcript and its `[email protected]` variant).
#include <gtest/gtest.h>

#include <string>

#include "fake_driver.hpp"
#include "smtp/relay.hpp"

namespace mxg::smtp {
namespace {

using testing::fake_driver;

const std::string kGreeting = "220 mx.test ESMTP mxguard\r\n";
const std::string kBye = "221 2.0.0 mx.test Service closing transmission channel\r\n";
const std::string kHelo = "250 mx.test\r\n";
const std::string kSenderOk = "250 2.1.0 Sender ok\r\n";
const std::string kRcptOk = "250 2.1.5 Recipient ok\r\n";
const std::string kStartData = "354 End data with <CR><LF>.<CR><LF>\r\n";
const std::string kOk = "250 2.0.0 Ok\r\n";
std::string queued(int n) {
  return "250 2.0.0 Q" + std::to_string(n) + " Message accepted for delivery\r\n";
}

const std::string kTelnetBody =
    "subject: test of the capture-only instance\r\n"
    "\r\n"
    "Just a test!\r\n"
    "-Dr J\r\n";

// Issue 3 section 7: typed as in a telnet session (CRLF line ends), verbatim.
TEST(SmtpSession, TelnetTranscript) {
  fake_driver d;
  d.connect();
  d.feed("helo localhost\r\n");
  d.feed("mail from: drj@drj.test\r\n");
  d.feed("rcpt to: user@drj.test\r\n");
  d.feed("data\r\n");
  d.feed(kTelnetBody);
  d.feed(".\r\n");
  d.feed("quit\r\n");
  EXPECT_EQ(d.output(), kGreeting + kHelo + kSenderOk + kRcptOk + kStartData + queued(1) + kBye);
  EXPECT_TRUE(d.closed());
  ASSERT_EQ(d.queued().size(), 1u);
  EXPECT_EQ(d.queued()[0].sender, "drj@drj.test");
  ASSERT_EQ(d.queued()[0].recipients.size(), 1u);
  EXPECT_EQ(d.queued()[0].recipients[0], "user@drj.test");
  EXPECT_EQ(d.queued()[0].body, kTelnetBody);
}

// The same, all in one write (a pasted transcript), and with bare LF line ends
// for the commands (accepted unless strict); the DATA part keeps CRLF.
TEST(SmtpSession, TelnetTranscriptInOneWriteAndBareLfCommands) {
  fake_driver d;
  d.connect();
  d.feed("helo localhost\nmail from: drj@drj.test\nrcpt to: user@drj.test\ndata\r\n" + kTelnetBody +
         ".\r\nquit\n");
  EXPECT_EQ(d.output(), kGreeting + kHelo + kSenderOk + kRcptOk + kStartData + queued(1) + kBye);
  ASSERT_EQ(d.queued().size(), 1u);
  EXPECT_EQ(d.queued()[0].body, kTelnetBody);
}

// Issue 3 section 7: the addresses replaced by the web page obfuscation text get
// a clear 501 syntax reply; the session goes on normally (body lines are then
// commands and get 500; QUIT still says goodbye).
TEST(SmtpSession, ObfuscatedTelnetTranscript) {
  fake_driver d;
  d.connect();
  d.feed("helo localhost\r\n");
  d.feed("mail from: [email protected]\r\n");
  d.feed("rcpt to: [email protected]\r\n");
  d.feed("data\r\n");
  d.feed(kTelnetBody);
  d.feed(".\r\n");
  d.feed("quit\r\n");
  const std::string expected =
      kGreeting + kHelo +
      "501-5.1.7 Bad sender address syntax: \"[email protected]\" is a web page's hidden "
      "address, not an e-mail address\r\n"
      "501 5.1.7 Write the real address, e.g. MAIL FROM:<you@example.com>\r\n"
      "501-5.1.3 Bad recipient address syntax: \"[email protected]\" is a web page's hidden "
      "address, not an e-mail address\r\n"
      "501 5.1.3 Write the real address, e.g. RCPT TO:<them@example.com>\r\n"
      "503 5.5.1 Error: need MAIL command\r\n"           // data
      "500 5.5.2 Error: command not recognized\r\n"      // subject: ...
      "500 5.5.2 Error: bad syntax (empty command)\r\n"  // empty line
      "500 5.5.2 Error: command not recognized\r\n"      // Just a test!
      "500 5.5.2 Error: command not recognized\r\n"      // -Dr J
      "500 5.5.2 Error: command not recognized\r\n"      // .
      + kBye;
  EXPECT_EQ(d.output(), expected);
  EXPECT_TRUE(d.queued().empty());
  EXPECT_TRUE(d.closed());
}

// Only the recipient obfuscated: MAIL is fine, RCPT gets 501, DATA 503, and a
// correct RCPT afterwards still works in the same transaction.
TEST(SmtpSession, ObfuscatedRecipientThenCorrected) {
  fake_driver d;
  d.connect();
  d.feed(
      "helo localhost\r\nmail from: drj@drj.test\r\nrcpt to: [email protected]\r\n"
      "data\r\nrcpt to: user@drj.test\r\ndata\r\nhi\r\n.\r\nquit\r\n");
  const std::string out = d.output();
  EXPECT_EQ(out, kGreeting + kHelo + kSenderOk +
                     "501-5.1.3 Bad recipient address syntax: \"[email protected]\" is a web "
                     "page's hidden address, not an e-mail address\r\n"
                     "501 5.1.3 Write the real address, e.g. RCPT TO:<them@example.com>\r\n"
                     "503 5.5.1 Error: need RCPT command\r\n" +
                     kRcptOk + kStartData + queued(1) + kBye);
  ASSERT_EQ(d.queued().size(), 1u);
  EXPECT_EQ(d.queued()[0].body, "hi\r\n");
}

TEST(SmtpSession, EhloAdvertisesExtensions) {
  session_config cfg = fake_driver::default_config();
  cfg.max_message_size = 1000000;
  cfg.tls_available = true;
  fake_driver d(cfg);
  d.connect();
  d.feed("EHLO client.example\r\n");
  EXPECT_EQ(d.output(), kGreeting +
                            "250-mx.test\r\n"
                            "250-PIPELINING\r\n"
                            "250-SIZE 1000000\r\n"
                            "250-8BITMIME\r\n"
                            "250-ENHANCEDSTATUSCODES\r\n"
                            "250-SMTPUTF8\r\n"
                            "250-STARTTLS\r\n"
                            "250-CHUNKING\r\n"
                            "250 BINARYMIME\r\n");
  EXPECT_EQ(d.sess().info().helo, "client.example");
  EXPECT_TRUE(d.sess().info().esmtp);
}

TEST(SmtpSession, NoStartTlsWithoutCertificate) {
  fake_driver d;
  d.connect();
  d.feed("EHLO c\r\nSTARTTLS\r\n");
  EXPECT_EQ(d.output().find("STARTTLS\r\n"), std::string::npos);
  EXPECT_NE(d.output().find("502 5.5.1 Error: command not implemented\r\n"), std::string::npos);
}

// RFC 3207 4.2: the server discards knowledge from the client; plaintext pipelined
// after STARTTLS is discarded (CVE-2011-0411 command injection).
TEST(SmtpSession, StartTlsResetsStateAndDropsPipelinedPlaintext) {
  session_config cfg = fake_driver::default_config();
  cfg.tls_available = true;
  fake_driver d(cfg);
  d.connect();
  d.feed("EHLO c\r\n");
  d.take_output();
  d.feed("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\n");
  EXPECT_EQ(d.take_output(), "220 2.0.0 Ready to start TLS\r\n[TLS]");
  EXPECT_EQ(d.discarded_plaintext(), "MAIL FROM:<evil@x.test>\r\n");
  EXPECT_TRUE(d.sess().info().tls);
  EXPECT_EQ(d.sess().info().helo, "");
  // The client must EHLO again; STARTTLS is no longer offered.
  d.feed("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(d.take_output(), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  d.feed("EHLO c\r\n");
  const std::string ehlo = d.take_output();
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  d.feed("STARTTLS\r\n");
  EXPECT_EQ(d.take_output(), "503 5.5.1 Error: TLS already active\r\n");
}

TEST(SmtpSession, StartTlsNotDuringTransaction) {
  session_config cfg = fake_driver::default_config();
  cfg.tls_available = true;
  fake_driver d(cfg);
  d.connect();
  d.feed("EHLO c\r\nMAIL FROM:<a@b.test>\r\n");
  d.take_output();
  d.feed("STARTTLS\r\n");
  EXPECT_EQ(d.take_output(), "503 5.5.1 Error: MAIL transaction in progress\r\n");
}

TEST(SmtpSession, TlsRequiredRefusesMailBeforeStartTls) {
  session_config cfg = fake_driver::default_config();
  cfg.tls_available = true;
  cfg.tls_required = true;
  fake_driver d(cfg);
  d.connect();
  d.feed("EHLO c\r\n");
  d.take_output();
  d.feed("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(d.take_output(), "530 5.7.0 Must issue a STARTTLS command first\r\n");
  d.feed("STARTTLS\r\nEHLO c\r\n");  // the EHLO is plaintext pipelined: dropped
  d.take_output();
  d.feed("EHLO c\r\nMAIL FROM:<a@b.test>\r\n");
  EXPECT_NE(d.take_output().find(kSenderOk), std::string::npos);
}

// RFC 5321 4.1.4 and 4.3.2: sequencing errors are 503.
TEST(SmtpSession, SequencingErrors) {
  struct seq_case {
    const char* input;
    const char* expected;  // after the greeting
  };
  const seq_case cases[] = {
      {"MAIL FROM:<a@b.test>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n"},
      {"HELO c\r\nRCPT TO:<a@b.test>\r\n", "250 mx.test\r\n503 5.5.1 Error: need MAIL command\r\n"},
      {"HELO c\r\nDATA\r\n", "250 mx.test\r\n503 5.5.1 Error: need MAIL command\r\n"},
      {"HELO c\r\nMAIL FROM:<a@b.test>\r\nDATA\r\n",
       "250 mx.test\r\n250 2.1.0 Sender ok\r\n503 5.5.1 Error: need RCPT command\r\n"},
      {"HELO c\r\nMAIL FROM:<a@b.test>\r\nMAIL FROM:<a@b.test>\r\n",
       "250 mx.test\r\n250 2.1.0 Sender ok\r\n503 5.5.1 Error: nested MAIL command\r\n"},
      // RSET ends the transaction (4.1.1.5); MAIL is then fine again.
      {"HELO c\r\nMAIL FROM:<a@b.test>\r\nRSET\r\nMAIL FROM:<>\r\n",
       "250 mx.test\r\n250 2.1.0 Sender ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Sender ok\r\n"},
      // A new HELO/EHLO resets the transaction too (4.1.4).
      {"HELO c\r\nMAIL FROM:<a@b.test>\r\nHELO c\r\nRCPT TO:<x@y.test>\r\n",
       "250 mx.test\r\n250 2.1.0 Sender ok\r\n250 mx.test\r\n503 5.5.1 Error: need MAIL "
       "command\r\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    fake_driver d;
    d.connect();
    d.take_output();
    d.feed(c.input);
    EXPECT_EQ(d.output(), c.expected);
  }
}

TEST(SmtpSession, SimpleCommands) {
  fake_driver d;
  d.connect();
  d.take_output();
  d.feed("NOOP\r\nVRFY postmaster\r\nHELP\r\nRSET\r\nEXPN staff\r\nFOO\r\nnoop ignored\r\n");
  EXPECT_EQ(d.output(),
            "250 2.0.0 Ok\r\n"
            "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
            "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP "
            "STARTTLS\r\n"
            "214 2.0.0 See RFC 5321; mail from: <address>, rcpt to: <address>\r\n"
            "250 2.0.0 Ok\r\n"
            "502 5.5.1 Error: command not implemented\r\n"
            "500 5.5.2 Error: command not recognized\r\n"
            "250 2.0.0 Ok\r\n");
  EXPECT_FALSE(d.closed());
}

TEST(SmtpSession, HttpRequestClosesAtOnce) {
  fake_driver d;
  d.connect();
  d.take_output();
  d.feed("GET / HTTP/1.1\r\nHost: mx.test\r\n\r\n");
  EXPECT_EQ(d.output(), "421 4.7.0 mx.test Error: non-SMTP command; closing\r\n");
  EXPECT_TRUE(d.closed());
}

// RFC 2920 3.1: a pipelined group; a refused RCPT does not stop the rest, and
// the message goes to the accepted recipients.
TEST(SmtpSession, PipelinedTransactionWithRelayRefusal) {
  session_hooks hooks;
  relay_domains domains{{"local.test"}, {}, ""};
  hooks.on_rcpt = [domains](const session_info&, const transaction&,
                            const path& rcpt) -> std::optional<reply> {
    relay_decision dec = check_relay(rcpt, domains, false);
    if (!dec.accepted()) return dec.refusal;
    return std::nullopt;
  };
  fake_driver d(fake_driver::default_config(), hooks);
  d.connect();
  d.feed("EHLO c\r\n");
  d.take_output();
  d.feed(
      "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@local.test>\r\nRCPT TO:<c@ext.test>\r\n"
      "RCPT TO:<user%ext.test@local.test>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(d.output(), kSenderOk + kRcptOk + "554 5.7.1 Relay access denied\r\n" +
                            "554 5.7.1 Relay access denied\r\n" + kStartData + queued(1) + kBye);
  ASSERT_EQ(d.queued().size(), 1u);
  EXPECT_EQ(d.queued()[0].recipients, std::vector<std::string>{"b@local.test"});
}

// RFC 2920 3.1 / RFC 5321 4.1.1.4: when every RCPT failed, a pipelined DATA is
// refused (554) and the message lines that follow are read as commands.
TEST(SmtpSession, PipelinedDataAfterAllRecipientsRefused) {
  session_hooks hooks;
  hooks.on_rcpt = [](const session_info&, const transaction&, const path&) {
    return std::optional<reply>(replies::relay_denied());
  };
  fake_driver d(fake_driver::default_config(), hooks);
  d.connect();
  d.feed("EHLO c\r\n");
  d.take_output();
  d.feed("MAIL FROM:<a@x.test>\r\nRCPT TO:<c@ext.test>\r\nDATA\r\nQUIT\r\n");
  EXPECT_EQ(d.output(), kSenderOk + "554 5.7.1 Relay access denied\r\n" +
                            "554 5.5.1 Error: no valid recipients\r\n" + kBye);
}

TEST(SmtpSession, PolicyHooksCanOverrideAndClose) {
  session_hooks hooks;
  hooks.on_mail = [](const session_info& info, const path& sender,
                     const mail_params&) -> std::optional<reply> {
    EXPECT_EQ(info.helo, "c");
    if (sender.domain() == "spf-fail.test") return reply(550, status::k_5_7_1, "SPF check failed");
    if (sender.domain() == "tempfail.test") return reply(451, status::k_4_7_0, "try later");
    if (sender.domain() == "bye.test") return reply(421, status::k_4_7_0, "mx.test go away");
    return std::nullopt;
  };
  fake_driver d(fake_driver::default_config(), hooks);
  d.connect();
  d.feed("HELO c\r\n");
  d.take_output();
  d.feed("MAIL FROM:<a@spf-fail.test>\r\n");
  EXPECT_EQ(d.take_output(), "550 5.7.1 SPF check failed\r\n");
  d.feed("MAIL FROM:<a@tempfail.test>\r\n");
  EXPECT_EQ(d.take_output(), "451 4.7.0 try later\r\n");
  d.feed("MAIL FROM:<a@ok.test>\r\n");
  EXPECT_EQ(d.take_output(), kSenderOk);
  d.feed("RSET\r\nMAIL FROM:<a@bye.test>\r\nNOOP\r\n");
  EXPECT_EQ(d.take_output(), kOk + "421 4.7.0 mx.test go away\r\n");
  EXPECT_TRUE(d.closed());
}

// RFC 5321 4.5.3.1.10: 452 too many recipients; the accepted ones still get the message.
TEST(SmtpSession, RecipientLimit) {
  session_config cfg = fake_driver::default_config();
  cfg.max_recipients = 2;
  fake_driver d(cfg);
  d.connect();
  d.feed("HELO c\r\nMAIL FROM:<a@b.test>\r\n");
  d.take_output();
  d.feed("RCPT TO:<1@b.test>\r\nRCPT TO:<2@b.test>\r\nRCPT TO:<3@b.test>\r\n");
  EXPECT_EQ(d.take_output(), kRcptOk + kRcptOk + "452 4.5.3 Error: too many recipients\r\n");
  d.feed("DATA\r\nx\r\n.\r\n");
  EXPECT_EQ(d.take_output(), kStartData + queued(1));
  EXPECT_EQ(d.queued()[0].recipients.size(), 2u);
}

TEST(SmtpSession, DuplicateRecipientsAreStoredOnce) {
  fake_driver d;
  d.connect();
  d.feed(
      "HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\nRCPT TO:<x@B.TEST>\r\n"
      "DATA\r\nx\r\n.\r\n");
  ASSERT_EQ(d.queued().size(), 1u);
  EXPECT_EQ(d.queued()[0].recipients, std::vector<std::string>{"x@b.test"});
}

// RFC 1870 6.1: declared SIZE above the fixed maximum: 552 5.3.4.
TEST(SmtpSession, SizeParameterAboveLimit) {
  session_config cfg = fake_driver::default_config();
  cfg.max_message_size = 1000;
  fake_driver d(cfg);
  d.connect();
  d.feed("EHLO c\r\n");
  d.take_output();
  d.feed("MAIL FROM:<a@b.test> SIZE=1001\r\nMAIL FROM:<a@b.test> SIZE=1000\r\n");
  EXPECT_EQ(d.output(),
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n" + kSenderOk);
}

TEST(SmtpSession, DataTooBigIsSwallowedAndRefused) {
  session_config cfg = fake_driver::default_config();
  cfg.max_message_size = 10;
  fake_driver d(cfg, {},
                data_limits{.max_size = 10, .max_line = 1000, .bare = bare_line_end::reject});
  d.connect();
  d.feed("HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\n");
  d.take_output();
  d.feed("DATA\r\n0123456789abcdef\r\nMAIL FROM:<smuggled@x.test>\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(d.output(),
            kStartData + "552 5.3.4 Message size exceeds fixed maximum message size\r\n" + kOk);
  EXPECT_TRUE(d.queued().empty());
}

// SMTP smuggling: <LF>.<LF> inside DATA neither ends the message nor lets the
// following text run as commands; the bare LF refuses the message (reject mode).
TEST(SmtpSession, SmugglingAttemptIsRefusedAndStaysInSync) {
  fake_driver d;
  d.connect();
  d.feed("HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\n");
  d.take_output();
  d.feed(
      "DATA\r\nSubject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@x.test>\nRCPT TO:<victim@b.test>\n"
      "DATA\nforged\n.\r\nstill data\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(d.output(), kStartData +
                            "550 5.6.0 Message refused: bare <LF> in message data; lines must "
                            "end with <CR><LF> (RFC 5321 2.3.8)\r\n" +
                            kOk);
  EXPECT_TRUE(d.queued().empty());
}

TEST(SmtpSession, SmugglingAttemptNormalizedIsOneMessage) {
  fake_driver d(
      fake_driver::default_config(), {},
      data_limits{.max_size = 1 << 20, .max_line = 1000, .bare = bare_line_end::normalize});
  d.connect();
  d.feed("HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\n");
  d.take_output();
  d.feed("DATA\r\nhi\n.\nMAIL FROM:<evil@x.test>\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(d.output(), kStartData + queued(1) + kOk);
  ASSERT_EQ(d.queued().size(), 1u);
  EXPECT_EQ(d.queued()[0].body, "hi\r\n.\r\nMAIL FROM:<evil@x.test>\r\n");
}

// RFC 5321 4.5.3.1.4 / 4.5.3.1.10: "500 Line too long"; the rest of the line is
// swallowed and the next command is read normally.
TEST(SmtpSession, CommandLineTooLong) {
  fake_driver d;
  d.connect();
  d.take_output();
  d.feed("NOOP " + std::string(600, 'x') + "\r\nNOOP\r\n");
  EXPECT_EQ(d.output(), "500 5.5.2 Error: line too long\r\n" + kOk);
}

TEST(SmtpSession, StrictModeRefusesBareLfCommands) {
  fake_driver d(fake_driver::default_config(), {}, {}, /*strict_lines=*/true);
  d.connect();
  d.take_output();
  d.feed("NOOP\nNOOP\r\n");
  EXPECT_EQ(d.output(),
            "500 5.5.2 Error: bare <LF> received; commands must end with <CR><LF>\r\n" + kOk);
}

// Errors per session: after max_errors errors the next command gets 421 and the
// connection is closed (RFC 5321 4.2.2 / 3.8).
TEST(SmtpSession, ErrorLimitCloses) {
  session_config cfg = fake_driver::default_config();
  cfg.max_errors = 3;
  fake_driver d(cfg);
  d.connect();
  d.take_output();
  d.feed("FOO\r\nBAR\r\nBAZ\r\nNOOP\r\nNOOP\r\n");
  EXPECT_EQ(d.output(),
            "500 5.5.2 Error: command not recognized\r\n"
            "500 5.5.2 Error: command not recognized\r\n"
            "500 5.5.2 Error: command not recognized\r\n"
            "421 4.7.0 mx.test Error: too many errors\r\n");
  EXPECT_TRUE(d.closed());
  EXPECT_EQ(d.sess().state(), session_state::closed);
}

// RFC 3030 2: BDAT chunks, 250 per chunk, the message after BDAT LAST.
TEST(SmtpSession, BdatChunks) {
  fake_driver d;
  d.connect();
  d.feed("EHLO c\r\nMAIL FROM:<a@b.test> BODY=BINARYMIME\r\nRCPT TO:<x@b.test>\r\n");
  d.take_output();
  d.feed("BDAT 5\r\nhelloBDAT 8 LAST\r\n world\r\nQUIT\r\n");
  EXPECT_EQ(d.output(), "250 2.0.0 5 octets received\r\n" + queued(1) + kBye);
  ASSERT_EQ(d.queued().size(), 1u);
  EXPECT_EQ(d.queued()[0].body, "hello world\r\n");
  EXPECT_EQ(d.queued()[0].params.body, body_param::binary_mime);
}

TEST(SmtpSession, BdatZeroLastAndSplitChunk) {
  fake_driver d;
  d.connect();
  d.feed("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\n");
  d.take_output();
  d.feed("BDAT 10\r\n01234");
  d.feed("56789");
  d.feed("BDAT 0 LAST\r\n");
  EXPECT_EQ(d.output(), "250 2.0.0 10 octets received\r\n" + queued(1));
  EXPECT_EQ(d.queued()[0].body, "0123456789");
}

// RFC 3030 2: on error the chunk is still read and discarded, so the stream stays in sync.
TEST(SmtpSession, BdatWithoutTransactionIsDiscarded) {
  fake_driver d;
  d.connect();
  d.feed("EHLO c\r\n");
  d.take_output();
  d.feed("BDAT 9 LAST\r\nQUIT\r\nxyzNOOP\r\n");
  EXPECT_EQ(d.output(), "503 5.5.1 Error: need MAIL command\r\n" + kOk);
  EXPECT_FALSE(d.closed());
  EXPECT_TRUE(d.queued().empty());
}

TEST(SmtpSession, BdatTooBigEndsTransaction) {
  session_config cfg = fake_driver::default_config();
  cfg.max_message_size = 8;
  fake_driver d(cfg);
  d.connect();
  d.feed("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\n");
  d.take_output();
  d.feed("BDAT 5\r\n12345BDAT 5\r\n67890BDAT 1 LAST\r\nxNOOP\r\n");
  EXPECT_EQ(d.output(),
            "250 2.0.0 5 octets received\r\n"
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
            "503 5.5.1 Error: need MAIL command\r\n" +
                kOk);
  EXPECT_TRUE(d.queued().empty());
}

// A chunk that alone exceeds the SIZE limit can never be accepted: refused at once,
// before any of its octets arrive (issue 16 item 7), and the connection is closed
// because the stream cannot be resynchronised without reading it (RFC 3030 2).
TEST(SmtpSession, BdatChunkAboveMaximumIsRefusedBeforeItsBytes) {
  session_config cfg = fake_driver::default_config();
  cfg.max_message_size = 8;
  fake_driver d(cfg);
  d.connect();
  d.feed("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\n");
  d.take_output();
  d.feed("BDAT 1000000000000 LAST\r\n");  // a terabyte announced, none sent
  EXPECT_EQ(d.output(),
            "552 5.3.4 mx.test BDAT chunk exceeds fixed maximum message size; closing "
            "connection\r\n");
  EXPECT_TRUE(d.closed());
  EXPECT_TRUE(d.queued().empty());
}

TEST(SmtpSession, BdatWithUnreadableSizeCloses) {
  fake_driver d;
  d.connect();
  d.feed("EHLO c\r\n");
  d.take_output();
  d.feed("BDAT lots\r\nNOOP\r\n");
  EXPECT_EQ(d.output(), "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
  EXPECT_TRUE(d.closed());
}

TEST(SmtpSession, DataAfterBdatAndBinaryMimeWithData) {
  fake_driver d;
  d.connect();
  d.feed("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\n");
  d.take_output();
  d.feed("BDAT 1\r\nxDATA\r\n");
  EXPECT_EQ(d.take_output(),
            "250 2.0.0 1 octets received\r\n"
            "503 5.5.1 Error: DATA after BDAT in one transaction\r\n");
  d.feed("RSET\r\nMAIL FROM:<a@b.test> BODY=BINARYMIME\r\nRCPT TO:<x@b.test>\r\nDATA\r\n");
  EXPECT_EQ(d.take_output(),
            kOk + kSenderOk + kRcptOk + "503 5.5.1 Error: BODY=BINARYMIME requires BDAT\r\n");
}

// RFC 6531 3.5: a UTF-8 recipient needs SMTPUTF8 on MAIL.
TEST(SmtpSession, Smtputf8Recipients) {
  fake_driver d;
  d.connect();
  d.feed("EHLO c\r\nMAIL FROM:<a@b.test>\r\n");
  d.take_output();
  d.feed("RCPT TO:<j\xc3\xb6rg@b.test>\r\n");
  EXPECT_EQ(d.take_output(),
            "553 5.6.7 Non-ASCII address without the SMTPUTF8 parameter (RFC 6531)\r\n");
  d.feed("RSET\r\nMAIL FROM:<a@b.test> SMTPUTF8\r\nRCPT TO:<j\xc3\xb6rg@b.test>\r\n");
  EXPECT_EQ(d.take_output(), kOk + kSenderOk + kRcptOk);
}

TEST(SmtpSession, QueueFailureIs451AndSessionContinues) {
  fake_driver d;
  d.connect();
  d.feed("HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\n");
  d.take_output();
  d.fail_next_enqueue();
  d.feed("DATA\r\nx\r\n.\r\nMAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(
      d.output(),
      kStartData + "451 4.3.0 Requested action aborted: local error in processing\r\n" + kSenderOk);
  EXPECT_TRUE(d.queued().empty());
  EXPECT_EQ(d.sess().errors(), 0u);  // our failure, not the client's
}

TEST(SmtpSession, TwoMessagesInOneSession) {
  fake_driver d;
  d.connect();
  d.feed(
      "EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@b.test>\r\nDATA\r\none\r\n.\r\n"
      "MAIL FROM:<>\r\nRCPT TO:<y@b.test>\r\nDATA\r\ntwo\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(d.queued().size(), 2u);
  EXPECT_EQ(d.queued()[0].body, "one\r\n");
  EXPECT_EQ(d.queued()[1].sender, "");
  EXPECT_EQ(d.queued()[1].body, "two\r\n");
  EXPECT_EQ(d.sess().messages(), 2u);
  EXPECT_NE(d.output().find(queued(2)), std::string::npos);
}

TEST(SmtpSession, RefusedConnectionServesOnlyQuit) {
  session s(fake_driver::default_config());
  step st = s.on_connect(replies::refused_greeting("mx.test"));
  EXPECT_EQ(st.out.code, 554);
  EXPECT_EQ(s.state(), session_state::refused);
  st = s.on_line("HELO c");
  EXPECT_EQ(st.out.code, 503);
  st = s.on_line("QUIT");
  EXPECT_EQ(st.out.code, 221);
  EXPECT_EQ(st.act.kind, action_kind::close);
}

TEST(SmtpSession, EarlyTalkerTimeoutShutdown) {
  {
    session s(fake_driver::default_config());
    step st = s.on_early_input();
    EXPECT_EQ(st.out.code, 554);
    EXPECT_EQ(st.act.kind, action_kind::close);
  }
  {
    session s(fake_driver::default_config());
    s.on_connect();
    step st = s.on_timeout();
    EXPECT_EQ(st.out.format(), "421 4.4.2 mx.test Error: timeout exceeded\r\n");
    EXPECT_EQ(st.act.kind, action_kind::close);
  }
  {
    session s(fake_driver::default_config());
    s.on_connect();
    step st = s.on_shutdown();
    EXPECT_EQ(st.out.code, 421);
    EXPECT_EQ(st.act.kind, action_kind::close);
  }
}

}  // namespace
}  // namespace mxg::smtp
