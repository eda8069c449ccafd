// cache.hpp: caching_resolver, a decorator that adds a bounded TTL cache with negative
// caching and query coalescing in front of any resolver (normally cares_resolver).
// One instance is shared by all lookups of a process (per io_context thread).
// Rules:
//  - positive answers live for min(answer TTL, max_ttl); record TTLs handed out are
//    decreased by the time spent in the cache (RFC 1035 3.2.1 / RFC 2181 8);
//  - NXDOMAIN and NODATA are cached for min(SOA-derived TTL, negative_max_ttl)
//    (RFC 2308 5; answers without an SOA carry TTL 0 and are not cached, RFC 2308 5
//    "SHOULD NOT be cached");
//  - timeout and servfail are never cached (RFC 2308 7 allows it; we prefer retrying);
//  - a TTL of 0 is never cached (RFC 1035 3.2.1);
//  - at most max_entries entries, least recently used evicted first;
//  - query_shared() hands out the entry itself (no copy of the records); the copy with
//    decreased TTLs is made once per second of age, not once per hit. Every stored
//    positive answer carries a dns::derived_slot shared by all its copies (resolver.hpp);
//  - concurrent identical (name, type) queries share one upstream query: the first
//    caller asks upstream, later callers wait for its answer (coalesced).
// Single-threaded: use from the io_context thread that owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dns/resolver.hpp"

namespace mxg::dns {

inline constexpr std::size_t kDnsCacheDefaultEntries = 10000;
inline constexpr std::chrono::seconds kDnsCacheMaxTtl{
    86400};  // RFC 2181 8 caps at 2^31-1; a day is plenty
inline constexpr std::chrono::seconds kDnsNegativeCacheMaxTtl{
    10800};  // RFC 2308 5: "one to three hours"

struct cache_options {
  std::size_t max_entries = kDnsCacheDefaultEntries;
  std::chrono::seconds max_ttl = kDnsCacheMaxTtl;
  std::chrono::seconds negative_max_ttl = kDnsNegativeCacheMaxTtl;
  // The clock, injected for tests. Default: std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> now;
};

struct cache_counters {
  std::uint64_t hits = 0;       // answered from the cache
  std::uint64_t misses = 0;     // not in the cache (or expired) and no identical query in flight
  std::uint64_t coalesced = 0;  // waited for an identical query already in flight
  std::uint64_t upstream = 0;   // queries sent to the wrapped resolver
  std::uint64_t evictions = 0;  // entries dropped to stay within max_entries
  std::uint64_t expired = 0;    // entries dropped because their TTL ran out
};

class caching_resolver : public resolver {
 public:
  // `upstream` must outlive this object.
  explicit caching_resolver(resolver& upstream, cache_options opts = {});
  ~caching_resolver() override;

  asio::awaitable<answer> query(std::string name, rrtype type) override;
  asio::awaitable<std::shared_ptr<const answer>> query_shared(std::string name,
                                                              rrtype type) override;
  // A cache hit, counted as one (nothing is sent upstream and nothing coalesced).
  std::shared_ptr<const answer> query_now(std::string_view name, rrtype type) override;

  const cache_counters& counters() const { return counters_; }
  std::size_t size() const { return index_.size(); }
  void clear();

 private:
  using clock = std::chrono::steady_clock;
  struct entry {
    std::string key;
    std::shared_ptr<const answer> ans;  // as stored
    clock::time_point stored, expires;
    std::shared_ptr<const answer> handed;  // as handed out at age `handed_age` (TTLs decreased)
    std::int64_t handed_age = -1;
  };
  struct inflight;

  std::chrono::seconds cache_ttl(const answer& a) const;
  void store(const std::string& key, std::shared_ptr<const answer> a);
  std::shared_ptr<const answer> lookup(const std::string& key);

  resolver& upstream_;
  cache_options opts_;
  cache_counters counters_;
  std::list<entry> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
  std::unordered_map<std::string, std::shared_ptr<inflight>> inflight_;
  std::string key_buf_;  // query_now's key, reused
};

}  // namespace mxg::dns
