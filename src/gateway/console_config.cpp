// console_config.cpp: see console_config.hpp.
#include "gateway/console_config_toml.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "gateway/config.hpp"

namespace mxg::gateway {

const char* to_string(console_role r) {
  return r == console_role::admin ? "admin" : "helpdesk";
}

namespace {

struct section_reader {
  const std::string& source;
  std::vector<std::string>& errors;

  void error(const toml::node& n, const std::string& msg) {
    errors.push_back(fmt::format("{}:{}: {}", source, n.source().begin.line, msg));
  }
  void keys(const toml::table& t, std::string_view where,
            const std::vector<std::string_view>& allowed) {
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      errors.push_back(fmt::format("{}:{}: unknown key '{}' in {} (known: {})", source,
                                   k.source().begin.line, k.str(), where, list));
    }
  }
  void str(const toml::table& t, std::string_view key, std::string& out, std::string_view where) {
    if (const toml::node* n = t.get(key)) {
      if (auto v = n->value<std::string>())
        out = *v;
      else
        error(*n, fmt::format("{}.{} must be a string", where, key));
    }
  }
};

// "30m", "1h", "90s", or integer seconds; at least a minute, at most a week.
std::optional<std::chrono::seconds> parse_idle(const toml::node& n) {
  std::uint64_t v = 0, mult = 1;
  if (auto i = n.value<std::int64_t>(); i && *i > 0) {
    v = static_cast<std::uint64_t>(*i);
  } else if (auto s = n.value<std::string>()) {
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc{} || p == s->data()) return std::nullopt;
    std::string_view unit(p, s->data() + s->size() - p);
    if (unit == "m")
      mult = 60;
    else if (unit == "h")
      mult = 3600;
    else if (unit != "s" && !unit.empty())
      return std::nullopt;
  } else {
    return std::nullopt;
  }
  std::chrono::seconds d(v * mult);
  if (d < std::chrono::minutes(1) || d > std::chrono::hours(24 * 7)) return std::nullopt;
  return d;
}

}  // namespace

bool console_config::needs_approval(std::string_view recipients) const {
  if (approval_domains.empty()) return false;
  for (const auto& d : approval_domains)
    if (d == "*") return true;
  std::size_t start = 0;
  while (start <= recipients.size()) {
    auto comma = recipients.find(',', start);
    if (comma == std::string_view::npos) comma = recipients.size();
    std::string_view rcpt = recipients.substr(start, comma - start);
    auto at = rcpt.rfind('@');
    if (at != std::string_view::npos) {
      std::string dom(rcpt.substr(at + 1));
      while (!dom.empty() && (dom.back() == '>' || dom.back() == ' ')) dom.pop_back();
      for (auto& c : dom) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (const auto& d : approval_domains)
        if (d == dom) return true;
    }
    start = comma + 1;
  }
  return false;
}

void read_console_config(const toml::table& t, const std::string& source, console_config& out,
                         std::vector<std::string>& errors) {
  section_reader r{source, errors};
  r.keys(t, "[console]",
         {"listen", "tls_cert", "tls_key", "idle_timeout", "users", "approval_domains"});
  r.str(t, "listen", out.listen, "console");
  r.str(t, "tls_cert", out.tls_cert, "console");
  r.str(t, "tls_key", out.tls_key, "console");
  if (!out.listen.empty())
    if (auto ep = parse_endpoint(out.listen); !ep)
      r.error(*t.get("listen"), "console.listen: " + ep.error().message);
  if (out.tls_cert.empty() != out.tls_key.empty())
    r.error(*t.get(out.tls_cert.empty() ? "tls_key" : "tls_cert"),
            "console: set both tls_cert and tls_key, or neither");
  if (const toml::node* n = t.get("idle_timeout")) {
    if (auto d = parse_idle(*n))
      out.idle_timeout = *d;
    else
      r.error(*n, "console.idle_timeout must be a duration from 1m to 168h (\"30m\", \"8h\")");
  }
  if (const toml::node* n = t.get("approval_domains")) {
    const toml::array* a = n->as_array();
    if (!a) r.error(*n, "console.approval_domains must be an array of domain names (or [\"*\"])");
    if (a)
      for (const toml::node& e : *a) {
        auto v = e.value<std::string>();
        std::string d = v ? *v : "";
        for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        bool ok = !d.empty() && d.size() <= 253;
        if (ok && d != "*")
          for (char c : d)
            ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                        c == '_' || static_cast<unsigned char>(c) >= 0x80);
        if (!ok || d.front() == '.' || d.back() == '.') {
          r.error(e, "console.approval_domains: '" + (v ? *v : std::string("(not a string)")) +
                         "' is not a domain name (or \"*\" for every domain)");
          continue;
        }
        out.approval_domains.push_back(d);
      }
  }
  const toml::node* un = t.get("users");
  if (!un) return;
  const toml::table* users = un->as_table();
  if (!users) {
    r.error(*un, "console.users must be a table of [console.users.NAME] tables");
    return;
  }
  for (auto&& [name, node] : *users) {
    const std::string where = "[console.users." + std::string(name.str()) + "]";
    const toml::table* u = node.as_table();
    if (!u) {
      r.error(node, where + " must be a table");
      continue;
    }
    console_user cu;
    cu.name = std::string(name.str());
    bool name_ok = !cu.name.empty() && cu.name.size() <= 64;
    for (char c : cu.name)
      name_ok = name_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                            c == '_' || c == '@');
    if (!name_ok)
      errors.push_back(fmt::format("{}:{}: console user name '{}': use letters, digits, . - _ @",
                                   source, name.source().begin.line, cu.name));
    r.keys(*u, where, {"role", "password", "domains"});
    std::string role = "helpdesk";
    r.str(*u, "role", role, where);
    if (role == "admin")
      cu.role = console_role::admin;
    else if (role == "helpdesk")
      cu.role = console_role::helpdesk;
    else
      r.error(*u->get("role"), where + " role must be \"admin\" or \"helpdesk\"");
    r.str(*u, "password", cu.password_hash, where);
    if (!u->get("password"))
      r.error(*u, where + " needs password = \"$argon2id$...\" (mxguard console passwd " + cu.name +
                      ")");
    else if (cu.password_hash.rfind("$argon2id$", 0) != 0)
      r.error(*u->get("password"), where +
                                       " password must be an argon2id hash, never the password "
                                       "itself (mxguard console passwd " +
                                       cu.name + ")");
    if (const toml::node* d = u->get("domains")) {
      const toml::array* a = d->as_array();
      if (!a) r.error(*d, where + " domains must be an array of strings");
      if (a)
        for (const toml::node& e : *a) {
          auto v = e.value<std::string>();
          if (!v || v->empty() || v->find('@') != std::string::npos) {
            r.error(e, where + " domains must hold domain names");
            continue;
          }
          std::string lower = *v;
          for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          cu.domains.push_back(lower);
        }
    }
    if (cu.role == console_role::helpdesk && cu.domains.empty())
      r.error(*u, where + " a helpdesk user needs domains = [\"example.com\", ...]");
    out.users.push_back(std::move(cu));
  }
}

}  // namespace mxg::gateway
