// dmarc_config.cpp: the [dkim] and [dmarc] sections (issue 10 section 4) -> their
// configs, with complete validation through the shared reader (rule_config.hpp):
// unknown keys are errors, rule domains and trusted ARC sealers are "d" / ".d" domains,
// reply texts one printable line (RFC 5321 4.5.3.1.5), authserv_id an RFC 8601 2.5 token.
// Security: the administrator's file, still validated; a broken section is refused whole.
#include "policy/dmarc_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "policy/rule_config.hpp"

namespace mxg::policy {

namespace {

constexpr std::string_view kOutcomeKeys[kDmarcOutcomes] = {
    "pass", "fail_reject", "fail_quarantine", "fail_none", "none", "temperror", "permerror"};
constexpr std::size_t kFailKeys[] = {1, 2, 3};  // fail_reject, fail_quarantine, fail_none

std::optional<std::size_t> outcome_index(std::string_view k) {
  auto it = std::find(std::begin(kOutcomeKeys), std::end(kOutcomeKeys), k);
  if (it == std::end(kOutcomeKeys)) return std::nullopt;
  return static_cast<std::size_t>(it - std::begin(kOutcomeKeys));
}

// `all` (rules only), then `fail` (the three fail_X), then the explicit outcome keys.
// Returns false on an error.
template <typename Slot>
bool read_actions(config_reader& r, const toml::table& t, bool rule, Slot&& set) {
  bool ok = true;
  if (const toml::node* n = rule ? t.get("all") : nullptr) {
    if (auto a = r.action(*n, "all"))
      for (std::size_t i = 0; i < kDmarcOutcomes; ++i) set(i, *a);
    else
      ok = false;
  }
  if (const toml::node* n = t.get("fail")) {
    if (auto a = r.action(*n, "fail"))
      for (std::size_t i : kFailKeys) set(i, *a);
    else
      ok = false;
  }
  for (auto&& [k, v] : t) {
    auto i = outcome_index(k.str());
    if (!i) continue;
    if (auto a = r.action(v, k.str()))
      set(*i, *a);
    else
      ok = false;
  }
  return ok;
}

std::vector<std::string_view> outcome_keys_and(std::vector<std::string_view> more) {
  more.insert(more.end(), std::begin(kOutcomeKeys), std::end(kOutcomeKeys));
  return more;
}

void read_rule(config_reader& r, const toml::table& t, std::size_t index,
               std::set<std::string>& names, dmarc_policy_config& out) {
  const std::string where = fmt::format("[[dmarc.rule]] #{}", index + 1);
  r.check_keys(t, where, outcome_keys_and({"name", "domains", "all", "fail", "monitor"}));
  dmarc_rule rule;
  rule.line = t.source().begin.line;
  bool ok = r.rule_head(t, where, names, rule.name, rule.domains, rule.monitor);
  ok = read_actions(r, t, true, [&](std::size_t i, verdict v) { rule.actions[i] = v; }) && ok;
  if (ok) out.rules.push_back(std::move(rule));
}

}  // namespace

void read_dkim_config(const toml::table& t, const std::string& source, dkim_policy_config& out,
                      std::vector<std::string>& errors) {
  config_reader r(source, errors);
  r.check_keys(t, "[dkim]", {"enabled"});
  r.boolean(t, "enabled", out.enabled);
}

void read_dmarc_config(const toml::table& t, const std::string& source, dmarc_policy_config& out,
                       std::vector<std::string>& errors) {
  config_reader r(source, errors);
  r.check_keys(t, "[dmarc]",
               {"enabled", "mode", "psl_file", "authserv_id", "trusted_arc_sealers", "reject_text",
                "tempfail_text", "actions", "rule"});
  r.boolean(t, "enabled", out.enabled);
  std::string mode;
  if (r.str(t, "mode", mode)) {
    if (mode == "treewalk")
      out.mode = dmarc::discovery_mode::treewalk;
    else if (mode == "psl")
      out.mode = dmarc::discovery_mode::psl;
    else
      r.error(t.get("mode")->source(),
              fmt::format("'mode' = \"{}\": must be \"treewalk\" (RFC 9989 4.10) or \"psl\" "
                          "(RFC 7489, the Public Suffix List)",
                          mode));
  }
  r.str(t, "psl_file", out.psl_file);
  if (out.mode == dmarc::discovery_mode::psl && out.psl_file.empty())
    r.error(t.get("mode") ? t.get("mode")->source() : t.source(),
            "mode = \"psl\" needs 'psl_file' (e.g. "
            "\"/usr/share/publicsuffix/public_suffix_list.dat\")");
  r.authserv_id(t, out.authserv_id);
  r.reply_text(t, "reject_text", out.reject_text);
  r.reply_text(t, "tempfail_text", out.tempfail_text);

  if (const toml::node* n = t.get("trusted_arc_sealers")) {
    const toml::array* arr = n->as_array();
    if (!arr) {
      r.error(n->source(), "'trusted_arc_sealers' must be an array of domains");
    } else {
      std::vector<std::string> sealers;
      bool ok = true;
      for (const toml::node& e : *arr) {
        auto s = e.value<std::string>();
        auto d = s ? normalize_rule_domain(*s) : std::nullopt;
        if (!d) {
          r.error(e.source(),
                  fmt::format("'trusted_arc_sealers': {} is not a domain (\"lists.example.org\", "
                              "or \".example.org\" for its subdomains)",
                              s ? "\"" + *s + "\"" : std::string("the value")));
          ok = false;
          continue;
        }
        sealers.push_back(std::move(*d));
      }
      if (ok) out.trusted_arc_sealers = std::move(sealers);
    }
  }

  if (const toml::node* an = t.get("actions")) {
    if (const toml::table* at = an->as_table()) {
      r.check_keys(*at, "[dmarc.actions]", outcome_keys_and({"fail"}));
      read_actions(r, *at, false, [&](std::size_t i, verdict v) { out.actions[i] = v; });
    } else {
      r.error(an->source(), "'actions' must be a table ([dmarc.actions])");
    }
  }

  if (const toml::node* rn = t.get("rule")) {
    const toml::array* arr = rn->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      r.error(rn->source(), "'rule' must be an array of tables ([[dmarc.rule]])");
    } else {
      std::set<std::string> names;
      out.rules.clear();
      for (std::size_t i = 0; i < arr->size(); ++i)
        read_rule(r, *arr->get(i)->as_table(), i, names, out);
    }
  }
}

result<dmarc_policy_config> load_dmarc_policy_file(const std::string& path) {
  dmarc_policy_config c;
  auto ok =
      load_section_file(path, "dmarc", [&](const toml::table& t, std::vector<std::string>& errs) {
        read_dmarc_config(t, path, c, errs);
      });
  if (!ok) return std::unexpected(ok.error());
  return c;
}

}  // namespace mxg::policy
