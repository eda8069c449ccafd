// arc_validate.cpp: libFuzzer target for ARC chain validation (RFC 8617 5.2): the input
// is a message, fed to arc::validator in two chunks split at a point taken from the input
// (the split must not change the answer), finished with no keys (an empty key map, then
// NXDOMAIN for every name), so no crypto runs.
// Checks: no crash; with no key a chain can never pass; no ARC field name in the input
// means cv=none; at most 50 hops, numbered 1..N in order; oldest-pass only with pass.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "arc/validate.hpp"
#include "base/ascii.hpp"

namespace {
mxg::arc::validation run(std::string_view text, std::size_t split, bool nxdomain) {
  mxg::arc::options o;
  o.clock = [] { return std::int64_t{1700000000}; };
  mxg::arc::validator v(o);
  v.feed(text.substr(0, split));
  v.feed(text.substr(split));
  std::map<std::string, mxg::dns::answer> keys;
  if (nxdomain)
    for (auto& n : v.key_names()) {
      mxg::dns::answer a;
      a.st = mxg::dns::status::nxdomain;
      keys.emplace(n, a);
    }
  return v.finish(keys);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t split = size ? data[0] % (size + 1) : 0;
  auto a = run(text, split, false);
  auto b = run(text, size / 2, true);
  if (a.cv != b.cv) std::abort();
  if (a.cv == mxg::arc::chain_result::pass) std::abort();
  if (a.oldest_pass != 0) std::abort();
  if (a.hops.size() > static_cast<std::size_t>(mxg::arc::kInstancesMax)) std::abort();
  for (std::size_t i = 0; i < a.hops.size(); ++i)
    if (a.hops[i].instance != static_cast<int>(i + 1)) std::abort();
  if (mxg::ascii::lower(text).find("arc-") == std::string::npos &&
      a.cv != mxg::arc::chain_result::none)
    std::abort();
  (void)mxg::arc::authres_entry(a, "192.0.2.1");
  return 0;
}
