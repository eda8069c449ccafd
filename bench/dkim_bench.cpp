// dkim_bench.cpp: DKIM verification cost (Google Benchmark). Message: RFC 8463's example
// (../shared/conformance/dkim-mailauth/001.txt: one ed25519-sha256 and one rsa-sha256
// 1024-bit signature, relaxed/relaxed), keys from an in-memory zone, clock pinned.
//   BM_DkimVerifyMessage    both signatures, the whole verifier (parse, canon, crypto)
//   BM_DkimBodyHash/<KiB>   relaxed body canonicalization + SHA-256 throughput
// Run: build/bench/bench_dkim_bench (RelWithDebInfo). Numbers: docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "dkim/canon.hpp"
#include "dkim/verifier.hpp"
#include "dns/memory_zone.hpp"

namespace {

using namespace mxg;

struct fixture {
  dns::memory_zone zone;
  std::string message;
  fixture() {
    std::ifstream in(std::string(MXG_SOURCE_DIR) + "/../shared/conformance/dkim-mailauth/001.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t eol = text.find('\n', pos);
      std::string line = text.substr(pos, eol - pos);
      pos = eol + 1;
      if (line.empty()) break;
      dns::record r;
      r.type = dns::rrtype::txt;
      r.name = dns::normalize_name(line.substr(0, line.find(' ')));
      r.strings.push_back(line.substr(line.find(' ') + 1));
      zone.add(r);
    }
    message = text.substr(pos);
  }
};

void BM_DkimVerifyMessage(benchmark::State& state) {
  static fixture f;
  dkim::options o;
  o.clock = [] { return std::int64_t{1667843664}; };
  for (auto _ : state) {
    auto rs = dkim::verify(f.message, f.zone, o);
    if (rs.size() != 2 || rs[0].res != dkim::result::pass || rs[1].res != dkim::result::pass)
      state.SkipWithError("verification did not pass");
    benchmark::DoNotOptimize(rs);
  }
  state.SetItemsProcessed(state.iterations() * 2);  // signatures
}
BENCHMARK(BM_DkimVerifyMessage);

void BM_DkimBodyHash(benchmark::State& state) {
  std::string line = "The quick brown fox  jumps over the lazy dog,\tagain and again.\r\n";
  std::string body;
  while (body.size() < static_cast<std::size_t>(state.range(0)) * 1024) body += line;
  for (auto _ : state) {
    dkim::body_hasher h(dkim::canon::relaxed, dkim::hash_alg::sha256, std::nullopt);
    h.update(body);
    benchmark::DoNotOptimize(h.finish());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_DkimBodyHash)->Arg(64)->Arg(1024);

}  // namespace
