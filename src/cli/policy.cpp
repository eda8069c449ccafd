// policy.cpp: `mxguard policy simulate` and `mxguard policy suggest` (issue 9 section 5):
// thin CLI over policy/simulate.hpp. simulate replays the history's inbound
// transactions through a candidate [spf] section (--policy FILE) and prints what would
// change; --reevaluate runs SPF again through DNS (RFC 7208 check_host via
// policy::evaluate_spf, --dns/--zone like `spf check`) for the stored client IP, sender
// and HELO instead of trusting the stored results. The policy exceptions of the store
// ("release and allow", issue 11) are applied to the candidate's decisions as the
// gateway applies them and counted; --no-exceptions shows the raw rules. suggest proposes
// exceptions, stricter rules and broken-record flags with evidence and [[spf.rule]] snippets; it
// never changes a configuration. With --dns/--zone it asks the SPF linter (spf/lint.hpp)
// about permerror domains.
// Exit: 0 ok, 2 usage error (bad flags, unreadable policy, no history database).
// Security: history values came from SMTP peers: printed through printable() (\xNN for
// bytes outside printable ASCII) or the JSON encoder; the database is opened only if it
// exists (a typo in --history must not create an empty one); nothing is written.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/spawn.hpp"
#include "cli/age.hpp"
#include "cli/dns_flags.hpp"
#include "cli/printable.hpp"
#include "policy/dmarc_config.hpp"
#include "policy/simulate.hpp"
#include "policy/spf_config.hpp"
#include "spf/lint.hpp"
#include "store/history.hpp"

namespace {

using namespace mxg;
using nlohmann::json;

constexpr int kExitOk = 0, kExitUsage = 2;
constexpr int kReevaluateConcurrency = 64;  // SPF checks in flight with --reevaluate
constexpr std::size_t kTextDomains = 50;    // changed domains listed in text output

struct policy_args {
  std::string policy;
  std::string history = "var/history.db";
  std::string since = "30d";
  bool reevaluate = false;
  bool json = false;
  bool no_exceptions = false;
  std::string check = "spf";  // simulate: "spf" ([spf]) or "dmarc" ([dmarc])
  std::size_t top = kTextDomains;
  std::size_t min_pass = 20;
  std::string receiver = "mxguard-simulate";
  cli::dns_flags dns;
};

using cli::printable;

std::string date(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M UTC", &tm);
  return b;
}

struct loaded {
  std::vector<store::message_record> records;
  std::vector<store::quarantine_entry> quarantine;
  policy::exception_set exceptions;  // the store's live and expired ones (not deleted)
  std::int64_t since = 0;
  std::int64_t now = 0;
};

result<loaded> load_history(const policy_args& a) {
  auto age = cli::parse_age(a.since);
  if (!age) return fail(errc::invalid_argument, "--since: " + age.error().message);
  std::error_code ec;
  if (!store::is_dsn(a.history) && !std::filesystem::exists(a.history, ec))
    return fail(errc::not_found, "no history database at " + a.history + " (--history PATH)");
  auto h = store::open_location(a.history);
  if (!h) return std::unexpected(h.error());
  loaded l;
  l.since = static_cast<std::int64_t>(std::time(nullptr)) - *age;
  store::history_query q;
  q.since = l.since;
  q.dir = store::direction::inbound;
  auto recs = (*h)->query(q);
  if (!recs) return std::unexpected(recs.error());
  l.records = std::move(*recs);
  store::quarantine_query qq;
  qq.since = l.since;
  qq.include_released = qq.include_deleted = true;
  auto qs = (*h)->quarantine_find(qq);
  if (!qs) return std::unexpected(qs.error());
  l.quarantine = std::move(*qs);
  l.now = static_cast<std::int64_t>(std::time(nullptr));
  if (!a.no_exceptions) {
    auto ex = (*h)->exception_list(false);
    if (!ex && ex.error().code != errc::unsupported) return std::unexpected(ex.error());
    if (ex) l.exceptions = policy::exception_set(std::move(*ex));
  }
  return l;
}

bool dns_given(const cli::dns_flags& d) {
  return !d.servers.empty() || !d.zone.empty();
}

// --- simulate ---

struct reeval_job {
  const store::message_record* rec = nullptr;
  policy::spf_request req;
  std::optional<policy::spf_facts> facts;
};

asio::awaitable<void> reeval_worker(const policy::spf_policy_config& c, dns::resolver& res,
                                    std::vector<reeval_job>& jobs, std::size_t& next,
                                    const std::string& receiver) {
  const std::vector<net::cidr> no_extra;  // the candidate's own trusted lists apply
  while (next < jobs.size()) {
    auto& j = jobs[next++];
    policy::spf_evaluation e = co_await policy::evaluate_spf(c, no_extra, res, j.req, receiver);
    if (!e.skipped) j.facts = std::move(e.facts);
  }
}

json simulation_json(const policy::simulation& s) {
  json j;
  j["transitions"] = json::object();
  for (const auto& [t, n] : s.transitions) j["transitions"][t] = n;
  j["domains"] = json::array();
  for (const auto& d : s.domains) {
    json ips = json::array();
    for (const auto& i : d.ips)
      ips.push_back({{"ip", i.ip}, {"messages", i.messages}, {"repeats", i.repeats()}});
    j["domains"].push_back({{"domain", d.domain},
                            {"messages", d.messages},
                            {"from", d.from},
                            {"to", d.to},
                            {"released", d.released},
                            {"ips", std::move(ips)}});
  }
  j["excepted"] = s.excepted;
  j["by_exception"] = json::object();
  for (const auto& [id, n] : s.by_exception) j["by_exception"][std::to_string(id)] = n;
  return j;
}

void print_simulation(const policy::simulation& s, const policy_args& a, std::int64_t since,
                      std::size_t not_reevaluated) {
  const char* what = a.check == "dmarc" ? "DMARC" : "SPF";
  std::printf("policy simulate: %zu inbound messages with %s since %s, candidate %s%s\n", s.records,
              what, date(since).c_str(), printable(a.policy).c_str(),
              a.reevaluate ? " (SPF re-evaluated through DNS)" : "");
  if (s.skipped)
    std::printf("  %zu messages without a%s %s result skipped\n", s.skipped,
                a.check == "dmarc" ? "" : "n", what);
  if (not_reevaluated)
    std::printf("  %zu messages without a client IP or identity not re-evaluated\n",
                not_reevaluated);
  if (s.trusted)
    std::printf("  %zu from the candidate's trusted networks (SPF skipped)\n", s.trusted);
  if (a.no_exceptions)
    std::printf("  policy exceptions not applied (--no-exceptions): the raw rules\n");
  else if (s.excepted) {
    std::string ids;
    for (const auto& [id, n] : s.by_exception)
      ids += (ids.empty() ? "" : ", ") + std::to_string(id) + " (" + std::to_string(n) + ")";
    std::printf("  %zu decisions changed to tag by policy exceptions: %s\n", s.excepted,
                ids.c_str());
  }
  std::printf("\ntransitions:\n");
  std::size_t changed = 0;
  for (const auto& [t, n] : s.transitions) {
    auto arrow = t.find("->");
    if (t.substr(0, arrow) == t.substr(arrow + 2)) continue;
    changed += n;
    std::printf("  %-12s -> %-12s %zu\n", t.substr(0, arrow).c_str(), t.substr(arrow + 2).c_str(),
                n);
  }
  std::string same;
  for (const auto& [t, n] : s.transitions) {
    auto arrow = t.find("->");
    if (t.substr(0, arrow) != t.substr(arrow + 2)) continue;
    same += (same.empty() ? "" : ", ") + t.substr(0, arrow) + " " + std::to_string(n);
  }
  if (changed == 0) std::printf("  (no message would be treated differently)\n");
  if (!same.empty()) std::printf("  unchanged: %s\n", same.c_str());
  std::printf(
      "\nwould be rejected (newly): %zu, of which %zu were released from quarantine "
      "before\n",
      s.would_reject, s.would_reject_released);
  if (s.domains.empty()) return;
  std::printf(
      "\ndomains that would change (most messages first; \"repeats\": mostly from IPs "
      "seen twice or more,\nlikely the domain's own outsourced host; \"scattered\": "
      "one message per IP, likely forgery):\n");
  std::size_t shown = 0;
  for (const auto& d : s.domains) {
    if (shown++ == a.top) {
      std::printf("  ... %zu more (--top N, or --json for all)\n", s.domains.size() - a.top);
      break;
    }
    std::printf("  %-30s %s -> %s: %zu message%s, %zu released, %zu IP%s, %s\n",
                printable(d.domain).c_str(), d.from.c_str(), d.to.c_str(), d.messages,
                d.messages == 1 ? "" : "s", d.released, d.distinct_ips,
                d.distinct_ips == 1 ? "" : "s", d.pattern());
    std::string ips;
    for (const auto& i : d.ips)
      ips += (ips.empty() ? "" : ", ") + printable(i.ip) + " (" + std::to_string(i.messages) +
             (i.repeats() ? ", repeats)" : ")");
    std::printf("      %s\n", ips.c_str());
  }
}

const policy::exception_set* exceptions_of(const policy_args& a, const loaded& l) {
  return a.no_exceptions ? nullptr : &l.exceptions;
}

int run_simulate_dmarc(const policy_args& a) {
  if (a.reevaluate) {
    std::fprintf(stderr,
                 "mxguard policy simulate: --reevaluate is for --check spf (DMARC needs the "
                 "message, which the history does not keep)\n");
    return kExitUsage;
  }
  auto candidate = policy::load_dmarc_policy_file(a.policy);
  if (!candidate) {
    std::fprintf(stderr, "mxguard policy simulate: %s\n", candidate.error().message.c_str());
    return kExitUsage;
  }
  auto l = load_history(a);
  if (!l) {
    std::fprintf(stderr, "mxguard policy simulate: %s\n", l.error().message.c_str());
    return kExitUsage;
  }
  policy::simulation s =
      policy::simulate_dmarc(*candidate, l->records, l->quarantine, exceptions_of(a, *l), l->now);
  if (a.json)
    std::printf("%s\n", simulation_json(s).dump(2).c_str());
  else
    print_simulation(s, a, l->since, 0);
  return kExitOk;
}

int run_simulate(const policy_args& a) {
  if (a.check == "dmarc") return run_simulate_dmarc(a);
  auto candidate = policy::load_spf_policy_file(a.policy);
  if (!candidate) {
    std::fprintf(stderr, "mxguard policy simulate: %s\n", candidate.error().message.c_str());
    return kExitUsage;
  }
  auto l = load_history(a);
  if (!l) {
    std::fprintf(stderr, "mxguard policy simulate: %s\n", l.error().message.c_str());
    return kExitUsage;
  }
  policy::simulation s;
  std::size_t not_reevaluated = 0;
  if (!a.reevaluate) {
    s = policy::simulate(*candidate, l->records, l->quarantine, nullptr, exceptions_of(a, *l),
                         l->now);
  } else {
    asio::io_context io;
    auto res = a.dns.make(io.get_executor());
    if (!res) {
      std::fprintf(stderr, "mxguard policy simulate: %s\n", res.error().message.c_str());
      return kExitUsage;
    }
    std::vector<reeval_job> jobs;
    for (const auto& m : l->records) {
      auto ip = net::ip_address::parse(m.client_ip);
      if (m.dir != store::direction::inbound || !ip || (m.sender.empty() && m.helo.empty())) {
        ++not_reevaluated;
        continue;
      }
      reeval_job j;
      j.rec = &m;
      j.req = {*ip, m.sender, m.helo};
      jobs.push_back(std::move(j));
    }
    std::size_t next = 0;
    const int n = std::max(1, std::min<int>(kReevaluateConcurrency, static_cast<int>(jobs.size())));
    for (int w = 0; w < n; ++w)
      asio::co_spawn(io, reeval_worker(*candidate, **res, jobs, next, a.receiver),
                     log_escape("policy re-evaluation worker"));
    io.run();
    std::vector<store::message_record> recs;
    std::vector<std::optional<policy::spf_facts>> facts;
    for (auto& j : jobs) {
      recs.push_back(*j.rec);
      facts.push_back(std::move(j.facts));
    }
    s = policy::simulate(*candidate, recs, l->quarantine, &facts, exceptions_of(a, *l), l->now);
  }
  if (a.json)
    std::printf("%s\n", simulation_json(s).dump(2).c_str());
  else
    print_simulation(s, a, l->since, not_reevaluated);
  return kExitOk;
}

// --- suggest ---

asio::awaitable<void> lint_all(dns::resolver& res, std::vector<policy::suggestion>& out) {
  for (auto& s : out) {
    if (s.kind != policy::suggestion_kind::permerror) continue;
    spf::lint_report r = co_await spf::lint_domain(res, s.domain);
    for (const auto& f : r.findings) {
      if (f.sev != spf::severity::error) continue;
      s.lint_code = f.code;
      s.lint_message = f.message;
      s.lint_fix = f.fix;
      break;
    }
  }
}

json suggestion_json(const policy::suggestion& s) {
  json j{{"kind", policy::to_string(s.kind)},
         {"domain", s.domain},
         {"messages", s.messages},
         {"results", s.results},
         {"evidence", s.evidence()},
         {"snippet", s.snippet()}};
  json ips = json::array();
  for (const auto& i : s.ips) ips.push_back({{"ip", i.ip}, {"messages", i.messages}});
  j["ips"] = std::move(ips);
  if (s.kind == policy::suggestion_kind::exception) {
    j["quarantined"] = s.quarantined;
    j["released"] = s.released;
    json rel = json::array();
    for (const auto& i : s.released_ips)
      rel.push_back({{"ip", i.ip}, {"quarantined", i.quarantined}, {"released", i.released}});
    j["released_ips"] = std::move(rel);
  }
  if (s.kind == policy::suggestion_kind::permerror) {
    j["problem"] = s.problem;
    if (!s.lint_code.empty())
      j["lint"] = {{"code", s.lint_code}, {"message", s.lint_message}, {"fix", s.lint_fix}};
  }
  return j;
}

int run_suggest(const policy_args& a) {
  std::optional<policy::spf_policy_config> current;
  if (!a.policy.empty()) {
    auto c = policy::load_spf_policy_file(a.policy);
    if (!c) {
      std::fprintf(stderr, "mxguard policy suggest: %s\n", c.error().message.c_str());
      return kExitUsage;
    }
    current = std::move(*c);
  }
  auto l = load_history(a);
  if (!l) {
    std::fprintf(stderr, "mxguard policy suggest: %s\n", l.error().message.c_str());
    return kExitUsage;
  }
  policy::suggest_options opt;
  opt.min_pass_messages = a.min_pass;
  if (current) opt.current = &*current;
  auto out = policy::suggest(l->records, l->quarantine, opt);

  if (dns_given(a.dns)) {
    asio::io_context io;
    auto res = a.dns.make(io.get_executor());
    if (!res) {
      std::fprintf(stderr, "mxguard policy suggest: %s\n", res.error().message.c_str());
      return kExitUsage;
    }
    asio::co_spawn(io, lint_all(**res, out), log_escape("policy lint"));
    io.run();
  }

  if (a.json) {
    json j{{"suggestions", json::array()}};
    for (const auto& s : out) j["suggestions"].push_back(suggestion_json(s));
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf(
      "policy suggest: %zu suggestions from %zu inbound messages since %s "
      "(nothing is applied; paste what you agree with into [spf])\n",
      out.size(), l->records.size(), date(l->since).c_str());
  std::size_t i = 0;
  for (const auto& s : out) {
    const char* what = s.kind == policy::suggestion_kind::exception ? "exception for"
                       : s.kind == policy::suggestion_kind::stricter
                           ? "stricter rule for"
                           : "broken SPF record (permerror) at";
    std::printf("\n%zu. %s %s\n", ++i, what, printable(s.domain).c_str());
    for (const auto& e : s.evidence()) std::printf("   %s\n", printable(e).c_str());
    if (s.kind == policy::suggestion_kind::permerror && s.lint_code.empty() && !dns_given(a.dns))
      std::printf("   (give --dns or --zone to ask the SPF linter how to fix it)\n");
    std::printf("\n");
    std::string snip = s.snippet();
    std::size_t start = 0;
    while (start < snip.size()) {
      auto nl = snip.find('\n', start);
      std::printf("   %s\n", printable(snip.substr(start, nl - start)).c_str());
      start = nl == std::string::npos ? snip.size() : nl + 1;
    }
  }
  return kExitOk;
}

cli::registration reg(150, [](CLI::App& root, int& exit_code) {
  auto* pol = cli::group(root, "policy", "Policy: what a candidate policy would do, suggestions");
  auto sim_args = std::make_shared<policy_args>();
  auto* sim = pol->add_subcommand(
      "simulate",
      "Replay the recorded inbound transactions through a candidate [spf] policy (or\n"
      "[dmarc] with --check dmarc: the stored DMARC results, From domains) and show\n"
      "what would change: counts per transition (from the recorded action to the\n"
      "candidate's), the sender domains that would change with sample client IPs\n"
      "(repeats: a legitimate outsourced host; scattered: forgery) and how much of what\n"
      "would be rejected was released from quarantine before.\n"
      "Examples:\n"
      "  mxguard policy simulate --policy candidate.toml --since 30d\n"
      "  mxguard policy simulate --policy candidate.toml --reevaluate --dns 127.0.0.1 --json\n"
      "  mxguard policy simulate --policy candidate.toml --check dmarc");
  sim->add_option("--policy", sim_args->policy,
                  "TOML file with the candidate [spf] (or [dmarc]) section")
      ->required();
  sim->add_option("--check", sim_args->check, "Which section to simulate: spf (default), dmarc")
      ->check(CLI::IsMember({"spf", "dmarc"}));
  sim->add_option("--history", sim_args->history,
                  "History database, or a postgresql:// URI (default var/history.db)");
  sim->add_option("--since", sim_args->since, "Period: 30d, 12h, ... (default 30d)")
      ->type_name("AGE");
  sim->add_flag("--reevaluate", sim_args->reevaluate,
                "Run SPF again through DNS for the stored client IP, sender and HELO");
  sim->add_flag("--no-exceptions", sim_args->no_exceptions,
                "Do not apply the store's policy exceptions (\"release and allow\"): the raw "
                "rules' decisions");
  sim->add_option("--top", sim_args->top, "Domains listed in text output (default 50)");
  sim->add_flag("--json", sim_args->json,
                "JSON: {transitions: {\"from->to\": n}, domains: [{domain, messages, from, to, "
                "released, ips}], excepted: n, by_exception: {\"ID\": n}}");
  sim_args->dns.add_to(sim);
  sim->callback([sim_args, &exit_code] { exit_code = run_simulate(*sim_args); });

  auto sug_args = std::make_shared<policy_args>();
  auto* sug = pol->add_subcommand(
      "suggest",
      "Propose (never apply) SPF rules from the history: exceptions for domains whose\n"
      "softfail/fail mail from the same IPs keeps being released (>= 2 releases, >= 50%),\n"
      "stricter rules for domains that only ever pass, and permerror domains with the SPF\n"
      "linter's finding (with --dns/--zone; else the stored problem text). Each with its\n"
      "evidence and a ready-to-paste [[spf.rule]] snippet.");
  sug->add_option("--history", sug_args->history,
                  "History database, or a postgresql:// URI (default var/history.db)");
  sug->add_option("--since", sug_args->since, "Period: 30d, 12h, ... (default 30d)")
      ->type_name("AGE");
  sug->add_option("--policy", sug_args->policy,
                  "The current configuration: domains its rules cover get no stricter rule");
  sug->add_option("--min-messages", sug_args->min_pass,
                  "Stricter rule: at least this many messages, all pass (default 20)");
  sug->add_flag("--json", sug_args->json, "Machine-readable output");
  sug_args->dns.add_to(sug);
  sug->callback([sug_args, &exit_code] { exit_code = run_suggest(*sug_args); });
});

}  // namespace
