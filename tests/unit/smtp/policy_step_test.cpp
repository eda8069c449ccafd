// policy_step_test.cpp: the asynchronous policy step of the I/O-free SMTP core (issue 9
// section 1) and XCLIENT (Postfix XCLIENT_README), through the byte-exact fake driver.
// RFC 5321 4.1.1.2/4.1.1.3 (MAIL/RCPT replies), 4.2.5 (a refused message after DATA),
// RFC 2920 3.1 (pipelined DATA after every RCPT was refused), RFC 3030 (BDAT LAST).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_driver.hpp"

namespace mxg::smtp {
namespace {

using testing::fake_driver;

const std::string kGreeting = "220 mx.test ESMTP mxguard\r\n";
const std::string kSenderOk = "250 2.1.0 Sender ok\r\n";
const std::string kRcptOk = "250 2.1.5 Recipient ok\r\n";
const std::string kStartData = "354 End data with <CR><LF>.<CR><LF>\r\n";

session_config policy_config(bool mail, bool rcpt, bool data) {
  auto c = fake_driver::default_config();
  c.policy_mail = mail;
  c.policy_rcpt = rcpt;
  c.policy_data = data;
  return c;
}

struct seen {
  policy_stage stage;
  std::string sender, recipient, client_ip, helo;
  std::size_t recipients = 0;
};

TEST(SmtpPolicyStep, RcptStageRefusesOneRecipientAndSeesTheContext) {
  fake_driver d(policy_config(false, true, false));
  std::vector<seen> log;
  d.set_policy([&](policy_stage st, const session& s) -> std::optional<reply> {
    seen e{st,
           s.current()->sender.address(),
           s.pending()->address.address(),
           s.info().client_ip,
           s.info().helo,
           s.current()->recipients.size()};
    log.push_back(e);
    if (e.recipient == "bad@local.test") return reply(550, status::k_5_7_1, "SPF says no");
    return std::nullopt;
  });
  d.sess().set_client("192.0.2.7", "4242");
  d.connect();
  d.feed(
      "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<good@local.test>\r\n"
      "RCPT TO:<bad@local.test>\r\nDATA\r\nhi\r\n.\r\n");
  std::string out = d.take_output();
  EXPECT_NE(out.find(kSenderOk + kRcptOk + "550 5.7.1 SPF says no\r\n" + kStartData),
            std::string::npos)
      << out;
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].stage, policy_stage::rcpt);
  EXPECT_EQ(log[0].sender, "a@example.org");
  EXPECT_EQ(log[0].recipient, "good@local.test");
  EXPECT_EQ(log[0].client_ip, "192.0.2.7");
  EXPECT_EQ(log[0].helo, "client.example");
  EXPECT_EQ(log[1].recipients, 1u);  // the first was accepted before the second is asked
  ASSERT_EQ(d.queued().size(), 1u);
  EXPECT_EQ(d.queued()[0].recipients, std::vector<std::string>{"good@local.test"});
  EXPECT_EQ(d.sess().errors(), 1u);
}

TEST(SmtpPolicyStep, PipelinedDataAfterEveryRecipientRefused) {
  fake_driver d(policy_config(false, true, false));
  d.set_policy([](policy_stage, const session&) -> std::optional<reply> {
    return reply(550, status::k_5_7_1, "no");
  });
  d.connect();
  d.feed(
      "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@local.test>\r\n"
      "RCPT TO:<y@local.test>\r\nDATA\r\n");
  std::string out = d.take_output();
  EXPECT_NE(out.find("550 5.7.1 no\r\n550 5.7.1 no\r\n554 5.5.1"), std::string::npos) << out;
  EXPECT_TRUE(d.queued().empty());
}

TEST(SmtpPolicyStep, MailStageRefusalLeavesNoTransaction) {
  fake_driver d(policy_config(true, false, false));
  int asked = 0;
  d.set_policy([&](policy_stage st, const session& s) -> std::optional<reply> {
    EXPECT_EQ(st, policy_stage::mail);
    EXPECT_EQ(s.current(), nullptr);  // the transaction starts only when accepted
    ++asked;
    if (s.pending()->address.address() == "forged@example.org")
      return reply(550, status::k_5_7_1, "forged");
    return std::nullopt;
  });
  d.connect();
  d.feed(
      "EHLO c.example\r\nMAIL FROM:<forged@example.org>\r\nRCPT TO:<x@local.test>\r\n"
      "MAIL FROM:<ok@example.org>\r\nRCPT TO:<x@local.test>\r\n");
  std::string out = d.take_output();
  EXPECT_NE(out.find("550 5.7.1 forged\r\n503 5.5.1"), std::string::npos) << out;
  EXPECT_NE(out.find(kSenderOk + kRcptOk), std::string::npos) << out;
  EXPECT_EQ(asked, 2);
}

TEST(SmtpPolicyStep, DataStageRefusesTheMessageAndTheSessionGoesOn) {
  fake_driver d(policy_config(false, false, true));
  int n = 0;
  d.set_policy([&](policy_stage st, const session& s) -> std::optional<reply> {
    EXPECT_EQ(st, policy_stage::data);
    EXPECT_EQ(s.pending(), nullptr);
    EXPECT_EQ(s.current()->recipients.size(), 1u);
    if (++n == 1) return reply(550, status::k_5_7_1, "content refused");
    return std::nullopt;
  });
  d.connect();
  d.feed(
      "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@local.test>\r\n"
      "DATA\r\none\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@local.test>\r\n"
      "BDAT 5 LAST\r\ntwo\r\n");
  std::string out = d.take_output();
  EXPECT_NE(out.find(kStartData + "550 5.7.1 content refused\r\n" + kSenderOk), std::string::npos)
      << out;
  ASSERT_EQ(d.queued().size(), 1u);
  EXPECT_EQ(d.queued()[0].body, "two\r\n");
  EXPECT_EQ(d.sess().errors(), 0u);  // a refused message is not a protocol error
}

TEST(SmtpPolicyStep, A421AnswerClosesTheSession) {
  fake_driver d(policy_config(false, true, false));
  d.set_policy([](policy_stage, const session&) -> std::optional<reply> {
    return reply(421, status::k_4_7_0, "mx.test going away");
  });
  d.connect();
  d.feed("EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@local.test>\r\n");
  EXPECT_TRUE(d.closed());
  EXPECT_NE(d.output().find("421 4.7.0"), std::string::npos);
}

TEST(SmtpPolicyStep, TempfailAtRcptIsAnswered451) {
  fake_driver d(policy_config(false, true, false));
  d.set_policy([](policy_stage, const session&) -> std::optional<reply> {
    return reply(451, enhanced_status{4, 7, 24}, "SPF temporary error for example.org");
  });
  d.connect();
  d.feed("EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@local.test>\r\n");
  EXPECT_NE(d.output().find("451 4.7.24 SPF temporary error for example.org\r\n"),
            std::string::npos)
      << d.output();
}

session_config xclient_config() {
  auto c = fake_driver::default_config();
  c.xclient = true;
  return c;
}

TEST(SmtpXclient, RefusedFromAnUnauthorizedClient) {
  fake_driver d(xclient_config());
  d.connect();
  d.feed("EHLO proxy.example\r\nXCLIENT ADDR=198.51.100.9\r\n");
  std::string out = d.take_output();
  EXPECT_EQ(out.find("XCLIENT NAME"), std::string::npos) << out;  // not announced
  EXPECT_NE(out.find("550 5.7.0 Error: insufficient authorization\r\n"), std::string::npos);
  EXPECT_EQ(d.xclients(), 0);
}

TEST(SmtpXclient, AuthorizedClientPresentsTheOriginalClient) {
  fake_driver d(xclient_config());
  d.sess().set_client("127.0.0.1", "5000");
  d.sess().set_xclient_allowed(true);
  d.connect();
  d.feed("EHLO proxy.example\r\n");
  EXPECT_NE(d.take_output().find("250 XCLIENT NAME ADDR PORT PROTO HELO LOGIN\r\n"),
            std::string::npos);
  d.feed("XCLIENT ADDR=IPV6:2001:db8::5 NAME=[UNAVAILABLE] HELO=orig+2Eexample PORT=25\r\n");
  EXPECT_EQ(d.take_output(), kGreeting);  // greeted again (XCLIENT_README)
  EXPECT_EQ(d.xclients(), 1);
  EXPECT_EQ(d.sess().info().client_ip, "2001:db8::5");
  EXPECT_EQ(d.sess().info().client_name, "");
  EXPECT_EQ(d.sess().info().helo, "orig.example");  // xtext decoded
  EXPECT_TRUE(d.sess().info().xclient);
  // The client starts over: MAIL needs a new EHLO.
  d.feed("MAIL FROM:<a@example.org>\r\n");
  EXPECT_NE(d.take_output().find("503 5.5.1"), std::string::npos);
}

TEST(SmtpXclient, BadAttributesAndTransactionState) {
  fake_driver d(xclient_config());
  d.sess().set_xclient_allowed(true);
  d.connect();
  d.feed(
      "EHLO p.example\r\nXCLIENT FOO=bar\r\nXCLIENT ADDR=not-an-ip!\r\nXCLIENT ADDR\r\n"
      "XCLIENT HELO=bad+0Dvalue\r\nMAIL FROM:<a@example.org>\r\nXCLIENT ADDR=192.0.2.1\r\n");
  std::string out = d.take_output();
  EXPECT_NE(out.find("501 5.5.4 Bad XCLIENT attribute name\r\n"
                     "501 5.5.4 Bad XCLIENT ADDR syntax\r\n"
                     "501 5.5.4 Bad XCLIENT attribute syntax\r\n"
                     "501 5.5.4 Bad XCLIENT attribute value\r\n" +
                     kSenderOk + "503 5.5.1"),
            std::string::npos)
      << out;
  EXPECT_EQ(d.xclients(), 0);
}

// Connection policy (DNS lists, issue 12): a refusal replaces the greeting, at connect
// or after XCLIENT presented the client; 554 then only QUIT is served (RFC 5321 3.1),
// 421 closes (RFC 5321 3.8).
TEST(SmtpXclient, ConnectionPolicyRefusesThePresentedClient) {
  session s(xclient_config());
  s.set_client("127.0.0.1", "5000");
  s.set_xclient_allowed(true);
  EXPECT_EQ(s.on_connect().out.code, 220);
  EXPECT_EQ(s.on_line("EHLO proxy.example").out.code, 250);
  auto x = s.on_line("XCLIENT ADDR=192.0.2.99");
  ASSERT_EQ(x.act.kind, action_kind::xclient);
  auto r = s.refuse_client(reply(554, status::k_5_7_1, "listed"));
  EXPECT_EQ(r.out.format(), "554 5.7.1 listed\r\n");
  EXPECT_EQ(r.act.kind, action_kind::none);
  EXPECT_EQ(s.state(), session_state::refused);
  EXPECT_EQ(s.on_line("EHLO again.example").out.code, 503);
  auto q = s.on_line("QUIT");
  EXPECT_EQ(q.out.code, 221);
  EXPECT_EQ(q.act.kind, action_kind::close);
}

TEST(SmtpXclient, ConnectionPolicyTempfailCloses) {
  session s(xclient_config());
  auto r = s.on_connect(reply(421, status::k_4_7_1, "try later"));
  EXPECT_EQ(r.out.code, 421);
  EXPECT_EQ(r.act.kind, action_kind::close);
  EXPECT_EQ(s.state(), session_state::closed);
  session t(xclient_config());
  EXPECT_EQ(t.on_connect(reply(554, status::k_5_7_1, "no")).act.kind, action_kind::none);
  EXPECT_EQ(t.state(), session_state::refused);
}

}  // namespace
}  // namespace mxg::smtp
