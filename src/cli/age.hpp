// age.hpp: "7d", "30d", "12h", "90m", "45s" (a bare number is seconds) as a number of
// seconds, for the --since options of the report commands (quarantine, policy).
// One parser for every duration: delivery::parse_duration (bounded to 100 years).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"
#include "delivery/retry.hpp"

namespace mxg::cli {

inline result<std::int64_t> parse_age(std::string_view text) {
  auto d = delivery::parse_duration(text);
  if (!d) return std::unexpected(d.error());
  return static_cast<std::int64_t>(d->count());
}

}  // namespace mxg::cli
