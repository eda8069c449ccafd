// server.hpp: the running gateway of `mxguard serve`: named listeners (each with its
// own delivery mode, queue directory and limits), one coroutine per SMTP session,
// session limits (total and per client IP, 421 4.7.0 beyond them), the control
// socket, SIGHUP reload and SIGTERM/SIGINT drain.
//
// The server owns the effects its sessions share: one DNS resolver (c-ares behind a
// TTL cache, [dns]; rDNS of clients, SPF evidence of bounces, and delivery), the
// history writer ([history], history_writer.hpp) and, per listener state, the
// backscatter filter of the configuration in force (swapped on reload).
//
// Threads: everything here runs on one io_context thread; the queue's directory
// syncer thread reports back through asio::post; the history writer has its own thread. Sessions
// keep a shared_ptr to the listener settings they started with, so a reload never changes a running
// session.
//
// Security: the listeners face the Internet. Counters are taken before anything is
// read from a client, and a refused client gets one reply line and a close.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "dmarc/psl.hpp"
#include "dns/hosts_file.hpp"
#include "dns/resolver.hpp"
#include "gateway/backscatter_filter.hpp"
#include "gateway/config.hpp"
#include "gateway/delivery_hook.hpp"
#include "net/ip_address.hpp"
#include "policy/dmarc_policy.hpp"
#include "policy/exception.hpp"
#include "policy/spf_policy.hpp"
#include "queue/queue_dir.hpp"

namespace mxg::gateway {

class control_server;
class policy_service;
class transport;
class history_writer;
class remote_release_worker;
struct dnsbl_setup;  // dnsbl_step.hpp

// The SPF policy of one listener: the global [spf] with the listener's overrides, and
// the networks whose clients skip SPF (the [spf] trusted_networks, or the relay's).
struct spf_setup {
  bool enabled = false;
  policy::spf_policy_config cfg;
  std::vector<net::cidr> trusted;  // relay trusted networks when [spf] sets none
};

// DKIM, ARC and DMARC of one listener (issue 10 section 4): [dkim]/[dmarc] with the
// listener's overrides; DMARC needs DKIM results, so dmarc on verifies DKIM too.
struct auth_setup {
  bool dkim = false;
  bool dmarc = false;
  policy::dmarc_policy_config cfg;  // authserv_id: the one Authentication-Results id
  std::shared_ptr<const dmarc::public_suffix_list> psl;  // mode "psl" only
  bool active() const { return dkim || dmarc; }
};

// What a session needs from the server, resolved once per listener.
struct listener_state {
  std::shared_ptr<const listener_config> cfg;
  std::shared_ptr<const relay_config> relay;
  std::shared_ptr<asio::ssl::context> tls;           // null: no STARTTLS
  queue::queue_dir* queue = nullptr;                 // owned by the server
  std::shared_ptr<const backscatter_filter> filter;  // never null (disabled: accepts all)
  std::shared_ptr<const spf_setup> spf;              // never null (disabled: no SPF)
  std::shared_ptr<const dnsbl_setup> dnsbl;          // null: [dnsbl] off
  std::shared_ptr<const auth_setup> auth;            // never null (disabled: no DKIM/DMARC)
  std::size_t sessions = 0;
  std::map<net::ip_address, std::size_t> per_ip;
  bool accepting = true;
};

// Counters for logs and the control socket.
struct server_stats {
  std::uint64_t sessions = 0, refused_sessions = 0, messages = 0, queue_errors = 0;
};

class server {
 public:
  explicit server(asio::io_context& io);
  ~server();

  // Installs the signal handlers (first: a SIGTERM during a slow start is a drain),
  // loads the routing table, opens every queue (lock + recovery), binds every
  // listener, starts the control socket and delivery. Any failure: one clear message,
  // nothing runs.
  result<void> start(config c);
  // The line tests and service managers wait for ("ready listeners=N delivery=on|off"):
  // logged by the caller once everything it starts beside the server (the web console)
  // listens too, so a client that saw the line never finds a port closed.
  void log_ready() const;
  // SIGHUP: re-reads the config file (or the embedded default) and runs the checks of
  // preflight.hpp; a bad config or routing table is reported and the running one kept,
  // a good one applies whole (a new routing table included).
  void reload();
  // Stops accepting, lets open sessions finish within drain_timeout, then stops io.
  void drain();
  bool draining() const { return draining_; }

  const config& cfg() const { return cfg_; }
  server_stats& stats() { return stats_; }
  asio::io_context& io() { return io_; }

  // The shared resolver (cached); null when it could not be set up (rDNS and SPF
  // evidence are skipped then). `delivery_resolver` is the uncached c-ares one.
  dns::resolver* resolver() { return resolver_.get(); }
  // The static host table (/etc/hosts), read at start and on SIGHUP: rDNS asks it
  // before DNS, as the system resolver does.
  const dns::hosts_file& hosts() const { return hosts_; }
  dns::resolver* delivery_resolver();
  // rDNS health: after a lookup that timed out, sessions stop waiting for rDNS at DATA
  // (they still use a name that arrives in time) until a lookup is answered again, so
  // a dead resolver cannot slow every message by the wait bound.
  void note_rdns(bool timed_out) { rdns_degraded_ = timed_out; }
  bool rdns_degraded() const { return rdns_degraded_; }
  // Null when [history] enabled = false.
  history_writer* history() { return history_.get(); }
  // The backscatter filter of the configuration in force.
  std::shared_ptr<const backscatter_filter> backscatter() const { return filter_; }

  // Issue 11: the live policy exceptions ("release and allow"), an in-memory snapshot
  // read by sessions on the io thread (never null). refresh_exceptions() re-reads them
  // on the history writer's thread (after the writes queued so far) and swaps the
  // snapshot; it runs at start, on SIGHUP (then it logs "policy exceptions loaded
  // live=N expired=M (why)"), every kExceptionRefresh; a change
  // made through the admin API sets it (set_exceptions) before it answers.
  policy::exception_snapshot exceptions() const { return exceptions_; }
  void refresh_exceptions(const char* why = nullptr);
  void set_exceptions(std::vector<store::policy_exception> live) {
    exceptions_ = std::make_shared<const policy::exception_set>(std::move(live));
  }
  static constexpr std::chrono::seconds kExceptionRefresh{60};

  // Called by sessions when a message was committed (deliver mode hands it to the
  // delivery scheduler).
  void message_queued(const listener_state& l, const std::string& qid);
  // A message released by the control socket (deliver it if its mode says so).
  void message_released(queue::queue_dir& q, const std::string& qid);
  // Queue directories by path (for the control socket).
  std::map<std::string, std::unique_ptr<queue::queue_dir>>& queues() { return queues_; }
  // Finds the queue for a listener name or a directory ("" = the first).
  queue::queue_dir* find_queue(const std::string& which);
  // Whether queued mail is being delivered, and why not (`mxguard status`).
  delivery_state delivery_status() const;
  // Runs the delivery of queued messages (all or the given ids); returns a summary.
  asio::awaitable<std::string> queue_run(queue::queue_dir& q, std::vector<std::string> ids);

  // Sessions waiting for a command outside a transaction register here, so a drain
  // can wake them to answer 421 and close.
  void set_idle(const std::string& sid, std::weak_ptr<transport> t);
  void clear_idle(const std::string& sid);

  std::string config_path;  // empty: embedded default
  std::string listen_override, mode_override;
  // Called on the io thread by a successful SIGHUP reload with the new configuration,
  // before "reload done" is logged (serve.cpp reloads the web console's [console] users;
  // the gateway never includes src/web/).
  std::function<void(const config&)> on_reload;

 private:
  struct listener_rt;
  result<void> apply(config c, bool initial);
  asio::awaitable<void> accept_loop(std::shared_ptr<listener_rt> l);
  void watch_signals();
  // Hourly (first run a minute after start): quarantine expiry ([quarantine]
  // retention) and history pruning ([history] retention), off the io thread's SQLite.
  void housekeeping();

  asio::io_context& io_;
  config cfg_;
  std::unique_ptr<dns::resolver> cares_;     // c-ares ([dns])
  std::unique_ptr<dns::resolver> resolver_;  // TTL cache in front of cares_
  std::unique_ptr<policy_service> policy_;   // [policy_service]; uses resolver_
  dns::hosts_file hosts_;
  std::unique_ptr<history_writer> history_;
  std::unique_ptr<remote_release_worker> remote_releases_;  // [store] postgresql only
  std::shared_ptr<const backscatter_filter> filter_;
  bool rdns_degraded_ = false;
  std::vector<std::shared_ptr<listener_rt>> listeners_;
  std::map<std::string, std::unique_ptr<queue::queue_dir>> queues_;
  std::unique_ptr<control_server> control_;
  std::unique_ptr<delivery_hook> delivery_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  asio::steady_timer housekeeping_timer_;
  asio::steady_timer exceptions_timer_;
  policy::exception_snapshot exceptions_ = std::make_shared<const policy::exception_set>();
  bool draining_ = false;
  std::map<std::string, std::weak_ptr<transport>> idle_;
  std::size_t open_sessions_ = 0;
  server_stats stats_;
  friend class session;
};

}  // namespace mxg::gateway
