// dsn.hpp: builds RFC 3464 delivery status notifications (bounces) as the text of a
// new message, with the envelope it must be sent with.
//   RFC 3464 2:   multipart/report; report-type=delivery-status (RFC 6522), a human
//                 readable part, a message/delivery-status part, then the returned
//                 content, here headers only as text/rfc822-headers (RFC 6522 4,
//                 RFC 3461 4.3 RET=HDRS, which is also what we default to).
//   RFC 3464 2.2: per-message fields Reporting-MTA, Original-Envelope-Id, Arrival-Date.
//   RFC 3464 2.3: per-recipient Final-Recipient, Action, Status, Remote-MTA,
//                 Diagnostic-Code, Last-Attempt-Date.
//   RFC 5321 4.5.5 / 6.1: a DSN is sent with the null reverse-path <> and is never
//                 sent to the null reverse-path: build_dsn refuses an empty sender.
//   RFC 3834 5:   Auto-Submitted: auto-replied.
// Security: addresses, remote host names and reply texts come from peers. Every value
// placed in a header field is reduced to printable US-ASCII on one line (CR, LF and
// controls replaced) and bounded in length, so a hostile reply cannot add header
// fields or MIME parts. The boundary is chosen not to occur in the returned headers.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::delivery {

inline constexpr std::size_t kDsnFieldValueMax = 900;  // < 998 (RFC 5322 2.1.1) with the name
inline constexpr std::size_t kDsnReturnedHeadersMax = 64 * 1024;  // returned header block cap

struct dsn_recipient {
  std::string address;     // the recipient as in the envelope (Final-Recipient)
  std::string action;      // "failed" or "delayed" (RFC 3464 2.3.3)
  std::string status;      // "5.1.1" (RFC 3463); derived from the reply when empty
  std::string remote_mta;  // host that gave the reply, "" when none was reached
  std::string reply;       // the remote reply or our own reason: "550 5.1.1 No such user"
  std::chrono::system_clock::time_point last_attempt{};
};

struct dsn_input {
  std::string reporting_mta;    // our host name (Reporting-MTA: dns; ...)
  std::string queue_id;         // original queue id (X-Mxguard-Queue-ID, Message-ID)
  std::string envelope_id;      // RFC 3461 ENVID if one was given (Original-Envelope-Id)
  std::string original_sender;  // the original reverse-path: the DSN goes to it
  std::chrono::system_clock::time_point arrival{};  // Arrival-Date
  std::chrono::system_clock::time_point now{};      // Date of the DSN
  std::vector<dsn_recipient> recipients;            // at least one
  std::string original_message;  // the original message (only its header block is used)
};

struct dsn_message {
  std::string sender;     // always "" (the null reverse-path)
  std::string recipient;  // the original sender
  std::string data;       // the whole DSN message, CRLF line ends, no dot-stuffing
};

// Builds the DSN. Errors: invalid_argument when the original sender is the null
// sender (RFC 5321 4.5.5: never bounce a bounce) or there is no recipient.
result<dsn_message> build_dsn(const dsn_input& in);

// RFC 3463 status of a reply: the enhanced code when the reply carries a valid one
// matching its class ("550 5.1.1 ..." -> "5.1.1"), else "<class>.0.0" (RFC 3463 3.1);
// a reply that does not start with a 2xx-5xx code gives "4.0.0".
std::string status_of_reply(std::string_view reply);

// RFC 5322 3.3 date-time in UTC: "Sat, 28 Nov 2026 03:16:40 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point t);

// The header block of a message (up to the first empty line), CRLF line ends, at
// most kDsnReturnedHeadersMax bytes (cut at a line end).
std::string header_block(std::string_view message);

}  // namespace mxg::delivery
