// simulate.cpp: `policy simulate` and `policy suggest` over stored history (issue 9
// section 5); see simulate.hpp. Pure: no DNS, no database; the CLI queries the store
// and, with --reevaluate or for the linter, the resolver.
// Security: history values came from SMTP peers. They are only counted, compared and
// printed by the caller through escaping (JSON, or printable text); snippet domains are
// re-validated with the config's own check and TOML-escaped.
#include "policy/simulate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "base/ascii.hpp"
#include "net/ip_address.hpp"

namespace mxg::policy {

namespace {

const store::decision_record* spf_decision(const store::message_record& m) {
  for (const auto& d : m.decisions)
    if (d.check == "spf") return &d;
  return nullptr;
}

std::string clean_domain(std::string_view d) {
  std::string out = ascii::lower(d);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool in_any(const std::vector<net::cidr>& nets, const std::string& ip_text) {
  if (nets.empty()) return false;
  auto ip = net::ip_address::parse(ip_text);
  if (!ip) return false;
  return std::any_of(nets.begin(), nets.end(), [&](const net::cidr& n) { return n.contains(*ip); });
}

// Top `n` of a count map: most messages first, then by address (stable output).
std::vector<ip_count> top_ips(const std::map<std::string, std::size_t>& counts, std::size_t n) {
  std::vector<ip_count> v;
  for (const auto& [ip, c] : counts) v.push_back({ip, c});
  std::stable_sort(v.begin(), v.end(),
                   [](const ip_count& a, const ip_count& b) { return a.messages > b.messages; });
  if (v.size() > n) v.resize(n);
  return v;
}

std::string join_ips(const std::vector<ip_count>& ips) {
  std::string out;
  for (const auto& i : ips)
    out += (out.empty() ? "" : ", ") + fmt::format("{} ({})", i.ip, i.messages);
  return out;
}

std::string percent(std::size_t part, std::size_t whole) {
  if (whole == 0) return "0%";
  return fmt::format("{}%", (part * 100 + whole / 2) / whole);
}

}  // namespace

// --- records ---

std::string recorded_spf_action(const store::message_record& m) {
  if (const auto* d = spf_decision(m); d && !d->action.empty()) return d->action;
  return m.decision.empty() ? "accept" : m.decision;
}

std::string recorded_problem(const store::message_record& m) {
  const auto* d = spf_decision(m);
  const std::string& reason = d ? d->reason : m.reason;
  static constexpr std::string_view kKey = "problem=\"";
  auto at = reason.find(kKey);
  if (at == std::string::npos) return {};
  auto start = at + kKey.size();
  auto end = reason.rfind('"');
  if (end == std::string::npos || end < start) return reason.substr(start);
  return reason.substr(start, end - start);
}

std::optional<spf_facts> facts_from_record(const store::message_record& m) {
  auto r = spf::result_from_string(ascii::lower(m.spf_result));
  if (!r) return std::nullopt;
  spf_facts f;
  f.result = *r;
  f.identity = m.spf_identity == "helo" ? spf::identity::helo : spf::identity::mailfrom;
  f.domain = clean_domain(m.spf_domain);
  if (f.domain.empty()) {
    // Older rows without the identity's domain: RFC 7208 2.3/2.4 selection again.
    if (f.identity == spf::identity::mailfrom) f.domain = store::sender_domain(m.sender);
    if (f.domain.empty()) {
      f.identity = spf::identity::helo;
      f.domain = clean_domain(m.helo);
    }
  }
  f.ip = m.client_ip;
  f.mechanism = m.spf_mechanism;
  f.problem = recorded_problem(m);
  // The evaluator's wording for a DNS that did not answer (as spf_eval.cpp tests it).
  f.dns_timeout = f.result == spf::result::temperror && f.problem.starts_with("DNS timeout");
  return f;
}

// --- simulate ---

const char* domain_change::pattern() const {
  return repeating_messages * 2 >= messages ? "repeats" : "scattered";
}

namespace {

// One record as a simulation sees it: skipped (no result of the check), or decided
// `from` -> `to` for `domain`.
struct judged {
  bool skip = false;
  bool trusted = false;
  std::string from, to, domain;
  std::optional<std::int64_t> exception;  // the exception that changed `to`
};

// The counting shared by the [spf] and [dmarc] simulations.
template <typename Judge>
simulation run_simulation(const std::vector<store::message_record>& records,
                          const std::vector<store::quarantine_entry>& quarantine, Judge&& judge) {
  std::set<std::string> released;
  for (const auto& q : quarantine)
    if (q.released_at && !q.queue_id.empty()) released.insert(q.queue_id);

  struct group {
    std::size_t messages = 0, released = 0;
    std::map<std::string, std::size_t> ips;
  };
  std::map<std::tuple<std::string, std::string, std::string>, group> groups;

  simulation s;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& m = records[i];
    if (m.dir != store::direction::inbound) continue;
    judged j = judge(i, m);
    if (j.skip) {
      ++s.skipped;
      continue;
    }
    if (j.trusted) ++s.trusted;
    if (j.exception) {
      ++s.excepted;
      ++s.by_exception[*j.exception];
    }
    ++s.records;
    ++s.transitions[j.from + "->" + j.to];
    if (j.from == j.to) continue;
    auto& g = groups[{j.domain, j.from, j.to}];
    ++g.messages;
    ++g.ips[m.client_ip];
    const bool was_released = !m.queue_id.empty() && released.contains(m.queue_id);
    if (was_released) ++g.released;
    if (j.to == "reject") {
      ++s.would_reject;
      if (was_released) ++s.would_reject_released;
    }
  }

  for (auto& [key, g] : groups) {
    domain_change c;
    std::tie(c.domain, c.from, c.to) = key;
    c.messages = g.messages;
    c.released = g.released;
    c.distinct_ips = g.ips.size();
    for (const auto& [ip, n] : g.ips)
      if (n >= 2) c.repeating_messages += n;
    c.ips = top_ips(g.ips, kSampleIps);
    s.domains.push_back(std::move(c));
  }
  std::stable_sort(
      s.domains.begin(), s.domains.end(),
      [](const domain_change& a, const domain_change& b) { return a.messages > b.messages; });
  return s;
}

const store::decision_record* dmarc_decision(const store::message_record& m) {
  for (const auto& d : m.decisions)
    if (d.check == "dmarc") return &d;
  return nullptr;
}

// "key=value" from a decision reason that decide() wrote (values without spaces).
std::string reason_value(std::string_view reason, std::string_view key) {
  const std::string k = " " + std::string(key) + "=";
  auto at = (" " + std::string(reason)).find(k);
  if (at == std::string::npos) return {};
  std::string_view rest = reason.substr(at + k.size() - 1);
  return std::string(rest.substr(0, rest.find(' ')));
}

}  // namespace

simulation simulate(const spf_policy_config& candidate,
                    const std::vector<store::message_record>& records,
                    const std::vector<store::quarantine_entry>& quarantine,
                    const std::vector<std::optional<spf_facts>>* reevaluated,
                    const exception_set* exceptions, std::int64_t now) {
  return run_simulation(records, quarantine, [&](std::size_t i, const store::message_record& m) {
    judged j;
    std::optional<spf_facts> f;
    if (reevaluated) {
      f = i < reevaluated->size() ? (*reevaluated)[i] : std::nullopt;
      j.trusted = !f;  // the caller's evaluation skipped SPF for a trusted client
    } else {
      f = facts_from_record(m);
      if (!f) {
        j.skip = true;
        return j;
      }
      j.trusted = in_any(candidate.trusted_networks, m.client_ip) ||
                  in_any(candidate.trusted_forwarders, m.client_ip);
    }
    j.from = recorded_spf_action(m);
    if (j.trusted) {
      j.to = "accept";
    } else {
      decision d = decide(candidate, *f);
      if (exceptions)
        if (const auto* e = except_spf(d, *exceptions, m.sender, m.client_ip, now))
          j.exception = e->id;
      j.to = to_string(d.action);
    }
    j.domain = f ? f->domain : clean_domain(store::sender_domain(m.sender));
    return j;
  });
}

std::optional<dmarc_facts> dmarc_facts_from_record(const store::message_record& m) {
  std::string r = ascii::lower(m.dmarc_result);
  dmarc_facts f;
  if (r == "pass")
    f.result = dmarc::result::pass;
  else if (r == "fail")
    f.result = dmarc::result::fail;
  else if (r == "none")
    f.result = dmarc::result::none;
  else if (r == "temperror")
    f.result = dmarc::result::temperror;
  else if (r == "permerror")
    f.result = dmarc::result::permerror;
  else
    return std::nullopt;
  f.policy = dmarc::disposition_from_string(ascii::lower(m.dmarc_policy));
  if (!m.dmarc_record.empty())
    if (auto rec = dmarc::parse_record(m.dmarc_record)) f.testing = rec->testing;
  f.from_domain = clean_domain(m.header_from);
  f.dkim_aligned = m.dmarc_dkim_aligned;
  f.spf_aligned = m.dmarc_spf_aligned;
  const std::string arc = ascii::lower(m.arc_result);
  f.arc.cv = arc == "pass"   ? arc::chain_result::pass
             : arc == "fail" ? arc::chain_result::fail
                             : arc::chain_result::none;
  if (const auto* d = dmarc_decision(m)) {
    // decide() wrote the sealer and the AAR's passing method into its reason.
    f.arc.sealer = clean_domain(reason_value(d->reason, "arc_sealer"));
    std::string aar = reason_value(d->reason, "arc_aar");
    if (auto eq = aar.find('='); eq != std::string::npos) f.arc.passed = aar.substr(0, eq);
    auto problem = d->reason.find("problem=\"");
    if (problem != std::string::npos) f.detail = d->reason.substr(problem + 9);
    if (!f.detail.empty() && f.detail.back() == '"') f.detail.pop_back();
  }
  return f;
}

std::string recorded_dmarc_action(const store::message_record& m) {
  if (const auto* d = dmarc_decision(m); d && !d->action.empty()) return d->action;
  return "accept";
}

simulation simulate_dmarc(const dmarc_policy_config& candidate,
                          const std::vector<store::message_record>& records,
                          const std::vector<store::quarantine_entry>& quarantine,
                          const exception_set* exceptions, std::int64_t now) {
  return run_simulation(records, quarantine, [&](std::size_t, const store::message_record& m) {
    judged j;
    auto f = dmarc_facts_from_record(m);
    if (!f) {
      j.skip = true;
      return j;
    }
    j.from = recorded_dmarc_action(m);
    decision d = decide(candidate, *f);
    if (exceptions)
      if (const auto* e = except_dmarc(d, *exceptions, m.sender, m.client_ip, f->from_domain, now))
        j.exception = e->id;
    j.to = to_string(d.action);
    j.domain = f->from_domain;
    return j;
  });
}

// --- suggest ---

const char* to_string(suggestion_kind k) {
  switch (k) {
    case suggestion_kind::exception:
      return "exception";
    case suggestion_kind::stricter:
      return "stricter";
    case suggestion_kind::permerror:
      return "permerror";
  }
  return "exception";
}

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04X}", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::vector<std::string> suggestion::evidence() const {
  std::vector<std::string> lines;
  std::string mix;
  for (const auto& [r, n] : results) mix += (mix.empty() ? "" : ", ") + fmt::format("{} {}", r, n);
  switch (kind) {
    case suggestion_kind::exception: {
      std::string rs;
      for (const auto& r : released_results) rs += (rs.empty() ? "" : "/") + r;
      lines.push_back(fmt::format("{} of {} quarantined {} messages were released ({})", released,
                                  quarantined, rs, percent(released, quarantined)));
      for (const auto& ip : released_ips)
        lines.push_back(
            fmt::format("from {}: {} of {} released", ip.ip, ip.released, ip.quarantined));
      if (messages) lines.push_back(fmt::format("SPF results of {} messages: {}", messages, mix));
      break;
    }
    case suggestion_kind::stricter:
      lines.push_back(fmt::format("{} messages, every one SPF pass", messages));
      if (!ips.empty()) lines.push_back("top client IPs: " + join_ips(ips));
      break;
    case suggestion_kind::permerror:
      lines.push_back(fmt::format("{} of {} messages SPF permerror ({})",
                                  results.contains("permerror") ? results.at("permerror") : 0,
                                  messages, mix));
      if (!problem.empty()) lines.push_back("stored problem: " + problem);
      if (!lint_message.empty())
        lines.push_back(fmt::format("linter [{}]: {}", lint_code, lint_message));
      if (!lint_fix.empty()) lines.push_back("fix: " + lint_fix);
      if (!ips.empty()) lines.push_back("top client IPs: " + join_ips(ips));
      break;
  }
  return lines;
}

std::string suggestion::snippet() const {
  std::string out;
  // Comments carry peer text: one line each, no control bytes.
  auto comment = [&out](std::string_view text) {
    std::string line = "# ";
    for (char ch : text) {
      auto c = static_cast<unsigned char>(ch);
      line += (c < 0x20 || c == 0x7f) ? '?' : ch;
    }
    out += line + "\n";
  };
  std::vector<std::pair<std::string, std::string>> keys;
  std::string name;
  switch (kind) {
    case suggestion_kind::exception:
      name = "exception " + domain;
      comment(
          fmt::format("{}: {} of {} quarantined messages released; no enforcement for those "
                      "results",
                      domain, released, quarantined));
      for (const auto& r : released_results) keys.emplace_back(r, "accept");
      break;
    case suggestion_kind::stricter:
      name = "strict " + domain;
      comment(fmt::format("{}: {} messages, all SPF pass; refuse what fails", domain, messages));
      keys = {{"softfail", "reject"}, {"fail", "reject"}};
      break;
    case suggestion_kind::permerror:
      name = "broken record " + domain;
      comment(
          fmt::format("{}: SPF permerror{}", domain, problem.empty() ? "" : " (" + problem + ")"));
      if (!lint_fix.empty()) comment("ask the domain to fix it: " + lint_fix);
      comment("until it is fixed, accept its permerror mail (or choose \"tag\"/\"quarantine\")");
      keys = {{"permerror", "accept"}};
      break;
  }
  out += "[[spf.rule]]\n";
  out += "name = " + toml_string(name) + "\n";
  out += "domains = [" + toml_string(domain) + "]\n";
  for (const auto& [k, v] : keys) out += k + " = " + toml_string(v) + "\n";
  return out;
}

std::vector<suggestion> suggest(const std::vector<store::message_record>& records,
                                const std::vector<store::quarantine_entry>& quarantine,
                                const suggest_options& opt) {
  struct domain_stats {
    std::size_t messages = 0;
    std::map<std::string, std::size_t> results;
    std::map<std::string, std::size_t> ips;
    std::string problem;
    std::size_t quarantined = 0, released = 0;
    std::set<std::string> released_results;
    std::map<std::string, ip_release> by_ip;
  };
  std::map<std::string, domain_stats> stats;

  for (const auto& m : records) {
    if (m.dir != store::direction::inbound) continue;
    auto f = facts_from_record(m);
    if (!f || f->domain.empty()) continue;
    auto& d = stats[f->domain];
    ++d.messages;
    ++d.results[spf::to_string(f->result)];
    if (!m.client_ip.empty()) ++d.ips[m.client_ip];
    if (f->result == spf::result::permerror && d.problem.empty()) d.problem = f->problem;
  }

  // Releases: the quarantine index carries the SPF result, domain and client of each
  // quarantined message (released ones and deleted ones too).
  for (const auto& q : quarantine) {
    const std::string r = ascii::lower(q.spf_result);
    if (r != "softfail" && r != "fail") continue;
    std::string domain = clean_domain(q.spf_domain);
    if (domain.empty()) domain = clean_domain(store::sender_domain(q.sender));
    if (domain.empty()) continue;
    auto& d = stats[domain];
    auto& ip = d.by_ip[q.client_ip];
    ip.ip = q.client_ip;
    ++d.quarantined;
    ++ip.quarantined;
    if (q.released_at) {
      ++d.released;
      ++ip.released;
      d.released_results.insert(r);
    }
  }

  std::vector<suggestion> exceptions, permerrors, stricter;
  for (const auto& [domain, d] : stats) {
    // Snippets must be accepted by the config reader; a domain it refuses is skipped.
    auto valid = normalize_rule_domain(domain);
    if (!valid || valid->front() == '.') continue;

    suggestion base;
    base.domain = domain;
    base.messages = d.messages;
    base.results = d.results;
    base.ips = top_ips(d.ips, kSampleIps);

    // Exception: from one IP, >= min_releases releases at >= min_release_rate.
    std::vector<ip_release> keeps;
    for (const auto& [ip, e] : d.by_ip) {
      if (e.released >= opt.min_releases &&
          static_cast<double>(e.released) >=
              opt.min_release_rate * static_cast<double>(e.quarantined))
        keeps.push_back(e);
    }
    if (!keeps.empty()) {
      std::stable_sort(keeps.begin(), keeps.end(), [](const ip_release& a, const ip_release& b) {
        return a.released > b.released;
      });
      suggestion s = base;
      s.kind = suggestion_kind::exception;
      s.quarantined = d.quarantined;
      s.released = d.released;
      s.released_results.assign(d.released_results.begin(), d.released_results.end());
      s.released_ips = std::move(keeps);
      exceptions.push_back(std::move(s));
    }

    if (d.results.contains("permerror")) {
      suggestion s = base;
      s.kind = suggestion_kind::permerror;
      s.problem = d.problem;
      permerrors.push_back(std::move(s));
    }

    const bool only_pass =
        d.messages >= opt.min_pass_messages && d.results.size() == 1 && d.results.contains("pass");
    if (only_pass && !(opt.current && opt.current->rule_for(domain))) {
      suggestion s = base;
      s.kind = suggestion_kind::stricter;
      stricter.push_back(std::move(s));
    }
  }

  std::stable_sort(
      exceptions.begin(), exceptions.end(),
      [](const suggestion& a, const suggestion& b) { return a.released > b.released; });
  auto by_messages = [](const suggestion& a, const suggestion& b) {
    return a.messages > b.messages;
  };
  std::stable_sort(permerrors.begin(), permerrors.end(), by_messages);
  std::stable_sort(stricter.begin(), stricter.end(), by_messages);

  std::vector<suggestion> out = std::move(exceptions);
  out.insert(out.end(), std::make_move_iterator(permerrors.begin()),
             std::make_move_iterator(permerrors.end()));
  out.insert(out.end(), std::make_move_iterator(stricter.begin()),
             std::make_move_iterator(stricter.end()));
  return out;
}

}  // namespace mxg::policy
