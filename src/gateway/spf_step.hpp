// spf_step.hpp: a session's SPF check under the listener's policy (issue 9 section 2).
// Started when MAIL is accepted by the protocol core (the session goes on reading while
// DNS answers), awaited where its answer is needed: at MAIL (reject_stage "mail"), at
// each RCPT (the default) and before the message's header is written (Received-SPF,
// Authentication-Results). The evaluation is bounded by the resolver's timeouts and
// RFC 7208 4.6.4's time limit, so waiting never hangs a session: a DNS timeout is a
// temperror, answered by the policy's temperror action.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <memory>
#include <string>

#include "dns/resolver.hpp"
#include "gateway/server.hpp"
#include "policy/exception.hpp"
#include "policy/spf_policy.hpp"

namespace mxg::gateway {

class spf_step {
 public:
  explicit spf_step(asio::any_io_executor ex) : ex_(std::move(ex)) {}

  // Starts a new check (a previous one is abandoned: its answer goes nowhere).
  // `exc`: the policy exceptions in force (issue 11); a matching one turns the SPF
  // quarantine/reject decision into a tag (policy/exception.hpp).
  void start(std::shared_ptr<const spf_setup> setup, dns::resolver& res, policy::spf_request req,
             std::string receiver, std::string sid, policy::exception_snapshot exc = {});
  void reset() { st_.reset(); }
  bool started() const { return st_ != nullptr; }
  // The evaluation once done; null when no check was started.
  asio::awaitable<const policy::spf_evaluation*> wait();

 private:
  struct state {
    explicit state(asio::any_io_executor ex) : timer(ex) {}
    bool done = false;
    policy::spf_evaluation eval;
    asio::steady_timer timer;
  };
  static asio::awaitable<void> run(std::shared_ptr<state> st,
                                   std::shared_ptr<const spf_setup> setup, dns::resolver& res,
                                   policy::spf_request req, std::string receiver, std::string sid,
                                   policy::exception_snapshot exc);
  asio::any_io_executor ex_;
  std::shared_ptr<state> st_;
};

}  // namespace mxg::gateway
