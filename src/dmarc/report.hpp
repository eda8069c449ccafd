// report.hpp: DMARC aggregate reports (RFC 9990; RFC 7489 appendix C for the older
// reports still sent): the report model, an XML writer following RFC 9990's schema
// (namespace urn:ietf:params:xml:ns:dmarc-2.0, appendix A), a tolerant reader of what
// others send (RFC 7489-era reports without namespace, version 1.0, pct/fo; RFC 9990
// ones; extensions ignored), the containers reports travel in (plain XML, gzip, zip,
// a mail message with the report attached) and the report file name (RFC 9990,
// "Email" transport: receiver!policy-domain!begin!end[!unique-id].xml[.gz]).
// Security: every input here comes from strangers. The XML reader never loads a DTD,
// never expands an entity and never touches the network (a document with a DOCTYPE is
// refused outright); every size is capped (file, decompressed XML, zip entries, MIME
// depth and parts, records, field lengths) with a named limit and a clear error;
// malformed input gives an error, never a crash (fuzz/dmarc_report_xml.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::dmarc {

inline constexpr std::string_view kReportNamespace =
    "urn:ietf:params:xml:ns:dmarc-2.0";                    // RFC 9990 IANA
inline constexpr std::size_t kReportFileMax = 64u << 20;   // a file or a message as read
inline constexpr std::size_t kReportXmlMax = 64u << 20;    // one report's XML after decompression
inline constexpr std::size_t kReportRecordsMax = 500'000;  // <record> elements read per report
inline constexpr std::size_t kReportFieldMax = 4096;       // one text value (longer: cut)
inline constexpr std::size_t kReportListMax = 1000;        // errors/reasons/dkim per element
inline constexpr std::size_t kReportZipEntriesMax = 64;    // entries looked at in one zip
inline constexpr std::size_t kReportMimeDepthMax = 8;      // nested multiparts/messages
inline constexpr std::size_t kReportMimePartsMax = 256;    // MIME parts walked per message
// RFC 9990 "DKIM Signatures in Aggregate Reports": no more than 100 per row, by priority.
inline constexpr std::size_t kReportDkimPerRowMax = 100;

// The model. Values are kept as the report wrote them (trimmed; result and policy tokens
// lower-cased); "" = the element was absent. Which element names are read is in report.cpp.
struct report_date_range {
  std::int64_t begin = 0, end = 0;  // Unix seconds, UTC
};

struct report_metadata {
  std::string org_name;
  std::string email;
  std::string extra_contact_info;
  std::string report_id;
  report_date_range date_range;
  std::vector<std::string> errors;  // <error>, any number
  std::string generator;            // RFC 9990 optional <generator>
};

struct policy_published {
  std::string domain;            // where the record was found
  std::string adkim, aspf;       // "r" | "s" | ""
  std::string p, sp, np;         // "none" | "quarantine" | "reject" | ""
  std::string testing;           // "y" | "n" | "" (RFC 9990; t= of RFC 9989)
  std::string discovery_method;  // "psl" | "treewalk" | "" (RFC 9990)
  std::string fo;                // legacy (RFC 7489), as written
  std::string pct;               // legacy (RFC 7489), as written
};

struct policy_override_reason {
  std::string type;  // RFC 9990: local_policy, mailing_list, other, policy_test_mode,
                     // trusted_forwarder (RFC 7489 also: forwarded, sampled_out)
  std::string comment;
};

struct policy_evaluated {
  std::string disposition;  // none | pass | quarantine | reject (RFC 9990 ActionDisposition)
  std::string dkim, spf;    // DMARC-aligned result: pass | fail
  std::vector<policy_override_reason> reasons;
};

struct report_row {
  std::string source_ip;
  std::uint64_t count = 0;
  policy_evaluated evaluated;
};

struct report_identifiers {
  std::string envelope_to, envelope_from, header_from;
};

struct dkim_auth_result {
  std::string domain, selector, result, human_result;  // result: RFC 8601 2.7.1
};

struct spf_auth_result {
  std::string domain, scope, result, human_result;  // scope: helo | mfrom; result: RFC 8601 2.7.2
};

struct report_record {
  report_row row;
  report_identifiers identifiers;
  std::vector<dkim_auth_result> dkim;
  std::vector<spf_auth_result> spf;  // RFC 9990: one; RFC 7489-era reports: one or more
};

struct feedback {
  std::string version;        // "" when absent (RFC 7489 drafts), "1.0", ...
  std::string xml_namespace;  // the root's namespace URI as read ("" = none)
  report_metadata metadata;
  policy_published policy;
  std::vector<report_record> records;
};

// ---- writing (RFC 9990 appendix A element order; text escaped; invalid UTF-8 and
// characters XML 1.0 cannot carry replaced by U+FFFD) ----
std::string to_xml(const feedback& f);

// The report file name (RFC 9990 "Email" transport ABNF): receiver "!" policy-domain "!"
// begin "!" end ["!" unique-id] ".xml" / ".xml.gz". unique-id must be 1*(ALPHA / DIGIT)
// (anything else is dropped from it).
std::string report_filename(std::string_view receiver, std::string_view policy_domain,
                            std::int64_t begin, std::int64_t end, std::string_view unique_id,
                            bool gzip);
struct report_filename_parts {
  std::string receiver, policy_domain;
  std::int64_t begin = 0, end = 0;
  std::string unique_id;
  std::string extension;  // "xml", "xml.gz", or what the sender used ("zip", "gz")
};
std::optional<report_filename_parts> parse_report_filename(std::string_view name);

// mxg::result is spelled out here: where dmarc/types.hpp is included first, the enum
// dmarc::result hides it inside this namespace.
// gzip (RFC 1952) of `data` (zlib).
::mxg::result<std::string> gzip_compress(std::string_view data);
// Inflates a gzip stream; more than `max_out` bytes of output is errc::limit_exceeded.
::mxg::result<std::string> gzip_decompress(std::string_view data,
                                           std::size_t max_out = kReportXmlMax);

// ---- reading ----
// One XML document. errc::parse_error when it is not XML or its root is not <feedback>;
// errc::unsupported when it has a DOCTYPE; errc::limit_exceeded over the caps. Missing
// elements are tolerated (left empty).
::mxg::result<feedback> parse_xml(std::string_view xml);

// The XML documents inside a file or message, found by content (not by name): plain XML,
// gzip, zip (every *.xml entry, or the only entry), or a MIME message whose report parts
// are any of application/gzip, application/x-gzip, application/zip,
// application/x-zip-compressed, text/xml, application/xml, or application/octet-stream
// (and odd senders' types) named *.xml, *.xml.gz, *.gz or *.zip.
struct report_blob {
  std::string name;  // the file, zip entry or attachment name it came from
  std::string xml;
};
::mxg::result<std::vector<report_blob>> extract_reports(std::string_view data,
                                                        std::string_view name);

struct parsed_file {
  std::vector<feedback> reports;
  std::vector<std::string> names;   // names[i]: where reports[i] came from
  std::vector<std::string> errors;  // documents found but unreadable
};
// extract_reports + parse_xml; an error when nothing at all could be read.
::mxg::result<parsed_file> parse_report_data(std::string_view data, std::string_view name);

}  // namespace mxg::dmarc
