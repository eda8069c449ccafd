// backscatter_filter_test.cpp: the backscatter filter (policy/backscatter_filter.hpp):
// BATV at RCPT time (draft-levine-smtp-batv-01), the after-DATA bounce judgement with
// each configured action, the per-transaction combination (strongest action wins:
// reject > quarantine > tag > accept, first reason kept on a tie) and the tag header.
// Moved from tests/unit/gateway with the code (issue 9 section 1).
#include "policy/backscatter_filter.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <fstream>
#include <sstream>

#include "dns/memory_zone.hpp"

using namespace mxg;
using namespace mxg::policy;

namespace {
constexpr std::int64_t kDay = 20759;

backscatter_config with_batv(bs_action a) {
  backscatter_config c;
  c.enabled = true;
  c.our_domains = {"Our.test"};
  c.batv = policy::batv_config{"k3y", {}, 7};
  c.unsigned_bounce = a;
  return c;
}

std::string slurp(const std::string& name) {
  std::ifstream f(std::string(MXG_SOURCE_DIR) + "/tests/data/backscatter/" + name,
                  std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bs_decision run(const backscatter_filter& f, const std::string& msg, dns::resolver* res) {
  asio::io_context io;
  auto fut = asio::co_spawn(io, f.check_bounce(msg, nullptr, res), asio::use_future);
  io.run();
  return fut.get();
}
}  // namespace

TEST(BackscatterFilter, BatvSignsOutboundAndChecksBouncesAtRcpt) {
  backscatter_filter f(with_batv(bs_action::reject));
  auto signed_sender = f.outbound_sender("alice@our.test", kDay);
  EXPECT_EQ(signed_sender.rfind("prvs=", 0), 0u) << signed_sender;
  EXPECT_EQ(f.outbound_sender("", kDay), "");                          // never the null sender
  EXPECT_EQ(f.outbound_sender("x@other.test", kDay), "x@other.test");  // not ours

  auto ok = f.check_rcpt("", signed_sender, kDay + 1);
  EXPECT_EQ(ok.action, bs_action::accept);
  EXPECT_EQ(ok.recipient, "alice@our.test");  // delivered without the tag

  auto bad = f.check_rcpt("", "alice@our.test", kDay);
  EXPECT_EQ(bad.action, bs_action::reject);
  EXPECT_EQ(bad.reply.format().rfind("550 5.7.1", 0), 0u);
  EXPECT_EQ(f.check_rcpt("", signed_sender, kDay + 30).action, bs_action::reject);  // expired

  // Normal mail (non-null sender) is not affected; bounces to other domains neither.
  EXPECT_EQ(f.check_rcpt("bob@ext.test", "alice@our.test", kDay).action, bs_action::accept);
  EXPECT_EQ(f.check_rcpt("", "someone@relayed.test", kDay).action, bs_action::accept);

  // Someone else's prvs= address (a bounce relayed out) keeps its tag, valid or not.
  policy::batv other(policy::batv_config{"their-secret", {}, 7});
  auto foreign = other.sign("x@other.test", kDay);
  ASSERT_EQ(foreign.rfind("prvs=", 0), 0u);
  EXPECT_EQ(f.check_rcpt("", foreign, kDay).recipient, foreign);
  EXPECT_EQ(f.check_rcpt("a@our.test", foreign, kDay).recipient, foreign);
  // Ours with a valid tag from a normal sender: stripped as well.
  EXPECT_EQ(f.check_rcpt("bob@ext.test", signed_sender, kDay).recipient, "alice@our.test");

  backscatter_filter q(with_batv(bs_action::quarantine));
  auto qd = q.check_rcpt("", "alice@our.test", kDay);
  EXPECT_EQ(qd.action, bs_action::quarantine);
  EXPECT_TRUE(qd.reply.empty());
  backscatter_filter t(with_batv(bs_action::tag));
  EXPECT_EQ(t.check_rcpt("", "alice@our.test", kDay).header.rfind("X-Mxguard-Backscatter: yes", 0),
            0u);
  backscatter_filter off(backscatter_config{});
  EXPECT_EQ(off.check_rcpt("", "alice@our.test", kDay).action, bs_action::accept);
}

TEST(BackscatterFilter, BounceContentJudgedWithoutBatv) {
  dns::memory_zone zone;
  dns::record spf;
  spf.type = dns::rrtype::txt;
  spf.name = "our.test";
  spf.strings = {"v=spf1 ip4:192.0.2.0/24 -all"};
  zone.add(spf);
  for (auto action : {bs_action::quarantine, bs_action::reject, bs_action::tag}) {
    backscatter_config c;
    c.enabled = true;
    c.our_domains = {"our.test"};
    c.ndr_backscatter = action;
    backscatter_filter f(c);
    auto forged = run(f, slurp("forged-1.eml"), &zone);
    EXPECT_EQ(forged.action, action);
    EXPECT_NE(forged.reason.find("backscatter"), std::string::npos);
    EXPECT_EQ(run(f, slurp("real-1.eml"), &zone).action, bs_action::accept);
  }
  backscatter_config c;
  c.enabled = true;
  c.our_domains = {"our.test"};
  backscatter_filter f(c);
  EXPECT_EQ(run(f, "Subject: hi\r\n\r\nnot a bounce\r\n", &zone).action, bs_action::accept);
  ASSERT_TRUE(bs_action_from_string("quarantine"));
  EXPECT_FALSE(bs_action_from_string("drop"));
}

namespace {

struct combo_case {
  std::vector<bs_action> steps;
  bs_action want;
  const char* reason;  // reason that must remain
};

class DecisionCombination : public ::testing::TestWithParam<combo_case> {};

TEST_P(DecisionCombination, StrongestWins) {
  txn_decision d;
  int i = 0;
  for (auto a : GetParam().steps) d.combine(a, std::string(to_string(a)) + std::to_string(i++));
  EXPECT_EQ(d.action, GetParam().want);
  EXPECT_EQ(d.reason, GetParam().reason);
}

using A = bs_action;
INSTANTIATE_TEST_SUITE_P(
    Table, DecisionCombination,
    ::testing::Values(combo_case{{}, A::accept, ""}, combo_case{{A::accept}, A::accept, "accept0"},
                      combo_case{{A::tag, A::accept}, A::tag, "tag0"},
                      combo_case{{A::accept, A::tag}, A::tag, "tag1"},
                      combo_case{{A::tag, A::quarantine, A::tag}, A::quarantine, "quarantine1"},
                      combo_case{{A::quarantine, A::reject, A::accept}, A::reject, "reject1"},
                      combo_case{{A::reject, A::quarantine}, A::reject, "reject0"},
                      combo_case{{A::quarantine, A::quarantine}, A::quarantine, "quarantine0"}));

TEST(DecisionCombination, ReportsWhetherItTookTheAction) {
  txn_decision d;
  EXPECT_TRUE(d.combine(A::tag, "a"));
  EXPECT_FALSE(d.combine(A::tag, "b"));
  EXPECT_FALSE(d.combine(A::accept, "c"));
  EXPECT_TRUE(d.combine(A::reject, "d"));
  EXPECT_EQ(d.reason, "d");
}

TEST(BackscatterHeader, OnePrintableLine) {
  auto h = backscatter_header("not ours\r\nBcc: evil@x.test");
  EXPECT_EQ(h.rfind("X-Mxguard-Backscatter: yes; not ours", 0), 0u);
  EXPECT_EQ(h.find('\r'), std::string::npos);
  EXPECT_EQ(h.find('\n'), std::string::npos);
}

TEST(BackscatterDecision, AsPolicyDecision) {
  bs_decision q;
  q.action = bs_action::quarantine;
  q.reason = "backscatter: x";
  auto d = q.to_decision();
  EXPECT_EQ(d.action, verdict::quarantine);
  EXPECT_EQ(d.check, "backscatter");
  EXPECT_TRUE(d.reply.empty());
  bs_decision r;
  r.action = bs_action::reject;  // no reply given: a 550 5.7.1 of its own
  EXPECT_EQ(r.to_decision().reply.format().rfind("550 5.7.1", 0), 0u);
  EXPECT_EQ(bs_decision{}.to_decision().action, verdict::accept);
}

}  // namespace
