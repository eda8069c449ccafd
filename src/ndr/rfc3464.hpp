// rfc3464.hpp: parser of the message/delivery-status body (RFC 3464 section 2)
// and of field blocks with the same syntax (ARF message/feedback-report,
// RFC 5965 section 3; text/rfc822-headers).
// A body is groups of "Name: value" fields separated by blank lines: the first
// group holds per-message fields (2.2), each following group per-recipient
// fields (2.3). Real MTAs get this wrong often (no blank lines, no
// per-message group, folded values), so groups are re-cut at every
// Final-Recipient/Original-Recipient that would start a second recipient.
// Security: untrusted input; bounded by the input and kMaxDsnRecipients.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mxg::ndr {

inline constexpr std::size_t kMaxDsnRecipients = 1000;
inline constexpr std::size_t kMaxFieldsPerGroup = 200;

struct field_group {
  std::vector<std::pair<std::string, std::string>> fields;  // name as sent, unfolded value
  // Value of the first field named `name` (case-insensitive), or "".
  std::string get(std::string_view name) const;
  bool has(std::string_view name) const;
};

struct delivery_status {
  field_group per_message;
  std::vector<field_group> recipients;
};

// Parses header-style fields (RFC 5322 2.2 syntax, folded lines unfolded).
// Stops at the first blank line when `one_group` is true.
std::vector<field_group> parse_field_groups(std::string_view body);

delivery_status parse_delivery_status(std::string_view body);

// "rfc822; user@example.org" -> "user@example.org"; "dns; mx.example.org" ->
// "mx.example.org"; "smtp; 550 5.1.1 ..." -> "550 5.1.1 ..." (RFC 3464 2.1.2
// type-prefixed values). `type` receives the prefix when not null.
std::string strip_type(std::string_view value, std::string* type = nullptr);

}  // namespace mxg::ndr
