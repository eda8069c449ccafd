// bounce_info.hpp: the top-level header facts of a bounce message that the parser's
// records (ndr.hpp) do not carry: who the bounce was addressed to (X-Original-To,
// Delivered-To, To) and when it was made (Date:, else the DSN's Last-Attempt-Date or
// Arrival-Date, RFC 3464 2.3.7 / 2.2.5). Parsing only: whether a bounce is backscatter
// is judged in policy/backscatter.hpp.
// Security: the message is untrusted; only the first kHeaderScanBytes of the header
// block are looked at and nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ndr/ndr.hpp"

namespace mxg::ndr {

// Bytes of the top-level header block looked at by describe().
inline constexpr std::size_t kHeaderScanBytes = 64 * 1024;

struct bounce_info {
  record rec;
  std::string ndr_to;         // who the bounce was addressed to (To:/Delivered-To of the NDR)
  std::int64_t ndr_time = 0;  // Date: of the NDR (Unix seconds), 0 if unknown
};

// Top-level header facts of a bounce message for one of its records.
bounce_info describe(const record& r, std::string_view raw_message);

}  // namespace mxg::ndr
