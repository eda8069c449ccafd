// dmarc_policy_aar.cpp: libFuzzer target for the ARC-Authentication-Results reader of the
// DMARC policy (policy::aar_pass, RFC 8601 2.2 syntax over a peer's AAR payload) and for
// the Authentication-Results builder fed the same peer bytes as DKIM values.
// Invariants checked (abort on violation):
//   - aar_pass returns "", "dmarc", "spf" or "dkim", never anything else, never crashes;
//   - "dmarc" only when the input holds "dmarc" (any case), likewise spf and dkim;
//   - the built Authentication-Results field is printable ASCII except its folds
//     (";" CRLF TAB): no peer byte can end the field or start another.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.hpp"
#include "policy/auth_results.hpp"
#include "policy/dmarc_policy.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string got = mxg::policy::aar_pass(in);
  require(got.empty() || got == "dmarc" || got == "spf" || got == "dkim");
  if (!got.empty()) require(mxg::ascii::lower(in).find(got) != std::string::npos);

  std::vector<mxg::dkim::signature_result> sigs(1);
  sigs[0].res = mxg::dkim::result::permerror;
  sigs[0].domain = std::string(in.substr(0, in.size() / 2));
  sigs[0].reason = std::string(in.substr(in.size() / 2));
  mxg::policy::auth_results_input ar;
  ar.authserv_id = "mx.test";
  ar.dkim = &sigs;
  const std::string field = mxg::policy::authentication_results(ar, true);
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field.compare(i, 3, "\r\n\t") == 0) {
      require(i > 0 && field[i - 1] == ';');
      i += 2;
      continue;
    }
    auto c = static_cast<unsigned char>(field[i]);
    require(c >= 0x20 && c <= 0x7e);
  }
  return 0;
}
