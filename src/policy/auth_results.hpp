// auth_results.hpp: our one Authentication-Results field (RFC 8601) for a message: the
// SPF result (2.7.2), one dkim entry per DKIM-Signature in header order (2.7.1, RFC
// 6008 header.b), DMARC (RFC 9989 / RFC 8601 2.7.7 registry: header.from, policy.*) and
// ARC (RFC 8617 7). Shared by the gateway, `mxguard auth check` and the SPF-only path
// (spf_policy.hpp's authentication_results_field delegates here).
// Security: every entry's text goes through one filter: CR, LF, controls and octets
// above 0x7e become '?', so a peer's value can never end the field or start another;
// the field is folded (";" CRLF TAB) between entries when asked, each line stays short.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "arc/validate.hpp"
#include "dkim/verifier.hpp"
#include "dmarc/evaluate.hpp"
#include "policy/spf_policy.hpp"

namespace mxg::policy {

struct auth_results_input {
  std::string_view authserv_id;
  const spf_evaluation* spf = nullptr;                        // null or skipped: no spf entry
  const std::vector<dkim::signature_result>* dkim = nullptr;  // null: DKIM not verified
  const dmarc::evaluation* dmarc = nullptr;
  const arc::validation* arc = nullptr;
  std::string_view client_ip;  // smtp.remote-ip for the arc entry (RFC 8617 7.1), "" = none
};

// "Authentication-Results: ID; spf=...; dkim=...; dmarc=...; arc=..." without CRLF.
// No entry at all: "ID; none" (RFC 8601 2.2). `folded`: each entry on its own line.
// DKIM verified but no signature: "dkim=none" (RFC 8601 2.7.1).
std::string authentication_results(const auth_results_input& in, bool folded = false);

// The resinfo of one SPF evaluation ("spf=pass smtp.mailfrom=..."), "" when skipped.
std::string spf_authres_entry(const spf_evaluation& e);

}  // namespace mxg::policy
