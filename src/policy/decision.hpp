// decision.hpp: the one decision type of every policy check (SPF, backscatter, later
// DMARC and DNS lists). A check returns a `decision` value: what to do with the
// transaction (accept, tag, quarantine, tempfail, reject), the SMTP reply that carries
// it (an smtp::reply value, never reply text to be parsed again), the check and rule
// that made it, and whether the rule was monitor-only (then `would` says what it would
// have done and `action` is what was done instead).
// A transaction collects the decisions of its checks (txn_decisions); the strongest
// one is carried out: reject > tempfail > quarantine > tag > accept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace mxg::policy {

// Ordered by strength: a later value overrides an earlier one in a transaction.
enum class verdict : std::uint8_t { accept, tag, quarantine, tempfail, reject };
const char* to_string(verdict v);
std::optional<verdict> verdict_from_string(std::string_view s);

struct decision {
  verdict action = verdict::accept;
  smtp::reply reply;     // tempfail/reject: the reply to send; empty otherwise
  std::string check;     // "spf", "backscatter", ...
  std::string rule;      // the rule that decided ("" = the global actions)
  std::string reason;    // human-readable, for logs, history and quarantine
  bool monitor = false;  // decided by a monitor-only rule: `would` is its action
  std::optional<verdict> would;
  std::string header;  // a header field to add ("Name: value", no CRLF), or empty

  bool refuses() const { return action == verdict::reject || action == verdict::tempfail; }
};

// The decisions of one mail transaction (reset at MAIL). `final()` is the strongest
// (on a tie the first one stays, unless it has no reason and a later one has: history
// then says why an accept was an accept, e.g. "bounce about mail we sent").
class txn_decisions {
 public:
  // Adds `d`; returns true when it became the final decision.
  bool add(decision d);
  const decision& final() const;
  const std::vector<decision>& all() const { return all_; }
  void clear() { all_.clear(), best_ = 0; }

 private:
  std::vector<decision> all_;
  std::size_t best_ = 0;
};

}  // namespace mxg::policy
