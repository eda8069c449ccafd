// trace_headers.cpp: see trace_headers.hpp.
#include "gateway/trace_headers.hpp"

#include <fmt/format.h>

#include <ctime>

#include "base/ascii.hpp"
#include "base/time.hpp"
#include "policy/spf_policy.hpp"
#include "smtp/path.hpp"

namespace mxg::gateway {

std::string rfc5322_now() {
  return base::rfc5322_now(false);
}

std::string clean(std::string_view s, std::size_t max, bool utf8) {
  std::string out;
  s = s.substr(0, max);
  // Raw 8-bit bytes (a HELO argument is never checked) must not enter the header of a
  // message labelled 7bit or 8BITMIME (RFC 5322 2.2: header fields are US-ASCII).
  const bool keep_8bit = utf8 && smtp::is_valid_utf8(s);
  for (unsigned char c : s) {
    if (c < 0x21 || c == 0x7f || c == '(' || c == ')' || c == '\\' || c == '"' ||
        (c > 0x7f && !keep_8bit))
      out += '?';
    else
      out += static_cast<char>(c);
  }
  return out;
}

std::string received_header(const received_info& r) {
  // RFC 5321 4.4 Time-stamp-line; "with" keywords from RFC 3848 (ESMTP, ESMTPS).
  std::string proto = r.esmtp ? (r.tls ? "ESMTPS" : "ESMTP") : "SMTP";
  std::string h = fmt::format("Received: from {} ({} [{}])\r\n\tby {} (mxguard) with {}",
                              clean(r.helo.empty() ? "unknown" : r.helo, 255, r.utf8),
                              r.rdns_name.empty() ? "unknown" : clean(r.rdns_name, 255, r.utf8),
                              r.client_ip, clean(r.hostname), proto);
  if (r.tls)
    h += fmt::format("\r\n\t(version={} cipher={} bits={})", r.tls_version, r.tls_cipher,
                     r.tls_bits);
  h += fmt::format("\r\n\tid {}", r.queue_id);
  if (!r.for_recipient.empty())
    h += fmt::format("\r\n\tfor <{}>", clean(r.for_recipient, 300, r.utf8));
  h += "; " + rfc5322_now() + "\r\n";
  return h;
}

namespace {

// "Authentication-Results" then optional WSP then ':' (RFC 5322 3.6.8 / obs-optional);
// returns the value's offset, or npos.
std::size_t auth_results_value(std::string_view field) {
  constexpr std::string_view kName = "Authentication-Results";
  if (field.size() < kName.size() || !ascii::iequals(field.substr(0, kName.size()), kName))
    return std::string_view::npos;
  std::size_t i = kName.size();
  while (i < field.size() && (field[i] == ' ' || field[i] == '\t')) ++i;
  if (i >= field.size() || field[i] != ':') return std::string_view::npos;
  return i + 1;
}

}  // namespace

void auth_results_filter::end_field(std::string& out) {
  if (field_.empty()) return;
  auto v = auth_results_value(field_);
  if (v != std::string_view::npos &&
      policy::claims_authserv_id(std::string_view(field_).substr(v), id_)) {
    ++removed_;
  } else {
    out += field_;
  }
  field_.clear();
}

// One header line (with its LF, or the last bytes of the message without one), or the
// first bytes of a line longer than kFilterFieldMax (the rest follows in feed()).
void auth_results_filter::line(std::string&& text, std::string& out) {
  const bool continuation = text[0] == ' ' || text[0] == '\t';
  if (continuation && (dropping_ || passing_)) {
    if (passing_) out += text;
    return;
  }
  if (continuation && !field_.empty()) {
    field_ += text;
    oversized(out);
    return;
  }
  dropping_ = passing_ = false;
  end_field(out);
  const bool blank = text == "\r\n" || text == "\n";
  // The colon is looked for in the first kFilterFieldMax bytes only, so the answer is
  // the same whether a long line arrived whole or in pieces.
  if (blank ||
      std::string_view(text).substr(0, kFilterFieldMax).find(':') == std::string_view::npos) {
    // The end of the header section (RFC 5322 2.1), or a line that cannot belong to it.
    out += text;
    in_header_ = false;
    return;
  }
  field_ = std::move(text);
  oversized(out);
}

void auth_results_filter::oversized(std::string& out) {
  if (field_.size() <= kFilterFieldMax) return;
  // Too large to hold, so its authserv-id cannot be read with certainty (a long comment
  // may come first): an Authentication-Results field is dropped whatever its id (RFC
  // 8601 5 allows removing every instance), any other field passed on; its further
  // continuation lines follow the same way.
  if (auth_results_value(field_) != std::string_view::npos) {
    dropping_ = true;
    ++removed_;
  } else {
    passing_ = true;
    out += field_;
  }
  field_.clear();
}

void auth_results_filter::feed(std::string_view in, std::string& out) {
  while (!in.empty()) {
    if (!in_header_) {
      out += in;
      return;
    }
    const auto nl = in.find('\n');
    const std::size_t n = nl == std::string_view::npos ? in.size() : nl + 1;
    if (rest_of_line_) {
      // The rest of a line longer than kFilterFieldMax, dropped or passed as its start.
      if (passing_) out += in.substr(0, n);
      if (nl != std::string_view::npos) rest_of_line_ = false;
      in.remove_prefix(n);
      continue;
    }
    line_ += in.substr(0, n);
    in.remove_prefix(n);
    if (nl == std::string_view::npos && line_.size() <= kFilterFieldMax) return;
    // A complete line, or a line too long to hold (RFC 5322 2.1.1 allows 998
    // characters): its start is judged now, the same way as a whole line would be.
    const bool cut = nl == std::string_view::npos;
    std::string l;
    l.swap(line_);
    line(std::move(l), out);
    if (cut && in_header_) rest_of_line_ = true;
  }
}

void auth_results_filter::finish(std::string& out) {
  if (!in_header_) return;
  if (!line_.empty() && !rest_of_line_) {
    std::string l;
    l.swap(line_);
    line(std::move(l), out);
  }
  line_.clear();
  if (in_header_) end_field(out);
  field_.clear();
  in_header_ = false;
}

}  // namespace mxg::gateway
