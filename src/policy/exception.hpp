// exception.hpp: policy exceptions made by "release and allow" (issue 11 section 3).
// An exception has an explicit scope, never a blanket allow:
//   - sender:     this envelope sender address (RFC5321.MailFrom, case-insensitive);
//   - domain_net: this sender domain from this client network (a CIDR, v4 or v6).
// For mail matching its scope it turns an SPF (and DMARC) quarantine/reject decision
// into accept-with-a-tag, recorded as rule "exception:<id>". It never applies when
// the scope does not match (another sender, another network), never to tempfail,
// and for DMARC only when the RFC5322.From domain equals the scope's sender domain
// (RFC 9989 alignment is exactly what a forged From breaks: an exception for an
// envelope sender must not wave a forged From through).
// The gateway (its SMTP sessions and the Postfix policy service) consults an in-memory
// snapshot (exception_set), never the database per message; `policy simulate` reads the
// exceptions from the store. All of them change a decision through except_spf() /
// except_dmarc(), so the three cannot drift apart.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/decision.hpp"
#include "store/history.hpp"

namespace mxg::policy {

// The lifetime of a new exception when none is given (the console's release-and-allow
// dialog and `mxguard policy exceptions add`): it stops applying after that, and is
// listed as expired until deleted. "never" is accepted by both for no expiry.
inline constexpr std::int64_t kDefaultExpiry = 30 * 86400;
inline constexpr const char* kDefaultExpiryText = "30d";
// The longest lifetime that can be given (ten years).
inline constexpr std::int64_t kMaxExpiry = 3650LL * 86400;

// Validates and normalizes a new exception's scope: kind "sender" needs `sender` (an
// address with a domain); kind "domain_net" needs `domain` and `net` (a CIDR; host
// bits are cleared; at least /8 for v4, /16 for v6, so it is never "everyone").
// Fills e.sender/e.domain/e.net in lower case. The error text is for the user.
result<void> normalize_scope(store::policy_exception& e);

// The default network offered for a client IP: its /24 (v4) or /64 (v6); "" if invalid.
std::string default_net(std::string_view client_ip);

// True when the exception is live at `now` and its scope covers the envelope sender
// and client IP (for domain_net: the sender's domain equals, the IP is in the net).
bool scope_matches(const store::policy_exception& e, std::string_view sender,
                   std::string_view client_ip, std::int64_t now);
// DMARC: scope_matches and the RFC5322.From domain equals the scope's domain.
bool dmarc_matches(const store::policy_exception& e, std::string_view sender,
                   std::string_view client_ip, std::string_view from_domain, std::int64_t now);

// A quarantine or reject decision of `d` excepted by `e`: accept-with-a-tag, rule
// "exception:<id>", the reason keeps what was excepted. Other actions are unchanged.
// Returns true when it changed `d`.
bool apply(decision& d, const store::policy_exception& e);

// Live at `now`: not deleted, and no expiry or an expiry after `now`.
bool live(const store::policy_exception& e, std::int64_t now);
// Expired at `now` (and not deleted): listed as expired, never applied.
bool expired(const store::policy_exception& e, std::int64_t now);

class exception_set;
// The one place an exception changes a decision: the first exception of `s` whose scope
// covers (sender, client_ip) at `now` (for DMARC: and whose domain is `from_domain`)
// applied to `d` (apply()). Returns the exception that changed `d`, or null (no match,
// or `d` is not a quarantine/reject).
const store::policy_exception* except_spf(decision& d, const exception_set& s,
                                          std::string_view sender, std::string_view client_ip,
                                          std::int64_t now);
const store::policy_exception* except_dmarc(decision& d, const exception_set& s,
                                            std::string_view sender, std::string_view client_ip,
                                            std::string_view from_domain, std::int64_t now);

// An immutable snapshot of the live exceptions (shared between threads by pointer).
class exception_set {
 public:
  exception_set() = default;
  explicit exception_set(std::vector<store::policy_exception> v) : all_(std::move(v)) {}
  const std::vector<store::policy_exception>& all() const { return all_; }
  bool empty() const { return all_.empty(); }
  // The first matching exception, or null.
  const store::policy_exception* find_spf(std::string_view sender, std::string_view client_ip,
                                          std::int64_t now) const;
  const store::policy_exception* find_dmarc(std::string_view sender, std::string_view client_ip,
                                            std::string_view from_domain, std::int64_t now) const;

 private:
  std::vector<store::policy_exception> all_;
};
using exception_snapshot = std::shared_ptr<const exception_set>;

}  // namespace mxg::policy
