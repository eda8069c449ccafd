// report_arf.hpp: reading failure reports: the Abuse Reporting Format (RFC 5965), with
// the authentication-failure fields of RFC 6591 that DMARC failure reports use
// (RFC 9991). One message/feedback-report part is read into fields; the returned part
// (message/rfc822 or text/rfc822-headers, RFC 5965 2) gives the original's header.
// Security: the message is a stranger's: read through GMime and the one RFC 5322 header
// reader (mail/header.hpp); sizes capped (kReportFileMax per message, kArfFieldsMax
// fields, kReportFieldMax per value, kReportMimeDepthMax nesting). Nothing is fetched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::dmarc {

inline constexpr std::size_t kArfFieldsMax = 1000;         // fields of one feedback-report part
inline constexpr std::size_t kArfHeadersMax = 256u << 10;  // the original's header kept

struct arf_report {
  // RFC 5965 3.1 (required): Feedback-Type, User-Agent, Version.
  std::string feedback_type;  // lower case: abuse | fraud | virus | other | not-spam | auth-failure
  std::string user_agent;
  std::string version;
  // RFC 5965 3.2 (optional, once).
  std::optional<std::int64_t> arrival_date;  // Arrival-Date (or the draft's Received-Date)
  std::string original_envelope_id, original_mail_from, reporting_mta, source_ip;
  std::int64_t incidents = 1;  // Incidents: absent = 1 (RFC 5965 3.2)
  // RFC 5965 3.2 (optional, any number).
  std::vector<std::string> authentication_results, original_rcpt_to, reported_domain, reported_uri;
  // RFC 6591 3.1/3.2 (authentication failures; RFC 9991).
  std::string auth_failure, delivery_result, dkim_domain, dkim_identity, dkim_selector,
      dkim_canonicalized_header, dkim_canonicalized_body, dkim_selector_dns, spf_dns,
      identity_alignment;
  // The returned header: a text/rfc822-headers part's text (RFC 5965 2 (c)); or, when
  // the original came whole as message/rfc822, that message's header.
  std::string original_headers;
  bool original_message = false;  // the original came as message/rfc822
};

// Parses a whole ARF message. errc::parse_error when it has no message/feedback-report
// part or that part lacks Feedback-Type.
result<arf_report> parse_arf(std::string_view message);

}  // namespace mxg::dmarc
