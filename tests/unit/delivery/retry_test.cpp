// Backoff schedule and queue lifetime (src/delivery/retry.hpp). Expected values are
// the schedule the issue asks for: 5m, 10m, 20m, ... capped at 1h; 5 days lifetime
// (RFC 5321 4.5.4.1: give up after at least 4-5 days).
#include "delivery/retry.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using mxg::delivery::parse_duration;
using mxg::delivery::retry_policy;

TEST(Retry, DefaultScheduleDoublesUpToOneHour) {
  retry_policy p;
  struct Case {
    int attempts;
    std::chrono::seconds delay;
  } cases[] = {
      {0, 5min},  {1, 5min},  {2, 10min},  {3, 20min},       {4, 40min},
      {5, 60min}, {6, 60min}, {50, 60min}, {1000000, 60min},
  };
  for (const auto& c : cases) EXPECT_EQ(p.delay_after(c.attempts), c.delay) << c.attempts;
}

TEST(Retry, CustomSchedules) {
  retry_policy tripling{30s, 3, 10min, 1h};
  EXPECT_EQ(tripling.delay_after(1), 30s);
  EXPECT_EQ(tripling.delay_after(2), 90s);
  EXPECT_EQ(tripling.delay_after(3), 270s);
  EXPECT_EQ(tripling.delay_after(4), 10min);  // 810 s capped at 600 s
  retry_policy constant{15min, 1, 15min, 24h};
  EXPECT_EQ(constant.delay_after(7), 15min);
  EXPECT_TRUE(constant.validate());
  EXPECT_FALSE((retry_policy{0s, 2, 1h, 1h}.validate()));
  EXPECT_FALSE((retry_policy{10min, 2, 5min, 1h}.validate()));
  EXPECT_FALSE((retry_policy{10min, 0, 1h, 1h}.validate()));
}

TEST(Retry, LifetimeDefaultsToFiveDays) {
  retry_policy p;
  using tp = std::chrono::sys_seconds;
  tp created{std::chrono::seconds{1'800'000'000}};
  EXPECT_FALSE(p.expired(created, created));
  EXPECT_FALSE(p.expired(created, created + 5 * 24h - 1s));
  EXPECT_TRUE(p.expired(created, created + 5 * 24h));
  EXPECT_TRUE(p.expired(created, created + 30 * 24h));
}

TEST(Retry, ParsesDurations) {
  struct Case {
    const char* in;
    long long seconds;  // -1: error
  } cases[] = {
      {"30", 30}, {"30s", 30}, {"5m", 300}, {"1h", 3600}, {"5d", 432000}, {"0", 0},
      {"", -1},   {"m", -1},   {"5x", -1},  {"-5m", -1},  {"5 m", -1},    {"99999999999d", -1},
  };
  for (const auto& c : cases) {
    auto d = parse_duration(c.in);
    if (c.seconds < 0) {
      EXPECT_FALSE(d) << c.in;
    } else {
      ASSERT_TRUE(d) << c.in;
      EXPECT_EQ(d->count(), c.seconds) << c.in;
    }
  }
}
