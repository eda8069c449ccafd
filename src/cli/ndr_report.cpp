// ndr_report.cpp: `mxguard ndr report PATH... --our-domains D,... [--history DB]
// [--since DATE] [--batv-secret S] [--json|--csv] [--draft-reports DIR]`: decides for
// each bounce whether it is backscatter (about mail our domains never sent), ranks the
// sources that accepted the forged messages, finds their abuse contacts and can write
// one ready-to-send abuse report per source. Bounces are parsed by ndr/ and judged by
// policy/backscatter.hpp (the same judgement as the gateway's filter). With --probe the
// top sources are probed (delivery/probe.hpp: banner, rDNS, TLS; relay tests only with
// --relay-tests), at most kProbeConcurrency at a time, each bounded by its timeouts, and
// the findings go into the output and each draft report. With --dnsbl-config FILE /
// --dnsbl-list ZONE each probed address is also looked up on those DNS lists
// (cli/dnsbl_flags.hpp, policy::evaluate_dnsbl: RFC 5782 2.1/2.4, the lists' error codes
// never read as listings) on the same resolver; without them the output says the lists
// were not checked.
// Exit codes: 0 report printed, 1 some input unreadable (the rest is reported),
// 2 usage error (bad flags, history or zone file that cannot be opened).
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>

#include "base/ascii.hpp"
#include "cli/dns_flags.hpp"
#include "cli/dnsbl_flags.hpp"
#include "cli/probe_output.hpp"
#include "delivery/probe.hpp"
#include "ndr/bounce_info.hpp"
#include "ndr/output.hpp"
#include "net/ip_address.hpp"
#include "policy/backscatter.hpp"

namespace {

struct report_args {
  std::vector<std::string> paths;
  std::vector<std::string> our_domains;
  std::string history;
  std::string since;
  std::string batv_secret;
  std::vector<std::string> batv_old;
  std::string drafts;
  std::string reporter;
  bool json = false, csv = false, no_spf = false, no_contacts = false;
  bool probe = false, relay_tests = false;
  int probe_top = 5, probe_port = 25, probe_timeout = 10;
  mxg::cli::dns_flags dns;
  std::string dnsbl_config;              // --dnsbl-config: a [dnsbl] section
  std::vector<std::string> dnsbl_lists;  // --dnsbl-list ZONE
};

// The DNS list status of one probed address (--dnsbl-config / --dnsbl-list).
struct address_lists {
  std::string ip;
  mxg::policy::dnsbl_evaluation eval;
};

// The addresses a probe connected to (or tried), each once, in order.
std::vector<std::string> probed_addresses(const mxg::delivery::probe_report& r) {
  std::vector<std::string> out;
  for (const auto& h : r.hosts)
    if (!h.address.empty() && std::find(out.begin(), out.end(), h.address) == out.end())
      out.push_back(h.address);
  return out;
}

constexpr const char* kListsNotChecked =
    "not checked (give --dnsbl-config FILE or --dnsbl-list ZONE)";

// "lists:" lines for the text output and the drafts: per address the score and one
// line per list (status, codes with weight and meaning, or the error).
std::string lists_summary(bool checked, const std::vector<address_lists>& v,
                          const std::string& in) {
  if (!checked) return in + "lists:   " + kListsNotChecked + "\n";
  if (v.empty()) return in + "lists:   no address probed, nothing looked up\n";
  std::string s;
  for (const auto& a : v) {
    s += in + "lists:   " + a.ip + " score " + std::to_string(a.eval.score) +
         (a.eval.errors ? " (" + std::to_string(a.eval.errors) + " list(s) could not be read)"
                        : "") +
         "\n";
    s += mxg::cli::dnsbl_list_lines(a.eval, in + "  ");
  }
  return s;
}

nlohmann::json lists_json(bool checked, const std::vector<address_lists>& v) {
  nlohmann::json j;
  j["checked"] = checked;
  if (!checked) {
    j["note"] = kListsNotChecked;
    return j;
  }
  j["addresses"] = nlohmann::json::array();
  for (const auto& a : v)
    j["addresses"].push_back({{"ip", a.ip},
                              {"score", a.eval.score},
                              {"errors", a.eval.errors},
                              {"lists", mxg::cli::dnsbl_lists_json(a.eval)}});
  return j;
}

constexpr std::size_t kProbeConcurrency = 4;  // probes in flight at once

// What `--probe` connects to for one source: the address that accepted the forged mail,
// else its host name.
std::string probe_host_of(const mxg::policy::source_group& g) {
  if (!g.ips.empty()) return *g.ips.begin();
  if (!g.hosts.empty()) return *g.hosts.begin();
  return "";
}

// Probes the first `top` groups, kProbeConcurrency at a time: workers take the next index.
asio::awaitable<void> probe_worker(std::vector<std::optional<mxg::delivery::probe_report>>& out,
                                   const std::vector<mxg::policy::source_group>& groups,
                                   std::size_t& next, mxg::dns::resolver& res,
                                   const mxg::delivery::probe_options& o, std::uint16_t port) {
  while (next < out.size()) {
    const std::size_t i = next++;
    const std::string host = probe_host_of(groups[i]);
    auto t = mxg::delivery::parse_target(host);
    if (!t) continue;
    t->port = port;
    out[i] = co_await mxg::delivery::probe(res, *t, o);
  }
}

// "2026-11-01", "30d" (days back) or Unix seconds.
std::optional<std::int64_t> parse_since(const std::string& s, std::int64_t now) {
  if (s.empty()) return 0;
  if (s.size() > 1 && s.back() == 'd' && s.find_first_not_of("0123456789") == s.size() - 1)
    return now - std::stoll(s.substr(0, s.size() - 1)) * 86400;
  if (s.find_first_not_of("0123456789") == std::string::npos && s.size() < 12) return std::stoll(s);
  std::tm tm{};
  if (strptime(s.c_str(), "%Y-%m-%d", &tm) && s.size() == 10) return timegm(&tm);
  return std::nullopt;
}

std::string day(std::int64_t t) {
  if (!t) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

int run(const report_args& a) {
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  mxg::policy::analysis_options opt;
  for (auto d : a.our_domains) {
    for (auto& c : d) c = mxg::ascii::to_lower(c);
    if (!d.empty()) opt.our_domains.push_back(d);
  }
  auto since = parse_since(a.since, now);
  if (!since) {
    std::fprintf(stderr, "mxguard ndr report: --since wants YYYY-MM-DD, Nd or Unix seconds\n");
    return 2;
  }
  opt.since = *since;
  std::unique_ptr<mxg::store::history> hist;
  if (!a.history.empty()) {
    if (!mxg::store::is_dsn(a.history) && !std::filesystem::exists(a.history)) {
      std::fprintf(stderr, "mxguard ndr report: history %s does not exist\n", a.history.c_str());
      return 2;
    }
    auto h = mxg::store::open_location(a.history);
    if (!h) {
      std::fprintf(stderr, "mxguard ndr report: %s\n", h.error().message.c_str());
      return 2;
    }
    hist = std::move(*h);
    opt.history = hist.get();
  }
  if (!a.batv_secret.empty())
    opt.batv.emplace(mxg::policy::batv_config{a.batv_secret, a.batv_old, 7});
  opt.check_spf = !a.no_spf;

  const bool check_lists = !a.dnsbl_config.empty() || !a.dnsbl_lists.empty();
  mxg::policy::dnsbl_config lists_cfg;
  if (check_lists) {
    auto c = mxg::cli::make_dnsbl_config(a.dnsbl_config, a.dnsbl_lists, "--dnsbl-list");
    if (!c) {
      std::fprintf(stderr, "mxguard ndr report: %s\n", c.error().message.c_str());
      return 2;
    }
    lists_cfg = std::move(*c);
  }

  asio::io_context io;
  auto res = a.dns.make(io.get_executor());
  if (!res) {
    std::fprintf(stderr, "mxguard ndr report: %s\n", res.error().message.c_str());
    return 2;
  }
  std::vector<mxg::ndr::bounce_info> bounces;
  int failures = 0;
  for (const auto& path : a.paths) {
    auto n = mxg::ndr::read_inputs(path, [&](mxg::ndr::input_message&& m) {
      for (auto& r : mxg::ndr::parse_message(m.data)) {
        r.file = m.name;
        bounces.push_back(mxg::ndr::describe(r, m.data));
      }
    });
    if (!n) {
      std::fprintf(stderr, "mxguard ndr report: %s\n", n.error().message.c_str());
      ++failures;
    }
  }
  std::vector<mxg::policy::judged> judged;
  std::vector<mxg::policy::source_group> groups;
  auto work = [&]() -> asio::awaitable<void> {
    for (const auto& b : bounces) judged.push_back(co_await mxg::policy::judge(b, opt, res->get()));
    groups = mxg::policy::rank_sources(judged);
    if (!a.no_contacts) co_await mxg::policy::find_contacts(groups, **res);
  };
  auto fut = asio::co_spawn(io, work(), asio::use_future);
  io.run();
  fut.get();

  std::vector<std::optional<mxg::delivery::probe_report>> probes(
      a.probe ? std::min(groups.size(), static_cast<std::size_t>(a.probe_top)) : 0);
  if (!probes.empty()) {
    mxg::delivery::probe_options po;
    po.relay_tests = a.relay_tests;
    po.helo_name = opt.our_domains.empty() ? "localhost" : opt.our_domains.front();
    po.command = std::chrono::seconds(a.probe_timeout);
    po.connect = std::min(po.command, mxg::delivery::kProbeConnectTimeout);
    po.max_hosts = 1;  // the address that accepted the forged mail
    std::size_t next = 0;
    std::vector<std::future<void>> workers;
    for (std::size_t w = 0; w < std::min(kProbeConcurrency, probes.size()); ++w)
      workers.push_back(asio::co_spawn(
          io,
          probe_worker(probes, groups, next, **res, po, static_cast<std::uint16_t>(a.probe_port)),
          asio::use_future));
    io.restart();
    io.run();
    for (auto& w : workers) w.get();
  }
  // Each probed address on the DNS lists, on the probe's resolver (its cache is warm).
  std::vector<std::vector<address_lists>> lists(probes.size());
  if (check_lists)
    for (std::size_t i = 0; i < probes.size(); ++i) {
      if (!probes[i]) continue;
      for (const auto& addr : probed_addresses(*probes[i]))
        if (auto ip = mxg::net::ip_address::parse(addr))
          lists[i].push_back({addr, mxg::cli::evaluate_dnsbl_now(io, lists_cfg, **res, *ip)});
    }
  auto probe_of = [&](std::size_t rank) -> const mxg::delivery::probe_report* {
    return rank < probes.size() && probes[rank] ? &*probes[rank] : nullptr;
  };

  std::map<mxg::policy::bounce_verdict, int> counts;
  for (const auto& j : judged) ++counts[j.v];
  if (a.json) {
    nlohmann::json out;
    out["summary"] = {{"bounces", judged.size()},
                      {"backscatter", counts[mxg::policy::bounce_verdict::backscatter]},
                      {"legitimate", counts[mxg::policy::bounce_verdict::legitimate]},
                      {"unknown", counts[mxg::policy::bounce_verdict::unknown]},
                      {"not_ours", counts[mxg::policy::bounce_verdict::not_ours]}};
    out["bounces"] = nlohmann::json::array();
    for (const auto& j : judged) {
      auto o = mxg::ndr::to_json(j.info.rec);
      o["verdict"] = mxg::policy::to_string(j.v);
      o["evidence"] = j.evidence;
      o["source_host"] = j.source_host;
      o["source_ip"] = j.source_ip;
      o["bounce_to"] = j.info.ndr_to;
      out["bounces"].push_back(std::move(o));
    }
    out["sources"] = nlohmann::json::array();
    std::size_t rank = 0;
    for (const auto& g : groups) {
      const auto* pr = probe_of(rank++);
      nlohmann::json contacts = nlohmann::json::array();
      for (const auto& c : g.contacts)
        contacts.push_back({{"address", c.address}, {"source", c.source}});
      out["sources"].push_back({{"source", g.key},
                                {"domain", g.domain},
                                {"network", g.network},
                                {"hosts", g.hosts},
                                {"ips", g.ips},
                                {"count", g.count},
                                {"first_seen", g.first_seen},
                                {"last_seen", g.last_seen},
                                {"sample_subjects", g.sample_subjects},
                                {"target_domains", g.target_domains},
                                {"contacts", contacts}});
      if (pr) {
        auto pj = mxg::cli::probe_json(*pr);
        pj["lists"] = lists_json(check_lists, lists[rank - 1]);
        out["sources"].back()["probe"] = std::move(pj);
      }
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (a.csv) {
    std::cout << "rank,source,domain,network,count,first_seen,last_seen,target_domains,contacts\n";
    int rank = 0;
    for (const auto& g : groups) {
      std::string targets, contacts;
      for (const auto& [d, n] : g.target_domains)
        targets += (targets.empty() ? "" : " ") + d + ":" + std::to_string(n);
      for (const auto& c : g.contacts) contacts += (contacts.empty() ? "" : " ") + c.address;
      std::cout << ++rank << "," << csv_quote(g.key) << "," << csv_quote(g.domain) << ","
                << csv_quote(g.network) << "," << g.count << "," << day(g.first_seen) << ","
                << day(g.last_seen) << "," << csv_quote(targets) << "," << csv_quote(contacts)
                << "\n";
    }
  } else {
    std::printf("%zu bounce record(s): %d backscatter, %d legitimate, %d unknown, %d not ours\n\n",
                judged.size(), counts[mxg::policy::bounce_verdict::backscatter],
                counts[mxg::policy::bounce_verdict::legitimate],
                counts[mxg::policy::bounce_verdict::unknown],
                counts[mxg::policy::bounce_verdict::not_ours]);
    int rank = 0;
    for (const auto& g : groups) {
      std::printf("#%d %s: %d bounce(s), %s .. %s\n", ++rank, g.key.c_str(), g.count,
                  day(g.first_seen).c_str(), day(g.last_seen).c_str());
      for (const auto& h : g.hosts) std::printf("    host     %s\n", h.c_str());
      for (const auto& ip : g.ips) std::printf("    ip       %s\n", ip.c_str());
      for (const auto& [d, n] : g.target_domains)
        std::printf("    targets  %s (%d)\n", d.c_str(), n);
      for (const auto& s : g.sample_subjects) std::printf("    subject  %s\n", s.c_str());
      for (const auto& c : g.contacts)
        std::printf("    contact  %s  [%s]\n", c.address.c_str(), c.source.c_str());
      if (const auto* pr = probe_of(static_cast<std::size_t>(rank - 1)))
        std::printf("    probe\n%s%s", mxg::cli::probe_summary(*pr, "      ").c_str(),
                    lists_summary(check_lists, lists[static_cast<std::size_t>(rank - 1)], "      ")
                        .c_str());
    }
    if (groups.empty()) std::printf("no backscatter sources found\n");
  }
  if (!a.drafts.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.drafts, ec);
    std::string reporter = !a.reporter.empty()       ? a.reporter
                           : opt.our_domains.empty() ? "postmaster@localhost"
                                                     : "postmaster@" + opt.our_domains.front();
    int n = 0;
    for (const auto& g : groups) {
      std::string name = g.key;
      for (auto& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
      auto path = std::filesystem::path(a.drafts) / (std::to_string(++n) + "-" + name + ".eml");
      std::ofstream f(path, std::ios::binary);
      std::string appendix;
      if (const auto* pr = probe_of(static_cast<std::size_t>(n - 1))) {
        appendix = "What we see of the source (mxguard probe, " + std::string(pr->target.host) +
                   " port " + std::to_string(pr->target.port) + "):\n" +
                   mxg::cli::probe_summary(*pr, "  ") +
                   lists_summary(check_lists, lists[static_cast<std::size_t>(n - 1)], "  ");
        std::string crlf;  // the draft is a message: CRLF line ends
        for (char c : appendix) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
        appendix = crlf;
      }
      f << mxg::policy::draft_report(g, judged, reporter, now, appendix);
      if (!f) {
        std::fprintf(stderr, "mxguard ndr report: cannot write %s\n", path.c_str());
        return 2;
      }
    }
    std::fprintf(stderr, "wrote %d abuse report draft(s) to %s\n", n, a.drafts.c_str());
  }
  return failures ? 1 : 0;
}

mxg::cli::registration reg(401, [](CLI::App& root, int& exit_code) {
  auto* ndr =
      mxg::cli::group(root, "ndr", "Bounce (NDR) tools: parse bounces, backscatter reports");
  auto args = std::make_shared<report_args>();
  auto* cmd = ndr->add_subcommand(
      "report",
      "Tell backscatter from real bounces, rank the abused sources with abuse contacts.\n"
      "Exit: 0 report printed, 1 some input unreadable, 2 usage error");
  cmd->add_option("PATH", args->paths, "Files (.eml, mbox), Maildir folders, directories, or -")
      ->required();
  cmd->add_option("--our-domains", args->our_domains, "Our mail domains (comma separated)")
      ->delimiter(',')
      ->required();
  cmd->add_option("--history", args->history, "mxguard history database (SQLite) of sent mail");
  cmd->add_option("--since", args->since, "History look-back: YYYY-MM-DD, Nd, or Unix seconds");
  cmd->add_option("--batv-secret", args->batv_secret,
                  "BATV secret our outbound mail is signed with");
  cmd->add_option("--batv-old-secret", args->batv_old, "Previous BATV secrets (repeatable)");
  cmd->add_flag("--no-spf", args->no_spf, "Do not check the original's host against our SPF");
  cmd->add_flag("--no-contacts", args->no_contacts, "Do not look up abuse contacts");
  auto* j = cmd->add_flag("--json", args->json, "Machine-readable output");
  cmd->add_flag("--csv", args->csv, "CSV of the ranked sources")->excludes(j);
  cmd->add_option("--draft-reports", args->drafts, "Write one abuse report (.eml) per source here");
  cmd->add_option("--reporter", args->reporter, "From: address of the drafts");
  auto* probe_flag =
      cmd->add_flag("--probe", args->probe,
                    "Probe the top sources (banner, rDNS, STARTTLS) and add it to the report");
  cmd->add_flag("--relay-tests", args->relay_tests, "With --probe: run the 16 open-relay tests too")
      ->needs(probe_flag);
  cmd->add_option("--probe-top", args->probe_top, "With --probe: how many sources (default 5)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--probe-port", args->probe_port, "With --probe: SMTP port (default 25)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--probe-timeout", args->probe_timeout,
                  "With --probe: seconds per command (default 10)")
      ->check(CLI::Range(1, 120));
  cmd->add_option("--dnsbl-config", args->dnsbl_config,
                  "With --probe: look each probed address up on the lists of this file's "
                  "[dnsbl] section")
      ->type_name("FILE")
      ->needs(probe_flag);
  cmd->add_option("--dnsbl-list", args->dnsbl_lists,
                  "With --probe: look each probed address up on this DNS list (weight 1; "
                  "repeatable)")
      ->type_name("ZONE")
      ->needs(probe_flag);
  args->dns.add_to(cmd);
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
});

}  // namespace
