// evaluate.hpp: DMARC evaluation of one message (RFC 9989 4.4, 4.6, 4.10; RFC 7489 as
// the legacy mode): policy discovery, identifier alignment, the result and the policy
// that applies.
//
// Discovery (RFC 9989 4.10, treewalk): _dmarc.<From domain> first; then walk up the
// tree, at most 8 queries in all (labels skipped as the RFC says when the name has more
// than 8); psd=y/n decides where the organizational domain is. The organizational
// domain for relaxed alignment is found the same way for each aligned-candidate domain.
// Legacy (psl): the organizational domain is the PSL's registrable domain.
// The policy that applies: p= for the organizational domain itself, sp= for a
// subdomain, np= for a non-existent subdomain (NXDOMAIN for A, AAAA and MX of the From
// domain, RFC 9989 4.7), t=y and the choice are reported.
// DNS failures: a timeout or SERVFAIL during discovery is temperror; NXDOMAIN/NODATA
// is "no record here".
#pragma once

#include <asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

#include "dmarc/from.hpp"
#include "dmarc/psl.hpp"
#include "dmarc/record.hpp"
#include "dmarc/types.hpp"
#include "dns/resolver.hpp"

namespace mxg::dns {
class memory_zone;
}

namespace mxg::dmarc {

inline constexpr int kTreeWalkQueriesMax = 8;  // RFC 9989 4.10

// What DMARC needs from SPF: the RFC 7208 result of the identity SPF checked
// (MAIL FROM, or HELO when the reverse-path was null: RFC 9989 4.4.1) and its domain.
struct spf_input {
  std::string result;  // RFC 7208 token ("pass", "fail", ...); "" = not evaluated
  std::string domain;  // the checked identity's domain
};

// What DMARC needs from DKIM: one entry per signature (dkim::signature_result gives it).
struct dkim_input {
  std::string result;  // RFC 8601 token ("pass", "fail", ...)
  std::string domain;  // d=
  std::string selector;
};

struct policy_discovery {
  std::optional<record> rec;   // the record that applies, if any
  std::string policy_domain;   // the name it was found at (without "_dmarc.")
  std::string org_domain;      // the From domain's organizational domain
  bool temperror = false;      // a DNS failure stopped discovery
  int queries = 0;             // DNS queries made (treewalk: at most 8)
  std::string detail;          // why, for logs and the reason
};

struct options {
  discovery_mode mode = discovery_mode::treewalk;
  const public_suffix_list* psl = nullptr;  // required for discovery_mode::psl
};

struct evaluation {
  result res = result::none;
  std::string from_domain;                 // "" when the From could not be used
  std::optional<disposition> policy;       // the policy that applies (p/sp/np); nullopt = no record
  std::string policy_source;               // "p" | "sp" | "np" | "" (which tag applied)
  bool testing = false;                    // t=y
  bool dkim_aligned = false;               // an aligned DKIM pass
  bool spf_aligned = false;                // an aligned SPF pass
  std::string dkim_domain;                 // the aligned passing d= (first), or ""
  std::string dkim_selector;
  std::string spf_domain;                  // SPF's identity domain as given
  std::optional<record> rec;               // for reports (policy_published)
  std::string policy_domain;
  std::string org_domain;
  discovery_mode mode = discovery_mode::treewalk;
  std::string reason;                      // human-readable why
};

// The whole evaluation: From (from.hpp), discovery, alignment, result.
asio::awaitable<evaluation> evaluate(const from_domain& from, const spf_input& spf,
                                     const std::vector<dkim_input>& dkim, dns::resolver& r,
                                     options o = {});
// The same on an in-memory zone (tests, CLI --zone).
evaluation evaluate(const from_domain& from, const spf_input& spf,
                    const std::vector<dkim_input>& dkim, const dns::memory_zone& zone,
                    options o = {});

// Discovery alone (used by evaluate, reports and `mxguard dmarc` tooling).
asio::awaitable<policy_discovery> discover(const std::string& from_domain, dns::resolver& r,
                                           options o = {});

// Identifier alignment (RFC 9989 4.4.1/4.4.2): `a` and `b` are aligned under `mode`;
// relaxed compares organizational domains as found by `org_of`.
bool aligned(const std::string& a_org, const std::string& b_org, const std::string& a,
             const std::string& b, alignment_mode mode);

// One RFC 8601 resinfo: "dmarc=fail (p=reject sp=none dis=...) header.from=example.com"
// (the exact text is the implementer's, following RFC 8601 and RFC 9989 4.?).
std::string authres_entry(const evaluation& e);

}  // namespace mxg::dmarc
