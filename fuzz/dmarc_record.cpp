// dmarc_record.cpp: libFuzzer target for the DMARC record parser (RFC 9989 4.7, 4.8,
// 4.10.1; src/dmarc/record.cpp). Input: an untrusted TXT record. Checks that parsing never
// crashes, that a record is only returned for input starting (after WSP) with v=DMARC1,
// that the size cap holds, and that the policy fallbacks are consistent (np -> sp -> p).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dmarc/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mxg::dmarc;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = parse_record(text);
  if (!r) {
    if (r.error().message.empty()) std::abort();
    if (size > kRecordMax && r.error().code != mxg::errc::limit_exceeded) std::abort();
    return 0;
  }
  if (size > kRecordMax) std::abort();
  if (text.find("DMARC1") == std::string_view::npos) std::abort();
  if (r->raw != text) std::abort();
  if (r->rua.size() > 16 || r->ruf.size() > 16) std::abort();
  if (r->pct && (*r->pct < 0 || *r->pct > 100)) std::abort();
  if (r->usable()) {
    // 4.7: np falls back to sp, sp to p; the 4.10.1 case is p=none throughout.
    if (!r->np && r->effective_np() != r->effective_sp()) std::abort();
    if (!r->sp && r->effective_sp() != r->effective_p()) std::abort();
    if (r->as_p_none() &&
        (r->effective_p() != disposition::none || r->effective_np() != disposition::none))
      std::abort();
  } else if (r->rua_valid) {
    std::abort();  // unusable only without a valid rua=
  }
  return 0;
}
