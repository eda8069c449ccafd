// header.cpp: see header.hpp. RFC 5322 2.2 (field = name ":" body), 2.2.3 (folding),
// 3.5 (header, empty line, body), 3.6.8 (ftext: printable US-ASCII except ':').
#include "mail/header.hpp"

#include "base/ascii.hpp"

namespace mxg::mail {

namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}
// RFC 5322 3.6.8 ftext = %d33-57 / %d59-126
bool is_ftext(unsigned char c) {
  return c >= 33 && c <= 126 && c != ':';
}

// One physical line starting at `pos`: [pos, content_end) is the content, next is the
// first byte of the following line (or size when the input ends without a line end).
struct line {
  std::size_t content_end;
  std::size_t next;
  bool terminated;
};

line next_line(std::string_view s, std::size_t pos) {
  std::size_t lf = s.find('\n', pos);
  if (lf == std::string_view::npos) return {s.size(), s.size(), false};
  std::size_t end = lf;
  if (end > pos && s[end - 1] == '\r') --end;
  return {end, lf + 1, true};
}

}  // namespace

header_block read_header(std::string_view m, std::size_t max_fields) {
  header_block hb;
  std::size_t pos = 0;
  bool have_field = false;
  field cur;
  std::size_t cur_value_end = 0;
  auto close = [&] {
    if (!have_field) return;
    have_field = false;
    if (hb.fields.size() >= max_fields) {
      hb.truncated = true;
      return;
    }
    cur.value =
        m.substr(cur.value.data() - m.data(), cur_value_end - (cur.value.data() - m.data()));
    hb.fields.push_back(cur);
  };
  while (pos < m.size()) {
    line ln = next_line(m, pos);
    if (ln.content_end - pos > kHeaderLineMax) ++hb.long_lines;
    if (ln.content_end == pos && ln.terminated) {  // empty line: end of header (3.5)
      close();
      hb.complete = true;
      hb.body_offset = ln.next;
      return hb;
    }
    if (is_wsp(m[pos])) {  // continuation of the field above (2.2.3)
      if (have_field) {
        cur.raw = m.substr(cur.offset, ln.next - cur.offset);
        cur_value_end = ln.content_end;
      } else {
        ++hb.malformed_lines;
      }
      pos = ln.next;
      continue;
    }
    close();
    std::string_view content = m.substr(pos, ln.content_end - pos);
    std::size_t colon = content.find(':');
    std::size_t name_end = colon;
    if (colon != std::string_view::npos)
      while (name_end > 0 && is_wsp(content[name_end - 1])) --name_end;
    bool ok = colon != std::string_view::npos && name_end > 0;
    for (std::size_t i = 0; ok && i < name_end; ++i)
      ok = is_ftext(static_cast<unsigned char>(content[i]));
    if (!ok) {
      ++hb.malformed_lines;
      pos = ln.next;
      continue;
    }
    have_field = true;
    cur = field{};
    cur.offset = pos;
    cur.raw = m.substr(pos, ln.next - pos);
    cur.name = content.substr(0, name_end);
    cur.value = content.substr(colon + 1);
    cur_value_end = ln.content_end;
    pos = ln.next;
  }
  close();
  hb.body_offset = m.size();
  return hb;
}

std::size_t find_body_offset(std::string_view d) {
  std::size_t pos = 0;
  while (pos < d.size()) {
    line ln = next_line(d, pos);
    if (!ln.terminated) return std::string_view::npos;
    if (ln.content_end == pos) return ln.next;
    pos = ln.next;
  }
  return std::string_view::npos;
}

std::string unfold(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\r' && i + 2 < v.size() && v[i + 1] == '\n' && is_wsp(v[i + 2])) {
      ++i;  // skip CR LF
      continue;
    }
    if (v[i] == '\n' && i + 1 < v.size() && is_wsp(v[i + 1])) continue;
    out += v[i];
  }
  return out;
}

bool name_is(const field& f, std::string_view name) {
  return ascii::iequals(f.name, name);
}

void append_crlf(std::string& out, std::string_view in) {
  for (char c : in) {
    if (c == '\n' && (out.empty() || out.back() != '\r')) out += '\r';
    out += c;
  }
}

}  // namespace mxg::mail
