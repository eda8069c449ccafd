// zone_file.cpp: RFC 1035 5.1 master-file tokenizer and loader (see zone_file.hpp).
#include "dns/zone_file.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "base/ascii.hpp"
#include "base/limits.hpp"

namespace mxg::dns {

namespace {

struct token {
  std::string raw;  // as written, escapes not decoded, quotes removed
  bool quoted = false;
  int line = 0;
};

struct entry {
  std::vector<token> tokens;
  bool blank_owner = false;  // the first line started with white space (RFC 1035 5.1)
  int line = 0;
};

struct parsed_rr {
  bool timeout = false;
  record rr;
  std::string origin;  // $ORIGIN in effect, for empty non-terminals
};

class loader {
 public:
  loader(std::string_view src, std::string origin) : src_(src), origin_(std::move(origin)) {}

  result<std::vector<parsed_rr>> run(std::string_view text) {
    auto entries = tokenize(text);
    if (!entries) return std::unexpected(entries.error());
    std::vector<parsed_rr> out;
    for (auto& e : *entries) {
      if (auto r = handle(e, out); !r) return std::unexpected(r.error());
    }
    return out;
  }

 private:
  std::unexpected<error> err(int line, const std::string& what) const {
    return fail(errc::parse_error, std::string(src_) + ":" + std::to_string(line) + ": " + what);
  }

  // RFC 1035 5.1: entries end at a newline outside parentheses; ';' starts a comment;
  // quoted strings keep white space; '\' escapes the next character.
  result<std::vector<entry>> tokenize(std::string_view t) {
    std::vector<entry> entries;
    entry cur;
    int line = 1, depth = 0, paren_line = 0;
    bool line_start = true;
    auto flush = [&] {
      if (!cur.tokens.empty()) entries.push_back(std::move(cur));
      cur = entry{};
    };
    std::size_t i = 0;
    while (i < t.size()) {
      char c = t[i];
      if (line_start) {
        line_start = false;
        if (depth == 0) {
          cur.blank_owner = (c == ' ' || c == '\t');
          cur.line = line;
        }
      }
      if (c == '\n') {
        ++line;
        line_start = true;
        if (depth == 0) flush();
        ++i;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
      } else if (c == ';') {
        while (i < t.size() && t[i] != '\n') ++i;
      } else if (c == '(') {
        if (depth == 0) paren_line = line;
        ++depth;
        ++i;
      } else if (c == ')') {
        if (depth == 0) return err(line, "')' without '('");
        --depth;
        ++i;
      } else if (c == '"') {
        token tk{"", true, line};
        ++i;
        bool closed = false;
        while (i < t.size()) {
          if (t[i] == '\\' && i + 1 < t.size()) {
            if (t[i + 1] == '\n') return err(line, "escaped newline in a quoted string");
            tk.raw += t[i];
            tk.raw += t[i + 1];
            i += 2;
          } else if (t[i] == '"') {
            closed = true;
            ++i;
            break;
          } else if (t[i] == '\n') {
            break;
          } else {
            tk.raw += t[i++];
          }
        }
        if (!closed) return err(line, "unterminated quoted string");
        cur.tokens.push_back(std::move(tk));
      } else {
        token tk{"", false, line};
        while (i < t.size()) {
          char d = t[i];
          if (d == ' ' || d == '\t' || d == '\r' || d == '\n' || d == ';' || d == '(' || d == ')' ||
              d == '"')
            break;
          if (d == '\\' && i + 1 < t.size() && t[i + 1] != '\n') {
            tk.raw += d;
            tk.raw += t[i + 1];
            i += 2;
            continue;
          }
          tk.raw += d;
          ++i;
        }
        cur.tokens.push_back(std::move(tk));
      }
    }
    if (depth != 0) return err(paren_line, "'(' not closed before the end of the file");
    flush();
    return entries;
  }

  // RFC 1035 5.1: \X is X, \DDD is the octet DDD (decimal).
  result<std::string> unescape(const token& tk) const {
    std::string out;
    const std::string& s = tk.raw;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\') {
        out += s[i];
        continue;
      }
      if (i + 1 >= s.size()) return err(tk.line, "dangling '\\'");
      if (std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        int v = 0;
        for (int k = 1; k <= 3; ++k) {
          if (i + k >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i + k])))
            return err(tk.line, "\\DDD escape needs three digits");
          v = v * 10 + (s[i + k] - '0');
        }
        if (v > 255) return err(tk.line, "\\DDD escape above 255");
        out += static_cast<char>(v);
        i += 3;
      } else {
        out += s[i + 1];
        ++i;
      }
    }
    return out;
  }

  // A domain name field: "@", absolute ("a.example."), or relative to $ORIGIN.
  result<std::string> name(const token& tk) const {
    if (tk.quoted) return err(tk.line, "a domain name cannot be quoted");
    if (tk.raw == "@") {
      if (origin_.empty()) return err(tk.line, "'@' used with no $ORIGIN");
      return origin_;
    }
    if (tk.raw == ".") return std::string();  // the root, e.g. a null MX (RFC 7505)
    // Escaped dots cannot be represented in memory_zone's text names.
    for (std::size_t i = 0; i + 1 < tk.raw.size(); ++i) {
      if (tk.raw[i] == '\\') {
        if (tk.raw[i + 1] == '.') return err(tk.line, "'\\.' inside a label is not supported");
        ++i;
      }
    }
    bool absolute = !tk.raw.empty() && tk.raw.back() == '.' &&
                    (tk.raw.size() < 2 || tk.raw[tk.raw.size() - 2] != '\\');
    auto text = unescape(tk);
    if (!text) return std::unexpected(text.error());
    std::string n = *text;
    if (absolute) {
      n.pop_back();
    } else if (!origin_.empty()) {
      n += "." + origin_;
    }
    if (n.empty() || n.front() == '.' || n.find("..") != std::string::npos)
      return err(tk.line, "empty label in name \"" + tk.raw + "\"");
    if (n.size() > limits::kDnsNameMax) return err(tk.line, "name longer than 253 characters");
    std::size_t start = 0;
    while (start <= n.size()) {
      auto dot = n.find('.', start);
      auto len = (dot == std::string::npos ? n.size() : dot) - start;
      if (len > limits::kDnsLabelMax)
        return err(tk.line, "label longer than 63 octets in \"" + tk.raw + "\"");
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return normalize_name(n);
  }

  static std::optional<std::uint32_t> parse_ttl(std::string_view s) {
    // Plain seconds, or BIND units: 1w2d3h4m5s (case-insensitive).
    if (s.empty()) return std::nullopt;
    std::uint64_t total = 0, num = 0;
    bool have_num = false, used_unit = false;
    for (char c : s) {
      if (c >= '0' && c <= '9') {
        num = num * 10 + static_cast<std::uint64_t>(c - '0');
        if (num > kDnsTtlMax) return std::nullopt;
        have_num = true;
        continue;
      }
      if (!have_num) return std::nullopt;
      std::uint64_t mult = 0;
      switch (ascii::to_lower(c)) {
        case 's':
          mult = 1;
          break;
        case 'm':
          mult = 60;
          break;
        case 'h':
          mult = 3600;
          break;
        case 'd':
          mult = 86400;
          break;
        case 'w':
          mult = 604800;
          break;
        default:
          return std::nullopt;
      }
      total += num * mult;
      num = 0;
      have_num = false;
      used_unit = true;
    }
    if (have_num) {
      if (used_unit) return std::nullopt;  // "1h30" is ambiguous
      total += num;
    }
    if (total > kDnsTtlMax) return std::nullopt;
    return static_cast<std::uint32_t>(total);
  }

  result<std::uint32_t> number(const token& tk, std::uint64_t max, const char* what) const {
    if (tk.quoted || tk.raw.empty() || tk.raw.size() > 10 ||
        tk.raw.find_first_not_of("0123456789") != std::string::npos)
      return err(tk.line, std::string("bad ") + what + " \"" + tk.raw + "\"");
    std::uint64_t v = std::stoull(tk.raw);
    if (v > max) return err(tk.line, std::string(what) + " out of range: " + tk.raw);
    return static_cast<std::uint32_t>(v);
  }

  result<void> handle(entry& e, std::vector<parsed_rr>& out) {
    auto& tk = e.tokens;
    const int line = e.line;
    if (!e.blank_owner && !tk[0].quoted && tk[0].raw.starts_with("$")) {
      std::string dir = tk[0].raw;
      dir = ascii::upper(dir);
      if (dir == "$ORIGIN") {
        if (tk.size() != 2) return err(line, "$ORIGIN takes one domain name");
        auto n = name(tk[1]);
        if (!n) return std::unexpected(n.error());
        origin_ = *n;
        return {};
      }
      if (dir == "$TTL") {
        if (tk.size() != 2) return err(line, "$TTL takes one value");
        auto v = parse_ttl(tk[1].raw);
        if (!v || tk[1].quoted) return err(line, "bad $TTL value \"" + tk[1].raw + "\"");
        default_ttl_ = *v;
        return {};
      }
      return err(line, tk[0].raw + " is not supported");
    }
    std::size_t i = 0;
    std::string owner;
    if (e.blank_owner) {
      if (!last_owner_) return err(line, "record with no owner name and no previous owner");
      owner = *last_owner_;
    } else {
      auto n = name(tk[0]);
      if (!n) return std::unexpected(n.error());
      owner = *n;
      i = 1;
    }
    last_owner_ = owner;
    // [<TTL>] [<class>] or [<class>] [<TTL>] (RFC 1035 5.1)
    std::optional<std::uint32_t> ttl;
    bool have_class = false;
    for (int k = 0; k < 2 && i < tk.size(); ++k) {
      std::string up = tk[i].raw;
      up = ascii::upper(up);
      if (!ttl && !tk[i].quoted && !tk[i].raw.empty() &&
          std::isdigit(static_cast<unsigned char>(tk[i].raw[0]))) {
        auto v = parse_ttl(tk[i].raw);
        if (!v) return err(tk[i].line, "bad TTL \"" + tk[i].raw + "\"");
        ttl = *v;
        ++i;
      } else if (!have_class && (up == "IN" || up == "CH" || up == "HS" || up == "CS")) {
        if (up != "IN") return err(tk[i].line, "class " + up + " is not supported (only IN)");
        have_class = true;
        ++i;
      } else {
        break;
      }
    }
    if (i >= tk.size()) return err(line, "missing record type");
    const token& type_tk = tk[i++];
    std::string type = type_tk.raw;
    type = ascii::upper(type);
    if (ttl) last_ttl_ = *ttl;
    parsed_rr p;
    p.origin = origin_;
    p.rr.name = owner;
    // RFC 2308 4: $TTL applies to records without one; before $TTL existed, the last
    // explicit TTL did (RFC 1035 5.1). Neither: kZoneDefaultTtl.
    p.rr.ttl = ttl ? *ttl : default_ttl_ ? *default_ttl_ : last_ttl_ ? *last_ttl_ : kZoneDefaultTtl;
    const std::size_t nrdata = tk.size() - i;
    auto want = [&](std::size_t n) -> result<void> {
      if (nrdata != n)
        return err(line, type + " needs " + std::to_string(n) + " RDATA field" +
                             (n == 1 ? "" : "s") + ", found " + std::to_string(nrdata));
      return {};
    };
    auto addr = [&](bool v6) -> result<void> {
      if (auto r = want(1); !r) return r;
      auto ip = net::ip_address::parse(tk[i].raw);
      if (!ip || ip->is_v6() != v6 || tk[i].quoted)
        return err(tk[i].line,
                   std::string("bad ") + (v6 ? "IPv6" : "IPv4") + " address \"" + tk[i].raw + "\"");
      p.rr.addr = *ip;
      return {};
    };
    auto target = [&](const token& t) -> result<void> {
      auto n = name(t);
      if (!n) return std::unexpected(n.error());
      p.rr.target = *n;
      return {};
    };
    result<void> r;
    if (type == "A") {
      p.rr.type = rrtype::a;
      r = addr(false);
    } else if (type == "AAAA") {
      p.rr.type = rrtype::aaaa;
      r = addr(true);
    } else if (type == "CNAME" || type == "NS" || type == "PTR") {
      p.rr.type = type == "CNAME" ? rrtype::cname : type == "NS" ? rrtype::ns : rrtype::ptr;
      r = want(1);
      if (r) r = target(tk[i]);
    } else if (type == "MX") {
      p.rr.type = rrtype::mx;
      r = want(2);
      if (r) {
        auto pref = number(tk[i], 65535, "MX preference");
        if (!pref) return std::unexpected(pref.error());
        p.rr.preference = static_cast<std::uint16_t>(*pref);
        r = target(tk[i + 1]);
      }
    } else if (type == "TXT" || type == "SPF") {
      p.rr.type = type == "TXT" ? rrtype::txt : rrtype::spf;
      if (nrdata == 0) return err(line, type + " needs at least one character-string");
      for (std::size_t k = i; k < tk.size(); ++k) {
        auto s = unescape(tk[k]);
        if (!s) return std::unexpected(s.error());
        if (s->size() > limits::kDnsTxtStringMax)  // RFC 1035 3.3
          return err(
              tk[k].line,
              "character-string longer than 255 octets (split it into several quoted strings)");
        p.rr.strings.push_back(std::move(*s));
      }
    } else if (type == "SOA") {
      p.rr.type = rrtype::soa;
      r = want(7);
      if (r) r = target(tk[i]);
      if (r) {
        auto rn = name(tk[i + 1]);
        if (!rn) return std::unexpected(rn.error());
        p.rr.rname = *rn;
        auto serial = number(tk[i + 2], 0xffffffffu, "SOA serial");
        if (!serial) return std::unexpected(serial.error());
        p.rr.serial = *serial;
        std::uint32_t* fields[] = {&p.rr.refresh, &p.rr.retry, &p.rr.expire, &p.rr.minimum};
        for (int k = 0; k < 4; ++k) {
          const token& f = tk[i + 3 + static_cast<std::size_t>(k)];
          auto v = parse_ttl(f.raw);
          if (!v || f.quoted) return err(f.line, "bad SOA time value \"" + f.raw + "\"");
          *fields[k] = *v;
        }
      }
    } else if (type == "TIMEOUT") {  // mxguard extension, see zone_file.hpp
      p.timeout = true;
      r = want(0);
    } else {
      return err(type_tk.line, "unsupported record type \"" + type_tk.raw + "\"");
    }
    if (!r) return std::unexpected(r.error());
    out.push_back(std::move(p));
    return {};
  }

  std::string_view src_;
  std::string origin_;
  std::optional<std::string> last_owner_;
  std::optional<std::uint32_t> default_ttl_, last_ttl_;
};

}  // namespace

result<void> load_zone_string(std::string_view text, memory_zone& zone,
                              std::string_view source_name, std::string_view origin) {
  if (text.size() > kZoneFileMaxBytes)
    return fail(errc::limit_exceeded, std::string(source_name) + ": zone file too large");
  loader l(source_name, normalize_name(origin));
  auto rrs = l.run(text);
  if (!rrs) return std::unexpected(rrs.error());
  for (auto& p : *rrs) {
    const std::string owner = p.rr.name;
    if (p.timeout) {
      zone.add_timeout(owner);
    } else {
      zone.add(std::move(p.rr));
    }
    // Empty non-terminals between the owner and the origin exist (RFC 8020 2).
    if (!p.origin.empty() && owner.size() > p.origin.size() && owner.ends_with("." + p.origin)) {
      std::string n = owner;
      while (n.size() > p.origin.size()) {
        n = n.substr(n.find('.') + 1);
        zone.add_name(n);
      }
    }
  }
  return {};
}

result<void> load_zone_file(const std::string& path, memory_zone& zone) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::io_error, path + ": cannot open zone file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(errc::io_error, path + ": read error");
  return load_zone_string(ss.str(), zone, path);
}

}  // namespace mxg::dns
