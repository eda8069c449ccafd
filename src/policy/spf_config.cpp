// spf_config.cpp: the [spf] section (issue 9 section 2) -> spf_policy_config, with
// complete validation. Every problem is collected as `SOURCE:LINE: message`; unknown
// keys are errors, so a typo ("softfial", "ipv4") cannot silently leave a default in
// place. Domains follow RFC 7208 4.3 (spf::valid_domain), networks net::cidr::parse.
// Reply texts are checked to be one line of printable text (RFC 5321 4.2, 4.5.3.1.5).
// Security: the file is the administrator's, but values are still validated, and a
// broken candidate policy is refused whole (never half-applied).
#include "policy/spf_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/ascii.hpp"
#include "policy/toml_reader.hpp"

namespace mxg::policy {

using detail::reader;

namespace {

constexpr std::string_view kResultKeys[kSpfResults] = {"none",     "neutral",   "pass",     "fail",
                                                       "softfail", "temperror", "permerror"};

bool is_result_key(std::string_view k) {
  return std::find(std::begin(kResultKeys), std::end(kResultKeys), k) != std::end(kResultKeys);
}

std::size_t result_index(std::string_view k) {
  return static_cast<std::size_t>(std::find(std::begin(kResultKeys), std::end(kResultKeys), k) -
                                  std::begin(kResultKeys));
}

}  // namespace

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

namespace {

void read_rule(reader& r, const toml::table& t, std::size_t index, std::set<std::string>& names,
               spf_policy_config& out) {
  std::vector<std::string_view> allowed{"name", "domains", "all", "monitor"};
  allowed.insert(allowed.end(), std::begin(kResultKeys), std::end(kResultKeys));
  const std::string where = fmt::format("[[spf.rule]] #{}", index + 1);
  r.check_keys(t, where, allowed);

  spf_rule rule;
  rule.line = t.source().begin.line;
  bool ok = true;

  if (!r.str(t, "name", rule.name)) {
    if (!t.get("name")) r.error(t.source(), where + ": 'name' is required");
    ok = false;
  } else if (rule.name.empty()) {
    r.error(t.get("name")->source(), where + ": 'name' must not be empty");
    ok = false;
  } else if (!names.insert(rule.name).second) {
    r.error(t.get("name")->source(), fmt::format("rule name '{}' is used twice", rule.name));
    ok = false;
  }

  const toml::node* dn = t.get("domains");
  if (!dn) {
    r.error(t.source(), where + ": 'domains' is required (\"example.com\", \".example.com\")");
    ok = false;
  } else if (const toml::array* arr = dn->as_array(); !arr || arr->empty()) {
    r.error(dn->source(), "'domains' must be a non-empty array of domains");
    ok = false;
  } else {
    for (const toml::node& e : *arr) {
      auto s = e.value<std::string>();
      auto d = s ? normalize_rule_domain(*s) : std::nullopt;
      if (!d) {
        r.error(e.source(),
                fmt::format("'domains': {} is not a domain (\"example.com\", or \".example.com\" "
                            "for its subdomains)",
                            s ? "\"" + *s + "\"" : std::string("the value")));
        ok = false;
        continue;
      }
      rule.domains.push_back(std::move(*d));
    }
  }

  // `all` first, then the explicit result keys override it.
  if (const toml::node* an = t.get("all")) {
    if (auto a = r.action(*an, "all"))
      rule.actions.fill(*a);
    else
      ok = false;
  }
  for (auto&& [k, v] : t) {
    if (!is_result_key(k.str())) continue;
    if (auto a = r.action(v, k.str()))
      rule.actions[result_index(k.str())] = *a;
    else
      ok = false;
  }
  r.boolean(t, "monitor", rule.monitor);
  if (ok) out.rules.push_back(std::move(rule));
}

}  // namespace

void read_spf_config(const toml::table& t, const std::string& source, spf_policy_config& out,
                     std::vector<std::string>& errors) {
  reader r(source, errors);
  r.check_keys(t, "[spf]",
               {"enabled", "check_helo", "reject_stage", "authserv_id", "trusted_networks",
                "trusted_forwarders", "reject_text", "tempfail_text", "actions", "rule"});
  r.boolean(t, "enabled", out.enabled);
  r.boolean(t, "check_helo", out.check_helo);

  std::string stage;
  if (r.str(t, "reject_stage", stage)) {
    if (stage == "rcpt")
      out.reject_stage = spf_stage::rcpt;
    else if (stage == "mail")
      out.reject_stage = spf_stage::mail;
    else
      r.error(t.get("reject_stage")->source(),
              fmt::format("'reject_stage' = \"{}\": must be \"rcpt\" or \"mail\"", stage));
  }

  std::string id;
  if (r.str(t, "authserv_id", id)) {
    // RFC 8601 2.5: authserv-id is a value (token or quoted-string); we write it as a
    // token, so no whitespace, controls, or the separators of the header.
    const bool bad = id.empty() || std::any_of(id.begin(), id.end(), [](char ch) {
                       auto c = static_cast<unsigned char>(ch);
                       return c <= 0x20 || c >= 0x7f || ch == ';' || ch == '(' || ch == ')' ||
                              ch == '"' || ch == ',' || ch == '=';
                     });
    if (bad)
      r.error(t.get("authserv_id")->source(),
              "'authserv_id' must be a host name such as \"mx.example.com\" (RFC 8601 2.5)");
    else
      out.authserv_id = ascii::lower(id);
  }

  r.networks(t, "trusted_networks", out.trusted_networks, &out.trusted_networks_set);
  r.networks(t, "trusted_forwarders", out.trusted_forwarders, nullptr);
  r.reply_text(t, "reject_text", out.reject_text);
  r.reply_text(t, "tempfail_text", out.tempfail_text);

  if (const toml::node* an = t.get("actions")) {
    if (const toml::table* at = an->as_table()) {
      r.check_keys(*at, "[spf.actions]",
                   std::vector<std::string_view>(std::begin(kResultKeys), std::end(kResultKeys)));
      for (auto&& [k, v] : *at)
        if (is_result_key(k.str()))
          if (auto a = r.action(v, k.str())) out.actions[result_index(k.str())] = *a;
    } else {
      r.error(an->source(), "'actions' must be a table ([spf.actions])");
    }
  }

  if (const toml::node* rn = t.get("rule")) {
    const toml::array* arr = rn->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      r.error(rn->source(), "'rule' must be an array of tables ([[spf.rule]])");
    } else {
      std::set<std::string> names;
      out.rules.clear();
      for (std::size_t i = 0; i < arr->size(); ++i)
        read_rule(r, *arr->get(i)->as_table(), i, names, out);
    }
  }
}

result<spf_policy_config> load_spf_policy_file(const std::string& path) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return fail(errc::parse_error,
                fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
  } catch (const std::exception& e) {
    return fail(errc::io_error, fmt::format("{}: {}", path, e.what()));
  }
  const toml::node* n = doc.get("spf");
  if (!n) return fail(errc::parse_error, fmt::format("{}: no [spf] section", path));
  if (!n->is_table())
    return fail(errc::parse_error,
                fmt::format("{}:{}: 'spf' must be a table ([spf])", path, n->source().begin.line));
  spf_policy_config c;
  std::vector<std::string> errors;
  read_spf_config(*n->as_table(), path, c, errors);
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
    return fail(errc::parse_error, msg);
  }
  return c;
}

}  // namespace mxg::policy
