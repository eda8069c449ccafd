// macro.cpp: RFC 7208 section 7 macro-string checking and expansion (see macro.hpp).
// Security: input is untrusted; every index is bounds-checked, output is capped at
// kMacroExpansionMax, split parts live in a fixed stack array (no recursion, no
// unbounded allocation).
#include "spf/macro.hpp"
#include "base/ascii.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

namespace mxg::spf {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr char kHexLower[] = "0123456789abcdef";

bool is_delimiter(char c) {  // RFC 7208 7.1 delimiter
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

using ascii::lower;

// RFC 7208 7.1: letters valid in a context.
bool letter_valid(char l, macro_context ctx) {
  switch (l) {
    case 's':
    case 'l':
    case 'o':
    case 'd':
    case 'i':
    case 'p':
    case 'h':
    case 'v':
      return true;
    case 'c':
    case 'r':
    case 't':
      return ctx == macro_context::explanation;
    default:
      return false;
  }
}

std::string hex_byte(unsigned char c) {
  std::string s = "0x";
  s += kHex[c >> 4];
  s += kHex[c & 15];
  return s;
}

// Parsed form of one "%{...}" at s[i] (s[i] == '%', s[i+1] == '{').
struct macro_token {
  char letter = 0;      // as written (case kept: upper means URL-escape)
  unsigned digits = 0;  // 0: none given
  bool reverse = false;
  std::string_view delimiters;  // empty: "." (7.3)
  std::size_t end = 0;          // index after '}'
};

std::optional<macro_error> parse_macro(std::string_view s, std::size_t i, macro_context ctx,
                                       macro_token& t) {
  std::size_t j = i + 2;
  if (j >= s.size()) return macro_error{i, "unterminated macro \"%{\""};
  t.letter = s[j];
  char l = lower(t.letter);
  if (l == 'c' || l == 'r' || l == 't') {
    if (ctx != macro_context::explanation)
      return macro_error{j, std::string("macro letter '") + t.letter +
                                "' is allowed only in explanation (exp) text (RFC 7208 7.1)"};
  } else if (!letter_valid(l, ctx)) {
    return macro_error{j, std::string("unknown macro letter '") +
                              (static_cast<unsigned char>(t.letter) >= 0x21 &&
                                       static_cast<unsigned char>(t.letter) < 0x7f
                                   ? std::string(1, t.letter)
                                   : hex_byte(static_cast<unsigned char>(t.letter))) +
                              "' (valid: s l o d i p h v, and c r t in exp text)"};
  }
  ++j;
  std::size_t dstart = j;
  unsigned long long value = 0;
  while (j < s.size() && is_digit(s[j])) {
    value = std::min<unsigned long long>(value * 10 + static_cast<unsigned>(s[j] - '0'), 1000000);
    ++j;
  }
  if (j > dstart) {
    if (value == 0)
      return macro_error{dstart, "a digit transformer must be nonzero (RFC 7208 7.3)"};
    t.digits = static_cast<unsigned>(std::min<unsigned long long>(value, kMacroDigitsMax));
  }
  if (j < s.size() && (s[j] == 'r' || s[j] == 'R')) {
    t.reverse = true;
    ++j;
  }
  std::size_t delim_start = j;
  while (j < s.size() && is_delimiter(s[j])) ++j;
  t.delimiters = s.substr(delim_start, j - delim_start);
  if (j >= s.size() || s[j] != '}')
    return macro_error{j < s.size() ? j : s.size(), "expected '}' to close the macro"};
  t.end = j + 1;
  return std::nullopt;
}

std::optional<macro_error> literal_ok(std::string_view s, std::size_t i, macro_context ctx) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c >= 0x21 && c <= 0x7e) return std::nullopt;  // macro-literal (7.1), '%' handled before
  if (c == ' ' && ctx == macro_context::explanation) return std::nullopt;  // 6.2 explain-string
  if (c == ' ') return macro_error{i, "space inside a term"};
  return macro_error{i, "invalid character " + hex_byte(c) +
                            " (SPF records are 7-bit ASCII without control characters, "
                            "RFC 7208 3.1/4.6.1)"};
}

void append_escaped(std::string_view v, std::string& out) {
  for (unsigned char c : v) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

// Appends the raw (untransformed) value of a macro letter.
void append_value(char l, const macro_env& env, std::string& out) {
  switch (l) {
    case 's':
      out += env.sender;
      break;
    case 'l':
      out += env.local_part;
      break;
    case 'o':
      out += env.sender_domain;
      break;
    case 'd':
      out += env.domain;
      break;
    case 'h':
      out += env.helo;
      break;
    case 'r':
      out += env.receiver;
      break;
    case 'p':
      out += env.validated_ptr;
      break;
    case 'v':
      out += env.ip.is_v4() ? "in-addr" : "ip6";
      break;
    case 'i':
      append_ip_macro(env.ip, out);
      break;
    case 'c':
      out += env.ip.to_string();
      break;
    case 't': {
      char buf[24];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, env.now);
      (void)ec;
      out.append(buf, p);
      break;
    }
    default:
      break;
  }
}

// RFC 7208 7.3 transformation: split on delimiters, optionally reverse, keep the
// rightmost `digits` parts, join with ".". No part array: parts are found by scanning,
// so any number of parts works without allocation.
void transform(std::string_view value, const macro_token& t, std::string& out) {
  std::string_view delims = t.delimiters.empty() ? std::string_view(".") : t.delimiters;
  auto is_delim = [&](char ch) { return delims.find(ch) != std::string_view::npos; };
  std::size_t n = 1;
  for (char ch : value)
    if (is_delim(ch)) ++n;
  std::size_t keep = (t.digits == 0 || t.digits >= n) ? n : t.digits;
  if (!t.reverse) {
    // Parts n-keep .. n-1 in order: skip the first n-keep parts.
    std::size_t skip = n - keep, pos = 0;
    while (skip > 0) {
      if (is_delim(value[pos])) --skip;
      ++pos;
    }
    std::size_t start = pos;
    for (; pos <= value.size(); ++pos) {
      if (pos == value.size() || is_delim(value[pos])) {
        out.append(value.data() + start, pos - start);
        if (pos != value.size()) out += '.';
        start = pos + 1;
      }
    }
    return;
  }
  // Reversed: the rightmost `keep` parts of the reversed list are parts keep-1 .. 0.
  std::size_t end = 0, seen = 0;
  for (; end < value.size(); ++end) {
    if (is_delim(value[end]) && ++seen == keep) break;
  }
  // value[0, end) holds parts 0 .. keep-1; emit them last to first.
  std::size_t e = end;
  while (true) {
    std::size_t b = e;
    while (b > 0 && !is_delim(value[b - 1])) --b;
    out.append(value.data() + b, e - b);
    if (b == 0) break;
    out += '.';
    e = b - 1;
  }
}

}  // namespace

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void append_ip_macro(const net::ip_address& ip, std::string& out) {
  const auto& b = ip.bytes();
  if (ip.is_v4()) {
    char buf[16];
    char* p = buf;
    for (int k = 0; k < 4; ++k) {
      if (k) *p++ = '.';
      p = std::to_chars(p, buf + sizeof buf, b[k]).ptr;
    }
    out.append(buf, p);
    return;
  }
  char buf[64];
  char* p = buf;
  for (int k = 0; k < 16; ++k) {
    if (k) *p++ = '.';
    *p++ = kHexLower[b[k] >> 4];
    *p++ = '.';
    *p++ = kHexLower[b[k] & 15];
  }
  out.append(buf, p);
}

std::optional<macro_error> check_macro_string(std::string_view s, macro_context ctx,
                                              macro_check* facts) {
  bool last_macro = false, uses_p = false;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '%') {
      if (i + 1 >= s.size())
        return macro_error{i, "'%' at the end of the string (write %% for a literal percent)"};
      char d = s[i + 1];
      if (d == '%' || d == '_' || d == '-') {
        i += 2;
        last_macro = true;
        continue;
      }
      if (d != '{')
        return macro_error{i, "'%' must be followed by '{', '%', '_' or '-' (RFC 7208 7.1)"};
      macro_token t;
      if (auto e = parse_macro(s, i, ctx, t)) return e;
      if (lower(t.letter) == 'p') uses_p = true;
      i = t.end;
      last_macro = true;
      continue;
    }
    if (auto e = literal_ok(s, i, ctx)) return e;
    last_macro = false;
    ++i;
  }
  if (facts) {
    facts->ends_with_macro = last_macro;
    facts->uses_p = uses_p;
  }
  return std::nullopt;
}

std::optional<macro_error> expand(std::string_view s, macro_context ctx, const macro_env& env,
                                  std::string& out) {
  std::size_t base = out.size();
  thread_local std::string scratch;  // reused: no allocation per macro in the hot path
  std::size_t i = 0;
  while (i < s.size()) {
    if (out.size() - base > kMacroExpansionMax)
      return macro_error{i, "macro expansion longer than " + std::to_string(kMacroExpansionMax)};
    char c = s[i];
    if (c != '%') {
      if (auto e = literal_ok(s, i, ctx)) return e;
      // Copy the run of literals at once.
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != '%' && !literal_ok(s, j, ctx)) ++j;
      out.append(s.data() + i, j - i);
      i = j;
      continue;
    }
    if (i + 1 >= s.size())
      return macro_error{i, "'%' at the end of the string (write %% for a literal percent)"};
    char d = s[i + 1];
    if (d == '%') {
      out += '%';
      i += 2;
      continue;
    }
    if (d == '_') {
      out += ' ';
      i += 2;
      continue;
    }
    if (d == '-') {
      out += "%20";
      i += 2;
      continue;
    }
    if (d != '{')
      return macro_error{i, "'%' must be followed by '{', '%', '_' or '-' (RFC 7208 7.1)"};
    macro_token t;
    if (auto e = parse_macro(s, i, ctx, t)) return e;
    char l = lower(t.letter);
    bool upper = t.letter != l;
    bool plain = t.digits == 0 && !t.reverse && t.delimiters.empty();
    if (plain && !upper) {
      append_value(l, env, out);
    } else {
      scratch.clear();
      append_value(l, env, scratch);
      if (plain) {
        append_escaped(scratch, out);
      } else if (!upper) {
        transform(scratch, t, out);
      } else {
        thread_local std::string transformed;
        transformed.clear();
        transform(scratch, t, transformed);
        append_escaped(transformed, out);
      }
    }
    i = t.end;
  }
  if (out.size() - base > kMacroExpansionMax)
    return macro_error{s.size(),
                       "macro expansion longer than " + std::to_string(kMacroExpansionMax)};
  return std::nullopt;
}

}  // namespace mxg::spf
