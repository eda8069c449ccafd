// dmarc_report.hpp: DMARC aggregate reports (RFC 9990) from the history, pure logic
// (no I/O): the records the gateway stored (store::message_record, issue 10 fields)
// become one dmarc::feedback per policy domain (RFC 9990 "Handling Domains in Reports":
// one report per Policy Domain, a record per RFC5322.From domain under it).
//
// Which messages: inbound, time in [since, until), evaluated by DMARC with a policy
// record found (dmarc_policy_domain set: without one there is no Domain Owner to report
// to). Messages answered with a tempfail are left out: the sender retries and the retry
// is what gets counted. So are records without a parseable client IP (source_ip is
// required, RFC 9990 appendix A); addresses are written in one canonical form.
// Rows: one per (source IP, disposition, DMARC-aligned DKIM/SPF outcome, override
// reasons, identifiers, DKIM and SPF results) with the message count (RFC 9990 appendix
// A: "one record per (IP, result, IDs, Auths) tuple").
// Disposition (RFC 9990 ActionDispositionType) from the recorded decision: reject and
// quarantine as done; a delivered message is "pass" when it passed DMARC under an
// enforcing policy, else "none". A weaker disposition than the policy asked for on a
// DMARC fail carries a reason: policy_test_mode for t=y, else local_policy with the
// dmarc decision's rule or reason (monitor rules, local overrides, ARC trust).
// policy_published: the newest record text seen in the window for that domain (RFC 9990
// "Changes in Policy During Reporting Period": the final configuration observed).
// Security: every value came from peers; the XML writer escapes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dmarc/report.hpp"
#include "store/history.hpp"

namespace mxg::policy {

struct aggregate_options {
  std::int64_t since = 0, until = 0;  // [since, until), Unix seconds
  std::string org_name;               // report_metadata/org_name (RFC 9990: required)
  std::string email;                  // report_metadata/email (required)
  std::string extra_contact_info;     // optional
  std::string receiver;  // our domain in the file name and report_id ("" = email's domain)
};

struct aggregate_report {
  std::string policy_domain;
  std::string filename;  // RFC 9990 file name, ".xml.gz"
  dmarc::feedback report;
  std::uint64_t messages = 0;
};

// One report per policy domain, sorted by domain; records sorted by source IP, then by
// count (largest first).
std::vector<aggregate_report> build_aggregate_reports(
    const std::vector<store::message_record>& records, const aggregate_options& o);

// The policy_published element for a DMARC record text as published (RFC 9989 4.7 tag
// names; absent tags get the RFC 9989 defaults that RFC 9990 reports: adkim/aspf r,
// sp as p, testing n). Unknown tags and invalid values are not reported.
dmarc::policy_published published_policy(const std::string& domain, const std::string& record);

}  // namespace mxg::policy
