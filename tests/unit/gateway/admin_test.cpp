// The pure parts of the admin API (gateway/admin.hpp): the history search's store query
// and the dashboard's hourly counts. The operations on a running server are tested end to
// end through both adapters (tests/integration/console_api.py, queue_cli.sh,
// quarantine_cli.sh, gateway_ops.py).
#include <gtest/gtest.h>

#include "gateway/admin.hpp"

using namespace mxg::gateway::admin;
using mxg::store::message_record;

namespace {

message_record rec(std::int64_t t, std::string decision, std::string spf, std::string dmarc = "") {
  message_record m;
  m.time = t;
  m.queue_id = "00661A2B3C4D5A3F9C";
  m.client_ip = "192.0.2.7";
  m.sender = "Carol@Soft.test";
  m.recipients = {"u1@local.test", "u2@local.test"};
  m.decision = std::move(decision);
  m.spf_result = std::move(spf);
  m.dmarc_result = std::move(dmarc);
  return m;
}

}  // namespace

TEST(AdminHistory, SearchBecomesOneStoreQueryNewestFirst) {
  // The filters themselves are evaluated by the store, on both backends
  // (tests/unit/store/backend_test.cpp QueryFiltersMatchEveryGivenField).
  history_filter f;
  f.since = 10;
  f.sender = "Carol";
  f.recipient = "u2@";
  f.client_ip = "192.0.2.7";
  f.queue_id = "00661A2B3C4D5A3F9C";
  f.result = "softfail";
  auto q = search_query(f, 5000);
  EXPECT_EQ(q.since, 10);
  EXPECT_EQ(q.until, 5001);  // until 0: up to now, included
  EXPECT_TRUE(q.newest_first);
  EXPECT_EQ(q.limit, 200u);  // the filter's default
  EXPECT_EQ(q.sender, "Carol");
  EXPECT_EQ(q.recipient, "u2@");
  EXPECT_EQ(q.client_ip, "192.0.2.7");
  EXPECT_EQ(q.queue_id, "00661A2B3C4D5A3F9C");
  EXPECT_EQ(q.result, "softfail");
  EXPECT_FALSE(q.dir);  // both directions
  f.until = 70;
  f.limit = 100000;
  q = search_query(f, 5000);
  EXPECT_EQ(q.until, 70);
  EXPECT_EQ(q.limit, kHistorySearchMax);  // capped
  f.limit = 0;
  EXPECT_EQ(search_query(f, 5000).limit, kHistorySearchMax);
}

TEST(AdminDashboard, CountsPerHourByActionSpfAndDmarc) {
  const std::int64_t h0 = 1'800'000'000 - 1'800'000'000 % 3600;
  std::vector<message_record> recs = {
      rec(h0 + 10, "accept", "pass", "pass"),
      rec(h0 + 3599, "quarantine", "softfail"),
      rec(h0 + 3600, "accept", "pass", "pass"),
      rec(h0 + 2 * 3600 + 5, "reject", "fail", "fail"),
      rec(h0 - 1, "accept", "pass"),         // before the first hour
      rec(h0 + 3 * 3600, "accept", "pass"),  // after the last hour
  };
  auto c = count_hourly(recs, h0 + 1234, 3);  // the start is rounded down to the hour
  EXPECT_EQ(c.start, h0);
  EXPECT_EQ(c.hours, 3u);
  using v = std::vector<std::size_t>;
  EXPECT_EQ(c.series["action"]["accept"], (v{1, 1, 0}));
  EXPECT_EQ(c.series["action"]["quarantine"], (v{1, 0, 0}));
  EXPECT_EQ(c.series["action"]["reject"], (v{0, 0, 1}));
  EXPECT_EQ(c.series["spf"]["pass"], (v{1, 1, 0}));
  EXPECT_EQ(c.series["spf"]["softfail"], (v{1, 0, 0}));
  EXPECT_EQ(c.series["dmarc"]["none"], (v{1, 0, 0}));  // not evaluated
  EXPECT_EQ(c.series["dmarc"]["fail"], (v{0, 0, 1}));
}
