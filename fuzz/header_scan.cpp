// header_scan.cpp: libFuzzer target for the gateway's bounded header scan
// (src/gateway/header_scan.hpp: Message-ID and Subject for the history).
// Input: arbitrary bytes taken as a message. Invariants checked (abort on violation):
//   - values are capped at kHeaderValueMax and hold no CR, LF or other control byte
//     but TAB (Subject);
//   - a cap larger than the input changes nothing;
//   - the scan is deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/header_scan.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void check_value(std::string_view v) {
  require(v.size() <= mxg::gateway::kHeaderValueMax);
  for (unsigned char c : v) require(c >= 0x20 || c == '\t');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mxg::gateway;
  std::string_view m(reinterpret_cast<const char*>(data), size);
  for (std::size_t cap : {kHeaderScanMax, std::size_t{64}, std::size_t{7}}) {
    auto f = scan_headers(m, cap);
    check_value(f.subject);
    check_value(f.message_id);
    auto g = scan_headers(m, cap);
    require(f.subject == g.subject && f.message_id == g.message_id && f.complete == g.complete);
    if (m.size() <= cap) {
      auto h = scan_headers(m, m.size() + 1000);
      require(h.subject == f.subject && h.message_id == f.message_id);
    }
  }
  return 0;
}
