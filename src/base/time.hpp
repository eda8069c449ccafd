// time.hpp: the date formats of the mail RFCs, once, locale-independent (no strftime
// %a/%b, which follow LC_TIME).
//   rfc5322_date(t, utc)  "Sat, 05 Dec 2026 23:36:12 +0000" (RFC 5322 3.3 date-time;
//                         local time with its numeric zone when !utc)
//   iso8601_utc(t)        "2026-12-05T23:36:12Z" (RFC 3339 5.6; queue envelopes, CLI)
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace mxg::base {

std::string rfc5322_date(std::int64_t unix_time, bool utc = true);
std::string rfc5322_now(bool utc = false);
std::string iso8601_utc(std::int64_t unix_time);

}  // namespace mxg::base
