// tag_list.hpp: DKIM tag=value lists (RFC 6376 3.2), shared by DKIM-Signature fields,
// key records (3.6.1) and, later, ARC-Seal / ARC-Message-Signature (RFC 8617 4.1).
//   tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
//   tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//   tag-name = ALPHA *(ALPHA / DIGIT / "_");  tag-value = [ tval *( 1*(WSP / FWS) tval ) ]
//   tval = 1*VALCHAR; VALCHAR = %x21-3A / %x3C-7E
// Tag names are case-sensitive; a duplicate name makes the whole list invalid (3.2).
// Deviation, on purpose: bytes >= 0x80 are accepted in values (RFC 8616 lets UTF-8 into
// i= and z=); controls other than FWS are not.
// Security: the input is a peer's header field or a DNS answer. The parser is a single
// pass over views; the number of tags is capped (kTagsMax) and it never throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::dkim {

inline constexpr std::size_t kTagsMax = 64;  // our cap: DKIM-Signature has 14 defined tags

struct tag {
  std::string_view name;
  std::string_view value;     // without the FWS around it (inner FWS kept)
  std::size_t raw_begin = 0;  // offset just after '=' in the input
  std::size_t raw_end = 0;    // offset of the ';' ending the tag (or of the input end)
};

struct tag_list {
  std::vector<tag> tags;  // in input order
  const tag* find(std::string_view name) const;
};

// Parses `text` (views point into it). Errors name the offset and the problem.
mxg::result<tag_list> parse_tag_list(std::string_view text);

// The value with every FWS byte (SP, HTAB, CR, LF) removed: base64 values (b=, bh=, p=).
std::string strip_fws(std::string_view v);

// Splits a colon-separated list (h=, q=, key h=, s=, t=), each element trimmed of FWS.
std::vector<std::string_view> split_colon(std::string_view v);

}  // namespace mxg::dkim
