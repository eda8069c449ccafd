// relay.hpp: relay control, a pure decision (issue 3 section 3; RFC 5321 3.6.1
// "hosts MUST NOT be open relays" spirit, RFC 2505 anti-spam recommendations).
//
// A recipient is accepted from an untrusted client only when its domain is one of
// the configured local or relay domains AND the local part cannot route the
// message elsewhere. Refused, for untrusted clients (554 5.7.1 Relay access denied):
//   - any domain that is not listed (comparison is case-insensitive, trailing dot
//     removed by the path parser, so <user@ext.test.> is ext.test);
//   - address literals (user@[127.0.0.1]), even if they name us (RFC 2505 2.5);
//   - local parts containing '%', '!' or '@' (after unquoting): sendmail-style
//     percent hack, UUCP bang paths and `"user@ext.test"@local.test` (RFC 2505 2.4);
//   - quoted local parts and empty local parts ("", "user");
//   - source routes are ignored by the parser (RFC 5321 4.1.2), so
//     <@local.test:user@ext.test> is judged by ext.test.
// <Postmaster> without a domain (any case) is the postmaster of this host (RFC 5321
// 4.5.1): it is delivered to the configured postmaster address (deliver_to), from any
// client, trusted or not; with none configured it is refused (550 5.1.1). It never
// leaves by the default route as the bare local part "Postmaster".
// A trusted client (trusted network or authenticated, decided by the gateway)
// may relay anywhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smtp/path.hpp"
#include "smtp/reply.hpp"

namespace mxg::smtp {

struct relay_domains {
  // Domains we receive for. An entry "example.com" matches only that domain;
  // ".example.com" matches every subdomain (not the domain itself), as in Postfix.
  std::vector<std::string> local;
  std::vector<std::string> relay;  // domains we accept to pass on (backup MX, outbound hub)
  // Where RCPT TO:<Postmaster> goes ("postmaster@example.com"); "" refuses it.
  std::string postmaster;
};

enum class relay_verdict {
  local,         // domain is ours
  relay_domain,  // domain is one we relay for
  trusted,       // client may relay anywhere
  denied,        // untrusted and not ours (or a routing trick)
};
const char* to_string(relay_verdict v) noexcept;

struct relay_decision {
  relay_verdict verdict = relay_verdict::denied;
  reply refusal;    // 554 5.7.1 Relay access denied, when denied
  std::string why;  // one phrase for the log ("percent hack in local part", ...)
  // When set, the message is delivered to this address instead of the one received
  // (<Postmaster> -> the configured postmaster address).
  std::string deliver_to;
  bool accepted() const { return verdict != relay_verdict::denied; }
};

// True when `domain` (normalized) matches an entry of `list`.
bool domain_matches(std::string_view domain, const std::vector<std::string>& list);

relay_decision check_relay(const path& rcpt, const relay_domains& domains, bool client_trusted);

}  // namespace mxg::smtp
