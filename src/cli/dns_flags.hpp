// dns_flags.hpp: the DNS options shared by every command that resolves names
// (--dns HOST[:PORT] repeatable, --zone FILE, --dns-timeout MS, --dns-tries N) and the
// resolver they select: c-ares on the given servers (default /etc/resolv.conf) or an
// in-memory zone file, always behind the TTL/negative cache with query coalescing.
#pragma once

#include <asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "cli/registry.hpp"
#include "dns/resolver.hpp"

namespace mxg::cli {

struct dns_flags {
  std::vector<std::string> servers;
  std::string zone;
  int timeout_ms = 2000;
  int tries = 2;

  // Adds --dns, --zone, --dns-timeout and --dns-tries to a subcommand.
  void add_to(CLI::App* cmd);
  // Builds the resolver the flags describe, bound to `ex`. The returned object owns the
  // backend and the cache in front of it.
  result<std::unique_ptr<dns::resolver>> make(asio::any_io_executor ex) const;
};

}  // namespace mxg::cli
