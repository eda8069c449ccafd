// deadline_test.cpp: the slowloris deadlines (issue 16 item 2) on explicit time points
// (no clock, no waiting). The rules follow Postfix's smtpd_per_request_deadline and
// smtpd_min_data_rate: DATA starts with the timeout, each read of N octets adds
// N / min_rate seconds, never beyond the timeout from now.
#include <gtest/gtest.h>

#include "smtp/deadline.hpp"

namespace mxg::smtp {
namespace {

using namespace std::chrono_literals;
const deadline_clock::time_point t0{};

TEST(SmtpDeadline, TimeLeftRoundsUpAndStopsAtZero) {
  EXPECT_EQ(time_left(t0 + 10s, t0), 10000ms);
  EXPECT_EQ(time_left(t0 + 1us, t0), 1ms);
  EXPECT_EQ(time_left(t0, t0), 0ms);
  EXPECT_EQ(time_left(t0, t0 + 1s), 0ms);
}

// One byte per second against a 500 B/s minimum: 2 ms of credit per byte, so the
// deadline ends up barely later than the plain timeout.
TEST(SmtpDeadline, TricklingClientIsCutOffNearTheTimeout) {
  request_deadline d(t0, 10s, 500);
  auto now = t0;
  int bytes = 0;
  while (!d.expired(now + 1s)) {
    now += 1s;
    d.on_bytes(now, 1);
    ++bytes;
    ASSERT_LT(bytes, 100) << "a trickling client is never cut off";
  }
  EXPECT_EQ(bytes, 10);  // 10 s plus 20 ms of credit
  EXPECT_LT(d.at(), t0 + 10s + 50ms);
}

// Without a minimum rate (min_rate 0) every read restarts the timeout: the old
// per-read behaviour, where the same client is never cut off.
TEST(SmtpDeadline, NoMinimumRateRestartsOnEveryRead) {
  request_deadline d(t0, 10s, 0);
  auto now = t0;
  for (int i = 0; i < 1000; ++i) {
    now += 9s;
    ASSERT_FALSE(d.expired(now));
    d.on_bytes(now, 1);
  }
  EXPECT_EQ(d.at(), now + 10s);
}

// A client at or above the minimum rate keeps going as long as it sends.
TEST(SmtpDeadline, ClientAtTheMinimumRateIsNeverCutOff) {
  request_deadline d(t0, 10s, 500);
  auto now = t0;
  for (int i = 0; i < 10000; ++i) {  // 10000 s at 500 B/s
    now += 1s;
    ASSERT_FALSE(d.expired(now)) << i;
    d.on_bytes(now, 500);
  }
  EXPECT_EQ(d.at(), now + 10s);  // credit covered the time spent each second
  // Then slower than the minimum: the deadline comes nearer with every read.
  for (int i = 0; i < 5; ++i) {
    now += 1s;
    d.on_bytes(now, 250);  // half a second of credit per second
  }
  EXPECT_EQ(d.at(), now + 10s - 5 * 500ms);
}

// Credit never lets silence last longer than the timeout.
TEST(SmtpDeadline, CreditIsCappedAtTheTimeoutFromNow) {
  request_deadline d(t0, 10s, 500);
  d.on_bytes(t0 + 1s, 1'000'000'000'000ULL);  // huge credit: no overflow
  EXPECT_EQ(d.at(), t0 + 11s);
  d.on_bytes(t0 + 2s, ~0ULL);
  EXPECT_EQ(d.at(), t0 + 12s);
}

// data_total: an absolute cap on one request, whatever the rate.
TEST(SmtpDeadline, TotalCapsEvenAFastClient) {
  request_deadline d(t0, 10s, 500, 30s);
  auto now = t0;
  while (!d.expired(now)) {
    d.on_bytes(now, 1'000'000);
    now += 1s;
    ASSERT_LT(now, t0 + 60s);
  }
  EXPECT_EQ(d.at(), t0 + 30s);
  request_deadline short_total(t0, 10s, 500, 5s);
  EXPECT_EQ(short_total.at(), t0 + 5s);
}

}  // namespace
}  // namespace mxg::smtp
