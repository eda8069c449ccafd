// dkim_verify.cpp: `mxguard dkim verify MESSAGE`: verifies every DKIM-Signature of one
// message (RFC 6376, RFC 8301, RFC 8463) against real DNS (c-ares, --dns HOST[:PORT],
// /etc/resolv.conf by default) or a zone file (--zone FILE), and prints one line per
// signature (result, d=, s=, a=, reason) and the Authentication-Results resinfo of each;
// --json prints {"dkim": [...], "authentication_results": "..."}. --now pins the clock.
// The message is read in chunks and streamed into the verifier (the body is not kept).
// Security: the message and DNS answers are untrusted; text output of them goes through
// the JSON encoder or \xNN escaping.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/dns_flags.hpp"
#include "cli/printable.hpp"
#include "dkim/verifier.hpp"

namespace {

using namespace mxg;

struct verify_args {
  std::string message;
  long long now = -1;
  bool json = false;
  cli::dns_flags dns;
};

using cli::printable;

int run(const verify_args& a) {
  std::FILE* f = a.message == "-" ? stdin : std::fopen(a.message.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "mxguard dkim verify: cannot open %s\n", a.message.c_str());
    return 2;
  }
  dkim::options opt;
  if (a.now >= 0) {
    std::int64_t t = a.now;
    opt.clock = [t] { return t; };
  }
  dkim::verifier v(opt);
  std::string buf(64 * 1024, '\0');
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f))
    v.feed(std::string_view(buf).substr(0, n));
  bool read_error = std::ferror(f) != 0;
  if (f != stdin) std::fclose(f);
  if (read_error) {
    std::fprintf(stderr, "mxguard dkim verify: error reading %s\n", a.message.c_str());
    return 2;
  }
  asio::io_context io;
  auto res = a.dns.make(io.get_executor());
  if (!res) {
    std::fprintf(stderr, "mxguard dkim verify: %s\n", res.error().message.c_str());
    return 2;
  }
  std::vector<dkim::signature_result> rs;
  asio::co_spawn(io, v.finish(**res),
                 [&](std::exception_ptr e, std::vector<dkim::signature_result> r) {
                   if (e) std::rethrow_exception(e);
                   rs = std::move(r);
                 });
  io.run();
  std::string ar;
  for (const auto& r : rs) ar += (ar.empty() ? "" : "; ") + dkim::authres_entry(r);
  if (a.json) {
    auto arr = nlohmann::json::array();
    for (const auto& r : rs) {
      nlohmann::json j{
          {"index", r.index},       {"domain", r.domain},       {"selector", r.selector},
          {"identity", r.identity}, {"algorithm", r.algorithm}, {"result", dkim::to_string(r.res)},
          {"reason", r.reason},     {"testing", r.testing},     {"key_bits", r.key_bits}};
      j["body_length"] = r.body_length ? nlohmann::json(*r.body_length) : nlohmann::json(nullptr);
      arr.push_back(std::move(j));
    }
    nlohmann::json out{{"dkim", std::move(arr)},
                       {"authentication_results", rs.empty() ? "dkim=none" : ar}};
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  if (rs.empty()) std::printf("none: no DKIM-Signature field\n");
  for (const auto& r : rs)
    std::printf("%s d=%s s=%s a=%s%s%s\n", dkim::to_string(r.res), printable(r.domain).c_str(),
                printable(r.selector).c_str(), printable(r.algorithm).c_str(),
                r.reason.empty() ? "" : ": ", printable(r.reason).c_str());
  std::printf("Authentication-Results: %s\n", rs.empty() ? "dkim=none" : printable(ar).c_str());
  return 0;
}

mxg::cli::registration reg(120, [](CLI::App& root, int& exit_code) {
  auto* dkim = cli::group(root, "dkim", "DKIM (RFC 6376, 8301, 8463): verify message signatures");
  auto args = std::make_shared<verify_args>();
  auto* cmd = dkim->add_subcommand(
      "verify",
      "Verify every DKIM-Signature of MESSAGE ('-' for stdin) and print one result per\n"
      "signature (pass, fail, neutral, policy, temperror, permerror) with its reason, in\n"
      "header order, and the Authentication-Results resinfo.\n"
      "Examples:\n"
      "  mxguard dkim verify message.eml\n"
      "  mxguard dkim verify --zone keys.zone --now 1667843664 --json message.eml\n"
      "Exit codes: 0 evaluated (whatever the results), 2 usage error (unreadable message or\n"
      "zone file, bad flags).");
  cmd->add_option("MESSAGE", args->message, "Message file (RFC 5322; CRLF or LF), '-' = stdin")
      ->required();
  cmd->add_option("--now", args->now, "Unix time to judge x= with (default: now)")
      ->check(CLI::Range(0LL, 253402300799LL));
  cmd->add_flag("--json", args->json, "Print JSON");
  args->dns.add_to(cmd);
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
});

}  // namespace
