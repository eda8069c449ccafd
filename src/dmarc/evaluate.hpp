// evaluate.hpp: DMARC evaluation of one message (RFC 9989 4.4, 4.10, 5.3; RFC 7489 as
// the legacy mode): policy discovery, identifier alignment, the result and the policy
// that applies.
//
// Discovery (RFC 9989 4.10, treewalk): _dmarc.<Author Domain> first; then walk up the
// tree, at most 8 queries per walk (4.10 step 4: a name of 8 or more labels jumps to its
// last 7 labels after the first query); a record with psd=y or psd=n stops the walk.
// The Organizational Domain (4.10.2): the psd=n name, else the name one label below a
// psd=y record (not the start's own), else the name with the fewest labels that had a
// record, else the start. The policy record (4.10.1): the Author Domain's, else the
// Organizational Domain's, else the PSD's (psd=y). Each aligned-candidate identifier
// (an SPF or DKIM pass) gets its own walk when relaxed alignment needs its
// Organizational Domain; the walks and the existence check run concurrently.
// Legacy (psl, RFC 7489 6.6.3): _dmarc.<author>, then _dmarc.<PSL registrable domain>;
// several records at the author name end discovery; alignment uses the PSL.
// The policy that applies: p= for the Author Domain's own record; for a record found
// higher up, sp= when the Author Domain exists, np= when it does not (NXDOMAIN for A,
// AAAA and MX, RFC 9989 3.2.13 / RFC 8020; asked only when np= is published); absent
// tags fall back np -> sp -> p (4.7). t=y lowers the policy one level (4.7 "t").
// Invalid p=/sp=/np= (4.10.1): as p=none with a valid rua=, else result none.
// DNS failures: a timeout or SERVFAIL that leaves the answer open is temperror (5.3.6);
// NXDOMAIN/NODATA is "no record here". Several DMARC records at one name are discarded
// (4.10 step 2).
// Never: more than kTreeWalkQueriesMax queries per walk, more than kAlignmentWalksMax
// identifier walks per message, a URI fetched.
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

inline constexpr int kTreeWalkQueriesMax = 8;         // RFC 9989 4.10
inline constexpr std::size_t kAlignmentWalksMax = 8;  // our cap: distinct identifier domains walked

// What DMARC needs from SPF: the RFC 7208 result of the MAIL FROM identity (RFC 9989
// 4.4.2; with a null reverse-path RFC 7208 2.4 makes it postmaster@<HELO>) and its domain.
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
  std::optional<record> rec;         // the record that applies, if any
  std::string policy_domain;         // the name it was found at (without "_dmarc.")
  std::string org_domain;            // the From domain's organizational domain
  bool temperror = false;            // a DNS failure stopped discovery
  int queries = 0;                   // DNS queries made (treewalk: at most 8)
  std::vector<std::string> queried;  // the names asked for TXT, in order ("_dmarc.x")
  bool org_known = true;  // false: a DNS failure stopped the walk before the org was found
  std::string detail;     // why, for logs and the reason
};

struct options {
  discovery_mode mode = discovery_mode::treewalk;
  const public_suffix_list* psl = nullptr;  // required for discovery_mode::psl
};

struct evaluation {
  result res = result::none;
  std::string from_domain;            // "" when the From could not be used
  std::optional<disposition> policy;  // the published policy that applies (p/sp/np);
                                      // nullopt = no record / none / temperror / permerror
  std::optional<disposition> effective_policy;  // `policy` after t=y (RFC 9989 4.7 "t":
                                                // reject -> quarantine, quarantine -> none); what
                                                // a receiver honouring the record applies on fail
  std::string policy_source;                    // "p" | "sp" | "np" | "" (which tag applied)
  bool testing = false;                         // t=y
  bool dkim_aligned = false;                    // an aligned DKIM pass
  bool spf_aligned = false;                     // an aligned SPF pass
  std::string dkim_domain;                      // the aligned passing d= (first), or ""
  std::string dkim_selector;
  std::string spf_domain;     // SPF's identity domain as given
  std::optional<record> rec;  // for reports (policy_published)
  std::string policy_domain;
  std::string org_domain;
  discovery_mode mode = discovery_mode::treewalk;
  std::vector<std::string> queried;  // TXT names asked by the Author Domain's walk
  std::string reason;                // human-readable why
};

// The whole evaluation: From (from.hpp), discovery, alignment, result. The inputs are
// taken by value: the coroutine owns copies from the call on, so a task may be created
// from temporaries and started later (co_spawn); `r` (and o.psl) must outlive it.
asio::awaitable<evaluation> evaluate(from_domain from, spf_input spf, std::vector<dkim_input> dkim,
                                     dns::resolver& r, options o = {});
// The same on an in-memory zone (tests, CLI --zone).
evaluation evaluate(const from_domain& from, const spf_input& spf,
                    const std::vector<dkim_input>& dkim, const dns::memory_zone& zone,
                    options o = {});

// Discovery alone (used by evaluate, reports and `mxguard dmarc` tooling).
asio::awaitable<policy_discovery> discover(std::string from_domain, dns::resolver& r,
                                           options o = {});
policy_discovery discover(const std::string& from_domain, const dns::memory_zone& zone,
                          options o = {});

// Identifier alignment (RFC 9989 3.2.10, 4.4): strict = `a` and `b` equal, relaxed =
// their Organizational Domains `a_org` and `b_org` equal; case-insensitive (RFC 4343).
bool aligned(const std::string& a_org, const std::string& b_org, const std::string& a,
             const std::string& b, alignment_mode mode);

// One RFC 8601 resinfo (RFC 8601 2.2, 2.7; RFC 9989 9.1, 9.2):
//   dmarc=fail (p=reject sp=none t=y) header.from=example.com policy.dmarc=quarantine
// The comment carries the published p/sp (np when published, t=y when set) or, for
// permerror/temperror, the reason; header.from when a domain was found; policy.dmarc (the
// policy after t=y, RFC 9989 9.1) on fail.
std::string authres_entry(const evaluation& e);

// The Tree Walk's query names for `domain` (RFC 9989 4.10 steps 3-7), without "_dmarc.":
// the domain itself, then (from 8 labels on) its last 7 labels, then each parent down to
// one label. At most kTreeWalkQueriesMax names.
std::vector<std::string> tree_walk_names(const std::string& domain);

}  // namespace mxg::dmarc
