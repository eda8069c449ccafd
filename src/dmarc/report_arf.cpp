// report_arf.cpp: the ARF reader (RFC 5965 2, 3; RFC 6591 3 for auth-failure reports,
// which RFC 9991 keeps for DMARC failure reports). The MIME structure is GMime's; the
// feedback-report fields go through mail/header.hpp (unfolded, RFC 5322 2.2.3).
// Tolerance for real senders: the field named Received-Date in drafts before RFC 5965
// is read as Arrival-Date; Source-IP keeps the address and drops a trailing comment
// ("192.0.2.1 (host.example)"); Reporting-MTA drops its "dns;" type (RFC 5965 3.2 uses
// the RFC 3464 mta-name-type form).
// Security: see report_arf.hpp. Values are capped at kReportFieldMax, lists at
// kReportListMax, fields read at kArfFieldsMax.
#include "dmarc/report_arf.hpp"

#include <gmime/gmime.h>

#include <memory>
#include <mutex>

#include "base/ascii.hpp"
#include "dmarc/report.hpp"
#include "mail/header.hpp"

namespace mxg::dmarc {

namespace {

struct gobject_deleter {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using gptr = std::unique_ptr<T, gobject_deleter>;

std::string cap(std::string s, std::size_t max = kReportFieldMax) {
  if (s.size() > max) s.resize(max);
  return s;
}

std::string part_bytes(GMimePart* part) {
  std::string out;
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return out;
  gptr<GMimeStream> mem(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, mem.get());
  GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  if (arr && arr->data) out.assign(reinterpret_cast<const char*>(arr->data), arr->len);
  return out;
}

std::string mime_type(GMimeObject* obj) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (!ct) return "";
  const char* t = g_mime_content_type_get_media_type(ct);
  const char* s = g_mime_content_type_get_media_subtype(ct);
  return ascii::lower(std::string(t ? t : "") + "/" + (s ? s : ""));
}

std::optional<std::int64_t> decode_date(const std::string& v) {
  GDateTime* dt = g_mime_utils_header_decode_date(v.c_str());
  if (!dt) return std::nullopt;
  auto t = static_cast<std::int64_t>(g_date_time_to_unix(dt));
  g_date_time_unref(dt);
  return t;
}

struct walker {
  std::string report_fields;  // the message/feedback-report part's bytes
  bool have_report = false;
  arf_report r;

  void walk(GMimeObject* obj, std::size_t depth) {
    if (!obj || depth > kReportMimeDepthMax) return;
    if (GMIME_IS_MULTIPART(obj)) {
      auto* mp = GMIME_MULTIPART(obj);
      int n = g_mime_multipart_get_count(mp);
      for (int i = 0; i < n && i < static_cast<int>(kReportMimePartsMax); ++i)
        walk(g_mime_multipart_get_part(mp, i), depth + 1);
      return;
    }
    auto type = mime_type(obj);
    if (GMIME_IS_MESSAGE_PART(obj)) {
      GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (!m) return;
      if (type == "message/feedback-report" && !have_report) {
        // GMime may take message/* as an embedded message: its "header" is the fields.
        char* h = g_mime_object_get_headers(GMIME_OBJECT(m), nullptr);
        if (h) report_fields = h;
        g_free(h);
        have_report = true;
        return;
      }
      if (!r.original_message && r.original_headers.empty()) {
        r.original_message = true;
        char* h = g_mime_object_get_headers(GMIME_OBJECT(m), nullptr);
        if (h) r.original_headers = cap(h, kArfHeadersMax);
        g_free(h);
      }
      return;
    }
    if (!GMIME_IS_PART(obj)) return;
    if (type == "message/feedback-report" && !have_report) {
      report_fields = part_bytes(GMIME_PART(obj));
      have_report = true;
    } else if (type == "text/rfc822-headers") {
      r.original_message = false;
      r.original_headers = cap(part_bytes(GMIME_PART(obj)), kArfHeadersMax);
    }
  }
};

void read_fields(std::string_view block, arf_report& r) {
  // The part's content is a header block (RFC 5965 3: "message/feedback-report" fields
  // follow RFC 5322 header syntax); make sure it ends like one.
  std::string text(block);
  if (!text.ends_with("\n\n") && !text.ends_with("\r\n\r\n")) text += "\n\n";
  auto hb = mail::read_header(text, kArfFieldsMax);
  auto add = [](std::vector<std::string>& v, std::string s) {
    if (v.size() < kReportListMax) v.push_back(cap(std::move(s)));
  };
  for (const auto& f : hb.fields) {
    std::string v(ascii::trim_space(mail::unfold(f.value)));
    std::string n = ascii::lower(f.name);
    if (n == "feedback-type")
      r.feedback_type = ascii::lower(v);
    else if (n == "user-agent")
      r.user_agent = cap(v);
    else if (n == "version")
      r.version = cap(v);
    else if (n == "arrival-date" || n == "received-date")
      r.arrival_date = decode_date(v);
    else if (n == "original-envelope-id")
      r.original_envelope_id = cap(v);
    else if (n == "original-mail-from")
      r.original_mail_from = cap(v);
    else if (n == "original-rcpt-to")
      add(r.original_rcpt_to, v);
    else if (n == "reporting-mta") {
      auto semi = v.find(';');
      r.reporting_mta = cap(std::string(ascii::trim_space(
          semi == std::string::npos ? std::string_view(v) : std::string_view(v).substr(semi + 1))));
    } else if (n == "source-ip") {
      auto sp = v.find_first_of(" \t(");
      r.source_ip = cap(v.substr(0, sp));
    } else if (n == "incidents") {
      std::int64_t k = 0;
      bool ok = !v.empty() && v.size() < 12;
      for (char c : v) {
        if (!ascii::is_digit(static_cast<unsigned char>(c)))
          ok = false;
        else
          k = k * 10 + (c - '0');
      }
      if (ok) r.incidents = k;
    } else if (n == "authentication-results") {
      // The raw value (folding kept) minus the leading blank, as senders wrote it.
      std::string raw(f.value);
      while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.erase(0, 1);
      add(r.authentication_results, raw);
    } else if (n == "reported-domain")
      add(r.reported_domain, v);
    else if (n == "reported-uri")
      add(r.reported_uri, v);
    else if (n == "auth-failure")
      r.auth_failure = ascii::lower(v);
    else if (n == "delivery-result")
      r.delivery_result = ascii::lower(v);
    else if (n == "dkim-domain")
      r.dkim_domain = cap(v);
    else if (n == "dkim-identity")
      r.dkim_identity = cap(v);
    else if (n == "dkim-selector")
      r.dkim_selector = cap(v);
    else if (n == "dkim-canonicalized-header")
      r.dkim_canonicalized_header = cap(std::string(f.value), kArfHeadersMax);
    else if (n == "dkim-canonicalized-body")
      r.dkim_canonicalized_body = cap(std::string(f.value), kArfHeadersMax);
    else if (n == "dkim-selector-dns")
      r.dkim_selector_dns = cap(v);
    else if (n == "spf-dns")
      r.spf_dns = cap(v);
    else if (n == "identity-alignment")
      r.identity_alignment = ascii::lower(v);
  }
}

}  // namespace

mxg::result<arf_report> parse_arf(std::string_view message) {
  if (message.size() > kReportFileMax)
    return fail(errc::limit_exceeded, "ARF: message larger than " + std::to_string(kReportFileMax));
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
  gptr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  gptr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  gptr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!msg) return fail(errc::parse_error, "ARF: not a mail message");
  walker w;
  w.walk(g_mime_message_get_mime_part(msg.get()), 0);
  if (!w.have_report) return fail(errc::parse_error, "ARF: no message/feedback-report part");
  read_fields(w.report_fields, w.r);
  if (w.r.feedback_type.empty())
    return fail(errc::parse_error, "ARF: the feedback-report part has no Feedback-Type");
  return std::move(w.r);
}

}  // namespace mxg::dmarc
