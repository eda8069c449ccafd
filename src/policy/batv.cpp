// batv.cpp: prvs= signing and verification (see batv.hpp). HMAC through OpenSSL 3.
#include "policy/batv.hpp"
#include "base/ascii.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cstdio>

namespace mxg::policy {

namespace {

constexpr std::size_t kAddressMax = 256;  // RFC 5321 4.5.3.1.3 path length

using ascii::lower;

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// Parses "prvs=KDDDSSSSSS=local@domain" (draft order) or "prvs=local=KDDDSSSSSS@domain"
// (the older order some MTAs emit). Returns tag and original address.
struct parsed {
  std::string tag, original;
};
std::optional<parsed> parse_prvs(std::string_view addr) {
  auto at = addr.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  auto local = addr.substr(0, at);
  auto domain = addr.substr(at);  // includes '@'
  if (local.size() < 5 || lower(local.substr(0, 5)) != "prvs=") return std::nullopt;
  auto rest = local.substr(5);
  auto eq = rest.find('=');
  if (eq == std::string_view::npos) return parsed{"", ""};
  auto first = rest.substr(0, eq), second = rest.substr(eq + 1);
  auto looks_like_tag = [](std::string_view t) {
    if (t.size() != 10) return false;
    for (std::size_t i = 0; i < 4; ++i)
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return false;
    for (std::size_t i = 4; i < 10; ++i)
      if (!std::isxdigit(static_cast<unsigned char>(t[i]))) return false;
    return true;
  };
  if (looks_like_tag(first))
    return parsed{std::string(first), std::string(second) + std::string(domain)};
  if (looks_like_tag(second))
    return parsed{std::string(second), std::string(first) + std::string(domain)};
  return parsed{"", ""};
}

}  // namespace

const char* to_string(batv_status s) {
  switch (s) {
    case batv_status::valid:
      return "valid";
    case batv_status::unsigned_:
      return "unsigned";
    case batv_status::malformed:
      return "malformed";
    case batv_status::expired:
      return "expired";
    case batv_status::bad_tag:
      return "bad-tag";
  }
  return "?";
}

batv::batv(batv_config cfg) : cfg_(std::move(cfg)) {
  if (cfg_.validity_days < 1) cfg_.validity_days = 1;
  if (cfg_.validity_days > 365) cfg_.validity_days = 365;  // DDD is mod 1000: stay unambiguous
}

std::string batv::tag(const std::string& secret, std::int64_t signing_day, int expiry_mod,
                      const std::string& lowered) const {
  auto day_key = hmac_sha256(secret, "mxguard-batv:" + std::to_string(signing_day));
  char kddd[8];
  std::snprintf(kddd, sizeof kddd, "%d%03d", static_cast<int>(signing_day % 10), expiry_mod);
  auto mac = hmac_sha256(day_key, std::string(kddd) + lowered);
  char out[16];
  std::snprintf(out, sizeof out, "%s%02x%02x%02x", kddd, static_cast<unsigned char>(mac[0]),
                static_cast<unsigned char>(mac[1]), static_cast<unsigned char>(mac[2]));
  return out;
}

std::string batv::sign(std::string_view address, std::int64_t day) const {
  if (address.empty() || address.size() > kAddressMax ||
      address.find('@') == std::string_view::npos)
    return std::string(address);
  if (parse_prvs(address)) return std::string(address);
  int expiry_mod = static_cast<int>((day + cfg_.validity_days) % 1000);
  return "prvs=" + tag(cfg_.secret, day, expiry_mod, lower(address)) + "=" + std::string(address);
}

batv_check batv::verify(std::string_view address, std::int64_t today) const {
  if (address.size() > kAddressMax) return {batv_status::malformed, ""};
  auto p = parse_prvs(address);
  if (!p) return {batv_status::unsigned_, std::string(address)};
  if (p->tag.empty()) return {batv_status::malformed, ""};
  int k = p->tag[0] - '0';
  int ddd = std::stoi(p->tag.substr(1, 3));
  // The expiry day E satisfies E mod 1000 == DDD and today <= E <= today + validity.
  std::int64_t expiry = -1;
  for (std::int64_t e = today; e <= today + cfg_.validity_days; ++e)
    if (e % 1000 == ddd) expiry = e;
  if (expiry < 0) return {batv_status::expired, p->original};
  std::int64_t signing_day = expiry - cfg_.validity_days;
  if (signing_day % 10 != k) return {batv_status::bad_tag, p->original};
  auto lowered = lower(p->original);
  auto want = lower(p->tag);
  if (tag(cfg_.secret, signing_day, ddd, lowered) == want) return {batv_status::valid, p->original};
  for (const auto& old : cfg_.old_secrets)
    if (tag(old, signing_day, ddd, lowered) == want) return {batv_status::valid, p->original};
  return {batv_status::bad_tag, p->original};
}

std::string batv::strip(std::string_view address) {
  auto p = parse_prvs(address);
  if (!p || p->tag.empty()) return std::string(address);
  return p->original;
}

}  // namespace mxg::policy
