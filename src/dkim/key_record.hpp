// key_record.hpp: DKIM public key records (RFC 6376 3.6.1; RFC 8463 4.2 for ed25519).
// Tags: v= (must be first, "DKIM1"), h= (acceptable hashes), k= (rsa | ed25519), n=
// (notes, ignored), p= (key; empty = revoked), s= (service types: * or email), t= (flags
// y = testing, s = i= must equal d= exactly). g= was removed by RFC 6376 and is ignored
// like any unknown tag. The key bytes are checked here (decoded, shape) but turned into an
// OpenSSL key only by crypto.hpp.
// Security: a DNS answer is untrusted: its length is capped (kKeyRecordMax), parsing is
// the bounded tag-list parser, nothing throws.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "dkim/signature.hpp"
#include "dkim/types.hpp"

namespace mxg::dkim {

inline constexpr std::size_t kKeyRecordMax = 8 * 1024;  // 8192-bit RSA SPKI is ~1.4 KB base64

struct key_record {
  key_type type = key_type::rsa;  // k=, default rsa
  std::string key;                // p= decoded: RSA SubjectPublicKeyInfo DER, or 32 Ed25519 bytes
  bool sha1_ok = true, sha256_ok = true;  // h=, default all
  bool testing = false;                   // t=y
  bool strict_identity = false;           // t=s
};

// Parses a key record (TXT strings already joined). A problem is always a permerror
// (RFC 6376 6.1.2: "PERMFAIL (key syntax error / key revoked / inappropriate ...)").
std::expected<key_record, problem> parse_key_record(std::string_view txt);

// Checks a parsed key against the signature that wants it (6.1.2 step 6-9; RFC 8301 3.1
// for h=). Returns the problem or nullopt.
std::optional<problem> check_key_for(const key_record& k, const signature& s);

}  // namespace mxg::dkim
