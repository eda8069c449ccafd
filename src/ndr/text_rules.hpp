// text_rules.hpp: decoder of free-text bounces (no message/delivery-status part):
// qmail, Exim, Postfix/Sendmail transcripts, Exchange, Gmail, Yahoo, Courier,
// Notes/Domino, OpenSMTPD, ... The producer-specific knowledge is data
// (text_rules.cpp: markers that open the error section and the returned
// message, phrases that identify the producer); one generic line scanner uses it.
// Security: untrusted text; scans are linear and bounded by kMaxBodyScanBytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ndr/ndr.hpp"

namespace mxg::ndr {

struct text_input {
  std::string_view from;                       // From: of the bounce
  std::string_view subject;                    // Subject: of the bounce (decoded)
  std::string_view to;                         // To: of the bounce (the original sender)
  std::string_view body;                       // decoded text of the notification (LF line ends)
  std::vector<std::string> failed_recipients;  // X-Failed-Recipients header values
};

struct text_result {
  std::vector<record> records;
  std::string producer;
  std::string reporting_mta;
  // The returned original message (headers, maybe body) cut out of `body`, or "".
  std::string_view original;
};

// Does the message look like a bounce at all (From/Subject/body markers)?
bool looks_like_bounce(const text_input& in);

text_result parse_text_bounce(const text_input& in);

// Remote host named in an error text ("host mx.example.org[192.0.2.1] said:").
std::string find_remote_host(std::string_view diag);

// Finds where a returned message starts inside `body` (after a marker line or
// at a block of header lines); npos when none.
std::size_t find_original_start(std::string_view body);

}  // namespace mxg::ndr
