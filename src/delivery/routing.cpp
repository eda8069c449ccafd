// routing.cpp: parsing and lookup of the delivery routing table (see routing.hpp).
// Domains compare case-insensitively (RFC 5321 2.4); local parts are compared
// exactly, since only the destination host may interpret them (RFC 5321 2.4).
#include "delivery/routing.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "base/ascii.hpp"
#include "net/ip_address.hpp"

namespace mxg::delivery {

namespace {

using ascii::lower;

std::string_view trim(std::string_view s) {
  return ascii::trim_space(s);
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// A host name or IP address as accepted in an action: letters, digits, '-', '.', and
// ':' for IPv6 literals inside brackets. No empty labels.
bool valid_host(std::string_view h, bool bracketed) {
  if (h.empty() || h.size() > 255) return false;
  if (bracketed && net::ip_address::parse(h)) return true;
  if (h.front() == '.' || h.back() == '.' || h.find("..") != std::string_view::npos) return false;
  return std::all_of(h.begin(), h.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

bool valid_domain(std::string_view d) {
  return valid_host(d, false);
}

// A domain key: "aicpa.org" or ".aicpa.org" (with subdomains).
result<std::pair<std::string, bool>> parse_domain_key(std::string_view d) {
  bool sub = false;
  if (!d.empty() && d.front() == '.') {
    sub = true;
    d.remove_prefix(1);
  }
  if (!valid_domain(d)) return fail(errc::parse_error, "invalid domain '" + std::string(d) + "'");
  return std::pair{lower(d), sub};
}

bool domain_matches(std::string_view domain, std::string_view key, bool subdomains) {
  if (domain == key) return true;
  return subdomains && domain.size() > key.size() && domain.ends_with(key) &&
         domain[domain.size() - key.size() - 1] == '.';
}

}  // namespace

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return "";
  auto d = address.substr(at + 1);
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  return lower(d);
}

std::string route_action::to_string() const {
  switch (k) {
    case kind::mx:
      return "mx";
    case kind::hold:
      return "hold";
    case kind::relay: {
      std::string out = "relay:";
      out += no_mx ? "[" + host + "]" : host;
      if (port != kSmtpPort) out += ":" + std::to_string(port);
      return out;
    }
  }
  return "?";
}

result<route_action> parse_action(std::string_view text) {
  text = trim(text);
  route_action a;
  std::string t = lower(text);
  if (t == "mx") return a;
  if (t == "hold") {
    a.k = route_action::kind::hold;
    return a;
  }
  if (!starts_with_ci(text, "relay:"))
    return fail(errc::parse_error, "unknown action '" + std::string(text) +
                                       "' (expected relay:[host]:port, relay:host, mx or hold)");
  a.k = route_action::kind::relay;
  std::string_view rest = text.substr(6);
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos)
      return fail(errc::parse_error, "missing ']' in '" + std::string(text) + "'");
    a.host = lower(rest.substr(1, close - 1));
    a.no_mx = true;
    auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return fail(errc::parse_error, "unexpected text after ']' in '" + std::string(text) + "'");
      port_text = after.substr(1);
      if (port_text.empty())
        return fail(errc::parse_error, "empty port in '" + std::string(text) + "'");
    }
  } else {
    auto colon = rest.find(':');
    a.host = lower(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty())
        return fail(errc::parse_error, "empty port in '" + std::string(text) + "'");
    }
  }
  if (!valid_host(a.host, a.no_mx))
    return fail(errc::parse_error,
                "invalid relay host '" + a.host + "' in '" + std::string(text) + "'");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return fail(errc::parse_error, "invalid port '" + std::string(port_text) + "'");
    a.port = static_cast<std::uint16_t>(port);
  }
  return a;
}

result<route_rule> parse_key(std::string_view text) {
  text = trim(text);
  route_rule r;
  if (text == "*" || lower(text) == "default") {
    r.m = route_rule::match::any;
    return r;
  }
  bool recipient = false;
  if (starts_with_ci(text, "to:")) {
    recipient = true;
    text.remove_prefix(3);
  } else if (starts_with_ci(text, "from:")) {
    text.remove_prefix(5);
  }
  auto at = text.rfind('@');
  if (at == std::string_view::npos)
    return fail(errc::parse_error, "invalid key '" + std::string(text) +
                                       "' (expected user@domain, @domain, @.domain, "
                                       "to:@domain or *)");
  auto dom = parse_domain_key(text.substr(at + 1));
  if (!dom) return std::unexpected(dom.error());
  r.key = dom->first;
  r.subdomains = dom->second;
  if (at == 0) {
    r.m = recipient ? route_rule::match::recipient_domain : route_rule::match::sender_domain;
    return r;
  }
  if (recipient)
    return fail(errc::parse_error, "recipient keys name a domain: to:@domain, not a full address");
  if (r.subdomains)
    return fail(errc::parse_error, "'@.' (subdomains) applies to domain keys, not to addresses");
  auto local = text.substr(0, at);
  if (local.find_first_of(" \t") != std::string_view::npos)
    return fail(errc::parse_error, "invalid address '" + std::string(text) + "'");
  r.m = route_rule::match::sender_address;
  r.key = std::string(local) + "@" + r.key;
  return r;
}

namespace {

// Shared check: nothing may follow a catch-all rule (it would never match).
result<void> check_reachable(const std::vector<route_rule>& rules, const route_rule& next) {
  if (!rules.empty() && rules.back().m == route_rule::match::any)
    return fail(errc::parse_error, next.origin + ": rule after the default rule (" +
                                       rules.back().origin + ") can never match");
  return {};
}

}  // namespace

result<routing_table> routing_table::parse_text(std::string_view text, std::string_view name) {
  routing_table t;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    auto hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    std::string where = std::string(name) + ":" + std::to_string(line_no);
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos)
      return fail(errc::parse_error,
                  where + ": expected 'KEY VALUE', got '" + std::string(line) + "'");
    auto key = parse_key(line.substr(0, sp));
    if (!key) return fail(errc::parse_error, where + ": " + key.error().message);
    auto value = trim(line.substr(sp + 1));
    if (value.find_first_of(" \t") != std::string_view::npos)
      return fail(errc::parse_error,
                  where + ": extra text after the action '" + std::string(value) + "'");
    auto act = parse_action(value);
    if (!act) return fail(errc::parse_error, where + ": " + act.error().message);
    key->action = *act;
    key->origin = where;
    if (auto ok = check_reachable(t.rules_, *key); !ok) return std::unexpected(ok.error());
    t.rules_.push_back(std::move(*key));
  }
  return t;
}

result<routing_table> routing_table::parse_toml(std::string_view text, std::string_view name) {
  toml::table doc;
  try {
    doc = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return fail(errc::parse_error, std::string(name) + ":" + std::to_string(e.source().begin.line) +
                                       ": " + std::string(e.description()));
  }
  routing_table t;
  auto where_of = [&](const toml::node& n) {
    return std::string(name) + ":" + std::to_string(n.source().begin.line);
  };
  for (auto&& [k, v] : doc) {
    if (k.str() != "route")
      return fail(errc::parse_error, where_of(v) + ": unknown key '" + std::string(k.str()) +
                                         "' (expected [[route]] tables)");
  }
  auto* routes = doc["route"].as_array();
  if (!routes) {
    if (doc.contains("route"))
      return fail(errc::parse_error,
                  where_of(*doc.get("route")) + ": 'route' must be [[route]] tables");
    return t;
  }
  for (auto& node : *routes) {
    auto* tbl = node.as_table();
    std::string where = where_of(node);
    if (!tbl) return fail(errc::parse_error, where + ": 'route' must be [[route]] tables");
    std::string key_text;
    int keys = 0;
    std::optional<bool> subdomains;
    std::string action_text;
    bool have_action = false;
    for (auto&& [k, v] : *tbl) {
      std::string kk(k.str());
      std::string w = where_of(v);
      if (kk == "subdomains") {
        if (!v.is_boolean())
          return fail(errc::parse_error, w + ": 'subdomains' must be true or false");
        subdomains = v.as_boolean()->get();
        continue;
      }
      if (kk == "default") {
        if (!v.is_boolean() || !v.as_boolean()->get())
          return fail(errc::parse_error, w + ": 'default' must be true");
        key_text = "*";
        ++keys;
        continue;
      }
      if (!v.is_string()) return fail(errc::parse_error, w + ": '" + kk + "' must be a string");
      std::string s = v.as_string()->get();
      if (kk == "action") {
        action_text = s;
        have_action = true;
      } else if (kk == "sender") {
        key_text = s;
        ++keys;
      } else if (kk == "sender_domain") {
        key_text = "@" + s;
        ++keys;
      } else if (kk == "recipient_domain") {
        key_text = "to:@" + s;
        ++keys;
      } else {
        return fail(errc::parse_error, w + ": unknown key '" + kk +
                                           "' (expected sender, sender_domain, recipient_domain, "
                                           "default, subdomains, action)");
      }
    }
    if (keys != 1)
      return fail(errc::parse_error, where +
                                         ": a route needs exactly one of sender, "
                                         "sender_domain, recipient_domain, default");
    if (!have_action) return fail(errc::parse_error, where + ": a route needs an action");
    auto rule = parse_key(key_text);
    if (!rule) return fail(errc::parse_error, where + ": " + rule.error().message);
    if (subdomains) {
      if (rule->m != route_rule::match::sender_domain &&
          rule->m != route_rule::match::recipient_domain)
        return fail(errc::parse_error, where + ": 'subdomains' applies to domain keys only");
      rule->subdomains = rule->subdomains || *subdomains;
    }
    auto act = parse_action(action_text);
    if (!act) return fail(errc::parse_error, where + ": " + act.error().message);
    rule->action = *act;
    rule->origin = where;
    if (auto ok = check_reachable(t.rules_, *rule); !ok) return std::unexpected(ok.error());
    t.rules_.push_back(std::move(*rule));
  }
  return t;
}

result<routing_table> routing_table::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::io_error, path + ": cannot open routing table");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (path.ends_with(".toml")) return parse_toml(ss.str(), path);
  return parse_text(ss.str(), path);
}

route_decision routing_table::route(std::string_view sender, std::string_view recipient) const {
  const std::string sdom = domain_of(sender);
  const std::string rdom = domain_of(recipient);
  std::string saddr;
  if (!sender.empty()) {
    auto at = sender.rfind('@');
    saddr = at == std::string_view::npos ? std::string(sender)
                                         : std::string(sender.substr(0, at)) + "@" + sdom;
  }
  for (const auto& r : rules_) {
    bool hit = false;
    switch (r.m) {
      case route_rule::match::sender_address:
        hit = !saddr.empty() && saddr == r.key;
        break;
      case route_rule::match::sender_domain:
        hit = !sdom.empty() && domain_matches(sdom, r.key, r.subdomains);
        break;
      case route_rule::match::recipient_domain:
        hit = !rdom.empty() && domain_matches(rdom, r.key, r.subdomains);
        break;
      case route_rule::match::any:
        hit = true;
        break;
    }
    if (hit) return {r.action, &r};
  }
  return {};
}

}  // namespace mxg::delivery
