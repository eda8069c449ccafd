// Postfix policy delegation protocol (SMTPD_POLICY_README): the incremental reader
// (splits, CRLF, bounds, malformed input as errors), the reply formatter (no control
// byte can reach the stream), the action of every verdict and SPF result
// (postfix-policyd-spf-python's conventions), later recipients, the listen address
// and the per-instance cache (bounded, expiring, fingerprinted).
#include "policy/policy_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace mxg::policy;
using mxg::smtp::enhanced_status;
using mxg::smtp::reply;

namespace {

const char* kRequest =
    "request=smtpd_access_policy\n"
    "protocol_state=RCPT\n"
    "protocol_name=ESMTP\n"
    "client_address=192.0.2.7\n"
    "client_name=mail.example.test\n"
    "helo_name=mail.example.test\n"
    "sender=alice@example.test\n"
    "recipient=bob@our.test\n"
    "recipient_count=0\n"
    "queue_id=\n"
    "instance=1a2b.6650f0a1.c3d4e.0\n"
    "size=0\n"
    "\n";

std::vector<policy_attributes> read_all(policy_request_reader& r) {
  std::vector<policy_attributes> v;
  while (auto a = r.next()) v.push_back(std::move(*a));
  return v;
}

}  // namespace

TEST(PolicyReader, WholeRequest) {
  policy_request_reader r;
  ASSERT_TRUE(r.feed(kRequest));
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at("sender"), "alice@example.test");
  EXPECT_EQ(v[0].at("queue_id"), "");
  EXPECT_EQ(v[0].size(), 12u);
  EXPECT_FALSE(r.partial());
  auto req = read_policy_request(v[0]);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->protocol_state, "RCPT");
  EXPECT_EQ(req->client_address, "192.0.2.7");
  EXPECT_EQ(req->helo_name, "mail.example.test");
  EXPECT_EQ(req->instance, "1a2b.6650f0a1.c3d4e.0");
}

TEST(PolicyReader, EverySplitAndCrlf) {
  std::string crlf;
  for (const char* p = kRequest; *p; ++p) {
    if (*p == '\n') crlf += '\r';
    crlf += *p;
  }
  for (const std::string& in : {std::string(kRequest), crlf}) {
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
      policy_request_reader r;
      ASSERT_TRUE(r.feed(std::string_view(in).substr(0, cut)));
      if (cut < in.size()) {
        EXPECT_FALSE(r.next().has_value()) << cut;
      }
      ASSERT_TRUE(r.feed(std::string_view(in).substr(cut)));
      auto v = read_all(r);
      ASSERT_EQ(v.size(), 1u) << cut;
      EXPECT_EQ(v[0].at("instance"), "1a2b.6650f0a1.c3d4e.0");
      EXPECT_EQ(v[0].at("size"), "0");
    }
  }
}

TEST(PolicyReader, SeveralRequestsPerConnection) {
  policy_request_reader r;
  std::string two = std::string(kRequest) + "request=smtpd_access_policy\nprotocol_state=DATA\n\n";
  ASSERT_TRUE(r.feed(two));
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].at("protocol_state"), "DATA");
  EXPECT_EQ(v[1].size(), 2u);
  // Bytes of the next request stay partial.
  ASSERT_TRUE(r.feed("request=smtpd"));
  EXPECT_TRUE(r.partial());
  EXPECT_FALSE(r.next());
}

TEST(PolicyReader, ValuesKeepEqualsSignsAndUtf8) {
  policy_request_reader r;
  ASSERT_TRUE(
      r.feed("request=smtpd_access_policy\nsender=a=b@x.test\nccert_subject=CN=Jos\xc3\xa9\n\n"));
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at("sender"), "a=b@x.test");
  EXPECT_EQ(v[0].at("ccert_subject"), "CN=Jos\xc3\xa9");
}

TEST(PolicyReader, MalformedIsAnErrorAndSticks) {
  struct bad {
    const char* why;
    std::string in;
  };
  std::vector<bad> cases = {
      {"no '='", "request\n"},
      {"empty name", "=x\n"},
      {"bad name byte", "sen der=x\n"},
      {"empty request", "\n"},
      {"duplicate", "sender=a\nsender=b\n"},
      {"NUL", std::string("sender=a\0b\n", 11)},
      {"bare CR inside", "sender=a\rb\n"},
      {"long name", std::string(kPolicyMaxName + 1, 'n') + "=x\n"},
      {"long line", "sender=" + std::string(kPolicyMaxLine, 'x')},
  };
  std::string many;
  for (std::size_t i = 0; i <= kPolicyMaxAttributes; ++i) many += "a" + std::to_string(i) + "=1\n";
  cases.push_back({"too many attributes", many});
  std::string big;
  for (std::size_t i = 0; big.size() <= kPolicyMaxRequest; ++i)
    big += "a" + std::to_string(i) + "=" + std::string(1000, 'v') + "\n";
  cases.push_back({"request too large", big});
  std::string pending;
  for (std::size_t i = 0; i <= kPolicyMaxPending; ++i) pending += "a=1\n\n";
  cases.push_back({"too many pending", pending});

  for (const auto& c : cases) {
    policy_request_reader r;
    auto res = r.feed(c.in);
    EXPECT_FALSE(res) << c.why;
    EXPECT_TRUE(r.failed()) << c.why;
    EXPECT_FALSE(r.feed(kRequest)) << c.why;  // stays failed
  }
}

TEST(PolicyReader, LimitsAreInclusive) {
  policy_request_reader r;
  std::string line = "sender=" + std::string(kPolicyMaxLine - 7, 'x');
  ASSERT_EQ(line.size(), kPolicyMaxLine);
  ASSERT_TRUE(r.feed(std::string(kPolicyMaxName, 'n') + "=x\n" + line + "\r\n\n"));
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at("sender").size(), kPolicyMaxLine - 7);
}

TEST(PolicyRequest, RequestTypeAndDefaults) {
  EXPECT_FALSE(read_policy_request({{"request", "junk"}}));
  EXPECT_FALSE(read_policy_request({{"sender", "a@b"}}));
  auto r = read_policy_request({{"request", "smtpd_access_policy"}, {"protocol_state", "rcpt"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->protocol_state, "RCPT");
  EXPECT_EQ(r->sender, "");  // null sender when absent
}

TEST(PolicyReply, FormatterStripsControls) {
  EXPECT_EQ(format_policy_reply("DUNNO"), "action=DUNNO\n\n");
  EXPECT_EQ(format_policy_reply(""), "action=DUNNO\n\n");
  EXPECT_EQ(format_policy_reply("550 5.7.23 a\r\n\r\naction=OK\n\nb"),
            "action=550 5.7.23 a action=OK b\n\n");
  EXPECT_EQ(format_policy_reply("HOLD x\x01y\x7fz\t\tq "), "action=HOLD x?y?z q\n\n");
  std::string huge(10000, 'a');
  auto r = format_policy_reply(huge);
  EXPECT_EQ(r.size(), 7 + kPolicyMaxAction + 2);
  EXPECT_EQ(policy_text("  a  b  ", 100), "a b");
  EXPECT_EQ(policy_text("abcdef", 3), "abc");
}

namespace {

spf_evaluation eval(mxg::spf::result res, verdict v, reply rep = {}, std::string reason = "") {
  spf_evaluation e;
  e.facts.result = res;
  e.facts.domain = "example.test";
  e.outcome.result = res;
  e.outcome.domain = "example.test";
  e.dec.action = v;
  e.dec.reply = std::move(rep);
  e.dec.reason = std::move(reason);
  e.dec.check = "spf";
  return e;
}

const char* kRspf =
    "Received-SPF: pass (mx.our.test: domain of example.test designates 192.0.2.7 as "
    "permitted sender) client-ip=192.0.2.7; envelope-from=\"alice@example.test\";";

}  // namespace

TEST(PolicyAction, EveryVerdict) {
  using R = mxg::spf::result;
  // accept and tag: the Received-SPF header, one line.
  EXPECT_EQ(spf_policy_action(eval(R::pass, verdict::accept), kRspf),
            std::string("PREPEND ") + kRspf);
  EXPECT_EQ(spf_policy_action(eval(R::neutral, verdict::tag), kRspf),
            std::string("PREPEND ") + kRspf);
  EXPECT_EQ(spf_policy_action(eval(R::none, verdict::accept), "Received-SPF: none\r\n\t(x)"),
            "PREPEND Received-SPF: none (x)");
  EXPECT_EQ(spf_policy_action(eval(R::pass, verdict::accept), ""), "DUNNO");
  // quarantine: Postfix's hold queue.
  EXPECT_EQ(spf_policy_action(eval(R::softfail, verdict::quarantine, {}, "SPF softfail\nx"), ""),
            "HOLD SPF softfail x");
  EXPECT_EQ(spf_policy_action(eval(R::softfail, verdict::quarantine), ""),
            "HOLD SPF softfail for example.test: held");
  // tempfail: DEFER_IF_PERMIT with the enhanced status (policyd-spf: temperror).
  EXPECT_EQ(spf_policy_action(eval(R::temperror, verdict::tempfail,
                                   reply(451, {4, 7, 24}, "SPF temperror for example.test")),
                              ""),
            "DEFER_IF_PERMIT 4.7.24 SPF temperror for example.test");
  EXPECT_EQ(spf_policy_action(
                eval(R::temperror, verdict::tempfail, reply(451, {4, 4, 3}, "DNS timeout")), ""),
            "DEFER_IF_PERMIT 4.4.3 DNS timeout");
  EXPECT_EQ(spf_policy_action(eval(R::softfail, verdict::tempfail), ""),
            "DEFER_IF_PERMIT 4.7.1 SPF softfail for example.test: try again later");
  // reject: the decision's reply as Postfix's "NNN x.y.z text".
  EXPECT_EQ(spf_policy_action(eval(R::fail, verdict::reject,
                                   reply(550, {5, 7, 23}, "SPF fail: example.test\r\nbad")),
                              kRspf),
            "550 5.7.23 SPF fail: example.test bad");
  EXPECT_EQ(spf_policy_action(eval(R::permerror, verdict::reject,
                                   reply(550, {5, 7, 24}, "SPF permerror for example.test")),
                              ""),
            "550 5.7.24 SPF permerror for example.test");
  EXPECT_EQ(spf_policy_action(eval(R::softfail, verdict::reject,
                                   reply(550, {5, 7, 23}, std::vector<std::string>{"a", "b"})),
                              ""),
            "550 5.7.23 a b");
  EXPECT_EQ(spf_policy_action(eval(R::fail, verdict::reject), ""),
            "550 5.7.1 SPF fail for example.test: rejected");
  // A reply of the wrong class never turns into an acceptance.
  EXPECT_EQ(spf_policy_action(eval(R::fail, verdict::reject, reply(250, {2, 0, 0}, "ok")), ""),
            "550 5.7.1 ok");
  // Trusted client: no SPF, no header.
  auto s = eval(R::none, verdict::accept);
  s.skipped = true;
  EXPECT_EQ(spf_policy_action(s, kRspf), "DUNNO");
}

TEST(PolicyAction, EveryResultUnderDefaultPolicy) {
  // Each spf::result with the verdict of the default actions gives an action of the
  // expected kind (first word).
  using R = mxg::spf::result;
  struct row {
    R r;
    verdict v;
    reply rep;
    std::string want_prefix;
  };
  std::vector<row> rows = {
      {R::pass, verdict::accept, {}, "PREPEND Received-SPF:"},
      {R::neutral, verdict::accept, {}, "PREPEND Received-SPF:"},
      {R::none, verdict::accept, {}, "PREPEND Received-SPF:"},
      {R::permerror, verdict::accept, {}, "PREPEND Received-SPF:"},
      {R::softfail, verdict::quarantine, {}, "HOLD "},
      {R::fail, verdict::reject, reply(550, {5, 7, 23}, "x"), "550 5.7.23 "},
      {R::temperror, verdict::tempfail, reply(451, {4, 7, 24}, "x"), "DEFER_IF_PERMIT 4.7.24 "},
  };
  for (const auto& w : rows) {
    auto a = spf_policy_action(eval(w.r, w.v, w.rep), "Received-SPF: x");
    EXPECT_TRUE(a.starts_with(w.want_prefix)) << mxg::spf::to_string(w.r) << ": " << a;
  }
}

TEST(PolicyAction, LaterRecipients) {
  EXPECT_EQ(later_recipient_action("PREPEND Received-SPF: pass"), "DUNNO");
  EXPECT_EQ(later_recipient_action("HOLD x"), "DUNNO");
  EXPECT_EQ(later_recipient_action("DUNNO"), "DUNNO");
  EXPECT_EQ(later_recipient_action("550 5.7.23 x"), "550 5.7.23 x");
  EXPECT_EQ(later_recipient_action("DEFER_IF_PERMIT 4.7.24 x"), "DEFER_IF_PERMIT 4.7.24 x");
}

TEST(PolicyListen, Addresses) {
  auto a = parse_listen_address("127.0.0.1:10031");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 10031);
  auto b = parse_listen_address("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(b->second, 0);
  for (const char* s : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:1x", "::1:25",
                        "[::1]25", "localhost:25", "[::1"})
    EXPECT_FALSE(parse_listen_address(s)) << s;
}

TEST(PolicyCache, FingerprintExpiryAndBound) {
  using clock = policy_instance_cache::clock;
  auto t0 = clock::time_point{} + std::chrono::hours(1);
  policy_instance_cache c(3, std::chrono::seconds(60));
  policy_request r;
  r.client_address = "192.0.2.7";
  r.sender = "a@example.test";
  r.helo_name = "h";
  auto fp = policy_instance_cache::fingerprint(r);
  c.put("i1", {fp, "PREPEND Received-SPF: pass", "pass"}, t0);
  const auto* e = c.find("i1", fp, t0 + std::chrono::seconds(59));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->action, "PREPEND Received-SPF: pass");
  // Another client, sender or HELO with the same instance: a miss.
  for (auto f :
       {&policy_request::client_address, &policy_request::sender, &policy_request::helo_name}) {
    policy_request o = r;
    o.*f += "x";
    EXPECT_EQ(c.find("i1", policy_instance_cache::fingerprint(o), t0), nullptr);
  }
  EXPECT_EQ(c.find("i2", fp, t0), nullptr);
  // Expired.
  EXPECT_EQ(c.find("i1", fp, t0 + std::chrono::seconds(61)), nullptr);
  EXPECT_EQ(c.size(), 0u);
  // Bounded: the oldest goes first.
  for (int i = 0; i < 5; ++i) c.put("k" + std::to_string(i), {fp, "a", "pass"}, t0);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.find("k0", fp, t0), nullptr);
  EXPECT_EQ(c.find("k1", fp, t0), nullptr);
  EXPECT_NE(c.find("k4", fp, t0), nullptr);
  // Replacing one instance many times keeps the bookkeeping bounded.
  for (int i = 0; i < 1000; ++i) c.put("k4", {fp, std::to_string(i), "pass"}, t0);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.find("k4", fp, t0)->action, "999");
  EXPECT_NE(c.find("k3", fp, t0), nullptr);
  // No instance: nothing cached.
  c.put("", {fp, "x", "pass"}, t0);
  EXPECT_EQ(c.find("", fp, t0), nullptr);
  c.clear();
  EXPECT_EQ(c.size(), 0u);
}
