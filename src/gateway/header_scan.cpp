// header_scan.cpp: see header_scan.hpp.
#include "gateway/header_scan.hpp"

#include <algorithm>

#include "base/ascii.hpp"

namespace mxg::gateway {

namespace {

std::string_view trim(std::string_view s) {
  return ascii::trim_wsp(s);
}

// Unfolds (drops CR and LF; the WSP after them stays), replaces controls, caps.
std::string clean_value(std::string_view raw) {
  std::string out;
  while (!raw.empty() &&
         (raw.front() == ' ' || raw.front() == '\t' || raw.front() == '\r' || raw.front() == '\n'))
    raw.remove_prefix(1);
  for (unsigned char c : raw) {
    if (c == '\r' || c == '\n') continue;
    out += (c < 0x20 && c != '\t') || c == 0x7f ? ' ' : static_cast<char>(c);
    if (out.size() >= kHeaderValueMax) break;
  }
  return std::string(trim(out));
}

// RFC 5322 3.6.4: msg-id = [CFWS] "<" id-left "@" id-right ">" [CFWS].
std::string message_id_of(std::string_view v) {
  auto lt = v.find('<');
  if (lt != std::string_view::npos) {
    auto gt = v.find('>', lt + 1);
    if (gt != std::string_view::npos) return std::string(trim(v.substr(lt + 1, gt - lt - 1)));
  }
  v = trim(v);
  auto sp = v.find_first_of(" \t");
  return std::string(v.substr(0, sp));
}

}  // namespace

header_facts scan_headers(std::string_view message, std::size_t cap) {
  header_facts f;
  std::string_view m = message.substr(0, std::min(cap, message.size()));
  bool have_id = false, have_subject = false;
  std::size_t pos = 0;
  while (pos < m.size()) {
    // One field: this line plus every continuation line (starting with SP or HTAB).
    std::size_t end = pos;
    bool whole = false;
    for (;;) {
      auto lf = m.find('\n', end);
      if (lf == std::string_view::npos) break;  // cut by the cap (or no line end)
      end = lf + 1;
      if (end < m.size() && (m[end] == ' ' || m[end] == '\t')) continue;
      whole = end < m.size() || m.size() == message.size();
      break;
    }
    if (end == pos) break;  // a line without its end: stop
    std::string_view line = m.substr(pos, end - pos);
    if (line == "\r\n" || line == "\n") {
      f.complete = true;
      break;
    }
    pos = end;
    if (!whole) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a field (e.g. an mbox From_ line)
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    if (!have_id && ascii::iequals(name, "Message-ID")) {
      f.message_id = message_id_of(clean_value(value));
      have_id = true;
    } else if (!have_subject && ascii::iequals(name, "Subject")) {
      f.subject = clean_value(value);
      have_subject = true;
    }
  }
  return f;
}

}  // namespace mxg::gateway
