// policy_service.hpp: Postfix's policy delegation service ([policy_service] listen,
// issue 9 section 6; Postfix SMTPD_POLICY_README): an existing MTA asks
// `check_policy_service inet:127.0.0.1:10031` at RCPT and mxguard answers from its SPF
// policy engine (policy/spf_policy.hpp) with postfix-policyd-spf-python's conventions
// (the protocol and the actions are in policy/policy_protocol.hpp, I/O-free).
//
// One coroutine per connection; Postfix keeps a connection open and sends one request
// at a time. Only protocol_state=RCPT is evaluated (other states: DUNNO). A message's
// first recipient gets the evaluation's action, its later recipients (same `instance`)
// the cached one: DUNNO after a PREPEND or HOLD (one Received-SPF per message), the same
// refusal after a reject or defer. A malformed request or an internal error closes the
// connection without a reply (Postfix then defers the mail: 451 4.3.5).
// Policy exceptions (issue 11, policy/exception.hpp): a quarantine or reject of a sender
// that a live exception covers becomes a tag (PREPEND Received-SPF), rule
// "exception:<id>", through the same except_spf() as the gateway's sessions, from the
// server's snapshot (set_exceptions()).
// Trusted networks: only [spf] trusted_networks/trusted_forwarders skip SPF here (the
// relay's trusted networks are the gateway's, not the MTA's; put permit_mynetworks
// before check_policy_service in Postfix instead).
//
// Security: bind to loopback (or a network only the MTA reaches); the protocol has no
// authentication. Every connection has an idle deadline and the number of connections
// is bounded; requests are bounded by the reader (policy_protocol.hpp).
// Threads: everything runs on the io_context's thread; the io_context must not run
// this object's handlers after its destruction (stop() and run the loop down first).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "dns/resolver.hpp"
#include "policy/exception.hpp"
#include "policy/policy_protocol.hpp"
#include "policy/spf_policy.hpp"

namespace mxg::gateway {

class transport;

// Postfix closes an idle policy connection after smtpd_policy_service_max_idle (300 s)
// and waits smtpd_policy_service_timeout (100 s) for a reply; we keep idle ones as long.
inline constexpr std::chrono::seconds kPolicyIdleTimeout{300};
inline constexpr std::chrono::seconds kPolicyWriteTimeout{10};
// Postfix opens one connection per smtpd process (default_process_limit 100).
inline constexpr std::size_t kPolicyMaxClients = 100;

struct policy_service_stats {
  std::uint64_t connections = 0, refused = 0, requests = 0, evaluations = 0, cached = 0, errors = 0;
};

class policy_service {
 public:
  policy_service(asio::io_context& io, dns::resolver& res,
                 std::shared_ptr<const policy::spf_policy_config> cfg);
  ~policy_service();
  policy_service(const policy_service&) = delete;
  policy_service& operator=(const policy_service&) = delete;

  // Binds ip:port (port 0: a free one, see port()) and starts accepting.
  result<void> start(const std::string& ip, std::uint16_t port);
  // "IP:PORT" / "[IPv6]:PORT" (config.policy_service.listen).
  result<void> start(std::string_view listen);
  // Stops accepting and closes every connection.
  void stop();
  // A new [spf] configuration for the next requests; the per-message cache is dropped.
  void reconfigure(std::shared_ptr<const policy::spf_policy_config> cfg);
  // Where the live policy exceptions come from (the server's snapshot, read on the io
  // thread per evaluation); none: no exceptions.
  void set_exceptions(std::function<policy::exception_snapshot()> source) {
    exceptions_ = std::move(source);
  }
  // The receiver name in Received-SPF (RFC 7208 9.1); default: gethostname().
  void set_receiver(std::string name) { receiver_ = std::move(name); }

  std::uint16_t port() const { return port_; }
  const policy_service_stats& stats() const { return stats_; }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<transport> t, std::string client, std::uint64_t id);
  // The action for one request; an error closes the connection without a reply.
  asio::awaitable<result<std::string>> answer(const policy::policy_attributes& a,
                                              const std::string& peer);

  asio::io_context& io_;
  dns::resolver& res_;
  std::shared_ptr<const policy::spf_policy_config> cfg_;
  std::string receiver_;
  std::function<policy::exception_snapshot()> exceptions_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  bool stopped_ = true;
  std::map<std::uint64_t, std::weak_ptr<transport>> conns_;
  std::uint64_t next_id_ = 0;
  policy::policy_instance_cache cache_;
  policy_service_stats stats_;
};

}  // namespace mxg::gateway
