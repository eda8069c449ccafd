// dmarc_parse.cpp: `mxguard dmarc parse FILE... [--json]`: reads DMARC aggregate reports
// others send us (RFC 9990 and RFC 7489-era XML, .gz, .zip, or whole .eml messages with
// the report attached; dmarc/report.hpp) and prints each report, then a summary per
// source IP: messages, how many passed DKIM, SPF and DMARC (either aligned), and the
// header_from domains (who sends as our domains, and whether they pass).
// Exit: 0 every file read, 1 a file could not be read (the others are still printed),
// 2 usage error.
// Security: report content is a stranger's: printed through printable() (\xNN for
// anything but printable ASCII); JSON output is escaped by nlohmann::json (invalid UTF-8
// replaced). Files are read with a size cap (kReportFileMax).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "cli/printable.hpp"
#include "cli/registry.hpp"
#include "dmarc/report.hpp"

namespace {

using namespace mxg;
using cli::printable;
using nlohmann::json;

constexpr int kExitOk = 0, kExitUnreadable = 1;

struct parse_args {
  std::vector<std::string> files;
  bool json = false;
};

result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(errc::io_error, path + ": " + ec.message());
  if (size > dmarc::kReportFileMax)
    return fail(errc::limit_exceeded,
                path + ": larger than " + std::to_string(dmarc::kReportFileMax) + " bytes");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::io_error, path + ": cannot open");
  std::string data(static_cast<std::size_t>(size), '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

struct ip_summary {
  std::uint64_t messages = 0, dkim_pass = 0, spf_pass = 0, dmarc_pass = 0;
  std::set<std::string> header_from;
};

json to_json(const dmarc::feedback& f, const std::string& source) {
  json recs = json::array();
  for (const auto& r : f.records) {
    json reasons = json::array();
    for (const auto& w : r.row.evaluated.reasons)
      reasons.push_back({{"type", w.type}, {"comment", w.comment}});
    json dkim = json::array();
    for (const auto& d : r.dkim)
      dkim.push_back({{"domain", d.domain},
                      {"selector", d.selector},
                      {"result", d.result},
                      {"human_result", d.human_result}});
    json spf = json::array();
    for (const auto& s : r.spf)
      spf.push_back({{"domain", s.domain},
                     {"scope", s.scope},
                     {"result", s.result},
                     {"human_result", s.human_result}});
    recs.push_back({{"row",
                     {{"source_ip", r.row.source_ip},
                      {"count", r.row.count},
                      {"policy_evaluated",
                       {{"disposition", r.row.evaluated.disposition},
                        {"dkim", r.row.evaluated.dkim},
                        {"spf", r.row.evaluated.spf},
                        {"reason", reasons}}}}},
                    {"identifiers",
                     {{"envelope_to", r.identifiers.envelope_to},
                      {"envelope_from", r.identifiers.envelope_from},
                      {"header_from", r.identifiers.header_from}}},
                    {"auth_results", {{"dkim", dkim}, {"spf", spf}}}});
  }
  const auto& m = f.metadata;
  const auto& p = f.policy;
  return {{"source", source},
          {"version", f.version},
          {"namespace", f.xml_namespace},
          {"report_metadata",
           {{"org_name", m.org_name},
            {"email", m.email},
            {"extra_contact_info", m.extra_contact_info},
            {"report_id", m.report_id},
            {"date_range", {{"begin", m.date_range.begin}, {"end", m.date_range.end}}},
            {"error", m.errors},
            {"generator", m.generator}}},
          {"policy_published",
           {{"domain", p.domain},
            {"adkim", p.adkim},
            {"aspf", p.aspf},
            {"p", p.p},
            {"sp", p.sp},
            {"np", p.np},
            {"testing", p.testing},
            {"discovery_method", p.discovery_method},
            {"fo", p.fo},
            {"pct", p.pct}}},
          {"records", recs}};
}

int run_parse(const parse_args& a) {
  int unreadable = 0;
  std::vector<std::pair<std::string, dmarc::feedback>> all;
  json errors = json::array();
  for (const auto& file : a.files) {
    auto data = read_file(file);
    if (!data) {
      std::fprintf(stderr, "mxguard dmarc parse: %s\n", data.error().message.c_str());
      errors.push_back({{"file", file}, {"error", data.error().message}});
      ++unreadable;
      continue;
    }
    auto pf = dmarc::parse_report_data(*data, file);
    if (!pf) {
      std::fprintf(stderr, "mxguard dmarc parse: %s\n", printable(pf.error().message).c_str());
      errors.push_back({{"file", file}, {"error", pf.error().message}});
      ++unreadable;
      continue;
    }
    for (const auto& e : pf->errors) {  // one document of several was unreadable
      std::fprintf(stderr, "mxguard dmarc parse: %s\n", printable(e).c_str());
      errors.push_back({{"file", file}, {"error", e}});
      ++unreadable;
    }
    for (std::size_t i = 0; i < pf->reports.size(); ++i)
      all.emplace_back(pf->names[i], std::move(pf->reports[i]));
  }

  std::map<std::string, ip_summary> by_ip;
  for (const auto& [name, f] : all)
    for (const auto& r : f.records) {
      auto& s = by_ip[r.row.source_ip];
      s.messages += r.row.count;
      bool dkim = r.row.evaluated.dkim == "pass", spf = r.row.evaluated.spf == "pass";
      if (dkim) s.dkim_pass += r.row.count;
      if (spf) s.spf_pass += r.row.count;
      // RFC 9989 4.4: DMARC passes when an aligned DKIM or SPF passes.
      if (dkim || spf) s.dmarc_pass += r.row.count;
      if (s.header_from.size() < 20) s.header_from.insert(r.identifiers.header_from);
    }

  if (a.json) {
    json reports = json::array();
    for (const auto& [name, f] : all) reports.push_back(to_json(f, name));
    json summary = json::array();
    for (const auto& [ip, s] : by_ip)
      summary.push_back({{"source_ip", ip},
                         {"messages", s.messages},
                         {"dkim_pass", s.dkim_pass},
                         {"dkim_fail", s.messages - s.dkim_pass},
                         {"spf_pass", s.spf_pass},
                         {"spf_fail", s.messages - s.spf_pass},
                         {"dmarc_pass", s.dmarc_pass},
                         {"dmarc_fail", s.messages - s.dmarc_pass},
                         {"header_from", s.header_from}});
    json out{{"reports", reports}, {"by_source_ip", summary}, {"errors", errors}};
    std::printf("%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return unreadable ? kExitUnreadable : kExitOk;
  }

  for (const auto& [name, f] : all) {
    const auto& m = f.metadata;
    std::printf("%s\n  from %s <%s>, report %s, %lld..%lld\n", printable(name).c_str(),
                printable(m.org_name).c_str(), printable(m.email).c_str(),
                printable(m.report_id).c_str(), static_cast<long long>(m.date_range.begin),
                static_cast<long long>(m.date_range.end));
    std::printf("  policy %s: p=%s sp=%s%s%s\n", printable(f.policy.domain).c_str(),
                printable(f.policy.p).c_str(), printable(f.policy.sp).c_str(),
                f.policy.np.empty() ? "" : (" np=" + printable(f.policy.np)).c_str(),
                f.policy.testing == "y" ? " t=y" : "");
    for (const auto& r : f.records) {
      std::string auth;
      for (const auto& d : r.dkim)
        auth += " dkim=" + printable(d.result) + "(" + printable(d.domain) + ")";
      for (const auto& s : r.spf)
        auth += " spf=" + printable(s.result) + "(" + printable(s.domain) + ")";
      std::printf("    %-39s %6llu %-10s dkim=%s spf=%s from=%s%s\n",
                  printable(r.row.source_ip).c_str(), static_cast<unsigned long long>(r.row.count),
                  printable(r.row.evaluated.disposition).c_str(),
                  printable(r.row.evaluated.dkim).c_str(), printable(r.row.evaluated.spf).c_str(),
                  printable(r.identifiers.header_from).c_str(), auth.c_str());
    }
  }
  std::printf("\nsummary per source IP (%zu report(s)):\n", all.size());
  std::printf("  %-39s %8s %9s %9s %9s  %s\n", "source_ip", "messages", "dkim", "spf", "dmarc",
              "header_from");
  for (const auto& [ip, s] : by_ip) {
    std::string froms;
    for (const auto& d : s.header_from) froms += (froms.empty() ? "" : ",") + printable(d);
    auto pf = [](std::uint64_t pass, std::uint64_t all) {
      return std::to_string(pass) + "/" + std::to_string(all - pass);
    };
    std::printf("  %-39s %8llu %9s %9s %9s  %s\n", printable(ip).c_str(),
                static_cast<unsigned long long>(s.messages), pf(s.dkim_pass, s.messages).c_str(),
                pf(s.spf_pass, s.messages).c_str(), pf(s.dmarc_pass, s.messages).c_str(),
                froms.c_str());
  }
  std::printf("  (pass/fail counts; dmarc passes when an aligned DKIM or SPF passes)\n");
  return unreadable ? kExitUnreadable : kExitOk;
}

cli::registration reg(161, [](CLI::App& root, int& exit_code) {
  auto* g = cli::group(root, "dmarc", "DMARC (RFC 9989, 9990): aggregate reports");
  auto a = std::make_shared<parse_args>();
  auto* cmd = g->add_subcommand(
      "parse",
      "Read DMARC aggregate reports (XML, .gz, .zip, or .eml messages with the report\n"
      "attached) and print each one with a summary per source IP.\n"
      "Example:\n"
      "  mxguard dmarc parse ~/rua/*.eml --json");
  cmd->add_option("FILE", a->files, "Report files or messages")->required();
  cmd->add_flag("--json", a->json,
                "JSON: {reports: [{source, version, report_metadata, policy_published, "
                "records}], by_source_ip: [...], errors: [...]}");
  cmd->callback([a, &exit_code] { exit_code = run_parse(*a); });
});

}  // namespace
