// spf_record.cpp: libFuzzer target for the SPF record parser (RFC 7208 4.6, 12;
// src/spf/record.cpp). Input: an untrusted TXT record. Checks that parsing never
// crashes, that the first-error and collect-all modes agree, that every view of the
// AST points into the record's own text, and that copies rebase their views.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "spf/record.hpp"

namespace {
void check_inside(std::string_view outer, std::string_view v) {
  if (v.empty()) return;
  if (v.data() < outer.data() || v.data() + v.size() > outer.data() + outer.size()) std::abort();
}
void check_record(const mxg::spf::record& r) {
  auto t = r.text();
  for (const auto& m : r.mechanisms()) {
    check_inside(t, m.text);
    check_inside(t, m.domain_spec);
    if (t.substr(m.offset, m.text.size()) != m.text) std::abort();
  }
  for (const auto& m : r.modifiers()) {
    check_inside(t, m.text);
    check_inside(t, m.value);
    check_inside(t, m.name);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = mxg::spf::parse(text);
  std::vector<mxg::spf::diagnostic> all;
  auto r2 = mxg::spf::parse(text, all);
  if (r.has_value() != r2.has_value()) std::abort();
  if (!r && (all.empty() || all[0].offset != r.error().offset)) std::abort();
  if (!r) {
    (void)r.error().to_string();
    for (const auto& d : all)
      if (d.offset > size) std::abort();
    return 0;
  }
  check_record(*r);
  mxg::spf::record copy = *r;
  check_record(copy);
  if (copy.mechanisms().size() != r->mechanisms().size()) std::abort();
  return 0;
}
