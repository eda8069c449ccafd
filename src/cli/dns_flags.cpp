// dns_flags.cpp: resolver selection for the CLI (see dns_flags.hpp).
#include "cli/dns_flags.hpp"

#include "dns/cache.hpp"
#include "dns/cares_resolver.hpp"
#include "dns/memory_zone.hpp"
#include "dns/zone_file.hpp"

namespace mxg::cli {

namespace {
// Owns a backend and the cache in front of it.
class cached_backend final : public dns::resolver {
 public:
  explicit cached_backend(std::unique_ptr<dns::resolver> backend)
      : backend_(std::move(backend)), cache_(*backend_) {}
  asio::awaitable<dns::answer> query(std::string name, dns::rrtype type) override {
    return cache_.query(std::move(name), type);
  }
  asio::awaitable<std::shared_ptr<const dns::answer>> query_shared(std::string name,
                                                                   dns::rrtype type) override {
    return cache_.query_shared(std::move(name), type);
  }
  std::shared_ptr<const dns::answer> query_now(std::string_view name, dns::rrtype type) override {
    return cache_.query_now(name, type);
  }

 private:
  std::unique_ptr<dns::resolver> backend_;
  dns::caching_resolver cache_;
};
}  // namespace

void dns_flags::add_to(CLI::App* cmd) {
  cmd->add_option("--dns", servers,
                  "DNS server HOST[:PORT] (repeatable; default: /etc/resolv.conf)")
      ->type_name("HOST[:PORT]");
  cmd->add_option("--zone", zone, "Answer from an RFC 1035 zone file instead of DNS")
      ->excludes("--dns")
      ->check(CLI::ExistingFile);
  cmd->add_option("--dns-timeout", timeout_ms, "Timeout of one DNS try in milliseconds")
      ->check(CLI::Range(1, 600000));
  cmd->add_option("--dns-tries", tries, "Tries per DNS server")->check(CLI::Range(1, 10));
}

result<std::unique_ptr<dns::resolver>> dns_flags::make(asio::any_io_executor ex) const {
  std::unique_ptr<dns::resolver> backend;
  if (!zone.empty()) {
    auto z = std::make_unique<dns::memory_zone>();
    if (auto r = dns::load_zone_file(zone, *z); !r) return std::unexpected(r.error());
    backend = std::move(z);
  } else {
    dns::cares_options o;
    o.servers = servers;
    o.timeout = std::chrono::milliseconds(timeout_ms);
    o.tries = tries;
    auto c = dns::cares_resolver::create(ex, o);
    if (!c) return std::unexpected(c.error());
    backend = std::move(*c);
  }
  return std::unique_ptr<dns::resolver>(std::make_unique<cached_backend>(std::move(backend)));
}

}  // namespace mxg::cli
