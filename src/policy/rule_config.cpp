// rule_config.cpp: see rule_config.hpp. Domains follow RFC 7208 4.3 (spf::valid_domain),
// networks net::cidr::parse, reply texts RFC 5321 4.2 / 4.5.3.1.5, authserv-id RFC 8601
// 2.5.
#include "policy/rule_config.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/ascii.hpp"
#include "spf/evaluator.hpp"

namespace mxg::policy {

bool domain_matches(const std::vector<std::string>& patterns, std::string_view domain) {
  std::string d = ascii::lower(domain);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty()) return false;
  for (const auto& pattern : patterns) {
    if (pattern.empty()) continue;
    if (pattern.front() == '.') {
      // ".d": a proper subdomain of d (the label boundary is the pattern's dot).
      if (d.size() > pattern.size() && d.ends_with(pattern)) return true;
    } else if (d == pattern) {
      return true;
    }
  }
  return false;
}

// "example.com" or ".example.com" (subdomains); lower case, final dot removed. The
// subdomain form also takes one label (".test": every domain under test).
std::optional<std::string> normalize_rule_domain(std::string_view raw) {
  std::string d = ascii::lower(raw);
  if (!d.empty() && d.back() == '.') d.pop_back();
  const bool sub = !d.empty() && d.front() == '.';
  std::string_view name = sub ? std::string_view(d).substr(1) : std::string_view(d);
  if (name.empty() || name.size() > 253) return std::nullopt;
  // LDH labels (and '_', seen in real sender domains), 1..63 octets, no empty label.
  std::size_t label = 0;
  for (char ch : name) {
    if (ch == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
      continue;
    }
    if (!(ascii::is_alpha(static_cast<unsigned char>(ch)) ||
          ascii::is_digit(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_'))
      return std::nullopt;
    if (++label > 63) return std::nullopt;
  }
  if (label == 0) return std::nullopt;
  if (!sub && !spf::valid_domain(name)) return std::nullopt;  // RFC 7208 4.3: two labels
  return d;
}

void config_reader::error(const toml::source_region& where, const std::string& msg) {
  errors_.push_back(fmt::format("{}:{}: {}", source_, where.begin.line, msg));
}

void config_reader::check_keys(const toml::table& t, std::string_view where,
                               const std::vector<std::string_view>& allowed) {
  for (auto&& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    error(k.source(), fmt::format("unknown key '{}' in {} (known: {})", k.str(), where, list));
  }
}

bool config_reader::str(const toml::table& t, std::string_view key, std::string& out) {
  const toml::node* n = t.get(key);
  if (!n) return false;
  if (auto v = n->value<std::string>()) {
    out = *v;
    return true;
  }
  error(n->source(), fmt::format("'{}' must be a string", key));
  return false;
}

void config_reader::boolean(const toml::table& t, std::string_view key, bool& out) {
  if (const toml::node* n = t.get(key)) {
    if (auto v = n->value<bool>())
      out = *v;
    else
      error(n->source(), fmt::format("'{}' must be true or false", key));
  }
}

std::optional<verdict> config_reader::action(const toml::node& n, std::string_view key) {
  if (auto v = n.value<std::string>()) {
    if (auto a = verdict_from_string(*v)) return a;
    error(n.source(), fmt::format("'{}' = \"{}\": the action must be one of accept, tag, "
                                  "quarantine, reject, tempfail",
                                  key, *v));
  } else {
    error(n.source(), fmt::format("'{}' must be an action string (accept, tag, quarantine, "
                                  "reject, tempfail)",
                                  key));
  }
  return std::nullopt;
}

void config_reader::reply_text(const toml::table& t, std::string_view key, std::string& out) {
  std::string v;
  if (!str(t, key, v)) return;
  const bool controls = std::any_of(v.begin(), v.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
  if (controls)
    error(t.get(key)->source(),
          fmt::format("'{}' must be one line without control characters", key));
  else if (v.size() > kReplyTextMax)
    error(t.get(key)->source(),
          fmt::format("'{}' is longer than {} bytes (RFC 5321 4.5.3.1.5)", key, kReplyTextMax));
  else
    out = std::move(v);
}

void config_reader::networks(const toml::table& t, std::string_view key,
                             std::vector<net::cidr>& out, bool* set) {
  const toml::node* n = t.get(key);
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr) {
    error(n->source(), fmt::format("'{}' must be an array of networks (\"192.0.2.0/24\")", key));
    return;
  }
  std::vector<net::cidr> nets;
  bool ok = true;
  for (const toml::node& e : *arr) {
    auto s = e.value<std::string>();
    std::optional<net::cidr> c = s ? net::cidr::parse(*s) : std::nullopt;
    if (!c) {
      ok = false;
      error(e.source(), fmt::format("'{}': {} is not a network (\"192.0.2.0/24\", "
                                    "\"2001:db8::/32\" or an address)",
                                    key, s ? "\"" + *s + "\"" : std::string("the value")));
      continue;
    }
    nets.push_back(*c);
  }
  if (ok) {
    out = std::move(nets);
    if (set) *set = true;
  }
}

void config_reader::authserv_id(const toml::table& t, std::string& out) {
  std::string id;
  if (!str(t, "authserv_id", id)) return;
  // RFC 8601 2.5: authserv-id is a value (token or quoted-string); we write it as a
  // token, so no whitespace, controls, or the separators of the header.
  const bool bad = id.empty() || std::any_of(id.begin(), id.end(), [](char ch) {
                     auto c = static_cast<unsigned char>(ch);
                     return c <= 0x20 || c >= 0x7f || ch == ';' || ch == '(' || ch == ')' ||
                            ch == '"' || ch == ',' || ch == '=';
                   });
  if (bad)
    error(t.get("authserv_id")->source(),
          "'authserv_id' must be a host name such as \"mx.example.com\" (RFC 8601 2.5)");
  else
    out = ascii::lower(id);
}

bool config_reader::rule_head(const toml::table& t, const std::string& where,
                              std::set<std::string>& names, std::string& name,
                              std::vector<std::string>& domains, bool& monitor) {
  bool ok = true;
  if (!str(t, "name", name)) {
    if (!t.get("name")) error(t.source(), where + ": 'name' is required");
    ok = false;
  } else if (name.empty()) {
    error(t.get("name")->source(), where + ": 'name' must not be empty");
    ok = false;
  } else if (!names.insert(name).second) {
    error(t.get("name")->source(), fmt::format("rule name '{}' is used twice", name));
    ok = false;
  }

  const toml::node* dn = t.get("domains");
  if (!dn) {
    error(t.source(), where + ": 'domains' is required (\"example.com\", \".example.com\")");
    ok = false;
  } else if (const toml::array* arr = dn->as_array(); !arr || arr->empty()) {
    error(dn->source(), "'domains' must be a non-empty array of domains");
    ok = false;
  } else {
    for (const toml::node& e : *arr) {
      auto s = e.value<std::string>();
      auto d = s ? normalize_rule_domain(*s) : std::nullopt;
      if (!d) {
        error(e.source(),
              fmt::format("'domains': {} is not a domain (\"example.com\", or \".example.com\" "
                          "for its subdomains)",
                          s ? "\"" + *s + "\"" : std::string("the value")));
        ok = false;
        continue;
      }
      domains.push_back(std::move(*d));
    }
  }
  boolean(t, "monitor", monitor);
  return ok;
}

result<void> read_section(const toml::table& doc, std::string_view section,
                          const std::string& source, const section_reader& read) {
  const toml::node* n = doc.get(section);
  if (!n) return fail(errc::parse_error, fmt::format("{}: no [{}] section", source, section));
  if (!n->is_table())
    return fail(errc::parse_error, fmt::format("{}:{}: '{}' must be a table ([{}])", source,
                                               n->source().begin.line, section, section));
  std::vector<std::string> errors;
  read(*n->as_table(), errors);
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
    return fail(errc::parse_error, msg);
  }
  return {};
}

result<void> load_section_file(const std::string& path, std::string_view section,
                               const section_reader& read) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return fail(errc::parse_error,
                fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
  } catch (const std::exception& e) {
    return fail(errc::io_error, fmt::format("{}: {}", path, e.what()));
  }
  return read_section(doc, section, path, read);
}

}  // namespace mxg::policy
