// envelope.hpp: a queued message's envelope and its control file, the text file
// that commits the message (docs/queue.md has the format and an example).
//
// The control file is human readable, one `key: value` line per field, LF ends:
//   mxguard-queue: 1
//   id: 00661A2B3C4D5A3F9C
//   created: 2026-11-28T03:16:40Z
//   sender: drj@drj.test                    (the null reverse-path is written `<>`)
//   recipient: pending user@drj.test
//   recipient: deferred other@x.test 2026-11-28T03:46:40Z 451 4.4.1 no answer
//   ...
//   end: 00661A2B3C4D5A3F9C
// The first line names the format version, the last line repeats the id: a file
// without that end marker (truncated, half-written, or someone else's) is refused.
//
// Security: values come from SMTP peers (addresses, HELO, reply texts) and are
// hostile. Every value is escaped when written: '\\' -> "\\\\", CR -> "\\r",
// LF -> "\\n", TAB -> "\\t", other bytes < 0x20 and 0x7F -> "\\xHH" (and space in
// the address token of a recipient line -> "\\x20"), so no value can start a new
// line or a new field. The parser is strict (fuzzed: fuzz/queue_control.cpp): any
// line it does not understand, a duplicate field, a bad escape, an oversized file or
// a missing end marker is an error naming the line number; it never guesses.
// Bytes >= 0x80 are kept as they are (SMTPUTF8 addresses, RFC 6531).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "queue/queue_id.hpp"

namespace mxg::queue {

using time_point = std::chrono::sys_seconds;  // control files keep whole seconds (UTC)

inline constexpr int kControlFormatVersion = 1;
inline constexpr std::size_t kControlFileMax = 4 * 1024 * 1024;  // refuse larger files
inline constexpr std::size_t kControlLineMax = 64 * 1024;        // one escaped line
inline constexpr std::size_t kControlRecipientsMax = 100000;     // sanity cap per message

// How the message leaves the queue (issue 3, section 5): per listener, per message.
enum class delivery_mode {
  deliver,    // now, and queue on temporary failure
  queueonly,  // only on queue runs (periodic or `mxguard queue run`)
  hold,       // capture: never delivered until released
};
const char* to_string(delivery_mode m) noexcept;
result<delivery_mode> parse_delivery_mode(std::string_view s);

// Body type announced in MAIL FROM (RFC 6152 BODY=8BITMIME, RFC 3030 BODY=BINARYMIME).
enum class body_type { seven_bit, eight_bit_mime, binary_mime };
const char* to_string(body_type b) noexcept;  // "7bit", "8bitmime", "binarymime"
result<body_type> parse_body_type(std::string_view s);

enum class rcpt_status {
  pending,    // not yet tried (or released again)
  delivered,  // accepted by the next hop: reply holds its 250 line
  failed,     // permanently refused (5yz) or expired: reply holds why; a DSN is due
  deferred,   // temporary failure (4yz): reply holds why, next_attempt when to retry
};
const char* to_string(rcpt_status s) noexcept;

struct recipient {
  std::string address;  // forward-path mailbox without the angle brackets, as received
  rcpt_status status = rcpt_status::pending;
  std::string reply;  // last reply from the next hop, e.g. "250 2.0.0 Ok" (may be empty)
  std::optional<time_point>
      next_attempt;  // deferred: when to retry (written as `created` if unset)
  bool operator==(const recipient&) const = default;
};

struct envelope {
  queue_id id;
  time_point created{};
  std::string sender;  // reverse-path mailbox without brackets; empty = null sender <>
  std::vector<recipient> recipients;

  // Where it came from (for Received, logs and `queue show`).
  std::string client_ip;    // textual IPv4/IPv6 address of the SMTP client
  std::string client_name;  // verified reverse DNS name, or empty
  std::string helo;         // EHLO/HELO argument as given
  std::string listener;     // name of the listener that accepted it
  std::string session;      // session id of the log lines ("sid="), may be empty

  delivery_mode mode = delivery_mode::deliver;
  int attempts = 0;                        // delivery attempts made so far
  std::optional<time_point> next_attempt;  // earliest time of the next queue run for it
  std::uint64_t size = 0;                  // bytes of the data file (checked by the scanner)
  body_type body = body_type::seven_bit;
  bool smtputf8 = false;  // RFC 6531 SMTPUTF8 given in MAIL FROM

  // Fields for other modules, written as "x-<name>: value" (name: [a-z0-9-]+), kept in
  // order; e.g. DSN parameters (RFC 3461 ret/envid) or TLS details. Keys are without "x-".
  std::vector<std::pair<std::string, std::string>> extra;

  bool operator==(const envelope&) const = default;

  // Helpers for delivery: recipients still to try (pending or deferred).
  bool done() const noexcept;  // every recipient delivered or failed
  const std::string* find_extra(std::string_view key) const noexcept;
  void set_extra(std::string_view key, std::string value);
};

// Header fields that go on top of the data file's message, decided after the data file
// was written (our Authentication-Results with the DKIM/DMARC/ARC results, RFC 8601 5:
// known only at the end of the message, while the message streams to the data file).
// Kept in the control file as "x-prepend"; every reader of a message for delivery or
// display uses message_text(), so the message is the same wherever it is read.
inline constexpr std::string_view kPrependExtra = "prepend";
// The message as delivered: the x-prepend fields (CRLF-terminated) then `data`.
std::string message_text(const envelope& env, std::string data);

// Writes the control file text. Requires a valid id; never fails (escapes everything).
std::string format_control(const envelope& env);

// Parses a control file; refuses anything malformed. Errors are errc::parse_error
// with a message "line N: ..." (line numbers from 1).
result<envelope> parse_control(std::string_view text);

// Value escaping used by the control file (exposed for tests and `queue show`).
// escape_value(v, true) also escapes space (for the address token of recipient lines).
std::string escape_value(std::string_view v, bool escape_space = false);
result<std::string> unescape_value(std::string_view v);

// RFC 3339 UTC timestamps with whole seconds: "2026-11-28T03:16:40Z".
std::string format_time(time_point t);
result<time_point> parse_time(std::string_view s);

}  // namespace mxg::queue
