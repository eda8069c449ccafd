// spf_policy.hpp: SPF enforcement policy (issue 9 section 2): what to do with each
// RFC 7208 result, globally and per sender domain, and the SPF check of a session.
//
//   [spf]                              -> spf_policy_config
//   enabled, check_helo, reject_stage, authserv_id, trusted_networks, trusted_forwarders,
//   reject_text, tempfail_text
//   [spf.actions]   pass fail softfail neutral none permerror temperror = ACTION
//   [[spf.rule]]    name, domains = ["d", ".d"], RESULT = ACTION..., all = ACTION, monitor
//   ACTION: accept | tag | quarantine | reject | tempfail
//
// Rules are tried in order; the first whose domains match the checked identity's domain
// decides ("d" matches d exactly, ".d" matches any subdomain of d, not d itself). A rule
// without a key for the result falls back to the global action of that result. A
// monitor rule decides nothing: its action is recorded as `would`, the global action is
// done.
// Replies (RFC 7372, RFC 3463): reject on fail 550 5.7.23, on permerror 550 5.7.24, on
// another result 550 5.7.23 (softfail) or 550 5.7.1; tempfail on temperror 451 4.7.24
// (451 4.4.3 when the DNS did not answer in time), on another result 451 4.7.1. The text
// names the domain and the result, never a URL; reject_text/tempfail_text replace it
// with {domain}, {result}, {ip} and {identity} substituted.
// decide() is pure: the gateway, the Postfix policy service and `policy simulate` (over
// stored results) share it.
#pragma once

#include <asio/awaitable.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "dns/resolver.hpp"
#include "net/ip_address.hpp"
#include "policy/decision.hpp"
#include "spf/evaluator.hpp"

namespace mxg::policy {

inline constexpr std::size_t kSpfResults = 7;  // spf::result values, indexed by their number

enum class spf_stage : std::uint8_t { mail, rcpt };
const char* to_string(spf_stage s);

struct spf_rule {
  std::string name;
  std::vector<std::string> domains;  // lower case, no final dot; ".d" = subdomains of d
  std::array<std::optional<verdict>, kSpfResults> actions{};  // unset: the global action
  bool monitor = false;
  std::size_t line = 0;  // where it was defined (for messages)
  bool matches(std::string_view domain) const;
};

// A [[spf.rule]] domain as the config accepts it: see rule_config.hpp (shared with
// [[dmarc.rule]]).
std::optional<std::string> normalize_rule_domain(std::string_view d);

// The global default actions (the shape): pass/neutral/none/permerror accept,
// fail reject, softfail quarantine, temperror tempfail.
std::array<verdict, kSpfResults> default_spf_actions();

struct spf_policy_config {
  bool enabled = false;
  bool check_helo = true;  // RFC 7208 2.3: a HELO identity fail decides; null sender: HELO
  spf_stage reject_stage = spf_stage::rcpt;
  std::string authserv_id;  // Authentication-Results (RFC 8601 2.5); "" = the hostname
  std::array<verdict, kSpfResults> actions = default_spf_actions();
  std::vector<spf_rule> rules;
  std::vector<net::cidr> trusted_networks;    // SPF skipped: our own clients
  std::vector<net::cidr> trusted_forwarders;  // SPF skipped: hosts that forward to us
  bool trusted_networks_set = false;          // unset: the relay trusted_networks are used
  std::string reject_text;                    // "" = the default text
  std::string tempfail_text;

  // The first rule matching `domain`, or null.
  const spf_rule* rule_for(std::string_view domain) const;
};

// What a decision is taken on: one SPF result and where it came from (stored in the
// history, so `policy simulate` can decide again without DNS).
struct spf_facts {
  spf::result result = spf::result::none;
  spf::identity identity = spf::identity::mailfrom;
  std::string domain;     // the identity's domain (lower case)
  std::string ip;         // client IP, for the reply text
  std::string mechanism;  // deciding term
  std::string problem;    // permerror/temperror diagnostic
  bool dns_timeout = false;
};

// The action for `f` under `c` (rules, monitor, global actions) with its reply. Pure.
decision decide(const spf_policy_config& c, const spf_facts& f);

// The SPF check of one SMTP client (the gateway session and the policy service).
struct spf_request {
  net::ip_address ip;
  std::string sender;  // MAIL FROM without <>; "" = null sender
  std::string helo;
};

struct spf_evaluation {
  bool skipped = false;                      // trusted network / forwarder: no SPF, decision accept
  std::string skip_reason;                   // "trusted network" | "trusted forwarder"
  spf::request request;                      // as evaluated (for Received-SPF)
  spf::outcome outcome;                      // the deciding identity's outcome
  std::optional<spf::outcome> helo_outcome;  // check_helo with a non-null sender
  spf_facts facts;
  decision dec;
};

// Runs the HELO check (check_helo, non-null sender) and the MAIL FROM check
// concurrently where both are needed; a HELO fail decides (RFC 7208 2.3), else the
// MAIL FROM identity does. `trusted` are the networks to skip (the caller resolves
// config vs relay defaults). DNS timeouts give temperror; never throws.
asio::awaitable<spf_evaluation> evaluate_spf(const spf_policy_config& c,
                                             const std::vector<net::cidr>& trusted,
                                             dns::resolver& res, spf_request req,
                                             std::string receiver);

// "Received-SPF: ..." (RFC 7208 9.1) for an evaluation that was not skipped.
std::string received_spf_field(const spf_evaluation& e, std::string_view receiver);
// "Authentication-Results: ID; spf=RESULT smtp.mailfrom=... (or smtp.helo=...)"
// (RFC 8601 2.2, 2.7.2); for a skipped check "ID; none".
std::string authentication_results_field(std::string_view authserv_id, const spf_evaluation& e);
// True when an Authentication-Results field value (after "Authentication-Results:")
// claims `authserv_id` (RFC 8601 5: such fields arriving from outside are removed).
bool claims_authserv_id(std::string_view value, std::string_view authserv_id);

}  // namespace mxg::policy
