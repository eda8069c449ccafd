// text.hpp: small string helpers of the bounce parser (internal to src/ndr):
// case folding, trimming, line splitting, address and code extraction.
// Pure functions over untrusted text: bounded loops, no allocation beyond results.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mxg::ndr::text {

std::string lower(std::string_view s);
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
// Case-insensitive search; npos when absent.
std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from = 0);
inline bool icontains(std::string_view hay, std::string_view needle) {
  return ifind(hay, needle) != std::string_view::npos;
}
// Pattern of pieces separated by '*': every piece must occur, in order
// ("mailbox * full"). `hay` must already be lower case; pattern is lower case.
bool aligned(std::string_view hay, std::string_view pattern);

// Converts CRLF and lone CR line ends to LF.
std::string normalize_newlines(std::string_view s);
std::vector<std::string_view> split_lines(std::string_view s);
// Collapses runs of white space to one space and trims.
std::string squeeze(std::string_view s);

// Extracts e-mail addresses (local@domain) from a line, in order. Handles
// <addr>, "rfc822;addr", quoted local parts are not supported (rare in NDRs).
std::vector<std::string> find_addresses(std::string_view s);
// Cleans an address token: strips "rfc822;", <>, quotes, trailing dots/colons.
std::string clean_address(std::string_view s);
bool looks_like_address(std::string_view s);

// RFC 3463 enhanced status code ("5.1.1") in text; empty when none. Skips
// things that look like IP addresses or version numbers.
std::string find_status(std::string_view s);
// The last such code in the text (transcripts end with the reply that failed).
std::string find_last_status(std::string_view s);
// SMTP reply code (RFC 5321 4.2.3) in text: a 2xx/4xx/5xx number standing alone.
std::string find_reply_code(std::string_view s);
// The SMTP command named in an error text ("in reply to RCPT TO command",
// "after end of data", "MAIL FROM", ...): CONN, HELO, EHLO, MAIL, RCPT, DATA or "".
std::string find_command(std::string_view s);

// IPv4/IPv6 literal inside [..] or (..) of a Received header; empty when none.
std::string find_ip(std::string_view s);

}  // namespace mxg::ndr::text
