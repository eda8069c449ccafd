// dns_query.cpp: `mxguard dns query NAME [TYPE] [--dns HOST[:PORT]] [--zone FILE]
// [--timeout MS] [--tries N]`: asks one question through the same resolver code the
// SPF engine uses (c-ares, or an in-memory zone file) and prints the outcome
// (NOERROR / NODATA / NXDOMAIN / TIMEOUT / SERVFAIL) and the records with their TTLs
// in master-file form. A debugging tool for administrators.
// Exit codes: 0 the DNS answered (records, NODATA or NXDOMAIN), 1 timeout or server
// failure, 2 usage error (bad type, bad server, unreadable zone file).
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "base/ascii.hpp"
#include "cli/registry.hpp"
#include "dns/cares_resolver.hpp"
#include "dns/memory_zone.hpp"
#include "dns/zone_file.hpp"

namespace {

std::optional<mxg::dns::rrtype> parse_type(std::string t) {
  using mxg::dns::rrtype;
  t = mxg::ascii::upper(t);
  for (rrtype r : {rrtype::a, rrtype::aaaa, rrtype::mx, rrtype::txt, rrtype::spf, rrtype::ptr,
                   rrtype::cname, rrtype::ns, rrtype::soa})
    if (t == mxg::dns::to_string(r)) return r;
  return std::nullopt;
}

struct query_args {
  std::string name;
  std::string type = "A";
  std::vector<std::string> dns;
  std::string zone;
  int timeout_ms = static_cast<int>(mxg::dns::kDnsDefaultTimeout.count());
  int tries = mxg::dns::kDnsDefaultTries;
};

int run(const query_args& a) {
  using namespace mxg::dns;
  auto type = parse_type(a.type);
  if (!type) {
    std::fprintf(stderr,
                 "mxguard dns query: unknown type \"%s\" (A AAAA MX TXT SPF PTR CNAME NS SOA)\n",
                 a.type.c_str());
    return 2;
  }
  asio::io_context io;
  std::unique_ptr<resolver> res;
  if (!a.zone.empty()) {
    auto z = std::make_unique<memory_zone>();
    if (auto r = load_zone_file(a.zone, *z); !r) {
      std::fprintf(stderr, "mxguard dns query: %s\n", r.error().message.c_str());
      return 2;
    }
    res = std::move(z);
  } else {
    cares_options o;
    o.servers = a.dns;
    o.timeout = std::chrono::milliseconds(a.timeout_ms);
    o.tries = a.tries;
    auto c = cares_resolver::create(io.get_executor(), o);
    if (!c) {
      std::fprintf(stderr, "mxguard dns query: %s\n", c.error().message.c_str());
      return 2;
    }
    res = std::move(*c);
  }
  auto fut = asio::co_spawn(io, res->query(a.name, *type), asio::use_future);
  io.run();
  answer ans = fut.get();
  std::printf(";; %s %s: %s", normalize_name(a.name).c_str(), to_string(*type), to_string(ans.st));
  if (ans.st == status::ok || ans.is_void()) std::printf(", ttl %u", ans.ttl);
  if (ans.wire_size) std::printf(", %zu bytes", ans.wire_size);
  if (!ans.detail.empty()) std::printf(" (%s)", ans.detail.c_str());
  std::printf("\n");
  for (const auto& r : ans.records) std::printf("%s\n", r.to_string().c_str());
  return (ans.st == status::timeout || ans.st == status::servfail) ? 1 : 0;
}

mxg::cli::registration reg(300, [](CLI::App& root, int& exit_code) {
  auto* dns = root.add_subcommand("dns", "DNS tools (debugging what mxguard's resolver sees)");
  dns->require_subcommand(1);
  auto args = std::make_shared<query_args>();
  auto* q = dns->add_subcommand(
      "query",
      "Ask one DNS question and print the outcome and records with TTLs.\n"
      "Exit: 0 answered (records, NODATA, NXDOMAIN), 1 timeout/SERVFAIL, 2 usage error");
  q->add_option("name", args->name, "Domain name")->required();
  q->add_option("type", args->type, "A (default), AAAA, MX, TXT, SPF, PTR, CNAME, NS, SOA");
  q->add_option("--dns", args->dns, "DNS server HOST[:PORT] (repeatable; default /etc/resolv.conf)")
      ->type_name("HOST[:PORT]");
  q->add_option("--zone", args->zone, "Answer from an RFC 1035 zone file instead of DNS")
      ->excludes("--dns");
  q->add_option("--timeout", args->timeout_ms,
                "Timeout of the first try in ms (c-ares doubles it per round)")
      ->check(CLI::Range(1, 600000));
  q->add_option("--tries", args->tries, "Tries per server")->check(CLI::Range(1, 10));
  q->callback([args, &exit_code] { exit_code = run(*args); });
});

}  // namespace
