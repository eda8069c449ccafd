// retry.hpp: when to try a deferred message again, and when to give up.
// RFC 5321 4.5.4.1: the retry interval SHOULD be at least 30 minutes in general, with
// a shorter first retry allowed; give-up time SHOULD be at least 4-5 days. We default
// to exponential backoff 5m, 10m, 20m, 40m, then every 1h, and a 5 day lifetime
// (like Postfix's maximal_queue_lifetime). Pure: time is passed in.
#pragma once

#include <chrono>

#include "base/result.hpp"

namespace mxg::delivery {

inline constexpr std::chrono::seconds kRetryFirstDefault{5 * 60};
inline constexpr std::chrono::seconds kRetryMaxDefault{60 * 60};
inline constexpr std::chrono::seconds kQueueLifetimeDefault{5 * 24 * 3600};  // 5321 4.5.4.1

struct retry_policy {
  std::chrono::seconds first = kRetryFirstDefault;        // delay after the first failed attempt
  unsigned factor = 2;                                    // each further attempt multiplies it
  std::chrono::seconds max = kRetryMaxDefault;            // cap of one delay
  std::chrono::seconds lifetime = kQueueLifetimeDefault;  // give up after this age

  // Delay before the next attempt once `attempts` (>= 1) attempts failed:
  // first * factor^(attempts-1), capped at max. Never overflows.
  std::chrono::seconds delay_after(int attempts) const;
  // True when a message created at `created` is too old to be retried at `now`.
  template <typename TP>
  bool expired(TP created, TP now) const {
    return now - created >= lifetime;
  }
  // Checks the values (first > 0, factor >= 1, max >= first, lifetime > 0).
  result<void> validate() const;
};

// Parses "30s", "5m", "1h", "5d" or a plain number of seconds.
result<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace mxg::delivery
