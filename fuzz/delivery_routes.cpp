// delivery_routes.cpp: libFuzzer target for the routing table parsers
// (src/delivery/routing.hpp), text and TOML forms, and the DSN status extractor and
// dot-stuffer that read peer data. Invariants: parsing never crashes; a parsed table
// routes any envelope; every parsed action prints in a form that parses back to itself;
// dot_stuff output ends with CRLF.CRLF and has no bare LF.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "delivery/client.hpp"
#include "delivery/dsn.hpp"
#include "delivery/routing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using mxg::delivery::routing_table;
  for (auto t : {routing_table::parse_text(in, "fuzz"), routing_table::parse_toml(in, "fuzz")}) {
    if (!t) continue;
    for (const auto& r : t->rules()) {
      auto again = mxg::delivery::parse_action(r.action.to_string());
      if (!again || !(*again == r.action)) __builtin_trap();
    }
    (void)t->route("user@aicpa.org", "rcpt@example.com");
    (void)t->route("", in.substr(0, 64));
  }
  (void)mxg::delivery::status_of_reply(in);
  auto stuffed = mxg::delivery::dot_stuff(in);
  if (!stuffed.ends_with("\r\n.\r\n") && stuffed != ".\r\n") __builtin_trap();
  for (std::size_t i = 0; i < stuffed.size(); ++i)
    if (stuffed[i] == '\n' && (i == 0 || stuffed[i - 1] != '\r')) __builtin_trap();
  return 0;
}
