// retry.cpp: backoff schedule and durations (see retry.hpp).
#include "delivery/retry.hpp"

#include <charconv>
#include <string>

namespace mxg::delivery {

std::chrono::seconds retry_policy::delay_after(int attempts) const {
  if (attempts < 1) attempts = 1;
  auto d = first;
  for (int i = 1; i < attempts && d < max; ++i) {
    if (factor <= 1) break;
    d *= factor;  // d < max <= a few days here, so no overflow before the cap applies
  }
  return d < max ? d : max;
}

result<void> retry_policy::validate() const {
  if (first.count() <= 0) return fail(errc::invalid_argument, "retry: first delay must be > 0");
  if (factor < 1) return fail(errc::invalid_argument, "retry: factor must be >= 1");
  if (max < first) return fail(errc::invalid_argument, "retry: max delay must be >= first delay");
  if (lifetime.count() <= 0) return fail(errc::invalid_argument, "retry: lifetime must be > 0");
  return {};
}

result<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return fail(errc::parse_error, "empty duration");
  long long n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || n < 0)
    return fail(errc::parse_error, "invalid duration '" + std::string(text) + "'");
  std::string_view unit(p, text.data() + text.size() - p);
  long long mult = 0;
  if (unit.empty() || unit == "s")
    mult = 1;
  else if (unit == "m")
    mult = 60;
  else if (unit == "h")
    mult = 3600;
  else if (unit == "d")
    mult = 86400;
  else
    return fail(errc::parse_error,
                "invalid duration unit in '" + std::string(text) + "' (s, m, h, d)");
  if (n > 100LL * 365 * 86400 / mult)
    return fail(errc::parse_error, "duration too long '" + std::string(text) + "'");
  return std::chrono::seconds(n * mult);
}

}  // namespace mxg::delivery
