// types.hpp: the vocabulary of DKIM verification (RFC 6376, RFC 8301, RFC 8463) shared
// by the parsers, the verifier and their users (DMARC, ARC, Authentication-Results).
#pragma once

#include <cstdint>
#include <string_view>

namespace mxg::dkim {

// RFC 8601 2.7.1 result names, one per signature.
//   pass       the signature verified
//   fail       it did not (body hash, signature bytes, l= beyond the body), or RFC 8301
//              forbids what it used (rsa-sha1, RSA key under 1024 bits)
//   neutral    the signature asks for what this verifier does not implement
//              (unknown v=, a=, c=, q=): "not otherwise able to be processed"
//   policy     not verified because of a local limit (too many signatures, header too large)
//   temperror  the key lookup failed for now (DNS timeout, SERVFAIL)
//   permerror  the signature or its key record is broken: syntax, missing tag, i= not
//              under d=, From not signed, expired, no key, revoked key, key mismatch
enum class result : std::uint8_t { pass, fail, neutral, policy, temperror, permerror };
const char* to_string(result r);

enum class algorithm : std::uint8_t { rsa_sha256, ed25519_sha256, rsa_sha1 };
enum class key_type : std::uint8_t { rsa, ed25519 };
enum class hash_alg : std::uint8_t { sha256, sha1 };
enum class canon : std::uint8_t { simple, relaxed };

const char* to_string(algorithm a);
const char* to_string(canon c);
inline key_type key_type_of(algorithm a) {
  return a == algorithm::ed25519_sha256 ? key_type::ed25519 : key_type::rsa;
}
inline hash_alg hash_of(algorithm a) {
  return a == algorithm::rsa_sha1 ? hash_alg::sha1 : hash_alg::sha256;
}

}  // namespace mxg::dkim
