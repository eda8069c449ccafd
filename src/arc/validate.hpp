// validate.hpp: ARC chain validation (RFC 8617 5.2) of one message.
// Each ARC set i (i=1..50) is three fields with instance i=: ARC-Authentication-Results
// (AAR), ARC-Message-Signature (AMS, a DKIM-like signature, RFC 8617 4.1.2) and
// ARC-Seal (AS, RFC 8617 4.1.3, over the ARC fields in order). Validation:
//   no ARC fields                               -> cv none
//   structure broken (gaps, duplicates, > 50, the newest AS says cv=fail, a cv that
//   does not fit its instance), the newest AMS fails, or any AS fails  -> fail
//   otherwise                                   -> pass
// "oldest-pass" (RFC 8617 5.2 step 5) is computed for a passing chain: 0 when every AMS
// verifies, otherwise the instance just newer than the newest AMS that no longer
// verifies. An administrator's list of trusted sealers lets policy/ use the AAR of a
// trusted, passing chain to override a DMARC fail (RFC 8617 7.2).
// Order of the steps (RFC 8617 5.2): no ARC field -> none; more than 50 sets, or the
// newest AS says cv=fail -> fail; structure (5.2 step 3); newest AMS (step 4); oldest-pass
// (step 5); every AS from the newest down (step 6). A key lookup that fails (DNS) makes
// the signature that needs it fail: ARC has no temperror (RFC 8617 4.4 knows none, pass,
// fail), the reason says so.
// Streaming like dkim::verifier: feed() the message in chunks, then finish(). The body
// is hashed once per distinct (canonicalization, hash) as it arrives, never stored.
// Reuses dkim/canon.hpp, crypto.hpp, tag_list.hpp, key_record.hpp.
// Security: all input is peer or DNS data; instance count, header bytes, fields and
// key sizes are capped; an ARC set over the cap makes the chain fail, never a crash.
#pragma once

#include <asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"

namespace mxg::dns {
class memory_zone;
}

namespace mxg::arc {

inline constexpr int kInstancesMax = 50;  // RFC 8617 4.2.1

enum class chain_result : std::uint8_t { none, pass, fail };
constexpr const char* to_string(chain_result c) {
  return c == chain_result::pass ? "pass" : c == chain_result::fail ? "fail" : "none";
}

struct hop {
  int instance = 0;
  std::string seal_domain;  // AS d=
  std::string seal_selector;
  std::string ams_domain;  // AMS d=
  std::string ams_selector;
  std::string cv;           // the AS's cv= as written ("none" | "pass" | "fail")
  std::string aar;          // the AAR's payload after "i=N;" (authserv-id and results)
  bool ams_valid = false;   // this hop's AMS verified
  bool seal_valid = false;  // this hop's AS verified
  std::string ams_error;    // why the AMS did not verify ("" when it did, or was not tried)
  std::string seal_error;   // why the AS did not verify
};

struct validation {
  chain_result cv = chain_result::none;
  std::string reason;     // why (for fail: which instance and what)
  std::vector<hop> hops;  // oldest (i=1) first, as far as they could be read
  int oldest_pass = 0;    // RFC 8617 5.2 step 5; 0 when every AMS verifies or not pass
};

struct options {
  std::function<std::int64_t()> clock;  // Unix seconds (t=, x=); default: system clock
  bool rfc8301 = true;                  // rsa-sha1 and RSA keys < 1024 bits fail
};

class validator {
 public:
  explicit validator(options o = {});
  ~validator();
  validator(const validator&) = delete;
  validator& operator=(const validator&) = delete;

  void feed(std::string_view chunk);
  // Key record names to query (selector._domainkey.domain), deduplicated; ends the message.
  std::vector<std::string> key_names();
  validation finish(const std::map<std::string, dns::answer>& keys);
  asio::awaitable<validation> finish(dns::resolver& r);

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

asio::awaitable<validation> validate(std::string_view message, dns::resolver& r, options o = {});
validation validate(std::string_view message, const dns::memory_zone& zone, options o = {});

// RFC 8617 7.2 / RFC 8601: one resinfo, e.g.
//   arc=pass (i=2 sealed by lists.example.org) header.oldest-pass=0 smtp.remote-ip=192.0.2.1
// header.oldest-pass only for pass, smtp.remote-ip only when `remote_ip` is given.
std::string authres_entry(const validation& v, std::string_view remote_ip = {});

}  // namespace mxg::arc
