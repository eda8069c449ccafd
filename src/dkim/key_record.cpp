// key_record.cpp: RFC 6376 3.6.1, 6.1.2; RFC 8463 4.2. See key_record.hpp.
#include "dkim/key_record.hpp"

#include <fmt/format.h>

#include "base/ascii.hpp"
#include "dkim/tag_list.hpp"

namespace mxg::dkim {

namespace {
std::unexpected<problem> perm(std::string why) {
  return std::unexpected<problem>(problem{result::permerror, std::move(why)});
}
}  // namespace

std::expected<key_record, problem> parse_key_record(std::string_view txt) {
  if (txt.size() > kKeyRecordMax)
    return perm(fmt::format("public key record longer than {} bytes", kKeyRecordMax));
  auto tl = parse_tag_list(txt);
  if (!tl) return perm("public key record syntax: " + tl.error().message);
  const tag_list& t = *tl;
  key_record k;
  if (auto* v = t.find("v")) {
    if (&t.tags.front() != v)
      return perm("public key record: v= must be the first tag (RFC 6376 3.6.1)");
    if (v->value != "DKIM1")
      return perm(
          fmt::format("public key record has unsupported version v={} (RFC 6376 "
                      "3.6.1 knows DKIM1)",
                      v->value));
  }
  if (auto* h = t.find("h")) {
    k.sha1_ok = k.sha256_ok = false;
    for (auto a : split_colon(h->value)) {  // unknown hash names are ignored (3.6.1)
      if (ascii::iequals(a, "sha1")) k.sha1_ok = true;
      if (ascii::iequals(a, "sha256")) k.sha256_ok = true;
    }
  }
  if (auto* kt = t.find("k")) {
    if (ascii::iequals(kt->value, "rsa")) {
      k.type = key_type::rsa;
    } else if (ascii::iequals(kt->value, "ed25519")) {
      k.type = key_type::ed25519;
    } else {
      return perm(
          fmt::format("public key record has unsupported key type k={} (RFC 6376 "
                      "3.6.1, RFC 8463 4.2)",
                      kt->value));
    }
  }
  if (auto* s = t.find("s")) {
    bool email = false;
    for (auto st : split_colon(s->value))
      if (st == "*" || ascii::iequals(st, "email")) email = true;
    if (!email)
      return perm(
          fmt::format("public key record is not for email: s={} (RFC 6376 3.6.1)", s->value));
  }
  if (auto* fl = t.find("t")) {
    for (auto f : split_colon(fl->value)) {  // unknown flags are ignored (3.6.1)
      if (ascii::iequals(f, "y")) k.testing = true;
      if (ascii::iequals(f, "s")) k.strict_identity = true;
    }
  }
  auto* p = t.find("p");
  if (!p) return perm("public key record has no p= tag (RFC 6376 3.6.1)");
  if (strip_fws(p->value).empty()) return perm("public key revoked (empty p=, RFC 6376 3.6.1)");
  auto key = decode_base64(p->value);
  if (!key) return perm("public key p= is not valid base64 (RFC 6376 3.6.1)");
  if (k.type == key_type::ed25519 && key->size() != 32)
    return perm(fmt::format("public key: an ed25519 key is 32 bytes, p= has {} (RFC 8463 4.2)",
                            key->size()));
  k.key = std::move(*key);
  return k;
}

std::optional<problem> check_key_for(const key_record& k, const signature& s) {
  if (k.type != key_type_of(s.alg))
    return problem{result::permerror,
                   fmt::format("public key type k={} does not match a={} (RFC 6376 6.1.2)",
                               k.type == key_type::rsa ? "rsa" : "ed25519", s.algorithm_text)};
  bool ok = hash_of(s.alg) == hash_alg::sha1 ? k.sha1_ok : k.sha256_ok;
  if (!ok)
    return problem{result::permerror,
                   fmt::format("public key h= does not allow the hash of a={} (RFC 6376 3.6.1)",
                               s.algorithm_text)};
  if (k.strict_identity) {
    auto at = s.identity.rfind('@');
    std::string_view host =
        std::string_view(s.identity).substr(at == std::string::npos ? 0 : at + 1);
    if (!ascii::iequals(host, s.domain))
      return problem{result::permerror,
                     fmt::format("public key has t=s: i= domain {} must equal d={} (RFC 6376 "
                                 "3.6.1)",
                                 host, s.domain)};
  }
  return std::nullopt;
}

}  // namespace mxg::dkim
