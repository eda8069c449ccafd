// trace_headers.cpp: see trace_headers.hpp.
#include "gateway/trace_headers.hpp"

#include <fmt/format.h>

#include <ctime>

#include "base/ascii.hpp"
#include "policy/spf_policy.hpp"
#include "smtp/path.hpp"

namespace mxg::gateway {

std::string rfc5322_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
  return buf;
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

void auth_results_filter::feed(std::string_view in, std::string& out) {
  while (!in.empty()) {
    if (!in_header_) {
      out += in;
      return;
    }
    auto nl = in.find('\n');
    if (nl == std::string_view::npos) {
      line_ += in;
      if (line_.size() <= kFilterFieldMax) return;
      // A line this long is no header field of ours: pass what we hold.
      end_field(out);
      out += line_;
      line_.clear();
      in_header_ = false;
      return;
    }
    line_ += in.substr(0, nl + 1);
    in = in.substr(nl + 1);
    std::string line;
    line.swap(line_);
    const bool blank = line == "\r\n" || line == "\n";
    const bool continuation = line[0] == ' ' || line[0] == '\t';
    if (continuation && (dropping_ || passing_)) {
      if (passing_) out += line;
      continue;
    }
    if (continuation && !field_.empty()) {
      field_ += line;
      if (field_.size() > kFilterFieldMax) {
        // Too large to hold: ours is dropped whole, anything else passed on.
        if (auth_results_value(field_) != std::string_view::npos) {
          dropping_ = true;
          ++removed_;
        } else {
          passing_ = true;
          out += field_;
        }
        field_.clear();
      }
      continue;
    }
    dropping_ = passing_ = false;
    end_field(out);
    if (blank || line.find(':') == std::string::npos) {
      // The end of the header section (RFC 5322 2.1), or a line that cannot belong to it.
      out += line;
      in_header_ = false;
      continue;
    }
    field_ = std::move(line);
  }
}

void auth_results_filter::finish(std::string& out) {
  if (!in_header_) return;
  if (!line_.empty()) {
    if (line_[0] == ' ' || line_[0] == '\t') {
      if (!dropping_) field_ += line_;
    } else {
      end_field(out);
      field_ = line_;
    }
    line_.clear();
  }
  if (!dropping_) end_field(out);
  field_.clear();
  in_header_ = false;
}

}  // namespace mxg::gateway
