// caching_resolver: TTL expiry with an injected clock (RFC 1035 3.2.1), negative caching
// of NXDOMAIN/NODATA with a cap (RFC 2308 5), no caching of timeout/servfail or TTL 0,
// LRU bound, and coalescing of concurrent identical queries into one upstream query.
// Upstream is a memory_zone behind a counting wrapper that can hold answers back
// (a "gate") so that queries really overlap.
#include "dns/cache.hpp"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <map>
#include <optional>

#include "dns/memory_zone.hpp"
#include "dns/zone_file.hpp"

using namespace mxg::dns;
using namespace std::chrono_literals;

namespace {

// Counts queries; negative answers get `negative_ttl` (as if an SOA were present);
// while `gate` is set, answers wait until open() is called.
class counting_upstream : public resolver {
 public:
  explicit counting_upstream(memory_zone& z) : zone_(z) {}
  asio::awaitable<answer> query(std::string name, rrtype type) override {
    ++count;
    ++per_name[name];
    if (gate) {
      auto t = gate;
      std::error_code ec;
      co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    answer a = zone_.lookup(name, type);
    if (a.is_void()) a.ttl = negative_ttl;
    co_return a;
  }
  void hold(asio::io_context& io) {
    gate = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
  }
  void open() {
    if (gate) gate->cancel();
    gate.reset();
  }
  int count = 0;
  std::map<std::string, int> per_name;
  std::uint32_t negative_ttl = 0;
  std::shared_ptr<asio::steady_timer> gate;

 private:
  memory_zone& zone_;
};

struct fixture {
  memory_zone zone;
  counting_upstream up{zone};
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  asio::io_context io;

  fixture() {
    auto r = load_zone_string(
        "$ORIGIN example.com.\n"
        "@ 300 TXT \"v=spf1 \" \"-all\"\n"
        "a 60 A 192.0.2.1\nb 60 A 192.0.2.2\nc 60 A 192.0.2.3\nd 60 A 192.0.2.4\n"
        "zero 0 A 192.0.2.5\nlong 2w A 192.0.2.6\nslow TIMEOUT\n",
        zone);
    EXPECT_TRUE(r.has_value()) << r.error().message;
  }
  cache_options opts(std::size_t entries = 100) {
    cache_options o;
    o.max_entries = entries;
    o.now = [this] { return now; };
    return o;
  }
  answer ask(resolver& r, const std::string& name, rrtype t) {
    std::optional<answer> out;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { out = co_await r.query(name, t); }, asio::detached);
    io.restart();
    io.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(answer{});
  }
};

TEST(DnsCache, PositiveTtlExpiryAndRemainingTtl) {
  fixture f;
  caching_resolver c(f.up, f.opts());
  auto a = f.ask(c, "example.com", rrtype::txt);
  ASSERT_EQ(a.st, status::ok);
  EXPECT_EQ(a.records.at(0).strings, (std::vector<std::string>{"v=spf1 ", "-all"}));
  EXPECT_EQ(f.up.count, 1);
  f.now += 299s;
  a = f.ask(c, "EXAMPLE.com.", rrtype::txt);  // same key: case and final dot ignored
  ASSERT_EQ(a.st, status::ok);
  EXPECT_EQ(a.records.at(0).ttl, 1u);  // 300 - 299 seconds spent in the cache
  EXPECT_EQ(a.ttl, 1u);
  EXPECT_EQ(f.up.count, 1);
  EXPECT_EQ(c.counters().hits, 1u);
  f.now += 1s;  // TTL reached: expired
  a = f.ask(c, "example.com", rrtype::txt);
  EXPECT_EQ(a.records.at(0).ttl, 300u);
  EXPECT_EQ(f.up.count, 2);
  EXPECT_EQ(c.counters().expired, 1u);
  EXPECT_EQ(c.counters().misses, 2u);
}

TEST(DnsCache, TypesAreSeparateKeys) {
  fixture f;
  caching_resolver c(f.up, f.opts());
  EXPECT_EQ(f.ask(c, "a.example.com", rrtype::a).st, status::ok);
  EXPECT_EQ(f.ask(c, "a.example.com", rrtype::aaaa).st, status::nodata);
  EXPECT_EQ(f.up.count, 2);
}

TEST(DnsCache, PositiveTtlCappedByMaxTtl) {
  fixture f;
  auto o = f.opts();
  o.max_ttl = 3600s;
  caching_resolver c(f.up, o);
  f.ask(c, "long.example.com", rrtype::a);
  f.now += 3599s;
  f.ask(c, "long.example.com", rrtype::a);
  EXPECT_EQ(f.up.count, 1);
  f.now += 1s;
  f.ask(c, "long.example.com", rrtype::a);
  EXPECT_EQ(f.up.count, 2);
}

struct negative_case {
  const char* name;
  rrtype type;
  status st;
  std::uint32_t soa_ttl;      // TTL the upstream gives the negative answer
  std::chrono::seconds cap;   // negative_max_ttl
  std::chrono::seconds life;  // how long it must stay cached (0: not cached)
};

TEST(DnsCache, NegativeCachingRfc2308) {
  const negative_case cases[] = {
      {"nope.example.com", rrtype::a, status::nxdomain, 600, 3600s, 600s},
      {"a.example.com", rrtype::txt, status::nodata, 600, 3600s, 600s},
      {"nope.example.com", rrtype::a, status::nxdomain, 86400, 900s, 900s},  // capped
      {"a.example.com", rrtype::mx, status::nodata, 86400, 900s, 900s},      // capped
      {"nope.example.com", rrtype::a, status::nxdomain, 0, 900s, 0s},        // no SOA: not cached
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(std::string(k.name) + " " + to_string(k.st) + " ttl " + std::to_string(k.soa_ttl));
    fixture f;
    f.up.negative_ttl = k.soa_ttl;
    auto o = f.opts();
    o.negative_max_ttl = k.cap;
    caching_resolver c(f.up, o);
    EXPECT_EQ(f.ask(c, k.name, k.type).st, k.st);
    EXPECT_EQ(f.up.count, 1);
    if (k.life.count() > 0) {
      f.now += k.life - 1s;
      EXPECT_EQ(f.ask(c, k.name, k.type).st, k.st);
      EXPECT_EQ(f.up.count, 1) << "still cached one second before the end";
      f.now += 1s;
    }
    EXPECT_EQ(f.ask(c, k.name, k.type).st, k.st);
    EXPECT_EQ(f.up.count, 2) << "expired (or never cached)";
  }
}

TEST(DnsCache, TimeoutServfailAndZeroTtlAreNotCached) {
  fixture f;
  caching_resolver c(f.up, f.opts());
  EXPECT_EQ(f.ask(c, "slow.example.com", rrtype::txt).st, status::timeout);
  EXPECT_EQ(f.ask(c, "slow.example.com", rrtype::txt).st, status::timeout);
  EXPECT_EQ(f.up.per_name["slow.example.com"], 2);
  EXPECT_EQ(f.ask(c, "zero.example.com", rrtype::a).st, status::ok);
  EXPECT_EQ(f.ask(c, "zero.example.com", rrtype::a).st, status::ok);
  EXPECT_EQ(f.up.per_name["zero.example.com"], 2);
  EXPECT_EQ(c.size(), 0u);
}

TEST(DnsCache, BoundedLruEviction) {
  fixture f;
  caching_resolver c(f.up, f.opts(3));
  for (const char* n : {"a", "b", "c"}) f.ask(c, std::string(n) + ".example.com", rrtype::a);
  f.ask(c, "a.example.com", rrtype::a);  // a becomes most recently used; b is now oldest
  f.ask(c, "d.example.com", rrtype::a);  // evicts b
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.counters().evictions, 1u);
  f.ask(c, "a.example.com", rrtype::a);
  f.ask(c, "c.example.com", rrtype::a);
  EXPECT_EQ(f.up.per_name["a.example.com"], 1);
  EXPECT_EQ(f.up.per_name["c.example.com"], 1);
  f.ask(c, "b.example.com", rrtype::a);
  EXPECT_EQ(f.up.per_name["b.example.com"], 2) << "b was evicted";
  EXPECT_LE(c.size(), 3u);
}

TEST(DnsCache, ConcurrentIdenticalQueriesAreCoalesced) {
  constexpr int kQueries = 50;
  fixture f;
  caching_resolver c(f.up, f.opts());
  f.up.hold(f.io);
  std::vector<std::optional<answer>> got(kQueries + 1);
  for (int i = 0; i < kQueries; ++i)
    asio::co_spawn(
        f.io,
        [&, i]() -> asio::awaitable<void> {
          got[static_cast<std::size_t>(i)] =
              co_await c.query(i % 2 ? "Example.com" : "example.com.", rrtype::txt);
        },
        asio::detached);
  // A different key in flight at the same time is not coalesced with them.
  asio::co_spawn(
      f.io,
      [&]() -> asio::awaitable<void> {
        got[kQueries] = co_await c.query("a.example.com", rrtype::a);
      },
      asio::detached);
  f.io.poll();  // everything started and now waits on the gate
  EXPECT_EQ(f.up.count, 2);
  for (const auto& g : got) EXPECT_FALSE(g.has_value());
  f.up.open();
  f.io.run();
  for (int i = 0; i < kQueries; ++i) {
    ASSERT_TRUE(got[static_cast<std::size_t>(i)].has_value());
    EXPECT_EQ(got[static_cast<std::size_t>(i)]->st, status::ok);
    EXPECT_EQ(got[static_cast<std::size_t>(i)]->records.at(0).joined_text(), "v=spf1 -all");
  }
  ASSERT_TRUE(got[kQueries].has_value());
  EXPECT_EQ(got[kQueries]->records.at(0).addr.to_string(), "192.0.2.1");
  EXPECT_EQ(f.up.count, 2);
  EXPECT_EQ(c.counters().upstream, 2u);
  EXPECT_EQ(c.counters().coalesced, static_cast<std::uint64_t>(kQueries - 1));
  EXPECT_EQ(c.counters().misses, 2u);
  // And afterwards it is a plain cache hit.
  f.ask(c, "example.com", rrtype::txt);
  EXPECT_EQ(f.up.count, 2);
  EXPECT_EQ(c.counters().hits, 1u);
}

TEST(DnsCache, CoalescedTimeoutIsSharedButNotCached) {
  fixture f;
  caching_resolver c(f.up, f.opts());
  f.up.hold(f.io);
  int timeouts = 0;
  for (int i = 0; i < 5; ++i)
    asio::co_spawn(
        f.io,
        [&]() -> asio::awaitable<void> {
          if ((co_await c.query("slow.example.com", rrtype::txt)).st == status::timeout) ++timeouts;
        },
        asio::detached);
  f.io.poll();
  f.up.open();
  f.io.run();
  EXPECT_EQ(timeouts, 5);
  EXPECT_EQ(f.up.count, 1);
  f.ask(c, "slow.example.com", rrtype::txt);
  EXPECT_EQ(f.up.count, 2);
}

}  // namespace

// query_shared(): hits within one second of age share one answer object (no copy of the
// records); the TTLs handed out still decrease with age (RFC 1035 3.2.1); the derived
// slot is shared by every copy of a stored answer and dies with the entry (a new
// upstream answer after expiry gets a fresh, empty slot). Uncached answers get none.
TEST(DnsCache, SharedAnswersAndDerivedSlotLiveWithTheEntry) {
  fixture f;
  caching_resolver c(f.up, f.opts());
  auto ask_shared = [&](const std::string& name, rrtype t) {
    std::shared_ptr<const answer> out;
    asio::co_spawn(
        f.io, [&]() -> asio::awaitable<void> { out = co_await c.query_shared(name, t); },
        asio::detached);
    f.io.restart();
    f.io.run();
    EXPECT_TRUE(out);
    return out;
  };
  auto first = ask_shared("example.com", rrtype::txt);
  auto second = ask_shared("example.com", rrtype::txt);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first.get(), second.get());  // same second: the same object
  ASSERT_TRUE(first->derived);
  first->derived->value = std::make_shared<const int>(42);
  answer copy = f.ask(c, "example.com", rrtype::txt);  // by value: a copy, same slot
  EXPECT_EQ(copy.derived.get(), first->derived.get());
  f.now += 100s;
  auto aged = ask_shared("example.com", rrtype::txt);
  EXPECT_NE(aged.get(), first.get());
  EXPECT_EQ(aged->records.at(0).ttl, 200u);  // 300 - 100
  EXPECT_EQ(aged->derived.get(), first->derived.get());
  EXPECT_EQ(f.up.count, 1);
  f.now += 200s;  // TTL reached
  auto fresh = ask_shared("example.com", rrtype::txt);
  EXPECT_EQ(f.up.count, 2);
  ASSERT_TRUE(fresh->derived);
  EXPECT_NE(fresh->derived.get(), first->derived.get());
  EXPECT_FALSE(fresh->derived->value);
  auto zero = ask_shared("zero.example.com", rrtype::a);  // TTL 0: not stored, no slot
  EXPECT_EQ(zero->st, status::ok);
  EXPECT_FALSE(zero->derived);
}
