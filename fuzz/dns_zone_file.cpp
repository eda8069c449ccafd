// dns_zone_file.cpp: libFuzzer target for the RFC 1035 master-file loader
// (src/dns/zone_file.cpp). Input: an untrusted zone file (--zone FILE). Checks that
// loading never crashes, that errors carry "source:LINE: " and that a failed load
// leaves the zone empty (parse fully, then act).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dns/zone_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mxg::dns;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  memory_zone z;
  auto r = load_zone_string(text, z, "fuzz.zone", "example.test");
  if (!r) {
    if (!r.error().message.starts_with("fuzz.zone:")) std::abort();
    if (!z.empty()) std::abort();
    return 0;
  }
  // Lookups over whatever was loaded must be safe too.
  (void)z.lookup("example.test", rrtype::txt);
  (void)z.lookup("www.example.test", rrtype::a);
  return 0;
}
