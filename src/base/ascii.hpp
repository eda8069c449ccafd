// ascii.hpp: character classes of the mail RFCs, shared by every parser and formatter
// (SMTP paths, Received-SPF values, ...). Pure, locale-independent.
#pragma once

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

}  // namespace mxg::ascii
