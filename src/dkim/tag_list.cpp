// tag_list.cpp: RFC 6376 3.2 tag lists. See tag_list.hpp.
#include "dkim/tag_list.hpp"

#include <fmt/format.h>

#include "base/ascii.hpp"

namespace mxg::dkim {

namespace {

bool is_fws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_valchar(unsigned char c) {
  return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

// FWS here is lenient about its exact shape (CRLF must precede WSP in RFC 5322 3.2.2);
// header fields reach us already split by mail/header.hpp, DNS text has no line ends.
std::size_t skip_fws(std::string_view s, std::size_t i) {
  while (i < s.size() && is_fws(s[i])) ++i;
  return i;
}

}  // namespace

const tag* tag_list::find(std::string_view name) const {
  for (const auto& t : tags)
    if (t.name == name) return &t;
  return nullptr;
}

mxg::result<tag_list> parse_tag_list(std::string_view s) {
  tag_list out;
  std::size_t i = 0;
  while (true) {
    i = skip_fws(s, i);
    if (i >= s.size()) break;  // empty list, or a trailing ';' (3.2 allows it)
    std::size_t name_begin = i;
    if (!ascii::is_alpha(static_cast<unsigned char>(s[i])))
      return fail(errc::parse_error, fmt::format("tag list: offset {}: a tag name must start "
                                                 "with a letter (RFC 6376 3.2)",
                                                 i));
    while (i < s.size() && (ascii::is_alpha(static_cast<unsigned char>(s[i])) ||
                            ascii::is_digit(static_cast<unsigned char>(s[i])) || s[i] == '_'))
      ++i;
    std::string_view name = s.substr(name_begin, i - name_begin);
    i = skip_fws(s, i);
    if (i >= s.size() || s[i] != '=')
      return fail(
          errc::parse_error,
          fmt::format("tag list: offset {}: tag \"{}\" has no '=' (RFC 6376 3.2)", i, name));
    ++i;
    tag t;
    t.name = name;
    t.raw_begin = i;
    std::size_t v = skip_fws(s, i);
    std::size_t last = v;  // end of the last tval seen
    std::size_t j = v;
    while (j < s.size() && s[j] != ';') {
      unsigned char c = static_cast<unsigned char>(s[j]);
      if (is_valchar(c)) {
        ++j;
        last = j;
      } else if (is_fws(s[j])) {
        ++j;
      } else {
        return fail(errc::parse_error,
                    fmt::format("tag list: offset {}: byte 0x{:02X} not allowed in the value "
                                "of tag \"{}\" (RFC 6376 3.2 VALCHAR)",
                                j, c, name));
      }
    }
    t.value = s.substr(v, last - v);
    t.raw_end = j;
    if (out.find(name))
      return fail(errc::parse_error,
                  fmt::format("tag list: tag \"{}\" appears twice (RFC 6376 3.2)", name));
    if (out.tags.size() >= kTagsMax)
      return fail(errc::limit_exceeded, fmt::format("tag list: more than {} tags", kTagsMax));
    out.tags.push_back(t);
    i = j;
    if (i >= s.size()) break;
    ++i;  // ';'
  }
  return out;
}

std::string strip_fws(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v)
    if (!is_fws(c)) out += c;
  return out;
}

std::vector<std::string_view> split_colon(std::string_view v) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    std::size_t c = v.find(':', start);
    std::string_view part =
        v.substr(start, c == std::string_view::npos ? v.size() - start : c - start);
    std::size_t b = 0, e = part.size();
    while (b < e && is_fws(part[b])) ++b;
    while (e > b && is_fws(part[e - 1])) --e;
    out.push_back(part.substr(b, e - b));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return out;
}

}  // namespace mxg::dkim
