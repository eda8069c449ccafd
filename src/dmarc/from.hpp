// from.hpp: the RFC5322.From domain DMARC evaluates (RFC 9989 4.4, 4.6; RFC 5322 3.6.2).
// Edge cases, decided from the RFC and documented in docs/auth.md:
//   no From field                    -> permerror ("no From")
//   several From fields              -> permerror (RFC 5322 3.6 allows one; RFC 9989
//                                       leaves it to the receiver: we refuse to guess)
//   several addresses, one domain    -> that domain
//   several addresses, several domains -> permerror
//   group syntax, comments, quoted local parts, obsolete syntax: parsed, not guessed
//   non-ASCII (U-label) domains      -> converted to the A-label (IDNA 2008, libidn2) and
//                                       lower-cased, so they compare with DNS names
// Security: the input is peer data; the field is capped (mail::kHeaderLineMax is not a
// limit here, the unfolded value is capped at kFromMax).
#pragma once

#include <cstddef>
#include <string>

#include "mail/header.hpp"

namespace mxg::dmarc {

inline constexpr std::size_t kFromMax = 16 * 1024;

struct from_domain {
  bool ok = false;
  std::string domain;  // A-label, lower case, no final dot (when ok)
  std::string error;   // why not (when !ok): "no From", "several From fields", ...
};

from_domain extract_from_domain(const mail::header_block& h);

}  // namespace mxg::dmarc
