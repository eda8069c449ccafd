// dmarc_policy.hpp: DMARC enforcement policy (issue 10 section 4): what to do with each
// DMARC outcome (RFC 9989), globally and per From domain, the ARC override of a DMARC
// fail (RFC 8617 7.2), and the [dkim] switch.
//
//   [dkim]    enabled                             -> dkim_policy_config
//   [dmarc]   enabled, mode = "treewalk" | "psl", psl_file, authserv_id,
//             trusted_arc_sealers = ["d", ".d"], reject_text, tempfail_text
//   [dmarc.actions]  OUTCOME = ACTION ...
//   [[dmarc.rule]]   name, domains = ["d", ".d"], OUTCOME = ACTION..., fail = ACTION,
//                    all = ACTION, monitor
//   OUTCOME: pass | fail_reject | fail_quarantine | fail_none | none | temperror | permerror
//            (fail_X: DMARC fail where the policy that applies is p/sp/np = X)
//   ACTION:  accept | tag | quarantine | reject | tempfail
//
// Defaults honour the published policy (RFC 9989 5.3/5.4: the Domain Owner's request,
// the receiver decides): fail_reject -> reject 550 5.7.1, fail_quarantine -> quarantine
// (check "dmarc"), fail_none / pass / none -> accept; permerror (no usable From, several
// From fields: the message cannot be judged) -> accept; temperror (policy discovery hit
// a DNS failure) -> tempfail 451 4.7.1: RFC 9989 leaves it to the receiver, and deferring
// lets the sender retry instead of delivering a possibly forged message of a p=reject
// domain while its DNS is unreachable (the same choice as [spf] temperror).
// t=y (RFC 9989 4.7, the testing flag that replaces pct=): the policy applied is one
// step lower (reject -> quarantine, quarantine -> none), as pct=0 was handled before it.
// Rules: the first whose domains match the RFC5322.From domain decides ("d" exact, ".d"
// subdomains); a rule without a key for the outcome falls back to the global action; a
// monitor rule decides nothing (its action is recorded as `would`). Same syntax and
// matching as [[spf.rule]] (rule_config.hpp).
// ARC (RFC 8617 7.2): a DMARC fail, a passing chain (cv=pass) whose newest hop's sealer
// (AS d=) is in trusted_arc_sealers and whose AAR says dmarc=pass, spf=pass or dkim=pass
// is accepted with reason "arc override"; the fail is still recorded.
// decide() is pure: the gateway and `policy simulate` share it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arc/validate.hpp"
#include "base/result.hpp"
#include "dmarc/evaluate.hpp"
#include "dmarc/types.hpp"
#include "policy/decision.hpp"

namespace mxg::policy {

enum class dmarc_outcome : std::uint8_t {
  pass,
  fail_reject,
  fail_quarantine,
  fail_none,
  none,
  temperror,
  permerror
};
inline constexpr std::size_t kDmarcOutcomes = 7;
const char* to_string(dmarc_outcome o);  // the config key
std::optional<dmarc_outcome> dmarc_outcome_from_string(std::string_view s);

struct dkim_policy_config {
  bool enabled = false;
};

struct dmarc_rule {
  std::string name;
  std::vector<std::string> domains;  // lower case, no final dot; ".d" = subdomains of d
  std::array<std::optional<verdict>, kDmarcOutcomes> actions{};  // unset: the global action
  bool monitor = false;
  std::size_t line = 0;
  bool matches(std::string_view domain) const;
};

std::array<verdict, kDmarcOutcomes> default_dmarc_actions();

struct dmarc_policy_config {
  bool enabled = false;
  dmarc::discovery_mode mode = dmarc::discovery_mode::treewalk;
  std::string psl_file;     // required with mode = "psl"
  std::string authserv_id;  // "" = [spf] authserv_id (one Authentication-Results field)
  std::vector<std::string> trusted_arc_sealers;  // "d" / ".d" as in rules
  std::array<verdict, kDmarcOutcomes> actions = default_dmarc_actions();
  std::vector<dmarc_rule> rules;
  std::string reject_text;  // "" = the default; {domain} {result} {policy} substituted
  std::string tempfail_text;

  const dmarc_rule* rule_for(std::string_view domain) const;
  bool sealer_trusted(std::string_view domain) const;
};

// What the ARC override looks at (from arc::validation).
struct arc_facts {
  arc::chain_result cv = arc::chain_result::none;
  std::string sealer;  // AS d= of the newest hop ("" when none)
  std::string passed;  // the newest hop's AAR: "dmarc", "spf" or "dkim" passed (first
                       // found in that order), "" = none of them
};

// What a decision is taken on (stored in the history, so `policy simulate` can decide
// again without DNS).
struct dmarc_facts {
  dmarc::result result = dmarc::result::none;
  std::optional<dmarc::disposition> policy;  // the policy that applies (p/sp/np), as published
  bool testing = false;                      // t=y
  std::string from_domain;
  bool dkim_aligned = false, spf_aligned = false;
  arc_facts arc;
  std::string detail;  // the evaluation's reason (peer data: sanitized by decide)
};

// The outcome of `f` (t=y lowers the policy one step).
dmarc_outcome outcome_of(const dmarc_facts& f);
// The action for `f` under `c` (ARC override, rules, monitor, global actions) with its
// reply (reject 550 5.7.1, tempfail 451 4.7.1; RFC 3463 3.8). Pure.
decision decide(const dmarc_policy_config& c, const dmarc_facts& f);

// The method that an ARC-Authentication-Results payload ("authserv-id; spf=pass ...;
// dkim=pass ...") reports as passing: "dmarc", else "spf", else "dkim"; "" when none.
// RFC 8601 2.2 syntax: comments skipped, method names case-insensitive.
std::string aar_pass(std::string_view aar);
arc_facts arc_facts_of(const arc::validation& v);
dmarc_facts facts_of(const dmarc::evaluation& e, const arc::validation* arc);

}  // namespace mxg::policy
