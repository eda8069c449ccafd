// cache.cpp: the TTL cache with negative caching and coalescing (see cache.hpp).
// Coalescing: the first query for a key creates an `inflight` record holding a
// steady_timer that never expires by itself; later identical queries async_wait on it.
// When the upstream answer arrives it is stored in the record and the timer is
// cancelled, which wakes every waiter (operation_aborted is the wake-up signal).
#include "dns/cache.hpp"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>

#include "base/ascii.hpp"

namespace mxg::dns {

struct caching_resolver::inflight {
  explicit inflight(asio::any_io_executor ex) : done(ex) {}
  asio::steady_timer done;
  bool finished = false;
  std::shared_ptr<const answer> result;
};

caching_resolver::caching_resolver(resolver& upstream, cache_options opts)
    : upstream_(upstream), opts_(std::move(opts)) {
  if (!opts_.now) opts_.now = [] { return clock::now(); };
  if (opts_.max_entries == 0) opts_.max_entries = 1;
}

caching_resolver::~caching_resolver() = default;

void caching_resolver::clear() {
  lru_.clear();
  index_.clear();
}

std::chrono::seconds caching_resolver::cache_ttl(const answer& a) const {
  std::chrono::seconds ttl{a.ttl};
  switch (a.st) {
    case status::ok:
      return std::min(ttl, opts_.max_ttl);
    case status::nodata:
    case status::nxdomain:
      return std::min(ttl, opts_.negative_max_ttl);  // RFC 2308 5
    case status::timeout:
    case status::servfail:
      return std::chrono::seconds{0};
  }
  return std::chrono::seconds{0};
}

void caching_resolver::store(const std::string& key, std::shared_ptr<const answer> a) {
  auto ttl = cache_ttl(*a);
  if (ttl.count() <= 0) return;
  auto now = opts_.now();
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  while (index_.size() >= opts_.max_entries) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++counters_.evictions;
  }
  lru_.push_front(entry{key, a, now, now + ttl, a, 0});
  index_[key] = lru_.begin();
}

std::shared_ptr<const answer> caching_resolver::lookup(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  auto now = opts_.now();
  entry& e = *it->second;
  if (now >= e.expires) {
    ++counters_.expired;
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  ++counters_.hits;
  lru_.splice(lru_.begin(), lru_, it->second);
  // Hand out the remaining TTL, as a caching server does (RFC 1035 3.2.1); the aged copy
  // is made once per second of age and shared by every hit within that second.
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - e.stored).count();
  if (age != e.handed_age) {
    auto a = std::make_shared<answer>(*e.ans);  // shares e.ans's derived slot
    auto left = [&](std::uint32_t ttl) {
      return ttl > age ? static_cast<std::uint32_t>(ttl - age) : 0u;
    };
    a->ttl = left(a->ttl);
    for (auto& r : a->records) r.ttl = left(r.ttl);
    e.handed = std::move(a);
    e.handed_age = age;
  }
  return e.handed;
}

asio::awaitable<answer> caching_resolver::query(std::string name, rrtype type) {
  auto a = co_await query_shared(std::move(name), type);
  co_return *a;
}

namespace {
// The cache key "name/type" of normalize_name(name), built in `key` (no other allocation).
void make_key(std::string& key, std::string_view name, rrtype type) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  key.reserve(name.size() + 6);
  key.assign(name);
  for (char& ch : key) ch = ascii::to_lower(ch);
  key += '/';
  char num[8];
  auto conv = std::to_chars(num, num + sizeof num, static_cast<unsigned>(type));
  key.append(num, conv.ptr);
}
}  // namespace

std::shared_ptr<const answer> caching_resolver::query_now(std::string_view name, rrtype type) {
  make_key(key_buf_, name, type);
  return lookup(key_buf_);
}

asio::awaitable<std::shared_ptr<const answer>> caching_resolver::query_shared(std::string name,
                                                                              rrtype type) {
  std::string key;
  make_key(key, name, type);
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (char& ch : name) ch = ascii::to_lower(ch);

  if (auto hit = lookup(key)) co_return hit;

  if (auto it = inflight_.find(key); it != inflight_.end()) {
    ++counters_.coalesced;
    auto wait = it->second;  // keep it alive while we wait
    while (!wait->finished) {
      std::error_code ec;
      co_await wait->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return wait->result;
  }

  ++counters_.misses;
  ++counters_.upstream;
  auto ex = co_await asio::this_coro::executor;
  auto fl = std::make_shared<inflight>(ex);
  fl->done.expires_at(asio::steady_timer::time_point::max());
  inflight_.emplace(key, fl);
  answer a;
  try {
    a = co_await upstream_.query(name, type);
  } catch (const std::exception& ex) {  // resolvers do not throw; stay safe for waiters
    a = answer{status::servfail, {}, 0, 0, std::string("resolver error: ") + ex.what(), {}};
  }
  inflight_.erase(key);
  if (a.ok() && cache_ttl(a).count() > 0) a.derived = std::make_shared<derived_slot>();
  auto shared = std::make_shared<const answer>(std::move(a));
  store(key, shared);
  fl->result = shared;
  fl->finished = true;
  fl->done.cancel();
  co_return shared;
}

}  // namespace mxg::dns
