// record.cpp: the SPF record parser (RFC 7208 4.5, 4.6.1, 5, 6, 7.1, 12 ABNF).
// Security: untrusted input; the parser reads each byte a bounded number of times,
// keeps views into its own copy, allocates only the term vectors and diagnostics.
#include "spf/record.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "base/ascii.hpp"
#include "spf/macro.hpp"

namespace mxg::spf {

char to_char(qualifier q) {
  switch (q) {
    case qualifier::pass:
      return '+';
    case qualifier::fail:
      return '-';
    case qualifier::softfail:
      return '~';
    case qualifier::neutral:
      return '?';
  }
  return '?';
}

const char* to_string(mechanism_kind k) {
  switch (k) {
    case mechanism_kind::all:
      return "all";
    case mechanism_kind::include:
      return "include";
    case mechanism_kind::a:
      return "a";
    case mechanism_kind::mx:
      return "mx";
    case mechanism_kind::ptr:
      return "ptr";
    case mechanism_kind::ip4:
      return "ip4";
    case mechanism_kind::ip6:
      return "ip6";
    case mechanism_kind::exists:
      return "exists";
  }
  return "?";
}

namespace {

using ascii::lower;
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

// Levenshtein distance for short names (suggestions only).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  if (a.size() > 16 || b.size() > 16) return 99;
  std::array<std::size_t, 17> prev{}, cur{};
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    prev = cur;
  }
  return prev[b.size()];
}

struct kind_name {
  std::string_view name;
  mechanism_kind kind;
};
constexpr std::array<kind_name, 8> kMechanisms{{{"all", mechanism_kind::all},
                                                {"include", mechanism_kind::include},
                                                {"a", mechanism_kind::a},
                                                {"mx", mechanism_kind::mx},
                                                {"ptr", mechanism_kind::ptr},
                                                {"ip4", mechanism_kind::ip4},
                                                {"ip6", mechanism_kind::ip6},
                                                {"exists", mechanism_kind::exists}}};

// RFC 7208 5.6 ip4-network: dotted quad, no leading zeros (qnum).
bool parse_ip4(std::string_view s, std::array<std::uint8_t, 4>& out) {
  std::size_t part = 0, i = 0;
  while (true) {
    if (i >= s.size() || !is_digit(s[i])) return false;
    std::size_t start = i;
    unsigned v = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) v = v * 10 + (s[i++] - '0');
    if (i < s.size() && is_digit(s[i])) return false;    // 4+ digits
    if (i - start > 1 && s[start] == '0') return false;  // leading zero
    if (v > 255) return false;
    out[part++] = static_cast<std::uint8_t>(v);
    if (part == 4) return i == s.size();
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
}

bool parse_ip6(std::string_view s, std::array<std::uint8_t, 16>& out) {
  if (s.empty() || s.size() > 45) return false;
  for (char c : s)
    if (!(is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f') || c == ':' || c == '.'))
      return false;
  char buf[64];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  return inet_pton(AF_INET6, buf, out.data()) == 1;
}

// "/" 1*DIGIT, no leading zero (RFC 7208 5.6 and the suite's cidr4-032), value <= max.
// Returns empty on success, else the reason.
std::string parse_cidr_digits(std::string_view digits, unsigned max, std::uint8_t& out,
                              const char* which) {
  if (digits.empty()) return std::string("missing ") + which + " CIDR length after '/'";
  if (digits.size() > 1 && digits[0] == '0')
    return std::string(which) + " CIDR length /" + std::string(digits) + " has a leading zero";
  unsigned v = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::string("bad ") + which + " CIDR length /" + std::string(digits);
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 1000) break;
  }
  if (v > max)
    return std::string(which) + " CIDR length /" + std::string(digits) + " is out of range 0-" +
           std::to_string(max);
  out = static_cast<std::uint8_t>(v);
  return {};
}

// "-all" glued to the term before it, e.g. "include:_spf.example.com-all" or "mx~all".
std::string glued_all(std::string_view term) {
  if (term.size() < 5) return {};
  auto tail = term.substr(term.size() - 4);
  if ((tail[0] == '-' || tail[0] == '~' || tail[0] == '?' || tail[0] == '+') &&
      iequals(tail.substr(1), "all"))
    return "\"" + std::string(tail) + "\" is glued to the term before it; put a space before \"" +
           std::string(tail) + "\"";
  return {};
}

}  // namespace

std::string check_domain_spec(std::string_view spec) {
  if (spec.empty()) return "empty domain-spec";
  macro_check facts;
  if (auto e = check_macro_string(spec, macro_context::domain, &facts))
    return e->reason + " at position " + std::to_string(e->offset) + " of the domain-spec";
  if (facts.ends_with_macro) return {};
  std::string_view s = spec;
  if (s.back() == '.') s.remove_suffix(1);
  auto dot = s.rfind('.');
  if (dot == std::string_view::npos)
    return "domain-spec \"" + std::string(spec) +
           "\" must end in a top-level label such as .com, or in a macro (RFC 7208 7.1)";
  auto top = s.substr(dot + 1);
  if (top.empty()) return "empty top-level label in \"" + std::string(spec) + "\"";
  bool has_alpha = false, has_dash = false;
  for (char c : top) {
    if (c == '-') {
      has_dash = true;
    } else if (!is_alnum(c)) {
      return "top-level label \"" + std::string(top) + "\" may hold only letters, digits and '-'";
    }
    if (is_alpha(c)) has_alpha = true;
  }
  if (has_dash) {
    if (top.front() == '-' || top.back() == '-')
      return "top-level label \"" + std::string(top) + "\" may not begin or end with '-'";
    return {};
  }
  if (!has_alpha) return "top-level label \"" + std::string(top) + "\" is all numeric";
  return {};
}

std::string diagnostic::to_string() const {
  std::string out = reason;
  if (!term.empty()) {
    out += " \"";
    for (unsigned char c : term) {
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        out += static_cast<char>(c);
      } else {
        static constexpr char hex[] = "0123456789ABCDEF";
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    out += '"';
  }
  out += " at offset " + std::to_string(offset);
  if (!suggestion.empty()) out += " (" + suggestion + ")";
  return out;
}

bool is_spf_record(std::string_view txt) {
  if (txt.size() < 6 || !iequals(txt.substr(0, 6), "v=spf1")) return false;
  return txt.size() == 6 || txt[6] == ' ';
}

// ---------------------------------------------------------------- record copies

namespace {
std::string_view rebase(std::string_view v, const char* from, const char* to) {
  if (v.data() == nullptr) return v;
  return {to + (v.data() - from), v.size()};
}
}  // namespace

void record::rebase_from(const record& o) {
  size_ = o.size_;
  buf_ = std::make_unique<char[]>(size_ + 1);
  if (size_) std::memcpy(buf_.get(), o.buf_.get(), size_);
  mechs_ = o.mechs_;
  mods_ = o.mods_;
  redirect_ = o.redirect_;
  exp_ = o.exp_;
  const char* from = o.buf_.get();
  const char* to = buf_.get();
  for (auto& m : mechs_) {
    m.text = rebase(m.text, from, to);
    m.domain_spec = rebase(m.domain_spec, from, to);
  }
  for (auto& m : mods_) {
    m.name = rebase(m.name, from, to);
    m.value = rebase(m.value, from, to);
    m.text = rebase(m.text, from, to);
  }
}

record::record(const record& o) {
  rebase_from(o);
}

record& record::operator=(const record& o) {
  if (this != &o) rebase_from(o);
  return *this;
}

// ---------------------------------------------------------------- parser

class parser {
 public:
  parser(std::string_view text, std::vector<diagnostic>* all) : all_(all) {
    rec_.size_ = text.size();
    rec_.buf_ = std::make_unique<char[]>(text.size() + 1);
    if (!text.empty()) std::memcpy(rec_.buf_.get(), text.data(), text.size());
  }

  parse_result run() {
    std::string_view t = rec_.text();
    if (!is_spf_record(t)) {
      auto sp = t.find(' ');
      fail(std::string(t.substr(0, sp)), 0, "not an SPF record",
           "an SPF record begins with \"v=spf1\" followed by a space (RFC 7208 4.5)");
      return std::unexpected(first_);
    }
    // One allocation for the term vector: at most one term per space-separated word.
    rec_.mechs_.reserve(static_cast<std::size_t>(std::count(t.begin(), t.end(), ' ')) + 1);
    std::size_t i = 6;
    // RFC 7208 12: record = version terms *SP; terms = *( 1*SP ( directive / modifier ) )
    while (i < t.size()) {
      if (t[i] == ' ') {
        ++i;
        continue;
      }
      std::size_t end = t.find(' ', i);
      if (end == std::string_view::npos) end = t.size();
      term(t.substr(i, end - i), i);
      if (failed_ && !all_) break;
      i = end;
    }
    if (failed_) return std::unexpected(first_);
    return std::move(rec_);
  }

 private:
  void fail(std::string term, std::size_t offset, std::string reason, std::string suggestion = {}) {
    diagnostic d{std::move(term), offset, std::move(reason), std::move(suggestion)};
    if (!failed_) first_ = d;
    failed_ = true;
    if (all_) all_->push_back(std::move(d));
  }
  void fail(std::string_view term, std::size_t offset, std::string reason,
            std::string suggestion = {}) {
    if (suggestion.empty()) suggestion = glued_all(term);
    fail(std::string(term), offset, std::move(reason), std::move(suggestion));
  }

  // First byte that is not 7-bit printable ASCII (RFC 7208 3.1 / 4.6.1), or npos.
  static std::size_t bad_char(std::string_view t) {
    for (std::size_t i = 0; i < t.size(); ++i) {
      auto c = static_cast<unsigned char>(t[i]);
      if (c < 0x21 || c > 0x7e) return i;
    }
    return std::string_view::npos;
  }

  void term(std::string_view t, std::size_t off) {
    if (auto b = bad_char(t); b != std::string_view::npos) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(t[b]));
      std::string sugg = static_cast<unsigned char>(t[b]) < 0x20
                             ? "terms are separated by spaces only; remove the control character"
                             : "SPF records are 7-bit ASCII; remove the character (a pasted "
                               "typographic dash or byte-order mark?)";
      fail(t, off,
           std::string("invalid character ") + hex + " at position " + std::to_string(b) +
               " of term",
           std::move(sugg));
      return;
    }
    // RFC 7208 12: modifier = name "=" ...; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    if (is_alpha(t[0])) {
      std::size_t k = 1;
      while (k < t.size() && (is_alnum(t[k]) || t[k] == '-' || t[k] == '_' || t[k] == '.')) ++k;
      if (k < t.size() && t[k] == '=') {
        modifier_term(t, off, t.substr(0, k), t.substr(k + 1));
        return;
      }
    }
    mechanism_term(t, off);
  }

  void modifier_term(std::string_view t, std::size_t off, std::string_view name,
                     std::string_view value) {
    modifier m;
    m.name = name;
    m.value = value;
    m.text = t;
    m.offset = off;
    if (iequals(name, "redirect")) {
      m.kind = modifier_kind::redirect;
    } else if (iequals(name, "exp")) {
      m.kind = modifier_kind::exp;
    }
    if (m.kind != modifier_kind::unknown) {
      const char* nm = m.kind == modifier_kind::redirect ? "redirect" : "exp";
      int& slot = m.kind == modifier_kind::redirect ? rec_.redirect_ : rec_.exp_;
      if (slot >= 0) {
        fail(t, off, std::string("duplicate ") + nm + "= modifier",
             std::string("a record may hold one ") + nm +
                 "= (RFC 7208 6); the first is at offset " +
                 std::to_string(rec_.mods_[slot].offset));
        return;
      }
      if (value.empty()) {
        fail(t, off, std::string("empty domain-spec in modifier"),
             std::string(nm) + "= needs a domain, e.g. " + nm + "=_spf.example.com");
        return;
      }
      if (auto why = check_domain_spec(value); !why.empty()) {
        fail(t, off, "invalid domain-spec (" + why + ") in modifier", glued_all(t));
        return;
      }
      macro_check facts;
      check_macro_string(value, macro_context::domain, &facts);
      m.uses_p_macro = facts.uses_p;
      slot = static_cast<int>(rec_.mods_.size());
    } else {
      // RFC 7208 6: unknown-modifier = name "=" macro-string; ignored, but must parse.
      if (auto e = check_macro_string(value, macro_context::domain)) {
        fail(t, off, "invalid macro-string (" + e->reason + ") in modifier");
        return;
      }
    }
    rec_.mods_.push_back(m);
  }

  std::string unknown_suggestion(std::string_view name, std::string_view arg) {
    std::string n = to_lower(name);
    if (n == "ipv4" || n == "ip" || n == "ip4addr" || n == "inet") return "did you mean ip4:?";
    if (n == "ipv6" || n == "inet6") return "did you mean ip6:?";
    if (n == "redirect" || n == "exp")
      return "did you mean " + n + "=? " + n + " is a modifier, written with '='";
    if (n.size() > 3 && n.starts_with("all")) return "\"all\" takes no argument";
    if (auto g = glued_all(name); !g.empty()) return g;
    if (n.find('=') != std::string::npos) {
      auto eq = n.find('=');
      if (eq == 0) return "a modifier needs a name before '='";
      return "modifier names begin with a letter and hold only letters, digits, '-', '_', '.'";
    }
    std::string best;
    std::size_t bestd = 3;
    for (const auto& k : kMechanisms) {
      if (k.name.size() < 3) continue;
      auto d = edit_distance(n, k.name);
      if (d < bestd && d <= (k.name.size() > 4 ? 2u : 1u)) {
        bestd = d;
        best = std::string(k.name);
      }
    }
    for (std::string_view mod : {"redirect"}) {
      auto d = edit_distance(n, mod);
      if (d < bestd && d <= 2) {
        bestd = d;
        best = std::string(mod);
      }
    }
    if (!best.empty()) {
      if (best == "redirect") return "did you mean redirect=?";
      bool takes_colon = best != "all";
      return "did you mean " + best + (takes_colon && !arg.empty() ? ":" : "") + "?";
    }
    return {};
  }

  // a, mx: [ ":" domain-spec ] [ dual-cidr-length ]; strips the cidr from the end of s.
  // Returns false (after reporting) on a bad CIDR length.
  bool dual_cidr(std::string_view t, std::size_t off, std::string_view& s, mechanism& m) {
    auto digits_start = [&](std::size_t end) {
      std::size_t k = end;
      while (k > 0 && is_digit(s[k - 1])) --k;
      return k;
    };
    std::size_t end = s.size();
    std::size_t k = digits_start(end);
    if (k >= 2 && s[k - 1] == '/' && s[k - 2] == '/') {
      auto why = parse_cidr_digits(s.substr(k, end - k), 128, m.cidr6, "ip6");
      if (k == end) why = "missing ip6 CIDR length after '//'";
      if (!why.empty()) {
        fail(t, off, why + " in mechanism", "IPv6 prefix lengths are 0-128, after \"//\"");
        return false;
      }
      m.has_cidr6 = true;
      end = k - 2;
    }
    k = digits_start(end);
    if (k >= 1 && k < end && s[k - 1] == '/' && !(k >= 2 && s[k - 2] == '/')) {
      auto why = parse_cidr_digits(s.substr(k, end - k), 32, m.cidr4, "ip4");
      if (!why.empty()) {
        fail(t, off, why + " in mechanism",
             "IPv4 prefix lengths are 0-32; an IPv6 length is written after \"//\", e.g. "
             "a/24//64");
        return false;
      }
      m.has_cidr4 = true;
      end = k - 1;
    }
    s = s.substr(0, end);
    return true;
  }

  void mechanism_term(std::string_view t, std::size_t off) {
    mechanism m;
    m.text = t;
    m.offset = off;
    std::string_view rest = t;
    switch (rest[0]) {  // RFC 7208 4.6.2
      case '+':
        m.qual = qualifier::pass;
        break;
      case '-':
        m.qual = qualifier::fail;
        break;
      case '~':
        m.qual = qualifier::softfail;
        break;
      case '?':
        m.qual = qualifier::neutral;
        break;
      default:
        break;
    }
    if (rest[0] == '+' || rest[0] == '-' || rest[0] == '~' || rest[0] == '?') {
      m.explicit_qualifier = true;
      rest.remove_prefix(1);
    }
    std::size_t ne = rest.find_first_of(":/");
    std::string_view name = rest.substr(0, ne);
    std::string_view arg = ne == std::string_view::npos ? std::string_view{} : rest.substr(ne);
    bool known = false;
    for (const auto& k : kMechanisms) {
      if (iequals(name, k.name)) {
        m.kind = k.kind;
        known = true;
        break;
      }
    }
    if (!known) {
      if (rest.empty()) {
        fail(t, off, "qualifier without a mechanism", "write e.g. \"-all\"");
        return;
      }
      std::string sugg = unknown_suggestion(name, arg);
      fail(t, off, "unknown mechanism", std::move(sugg));
      return;
    }
    const char* kn = to_string(m.kind);
    switch (m.kind) {
      case mechanism_kind::all:
        if (!arg.empty()) {
          fail(t, off, "\"all\" takes no argument in mechanism",
               "write \"" + std::string(t.substr(0, t.size() - arg.size())) + "\"");
          return;
        }
        break;
      case mechanism_kind::include:
      case mechanism_kind::exists:
        if (arg.empty() || arg[0] != ':') {
          fail(t, off, std::string(kn) + " needs \":domain\" in mechanism",
               arg.empty() ? std::string("write ") + kn + ":_spf.example.com"
                           : std::string(kn) + " takes no CIDR length");
          return;
        }
        if (!domain(t, off, arg.substr(1), m)) return;
        break;
      case mechanism_kind::ptr:
        if (!arg.empty()) {
          if (arg[0] != ':') {
            fail(t, off, "ptr takes no CIDR length in mechanism");
            return;
          }
          if (!domain(t, off, arg.substr(1), m)) return;
        }
        break;
      case mechanism_kind::a:
      case mechanism_kind::mx: {
        std::string_view s = arg;
        bool colon = !s.empty() && s[0] == ':';
        if (colon) s.remove_prefix(1);
        if (!dual_cidr(t, off, s, m)) return;
        if (colon) {
          if (!domain(t, off, s, m)) return;
        } else if (!s.empty()) {
          fail(t, off, std::string("bad CIDR length in mechanism"),
               std::string("write ") + kn + "/24, " + kn + "//64 or " + kn + "/24//64");
          return;
        }
        break;
      }
      case mechanism_kind::ip4:
      case mechanism_kind::ip6:
        if (!ip_network(t, off, arg, m)) return;
        break;
    }
    rec_.mechs_.push_back(m);
  }

  bool domain(std::string_view t, std::size_t off, std::string_view spec, mechanism& m) {
    const char* kn = to_string(m.kind);
    if (spec.empty()) {
      fail(t, off, "empty domain-spec in mechanism",
           std::string("write ") + kn + ":example.com" +
               (m.kind == mechanism_kind::a || m.kind == mechanism_kind::mx ||
                        m.kind == mechanism_kind::ptr
                    ? std::string(" or just ") + kn + " for the current domain"
                    : std::string()));
      return false;
    }
    if (auto why = check_domain_spec(spec); !why.empty()) {
      std::string sugg = glued_all(t);
      std::array<std::uint8_t, 4> v4{};
      std::array<std::uint8_t, 16> v6{};
      if (sugg.empty() && (m.kind == mechanism_kind::a || m.kind == mechanism_kind::mx)) {
        if (parse_ip4(spec, v4))
          sugg = "use ip4:" + std::string(spec) + " for an address";
        else if (parse_ip6(spec, v6))
          sugg = "use ip6:" + std::string(spec) + " for an address";
      }
      if (sugg.empty() && m.kind == mechanism_kind::include && spec.find('/') != spec.npos)
        sugg = "include takes no CIDR length";
      fail(t, off, "invalid domain-spec (" + why + ") in mechanism", std::move(sugg));
      return false;
    }
    macro_check facts;
    check_macro_string(spec, macro_context::domain, &facts);
    m.uses_p_macro = facts.uses_p;
    m.domain_spec = spec;
    return true;
  }

  // ip4 / ip6: ":" network [ "/" length ] (RFC 7208 5.6).
  bool ip_network(std::string_view t, std::size_t off, std::string_view arg, mechanism& m) {
    bool v4 = m.kind == mechanism_kind::ip4;
    const char* kn = v4 ? "ip4" : "ip6";
    if (arg.empty() || arg[0] != ':') {
      fail(t, off, std::string(kn) + " needs \":address\" in mechanism",
           std::string("write ") + (v4 ? "ip4:192.0.2.0/24" : "ip6:2001:db8::/32"));
      return false;
    }
    std::string_view v = arg.substr(1);
    auto slash = v.find('/');
    std::string_view addr = v.substr(0, slash);
    if (v.find('%') != std::string_view::npos) {
      fail(t, off, std::string("macro in ") + kn + " mechanism",
           std::string("macros are not expanded in ") + kn +
               ": (RFC 7208 5.6); write the network literally, or use exists: for lookups");
      return false;
    }
    std::array<std::uint8_t, 4> b4{};
    std::array<std::uint8_t, 16> b6{};
    if (v4) {
      if (!parse_ip4(addr, b4)) {
        std::string sugg;
        if (parse_ip6(addr, b6))
          sugg = "an IPv6 address goes in ip6:";
        else if (addr.find(':') != addr.npos)
          sugg = "a port number is not allowed";
        else if (std::count(addr.begin(), addr.end(), '.') < 3 && !addr.empty())
          sugg = "write all four octets and a CIDR length, e.g. ip4:192.0.2.0/24";
        else if (addr.empty())
          sugg = "write ip4:192.0.2.1";
        fail(t, off, "invalid IPv4 address in mechanism", std::move(sugg));
        return false;
      }
      m.network = net::ip_address::v4(b4);
    } else {
      if (!parse_ip6(addr, b6)) {
        std::string sugg;
        if (parse_ip4(addr, b4)) sugg = "an IPv4 address goes in ip4:";
        fail(t, off, "invalid IPv6 address in mechanism", std::move(sugg));
        return false;
      }
      m.network = net::ip_address::v6(b6);
    }
    if (slash != std::string_view::npos) {
      std::uint8_t len = 0;
      auto why = parse_cidr_digits(v.substr(slash + 1), v4 ? 32 : 128, len, kn);
      if (!why.empty()) {
        std::string sugg = glued_all(t);
        if (sugg.empty())
          sugg = v4 ? "IPv4 prefix lengths are 0-32, e.g. ip4:192.0.2.0/24"
                    : "IPv6 prefix lengths are 0-128 after one '/', e.g. ip6:2001:db8::/32";
        fail(t, off, why + " in mechanism", std::move(sugg));
        return false;
      }
      (v4 ? m.has_cidr4 : m.has_cidr6) = true;
      (v4 ? m.cidr4 : m.cidr6) = len;
    }
    return true;
  }

  record rec_;
  std::vector<diagnostic>* all_;
  diagnostic first_;
  bool failed_ = false;
};

parse_result parse(std::string_view text) {
  return parser(text, nullptr).run();
}

parse_result parse(std::string_view text, std::vector<diagnostic>& all) {
  return parser(text, &all).run();
}

}  // namespace mxg::spf
