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
#include "policy/rule_config.hpp"

namespace mxg::policy {

namespace {

constexpr std::string_view kResultKeys[kSpfResults] = {"none",     "neutral",   "pass",     "fail",
                                                       "softfail", "temperror", "permerror"};

using reader = config_reader;

bool is_result_key(std::string_view k) {
  return std::find(std::begin(kResultKeys), std::end(kResultKeys), k) != std::end(kResultKeys);
}

std::size_t result_index(std::string_view k) {
  return static_cast<std::size_t>(std::find(std::begin(kResultKeys), std::end(kResultKeys), k) -
                                  std::begin(kResultKeys));
}

void read_rule(reader& r, const toml::table& t, std::size_t index, std::set<std::string>& names,
               spf_policy_config& out) {
  std::vector<std::string_view> allowed{"name", "domains", "all", "monitor"};
  allowed.insert(allowed.end(), std::begin(kResultKeys), std::end(kResultKeys));
  const std::string where = fmt::format("[[spf.rule]] #{}", index + 1);
  r.check_keys(t, where, allowed);

  spf_rule rule;
  rule.line = t.source().begin.line;
  bool ok = r.rule_head(t, where, names, rule.name, rule.domains, rule.monitor);

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

  r.authserv_id(t, out.authserv_id);

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
  spf_policy_config c;
  auto ok =
      load_section_file(path, "spf", [&](const toml::table& t, std::vector<std::string>& errs) {
        read_spf_config(t, path, c, errs);
      });
  if (!ok) return std::unexpected(ok.error());
  return c;
}

}  // namespace mxg::policy
