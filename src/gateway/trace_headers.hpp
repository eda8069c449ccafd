// trace_headers.hpp: the header fields the gateway adds to a message and the one it
// removes.
//   - Received (RFC 5321 4.4 time-stamp line; RFC 3848 "with" keywords);
//   - Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 9.1) come from
//     policy/spf_policy.hpp; they are written above our Received field;
//   - auth_results_filter: arriving Authentication-Results fields that claim our
//     authserv-id are removed (RFC 8601 5), streaming, over the message's header only.
// Security: every value from the client is cleaned (no CR/LF, controls, parentheses);
// the filter keeps at most one header field in memory (kFilterFieldMax) and never
// grows with the body.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mxg::gateway {

// RFC 5322 3.3 date-time in local time with a numeric zone.
std::string rfc5322_now();

// Peer text made printable for a header comment or log field (no CR/LF, no controls,
// no parentheses, quotes or backslashes), at most `max` bytes. Octets above 0x7f become
// '?' too (a 7bit/8BITMIME message's header is ASCII, RFC 5322 2.2 / RFC 6152), unless
// `utf8` (an SMTPUTF8 message, RFC 6532 3.2) and `s` is well-formed UTF-8.
std::string clean(std::string_view s, std::size_t max = 255, bool utf8 = false);

struct received_info {
  std::string helo, rdns_name, client_ip, hostname, queue_id;
  bool esmtp = false;
  bool tls = false;
  std::string tls_version, tls_cipher;
  int tls_bits = 0;
  std::string for_recipient;  // the one recipient, or ""
  bool utf8 = false;          // SMTPUTF8 message: UTF-8 allowed in the field (RFC 6532)
};
// "Received: ...\r\n" (folded, CRLF-terminated).
std::string received_header(const received_info& r);

inline constexpr std::size_t kFilterFieldMax = 64 * 1024;

// Removes the header fields "Authentication-Results:" whose authserv-id is ours from a
// message streamed through feed(); the body passes untouched. finish() at the end.
// The output does not depend on how the message is split into feed() calls. A field
// longer than kFilterFieldMax (folded, or one long line) is not held: if it is an
// Authentication-Results field it is dropped whatever its id (RFC 8601 5 allows removing
// every instance), else passed on byte-exact; the fields after it are filtered as usual.
// A line without a colon in its first kFilterFieldMax bytes ends the header section.
class auth_results_filter {
 public:
  explicit auth_results_filter(std::string authserv_id) : id_(std::move(authserv_id)) {}
  void feed(std::string_view in, std::string& out);
  void finish(std::string& out);
  std::size_t removed() const { return removed_; }

 private:
  void line(std::string&& text, std::string& out);
  void oversized(std::string& out);
  void end_field(std::string& out);
  std::string id_;
  bool in_header_ = true;
  std::string line_;           // partial line
  std::string field_;          // current header field (with its continuation lines)
  bool dropping_ = false;      // an oversized field being dropped (continuations too)
  bool passing_ = false;       // an oversized field being passed (continuations too)
  bool rest_of_line_ = false;  // inside a line longer than kFilterFieldMax
  std::size_t removed_ = 0;
};

}  // namespace mxg::gateway
