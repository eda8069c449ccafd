// queue_bench.cpp: durable queue commit throughput (src/queue/queue_dir.hpp) with
// fsync on, as N concurrent "sessions" (threads) each storing 1 KB messages in a
// closed loop (store, wait for the commit, store the next), with group commit
// (max_batch 256) and without it (max_batch 1: one fsync round per message, the
// classic one-message-per-fsync writer), in both queue formats (issue 13 section 2:
// format 0 = split, .data + .ctl, two file fsyncs; 1 = single, one .msg file, one fsync).
// Counters: msgs/s, messages per fsync round, file fsyncs per message, and the
// process's CPU (user + system, getrusage) per message in microseconds (the kernel's
// journal and loop threads are not in it).
// Recipe: `build/bench/bench_queue_bench`; queue in $TMPDIR (default /tmp), so the
// numbers are those of that file system. No assertion here: numbers only.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "queue/queue_dir.hpp"

namespace {

using namespace mxg::queue;

std::filesystem::path scratch() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mxg-queue-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) std::abort();
  return tmpl;
}

envelope env() {
  envelope e;
  e.created = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  e.sender = "bench@drj.test";
  e.recipients.push_back({"user@drj.test", rcpt_status::pending, "", std::nullopt});
  e.client_ip = "127.0.0.1";
  e.helo = "localhost";
  e.listener = "bench";
  e.mode = delivery_mode::hold;
  return e;
}

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// args: sessions, max_batch, fsync (1/0), format (0 split, 1 single)
void BM_QueueCommit(benchmark::State& state) {
  const int sessions = static_cast<int>(state.range(0));
  const std::string data(1024, 'x');
  const int per_session = 40;
  std::uint64_t msgs = 0, rounds = 0, file_syncs = 0;
  double cpu = 0;
  for (auto _ : state) {
    auto dir = scratch();
    options o;
    o.dir = dir;
    o.max_batch = static_cast<std::size_t>(state.range(1));
    o.fsync = state.range(2) != 0;
    o.format = state.range(3) != 0 ? queue_format::single : queue_format::split;
    auto q = queue_dir::open(o);
    if (!q) {
      state.SkipWithError(q.error().message.c_str());
      return;
    }
    auto start = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    std::vector<std::thread> ts;
    for (int s = 0; s < sessions; ++s)
      ts.emplace_back([&] {
        for (int i = 0; i < per_session; ++i)
          if (!(*q)->store(env(), data)) std::abort();
      });
    for (auto& t : ts) t.join();
    auto end = std::chrono::steady_clock::now();
    cpu += cpu_seconds() - cpu0;
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    auto st = (*q)->stats();
    msgs += st.messages;
    rounds += st.rounds;
    file_syncs += st.file_syncs;
    q->reset();
    std::filesystem::remove_all(dir);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(msgs));
  state.counters["msgs/round"] = rounds ? static_cast<double>(msgs) / rounds : 0;
  state.counters["fsyncs/msg"] = msgs ? static_cast<double>(file_syncs) / msgs : 0;
  state.counters["cpu_us/msg"] = msgs ? cpu * 1e6 / static_cast<double>(msgs) : 0;
  state.counters["msgs/s"] =
      benchmark::Counter(static_cast<double>(msgs), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_QueueCommit)
    ->ArgNames({"sessions", "max_batch", "fsync", "format"})
    ->Args({1, 256, 1, 0})
    ->Args({1, 256, 1, 1})
    ->Args({20, 1, 1, 0})
    ->Args({20, 256, 1, 0})
    ->Args({20, 256, 1, 1})
    ->Args({100, 256, 1, 0})
    ->Args({100, 256, 1, 1})
    ->Args({20, 256, 0, 0})
    ->Args({20, 256, 0, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

}  // namespace
