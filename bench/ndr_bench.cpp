// ndr_bench.cpp: bounces parsed per second over the shared Sisimai corpus
// (../shared/conformance/bounces/maildir, 601 messages, all read into memory
// first, so only parsing + classification is measured). One thread: the
// items_per_second counter is bounces/second per core (goal >= 2,000).
// Recipe: docs/benchmarks.md "Bounce parsing".
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ndr/ndr.hpp"

#ifndef MXG_SOURCE_DIR
#define MXG_SOURCE_DIR "."
#endif

namespace {

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> messages = [] {
    std::vector<std::string> out;
    const std::filesystem::path dir = std::filesystem::path(MXG_SOURCE_DIR) / ".." / "shared" /
                                      "conformance" / "bounces" / "maildir";
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      std::ifstream in(it->path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out.push_back(ss.str());
    }
    return out;
  }();
  return messages;
}

void BM_NdrParseCorpus(benchmark::State& state) {
  const auto& msgs = corpus();
  if (msgs.empty()) {
    state.SkipWithError("corpus not found (../shared/conformance/bounces/maildir)");
    return;
  }
  mxg::ndr::init_mime();
  std::size_t records = 0;
  for (auto _ : state) {
    for (const auto& m : msgs) {
      auto recs = mxg::ndr::parse_message(m);
      records += recs.size();
      benchmark::DoNotOptimize(recs);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * msgs.size()));
  state.counters["records"] =
      static_cast<double>(records) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_NdrParseCorpus)->Unit(benchmark::kMillisecond);

}  // namespace
