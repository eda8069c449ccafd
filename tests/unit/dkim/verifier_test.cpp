// verifier_test.cpp: whole-message verification with keys generated here (OpenSSL) and
// published in an in-memory zone: h= over-signing (RFC 6376 5.4.2, 8.15), x= with an
// injected clock (3.5), l= (3.5, 8.2), RFC 8301 refusals with their reasons, DNS outcomes
// (6.1.2: temperror / permerror), the signature cap, the header cap, and the async path.
// The test signer below is written from RFC 6376 3.7 (hash of the selected fields,
// bottom-up, then the DKIM-Signature field with an empty b=); canonicalization itself is
// checked against RFC 6376 3.4.5 in canon_test.cpp and by the conformance corpora.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <map>

#include "dkim/canon.hpp"
#include "dkim/verifier.hpp"
#include "dns/memory_zone.hpp"
#include "mail/header.hpp"

namespace {

using namespace mxg;
using namespace mxg::dkim;

std::string b64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

struct test_key {
  std::shared_ptr<EVP_PKEY> pkey;
  std::string record;  // the TXT record
  bool ed = false;
};

test_key make_ed25519() {
  test_key k;
  k.ed = true;
  k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  unsigned char pub[32];
  std::size_t n = sizeof pub;
  EVP_PKEY_get_raw_public_key(k.pkey.get(), pub, &n);
  k.record = "v=DKIM1; k=ed25519; p=" + b64(std::string(reinterpret_cast<char*>(pub), n));
  return k;
}

test_key make_rsa(int bits) {
  test_key k;
  k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)),
               EVP_PKEY_free);
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(k.pkey.get(), &der);
  k.record = "v=DKIM1; k=rsa; p=" +
             b64(std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(n)));
  OPENSSL_free(der);
  return k;
}

std::string sign_digest(const test_key& k, std::string_view digest, bool sha1) {
  std::string sig(1024, '\0');
  std::size_t n = sig.size();
  auto* d = reinterpret_cast<const unsigned char*>(digest.data());
  auto* s = reinterpret_cast<unsigned char*>(sig.data());
  if (k.ed) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, k.pkey.get());
    EVP_DigestSign(ctx, s, &n, d, digest.size());
    EVP_MD_CTX_free(ctx);
  } else {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(k.pkey.get(), nullptr);
    EVP_PKEY_sign_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(ctx, sha1 ? EVP_sha1() : EVP_sha256());
    EVP_PKEY_sign(ctx, s, &n, d, digest.size());
    EVP_PKEY_CTX_free(ctx);
  }
  sig.resize(n);
  return sig;
}

const std::string kHeader =
    "From: Joe <joe@example.com>\r\nTo: Suzie <suzie@example.net>\r\nSubject: dinner\r\n";
const std::string kBody = "Hi.\r\n\r\nWe lost the game.\r\n";

// Signs header+body (relaxed/relaxed) and returns the whole message with the new field on top.
std::string sign(const test_key& k, const std::string& header, const std::string& body,
                 const std::string& h, const std::string& extra = "", const char* alg = nullptr,
                 const std::string& selector = "sel") {
  bool sha1 = alg && std::string(alg) == "rsa-sha1";
  std::string a = alg ? alg : (k.ed ? "ed25519-sha256" : "rsa-sha256");
  std::optional<std::uint64_t> l;
  if (auto p = extra.find("l="); p != std::string::npos) l = std::stoull(extra.substr(p + 2));
  body_hasher bh(canon::relaxed, sha1 ? hash_alg::sha1 : hash_alg::sha256, l);
  bh.update(body);
  std::string value = " v=1; a=" + a + "; c=relaxed/relaxed; d=example.com; s=" + selector +
                      "; h=" + h + extra + "; bh=" + b64(bh.finish()) + "; b=";
  auto hb = mail::read_header(header);
  std::map<std::string, int> used;
  std::string input;
  std::size_t start = 0;
  while (start <= h.size()) {  // h= names, bottom-up instance per repeat (5.4.2)
    std::size_t c = h.find(':', start);
    std::string name = h.substr(start, c == std::string::npos ? std::string::npos : c - start);
    start = c == std::string::npos ? h.size() + 1 : c + 1;
    int seen = 0;
    for (auto it = hb.fields.rbegin(); it != hb.fields.rend(); ++it) {
      if (!mail::name_is(*it, name)) continue;
      if (seen++ == used[name]) {
        canon_header(canon::relaxed, it->raw, it->name, it->value, input);
        break;
      }
    }
    ++used[name];
  }
  canon_header(canon::relaxed, "", "DKIM-Signature", value, input, false);
  hasher hh(sha1 ? hash_alg::sha1 : hash_alg::sha256);
  hh.update(input);
  std::string sig = sign_digest(k, hh.final(), sha1);
  return "DKIM-Signature:" + value + b64(sig) + "\r\n" + header + "\r\n" + body;
}

dns::record txt(const std::string& name, const std::string& text) {
  dns::record r;
  r.type = dns::rrtype::txt;
  r.name = name;
  r.strings.push_back(text);
  return r;
}

dns::memory_zone zone_with(const test_key& k) {
  dns::memory_zone z;
  z.add(txt("sel._domainkey.example.com", k.record));
  return z;
}

constexpr std::int64_t kNow = 1'700'000'000;
options at_now(std::int64_t t = kNow) {
  options o;
  o.clock = [t] { return t; };
  return o;
}

TEST(Verifier, PassEd25519AndRsa) {
  for (const auto& k : {make_ed25519(), make_rsa(2048)}) {
    auto rs = verify(sign(k, kHeader, kBody, "from:to:subject"), zone_with(k), at_now());
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].res, result::pass) << rs[0].reason;
    EXPECT_EQ(rs[0].domain, "example.com");
    EXPECT_EQ(rs[0].selector, "sel");
  }
}

TEST(Verifier, AlteredBodyAndHeaderFail) {
  auto k = make_ed25519();
  std::string m = sign(k, kHeader, kBody, "from:to:subject");
  std::string body_changed = m;
  body_changed.replace(body_changed.find("lost"), 4, "won!");
  auto rs = verify(body_changed, zone_with(k), at_now());
  EXPECT_EQ(rs[0].res, result::fail);
  EXPECT_NE(rs[0].reason.find("body hash"), std::string::npos);
  std::string subj_changed = m;
  subj_changed.replace(subj_changed.find("dinner"), 6, "lunch!");
  rs = verify(subj_changed, zone_with(k), at_now());
  EXPECT_EQ(rs[0].res, result::fail);
  EXPECT_NE(rs[0].reason.find("does not verify"), std::string::npos);
}

TEST(Verifier, OverSigningForbidsAnAddedField) {
  auto k = make_ed25519();
  const std::string added = "From: Mallory <m@evil.example>\r\n";
  // Signed once: a From added above the signed one is not selected (bottom-up), still pass:
  // the attack RFC 6376 8.15 describes.
  std::string once = sign(k, kHeader, kBody, "from:to:subject");
  std::string once_added =
      once.substr(0, once.find("From:")) + added + once.substr(once.find("From:"));
  auto rs = verify(once_added, zone_with(k), at_now());
  EXPECT_EQ(rs[0].res, result::pass) << rs[0].reason;
  // Over-signed (from listed twice, one instance present): the added one is selected -> fail.
  std::string twice = sign(k, kHeader, kBody, "from:from:to:subject");
  rs = verify(twice, zone_with(k), at_now());
  EXPECT_EQ(rs[0].res, result::pass) << rs[0].reason;
  std::string twice_added =
      twice.substr(0, twice.find("From:")) + added + twice.substr(twice.find("From:"));
  rs = verify(twice_added, zone_with(k), at_now());
  EXPECT_EQ(rs[0].res, result::fail) << rs[0].reason;
}

TEST(Verifier, ExpirationWithInjectedClock) {
  auto k = make_ed25519();
  std::string m = sign(k, kHeader, kBody, "from",
                       "; t=" + std::to_string(kNow - 100) + "; x=" + std::to_string(kNow + 100));
  EXPECT_EQ(verify(m, zone_with(k), at_now(kNow + 100))[0].res, result::pass);
  auto late = verify(m, zone_with(k), at_now(kNow + 101));
  EXPECT_EQ(late[0].res, result::permerror);
  EXPECT_NE(late[0].reason.find("expired"), std::string::npos);
}

TEST(Verifier, BodyLengthTag) {
  auto k = make_ed25519();
  std::string m = sign(k, kHeader, kBody, "from", "; l=" + std::to_string(kBody.size()));
  auto rs = verify(m + "appended by a list\r\n", zone_with(k), at_now());
  EXPECT_EQ(rs[0].res, result::pass) << rs[0].reason;  // l= lets appended text pass (8.2)
  std::string longer = sign(k, kHeader, kBody, "from", "; l=1000");
  rs = verify(longer, zone_with(k), at_now());
  EXPECT_EQ(rs[0].res, result::fail);
  EXPECT_NE(rs[0].reason.find("beyond"), std::string::npos);
}

TEST(Verifier, Rfc8301Refusals) {
  auto small = make_rsa(512);
  auto rs = verify(sign(small, kHeader, kBody, "from"), zone_with(small), at_now());
  EXPECT_EQ(rs[0].res, result::fail);
  EXPECT_NE(rs[0].reason.find("RFC 8301 3.2"), std::string::npos) << rs[0].reason;
  EXPECT_NE(rs[0].reason.find("itself verifies"), std::string::npos) << rs[0].reason;
  EXPECT_EQ(rs[0].key_bits, 512);
  auto k = make_rsa(1024);
  rs = verify(sign(k, kHeader, kBody, "from", "", "rsa-sha1"), zone_with(k), at_now());
  EXPECT_EQ(rs[0].res, result::fail);
  EXPECT_NE(rs[0].reason.find("RFC 8301 3.1"), std::string::npos) << rs[0].reason;
  options legacy = at_now();
  legacy.rfc8301 = false;
  rs = verify(sign(k, kHeader, kBody, "from", "", "rsa-sha1"), zone_with(k), legacy);
  EXPECT_EQ(rs[0].res, result::pass) << rs[0].reason;
  rs = verify(sign(k, kHeader, kBody, "from"), zone_with(k), at_now());
  EXPECT_EQ(rs[0].res, result::pass) << rs[0].reason;  // 1024 bits is the floor, accepted
}

TEST(Verifier, DnsOutcomes) {
  auto k = make_ed25519();
  std::string m = sign(k, kHeader, kBody, "from");
  dns::memory_zone none;
  auto rs = verify(m, none, at_now());
  EXPECT_EQ(rs[0].res, result::permerror);
  EXPECT_NE(rs[0].reason.find("no public key"), std::string::npos);
  dns::memory_zone slow;
  slow.add_timeout("sel._domainkey.example.com");
  rs = verify(m, slow, at_now());
  EXPECT_EQ(rs[0].res, result::temperror);
  dns::memory_zone revoked;
  revoked.add(txt("sel._domainkey.example.com", "v=DKIM1; k=ed25519; p="));
  rs = verify(m, revoked, at_now());
  EXPECT_EQ(rs[0].res, result::permerror);
  EXPECT_NE(rs[0].reason.find("revoked"), std::string::npos);
  dns::memory_zone testing;
  testing.add(txt("sel._domainkey.example.com", k.record + "; t=y"));
  rs = verify(m, testing, at_now());
  EXPECT_EQ(rs[0].res, result::pass);
  EXPECT_TRUE(rs[0].testing);
}

TEST(Verifier, SignatureCapGivesPolicy) {
  auto k = make_ed25519();
  std::string m = sign(k, kHeader, kBody, "from");
  std::string sigline = m.substr(0, m.find("From:"));
  std::string many;
  for (int i = 0; i < 11; ++i) many += sigline;
  auto rs = verify(many + m.substr(m.find("From:")), zone_with(k), at_now());
  ASSERT_EQ(rs.size(), 11u);
  for (std::size_t i = 0; i < kSignaturesMax; ++i) EXPECT_EQ(rs[i].res, result::pass) << i;
  EXPECT_EQ(rs[10].res, result::policy);
  EXPECT_EQ(rs[10].index, 10u);
}

TEST(Verifier, HeaderCapGivesPolicy) {
  auto k = make_ed25519();
  options o = at_now();
  o.max_header_bytes = 64;
  auto rs = verify(sign(k, kHeader, kBody, "from"), zone_with(k), o);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].res, result::policy);
}

TEST(Verifier, FieldCapGivesPolicy) {
  // Fields past the reader's cap could hide the bottom-most instance of a signed name.
  auto k = make_ed25519();
  std::string m = sign(k, kHeader, kBody, "from");
  std::string junk;
  for (std::size_t i = 0; i < mxg::mail::kHeaderFieldsMax; ++i) junk += "X:1\r\n";
  std::size_t body = m.find("\r\n\r\n") + 2;
  auto rs = verify(m.substr(0, body) + junk + m.substr(body), zone_with(k), at_now());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].res, result::policy);
  EXPECT_NE(rs[0].reason.find("header fields"), std::string::npos);
}

TEST(Verifier, StreamedLfMessageThroughTheAsyncResolver) {
  auto k = make_rsa(2048);
  std::string m = sign(k, kHeader, kBody, "from:to:subject");
  std::string lf;
  for (std::size_t i = 0; i < m.size(); ++i)
    if (!(m[i] == '\r' && i + 1 < m.size() && m[i + 1] == '\n')) lf += m[i];
  auto zone = zone_with(k);
  asio::io_context io;
  std::vector<signature_result> rs;
  verifier v(at_now());
  for (std::size_t i = 0; i < lf.size(); i += 7) v.feed(std::string_view(lf).substr(i, 7));
  asio::co_spawn(io, v.finish(zone), [&](std::exception_ptr e, std::vector<signature_result> r) {
    if (e) std::rethrow_exception(e);
    rs = std::move(r);
  });
  io.run();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].res, result::pass) << rs[0].reason;
  EXPECT_EQ(v.header().fields.size(), 4u);  // DMARC can read From from here
}

// A decorator over the in-memory zone that counts the queries in flight. Each query
// yields to the event loop `delay[name]` times before it answers (no timer, no clock), so
// on one thread a query started later can answer first. The answers are the zone's.
class inflight_counter : public dns::resolver {
 public:
  inflight_counter(dns::resolver& inner, std::map<std::string, int> delay)
      : inner_(inner), delay_(std::move(delay)) {}
  asio::awaitable<dns::answer> query(std::string name, dns::rrtype type) override {
    ++in_flight;
    max_in_flight = std::max(max_in_flight, in_flight);
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < delay_[name]; ++i) co_await asio::post(ex, asio::use_awaitable);
    answered.push_back(name);
    --in_flight;
    co_return co_await inner_.query(std::move(name), type);
  }
  int in_flight = 0;
  int max_in_flight = 0;
  std::vector<std::string> answered;

 private:
  dns::resolver& inner_;
  std::map<std::string, int> delay_;
};

TEST(Verifier, KeyLookupsRunConcurrentlyAndResultsKeepHeaderOrder) {
  // Three signatures, three selectors: s1 (ed25519) signed first, so it is the bottom
  // field; s2 (RSA) above it; s3 on top, with no key published (RFC 6376 6.1.2: permerror).
  auto ed = make_ed25519();
  auto rsa = make_rsa(2048);
  auto split = [](const std::string& m) {
    std::size_t e = m.find("\r\n\r\n");
    return m.substr(0, e + 2);
  };
  std::string m1 = sign(ed, kHeader, kBody, "from:to:subject", "", nullptr, "s1");
  std::string m2 = sign(rsa, split(m1), kBody, "from:to:subject", "", nullptr, "s2");
  std::string m3 = sign(rsa, split(m2), kBody, "from:to:subject", "", nullptr, "s3");
  dns::memory_zone zone;
  zone.add(txt("s1._domainkey.example.com", ed.record));
  zone.add(txt("s2._domainkey.example.com", rsa.record));
  // Every query yields at least once; the top signature's answers first, the bottom one's last.
  inflight_counter counter(zone, {{"s1._domainkey.example.com", 6},
                                  {"s2._domainkey.example.com", 3},
                                  {"s3._domainkey.example.com", 1}});
  asio::io_context io;
  std::vector<signature_result> rs;
  verifier v(at_now());
  v.feed(m3);
  asio::co_spawn(io, v.finish(counter), [&](std::exception_ptr e, std::vector<signature_result> r) {
    if (e) std::rethrow_exception(e);
    rs = std::move(r);
  });
  io.run();
  EXPECT_EQ(counter.max_in_flight, 3);  // all three were asked before any answered
  ASSERT_EQ(counter.answered.size(), 3u);
  EXPECT_EQ(counter.answered.front(), "s3._domainkey.example.com");
  EXPECT_EQ(counter.answered.back(), "s1._domainkey.example.com");
  // Header order, topmost first, whatever order the answers came in.
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].index, 0u);
  EXPECT_EQ(rs[0].selector, "s3");
  EXPECT_EQ(rs[0].res, result::permerror) << rs[0].reason;
  EXPECT_EQ(rs[1].selector, "s2");
  EXPECT_EQ(rs[1].res, result::pass) << rs[1].reason;
  EXPECT_EQ(rs[2].selector, "s1");
  EXPECT_EQ(rs[2].res, result::pass) << rs[2].reason;
  // The same answers through finish(keys) give the same results.
  auto direct = verify(m3, zone, at_now());
  ASSERT_EQ(direct.size(), rs.size());
  for (std::size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(direct[i].res, rs[i].res);
    EXPECT_EQ(direct[i].reason, rs[i].reason);
  }
}

TEST(Verifier, AuthenticationResultsEntry) {
  signature_result r;
  r.res = result::fail;
  r.reason = "body hash (altered)";
  r.domain = "example.com";
  r.identity = "@example.com";
  r.selector = "sel";
  r.algorithm = "rsa-sha256";
  r.b = "abc/def+ghij";
  EXPECT_EQ(authres_entry(r),
            "dkim=fail (body hash \\(altered\\)) header.d=example.com header.i=@example.com "
            "header.s=sel header.a=rsa-sha256 header.b=\"abc/def+\"");
}

}  // namespace
