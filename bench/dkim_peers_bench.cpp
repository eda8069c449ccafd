// dkim_peers_bench.cpp: mxguard's side of bench/dkim_peers.sh (DKIM verifications per
// CPU-second against dkimpy and OpenDKIM on the same messages; docs/benchmarks.md).
// Reads the message set that bench/dkim_peers.py generates, from $MXG_DKIM_PEERS_DIR:
//   keys.txt           one key record per line: "NAME VALUE" (RFC 6376 3.6.1 text)
//   <class>/*.eml      signed messages; classes rsa2048-2k, rsa2048-100k, ed25519-2k,
//                      ed25519-100k (RFC 6376 rsa-sha256; RFC 8463 ed25519-sha256)
// Each iteration verifies one whole message with dkim::verify (the streaming verifier:
// parse, body canonicalization and hash, header hash, signature check), keys from an
// in-memory zone (dns::memory_zone: no network, no cache effects), cycling through the
// class's messages; every result must be pass or the benchmark stops with an error.
// items_per_second is verifications per CPU-second of one core.
// Never a timed assertion; without $MXG_DKIM_PEERS_DIR each benchmark is skipped.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dkim/verifier.hpp"
#include "dns/memory_zone.hpp"

namespace {

using namespace mxg;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct message_set {
  dns::memory_zone zone;
  std::map<std::string, std::vector<std::string>> classes;
  std::string error;

  message_set() {
    const char* dir = std::getenv("MXG_DKIM_PEERS_DIR");
    if (!dir) {
      error = "MXG_DKIM_PEERS_DIR is not set (bench/dkim_peers.sh sets it)";
      return;
    }
    std::istringstream keys(slurp(std::filesystem::path(dir) / "keys.txt"));
    for (std::string line; std::getline(keys, line);) {
      std::size_t sp = line.find(' ');
      if (sp == std::string::npos) continue;
      dns::record r;
      r.type = dns::rrtype::txt;
      r.name = dns::normalize_name(line.substr(0, sp));
      r.strings.push_back(line.substr(sp + 1));
      zone.add(r);
    }
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (!e.is_directory()) continue;
      auto& v = classes[e.path().filename().string()];
      for (const auto& f : std::filesystem::directory_iterator(e.path()))
        if (f.path().extension() == ".eml") v.push_back(slurp(f.path()));
    }
  }
};

const message_set& set() {
  static message_set s;
  return s;
}

void BM_DkimVerify(benchmark::State& state, const char* cls) {
  const auto& s = set();
  auto it = s.classes.find(cls);
  if (!s.error.empty() || it == s.classes.end() || it->second.empty()) {
    state.SkipWithError(s.error.empty() ? "no messages for this class" : s.error.c_str());
    return;
  }
  const auto& msgs = it->second;
  dkim::options o;  // the system clock: the messages carry no x=
  std::size_t i = 0;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string& m = msgs[i];
    i = i + 1 == msgs.size() ? 0 : i + 1;
    auto rs = dkim::verify(m, s.zone, o);
    if (rs.size() != 1 || rs[0].res != dkim::result::pass) {
      state.SkipWithError("a verification did not pass");
      break;
    }
    bytes += m.size();
    benchmark::DoNotOptimize(rs);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK_CAPTURE(BM_DkimVerify, rsa2048_2k, "rsa2048-2k");
BENCHMARK_CAPTURE(BM_DkimVerify, rsa2048_100k, "rsa2048-100k");
BENCHMARK_CAPTURE(BM_DkimVerify, ed25519_2k, "ed25519-2k");
BENCHMARK_CAPTURE(BM_DkimVerify, ed25519_100k, "ed25519-100k");

}  // namespace
