// crypto.cpp: see crypto.hpp. RFC 6376 3.3 (rsa-sha256 / rsa-sha1 with PKCS#1 v1.5),
// RFC 8301 3.2 (key sizes), RFC 8463 3 and 4.2 (ed25519-sha256: PureEdDSA over the
// SHA-256 digest; the key record holds the bare 32-byte public key).
// Ed25519 is verified by libsodium (crypto_sign_verify_detached), RSA and the digests by
// OpenSSL 3: OpenSSL 3.0's Ed25519 verification fetches SHA-512 through its provider
// framework on every call and measured ~1.3x slower per verification here
// (docs/benchmarks.md, "DKIM verification against peers").
#include "dkim/crypto.hpp"

#include <sodium.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "base/result.hpp"

namespace mxg::dkim {

namespace {
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}
std::unexpected<problem> perm(std::string why) {
  return std::unexpected<problem>(problem{result::permerror, std::move(why)});
}

// The digests, fetched once (OpenSSL 3: EVP_sha256() with EVP_DigestInit_ex fetches the
// implementation again on every call, under a lock). Kept for the life of the process.
const EVP_MD* md_of(hash_alg h) {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  static const EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  const EVP_MD* md = h == hash_alg::sha1 ? sha1 : sha256;
  MXG_ASSERT(md != nullptr);
  return md;
}

// Decoded keys by (type, key bytes): decoding an RSA SubjectPublicKeyInfo through
// OpenSSL 3's decoder framework costs more than the RSA verification itself, and a
// gateway sees the same few keys again and again. The entry is the key bytes
// themselves, so a cached key is exactly what those bytes decode to (nothing from DNS
// can change what an entry means). Bounded: kKeyCacheEntries, then emptied.
// Thread-safe (a mutex); an EVP_PKEY is shared read-only, one reference per user.
inline constexpr std::size_t kKeyCacheEntries = 256;

struct key_cache {
  std::mutex mu;
  std::unordered_map<std::string, EVP_PKEY*> keys;
};

// Never destroyed: freeing keys from a static destructor could run after OpenSSL's own
// atexit cleanup. The keys stay reachable through this pointer until the process ends.
key_cache& cache() {
  static key_cache* const c = new key_cache;
  return *c;
}

std::string cache_key(const key_record& k) {
  return std::string(k.type == key_type::ed25519 ? "e:" : "r:") + k.key;
}

EVP_PKEY* cached(const key_record& k) {
  auto& c = cache();
  std::lock_guard lock(c.mu);
  auto it = c.keys.find(cache_key(k));
  if (it == c.keys.end()) return nullptr;
  EVP_PKEY_up_ref(it->second);
  return it->second;
}

void remember(const key_record& k, EVP_PKEY* p) {
  auto& c = cache();
  std::lock_guard lock(c.mu);
  if (c.keys.size() >= kKeyCacheEntries) {
    for (auto& [name, q] : c.keys) EVP_PKEY_free(q);
    c.keys.clear();
  }
  if (c.keys.emplace(cache_key(k), p).second) EVP_PKEY_up_ref(p);
}
}  // namespace

void public_key::deleter::operator()(evp_pkey_st* p) const {
  EVP_PKEY_free(p);
}

std::expected<public_key, problem> load_key(const key_record& k) {
  public_key out;
  out.type_ = k.type;
  const auto* data = reinterpret_cast<const unsigned char*>(k.key.data());
  if (k.type != key_type::ed25519) {
    if (EVP_PKEY* p = cached(k)) {  // decoded and checked before (only good keys are kept)
      out.key_.reset(p);
      out.bits_ = EVP_PKEY_get_bits(p);
      return out;
    }
  }
  if (k.type == key_type::ed25519) {
    // RFC 8463 4.2: p= is the bare 32-byte public key. Nothing is decoded here (libsodium
    // decodes the point in each verification), so nothing is cached either.
    if (k.key.size() != crypto_sign_PUBLICKEYBYTES)
      return perm(fmt::format("public key: not a valid ed25519 key: {} bytes, not {}", k.key.size(),
                              crypto_sign_PUBLICKEYBYTES));
    out.raw_ = k.key;
    out.bits_ = 256;
    return out;
  }
  const unsigned char* q = data;
  EVP_PKEY* p = d2i_PUBKEY(nullptr, &q, static_cast<long>(k.key.size()));
  if (p && q != data + k.key.size()) {  // trailing bytes after the DER
    EVP_PKEY_free(p);
    p = nullptr;
  }
  if (!p) {
    // Some signers publish a bare PKCS#1 RSAPublicKey instead of SubjectPublicKeyInfo.
    ERR_clear_error();
    q = data;
    p = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &q, static_cast<long>(k.key.size()));
    if (p && q != data + k.key.size()) {
      EVP_PKEY_free(p);
      p = nullptr;
    }
  }
  if (!p)
    return perm("public key: p= is not an RSA key (SubjectPublicKeyInfo DER): " + openssl_error());
  out.key_.reset(p);
  if (EVP_PKEY_get_base_id(p) != EVP_PKEY_RSA)
    return perm("public key: k=rsa but p= holds another key type");
  out.bits_ = EVP_PKEY_get_bits(p);
  if (out.bits_ > kRsaBitsMax)
    return perm(fmt::format("public key: {}-bit RSA key is larger than our limit of {} bits",
                            out.bits_, kRsaBitsMax));
  remember(k, p);
  return out;
}

std::string verify_digest(const public_key& key, algorithm a, std::string_view digest,
                          std::string_view sig) {
  const auto* s = reinterpret_cast<const unsigned char*>(sig.data());
  const auto* d = reinterpret_cast<const unsigned char*>(digest.data());
  if (a == algorithm::ed25519_sha256) {
    // RFC 8463 3: PureEdDSA (RFC 8032 5.1.7) over the SHA-256 digest. libsodium also
    // refuses non-canonical encodings and small-order points (a key no honest signer has).
    if (key.type() != key_type::ed25519 || key.raw().size() != crypto_sign_PUBLICKEYBYTES)
      return "ed25519 signature with a key that is not ed25519";
    if (sig.size() != crypto_sign_BYTES) return "ed25519 signature does not verify";
    static const bool ready = sodium_init() >= 0;
    if (!ready) return "ed25519 verify init: libsodium could not start";
    const auto* pk = reinterpret_cast<const unsigned char*>(key.raw().data());
    if (crypto_sign_verify_detached(s, d, digest.size(), pk) != 0)
      return "ed25519 signature does not verify";
    return "";
  }
  if (key.get() == nullptr) return "RSA signature with a key that is not RSA";
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key.get(), nullptr);
  if (!ctx) return "out of memory";
  std::string err;
  const EVP_MD* md = md_of(a == algorithm::rsa_sha1 ? hash_alg::sha1 : hash_alg::sha256);
  if (EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
    err = "RSA verify init: " + openssl_error();
  } else if (EVP_PKEY_verify(ctx, s, sig.size(), d, digest.size()) != 1) {
    ERR_clear_error();
    err = "RSA signature does not verify";
  }
  EVP_PKEY_CTX_free(ctx);
  return err;
}

hasher::hasher(hash_alg h) : ctx_(EVP_MD_CTX_new()) {
  MXG_ASSERT(ctx_ != nullptr);
  MXG_ASSERT(EVP_DigestInit_ex(ctx_, md_of(h), nullptr) == 1);
}
hasher::hasher(hasher&& o) noexcept : ctx_(o.ctx_) {
  o.ctx_ = nullptr;
}
hasher& hasher::operator=(hasher&& o) noexcept {
  if (this != &o) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = o.ctx_;
    o.ctx_ = nullptr;
  }
  return *this;
}
hasher::~hasher() {
  EVP_MD_CTX_free(ctx_);
}
void hasher::update(std::string_view data) {
  if (!data.empty()) EVP_DigestUpdate(ctx_, data.data(), data.size());
}
std::string hasher::final() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

}  // namespace mxg::dkim
