// policy_bench.cpp: Google Benchmark micro-benchmarks of the gateway's SPF policy step
// (issue 9 section 4), one thread, no network: policy::decide() per call (the global
// actions, and the last of 20 [[spf.rule]]s matching), and policy::evaluate_spf() per
// message over the zone of bench/spf_cost.sh (bench.test "a mx include" -> pass, HELO
// client.bench.test ip4 -> pass) answered by a dns::caching_resolver in front of an
// in-memory zone (dns::memory_zone), i.e. a warm cache as in the gateway: with
// check_helo (two checks at once, as the default config) and MAIL FROM only; then the two
// trace header fields the gateway adds (Received-SPF, Authentication-Results). The
// evaluate numbers include asio coroutine start-up (co_spawn + io_context::run per
// message). CPU ns per operation; see docs/benchmarks.md "SPF enforcement cost".
#include <benchmark/benchmark.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "dns/cache.hpp"
#include "dns/memory_zone.hpp"
#include "policy/spf_policy.hpp"

namespace {

using namespace mxg;

dns::record rr(dns::rrtype t, std::string name) {
  dns::record r;
  r.type = t;
  r.name = std::move(name);
  r.ttl = 3600;
  return r;
}
dns::record txt(std::string name, std::string text) {
  auto r = rr(dns::rrtype::txt, std::move(name));
  r.strings = {std::move(text)};
  return r;
}
dns::record a(std::string name, const char* ip) {
  auto r = rr(dns::rrtype::a, std::move(name));
  r.addr = *net::ip_address::parse(ip);
  return r;
}
dns::record mx(std::string name, std::string target) {
  auto r = rr(dns::rrtype::mx, std::move(name));
  r.target = std::move(target);
  r.preference = 10;
  return r;
}

// bench/spf_cost.sh's zone.
dns::memory_zone& zone() {
  static dns::memory_zone z = [] {
    dns::memory_zone z;
    z.add(txt("bench.test", "v=spf1 a mx include:_spf.bench.test -all"));
    z.add(a("bench.test", "192.0.2.1"));
    z.add(mx("bench.test", "mx.bench.test"));
    z.add(a("mx.bench.test", "192.0.2.2"));
    z.add(txt("_spf.bench.test", "v=spf1 ip4:198.51.100.0/24 ip4:127.0.0.0/8 -all"));
    z.add(txt("client.bench.test", "v=spf1 ip4:127.0.0.0/8 -all"));
    return z;
  }();
  return z;
}

policy::spf_policy_config config(bool check_helo) {
  policy::spf_policy_config c;
  c.enabled = true;
  c.check_helo = check_helo;
  c.authserv_id = "mx.bench.test";
  return c;
}

policy::spf_facts pass_facts() {
  policy::spf_facts f;
  f.result = spf::result::pass;
  f.domain = "bench.test";
  f.ip = "127.0.0.1";
  f.mechanism = "include:_spf.bench.test";
  return f;
}

void BM_DecideGlobal(benchmark::State& st) {
  const auto c = config(true);
  const auto f = pass_facts();
  for (auto _ : st) benchmark::DoNotOptimize(policy::decide(c, f));
}
BENCHMARK(BM_DecideGlobal);

void BM_DecideRejectLastOf20Rules(benchmark::State& st) {
  auto c = config(true);
  for (int i = 0; i < 20; ++i) {
    policy::spf_rule r;
    r.name = "rule " + std::to_string(i);
    r.domains = {"brand" + std::to_string(i) + ".example",
                 ".brand" + std::to_string(i) + ".example"};
    r.actions[static_cast<std::size_t>(spf::result::softfail)] = policy::verdict::reject;
    c.rules.push_back(std::move(r));
  }
  auto f = pass_facts();
  f.result = spf::result::softfail;
  f.domain = "mail.brand19.example";  // the last rule's ".domain" matches: a 550 5.7.23 reply
  for (auto _ : st) benchmark::DoNotOptimize(policy::decide(c, f));
}
BENCHMARK(BM_DecideRejectLastOf20Rules);

void evaluate(benchmark::State& st, bool check_helo) {
  asio::io_context io;
  dns::caching_resolver cache(zone());
  const auto c = config(check_helo);
  const std::vector<net::cidr> trusted;
  const auto ip = *net::ip_address::parse("127.0.0.1");
  policy::spf_evaluation last;
  auto once = [&] {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          // Named arguments, as the gateway passes them (g++ 12 mishandles a braced
          // temporary passed by value into a coroutine inside co_await).
          policy::spf_request req{ip, "src@bench.test", "client.bench.test"};
          std::string receiver = "mx.bench.test";
          last =
              co_await policy::evaluate_spf(c, trusted, cache, std::move(req), std::move(receiver));
        },
        asio::detached);
    io.run();
    io.restart();
  };
  once();  // warm the cache
  if (last.facts.result != spf::result::pass) st.SkipWithError("expected an SPF pass");
  const auto warm = cache.counters();
  for (auto _ : st) once();
  if (cache.counters().upstream != warm.upstream) st.SkipWithError("the cache was not warm");
  st.counters["cache_hits/msg"] = benchmark::Counter(
      static_cast<double>(cache.counters().hits - warm.hits), benchmark::Counter::kAvgIterations);
}

void BM_EvaluateSpfHeloAndMailFrom(benchmark::State& st) {
  evaluate(st, true);
}
BENCHMARK(BM_EvaluateSpfHeloAndMailFrom);

void BM_EvaluateSpfMailFromOnly(benchmark::State& st) {
  evaluate(st, false);
}
BENCHMARK(BM_EvaluateSpfMailFromOnly);

void BM_TraceHeaderFields(benchmark::State& st) {
  asio::io_context io;
  dns::caching_resolver cache(zone());
  const auto c = config(true);
  const std::vector<net::cidr> trusted;
  policy::spf_evaluation e;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        policy::spf_request req{*net::ip_address::parse("127.0.0.1"), "src@bench.test",
                                "client.bench.test"};
        std::string receiver = "mx.bench.test";
        e = co_await policy::evaluate_spf(c, trusted, cache, std::move(req), std::move(receiver));
      },
      asio::detached);
  io.run();
  for (auto _ : st) {
    benchmark::DoNotOptimize(policy::received_spf_field(e, "mx.bench.test"));
    benchmark::DoNotOptimize(policy::authentication_results_field("mx.bench.test", e));
  }
}
BENCHMARK(BM_TraceHeaderFields);

}  // namespace
