// ascii.hpp: character classes of the mail RFCs, shared by every parser and formatter
// (SMTP paths, Received-SPF values, ...). Pure, locale-independent.
#pragma once

#include <string>
#include <string_view>

namespace mxg::ascii {

inline bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

// RFC 5322 3.2.3 atext (RFC 5321 4.1.2 Atom): letters, digits and !#$%&'*+-/=?^_`{|}~
inline bool is_atext(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

inline char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
inline char to_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}
inline char lower(char c) {
  return to_lower(c);
}
// ASCII lower case (domains, header names, keywords); other bytes are kept.
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = to_lower(c);
  return out;
}
// In place.
inline void lower_in_place(std::string& s) {
  for (auto& c : s) c = to_lower(c);
}
// ASCII upper case (SMTP verbs, xtext hex).
inline std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = to_upper(c);
  return out;
}
// RFC 5234 WSP (SP, HTAB) removed at both ends (header field values, RFC 5322 3.2.2).
inline std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
inline bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
// Any ASCII white space (SP, HT, CR, LF, VT, FF) removed at both ends (config lines).
inline std::string_view trim_space(std::string_view s) {
  while (!s.empty() && is_space(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_space(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
// ASCII case-insensitive equality (RFC 5321 2.4 keywords, RFC 5322 field names).
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

// Lower-case hex of bytes, two digits each (keys, tokens, MACs).
inline std::string hex_lower(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

}  // namespace mxg::ascii
