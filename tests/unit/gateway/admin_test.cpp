// The pure parts of the admin API (gateway/admin.hpp): the history search filter and
// the dashboard's hourly counts. The operations on a running server are tested end to
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

TEST(AdminHistory, FilterMatchesEveryGivenField) {
  auto m = rec(100, "quarantine", "softfail", "fail");
  auto with = [](std::string history_filter::*field, const char* value) {
    history_filter f;
    f.*field = value;
    return f;
  };
  using F = history_filter;
  struct row {
    history_filter f;
    bool want;
    const char* what;
  } rows[] = {
      {F{}, true, "no filter"},
      {with(&F::sender, "carol@soft"), true, "sender substring, any case"},
      {with(&F::sender, "dave"), false, "other sender"},
      {with(&F::recipient, "U2@LOCAL"), true, "any recipient, any case"},
      {with(&F::recipient, "u3@"), false, "no such recipient"},
      {with(&F::client_ip, "192.0.2.7"), true, "client ip exact"},
      {with(&F::client_ip, "192.0.2.70"), false, "client ip is not a prefix match"},
      {with(&F::queue_id, "00661A2B3C4D5A3F9C"), true, "queue id"},
      {with(&F::queue_id, "00661A2B3C4D5A3F9"), false, "queue id exact"},
      {with(&F::result, "quarantine"), true, "decision"},
      {with(&F::result, "softfail"), true, "spf result"},
      {with(&F::result, "FAIL"), true, "dmarc result, any case"},
      {with(&F::result, "reject"), false, "other result"},
  };
  for (const auto& r : rows) EXPECT_EQ(matches(m, r.f), r.want) << r.what;
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
