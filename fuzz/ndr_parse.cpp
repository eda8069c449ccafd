// ndr_parse.cpp: libFuzzer target for the bounce parser (GMime MIME parsing,
// RFC 3464 fields, free-text rules, classifier, mbox splitting). Any crash,
// sanitizer report or uncaught exception is a bug: parse_message() must accept
// every byte string.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ndr/ndr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto recs = mxg::ndr::parse_message(in);
  for (const auto& r : recs) {
    if (r.recipient.empty()) __builtin_trap();  // records always name a recipient
  }
  auto msgs = mxg::ndr::split_mbox(in);
  (void)msgs;
  auto all = mxg::ndr::split_messages(in);  // also the CR-only line-end path
  if (all.empty()) __builtin_trap();        // at least the input itself
  (void)all;
  return 0;
}
