// dmarc_report.cpp: `mxguard dmarc report --since 1d --org-name N --email E [--out DIR]
// [--until AGE] [--receiver DOMAIN] [--history PATH | --config FILE] [--json]`: builds
// one DMARC aggregate report (RFC 9990) per policy domain from the history
// (policy/dmarc_report.hpp), writes each gzip-compressed under the RFC's file name
// (receiver!policy-domain!begin!end.xml.gz) into DIR, and lists what it wrote. Sending is
// left to the administrator's mail system (the rua= addresses are in each record).
// Exit: 0 written (or nothing to report), 1 a file could not be written, 2 usage error
// (bad flags, no history database).
// Security: the history is opened read-only in effect (only queried) and must exist
// (a typo in --history must not create an empty one); files are written under a
// temporary name and renamed, so a reader never sees half a report.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "cli/age.hpp"
#include "cli/printable.hpp"
#include "cli/registry.hpp"
#include "gateway/config.hpp"
#include "policy/dmarc_report.hpp"
#include "store/history.hpp"

namespace {

using namespace mxg;
namespace fs = std::filesystem;

constexpr int kExitOk = 0, kExitWrite = 1, kExitUsage = 2;

struct report_args {
  std::string since = "1d";
  std::string until;  // AGE before now; "" = now
  std::string org_name, email, extra_contact_info, receiver;
  std::string out = ".";
  std::string history, config;
  bool json = false;
};

result<void> write_file(const fs::path& path, const std::string& data) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return fail(errc::io_error, "cannot create " + tmp.string());
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    f.flush();
    if (!f) return fail(errc::io_error, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return fail(errc::io_error, "cannot rename " + tmp.string() + ": " + ec.message());
  return {};
}

int run_report(const report_args& a) {
  auto since = cli::parse_age(a.since);
  if (!since) {
    std::fprintf(stderr, "mxguard dmarc report: --since: %s\n", since.error().message.c_str());
    return kExitUsage;
  }
  std::int64_t until_age = 0;
  if (!a.until.empty()) {
    auto u = cli::parse_age(a.until);
    if (!u) {
      std::fprintf(stderr, "mxguard dmarc report: --until: %s\n", u.error().message.c_str());
      return kExitUsage;
    }
    until_age = *u;
  }
  if (a.email.find('@') == std::string::npos) {
    std::fprintf(stderr,
                 "mxguard dmarc report: --email needs an address (RFC 9990: the "
                 "reporting organization's contact)\n");
    return kExitUsage;
  }
  std::string history = a.history;
  if (history.empty() && !a.config.empty()) {
    auto c = gateway::load_config_file(a.config);
    if (!c) {
      std::fprintf(stderr, "%s\n", c.error().message.c_str());
      return kExitUsage;
    }
    history = c->store.backend == "postgresql" ? c->store.dsn : c->history.path;
  }
  if (history.empty()) history = "var/history.db";
  std::error_code ec;
  if (!store::is_dsn(history) && !fs::exists(history, ec)) {
    std::fprintf(stderr, "mxguard dmarc report: no history database at %s (--history PATH)\n",
                 history.c_str());
    return kExitUsage;
  }
  auto h = store::open_location(history);
  if (!h) {
    std::fprintf(stderr, "mxguard dmarc report: %s\n", h.error().message.c_str());
    return kExitUsage;
  }
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  policy::aggregate_options o;
  o.until = now - until_age;
  o.since = o.until - *since;
  o.org_name = a.org_name;
  o.email = a.email;
  o.extra_contact_info = a.extra_contact_info;
  o.receiver = a.receiver;
  store::history_query q;
  q.since = o.since;
  q.until = o.until;
  q.dir = store::direction::inbound;
  auto recs = (*h)->query(q);
  if (!recs) {
    std::fprintf(stderr, "mxguard dmarc report: %s\n", recs.error().message.c_str());
    return kExitUsage;
  }
  auto reports = policy::build_aggregate_reports(*recs, o);
  fs::create_directories(a.out, ec);
  if (ec) {
    std::fprintf(stderr, "mxguard dmarc report: cannot create %s: %s\n", a.out.c_str(),
                 ec.message().c_str());
    return kExitWrite;
  }
  int failures = 0;
  nlohmann::json listed = nlohmann::json::array();
  for (const auto& r : reports) {
    auto gz = dmarc::gzip_compress(dmarc::to_xml(r.report));
    auto path = fs::path(a.out) / r.filename;
    auto w = gz ? write_file(path, *gz) : result<void>(std::unexpected(gz.error()));
    if (!w) {
      std::fprintf(stderr, "mxguard dmarc report: %s\n", w.error().message.c_str());
      ++failures;
      continue;
    }
    if (a.json) {
      listed.push_back({{"policy_domain", r.policy_domain},
                        {"file", path.string()},
                        {"messages", r.messages},
                        {"records", r.report.records.size()},
                        {"report_id", r.report.metadata.report_id}});
    } else {
      std::printf("%s: %llu message(s) in %zu record(s) -> %s\n",
                  cli::printable(r.policy_domain).c_str(),
                  static_cast<unsigned long long>(r.messages), r.report.records.size(),
                  cli::printable(path.string()).c_str());
    }
  }
  if (a.json) {
    nlohmann::json out{{"since", o.since}, {"until", o.until}, {"reports", listed}};
    std::printf("%s\n", out.dump(2).c_str());
  } else if (reports.empty()) {
    std::printf(
        "no DMARC-evaluated inbound mail with a policy record in the period: "
        "nothing to report\n");
  }
  return failures ? kExitWrite : kExitOk;
}

cli::registration reg(160, [](CLI::App& root, int& exit_code) {
  auto* g = cli::group(root, "dmarc", "DMARC (RFC 9989, 9990): aggregate reports");
  auto a = std::make_shared<report_args>();
  auto* cmd = g->add_subcommand(
      "report",
      "Build DMARC aggregate reports (RFC 9990) from the history: one gzip-compressed XML\n"
      "file per policy domain, named receiver!domain!begin!end.xml.gz, ready to send to\n"
      "the domain's rua= address.\n"
      "Example:\n"
      "  mxguard dmarc report --since 1d --org-name 'Example Mail' "
      "--email dmarc-reports@mx.example.net --out reports/");
  cmd->add_option("--since", a->since, "Period: 1d, 12h, ... (default 1d)")->type_name("AGE");
  cmd->add_option("--until", a->until, "End of the period as an age (default: now)")
      ->type_name("AGE");
  cmd->add_option("--org-name", a->org_name, "Reporting organization (report_metadata/org_name)")
      ->required();
  cmd->add_option("--email", a->email, "Contact address of the reporting organization")->required();
  cmd->add_option("--extra-contact-info", a->extra_contact_info, "Optional extra contact (URL)");
  cmd->add_option("--receiver", a->receiver,
                  "Our domain in file names and report ids (default: the --email domain)");
  cmd->add_option("--out", a->out, "Directory for the report files (default .)");
  auto* hist =
      cmd->add_option("--history", a->history, "History database (default var/history.db)");
  cmd->add_option("--config,-c", a->config, "Take the history path from this configuration")
      ->excludes(hist);
  cmd->add_flag("--json", a->json,
                "JSON: {since, until, reports: [{policy_domain, file, messages, records, "
                "report_id}]}");
  cmd->callback([a, &exit_code] { exit_code = run_report(*a); });
});

}  // namespace
