// path.cpp: reverse-path / forward-path parser (RFC 5321 4.1.2, 4.1.3, 4.5.3.1;
// RFC 6531 3.3 for SMTPUTF8). See path.hpp for what is accepted and why.
// Security: input is a peer's command line; every index is bounds-checked
// against the view, nothing is echoed back into error messages.
#include "smtp/path.hpp"
#include "base/ascii.hpp"

#include <algorithm>
#include <cstdint>

#include "base/limits.hpp"

namespace mxg::smtp {

namespace {

constexpr std::string_view kObfuscation = "[email protected]";  // Cloudflare's e-mail obfuscation

bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
using ascii::lower;

using ascii::is_atext;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::unexpected<path_error> err(path_errc c, std::string msg) {
  return std::unexpected<path_error>(path_error{c, std::move(msg)});
}

// IPv4address-literal = Snum 3("." Snum), Snum = 1*3DIGIT (0-255) (RFC 5321 4.1.3).
bool is_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    int v = 0;
    while (i < s.size() && is_digit(static_cast<unsigned char>(s[i])) && i - start < 3) {
      v = v * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start || v > 255) return false;
    ++parts;
    if (parts == 4) return i == s.size();
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
}

// IPv6-addr per RFC 5321 4.1.3 (full, comp, v4-full, v4-comp).
bool is_ipv6(std::string_view s) {
  if (s.empty()) return false;
  bool v4 = false;
  std::size_t last_colon = s.rfind(':');
  if (last_colon == std::string_view::npos) return false;
  std::string_view hexpart = s;
  if (s.find('.') != std::string_view::npos) {
    if (!is_ipv4(s.substr(last_colon + 1))) return false;
    v4 = true;
    hexpart = s.substr(0, last_colon + 1);  // keep the ':' before the IPv4 part
    if (hexpart.size() >= 2 && hexpart.substr(hexpart.size() - 2) == "::") {
      // "::1.2.3.4": keep "::"
    } else {
      hexpart.remove_suffix(1);  // "a:b:c:d:e:f:" -> "a:b:c:d:e:f"
    }
  }
  std::size_t dc = hexpart.find("::");
  bool comp = dc != std::string_view::npos;
  if (comp && hexpart.find("::", dc + 1) != std::string_view::npos) return false;
  auto count_groups = [](std::string_view part, int& n) {
    if (part.empty()) return true;
    std::size_t i = 0;
    while (true) {
      std::size_t start = i;
      while (i < part.size() && is_hex(static_cast<unsigned char>(part[i]))) ++i;
      if (i == start || i - start > 4) return false;
      ++n;
      if (i == part.size()) return true;
      if (part[i] != ':') return false;
      ++i;
      if (i == part.size()) return false;  // trailing single ':'
    }
  };
  int n = 0;
  if (comp) {
    if (!count_groups(hexpart.substr(0, dc), n) || !count_groups(hexpart.substr(dc + 2), n))
      return false;
    return n <= (v4 ? 4 : 6);
  }
  if (!count_groups(hexpart, n)) return false;
  return n == (v4 ? 6 : 8);
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

bool is_valid_domain(std::string_view d, bool utf8) {
  if (d.empty() || d.size() > limits::kSmtpDomainMax) return false;
  if (utf8 && !is_valid_utf8(d)) return false;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    while (i < d.size() && d[i] != '.') {
      auto c = static_cast<unsigned char>(d[i]);
      if (!(is_alpha(c) || is_digit(c) || c == '-' || (utf8 && c >= 0x80))) return false;
      ++i;
    }
    std::size_t len = i - start;
    if (len == 0 || len > limits::kDnsLabelMax) return false;
    // sub-domain = Let-dig [Ldh-str]: no '-' first or last.
    if (d[start] == '-' || d[i - 1] == '-') return false;
    if (i == d.size()) return true;
    ++i;  // '.'
  }
}

bool is_valid_address_literal(std::string_view lit) {
  if (lit.size() < 3 || lit.front() != '[' || lit.back() != ']') return false;
  std::string_view in = lit.substr(1, lit.size() - 2);
  if (is_ipv4(in)) return true;
  std::size_t colon = in.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view tag = in.substr(0, colon);
  std::string_view rest = in.substr(colon + 1);
  if (iequals(tag, "IPv6")) return is_ipv6(rest);
  // General-address-literal = Standardized-tag ":" 1*dcontent; tag = Ldh-str.
  for (std::size_t k = 0; k < tag.size(); ++k) {
    auto c = static_cast<unsigned char>(tag[k]);
    if (!(is_alpha(c) || is_digit(c) || c == '-')) return false;
  }
  if (tag.back() == '-' || rest.empty()) return false;
  for (char ch : rest) {
    auto c = static_cast<unsigned char>(ch);
    if (!((c >= 33 && c <= 90) || (c >= 94 && c <= 126))) return false;  // dcontent
  }
  return true;
}

std::string path::local_part_unquoted() const {
  if (!quoted_) return local_;
  std::string out;
  for (std::size_t i = 1; i + 1 < local_.size(); ++i) {
    if (local_[i] == '\\' && i + 2 < local_.size()) ++i;
    out.push_back(local_[i]);
  }
  return out;
}

std::string path::address() const {
  if (null_) return {};
  if (postmaster_) return "Postmaster";
  return local_ + "@" + domain_;
}

// The parser proper; a friend of path.
struct path_parser {
  std::string_view s;
  std::size_t i = 0;
  std::size_t end = 0;  // parse limit (end of the token when not bracketed)
  path_kind kind;
  path_options opts;
  path out;

  bool at_end() const { return i >= end; }
  unsigned char peek() const { return static_cast<unsigned char>(s[i]); }

  std::expected<void, path_error> high_byte() {
    if (!opts.smtputf8) {
      return err(path_errc::non_ascii,
                 "non-ASCII address without the SMTPUTF8 parameter (RFC 6531)");
    }
    out.utf8_ = true;
    return {};
  }

  // Local-part = Dot-string / Quoted-string (RFC 5321 4.1.2; RFC 6531 3.3 adds UTF-8).
  std::expected<void, path_error> local_part() {
    std::size_t start = i;
    if (!at_end() && peek() == '"') {
      ++i;
      out.quoted_ = true;
      bool closed = false;
      while (!at_end()) {
        unsigned char c = peek();
        if (c == '"') {
          ++i;
          closed = true;
          break;
        }
        if (c == '\\') {  // quoted-pairSMTP = %d92 %d32-126
          ++i;
          if (at_end()) break;
          unsigned char q = peek();
          if (q < 32 || q > 126) return err(path_errc::syntax, "invalid quoted-pair in local part");
          ++i;
          continue;
        }
        if (c >= 0x80) {
          if (auto r = high_byte(); !r) return r;
          ++i;
          continue;
        }
        // qtextSMTP = %d32-33 / %d35-91 / %d93-126
        if (c < 32 || c > 126) return err(path_errc::syntax, "control character in local part");
        ++i;
      }
      if (!closed) return err(path_errc::syntax, "unterminated quoted local part");
    } else {
      bool need_atom = true;
      while (!at_end()) {
        unsigned char c = peek();
        if (c == '.') {
          if (need_atom) return err(path_errc::syntax, "empty atom in local part (dot misplaced)");
          need_atom = true;
          ++i;
          continue;
        }
        if (c >= 0x80) {
          if (auto r = high_byte(); !r) return r;
        } else if (!is_atext(c)) {
          break;
        }
        need_atom = false;
        ++i;
      }
      if (i == start) return err(path_errc::syntax, "missing local part");
      if (need_atom) return err(path_errc::syntax, "local part ends with a dot");
    }
    out.local_ = std::string(s.substr(start, i - start));
    if (out.utf8_ && !is_valid_utf8(out.local_))
      return err(path_errc::bad_utf8, "local part is not valid UTF-8");
    if (out.local_.size() > limits::kSmtpLocalPartMax)
      return err(path_errc::local_too_long,
                 "local part longer than 64 octets (RFC 5321 4.5.3.1.1)");
    return {};
  }

  // Domain / address-literal; stores the normalized form.
  std::expected<std::string, path_error> domain(bool allow_literal) {
    std::size_t start = i;
    if (!at_end() && peek() == '[') {
      if (!allow_literal) return err(path_errc::syntax, "address literal in source route");
      while (!at_end() && peek() != ']') {
        if (peek() >= 0x80) return err(path_errc::syntax, "invalid address literal");
        ++i;
      }
      if (at_end()) return err(path_errc::syntax, "unterminated address literal");
      ++i;
      std::string lit(s.substr(start, i - start));
      if (!is_valid_address_literal(lit)) return err(path_errc::syntax, "invalid address literal");
      if (lit.size() > limits::kSmtpDomainMax)
        return err(path_errc::domain_too_long, "domain longer than 255 octets");
      ascii::lower_in_place(lit);
      out.literal_ = true;
      return lit;
    }
    bool utf8 = false;
    while (!at_end()) {
      unsigned char c = peek();
      if (c >= 0x80) {
        if (auto r = high_byte(); !r) return std::unexpected(r.error());
        utf8 = true;
      } else if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.')) {
        break;
      }
      ++i;
    }
    std::string_view d = s.substr(start, i - start);
    if (d.empty()) return err(path_errc::syntax, "missing domain");
    if (d.size() > 1 && d.back() == '.') d.remove_suffix(1);  // lenient: one trailing dot
    if (d.size() > limits::kSmtpDomainMax)
      return err(path_errc::domain_too_long, "domain longer than 255 octets (RFC 5321 4.5.3.1.2)");
    if (utf8 && !is_valid_utf8(d)) return err(path_errc::bad_utf8, "domain is not valid UTF-8");
    if (!is_valid_domain(d, utf8)) {
      for (std::size_t k = 0, st = 0; k <= d.size(); ++k) {
        if (k == d.size() || d[k] == '.') {
          if (k - st > limits::kDnsLabelMax)
            return err(path_errc::domain_too_long, "domain label longer than 63 octets");
          st = k + 1;
        }
      }
      return err(path_errc::syntax, "invalid domain");
    }
    std::string norm(d);
    ascii::lower_in_place(norm);
    return norm;
  }

  std::expected<void, path_error> mailbox() {
    if (auto r = local_part(); !r) return r;
    if (at_end() || peek() != '@') return err(path_errc::syntax, "missing @domain");
    ++i;
    auto d = domain(true);
    if (!d) return std::unexpected(d.error());
    out.domain_ = std::move(*d);
    out.null_ = false;
    return {};
  }

  // A-d-l = At-domain *( "," At-domain ) ":" (RFC 5321 4.1.2); parsed and ignored.
  std::expected<void, path_error> source_route() {
    while (true) {
      if (at_end() || peek() != '@') return err(path_errc::syntax, "invalid source route");
      ++i;
      auto d = domain(false);
      if (!d) return std::unexpected(d.error());
      if (at_end()) return err(path_errc::syntax, "invalid source route");
      if (peek() == ',') {
        ++i;
        continue;
      }
      if (peek() == ':') {
        ++i;
        out.source_route_ = true;
        return {};
      }
      return err(path_errc::syntax, "invalid source route");
    }
  }

  std::expected<parsed_path, path_error> run() {
    if (icontains(s, kObfuscation)) {
      return err(path_errc::web_obfuscation,
                 "\"[email protected]\" is a web page's hidden address, not an e-mail address");
    }
    if (s.empty() || s.front() == ' ') return err(path_errc::syntax, "missing address");
    if (s.front() == '<') {
      end = s.size();
      i = 1;
      if (i < end && s[i] == '>') {
        if (kind == path_kind::forward) {
          return err(path_errc::null_not_allowed, "the null path <> is not a recipient");
        }
        return parsed_path{path{}, 2, true};
      }
      std::size_t close = s.find('>', 1);
      if (kind == path_kind::forward && close != std::string_view::npos &&
          iequals(s.substr(1, close - 1), "postmaster")) {
        out.postmaster_ = true;
        out.null_ = false;
        return parsed_path{std::move(out), close + 1, true};
      }
      if (i < end && peek() == '@') {
        if (auto r = source_route(); !r) return std::unexpected(r.error());
      }
      if (auto r = mailbox(); !r) return std::unexpected(r.error());
      if (at_end() || peek() != '>') return err(path_errc::syntax, "missing closing '>'");
      ++i;
      if (i > limits::kSmtpPathMax)
        return err(path_errc::path_too_long, "path longer than 256 octets (RFC 5321 4.5.3.1.3)");
      return parsed_path{std::move(out), i, true};
    }
    // Without brackets (lenient): the token up to the first space. A quoted local
    // part may contain spaces, so find the token end after the quotes.
    std::size_t tok_end = 0;
    if (s.front() == '"') {
      std::size_t k = 1;
      while (k < s.size() && s[k] != '"') k += (s[k] == '\\') ? 2 : 1;
      tok_end = std::min(s.find(' ', std::min(k, s.size())), s.size());
    } else {
      tok_end = std::min(s.find(' '), s.size());
    }
    end = tok_end;
    std::string_view tok = s.substr(0, tok_end);
    if (kind == path_kind::forward && iequals(tok, "postmaster")) {
      out.postmaster_ = true;
      out.null_ = false;
      return parsed_path{std::move(out), tok_end, false};
    }
    if (peek() == '@') {
      if (auto r = source_route(); !r) return std::unexpected(r.error());
    }
    if (auto r = mailbox(); !r) return std::unexpected(r.error());
    if (i != tok_end) return err(path_errc::syntax, "unexpected characters in address");
    if (tok_end + 2 > limits::kSmtpPathMax)
      return err(path_errc::path_too_long, "path longer than 256 octets (RFC 5321 4.5.3.1.3)");
    return parsed_path{std::move(out), tok_end, false};
  }
};

std::expected<parsed_path, path_error> parse_path_prefix(std::string_view text, path_kind kind,
                                                         path_options opts) {
  path_parser p{text, 0, text.size(), kind, opts, path{}};
  return p.run();
}

std::expected<path, path_error> parse_path(std::string_view text, path_kind kind,
                                           path_options opts) {
  auto r = parse_path_prefix(text, kind, opts);
  if (!r) return std::unexpected(r.error());
  if (r->consumed != text.size())
    return err(path_errc::syntax, "unexpected characters after the address");
  return std::move(r->value);
}

}  // namespace mxg::smtp
