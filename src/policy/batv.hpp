// batv.hpp: Bounce Address Tag Validation, "prvs" scheme (draft-levine-smtp-batv-01 4.1).
// Outbound envelope senders are rewritten to prvs=KDDDSSSSSS=local@domain, where
//   K      = key digit (here: signing day mod 10),
//   DDD    = expiry day (days since 1970-01-01) mod 1000,
//   SSSSSS = first 3 bytes, hex, of HMAC-SHA256(day key, "KDDD" + lower(local@domain)).
// Key rotation by day: the day key is HMAC-SHA256(secret, "mxguard-batv:" + signing day),
// so one configured secret yields a fresh key every day and a leaked day key signs
// nothing beyond it. Older secrets stay valid for verification during a secret change.
// A bounce (null sender) to an address that is not validly signed is backscatter: the
// gateway rejects or quarantines it per configuration.
// Security: verify() reads addresses from the outside; it never throws and bounds lengths.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxg::policy {

struct batv_config {
  std::string secret;                    // the current signing secret
  std::vector<std::string> old_secrets;  // accepted for verification only
  int validity_days = 7;                 // a signed address is valid this long
};

enum class batv_status {
  valid,      // correct tag, not expired
  unsigned_,  // no prvs= tag
  malformed,  // prvs= present but not parseable
  expired,    // tag older than validity_days (or too far in the future)
  bad_tag,    // hash does not match: forged or signed with an unknown secret
};
const char* to_string(batv_status s);

struct batv_check {
  batv_status status = batv_status::unsigned_;
  std::string original;  // the address without the tag (for delivery to the user)
};

class batv {
 public:
  explicit batv(batv_config cfg);
  // Signs `address` (local@domain) for the given day (days since epoch). The null
  // sender and already-signed addresses are returned unchanged.
  std::string sign(std::string_view address, std::int64_t day) const;
  batv_check verify(std::string_view address, std::int64_t today) const;
  // Strips a prvs= tag if present (for local delivery), without verifying.
  static std::string strip(std::string_view address);
  static std::int64_t day_of(std::int64_t unix_seconds) { return unix_seconds / 86400; }

 private:
  std::string tag(const std::string& secret, std::int64_t signing_day, int expiry_mod,
                  const std::string& lowered) const;
  batv_config cfg_;
};

}  // namespace mxg::policy
