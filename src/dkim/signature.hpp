// signature.hpp: one DKIM-Signature header field, parsed and validated (RFC 6376 3.5,
// 6.1.1; RFC 8301; RFC 8463). Parse fully, then act: a signature with any problem is
// never verified, and the problem says which result it gets and why.
// Security: the field is peer data. Sizes are capped (kSignatureFieldMax, kSignedHeadersMax,
// base64 lengths); numbers are parsed with overflow checks; nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/types.hpp"

namespace mxg::dkim {

inline constexpr std::size_t kSignatureFieldMax = 16 * 1024;  // our cap on one field's value
inline constexpr std::size_t kSignedHeadersMax = 256;         // our cap on h= entries
inline constexpr std::size_t kSignatureBytesMax = 1024;       // b=: 8192-bit RSA is 1024 bytes

struct problem {
  result res = result::permerror;
  std::string reason;
};

struct signature {
  // As written (for reports); lookups use the lower-case forms.
  std::string algorithm_text;  // a=
  std::string domain;          // d=, lower case
  std::string selector;        // s=, lower case
  std::string identity;        // i=, dkim-quoted-printable decoded; "@" + d= when absent
  std::string b_text;          // b= without FWS (Authentication-Results header.b, RFC 6008)

  algorithm alg = algorithm::rsa_sha256;
  canon header_canon = canon::simple;  // c= default simple/simple (3.5)
  canon body_canon = canon::simple;
  std::string b;                           // decoded signature
  std::string bh;                          // decoded body hash
  std::vector<std::string> headers;        // h=, lower case, in order
  std::optional<std::uint64_t> length;     // l=
  std::optional<std::int64_t> timestamp;   // t=
  std::optional<std::int64_t> expiration;  // x=
  // Where the b= value lies in the field value (after '=' up to ';' or the end): the
  // bytes removed before hashing the field itself (3.7).
  std::size_t b_begin = 0, b_end = 0;

  std::optional<problem> error;  // set: not verifiable, with the result it gets
};

// Parses the value of a DKIM-Signature field (the bytes after the colon, folding kept).
// Always returns a signature; what could be read is filled even when `error` is set.
// `now` (Unix seconds) judges x= (3.5: expired signatures are not valid).
// `accept_drafts`: a missing v= or v=0.5 (draft-ietf-dkim-base, before RFC 4871) is read
// as v=1; only for comparisons with older verifiers' corpora, never in production.
signature parse_signature(std::string_view value, std::int64_t now, bool accept_drafts = false);

// RFC 6376 2.11 dkim-quoted-printable decoding ("=XX"; FWS dropped). nullopt when malformed.
std::optional<std::string> decode_dkim_qp(std::string_view v);

// Strict base64 (RFC 4648 4), FWS skipped, padding checked. nullopt when malformed.
std::optional<std::string> decode_base64(std::string_view v);

}  // namespace mxg::dkim
