// spf_macro.cpp: libFuzzer target for the SPF macro language (RFC 7208 7; src/spf/macro.cpp).
// The first byte picks the context (domain-spec or explanation), the rest is the
// macro-string. Checks that the syntax check and the expander agree, that output stays
// within kMacroExpansionMax (plus one value) and that nothing crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "spf/macro.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto ctx = (data[0] & 1) ? mxg::spf::macro_context::explanation : mxg::spf::macro_context::domain;
  std::string_view s(reinterpret_cast<const char*>(data + 1), size - 1);
  mxg::spf::macro_env env;
  env.sender = "strong-bad@email.example.com";
  env.local_part = "strong-bad";
  env.sender_domain = "email.example.com";
  env.domain = "email.example.com";
  env.helo = "mx.example.org";
  env.ip = (data[0] & 2) ? *mxg::net::ip_address::parse("2001:db8::cb01")
                         : *mxg::net::ip_address::parse("192.0.2.3");
  env.now = 1;
  auto bad = mxg::spf::check_macro_string(s, ctx);
  std::string out;
  auto err = mxg::spf::expand(s, ctx, env, out);
  if (bad && !err) std::abort();  // the expander accepted what the checker refused
  if (!bad && err && err->reason.find("longer") == std::string::npos) std::abort();
  if (out.size() > mxg::spf::kMacroExpansionMax + 1024) std::abort();
  return 0;
}
