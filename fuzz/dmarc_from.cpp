// dmarc_from.cpp: libFuzzer target for the Author Domain extraction (RFC 9989 5.3.1;
// RFC 5322 3.4, 3.6.2; src/dmarc/from.cpp) on the shared header reader (mail/header.hpp).
// Input: an untrusted message header. Checks that nothing crashes, that a domain is only
// returned when exactly one From field exists, and that it is a lower-case A-label of
// LDH/underscore labels that to_a_label accepts unchanged (idempotent).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dmarc/from.hpp"
#include "mail/header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto h = mxg::mail::read_header(text);
  auto f = mxg::dmarc::extract_from_domain(h);
  std::size_t froms = 0;
  for (const auto& fld : h.fields)
    if (mxg::mail::name_is(fld, "From")) ++froms;
  if (!f.ok) {
    if (f.error.empty()) std::abort();
    return 0;
  }
  if (froms != 1) std::abort();
  if (f.domain.empty() || f.domain.size() > 253) std::abort();
  for (unsigned char c : f.domain) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) std::abort();
  }
  auto again = mxg::dmarc::to_a_label(f.domain);
  if (!again || *again != f.domain) std::abort();
  // The value parser alone must agree that the field parses.
  for (const auto& fld : h.fields)
    if (mxg::mail::name_is(fld, "From") &&
        !mxg::dmarc::parse_from_domains(mxg::mail::unfold(fld.value)))
      std::abort();
  return 0;
}
