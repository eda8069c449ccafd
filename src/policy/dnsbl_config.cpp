// dnsbl_config.cpp: the [dnsbl] section (issue 12 section 2) -> dnsbl_config, with
// complete validation: every problem as `SOURCE:LINE: message`, unknown keys are errors
// (a typo cannot leave a default in place silently). Zone names are LDH domains; return
// codes are IPv4 addresses in 127.0.0.0/8 other than 127.0.0.1 (RFC 5782 2.1, 5);
// block lists weigh >= 0 and allow lists <= 0, so the sign of a weight always says
// which way it pushes; thresholds are >= 1. Named limits in dnsbl.hpp.
// Security: the file is the administrator's, but values are still validated, and a
// broken section is refused whole (never half-applied).
#include "policy/dnsbl_config.hpp"

#include <fmt/format.h>

#include <set>

#include "base/ascii.hpp"
#include "policy/rule_config.hpp"
#include "policy/spf_policy.hpp"

namespace mxg::policy {

using reader = config_reader;

namespace {

constexpr std::size_t kLabelMax = 63;
constexpr std::size_t kMeaningMax = 100;

bool integer(reader& r, const toml::node& n, std::string_view key, int lo, int hi, int& out) {
  if (auto v = n.value<std::int64_t>(); v && *v >= lo && *v <= hi) {
    out = static_cast<int>(*v);
    return true;
  }
  r.error(n.source(), fmt::format("'{}' must be an integer from {} to {}", key, lo, hi));
  return false;
}

bool token(std::string_view s) {
  return !s.empty() && s.size() <= kLabelMax && std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return ascii::is_alpha(c) || ascii::is_digit(c) || ch == '.' || ch == '-' || ch == '_';
  });
}

void read_thresholds(reader& r, const toml::table& t, dnsbl_thresholds& out) {
  const std::pair<std::string_view, std::optional<int>*> keys[] = {{"reject", &out.reject},
                                                                   {"tempfail", &out.tempfail},
                                                                   {"quarantine", &out.quarantine},
                                                                   {"tag", &out.tag}};
  for (const auto& [k, slot] : keys)
    if (const toml::node* n = t.get(k)) {
      int v = 0;
      if (integer(r, *n, k, 1, kDnsblWeightMax, v)) *slot = v;
    }
}

// "127.0.0.2" = 3  or  "127.0.0.2" = { weight = 3, meaning = "SBL" }
void read_codes(reader& r, const toml::node& n, dnsbl_zone& z, bool& ok) {
  const toml::table* ct = n.as_table();
  if (!ct) {
    r.error(n.source(), "'codes' must be a table: codes = { \"127.0.0.2\" = 3 }");
    ok = false;
    return;
  }
  if (ct->size() > kDnsblCodesMax) {
    r.error(n.source(), fmt::format("'codes' has more than {} entries", kDnsblCodesMax));
    ok = false;
    return;
  }
  const net::cidr lo8 = *net::cidr::parse("127.0.0.0/8");
  for (auto&& [k, v] : *ct) {
    auto ip = net::ip_address::parse(k.str());
    if (!ip || !ip->is_v4() || !lo8.contains(*ip) || ip->to_string() == "127.0.0.1") {
      r.error(k.source(),
              fmt::format("code '{}' must be an IPv4 address in 127.0.0.0/8 other than 127.0.0.1 "
                          "(RFC 5782 2.1, 5)",
                          k.str()));
      ok = false;
      continue;
    }
    if (z.bitmask && (ip->bytes()[1] != 0 || ip->bytes()[2] != 0 || ip->bytes()[3] == 0)) {
      r.error(k.source(), fmt::format("code '{}': with bitmask = true a code is 127.0.0.N, N the "
                                      "bits of the last octet (1..255)",
                                      k.str()));
      ok = false;
      continue;
    }
    dnsbl_code c;
    c.value = *ip;
    const int lo = z.type == dnsbl_zone_type::allow ? -kDnsblWeightMax : 0;
    const int hi = z.type == dnsbl_zone_type::allow ? 0 : kDnsblWeightMax;
    const std::string key = fmt::format("codes.\"{}\"", k.str());
    if (const toml::table* vt = v.as_table()) {
      r.check_keys(*vt, key, {"weight", "meaning"});
      if (const toml::node* w = vt->get("weight")) {
        if (!integer(r, *w, key + ".weight", lo, hi, c.weight)) ok = false;
      } else {
        r.error(vt->source(), key + ": 'weight' is required");
        ok = false;
      }
      std::string m;
      if (r.str(*vt, "meaning", m)) {
        if (m.size() > kMeaningMax || std::any_of(m.begin(), m.end(), [](char ch) {
              auto u = static_cast<unsigned char>(ch);
              return u < 0x20 || u >= 0x7f;
            })) {
          r.error(vt->get("meaning")->source(),
                  fmt::format("{}.meaning must be printable ASCII, at most {} bytes", key,
                              kMeaningMax));
          ok = false;
        } else {
          c.meaning = m;
        }
      }
    } else if (!integer(r, v, key, lo, hi, c.weight)) {
      ok = false;
    }
    z.codes.push_back(std::move(c));
  }
}

void read_zone(reader& r, const toml::table& t, std::size_t index, std::set<std::string>& names,
               dnsbl_config& out) {
  const std::string where = fmt::format("[[dnsbl.zone]] #{}", index + 1);
  r.check_keys(
      t, where,
      {"name", "label", "type", "weight", "codes", "bitmask", "errors", "ipv4", "ipv6", "txt"});
  dnsbl_zone z;
  z.line = t.source().begin.line;
  bool ok = true;
  std::string name;
  if (!r.str(t, "name", name)) {
    if (!t.get("name")) r.error(t.source(), where + ": 'name' is required (the list's zone)");
    ok = false;
  } else {
    auto d = normalize_rule_domain(name);
    if (!d || d->front() == '.') {
      r.error(t.get("name")->source(),
              fmt::format("'name' = \"{}\" is not a DNS zone such as \"zen.spamhaus.org\"", name));
      ok = false;
    } else if (!names.insert(*d).second) {
      r.error(t.get("name")->source(), fmt::format("zone '{}' is listed twice", *d));
      ok = false;
    } else {
      z.name = *d;
    }
  }
  if (r.str(t, "label", z.label) && !token(z.label)) {
    r.error(t.get("label")->source(),
            fmt::format("'label' must be 1..{} letters, digits, '.', '-' or '_'", kLabelMax));
    ok = false;
  }
  std::string type;
  if (r.str(t, "type", type)) {
    if (type == "allow") {
      z.type = dnsbl_zone_type::allow;
      z.weight = -1;
    } else if (type != "block") {
      r.error(t.get("type")->source(),
              fmt::format("'type' = \"{}\": must be \"block\" or \"allow\"", type));
      ok = false;
    }
  }
  if (const toml::node* w = t.get("weight")) {
    const bool allow = z.type == dnsbl_zone_type::allow;
    if (!integer(r, *w, allow ? "weight (of an allow list)" : "weight (of a block list)",
                 allow ? -kDnsblWeightMax : 0, allow ? 0 : kDnsblWeightMax, z.weight))
      ok = false;
  }
  r.boolean(t, "bitmask", z.bitmask);
  if (const toml::node* c = t.get("codes")) read_codes(r, *c, z, ok);
  z.errors = {*net::cidr::parse("127.255.255.0/24")};
  r.networks(t, "errors", z.errors, nullptr);
  r.boolean(t, "ipv4", z.ipv4);
  r.boolean(t, "ipv6", z.ipv6);
  if (!z.ipv4 && !z.ipv6) {
    r.error(t.source(), where + ": 'ipv4' and 'ipv6' are both false: the list is never asked");
    ok = false;
  }
  r.boolean(t, "txt", z.txt);
  if (ok) out.zones.push_back(std::move(z));
}

void read_rule(reader& r, const toml::table& t, std::size_t index, std::set<std::string>& names,
               dnsbl_config& out) {
  const std::string where = fmt::format("[[dnsbl.rule]] #{}", index + 1);
  r.check_keys(t, where,
               {"name", "networks", "reject", "tempfail", "quarantine", "tag", "monitor"});
  dnsbl_rule rule;
  rule.line = t.source().begin.line;
  bool ok = true;
  if (!r.str(t, "name", rule.name) || rule.name.empty()) {
    r.error(t.source(), where + ": 'name' is required");
    ok = false;
  } else if (!names.insert(rule.name).second) {
    r.error(t.get("name")->source(), fmt::format("rule name '{}' is used twice", rule.name));
    ok = false;
  }
  if (!t.get("networks")) {
    r.error(t.source(), where + ": 'networks' is required (\"192.0.2.0/24\", \"::/0\")");
    ok = false;
  }
  const std::size_t before = r.error_count();
  r.networks(t, "networks", rule.networks, nullptr);
  if (r.error_count() != before) ok = false;
  read_thresholds(r, t, rule.thresholds);
  r.boolean(t, "monitor", rule.monitor);
  if (ok) out.rules.push_back(std::move(rule));
}

}  // namespace

void read_dnsbl_config(const toml::table& t, const std::string& source, dnsbl_config& out,
                       std::vector<std::string>& errors) {
  reader r(source, errors);
  const std::size_t errors_before = errors.size();
  r.check_keys(t, "[dnsbl]",
               {"enabled", "stage", "timeout_ms", "error_action", "monitor", "trusted_networks",
                "reject_text", "tempfail_text", "actions", "zone", "rule"});
  r.boolean(t, "enabled", out.enabled);
  r.boolean(t, "monitor", out.monitor);
  std::string stage;
  if (r.str(t, "stage", stage)) {
    if (stage == "connect")
      out.stage = dnsbl_stage::connect;
    else if (stage == "rcpt")
      out.stage = dnsbl_stage::rcpt;
    else
      r.error(t.get("stage")->source(),
              fmt::format("'stage' = \"{}\": must be \"connect\" or \"rcpt\"", stage));
  }
  if (const toml::node* n = t.get("timeout_ms")) {
    int ms = 0;
    if (integer(r, *n, "timeout_ms", 1, static_cast<int>(kDnsblTimeoutMax.count()), ms))
      out.timeout = std::chrono::milliseconds(ms);
  }
  if (const toml::node* n = t.get("error_action"))
    if (auto a = r.action(*n, "error_action")) out.error_action = *a;
  r.networks(t, "trusted_networks", out.trusted_networks, &out.trusted_networks_set);
  r.reply_text(t, "reject_text", out.reject_text);
  r.reply_text(t, "tempfail_text", out.tempfail_text);
  if (const toml::node* an = t.get("actions")) {
    if (const toml::table* at = an->as_table()) {
      r.check_keys(*at, "[dnsbl.actions]", {"reject", "tempfail", "quarantine", "tag"});
      read_thresholds(r, *at, out.actions);
    } else {
      r.error(an->source(), "'actions' must be a table ([dnsbl.actions])");
    }
  }
  if (const toml::node* zn = t.get("zone")) {
    const toml::array* arr = zn->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      r.error(zn->source(), "'zone' must be an array of tables ([[dnsbl.zone]])");
    } else if (arr->size() > kDnsblZonesMax) {
      r.error(zn->source(), fmt::format("more than {} [[dnsbl.zone]] lists", kDnsblZonesMax));
    } else {
      std::set<std::string> names;
      out.zones.clear();
      for (std::size_t i = 0; i < arr->size(); ++i)
        read_zone(r, *arr->get(i)->as_table(), i, names, out);
    }
  }
  if (const toml::node* rn = t.get("rule")) {
    const toml::array* arr = rn->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      r.error(rn->source(), "'rule' must be an array of tables ([[dnsbl.rule]])");
    } else {
      std::set<std::string> names;
      out.rules.clear();
      for (std::size_t i = 0; i < arr->size(); ++i)
        read_rule(r, *arr->get(i)->as_table(), i, names, out);
    }
  }
  if (out.enabled && out.zones.empty() && errors.size() == errors_before)
    r.error(t.source(), "[dnsbl] is enabled but has no [[dnsbl.zone]]");
}

namespace {

section_reader into(dnsbl_config& c, const std::string& source) {
  return [&c, &source](const toml::table& t, std::vector<std::string>& errs) {
    read_dnsbl_config(t, source, c, errs);
  };
}

}  // namespace

result<dnsbl_config> parse_dnsbl_config(std::string_view text, const std::string& source) {
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return fail(errc::parse_error,
                fmt::format("{}:{}: {}", source, e.source().begin.line, e.description()));
  }
  dnsbl_config c;
  auto ok = read_section(doc, "dnsbl", source, into(c, source));
  if (!ok) return std::unexpected(ok.error());
  return c;
}

result<dnsbl_config> load_dnsbl_config_file(const std::string& path) {
  dnsbl_config c;
  auto ok = load_section_file(path, "dnsbl", into(c, path));
  if (!ok) return std::unexpected(ok.error());
  return c;
}

}  // namespace mxg::policy
