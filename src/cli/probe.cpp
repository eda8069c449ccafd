// probe.cpp: `mxguard probe HOST[:PORT] [--relay-tests] [--from-domain D] [--to ADDR]
// [--confirm-with-data] [--json]` (issue 12 section 1): flags and output only; the probe
// itself is delivery/probe.hpp. Exit codes: 0 no relay found, 1 a relay test accepted,
// 2 usage error, 3 could not connect to any host.
// Everything printed from the peer goes through printable() (text) or the JSON encoder
// with invalid UTF-8 replaced: a hostile banner never reaches the terminal raw.
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli/dns_flags.hpp"
#include "cli/printable.hpp"
#include "cli/probe_output.hpp"
#include "delivery/probe.hpp"

namespace {

using mxg::cli::printable;

struct probe_args {
  std::string target;
  bool relay_tests = false, json = false, confirm = false, no_tls = false;
  std::string from_domain, to, helo;
  int timeout = static_cast<int>(mxg::delivery::kProbeCommandTimeout.count());
  mxg::cli::dns_flags dns;
};

void print_text(const mxg::delivery::probe_report& r) {
  using mxg::cli::yes_no;
  std::printf("probe %s port %u%s\n", r.target.host.c_str(), r.target.port,
              r.mx_lookup ? " (MX lookup)" : "");
  if (!r.dns_error.empty()) std::printf("  DNS: %s\n", printable(r.dns_error).c_str());
  for (const auto& h : r.hosts) {
    std::printf("\nhost %s[%s]:%u\n", h.name.c_str(), h.address.c_str(), h.port);
    std::printf("  rDNS      %s (PTR %s, %s)\n",
                h.rdns.confirmed.empty() ? "not confirmed" : h.rdns.confirmed.c_str(),
                h.rdns.first().empty() ? "none" : h.rdns.first().c_str(),
                mxg::dns::to_string(h.rdns.ptr_status));
    if (!h.connected || !h.error.empty()) {
      std::printf("  error     %s\n", printable(h.error).c_str());
      if (!h.connected) continue;
    }
    std::printf("  banner    %s\n", printable(h.banner.substr(0, h.banner.find('\n'))).c_str());
    std::printf("  names     banner=%s ehlo=%s rdns=%s: %s\n",
                h.banner_name.empty() ? "-" : printable(h.banner_name).c_str(),
                h.ehlo_name.empty() ? "-" : printable(h.ehlo_name).c_str(),
                h.rdns.confirmed.empty() ? "-" : h.rdns.confirmed.c_str(),
                h.names.all_agree() ? "agree" : "DISAGREE or unknown");
    std::printf("  agreement banner/ehlo %s, banner/rdns %s, ehlo/rdns %s\n",
                yes_no(h.names.banner_ehlo), yes_no(h.names.banner_rdns),
                yes_no(h.names.ehlo_rdns));
    std::printf("  esmtp     %s; capabilities:", h.esmtp ? "yes" : "no (HELO)");
    for (const auto& c : h.capabilities) std::printf(" %s;", printable(c).c_str());
    std::printf("\n  size      %s\n", !h.info.size ? "not announced"
                                      : h.info.size_max == 0
                                          ? "announced, no limit"
                                          : std::to_string(h.info.size_max).c_str());
    const auto& t = h.tls;
    if (!t.offered) {
      std::printf("  starttls  not offered\n");
    } else if (!t.ok) {
      std::printf("  starttls  offered, FAILED: %s\n", printable(t.error).c_str());
    } else {
      std::printf("  starttls  %s %s (%.1f ms)\n", t.protocol.c_str(), t.cipher.c_str(),
                  t.handshake_ms);
      std::printf("  verify    %s against %s: %s (code %ld)\n", t.verified ? "OK" : "FAILED",
                  printable(t.checked_name).c_str(), printable(t.verify_result).c_str(),
                  t.verify_code);
      int i = 0;
      for (const auto& c : t.chain) {
        std::printf("  cert %d    subject %s\n", i++, printable(c.subject).c_str());
        std::printf("            issuer  %s\n", printable(c.issuer).c_str());
        std::printf("            expires %s (%lld days)\n", c.not_after.c_str(),
                    static_cast<long long>(c.days_left));
        for (const auto& n : c.names) std::printf("            name    %s\n", printable(n).c_str());
      }
    }
    std::printf("  timings   connect %.1f ms, banner %.1f ms, ehlo %.1f ms, total %.1f ms\n",
                h.connect_ms, h.banner_ms, h.ehlo_ms, h.total_ms);
    std::printf("  transcript\n");
    mxg::cli::print_transcript(h.transcript, "    ");
    for (const auto& rt : h.relay) {
      std::printf("  relay test %2d %s: %s\n", rt.test.number,
                  rt.accepted         ? "ACCEPTED"
                  : !rt.error.empty() ? "error"
                                      : "refused",
                  rt.test.what.c_str());
      if (!rt.error.empty()) std::printf("    error: %s\n", printable(rt.error).c_str());
      mxg::cli::print_transcript(rt.transcript, "    ");
    }
  }
  auto acc = r.accepted();
  if (!r.any_connected()) {
    std::printf("\nverdict: could not connect\n");
  } else if (acc.empty()) {
    std::printf("\nverdict: no relay found%s\n",
                r.hosts.empty() || r.hosts.front().relay.empty() ? " (relay tests not run)" : "");
  } else {
    std::printf("\nverdict: OPEN RELAY, %zu test(s) accepted:\n", acc.size());
    for (const auto* a : acc)
      std::printf("  %2d MAIL FROM:<%s> -> RCPT TO:<%s>%s\n", a->test.number,
                  printable(a->test.mail_from).c_str(), printable(a->test.rcpt_to).c_str(),
                  a->data_sent ? " (test message accepted)" : "");
  }
}

int run(const probe_args& a) {
  auto target = mxg::delivery::parse_target(a.target);
  if (!target) {
    std::fprintf(stderr, "mxguard probe: %s: %s\n", printable(a.target).c_str(),
                 target.error().message.c_str());
    return 2;
  }
  if (a.confirm && a.to.empty()) {
    std::fprintf(stderr, "mxguard probe: --confirm-with-data needs --to ADDR (your address)\n");
    return 2;
  }
  if (!a.to.empty() &&
      (a.to.find('@') == std::string::npos || a.to.front() == '@' || a.to.back() == '@')) {
    std::fprintf(stderr, "mxguard probe: --to wants user@domain\n");
    return 2;
  }
  mxg::delivery::probe_options o;
  o.relay_tests = a.relay_tests;
  o.confirm_with_data = a.confirm;
  o.from_domain = a.from_domain;
  if (!a.to.empty()) o.foreign_rcpt = a.to;
  o.starttls = !a.no_tls;
  o.command = std::chrono::seconds(a.timeout);
  o.connect = std::min(o.command, mxg::delivery::kProbeConnectTimeout);
  if (!a.helo.empty()) {
    o.helo_name = a.helo;
  } else if (!a.from_domain.empty()) {
    o.helo_name = a.from_domain;
  } else {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) == 0 && buf[0]) o.helo_name = buf;
  }
  asio::io_context io;
  auto res = a.dns.make(io.get_executor());
  if (!res) {
    std::fprintf(stderr, "mxguard probe: %s\n", res.error().message.c_str());
    return 2;
  }
  auto fut = asio::co_spawn(io, mxg::delivery::probe(**res, *target, o), asio::use_future);
  io.run();
  auto report = fut.get();
  if (a.json)
    std::cout << mxg::cli::probe_json(report).dump(2, ' ', false,
                                                   nlohmann::json::error_handler_t::replace)
              << "\n";
  else
    print_text(report);
  return mxg::delivery::probe_exit_code(report);
}

mxg::cli::registration reg(450, [](CLI::App& root, int& exit_code) {
  auto args = std::make_shared<probe_args>();
  auto* cmd = root.add_subcommand(
      "probe",
      "Diagnose a remote SMTP server: banner, EHLO, rDNS, STARTTLS certificate, open relay.\n"
      "Exit: 0 no relay found, 1 a relay test accepted, 2 usage error, 3 could not connect");
  cmd->add_option("HOST", args->target,
                  "Domain (MX lookup), host name or IP, with :PORT ([IPv6]:PORT)")
      ->required();
  cmd->add_flag("--relay-tests", args->relay_tests,
                "Run the 16 open-relay tests (one connection each, stopped at RCPT)");
  cmd->add_option("--from-domain", args->from_domain,
                  "Sender domain of the relay tests and our EHLO name");
  cmd->add_option("--to", args->to,
                  "Foreign recipient of the relay tests (an address you control)");
  cmd->add_flag("--confirm-with-data", args->confirm,
                "Send one test message to --to through the first accepted relay test");
  cmd->add_option("--helo", args->helo, "EHLO name (default: --from-domain, else our host name)");
  cmd->add_flag("--no-starttls", args->no_tls, "Do not try STARTTLS");
  cmd->add_option("--timeout", args->timeout, "Seconds per command (and at most 10 to connect)")
      ->check(CLI::Range(1, 600));
  cmd->add_flag("--json", args->json, "Machine-readable output");
  args->dns.add_to(cmd);
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
});

}  // namespace
