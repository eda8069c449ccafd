// time.cpp: see time.hpp.
#include "base/time.hpp"

#include <fmt/format.h>

#include <cstdlib>

namespace mxg::base {

namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

std::string rfc5322_date(std::int64_t unix_time, bool utc) {
  std::time_t tt = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  long off = 0;
  if (utc) {
    ::gmtime_r(&tt, &tm);
  } else {
    ::localtime_r(&tt, &tm);
    off = tm.tm_gmtoff;
  }
  const long mins = std::labs(off) / 60;
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} {}{:02d}{:02d}",
                     kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', mins / 60, mins % 60);
}

std::string rfc5322_now(bool utc) {
  return rfc5322_date(static_cast<std::int64_t>(std::time(nullptr)), utc);
}

std::string iso8601_utc(std::int64_t unix_time) {
  std::time_t tt = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace mxg::base
