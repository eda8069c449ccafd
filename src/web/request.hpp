// request.hpp: what the console reads from a browser, parsed by pure functions (fuzzed
// by fuzz/web_request.cpp): the session cookie, the JSON bodies of the API, and the
// helpdesk visibility rule.
// Security: all of it is untrusted input. Bodies are capped by the server
// (kBodyMax) before they get here; JSON is parsed without exceptions and every field's
// type is checked; queue ids are validated (queue_id::valid) before they become paths;
// strings are length-capped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::web {

inline constexpr std::size_t kBodyMax = 256 * 1024;      // request body
inline constexpr std::size_t kIdsMax = 1000;             // ids per release/delete
inline constexpr std::size_t kFieldMax = 4096;           // one string field
inline constexpr std::size_t kCandidateMax = 64 * 1024;  // a pasted [spf] candidate

// The value of cookie `name` in a Cookie header ("a=1; b=2"), RFC 6265 5.4; nullopt
// when absent. Quotes around the value are removed.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

struct login_request {
  std::string user, password;
};
// {"user": "...", "password": "..."}
result<login_request> parse_login(std::string_view body);

// {"ids": ["ID", ...]}: 1..kIdsMax valid queue ids.
result<std::vector<std::string>> parse_ids(std::string_view body, bool allow_empty = false);

// A string field of a JSON object body ("" when absent), at most `max` bytes.
result<std::string> parse_field(std::string_view body, std::string_view field,
                                std::size_t max = kFieldMax);

// An age "7d", "12h", "90m", "30s" or plain seconds, in seconds; nullopt when bad or
// beyond ten years.
std::optional<std::int64_t> parse_age(std::string_view s);

// Case-insensitive substring test (ASCII).
bool contains_ci(std::string_view hay, std::string_view needle);

// The CSRF rule: a request that can change state (any method but GET and HEAD) must
// carry the session's token (`header`, the X-CSRF-Token value), compared in constant
// time; an empty token never matches.
bool csrf_ok(std::string_view method, std::string_view header, std::string_view session_token);

// The domain of an address, lower case ("" when none).
std::string address_domain(std::string_view address);
// A helpdesk user with `domains` sees a quarantined message when every recipient
// (comma separated, as the index stores them) is in one of its domains (exact match,
// case-insensitive): releasing it can never deliver to another domain's user.
bool visible_to(const std::vector<std::string>& domains, std::string_view recipients);

// Header block and body of a message (split at the first empty line); the body capped
// at `max` bytes (truncated set then).
struct message_parts {
  std::string headers, body;
  bool truncated = false;
};
message_parts split_message(std::string_view text, std::size_t max);

}  // namespace mxg::web
