// spf_bench.cpp: Google Benchmark micro-benchmarks of the SPF engine: parse() of typical
// and erroneous records, macro expansion, and check_host() against an in-memory zone
// (no network: measures the engine, not DNS). ns per operation; see docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "dns/memory_zone.hpp"
#include "spf/evaluator.hpp"
#include "spf/macro.hpp"
#include "spf/record.hpp"

namespace {

using namespace mxg;

constexpr const char* kTypical =
    "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 ip6:2001:db8::/32 a mx "
    "include:_spf.example.net include:spf.protection.example.com ~all";
constexpr const char* kTypo =
    "v=spf1 mx ip4:24.214.64.230 ip4:24.214.64.231 ip4:64.8.71.110 ipv4:64.8.71.111 "
    "ipv4:64.8.71.112 -all";
constexpr const char* kMacro = "v=spf1 exists:%{ir}.%{l1r-}.lp._spf.%{d2} -all exp=why.%{d}";

void BM_ParseTypical(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(spf::parse(kTypical));
}
BENCHMARK(BM_ParseTypical);

void BM_ParseTypoRecord(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(spf::parse(kTypo));
}
BENCHMARK(BM_ParseTypoRecord);

void BM_ParseMacroRecord(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(spf::parse(kMacro));
}
BENCHMARK(BM_ParseMacroRecord);

void BM_ExpandMacro(benchmark::State& st) {
  spf::macro_env e;
  e.sender = "strong-bad@email.example.com";
  e.local_part = "strong-bad";
  e.sender_domain = e.domain = "email.example.com";
  e.ip = *net::ip_address::parse("192.0.2.3");
  std::string out;
  for (auto _ : st) {
    out.clear();
    benchmark::DoNotOptimize(
        spf::expand("%{ir}.%{v}._spf.%{d2}", spf::macro_context::domain, e, out));
  }
}
BENCHMARK(BM_ExpandMacro);

dns::record txt(std::string name, std::string text) {
  dns::record r;
  r.type = dns::rrtype::txt;
  r.name = std::move(name);
  r.ttl = 300;
  r.strings = {std::move(text)};
  return r;
}
dns::record a(std::string name, const char* ip) {
  dns::record r;
  r.type = dns::rrtype::a;
  r.name = std::move(name);
  r.ttl = 300;
  r.addr = *net::ip_address::parse(ip);
  return r;
}

dns::memory_zone& zone() {
  static dns::memory_zone z = [] {
    dns::memory_zone z;
    z.add(txt("ip4.example", "v=spf1 ip4:192.0.2.0/24 -all"));
    z.add(
        txt("tree.example", "v=spf1 a include:_spf1.tree.example include:_spf2.tree.example ~all"));
    z.add(a("tree.example", "198.51.100.9"));
    z.add(txt("_spf1.tree.example", "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 -all"));
    z.add(txt("_spf2.tree.example", "v=spf1 ip4:192.0.2.0/25 ip4:192.0.2.128/25 -all"));
    z.add(txt("typo.example", kTypo));
    return z;
  }();
  return z;
}

void evaluate(benchmark::State& st, const char* ip, const char* sender) {
  asio::io_context io;
  spf::evaluator ev(zone());
  spf::request req{*net::ip_address::parse(ip), sender, "mail.example.org"};
  for (auto _ : st) {
    asio::co_spawn(io, ev.check(req), asio::detached);
    io.run();
    io.restart();
  }
}

void BM_EvaluateIp4Pass(benchmark::State& st) {
  evaluate(st, "192.0.2.7", "u@ip4.example");
}
BENCHMARK(BM_EvaluateIp4Pass);

void BM_EvaluateIncludeTree(benchmark::State& st) {
  evaluate(st, "192.0.2.200", "u@tree.example");  // a, include, include -> pass in _spf2
}
BENCHMARK(BM_EvaluateIncludeTree);

void BM_EvaluatePermerror(benchmark::State& st) {
  evaluate(st, "192.0.2.7", "u@typo.example");
}
BENCHMARK(BM_EvaluatePermerror);

}  // namespace
