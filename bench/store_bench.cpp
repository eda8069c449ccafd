// store_bench.cpp: history writes per second, SQLite against PostgreSQL (issue 14), as
// the gateway's history writer does them: batches of kBatch records in one transaction
// (begin_batch/commit_batch), each record with 2 recipients, 2 decisions, 1 DKIM result
// and a unique uid. SQLite on a file in $MXG_BENCH_DIR (default /var/tmp: not tmpfs),
// PostgreSQL at $MXG_PG_DSN (skipped without it). Recipe: bench/store_bench.sh (starts
// a private server) and docs/benchmarks.md.
// Also the console's history search (store::history_query filters in SQL) over
// kSearchRecords records of their own time range: a queue id (the oldest record: the
// newest-first scan reads them all), a sender that matches none (a full scan) and a
// recipient that 1 record in 13 has (stops at the limit of 200).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

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

std::filesystem::path sqlite_dir() {
  const char* d = std::getenv("MXG_BENCH_DIR");
  return std::filesystem::path(d && *d ? d : "/var/tmp") /
         ("mxg-store-bench-" + std::to_string(::getpid()));
}

// The SQLite files go when the process ends (the search database serves every case).
struct remove_at_exit {
  ~remove_at_exit() {
    std::error_code ec;
    std::filesystem::remove_all(sqlite_dir(), ec);
  }
} g_remove_at_exit;

void BM_HistoryWrite_sqlite(benchmark::State& state) {
  std::filesystem::create_directories(sqlite_dir());
  mxg::store::options o;
  o.path = (sqlite_dir() / "history.db").string();
  run(state, o);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(o.path + suffix);
}

// The private server's options (bench/store_bench.sh sets MXG_PG_DSN), or a skip.
std::optional<mxg::store::options> postgresql(benchmark::State& state) {
  const char* dsn = std::getenv("MXG_PG_DSN");
  if (!dsn || !*dsn) {
    state.SkipWithError("MXG_PG_DSN not set (bench/store_bench.sh starts a private server)");
    return std::nullopt;
  }
  mxg::store::options o;
  o.backend = "postgresql";
  o.dsn = dsn;
  return o;
}

void BM_HistoryWrite_postgresql(benchmark::State& state) {
  if (auto o = postgresql(state)) run(state, *o);
}

constexpr std::int64_t kSearchRecords = 200'000;
constexpr std::int64_t kSearchT0 = 1'600'000'000;  // apart from the write benchmark's range

void search(benchmark::State& state, const mxg::store::options& o) {
  auto h = mxg::store::open(o);
  if (!h) {
    state.SkipWithError(h.error().message.c_str());
    return;
  }
  mxg::store::history_query last;
  last.since = kSearchT0 + kSearchRecords - 1;
  last.until = kSearchT0 + kSearchRecords;
  auto filled = (*h)->query(last);
  if (!filled || filled->empty()) {  // once per database
    for (std::int64_t n = 0; n < kSearchRecords; n += kBatch) {
      if (!(*h)->begin_batch()) return state.SkipWithError("begin_batch");
      for (std::int64_t i = n; i < n + kBatch && i < kSearchRecords; ++i) {
        auto m = sample(i);
        m.time = kSearchT0 + i;
        m.queue_id = "S" + std::to_string(i);
        m.uid = "search-" + std::to_string(i);
        if (!(*h)->record(m)) return state.SkipWithError("record");
      }
      if (!(*h)->commit_batch()) return state.SkipWithError("commit_batch");
    }
  }
  mxg::store::history_query q;
  q.since = kSearchT0;
  q.until = kSearchT0 + kSearchRecords;
  q.newest_first = true;
  q.limit = 200;
  switch (state.range(0)) {
    case 0:
      q.queue_id = "S0";
      break;
    case 1:
      q.sender = "nobody@";
      break;
    default:
      q.recipient = "u3@";
  }
  std::size_t found = 0;
  for (auto _ : state) {
    auto r = (*h)->query(q);
    if (!r) return state.SkipWithError(r.error().message.c_str());
    found = r->size();
  }
  state.counters["found"] = static_cast<double>(found);
  state.SetLabel(state.range(0) == 0   ? "queue id of the oldest"
                 : state.range(0) == 1 ? "sender matching none"
                                       : "recipient in 1 of 13");
}

void BM_HistorySearch_sqlite(benchmark::State& state) {
  std::filesystem::create_directories(sqlite_dir());
  mxg::store::options o;
  o.path = (sqlite_dir() / "search.db").string();  // filled once, for every case
  search(state, o);
}

void BM_HistorySearch_postgresql(benchmark::State& state) {
  if (auto o = postgresql(state)) search(state, *o);
}

BENCHMARK(BM_HistoryWrite_sqlite)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HistoryWrite_postgresql)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HistorySearch_sqlite)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HistorySearch_postgresql)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);

}  // namespace
