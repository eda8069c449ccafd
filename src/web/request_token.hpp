// request_token.hpp: the recipient's release-request link of the quarantine digest
// (issue 11): `URL/request/ID?rcpt=ADDRESS&t=TOKEN`, where TOKEN is HMAC-SHA256
// (OpenSSL) under a key of this installation over the quarantine id and the recipient
// (lower case), as lower-case hex. The digest (src/cli/quarantine_digest.cpp) mints the
// links; the console (console.cpp, /request/ID) checks them.
// Security: the link is a capability for one thing only: to see the sender, subject
// and date of that one message and to file a release request for it that an admin
// must approve. It signs nobody in and shows no body. A token for another id or
// another recipient does not verify (compared in constant time). The key is 32 random
// bytes in <state_dir>/console-request.key (mode 0600, made on first use by whichever
// of the server and the digest comes first); deleting the file revokes every link.
// The query and form values reaching here are untrusted: ids are checked with
// queue_id::valid, the recipient's length is capped, the token must be 64 hex digits
// (fuzzed by fuzz/web_request_token.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mxg::web {

inline constexpr const char* kRequestKeyFile = "console-request.key";
inline constexpr std::size_t kRequestKeyBytes = 32;
inline constexpr std::size_t kRequestTokenHex = 64;  // HMAC-SHA256 as hex
inline constexpr std::size_t kRecipientMax = 320;    // RFC 5321 4.5.3.1: 64 + 1 + 255

// The key of <state_dir>/console-request.key, made (0600, O_EXCL: two processes
// starting at once make one) when missing. errc::io_error with the path.
result<std::string> load_or_create_request_key(const std::string& state_dir);

// The token of (queue id, recipient) under `key`: 64 lower-case hex digits.
std::string request_token(std::string_view key, std::string_view queue_id,
                          std::string_view recipient);

// True when `token` is the token of (queue_id, recipient): a valid queue id, a
// recipient of at most kRecipientMax bytes, 64 hex digits (either case), the HMAC equal
// in constant time. Never throws, whatever the input.
bool request_token_ok(std::string_view key, std::string_view queue_id, std::string_view recipient,
                      std::string_view token);

// The link: base (no trailing slash) + "/request/ID?rcpt=" + the percent-encoded
// recipient + "&t=" + the token.
std::string request_link(std::string_view base, std::string_view key, std::string_view queue_id,
                         std::string_view recipient);

// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view s);

// True when `recipient` is one of `recipients` (comma separated, as the quarantine
// index stores them), compared case-insensitively (ASCII).
bool is_recipient(std::string_view recipients, std::string_view recipient);

}  // namespace mxg::web
