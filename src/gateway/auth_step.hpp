// auth_step.hpp: a message's DKIM, ARC and DMARC check in the gateway (issue 10 section
// 4), the `data`-stage policy step of docs/architecture.md. The message is fed as it
// streams to the queue (the bytes as received, before our own header fields and the
// Authentication-Results filter): dkim::verifier and arc::validator hash the body on the
// way and keep only the header block (capped), never a second copy of the message.
// After the final dot: the DKIM keys and the ARC keys are looked up concurrently through
// the server's resolver (TTL cache), then DMARC (RFC 9989) is evaluated with the SPF
// result of the session and decided by policy::decide (dmarc_policy.hpp). The session
// carries the decision out; the Authentication-Results field (RFC 8601) with spf, dkim,
// dmarc and arc goes on top of the message through the queue's x-prepend field.
// Never a stuck session: lookups are bounded by the resolver's timeouts; an internal
// error becomes DMARC temperror (decided by the policy's temperror action).
#pragma once

#include <asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arc/validate.hpp"
#include "dkim/verifier.hpp"
#include "dmarc/evaluate.hpp"
#include "dns/resolver.hpp"
#include "gateway/server.hpp"
#include "policy/decision.hpp"
#include "policy/spf_policy.hpp"
#include "store/history.hpp"

namespace mxg::gateway {

class auth_step {
 public:
  struct outcome {
    std::vector<dkim::signature_result> dkim;
    std::optional<arc::validation> arc;      // with [dmarc] (ARC feeds its override)
    std::optional<dmarc::evaluation> dmarc;  // with [dmarc]
    std::optional<policy::decision> dec;     // the "dmarc" decision
  };

  // A new message under `setup` (no-op when it verifies nothing).
  void begin(std::shared_ptr<const auth_setup> setup);
  void reset();
  bool active() const { return dkim_ != nullptr; }
  bool done() const { return done_; }
  // The message's bytes as received (CRLF line ends, dot-unstuffed).
  void feed(std::string_view chunk);
  // Ends the message: keys, ARC, DMARC with the session's SPF evaluation (null or
  // skipped: DMARC has no SPF input, RFC 9989 4.4.1), the decision.
  asio::awaitable<const outcome*> finish(dns::resolver& res, const policy::spf_evaluation* spf,
                                         std::string sid);
  const outcome& result() const { return out_; }
  // The one Authentication-Results field, folded, CRLF-terminated.
  std::string header_field(const policy::spf_evaluation* spf, std::string_view client_ip) const;
  // The auth facts of the history (header_from, dmarc_*, arc_result, dkim).
  void fill(store::message_record& m) const;

 private:
  std::shared_ptr<const auth_setup> setup_;
  std::unique_ptr<dkim::verifier> dkim_;
  std::unique_ptr<arc::validator> arc_;
  outcome out_;
  bool done_ = false;
};

}  // namespace mxg::gateway
