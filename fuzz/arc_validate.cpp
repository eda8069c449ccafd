// arc_validate.cpp: libFuzzer target for ARC chain validation (RFC 8617 5.2): the input
// is a message, fed to arc::validator in two chunks split at a point taken from the input
// (the split must not change the answer), finished with no keys (an empty key map, then
// NXDOMAIN for every name), so no crypto runs.
// Checks: no crash; with no key a chain can never pass; no ARC field name in the input
// means cv=none; at most 50 hops, numbered 1..N in order; oldest-pass only with pass.
// Then the input is sealed (arc::seal, RFC 8617 5.1) with a key made once per process and
// validated again with that key: a message that had no ARC field must now pass (our seal
// and our validator agree on every input), one whose chain failed must still fail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "arc/seal.hpp"
#include "arc/validate.hpp"
#include "base/ascii.hpp"

namespace {
mxg::arc::validation run(std::string_view text, std::size_t split, bool nxdomain) {
  mxg::arc::options o;
  o.clock = [] { return std::int64_t{1700000000}; };
  mxg::arc::validator v(o);
  v.feed(text.substr(0, split));
  v.feed(text.substr(split));
  std::map<std::string, mxg::dns::answer> keys;
  if (nxdomain)
    for (auto& n : v.key_names()) {
      mxg::dns::answer a;
      a.st = mxg::dns::status::nxdomain;
      keys.emplace(n, a);
    }
  return v.finish(keys);
}
struct fuzz_key {
  std::string pem, txt;
  fuzz_key() {
    EVP_PKEY* k = EVP_RSA_gen(1024);
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    pem.assign(p, static_cast<std::size_t>(n));
    BIO_free(b);
    unsigned char* der = nullptr;
    int dn = i2d_PUBKEY(k, &der);
    std::string out(4 * ((static_cast<std::size_t>(dn) + 2) / 3) + 1, '\0');
    int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), der, dn);
    out.resize(static_cast<std::size_t>(len));
    txt = "v=DKIM1; k=rsa; p=" + out;
    OPENSSL_free(der);
    EVP_PKEY_free(k);
  }
};

void seal_and_check(std::string_view text, const mxg::arc::validation& before) {
  static const fuzz_key key;
  mxg::arc::seal_options so;
  so.domain = "fuzz.example";
  so.selector = "s";
  so.private_key = key.pem;
  so.authserv_id = "mx.fuzz.example";
  so.timestamp = 1;
  auto s = mxg::arc::seal(text, before, so);
  // The key is good: sealing fails only for a header starting with WSP (see seal.cpp).
  if (!s) {
    if (text.empty() || (text[0] != ' ' && text[0] != '\t')) std::abort();
    return;
  }
  if (!*s) return;
  std::string sealed = "ARC-Seal: " + (*s)->seal + "\r\nARC-Message-Signature: " + (*s)->ams +
                       "\r\nARC-Authentication-Results: " + (*s)->aar + "\r\n";
  sealed += text;
  mxg::arc::options o;
  o.clock = [] { return std::int64_t{1700000000}; };
  mxg::arc::validator v(o);
  v.feed(sealed);
  std::map<std::string, mxg::dns::answer> keys;
  for (auto& n : v.key_names()) {
    mxg::dns::answer a;
    a.st = mxg::dns::status::nxdomain;
    if (n == "s._domainkey.fuzz.example") {
      a.st = mxg::dns::status::ok;
      mxg::dns::record r;
      r.type = mxg::dns::rrtype::txt;
      r.name = n;
      r.strings.push_back(key.txt);
      a.records.push_back(r);
    }
    keys.emplace(n, a);
  }
  auto after = v.finish(keys);
  if (before.cv == mxg::arc::chain_result::none && after.cv != mxg::arc::chain_result::pass)
    std::abort();
  if (before.cv == mxg::arc::chain_result::fail && after.cv != mxg::arc::chain_result::fail)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t split = size ? data[0] % (size + 1) : 0;
  auto a = run(text, split, false);
  auto b = run(text, size / 2, true);
  if (a.cv != b.cv) std::abort();
  if (a.cv == mxg::arc::chain_result::pass) std::abort();
  if (a.oldest_pass != 0) std::abort();
  if (a.hops.size() > static_cast<std::size_t>(mxg::arc::kInstancesMax)) std::abort();
  for (std::size_t i = 0; i < a.hops.size(); ++i)
    if (a.hops[i].instance != static_cast<int>(i + 1)) std::abort();
  if (mxg::ascii::lower(text).find("arc-") == std::string::npos &&
      a.cv != mxg::arc::chain_result::none)
    std::abort();
  (void)mxg::arc::authres_entry(a, "192.0.2.1");
  seal_and_check(text, a);
  return 0;
}
