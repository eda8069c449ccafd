// bounce_info.cpp: the bounce's own header facts (see bounce_info.hpp): RFC 5322
// header fields of the top-level block, unfolded (2.2.3); dates through GMime.
#include "ndr/bounce_info.hpp"

#include <gmime/gmime.h>

#include <algorithm>

#include "base/ascii.hpp"

namespace mxg::ndr {

namespace {

// Unfolded value of the first header `name` in the top-level header block.
std::string header(std::string_view raw, std::string_view name) {
  raw = raw.substr(0, std::min(raw.size(), kHeaderScanBytes));
  std::size_t pos = 0;
  while (pos < raw.size()) {
    auto eol = raw.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) eol = raw.size();
    auto line = raw.substr(pos, eol - pos);
    if (line.empty()) break;  // end of the header block
    auto next = eol;
    if (next < raw.size() && raw[next] == '\r') ++next;
    if (next < raw.size() && raw[next] == '\n') ++next;
    if (line.size() > name.size() && line[name.size()] == ':' &&
        ascii::iequals(line.substr(0, name.size()), name)) {
      std::string value(line.substr(name.size() + 1));
      // Folded continuation lines (RFC 5322 2.2.3).
      while (next < raw.size() && (raw[next] == ' ' || raw[next] == '\t')) {
        auto e2 = raw.find_first_of("\r\n", next);
        if (e2 == std::string_view::npos) e2 = raw.size();
        value += " ";
        value += raw.substr(next, e2 - next);
        next = e2;
        if (next < raw.size() && raw[next] == '\r') ++next;
        if (next < raw.size() && raw[next] == '\n') ++next;
      }
      auto b = value.find_first_not_of(" \t");
      return b == std::string::npos ? "" : value.substr(b);
    }
    pos = next;
  }
  return {};
}

std::string first_address(const std::string& v) {
  auto lt = v.find('<');
  if (lt != std::string::npos) {
    auto gt = v.find('>', lt);
    if (gt != std::string::npos) return v.substr(lt + 1, gt - lt - 1);
  }
  auto at = v.find('@');
  if (at == std::string::npos) return {};
  auto b = v.find_last_of(" \t,;:", at);
  auto e = v.find_first_of(" \t,;>", at);
  b = b == std::string::npos ? 0 : b + 1;
  return v.substr(b, (e == std::string::npos ? v.size() : e) - b);
}

std::int64_t parse_date(const std::string& v) {
  if (v.empty()) return 0;
  init_mime();
  GDateTime* dt = g_mime_utils_header_decode_date(v.c_str());
  if (!dt) return 0;
  auto t = static_cast<std::int64_t>(g_date_time_to_unix(dt));
  g_date_time_unref(dt);
  return t;
}

}  // namespace

bounce_info describe(const record& r, std::string_view raw) {
  bounce_info b;
  b.rec = r;
  for (const char* h : {"X-Original-To", "Delivered-To", "To"}) {
    auto v = first_address(header(raw, h));
    if (!v.empty()) {
      b.ndr_to = v;
      break;
    }
  }
  b.ndr_time = parse_date(header(raw, "Date"));
  if (b.ndr_time == 0) b.ndr_time = parse_date(r.last_attempt_date);
  if (b.ndr_time == 0) b.ndr_time = parse_date(r.arrival_date);
  return b;
}

}  // namespace mxg::ndr
