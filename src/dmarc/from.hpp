// from.hpp: the RFC5322.From domain DMARC evaluates (RFC 9989 4.4, 4.6; RFC 5322 3.6.2).
// Edge cases, decided from the RFC and documented in docs/auth.md:
//   no From field                    -> permerror ("no From")
//   several From fields              -> permerror (RFC 5322 3.6 allows one; RFC 9989
//                                       4.4 and 5.3.1: no reliable policy: we refuse to guess)
//   group with no address ("x:;"), domain literal ([1.2.3.4]) -> permerror (no domain)
//   several addresses, one domain    -> that domain
//   several addresses, several domains -> permerror (RFC 9989 5.3.1 lets a receiver go
//                                       on anyway: we do not, 11.5 explains the abuse)
//   group syntax, comments, quoted local parts, obsolete syntax: parsed, not guessed
//   non-ASCII (U-label) domains      -> converted to the A-label (IDNA 2008, libidn2) and
//                                       lower-cased, so they compare with DNS names
// Security: the input is peer data; the field is capped (mail::kHeaderLineMax is not a
// limit here, the unfolded value is capped at kFromMax).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/header.hpp"

namespace mxg::dmarc {

inline constexpr std::size_t kFromMax = 16 * 1024;

struct from_domain {
  bool ok = false;
  std::string domain;  // A-label, lower case, no final dot (when ok)
  std::string error;   // why not (when !ok): "no From", "several From fields", ...
};

from_domain extract_from_domain(const mail::header_block& h);

// The domains of the addresses in one From field value (unfolded or not), in order, as
// written (not yet converted); errors say where the syntax broke. Exposed for tests.
mxg::result<std::vector<std::string>> parse_from_domains(std::string_view value);

// A domain as DMARC compares it (RFC 9989 4.4, 5.3.1): U-labels converted to A-labels
// (IDNA 2008 lookup, RFC 5890 2.3, libidn2), ASCII lower-cased (RFC 4343), no final dot;
// then checked: labels of 1..63 octets of letters, digits, '-' and '_', 253 octets in
// all, at least one label. errc::invalid_argument says why not.
mxg::result<std::string> to_a_label(std::string_view domain);

}  // namespace mxg::dmarc
