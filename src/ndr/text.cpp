// text.cpp: string helpers of the bounce parser; see text.hpp.
// Security: all inputs are untrusted; every loop is bounded by the input size.
#include "ndr/text.hpp"

#include <algorithm>

#include "base/ascii.hpp"

namespace mxg::ndr::text {

namespace {
inline char lc(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
// Characters allowed in a dot-atom local part (RFC 5322 3.2.3) plus a few seen in NDRs.
inline bool is_local_char(char c) {
  return (ascii::is_alpha(static_cast<unsigned char>(c)) ||
          ascii::is_digit(static_cast<unsigned char>(c))) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
}
inline bool is_domain_char(char c) {
  return (ascii::is_alpha(static_cast<unsigned char>(c)) ||
          ascii::is_digit(static_cast<unsigned char>(c))) ||
         c == '-' || c == '.' || c == '_';
}
}  // namespace

std::string lower(std::string_view s) {
  return ascii::lower(s);
}

std::string_view trim(std::string_view s) {
  return ascii::trim_space(s);
}

bool iequals(std::string_view a, std::string_view b) {
  return ascii::iequals(a, b);
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from) {
  if (needle.empty()) return from <= hay.size() ? from : std::string_view::npos;
  if (hay.size() < needle.size()) return std::string_view::npos;
  const char first = lc(needle[0]);
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (lc(hay[i]) != first) continue;
    std::size_t j = 1;
    while (j < needle.size() && lc(hay[i + j]) == lc(needle[j])) ++j;
    if (j == needle.size()) return i;
  }
  return std::string_view::npos;
}

bool aligned(std::string_view hay, std::string_view pattern) {
  std::size_t pos = 0;
  while (true) {
    const auto star = pattern.find('*');
    const auto piece = pattern.substr(0, star);
    if (!piece.empty()) {
      const auto at = hay.find(piece, pos);
      if (at == std::string_view::npos) return false;
      pos = at + piece.size();
    }
    if (star == std::string_view::npos) return true;
    pattern.remove_prefix(star + 1);
  }
}

std::string normalize_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < s.size()) {
    auto nl = s.find('\n', start);
    if (nl == std::string_view::npos) nl = s.size();
    auto line = s.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = nl + 1;
  }
  return lines;
}

std::string squeeze(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (is_space(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> find_addresses(std::string_view s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = s.find('@', at)) != std::string_view::npos) {
    std::size_t b = at;
    while (b > 0 && is_local_char(s[b - 1])) --b;
    std::size_t e = at + 1;
    while (e < s.size() && is_domain_char(s[e])) ++e;
    auto local = s.substr(b, at - b);
    auto domain = s.substr(at + 1, e - at - 1);
    // RFC 5321 4.1.2 quoted local part: "a..b"@example.org
    if (at >= 2 && s[at - 1] == '"') {
      auto q = s.rfind('"', at - 2);
      if (q != std::string_view::npos && at - 1 - q <= 64 &&
          s.substr(q, at - q).find_first_of(" <>\n") == std::string_view::npos) {
        b = q;
        local = s.substr(b, at - b);
      }
    }
    while (!local.empty() && local.front() == '.') local.remove_prefix(1);
    while (!domain.empty() && (domain.back() == '.' || domain.back() == '-'))
      domain.remove_suffix(1);
    if (!local.empty() && domain.find('.') != std::string_view::npos && domain.front() != '.' &&
        domain.find("..") == std::string_view::npos) {
      out.push_back(std::string(local) + "@" + std::string(domain));
    }
    at = e > at ? e : at + 1;
  }
  return out;
}

std::string clean_address(std::string_view s) {
  s = trim(s);
  if (auto semi = s.find(';'); semi != std::string_view::npos && semi < 12) {
    // "rfc822; user@example.org" (RFC 3464 2.3.2 address-type)
    s = trim(s.substr(semi + 1));
  }
  auto found = find_addresses(s);
  if (!found.empty()) return found.front();
  while (!s.empty() && (s.front() == '<' || s.front() == '"' || s.front() == '\''))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == '>' || s.back() == '"' || s.back() == '\'' || s.back() == '.' ||
                        s.back() == ':' || s.back() == ','))
    s.remove_suffix(1);
  return std::string(s);
}

bool looks_like_address(std::string_view s) {
  return !find_addresses(s).empty();
}

std::string find_status(std::string_view s) {
  for (std::size_t i = 0; i + 5 <= s.size(); ++i) {
    const char c = s[i];
    if (c != '2' && c != '4' && c != '5') continue;
    if (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '.' ||
                  std::isalpha(static_cast<unsigned char>(s[i - 1]))))
      continue;
    if (s[i + 1] != '.') continue;
    std::size_t j = i + 2, d1 = 0;
    while (j < s.size() && is_digit(s[j]) && d1 < 3) ++j, ++d1;
    if (d1 == 0 || j >= s.size() || s[j] != '.') continue;
    std::size_t k = j + 1, d2 = 0;
    while (k < s.size() && is_digit(s[k]) && d2 < 3) ++k, ++d2;
    if (d2 == 0) continue;
    if (k < s.size() && (is_digit(s[k]) || (s[k] == '.' && k + 1 < s.size() && is_digit(s[k + 1]))))
      continue;  // 4th component: an IP address or a version
    return std::string(s.substr(i, k - i));
  }
  return {};
}

std::string find_last_status(std::string_view s) {
  // Transcripts end with the reply that failed, but may close with "221 2.0.0
  // Bye": the last failure (4.x.x/5.x.x) wins over any success code.
  std::string last, last_failure;
  for (std::size_t guard = 0; guard < 1000; ++guard) {
    auto st = find_status(s);
    if (st.empty()) break;
    last = st;
    if (st[0] != '2') last_failure = st;
    auto at = s.find(st);
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + st.size());
  }
  return last_failure.empty() ? last : last_failure;
}

namespace {
// Is the number at `i` the value of a field labelled as a code ("Error code:
// 550", "ERROR_CODE :421", "SMTP code = 421")? Such a value is a reply code
// whatever punctuation surrounds it.
bool labelled_code(std::string_view s, std::size_t i) {
  std::size_t k = i;
  while (k > 0 && s[k - 1] == ' ') --k;
  if (k == 0 || (s[k - 1] != ':' && s[k - 1] != '=')) return false;
  --k;
  while (k > 0 && s[k - 1] == ' ') --k;
  if (k < 4) return false;
  return iequals(s.substr(k - 4, 4), "code");  // "code", "error code", "ERROR_CODE"
}

std::string reply_code_at(std::string_view s, std::size_t& i) {
  for (; i + 3 <= s.size(); ++i) {
    const char c = s[i];
    if (c != '2' && c != '4' && c != '5') continue;
    if (!is_digit(s[i + 1]) || !is_digit(s[i + 2])) continue;
    if (s[i + 1] > '5') continue;
    if (labelled_code(s, i) && (i + 3 == s.size() || !is_digit(s[i + 3])))
      return std::string(s.substr(i++, 3));
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '.' ||
                  s[i - 1] == '#' || s[i - 1] == '-' || s[i - 1] == ':' || s[i - 1] == '/'))
      continue;
    if (i + 3 < s.size() && s[i + 3] != ' ' && s[i + 3] != '-' && s[i + 3] != '\t' &&
        s[i + 3] != ']' && s[i + 3] != ')')
      continue;
    return std::string(s.substr(i++, 3));
  }
  return {};
}
}  // namespace

std::string find_reply_code(std::string_view s) {
  // The first failure reply (4yz/5yz, RFC 5321 4.2.1); a success reply only
  // when there is no failure in the text.
  std::string first;
  std::size_t i = 0;
  for (std::size_t guard = 0; guard < 1000; ++guard) {
    auto code = reply_code_at(s, i);
    if (code.empty()) break;
    if (code[0] != '2') return code;
    if (first.empty()) first = code;
  }
  return first;
}

std::string find_command(std::string_view s) {
  // Ordered: the most specific phrases first.
  static constexpr std::pair<std::string_view, std::string_view> kPhrases[] = {
      {"in reply to rcpt to", "RCPT"},
      {"rcpt to response", "RCPT"},
      {"smtp:rcpt", "RCPT"},
      {"did not like our rcpt to", "RCPT"},
      {"does not like recipient", "RCPT"},
      {"[rcpt_to]", "RCPT"},
      {"after rcpt command", "RCPT"},
      {"did not like our mail from", "MAIL"},
      {"sender was rejected", "MAIL"},
      {"did not like our data", "DATA"},
      {"after data command", "DATA"},
      {"for text command", "DATA"},
      {"after rcpt to", "RCPT"},
      // The command itself carries its path in angle brackets (RFC 5321
      // 4.1.1.2-4.1.1.3); "RCPT TO: addr" without them is a label of a
      // message-details listing, not the command that failed.
      {"rcpt to:<", "RCPT"},
      {"rcpt to: <", "RCPT"},
      {"rcpt to <", "RCPT"},
      {"rcpt_to", "RCPT"},
      {"in reply to mail from", "MAIL"},
      {"after mail from", "MAIL"},
      {"mail from:<", "MAIL"},
      {"mail from: <", "MAIL"},
      {"in reply to end of data", "DATA"},
      {"after end of data", "DATA"},
      {"in reply to data", "DATA"},
      {"after data", "DATA"},
      {"in reply to ehlo", "EHLO"},
      {"in reply to helo", "HELO"},
      {"after ehlo", "EHLO"},
      {"after helo", "HELO"},
      {"after initial connection", "CONN"},
      {"while connected to", ""},
  };
  const std::string l = lower(squeeze(s));
  for (const auto& [phrase, cmd] : kPhrases)
    if (l.find(phrase) != std::string::npos) return std::string(cmd);
  return {};
}

std::string find_ip(std::string_view s) {
  // Prefer a bracketed literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"), then a
  // parenthesised one ("(192.0.2.1)").
  for (char open : {'[', '('}) {
    const char close = open == '[' ? ']' : ')';
    std::size_t pos = 0;
    while ((pos = s.find(open, pos)) != std::string_view::npos) {
      auto end = s.find(close, pos + 1);
      if (end == std::string_view::npos) break;
      auto inside = trim(s.substr(pos + 1, end - pos - 1));
      if (istarts_with(inside, "ipv6:")) inside.remove_prefix(5);
      // inside may be "host [ip]" or "ip" or "HELO x"; take the last token.
      if (auto sp = inside.rfind(' '); sp != std::string_view::npos) inside = inside.substr(sp + 1);
      if (auto eq = inside.find('='); eq != std::string_view::npos) inside = inside.substr(eq + 1);
      bool ok = !inside.empty() && inside.size() <= 45;
      int dots = 0, colons = 0;
      for (char c : inside) {
        if (c == '.')
          ++dots;
        else if (c == ':')
          ++colons;
        else if (!std::isxdigit(static_cast<unsigned char>(c)))
          ok = false;
      }
      if (ok && ((dots == 3 && colons == 0) || colons >= 2)) {
        if (dots == 3 && colons == 0) {
          for (char c : inside)
            if (c != '.' && !is_digit(c)) ok = false;
        }
        if (ok) return std::string(inside);
      }
      pos = end + 1;
    }
  }
  return {};
}

}  // namespace mxg::ndr::text
