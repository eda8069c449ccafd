// dns_wire.cpp: libFuzzer target for the DNS response decoder (RFC 1035 4.1;
// src/dns/wire.cpp). Input: an untrusted DNS message as it comes off the network.
// Checks that decoding never crashes or reads out of bounds (ASan), that the status
// and records agree (ok <=> records present, every record of the asked type), and
// that wire_size is the message length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dns/wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mxg::dns;
  std::span<const std::uint8_t> msg(data, size);
  for (rrtype t : {rrtype::a, rrtype::aaaa, rrtype::mx, rrtype::txt, rrtype::ptr, rrtype::cname}) {
    answer a = decode_response(msg, "example.com", t);
    if (a.wire_size != size) std::abort();
    if ((a.st == status::ok) != !a.records.empty()) std::abort();
    for (const auto& r : a.records)
      if (r.type != t) std::abort();
    if (a.st == status::servfail && a.detail.empty()) std::abort();
  }
  std::size_t off = size > 12 ? 12 : 0;
  (void)read_name(msg, off);
  if (off > size) std::abort();
  return 0;
}
