// Pure steps of the scheduler (src/delivery/scheduler.hpp): how one attempt's replies
// change each recipient's status (RFC 5321 4.2.1: 2yz done, 4yz try again, 5yz fail),
// the backoff written as next_attempt, expiry after the queue lifetime (RFC 5321
// 4.5.4.1), and which recipients each trigger takes (delivery modes, issue 3 s. 5).
#include "delivery/scheduler.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using namespace mxg::delivery;
using mxg::queue::envelope;
using mxg::queue::rcpt_status;

namespace {

const auto kT0 = std::chrono::sys_seconds{std::chrono::seconds{1'800'000'000}};

envelope make(std::initializer_list<const char*> rcpts) {
  envelope e;
  e.created = kT0;
  e.sender = "drj@drj.test";
  for (auto r : rcpts) e.recipients.push_back({r, rcpt_status::pending, "", std::nullopt});
  return e;
}

rcpt_result rr(const char* addr, int code, const char* reply) {
  return {addr, code, reply};
}

}  // namespace

TEST(ApplyResults, StatusPerReplyClass) {
  auto e = make({"a@x.test", "b@x.test", "c@x.test", "d@x.test"});
  retry_policy p;
  auto failed = apply_results(e,
                              {{0, rr("a@x.test", 250, "250 2.0.0 Ok")},
                               {1, rr("b@x.test", 450, "450 4.2.0 busy")},
                               {2, rr("c@x.test", 550, "550 5.1.1 unknown")}},
                              kT0 + 10s, p);
  EXPECT_EQ(failed, (std::vector<std::size_t>{2}));
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.recipients[0].status, rcpt_status::delivered);
  EXPECT_EQ(e.recipients[0].reply, "250 2.0.0 Ok");
  EXPECT_EQ(e.recipients[1].status, rcpt_status::deferred);
  ASSERT_TRUE(e.recipients[1].next_attempt);
  EXPECT_EQ(*e.recipients[1].next_attempt, kT0 + 10s + 5min);  // first retry after 5 min
  EXPECT_EQ(e.recipients[2].status, rcpt_status::failed);
  EXPECT_EQ(e.recipients[3].status, rcpt_status::pending);  // not attempted: unchanged
  ASSERT_TRUE(e.next_attempt);
  EXPECT_EQ(*e.next_attempt, kT0 + 10s + 5min);
  EXPECT_FALSE(e.done());

  // Second attempt of b: deferred again, twice the delay.
  failed = apply_results(e, {{1, rr("b@x.test", 421, "421 4.4.2 closing")}}, kT0 + 1h, p);
  EXPECT_TRUE(failed.empty());
  EXPECT_EQ(*e.recipients[1].next_attempt, kT0 + 1h + 10min);
  // A local failure without any reply (code 0) is temporary.
  failed = apply_results(e, {{3, rr("d@x.test", 451, "451 4.4.1 cannot connect")}}, kT0 + 2h, p);
  EXPECT_TRUE(failed.empty());
  EXPECT_EQ(e.recipients[3].status, rcpt_status::deferred);
  EXPECT_EQ(*e.recipients[3].next_attempt, kT0 + 2h + 20min);
}

TEST(ApplyResults, ExpiryFailsEveryDeferredRecipient) {
  auto e = make({"a@x.test", "b@x.test", "c@x.test"});
  retry_policy p;  // 5 days
  apply_results(e, {{0, rr("a@x.test", 450, "450 4.2.0 busy")}, {1, rr("b@x.test", 250, "250 ok")}},
                kT0 + 1h, p);
  e.recipients[2].status = rcpt_status::deferred;  // deferred earlier, not due now
  auto failed =
      apply_results(e, {{0, rr("a@x.test", 451, "451 4.3.0 still busy")}}, kT0 + 5 * 24h + 1s, p);
  EXPECT_EQ(failed, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(e.recipients[0].status, rcpt_status::failed);
  EXPECT_NE(e.recipients[0].reply.find("451 4.3.0 still busy"), std::string::npos);
  EXPECT_NE(e.recipients[0].reply.find("gave up"), std::string::npos);
  EXPECT_EQ(e.recipients[1].status, rcpt_status::delivered);
  EXPECT_EQ(e.recipients[2].status, rcpt_status::failed);
  EXPECT_FALSE(e.next_attempt);
  EXPECT_TRUE(e.done());
}

TEST(RecipientDue, ByTrigger) {
  using mxg::queue::recipient;
  const auto now = std::chrono::system_clock::time_point{kT0.time_since_epoch()};
  struct Case {
    rcpt_status st;
    std::optional<std::chrono::sys_seconds> next;
    bool immediate, periodic, manual;
  } cases[] = {
      {rcpt_status::pending, std::nullopt, true, true, true},
      {rcpt_status::deferred, kT0 - 1s, true, true, true},
      {rcpt_status::deferred, kT0, true, true, true},
      {rcpt_status::deferred, kT0 + 1s, false, false, true},  // backoff; a queue run ignores it
      {rcpt_status::deferred, std::nullopt, true, true, true},
      {rcpt_status::delivered, std::nullopt, false, false, false},
      {rcpt_status::failed, std::nullopt, false, false, false},
  };
  for (const auto& c : cases) {
    recipient r{"a@x.test", c.st, "", c.next};
    EXPECT_EQ(recipient_due(r, trigger::immediate, now), c.immediate);
    EXPECT_EQ(recipient_due(r, trigger::periodic_run, now), c.periodic);
    EXPECT_EQ(recipient_due(r, trigger::manual_run, now), c.manual);
  }
}
