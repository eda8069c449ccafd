// record.hpp: the DMARC policy record (RFC 9989 4.7, 4.8; RFC 7489 6.3 for the legacy
// tags). Parsed whole, then used: `v=DMARC1` must come first (case-sensitive value);
// tag names are case-insensitive (RFC 5234 2.3: ABNF strings are); unknown tags are
// ignored (RFC 9989 4.7, 4.8); pct=, rf=, ri= are read (pct for reports) but never
// change evaluation (RFC 9989 C.5.2); a syntax error in any other tag falls back to
// that tag's default (RFC 9989 4.8). The one exception is p=/sp=/np= with an invalid
// value: RFC 9989 4.10.1 says to act as p=none when rua= holds a valid URI and to
// apply no DMARC processing otherwise: `usable()` and `effective_p()` say which.
// record.cpp cites the section for each choice.
// Security: the input is DNS data from anyone. Sizes are capped (kRecordMax); no URI
// is ever fetched.
#pragma once

#include <cstddef>
#include <cstdint>
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
  bool p_invalid = false;         // p= present with a value that is not a dmarc-request
  bool sp_invalid = false;        // sp= present and invalid (RFC 9989 4.10.1)
  bool np_invalid = false;        // np= present and invalid (RFC 9989 4.10.1)
  bool rua_valid = false;         // rua= holds at least one syntactically valid URI
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

  // RFC 9989 4.10.1: a record whose p= is invalid, or whose sp= or np= is invalid, is
  // used as "p=none" when rua= holds a valid URI, else no DMARC processing applies to
  // the message (the caller reports result none). An absent p= is p=none (4.7).
  bool usable() const;
  // True when the record is used as if it were "v=DMARC1; p=none" (the 4.10.1 case).
  bool as_p_none() const { return (p_invalid || sp_invalid || np_invalid) && rua_valid; }
  // The p= policy that applies: p=, or none when absent (4.7) or in the 4.10.1 case.
  disposition effective_p() const;
  // The policy for an existing subdomain: sp=, else p= (4.7 "sp").
  disposition effective_sp() const;
  // The policy for a non-existent subdomain: np=, else sp=, else p= (4.7 "np").
  disposition effective_np() const;
};

// Parses one TXT record (the character-strings already joined, RFC 9989 4.5). A record
// that does not start with v=DMARC1 is "not a DMARC record" (errc::not_found: discovery
// ignores it, RFC 9989 4.7 "v"); a record over kRecordMax bytes gives
// errc::limit_exceeded. Everything else is a record: a tag with bytes outside the
// dmarc-value range or a bad value falls back to its default (RFC 9989 4.8).
mxg::result<record> parse_record(std::string_view txt);

}  // namespace mxg::dmarc
