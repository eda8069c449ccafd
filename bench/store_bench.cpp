// store_bench.cpp: history writes per second, SQLite against PostgreSQL (issue 14), as
// the gateway's history writer does them: batches of kBatch records in one transaction
// (begin_batch/commit_batch), each record with 2 recipients, 2 decisions, 1 DKIM result
// and a unique uid. SQLite on a file in $MXG_BENCH_DIR (default /var/tmp: not tmpfs),
// PostgreSQL at $MXG_PG_DSN (skipped without it). Recipe: bench/store_bench.sh (starts
// a private server) and docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "store/history.hpp"

namespace {

constexpr int kBatch = 512;  // gateway::kHistoryBatchMax

mxg::store::message_record sample(std::int64_t n) {
  mxg::store::message_record m;
  m.time = 1'700'000'000 + n;
  m.queue_id = "Q" + std::to_string(n);
  m.listener = "mx";
  m.client_ip = "192.0.2.7";
  m.helo = "client.example";
  m.sender = "sender" + std::to_string(n % 97) + "@client.example";
  m.recipients = {"u" + std::to_string(n % 13) + "@local.test", "list@local.test"};
  m.message_id = std::to_string(n) + "@client.example";
  m.subject = "Subject of message " + std::to_string(n);
  m.spf_result = "pass";
  m.decision = "accept";
  m.spf_identity = "mailfrom";
  m.spf_domain = "client.example";
  m.spf_mechanism = "ip4:192.0.2.0/24";
  m.size = 4096;
  m.decisions = {{"spf", "accept", "", false, "", "pass"}, {"dmarc", "accept", "", false, "", ""}};
  m.dkim = {{"client.example", "s1", "pass", ""}};
  m.header_from = "client.example";
  m.dmarc_result = "pass";
  m.uid = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(n);
  m.host = "bench";
  return m;
}

void run(benchmark::State& state, const mxg::store::options& o) {
  auto h = mxg::store::open(o);
  if (!h) {
    state.SkipWithError(h.error().message.c_str());
    return;
  }
  static std::int64_t n = 0;
  std::int64_t written = 0;
  for (auto _ : state) {
    if (!(*h)->begin_batch()) state.SkipWithError("begin_batch");
    for (int i = 0; i < kBatch; ++i)
      if (!(*h)->record(sample(n++))) state.SkipWithError("record");
    if (!(*h)->commit_batch()) state.SkipWithError("commit_batch");
    written += kBatch;
  }
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(written), benchmark::Counter::kIsRate);
}

void BM_HistoryWrite_sqlite(benchmark::State& state) {
  const char* d = std::getenv("MXG_BENCH_DIR");
  auto dir = std::filesystem::path(d && *d ? d : "/var/tmp") /
             ("mxg-store-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  mxg::store::options o;
  o.path = (dir / "history.db").string();
  run(state, o);
  std::filesystem::remove_all(dir);
}

void BM_HistoryWrite_postgresql(benchmark::State& state) {
  const char* dsn = std::getenv("MXG_PG_DSN");
  if (!dsn || !*dsn) {
    state.SkipWithError("MXG_PG_DSN not set (bench/store_bench.sh starts a private server)");
    return;
  }
  mxg::store::options o;
  o.backend = "postgresql";
  o.dsn = dsn;
  run(state, o);
}

BENCHMARK(BM_HistoryWrite_sqlite)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HistoryWrite_postgresql)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
