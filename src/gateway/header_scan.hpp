// header_scan.hpp: a bounded scan of a message's header block (RFC 5322 2.2, 3.6.4,
// 3.6.5) for the facts the history keeps: Message-ID and Subject.
// Folded fields (RFC 5322 2.2.3: CRLF followed by WSP) are unfolded; LF-only line ends
// are accepted. Only the first `cap` bytes are looked at; a field cut by the cap is
// ignored, and the scan stops at the empty line that ends the header block.
// Security: the input is peer data. Nothing is copied beyond the cap, values are capped
// (kHeaderValueMax) and control bytes in them become spaces; nothing here throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mxg::gateway {

inline constexpr std::size_t kHeaderScanMax = 64 * 1024;  // bytes of header block scanned
inline constexpr std::size_t kHeaderValueMax = 998;       // RFC 5322 2.1.1 line limit

struct header_facts {
  std::string message_id;  // without the angle brackets; "" when absent
  std::string subject;     // unfolded, trimmed; "" when absent
  bool complete = false;   // the end of the header block was seen within the cap
};

header_facts scan_headers(std::string_view message, std::size_t cap = kHeaderScanMax);

}  // namespace mxg::gateway
