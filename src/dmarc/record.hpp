// record.hpp: the DMARC policy record (RFC 9989 4.7, 4.8; RFC 7489 6.3 for the legacy
// tags). Parsed whole, then used: `v=DMARC1` must come first; tags are
// case-insensitive names with values as the RFC gives them; unknown tags are ignored
// (RFC 9989 4.8); pct=, rf=, ri= are read (for reports) but never change evaluation;
// an invalid value of a known tag is handled as the RFC says for that tag (it is the
// helper's job to cite the section for each choice in record.cpp).
// Security: the input is DNS data from anyone. Sizes are capped (kRecordMax); no URI
// is ever fetched.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "dmarc/types.hpp"

namespace mxg::dmarc {

inline constexpr std::size_t kRecordMax = 4096;  // our cap on a joined TXT record

enum class psd_flag : std::uint8_t { unset, yes, no };  // psd=y|n|u (RFC 9989 4.7)

struct record {
  std::optional<disposition> p;   // unset when absent or invalid (then see `effective_p`)
  std::optional<disposition> sp;  // subdomain policy
  std::optional<disposition> np;  // non-existent subdomain policy (RFC 9989 4.7)
  alignment_mode adkim = alignment_mode::relaxed;
  alignment_mode aspf = alignment_mode::relaxed;
  bool testing = false;  // t=y (RFC 9989 4.7)
  psd_flag psd = psd_flag::unset;
  std::vector<std::string> rua, ruf;  // URIs as written
  std::string fo;                     // failure reporting options as written ("" = absent)
  std::optional<int> pct;             // legacy, reports only
  std::string raw;                    // the record text as published

  // The policy that applies when p= is absent or invalid (RFC 9989 4.7: as p=none when
  // a rua= is present... the implementer cites the exact rule).
  disposition effective_p() const;
};

// Parses one TXT record. A record that does not start with v=DMARC1 is "not a DMARC
// record" (errc::not_found: discovery ignores it); a DMARC record that is broken
// otherwise gives errc::invalid with a reason.
result<record> parse_record(std::string_view txt);

}  // namespace mxg::dmarc
