// time_test.cpp: RFC 5322 3.3 date-time and RFC 3339 formats (base/time.hpp); expected
// values from Python's email.utils.formatdate / datetime for the same instants.
#include <gtest/gtest.h>

#include <clocale>
#include <cstdlib>
#include <ctime>

#include "base/time.hpp"

namespace mxg::base {
namespace {

TEST(BaseTime, Rfc5322Utc) {
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(1796514312), "Sat, 05 Dec 2026 23:45:12 +0000");
  EXPECT_EQ(rfc5322_date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");
}

TEST(BaseTime, Iso8601Utc) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(1796514312), "2026-12-05T23:45:12Z");
  EXPECT_EQ(iso8601_utc(951782400), "2000-02-29T00:00:00Z");
}

// Local time carries its numeric zone, east and west of UTC, half hours included.
TEST(BaseTime, Rfc5322LocalZone) {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  ::setenv("TZ", "XXX-5:30", 1);
  ::tzset();
  EXPECT_EQ(rfc5322_date(1796514312, false), "Sun, 06 Dec 2026 05:15:12 +0530");
  ::setenv("TZ", "XXX+3", 1);
  ::tzset();
  EXPECT_EQ(rfc5322_date(1796514312, false), "Sat, 05 Dec 2026 20:45:12 -0300");
  if (old)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
}

// Day and month names are the RFC's, whatever LC_TIME says.
TEST(BaseTime, IndependentOfLocale) {
  if (!std::setlocale(LC_TIME, "fr_FR.UTF-8") && !std::setlocale(LC_TIME, "de_DE.UTF-8"))
    std::setlocale(LC_TIME, "C.UTF-8");
  EXPECT_EQ(rfc5322_date(1796514312), "Sat, 05 Dec 2026 23:45:12 +0000");
  std::setlocale(LC_TIME, "C");
}

}  // namespace
}  // namespace mxg::base
