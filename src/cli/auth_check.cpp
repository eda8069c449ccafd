// auth_check.cpp: `mxguard auth check MESSAGE --ip IP --mail-from ADDR --helo NAME
// [--zone FILE | --dns HOST:PORT] [--now UNIXTIME] [--json]` (issue 10 section 4): the
// whole message authentication of one message as the gateway does it: SPF of the MAIL
// FROM identity (RFC 7208; HELO for the null sender, RFC 7208 2.4 / RFC 9989 4.4.1)
// through policy::evaluate_spf, every DKIM-Signature (RFC 6376), the ARC chain (RFC
// 8617), DMARC (RFC 9989) and the Authentication-Results field (RFC 8601) we would add.
// --json prints exactly, keys in this order:
//   {"dkim": [{"domain","selector","algorithm","result","reason"}...],
//    "spf": {"result","domain"},
//    "dmarc": {"result","from_domain","policy","dkim_aligned","spf_aligned"},
//    "arc": {"result"}, "authentication_results": "..."}
// (dmarc.policy: none|quarantine|reject, null when no policy applies).
// Exit codes: 0 evaluated (whatever the results), 2 usage error (bad flags, unreadable
// message or zone file, bad IP, unreadable PSL).
// The message is streamed into the DKIM verifier and the ARC validator (never held).
// Security: the message and DNS answers are untrusted; text output goes through the
// JSON encoder or printable().
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "arc/validate.hpp"
#include "cli/dns_flags.hpp"
#include "cli/printable.hpp"
#include "dkim/verifier.hpp"
#include "dmarc/evaluate.hpp"
#include "dmarc/from.hpp"
#include "dmarc/psl.hpp"
#include "policy/auth_results.hpp"
#include "policy/spf_policy.hpp"

namespace {

using namespace mxg;
using ojson = nlohmann::ordered_json;

constexpr int kExitOk = 0, kExitUsage = 2;
constexpr std::size_t kReadChunk = 64 * 1024;

struct check_args {
  std::string message;
  std::string ip, mail_from, helo;
  long long now = -1;
  bool json = false;
  std::string mode = "treewalk";
  std::string psl_file;
  std::string authserv_id = "mxguard";
  cli::dns_flags dns;
};

using cli::printable;

struct results {
  policy::spf_evaluation spf;
  std::vector<dkim::signature_result> dkim;
  arc::validation arc;
  dmarc::evaluation dmarc;
};

asio::awaitable<void> check(dkim::verifier& v, arc::validator& av, dns::resolver& res,
                            policy::spf_request req, dmarc::options o, results& out) {
  policy::spf_policy_config sc;
  sc.enabled = true;
  sc.check_helo = false;  // the JSON's spf is DMARC's identity: MAIL FROM (HELO for <>)
  const std::vector<net::cidr> none;
  out.spf = co_await policy::evaluate_spf(sc, none, res, std::move(req), "mxguard");
  out.dkim = co_await v.finish(res);
  out.arc = co_await av.finish(res);
  dmarc::from_domain from = dmarc::extract_from_domain(v.header());
  dmarc::spf_input si{spf::to_string(out.spf.outcome.result), out.spf.outcome.domain};
  std::vector<dmarc::dkim_input> di;
  for (const auto& r : out.dkim) di.push_back({dkim::to_string(r.res), r.domain, r.selector});
  out.dmarc = co_await dmarc::evaluate(from, si, di, res, o);
}

int run(const check_args& a) {
  auto ip = net::ip_address::parse(a.ip);
  if (!ip) {
    std::fprintf(stderr, "mxguard auth check: --ip %s is not an IP address\n",
                 printable(a.ip).c_str());
    return kExitUsage;
  }
  std::string sender = a.mail_from;
  if (sender == "<>") sender.clear();
  if (sender.size() >= 2 && sender.front() == '<' && sender.back() == '>')
    sender = sender.substr(1, sender.size() - 2);

  dmarc::options o;
  std::optional<dmarc::public_suffix_list> psl;
  if (a.mode == "psl") {
    if (a.psl_file.empty()) {
      std::fprintf(stderr, "mxguard auth check: --dmarc-mode psl needs --psl FILE\n");
      return kExitUsage;
    }
    auto l = dmarc::public_suffix_list::load_file(a.psl_file);
    if (!l) {
      std::fprintf(stderr, "mxguard auth check: %s\n", l.error().message.c_str());
      return kExitUsage;
    }
    psl = std::move(*l);
    o.mode = dmarc::discovery_mode::psl;
    o.psl = &*psl;
  }

  std::FILE* f = a.message == "-" ? stdin : std::fopen(a.message.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "mxguard auth check: cannot open %s\n", printable(a.message).c_str());
    return kExitUsage;
  }
  dkim::options dopt;
  arc::options aopt;
  if (a.now >= 0) {
    std::int64_t t = a.now;
    dopt.clock = [t] { return t; };
    aopt.clock = [t] { return t; };
  }
  dkim::verifier v(dopt);
  arc::validator av(aopt);
  std::string buf(kReadChunk, '\0');
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f)) {
    v.feed(std::string_view(buf).substr(0, n));
    av.feed(std::string_view(buf).substr(0, n));
  }
  bool read_error = std::ferror(f) != 0;
  if (f != stdin) std::fclose(f);
  if (read_error) {
    std::fprintf(stderr, "mxguard auth check: error reading %s\n", printable(a.message).c_str());
    return kExitUsage;
  }

  asio::io_context io;
  auto res = a.dns.make(io.get_executor());
  if (!res) {
    std::fprintf(stderr, "mxguard auth check: %s\n", res.error().message.c_str());
    return kExitUsage;
  }
  results r;
  asio::co_spawn(io, check(v, av, **res, {*ip, sender, a.helo}, o, r), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();

  policy::auth_results_input in;
  in.authserv_id = a.authserv_id;
  in.spf = &r.spf;
  in.dkim = &r.dkim;
  in.dmarc = &r.dmarc;
  in.arc = &r.arc;
  in.client_ip = a.ip;
  const std::string field = policy::authentication_results(in);
  const std::string value = field.substr(std::string_view("Authentication-Results: ").size());

  if (a.json) {
    ojson dk = ojson::array();
    for (const auto& s : r.dkim)
      dk.push_back(ojson{{"domain", s.domain},
                         {"selector", s.selector},
                         {"algorithm", s.algorithm},
                         {"result", dkim::to_string(s.res)},
                         {"reason", s.reason}});
    ojson out;
    out["dkim"] = std::move(dk);
    out["spf"] =
        ojson{{"result", spf::to_string(r.spf.outcome.result)}, {"domain", r.spf.outcome.domain}};
    out["dmarc"] = ojson{
        {"result", dmarc::to_string(r.dmarc.res)},
        {"from_domain", r.dmarc.from_domain},
        {"policy", r.dmarc.policy ? ojson(dmarc::to_string(*r.dmarc.policy)) : ojson(nullptr)},
        {"dkim_aligned", r.dmarc.dkim_aligned},
        {"spf_aligned", r.dmarc.spf_aligned}};
    out["arc"] = ojson{{"result", arc::to_string(r.arc.cv)}};
    out["authentication_results"] = value;
    std::printf("%s\n", out.dump(2, ' ', false, ojson::error_handler_t::replace).c_str());
    return kExitOk;
  }
  std::printf("spf:   %s (%s)\n", spf::to_string(r.spf.outcome.result),
              printable(r.spf.outcome.domain).c_str());
  if (r.dkim.empty()) std::printf("dkim:  none (no DKIM-Signature field)\n");
  for (const auto& s : r.dkim)
    std::printf("dkim:  %s d=%s s=%s a=%s%s%s\n", dkim::to_string(s.res),
                printable(s.domain).c_str(), printable(s.selector).c_str(),
                printable(s.algorithm).c_str(), s.reason.empty() ? "" : ": ",
                printable(s.reason).c_str());
  std::printf("arc:   %s%s%s\n", arc::to_string(r.arc.cv), r.arc.reason.empty() ? "" : ": ",
              printable(r.arc.reason).c_str());
  std::printf("dmarc: %s from=%s policy=%s dkim_aligned=%s spf_aligned=%s%s%s\n",
              dmarc::to_string(r.dmarc.res),
              r.dmarc.from_domain.empty() ? "-" : printable(r.dmarc.from_domain).c_str(),
              r.dmarc.policy ? dmarc::to_string(*r.dmarc.policy) : "-",
              r.dmarc.dkim_aligned ? "yes" : "no", r.dmarc.spf_aligned ? "yes" : "no",
              r.dmarc.reason.empty() ? "" : ": ", printable(r.dmarc.reason).c_str());
  std::printf("%s\n", printable(field).c_str());
  return kExitOk;
}

mxg::cli::registration reg(125, [](CLI::App& root, int& exit_code) {
  auto* auth =
      cli::group(root, "auth", "Message authentication: SPF, DKIM, ARC and DMARC together");
  auto args = std::make_shared<check_args>();
  auto* cmd = auth->add_subcommand(
      "check",
      "Check MESSAGE ('-' for stdin) as the gateway would receive it from --ip with\n"
      "--mail-from and --helo: SPF (RFC 7208), every DKIM-Signature (RFC 6376), the ARC\n"
      "chain (RFC 8617), DMARC (RFC 9989) and the Authentication-Results field (RFC 8601).\n"
      "Examples:\n"
      "  mxguard auth check message.eml --ip 192.0.2.1 --mail-from a@example.com --helo "
      "mx.example.com\n"
      "  mxguard auth check --zone test.zone --now 1700000000 --json --ip 192.0.2.1 \\\n"
      "      --mail-from a@example.com --helo mx.example.com message.eml\n"
      "Exit codes: 0 evaluated (whatever the results), 2 usage error.");
  cmd->add_option("MESSAGE", args->message, "Message file (RFC 5322; CRLF or LF), '-' = stdin")
      ->required();
  cmd->add_option("--ip", args->ip, "The SMTP client's IP address")->required();
  cmd->add_option("--mail-from", args->mail_from, "MAIL FROM address ('' or '<>': null sender)")
      ->required();
  cmd->add_option("--helo", args->helo, "HELO/EHLO name")->required();
  cmd->add_option("--now", args->now, "Unix time to judge DKIM/ARC x= with (default: now)")
      ->check(CLI::Range(0LL, 253402300799LL));
  cmd->add_option("--dmarc-mode", args->mode,
                  "DMARC policy discovery: treewalk (RFC 9989, default) or psl (RFC 7489)")
      ->check(CLI::IsMember({"treewalk", "psl"}));
  cmd->add_option("--psl", args->psl_file, "Public Suffix List file (with --dmarc-mode psl)");
  cmd->add_option("--authserv-id", args->authserv_id,
                  "authserv-id of the Authentication-Results field (default mxguard)");
  cmd->add_flag("--json", args->json, "Print JSON (the issue's exact shape)");
  args->dns.add_to(cmd);
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
});

}  // namespace
