// dnsbl_check.cpp: `mxguard dnsbl check IP`: asks every DNS list of a [dnsbl] section
// (--config FILE) or given with --list ZONE about one address, exactly as the gateway
// does (policy::evaluate_dnsbl: RFC 5782 2.1/2.4 query names, one deadline, the lists'
// error codes), and shows each list's answer, its meaning and weight, the score and the
// decision. --test-points checks each list's RFC 5782 5 test entries instead (127.0.0.2
// / ::ffff:7f00:2 listed, 127.0.0.1 / ::ffff:7f00:1 not). DNS from --dns/--zone
// (cli/dns_flags.hpp), /etc/resolv.conf by default.
// Security: DNS answers are outside input: TXT reasons arrive sanitized from
// policy/dnsbl_eval.cpp and go through printable() or the JSON encoder.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/dns_flags.hpp"
#include "cli/dnsbl_flags.hpp"
#include "cli/printable.hpp"
#include "policy/dnsbl.hpp"

namespace {

using namespace mxg;
using cli::printable;

// Exit codes (README "dnsbl check"); 2 is the CLI-wide usage error.
constexpr int kExitNotListed = 0;
constexpr int kExitListed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitErrors = 3;  // a list could not be read, none lists the address

struct check_args {
  std::string ip;
  std::string config;
  std::vector<std::string> lists;
  bool test_points = false;
  bool json = false;
  cli::dns_flags dns;
};

nlohmann::json to_json(const policy::dnsbl_evaluation& e) {
  nlohmann::json j;
  j["ip"] = e.ip;
  j["score"] = e.score;
  j["action"] = policy::to_string(e.dec.action);
  j["monitor"] = e.dec.monitor;
  j["would"] = e.dec.would ? policy::to_string(*e.dec.would) : "";
  j["rule"] = e.dec.rule;
  j["reply"] = e.dec.reply.empty() ? "" : e.dec.reply.summary();
  j["reason"] = e.dec.reason;
  j["skipped"] = e.skipped;
  j["lists"] = cli::dnsbl_lists_json(e);
  return j;
}

void print_text(const policy::dnsbl_evaluation& e) {
  std::printf("client %s\n", e.ip.c_str());
  std::fputs(cli::dnsbl_list_lines(e, "  ").c_str(), stdout);
  std::printf("score %d\ndecision %s", e.score, policy::to_string(e.dec.action));
  if (e.dec.monitor && e.dec.would)
    std::printf(" (monitor, would %s)", policy::to_string(*e.dec.would));
  if (!e.dec.rule.empty()) std::printf(" rule %s", printable(e.dec.rule).c_str());
  std::printf("\n");
  if (!e.dec.reply.empty()) std::printf("reply %s\n", printable(e.dec.reply.summary()).c_str());
}

int exit_for(const policy::dnsbl_evaluation& e) {
  for (const auto& z : e.zones)
    if (z.status == policy::dnsbl_status::listed && z.type == policy::dnsbl_zone_type::block)
      return kExitListed;
  return e.errors > 0 ? kExitErrors : kExitNotListed;
}

policy::dnsbl_evaluation evaluate(const policy::dnsbl_config& c, const cli::dns_flags& flags,
                                  const net::ip_address& ip, bool& dns_ok) {
  asio::io_context io;
  auto res = flags.make(io.get_executor());
  if (!res) {
    std::fprintf(stderr, "mxguard dnsbl check: %s\n", res.error().message.c_str());
    dns_ok = false;
    return {};
  }
  std::unique_ptr<dns::resolver> r = std::move(*res);
  dns_ok = true;
  return cli::evaluate_dnsbl_now(io, c, *r, ip);
}

// RFC 5782 5: each list must list 127.0.0.2 (IPv6: ::ffff:7f00:2) and must not list
// 127.0.0.1 (::ffff:7f00:1). The IPv6 points are asked as IPv6 addresses (nibbles).
int run_test_points(const policy::dnsbl_config& c, const check_args& a) {
  bool all_ok = true;
  nlohmann::json out = nlohmann::json::array();
  struct point {
    const char* ip;
    bool v6;
    bool listed;
  };
  const point points[] = {{"127.0.0.2", false, true},
                          {"127.0.0.1", false, false},
                          {"::ffff:7f00:2", true, true},
                          {"::ffff:7f00:1", true, false}};
  for (const auto& z : c.zones) {
    policy::dnsbl_config one = c;
    one.zones = {z};
    one.zones.front().ipv4 = one.zones.front().ipv6 = true;
    for (const auto& p : points) {
      if ((p.v6 && !z.ipv6) || (!p.v6 && !z.ipv4)) continue;
      asio::io_context io;
      auto res = a.dns.make(io.get_executor());
      if (!res) {
        std::fprintf(stderr, "mxguard dnsbl check: %s\n", res.error().message.c_str());
        return kExitUsage;
      }
      std::unique_ptr<dns::resolver> r = std::move(*res);
      const net::ip_address ip = *net::ip_address::parse(p.ip);
      // Not unmapped: the IPv6 test point is an IPv6 query (RFC 5782 5).
      auto task = [&]() -> asio::awaitable<policy::dnsbl_zone_result> {
        dns::answer ans = co_await r->query(policy::dnsbl_query_name(ip, z.name), dns::rrtype::a);
        co_return policy::interpret(z, ans);
      };
      auto f = asio::co_spawn(io, task(), asio::use_future);
      io.run();
      auto zr = f.get();
      const bool listed = zr.status == policy::dnsbl_status::listed;
      const bool ok = zr.status != policy::dnsbl_status::error && listed == p.listed;
      all_ok = all_ok && ok;
      if (a.json) {
        out.push_back({{"zone", z.name},
                       {"test_point", p.ip},
                       {"expected", p.listed ? "listed" : "not-listed"},
                       {"status", policy::to_string(zr.status)},
                       {"error", zr.error},
                       {"ok", ok}});
      } else {
        std::printf("%-30s %-15s expected %-10s got %-10s %s%s%s\n",
                    z.label.empty() ? z.name.c_str() : z.label.c_str(), p.ip,
                    p.listed ? "listed" : "not-listed", policy::to_string(zr.status),
                    ok ? "ok" : "FAIL", zr.error.empty() ? "" : " ", printable(zr.error).c_str());
      }
    }
  }
  if (a.json) std::printf("%s\n", out.dump(2).c_str());
  return all_ok ? kExitNotListed : kExitListed;
}

int run_check(const check_args& a) {
  auto made = cli::make_dnsbl_config(a.config, a.lists, "--list");
  if (!made) {
    std::fprintf(stderr, "mxguard dnsbl check: %s\n", made.error().message.c_str());
    return kExitUsage;
  }
  const policy::dnsbl_config c = std::move(*made);
  if (a.test_points) return run_test_points(c, a);
  auto ip = net::ip_address::parse(a.ip);
  if (!ip) {
    std::fprintf(stderr, "mxguard dnsbl check: '%s' is not an IP address\n",
                 printable(a.ip).c_str());
    return kExitUsage;
  }
  bool dns_ok = false;
  auto e = evaluate(c, a.dns, *ip, dns_ok);
  if (!dns_ok) return kExitUsage;
  if (a.json)
    std::printf("%s\n", to_json(e).dump(2).c_str());
  else
    print_text(e);
  return exit_for(e);
}

cli::registration reg(160, [](CLI::App& root, int& exit_code) {
  auto* grp = cli::group(root, "dnsbl", "DNS block and allow lists (RFC 5782)");
  grp->require_subcommand(1);
  auto args = std::make_shared<check_args>();
  auto* cmd = grp->add_subcommand(
      "check",
      "Ask every DNS list about one address (as the gateway does) and show each list's\n"
      "answer, meaning and weight, the score and the decision of the [dnsbl] policy.\n"
      "Exit codes: 0 not listed, 1 listed by a block list (--test-points: a test point\n"
      "failed), 3 a list could not be read and none lists it, 2 usage error.\n"
      "Examples:\n"
      "  mxguard dnsbl check 192.0.2.1 --config /etc/mxguard/mxguard.toml\n"
      "  mxguard dnsbl check 2001:db8::1 --list bl.example --zone lists.zone --json\n"
      "  mxguard dnsbl check --test-points --config mxguard.toml --dns 127.0.0.1:5353");
  cmd->add_option("ip", args->ip, "The client address (IPv4 or IPv6)");
  cmd->add_option("--config", args->config,
                  "A TOML file with a [dnsbl] section (its lists, "
                  "weights, thresholds and rules)");
  cmd->add_option("--list", args->lists, "A list zone to ask (weight 1; repeatable)")
      ->type_name("ZONE");
  cmd->add_flag("--test-points", args->test_points,
                "Check each list's RFC 5782 5 test entries instead of an address");
  cmd->add_flag("--json", args->json, "Machine-readable output");
  args->dns.add_to(cmd);
  cmd->callback([args, &exit_code] {
    if (args->ip.empty() && !args->test_points) {
      std::fprintf(stderr, "mxguard dnsbl check: give an IP address (or --test-points)\n");
      exit_code = kExitUsage;
      return;
    }
    exit_code = run_check(*args);
  });
});

}  // namespace
