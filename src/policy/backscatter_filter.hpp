// backscatter_filter.hpp: the gateway's defence against backscatter (issue 4 section 3),
// as policy: configuration, the RCPT-time BATV check and the after-DATA bounce judgement,
// each answering a value (bs_decision, as a policy::decision through to_decision()).
// Moved here from gateway/ (issue 9 section 1); the gateway keeps only the glue that
// asks the outbound history through its history writer (gateway/backscatter_filter.hpp).
//
// With BATV: envelope senders of mail relayed outbound from our domains are signed
// (prvs=, policy/batv.hpp). A bounce (null reverse-path, RFC 5321 4.5.5) can only be a
// reply to such mail, so at RCPT time a null-sender message to one of our addresses that
// is not validly signed is backscatter: it is rejected or quarantined per configuration;
// a valid one is accepted and the recipient is delivered without its tag.
// Without BATV: after DATA, a null-sender message to our users is parsed as a bounce
// (ndr::parse_message) and judged as `mxguard ndr report` does (policy/backscatter.hpp:
// outbound history, Message-ID, our SPF); the configured action (accept, tag,
// quarantine, reject) applies.
// Security: the message and addresses come from the outside; parsing is bounded by the
// NDR parser's limits and nothing here throws.
#pragma once

#include <asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"
#include "ndr/ndr.hpp"
#include "policy/batv.hpp"
#include "policy/decision.hpp"
#include "smtp/reply.hpp"
#include "store/history.hpp"

namespace mxg::policy {

// Ordered by strength: a later value overrides an earlier one in a transaction.
enum class bs_action { accept, tag, quarantine, reject };
const char* to_string(bs_action a);
std::optional<bs_action> bs_action_from_string(std::string_view s);

// The decision of one mail transaction so far: the strongest action seen (reject >
// quarantine > tag > accept) with the reason that gave it; on a tie the first reason
// stays. Reset at each MAIL FROM.
struct txn_decision {
  bs_action action = bs_action::accept;
  std::string reason;
  // Takes `a` when it is stronger; returns true when it did.
  bool combine(bs_action a, std::string_view why);
};

// The header added by the `tag` action (without CRLF).
std::string backscatter_header(std::string_view reason);

struct backscatter_config {
  bool enabled = false;
  std::vector<std::string> our_domains;  // lower case; default: the relay local_domains
  std::optional<batv_config> batv;
  bs_action unsigned_bounce = bs_action::reject;      // BATV: bounce to unsigned/invalid address
  bs_action ndr_backscatter = bs_action::quarantine;  // no BATV: content judged backscatter
};

struct bs_decision {
  bs_action action = bs_action::accept;
  std::string reason;     // for logs, history and the reply text
  std::string recipient;  // the recipient to deliver to (tag stripped)
  smtp::reply reply;      // the reply when rejecting, else empty
  std::string header;     // header line to add for `tag` (without CRLF), else empty
  // The same decision in the type every policy check uses (check "backscatter").
  decision to_decision() const;
};

class backscatter_filter {
 public:
  explicit backscatter_filter(backscatter_config cfg);

  const backscatter_config& config() const { return cfg_; }

  // The MAIL FROM to use for mail relayed outbound: signed when BATV is on and the
  // sender is in our domains; unchanged otherwise (and always for the null sender).
  std::string outbound_sender(std::string_view sender, std::int64_t day) const;

  // RCPT time. `sender` empty means the null reverse-path.
  bs_decision check_rcpt(std::string_view sender, std::string_view recipient,
                         std::int64_t day) const;

  // True when null-sender messages to our domains are judged after DATA: the filter is
  // enabled without BATV (with BATV the RCPT check decides).
  bool judges_after_data() const { return cfg_.enabled && !batv_; }
  bool batv_on() const { return cfg_.enabled && batv_.has_value(); }

  // After DATA, for null-sender messages when BATV is off. `message` is the body as
  // received. `res` may be null (SPF not checked), `history` may be null.
  asio::awaitable<bs_decision> check_bounce(std::string_view message, const store::history* history,
                                            dns::resolver* res) const;

  // The judgement of check_bounce() on records already parsed from `message` (one
  // decision for the message: backscatter only when no record is legitimate). For a
  // caller that must fetch the history answers for these records first (the gateway
  // asks its history writer's thread).
  asio::awaitable<bs_decision> judge_records(const std::vector<ndr::record>& records,
                                             std::string_view message,
                                             const store::history* history,
                                             dns::resolver* res) const;

  bool is_ours(std::string_view address) const;

 private:
  backscatter_config cfg_;
  std::optional<batv> batv_;
};

}  // namespace mxg::policy
