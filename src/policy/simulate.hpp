// simulate.hpp: "what would this policy do?" (issue 9 section 5), pure logic over the
// stored history (store::message_record, store::quarantine_entry), shared by the CLI
// (`mxguard policy simulate`, `mxguard policy suggest`) and, later, the admin console.
//
// simulate(): every inbound record with an SPF result is decided again under a
// candidate [spf] policy with decide() (spf_policy.hpp); "from" is what was recorded for
// SPF (the decision_record of check "spf", else the record's decision), "to" is the
// candidate's action. Counts per transition, and per (domain, from, to) the messages,
// sample client IPs with their counts (an IP with >= 2 messages "repeats": likely the
// domain's own outsourced host; one message per IP is "scattered": likely forgery) and
// how many of them were released from quarantine before.
//
// suggest(): proposals, never applied: exceptions (softfail/fail mail of a domain from
// the same IP keeps being released), stricter rules (domains that only ever pass), and
// permerror domains (their record is broken; the linter says how to fix it). Each with
// its evidence and a ready-to-paste [[spf.rule]] snippet.
// Security: domains, IPs and problem texts come from peers (via the history); snippets
// only carry domains that pass the config's own domain check, TOML-escaped.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/dmarc_policy.hpp"
#include "policy/exception.hpp"
#include "policy/spf_policy.hpp"
#include "store/history.hpp"

namespace mxg::policy {

// The SPF facts a stored record was decided on, or nullopt when it has no SPF result.
std::optional<spf_facts> facts_from_record(const store::message_record& m);
// What was done for SPF: the "spf" decision_record's action, else the record's decision
// ("accept" when empty).
std::string recorded_spf_action(const store::message_record& m);
// The stored permerror/temperror diagnostic of a record ("" if none): the problem="..."
// part of the SPF decision's reason (decide() writes it).
std::string recorded_problem(const store::message_record& m);

struct ip_count {
  std::string ip;
  std::size_t messages = 0;
  bool repeats() const { return messages >= 2; }
};

// Released-from-quarantine evidence of one (domain, client IP).
struct ip_release {
  std::string ip;
  std::size_t quarantined = 0, released = 0;
};

// One sender domain whose messages would change from `from` to `to`.
struct domain_change {
  std::string domain;
  std::string from, to;
  std::size_t messages = 0;
  std::size_t released = 0;  // of those, released from quarantine before
  std::size_t distinct_ips = 0;
  std::vector<ip_count> ips;           // the top kSampleIps by messages (then by address)
  std::size_t repeating_messages = 0;  // messages from IPs with >= 2 messages
  // "repeats" when most messages come from repeating IPs, else "scattered".
  const char* pattern() const;
};

inline constexpr std::size_t kSampleIps = 3;

struct simulation {
  std::map<std::string, std::size_t> transitions;  // "from->to" (unchanged ones too)
  std::vector<domain_change> domains;              // changed only; most messages first
  std::size_t records = 0;                         // inbound records decided again
  std::size_t skipped = 0;                         // inbound records without an SPF result
  std::size_t trusted = 0;                         // skipped by the candidate's trusted networks
  std::size_t would_reject = 0;                    // changed to reject
  std::size_t would_reject_released = 0;
  // Issue 11: decisions of the candidate that a policy exception changed (to a tag) when
  // the simulation was given the exceptions, per exception id too.
  std::size_t excepted = 0;
  std::map<std::int64_t, std::size_t> by_exception;
};

// `reevaluated`, when given, holds fresh facts for records[i] (nullopt: SPF skipped for
// a trusted client, the decision is accept) and replaces the stored results; the
// records must then have been evaluated by the caller (policy simulate --reevaluate).
// `exceptions`, when given, are applied to the candidate's decision of every record as
// the gateway applies them (except_spf(), live at `now`): the excepted ones count as
// "tag" and in `excepted`. Without them the raw rule's decision is shown.
simulation simulate(const spf_policy_config& candidate,
                    const std::vector<store::message_record>& records,
                    const std::vector<store::quarantine_entry>& quarantine,
                    const std::vector<std::optional<spf_facts>>* reevaluated = nullptr,
                    const exception_set* exceptions = nullptr, std::int64_t now = 0);

// --- [dmarc] (issue 10 section 4) ---
// The same simulation over the stored DMARC results (message_record's header_from,
// dmarc_* and arc_result; the ARC sealer and the AAR's passing method from the "dmarc"
// decision's reason, where decide() wrote them): every inbound record with a DMARC
// result is decided again under `candidate`; "from" is the recorded "dmarc" decision's
// action ("accept" when none), domains are From domains. `trusted` stays 0 (DMARC has
// no trusted list of its own).

// The DMARC facts a stored record was decided on, or nullopt when it has none.
std::optional<dmarc_facts> dmarc_facts_from_record(const store::message_record& m);
std::string recorded_dmarc_action(const store::message_record& m);
// `exceptions`: as simulate(), with except_dmarc() (the record's From domain must be the
// exception's domain).
simulation simulate_dmarc(const dmarc_policy_config& candidate,
                          const std::vector<store::message_record>& records,
                          const std::vector<store::quarantine_entry>& quarantine,
                          const exception_set* exceptions = nullptr, std::int64_t now = 0);

// --- suggest ---

struct suggest_options {
  std::size_t min_releases = 2;                // exception: releases from one (domain, IP)
  double min_release_rate = 0.5;               // exception: released / quarantined for that IP
  std::size_t min_pass_messages = 20;          // stricter: messages that all passed
  const spf_policy_config* current = nullptr;  // skip domains a rule already covers
};

enum class suggestion_kind : std::uint8_t { exception, stricter, permerror };
const char* to_string(suggestion_kind k);

struct suggestion {
  suggestion_kind kind = suggestion_kind::exception;
  std::string domain;
  std::size_t messages = 0;                    // SPF-checked messages of the domain
  std::map<std::string, std::size_t> results;  // RFC 7208 result -> messages
  std::size_t quarantined = 0, released = 0;   // exception: softfail/fail ones
  std::vector<std::string> released_results;   // exception: results seen released
  std::vector<ip_release> released_ips;        // exception: the IPs whose mail keeps being
                                               // released (>= min_releases, >= min rate)
  std::vector<ip_count> ips;                   // the top client IPs of the domain's messages
  std::string problem;                         // permerror: the stored diagnostic
  // permerror: the linter's finding, when DNS was available (filled by the caller).
  std::string lint_code, lint_message, lint_fix;

  std::vector<std::string> evidence() const;  // human-readable lines
  std::string snippet() const;                // [[spf.rule]] TOML, ready to paste
};

std::vector<suggestion> suggest(const std::vector<store::message_record>& records,
                                const std::vector<store::quarantine_entry>& quarantine,
                                const suggest_options& opt = {});

// A TOML basic string ("..." with \" \\ and control bytes escaped).
std::string toml_string(std::string_view s);

}  // namespace mxg::policy
