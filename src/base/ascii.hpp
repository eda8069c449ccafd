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
// ASCII lower case (domains, header names, keywords); other bytes are kept.
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = to_lower(c);
  return out;
}
// ASCII case-insensitive equality (RFC 5321 2.4 keywords, RFC 5322 field names).
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

}  // namespace mxg::ascii
