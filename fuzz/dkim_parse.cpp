// dkim_parse.cpp: libFuzzer target for the DKIM parsers and the raw-header reader:
// mail::read_header (RFC 5322), dkim::parse_tag_list (RFC 6376 3.2), parse_signature
// (3.5), parse_key_record (3.6.1), dkim-quoted-printable and base64 decoding, and the
// whole streaming verifier on the input as a message (keys from an empty zone, so no
// crypto; every signature must still get exactly one result, in order).
// Checks: no crash, every view inside its input, tag raw ranges ordered and in bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dkim/key_record.hpp"
#include "dkim/signature.hpp"
#include "dkim/tag_list.hpp"
#include "dkim/verifier.hpp"
#include "dns/memory_zone.hpp"
#include "mail/header.hpp"

namespace {
void check_inside(std::string_view outer, std::string_view v) {
  if (v.empty()) return;
  if (v.data() < outer.data() || v.data() + v.size() > outer.data() + outer.size()) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto hb = mxg::mail::read_header(text);
  if (hb.body_offset > size) std::abort();
  std::size_t dkim_fields = 0;
  for (const auto& f : hb.fields) {
    check_inside(text, f.raw);
    check_inside(f.raw, f.name);
    check_inside(f.raw, f.value);
    if (mxg::mail::name_is(f, "DKIM-Signature")) ++dkim_fields;
  }
  if (auto tl = mxg::dkim::parse_tag_list(text)) {
    std::size_t prev = 0;
    for (const auto& t : tl->tags) {
      check_inside(text, t.name);
      check_inside(text, t.value);
      if (t.raw_begin > t.raw_end || t.raw_end > size || t.raw_begin < prev) std::abort();
      prev = t.raw_end;
    }
  }
  auto sig = mxg::dkim::parse_signature(text, 1'700'000'000);
  if (!sig.error && (sig.b_begin > sig.b_end || sig.b_end > size)) std::abort();
  (void)mxg::dkim::parse_key_record(text);
  (void)mxg::dkim::decode_dkim_qp(text);
  (void)mxg::dkim::decode_base64(text);
  mxg::dns::memory_zone zone;
  mxg::dkim::options opt;
  opt.clock = [] { return std::int64_t{1'700'000'000}; };
  auto rs = mxg::dkim::verify(text, zone, opt);
  if (hb.complete && !hb.truncated && rs.size() != dkim_fields) std::abort();
  for (std::size_t i = 0; i < rs.size(); ++i)
    if (rs[i].index != i || rs[i].res == mxg::dkim::result::pass) std::abort();
  return 0;
}
