// ndr.hpp: bounce (non-delivery report) parser: one record per failed recipient.
// Decodes RFC 3464 delivery status notifications (multipart/report, RFC 6522),
// ARF feedback reports (RFC 5965), RFC 3834 auto-replies and the free-text
// formats of common MTAs/providers (data-driven rules in text_rules.cpp), and
// classifies each failure into the Sisimai reason vocabulary (classify.hpp).
//
// Security: every input is untrusted. The parser never throws on input, bounds
// the size it looks at (limits below) and only reads; no network, no files.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::ndr {

// Inputs larger than this are cut (the useful part of a bounce is at its start).
inline constexpr std::size_t kMaxMessageBytes = 4 * 1024 * 1024;
// MIME nesting we descend into; deeper parts are ignored.
inline constexpr int kMaxMimeDepth = 16;
// Records reported for one message (a DSN may list many recipients).
inline constexpr std::size_t kMaxRecordsPerMessage = 1000;
// Text looked at for the error section of a free-text bounce.
inline constexpr std::size_t kMaxBodyScanBytes = 256 * 1024;

struct record {
  // --- the failure (RFC 3464 section 2.3 per-recipient fields, or decoded text)
  std::string recipient;           // Final-Recipient address (lower-cased domain kept as sent)
  std::string original_recipient;  // Original-Recipient, when present
  std::string status;              // RFC 3463 code; Sisimai-style x.0.9xx pseudo code if none
  bool status_pseudo = false;      // true: status derived from the reason, not in the message
  std::string reply_code;          // SMTP reply code (RFC 5321 4.2), e.g. "550"
  std::string reason;              // reason class (classify.hpp vocabulary)
  std::string diagnostic;          // Diagnostic-Code text or the MTA's error text
  std::string diagnostic_type;     // "SMTP", "X-Postfix", "X-Unix", ...
  std::string action;              // failed, delayed, delivered, relayed, expanded
  std::string smtp_command;        // command that failed: CONN, HELO/EHLO, MAIL, RCPT, DATA
  std::string reporting_mta;       // Reporting-MTA (section 2.2.2) or the bouncing host
  std::string remote_mta;          // Remote-MTA (section 2.3.5) or host named in the text
  std::string arrival_date;        // Arrival-Date (2.2.5)
  std::string last_attempt_date;   // Last-Attempt-Date (2.3.7)
  std::string feedback_type;       // ARF Feedback-Type (RFC 5965 3.1) for reason "feedback"
  std::string producer;            // which decoder produced the record (rfc3464, exim, ...)
  // --- from the returned original message (or its headers)
  std::string original_sender;      // envelope sender / From of the original
  std::string original_to;          // To of the original
  std::string original_subject;     // decoded Subject
  std::string original_message_id;  // without angle brackets
  std::string original_date;
  std::string original_client_host;  // host that handed the original to the bouncing system
  std::string original_client_ip;    // ... and its IP (topmost Received "from" clause)
  // --- where it came from
  std::string file;
  // --- which rule decided each field (instrumentation: the conformance runner
  // counts in how many MTA families each rule fires; not printed by `ndr parse`)
  std::string recipient_rule;  // "dsn:final-recipient", "text:label:recipient:", ...
  std::string status_rule;     // "dsn", "diagnostic", "pseudo"
  std::string reason_rule;     // "status:5.1.1", "phrase:mailboxfull:over quota", ...
};

// Parses one message (any line ending: LF, CRLF or CR). Returns the failed
// recipients; an empty vector when the message is not a bounce. Never throws.
std::vector<record> parse_message(std::string_view raw);

// Initializes GMime once per process (safe to call many times).
void init_mime();

// One message of an input: its bytes and a name for the `file` field.
struct input_message {
  std::string name;
  std::string data;
};

// Splits an mbox (RFC 4155: a "From " line with a date, after a blank line or
// at the start, opens each message) into messages; a file without separators
// is one message.
std::vector<std::string> split_mbox(std::string_view data);
// split_mbox(), but always at least the input itself (for parsing a file).
std::vector<std::string> split_messages(std::string_view data);

// Reads PATH: a file (.eml or mbox), a Maildir or any directory (recursive),
// or "-" for stdin. Calls `sink` for every message found.
result<std::size_t> read_inputs(const std::string& path,
                                const std::function<void(input_message&&)>& sink);

}  // namespace mxg::ndr
