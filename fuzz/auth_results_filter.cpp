// auth_results_filter.cpp: libFuzzer target for the gateway's Authentication-Results
// filter (src/gateway/trace_headers.hpp; RFC 8601 5, RFC 5322 2.1/2.2.3).
// Input: the first byte picks the authserv-id from a small list; the rest is a message,
// fed once whole and once in pieces whose sizes come from a seed derived from the input.
// Invariants checked (abort on violation):
//   - the output does not depend on the split into feed() calls (bytes and removed());
//   - the output is the input with some bytes left out: never longer, a subsequence,
//     and exactly the input when nothing was removed;
//   - removed() is at most the number of lines that start with "Authentication-Results"
//     (in any case), so nothing but such fields is counted;
//   - filtering the output again removes nothing and changes nothing (idempotent).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/ascii.hpp"
#include "gateway/trace_headers.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

struct run_result {
  std::string out;
  std::size_t removed = 0;
};

run_result filter_whole(std::string_view id, std::string_view m) {
  mxg::gateway::auth_results_filter f{std::string(id)};
  run_result r;
  f.feed(m, r.out);
  f.finish(r.out);
  r.removed = f.removed();
  return r;
}

// Pieces of 0..max bytes from a small linear congruential sequence (deterministic).
run_result filter_split(std::string_view id, std::string_view m, std::uint32_t seed,
                        std::size_t max) {
  mxg::gateway::auth_results_filter f{std::string(id)};
  run_result r;
  std::uint32_t x = seed | 1u;
  while (!m.empty()) {
    x = x * 1664525u + 1013904223u;
    std::size_t n = (x >> 8) % (max + 1);
    if (n > m.size()) n = m.size();
    f.feed(m.substr(0, n), r.out);
    m.remove_prefix(n);
  }
  f.finish(r.out);
  r.removed = f.removed();
  return r;
}

bool is_subsequence(std::string_view sub, std::string_view s) {
  std::size_t j = 0;
  for (std::size_t i = 0; i < s.size() && j < sub.size(); ++i)
    if (s[i] == sub[j]) ++j;
  return j == sub.size();
}

std::size_t ar_lines(std::string_view m) {
  constexpr std::string_view kName = "Authentication-Results";
  std::size_t n = 0;
  for (std::size_t at = 0; at < m.size();) {
    std::string_view line = m.substr(at);
    if (line.size() >= kName.size() && mxg::ascii::iequals(line.substr(0, kName.size()), kName))
      ++n;
    auto nl = m.find('\n', at);
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kIds[] = {"mx.example.com", "MX.EXAMPLE.COM.", "a", "x.y"};
  const std::string_view id = kIds[data[0] % 4];
  std::string_view m(reinterpret_cast<const char*>(data + 1), size - 1);

  const run_result whole = filter_whole(id, m);
  std::uint32_t seed = static_cast<std::uint32_t>(size);
  for (unsigned char c : m.substr(0, 16)) seed = seed * 31u + c;
  for (std::size_t max : {std::size_t{1}, std::size_t{7}, std::size_t{300}}) {
    const run_result split = filter_split(id, m, seed + static_cast<std::uint32_t>(max), max);
    require(split.out == whole.out);
    require(split.removed == whole.removed);
  }

  require(whole.out.size() <= m.size());
  require(whole.removed != 0 || whole.out == m);
  require(whole.removed <= ar_lines(m));
  require(is_subsequence(whole.out, m));

  const run_result again = filter_whole(id, whole.out);
  require(again.removed == 0 && again.out == whole.out);
  return 0;
}
