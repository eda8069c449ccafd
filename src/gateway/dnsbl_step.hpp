// dnsbl_step.hpp: a session's DNS list check (issue 12 section 2, policy/dnsbl.hpp).
// Started at connect for the client (and again after XCLIENT presented another one), in
// the background; awaited where its answer is needed: before the greeting ([dnsbl]
// stage = "connect": a refusal is the greeting, RFC 5321 3.1: 554 then only QUIT; a
// tempfail is 421 and close), at each RCPT (stage = "rcpt", through the core's policy
// step), and before a message's header is written (X-Mxguard-DNSBL, and the transaction's
// quarantine/tag). The check returns by [dnsbl] timeout_ms after its start at the
// latest, so no wait here outlasts it. Trusted networks (the [dnsbl] ones, else the
// relay's) are not looked up.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/resolver.hpp"
#include "net/ip_address.hpp"
#include "policy/dnsbl.hpp"
#include "smtp/reply.hpp"

namespace mxg::gateway {

// The DNS list policy of one listener (server.cpp builds it from [dnsbl] and [relay]).
struct dnsbl_setup {
  policy::dnsbl_config cfg;
  std::vector<net::cidr> trusted;  // [dnsbl] trusted_networks, else the relay's
};

class dnsbl_step {
 public:
  explicit dnsbl_step(asio::any_io_executor ex) : ex_(std::move(ex)) {}

  // Starts the check of `ip` (a previous one is abandoned: its answer goes nowhere).
  void start(std::shared_ptr<const dnsbl_setup> setup, dns::resolver& res, net::ip_address ip,
             std::string sid);
  void reset() { st_.reset(); }
  bool started() const { return st_ != nullptr; }
  // The evaluation once done (at the latest by the deadline); null when none started.
  asio::awaitable<const policy::dnsbl_evaluation*> wait();

  // The greeting that refuses a client at stage "connect": the decision's 554, or its
  // tempfail as 421 (RFC 5321 3.8: the channel is closed); nullopt accepts.
  static std::optional<smtp::reply> connect_refusal(const policy::decision& d);

 private:
  struct state {
    explicit state(asio::any_io_executor ex) : timer(ex) {}
    bool done = false;
    policy::dnsbl_evaluation eval;
    asio::steady_timer timer;
  };
  static asio::awaitable<void> run(std::shared_ptr<state> st,
                                   std::shared_ptr<const dnsbl_setup> setup, dns::resolver& res,
                                   net::ip_address ip, std::string sid);
  asio::any_io_executor ex_;
  std::shared_ptr<state> st_;
};

}  // namespace mxg::gateway
