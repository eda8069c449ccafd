// dnsbl_flags.cpp: see dnsbl_flags.hpp. The list configuration of the DNS list commands
// and the per-list output shared by `dnsbl check` and `ndr report --probe`.
#include "cli/dnsbl_flags.hpp"

#include <asio/co_spawn.hpp>
#include <asio/use_future.hpp>

#include <cstdio>

#include "cli/printable.hpp"
#include "policy/dnsbl_config.hpp"
#include "policy/spf_policy.hpp"

namespace mxg::cli {

result<policy::dnsbl_config> make_dnsbl_config(const std::string& config_file,
                                               const std::vector<std::string>& lists,
                                               const std::string& list_flag) {
  policy::dnsbl_config c;
  if (!config_file.empty()) {
    auto lc = policy::load_dnsbl_config_file(config_file);
    if (!lc) return std::unexpected(lc.error());
    c = std::move(*lc);
  }
  for (const auto& l : lists) {
    auto d = policy::normalize_rule_domain(l);
    if (!d || d->front() == '.')
      return fail(errc::invalid_argument, list_flag + " " + printable(l) + ": not a DNS zone");
    if (c.zones.size() >= policy::kDnsblZonesMax)
      return fail(errc::invalid_argument,
                  "more than " + std::to_string(policy::kDnsblZonesMax) + " lists");
    policy::dnsbl_zone z;
    z.name = *d;
    // RFC 5782 has no error codes; 127.255.255.0/24 is the lists' common "blocked from
    // querying" range (policy/dnsbl.hpp), an error and never a listing.
    z.errors = {*net::cidr::parse("127.255.255.0/24")};
    c.zones.push_back(std::move(z));
  }
  if (c.zones.empty())
    return fail(errc::invalid_argument,
                "no lists: give a config file (with [[dnsbl.zone]]) or " + list_flag + " ZONE");
  return c;
}

policy::dnsbl_evaluation evaluate_dnsbl_now(asio::io_context& io, const policy::dnsbl_config& c,
                                            dns::resolver& res, const net::ip_address& ip) {
  auto task = [&]() -> asio::awaitable<policy::dnsbl_evaluation> {
    auto e = co_await policy::evaluate_dnsbl(c, {}, res, ip);
    co_return e;
  };
  auto f = asio::co_spawn(io, task(), asio::use_future);
  // Lists past the deadline are reported as errors; their queries end with the
  // resolver's own timeouts (io.run() returns then).
  io.restart();
  io.run();
  return f.get();
}

nlohmann::json dnsbl_lists_json(const policy::dnsbl_evaluation& e) {
  auto lists = nlohmann::json::array();
  for (const auto& z : e.zones) {
    auto codes = nlohmann::json::array();
    for (const auto& h : z.hits)
      codes.push_back({{"code", h.code}, {"weight", h.weight}, {"meaning", h.meaning}});
    lists.push_back({{"zone", z.zone},
                     {"label", z.label},
                     {"type", z.type == policy::dnsbl_zone_type::allow ? "allow" : "block"},
                     {"query", z.query},
                     {"status", policy::to_string(z.status)},
                     {"codes", codes},
                     {"weight", z.weight},
                     {"error", z.error},
                     {"txt", z.txt},
                     {"ttl", z.ttl}});
  }
  return lists;
}

std::string dnsbl_list_lines(const policy::dnsbl_evaluation& e, const std::string& indent) {
  std::string s;
  char buf[160];
  for (const auto& z : e.zones) {
    std::snprintf(buf, sizeof buf, "%-5s %-30s %-10s",
                  z.type == policy::dnsbl_zone_type::allow ? "allow" : "block",
                  printable(z.label.empty() ? z.zone : z.label).c_str(),
                  policy::to_string(z.status));
    std::string line = indent + buf;
    if (z.status == policy::dnsbl_status::listed) {
      std::snprintf(buf, sizeof buf, " weight %+d:", z.weight);
      line += buf;
      for (const auto& h : z.hits) {
        std::snprintf(buf, sizeof buf, " %s (%+d", h.code.c_str(), h.weight);
        line += buf;
        line += (h.meaning.empty() ? "" : ", " + printable(h.meaning)) + ")";
      }
    } else if (z.status == policy::dnsbl_status::error) {
      line += " " + printable(z.error);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    s += line + "\n";
    if (!z.txt.empty()) s += indent + "      reason: " + printable(z.txt) + "\n";
  }
  return s;
}

}  // namespace mxg::cli
