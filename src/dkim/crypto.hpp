// crypto.hpp: the OpenSSL 3 side of DKIM: digests (SHA-256, SHA-1), public keys from key
// records (RSA SubjectPublicKeyInfo DER, with a fallback to a bare PKCS#1 RSAPublicKey;
// Ed25519 from its raw 32 bytes, RFC 8463 4.2) and signature checks (RSASSA-PKCS1-v1_5,
// RFC 6376 3.3.1, through EVP; Ed25519 over the SHA-256 digest, RFC 8463 3, through
// libsodium, which measured faster than OpenSSL 3.0 here).
// Security: key bytes come from DNS. RSA keys over kRsaBitsMax are refused before any
// modular arithmetic (a huge key would cost CPU per message).
// load_key() keeps decoded keys in a bounded process-wide cache keyed by the exact key
// bytes (crypto.cpp, kKeyCacheEntries), so a cached key is what those bytes decode to.
#pragma once

#include <cstddef>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "dkim/key_record.hpp"
#include "dkim/types.hpp"

struct evp_pkey_st;
struct evp_md_ctx_st;

namespace mxg::dkim {

inline constexpr int kRsaBitsMin = 1024;  // RFC 8301 3.2: smaller keys MUST NOT be accepted
inline constexpr int kRsaBitsMax = 8192;  // our cap (RFC 8301 3.2: verifiers SHOULD do 4096)

class public_key {
 public:
  public_key() = default;
  key_type type() const { return type_; }
  int bits() const { return bits_; }
  evp_pkey_st* get() const { return key_.get(); }  // RSA keys (null for ed25519)
  const std::string& raw() const { return raw_; }  // ed25519: the 32 key bytes

 private:
  friend std::expected<public_key, problem> load_key(const key_record& k);
  struct deleter {
    void operator()(evp_pkey_st* p) const;
  };
  std::unique_ptr<evp_pkey_st, deleter> key_;
  std::string raw_;
  key_type type_ = key_type::rsa;
  int bits_ = 0;
};

// Builds the OpenSSL key of a record. A key that does not decode is a permerror.
std::expected<public_key, problem> load_key(const key_record& k);

// Checks `sig` over `digest` (the hash of the canonicalized header, RFC 6376 3.7).
// Returns "" when it verifies, otherwise why not.
std::string verify_digest(const public_key& key, algorithm a, std::string_view digest,
                          std::string_view sig);

// An incremental digest (EVP_MD_CTX).
class hasher {
 public:
  explicit hasher(hash_alg h);
  hasher(hasher&&) noexcept;
  hasher& operator=(hasher&&) noexcept;
  ~hasher();
  void update(std::string_view data);
  std::string final();  // the raw digest bytes; the hasher is then spent

 private:
  evp_md_ctx_st* ctx_ = nullptr;
};

}  // namespace mxg::dkim
