// spf_lint.cpp: `mxguard spf lint DOMAIN | --record 'v=spf1 ...' [--json]`: a checklist of
// what is wrong with an SPF set-up, each finding with severity and a suggested fix.
// Exit codes: 0 no error (warnings and notes allowed), 1 at least one error,
// 2 usage error (bad flags, unreadable zone file).
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/dns_flags.hpp"
#include "spf/lint.hpp"

namespace {

struct lint_args {
  std::string domain;
  std::string record;
  bool json = false;
  bool offline = false;
  mxg::cli::dns_flags dns;
};

nlohmann::json to_json(const mxg::spf::lint_report& r) {
  nlohmann::json j;
  j["domain"] = r.domain;
  j["record"] = r.record;
  j["dns_terms"] = r.dns_terms;
  j["void_lookups"] = {{"ipv4", r.void_lookups_v4}, {"ipv6", r.void_lookups_v6}};
  j["errors"] = r.count(mxg::spf::severity::error);
  j["warnings"] = r.count(mxg::spf::severity::warning);
  j["findings"] = nlohmann::json::array();
  for (const auto& f : r.findings) {
    nlohmann::json o{{"severity", mxg::spf::to_string(f.sev)},
                     {"code", f.code},
                     {"domain", f.domain},
                     {"message", f.message},
                     {"fix", f.fix}};
    if (!f.term.empty()) o["term"] = f.term;
    if (f.offset) o["offset"] = *f.offset;
    j["findings"].push_back(std::move(o));
  }
  j["tree"] = nlohmann::json::array();
  for (const auto& n : r.tree)
    j["tree"].push_back({{"domain", n.domain},
                         {"via", n.via},
                         {"depth", n.depth},
                         {"dns_terms", n.dns_terms},
                         {"record", n.record}});
  return j;
}

int run(const lint_args& a) {
  if (a.domain.empty() == a.record.empty()) {
    std::fprintf(stderr, "mxguard spf lint: give either a DOMAIN or --record 'v=spf1 ...'\n");
    return 2;
  }
  asio::io_context io;
  std::unique_ptr<mxg::dns::resolver> res;
  if (!a.offline) {
    auto r = a.dns.make(io.get_executor());
    if (!r) {
      std::fprintf(stderr, "mxguard spf lint: %s\n", r.error().message.c_str());
      return 2;
    }
    res = std::move(*r);
  } else if (!a.domain.empty()) {
    std::fprintf(stderr, "mxguard spf lint: --offline works only with --record\n");
    return 2;
  }
  auto fut = a.record.empty()
                 ? asio::co_spawn(io, mxg::spf::lint_domain(*res, a.domain), asio::use_future)
                 : asio::co_spawn(io, mxg::spf::lint_record(res.get(), a.record), asio::use_future);
  io.run();
  auto report = fut.get();
  if (a.json)
    std::printf("%s\n", to_json(report).dump(2).c_str());
  else
    std::fputs(mxg::spf::format_report(report).c_str(), stdout);
  return report.ok() ? 0 : 1;
}

mxg::cli::registration reg(110, [](CLI::App& root, int& exit_code) {
  auto* spf =
      mxg::cli::group(root, "spf", "SPF (RFC 7208): evaluate sender policies and lint records");
  auto args = std::make_shared<lint_args>();
  auto* cmd = spf->add_subcommand(
      "lint",
      "Explain what is wrong with a domain's SPF record and how to fix it.\n"
      "Checks syntax (with positions), the 10 DNS-term and 2 void-lookup limits across the\n"
      "include/redirect tree, loops, missing targets, all/redirect use, ptr, CIDR host bits,\n"
      "overlapping networks, record size, MX count, SPF-type and Sender-ID records.\n"
      "Exit: 0 no errors (warnings allowed), 1 errors found, 2 usage error");
  cmd->add_option("domain", args->domain, "Domain whose published record is linted");
  cmd->add_option("--record", args->record, "Lint this record text instead of a published one");
  cmd->add_flag("--json", args->json, "Machine-readable output");
  cmd->add_flag("--offline", args->offline,
                "With --record: do not look up include/redirect targets");
  args->dns.add_to(cmd);
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
});

}  // namespace
