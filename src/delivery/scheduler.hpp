// scheduler.hpp: takes messages from the durable queue (src/queue) and delivers them
// with the SMTP client, honouring each message's delivery mode (issue 3, section 5):
//   deliver    at once (deliver_now after the commit) and again when deferred
//              recipients become due (exponential backoff, retry.hpp);
//   queueonly  only on queue runs: periodic ones (delivery_options::queue_run_interval)
//              or `mxguard queue run`;
//   hold       never, until `mxguard queue release`.
// Recipients are grouped by next hop (routing table, then MX of the recipient domain);
// one SMTP transaction per group. After each attempt the control file is rewritten
// atomically with every recipient's status (queue_dir::update). Permanent failures and
// expiry (retry_policy::lifetime, RFC 5321 4.5.4.1) produce an RFC 3464 DSN, queued to
// the envelope sender, never to the null sender (RFC 5321 4.5.5 / 6.1), and not at all
// when delivery_options::dsn is false (to avoid creating backscatter). A message whose
// recipients are all delivered or failed is removed from the queue.
// Logs one line per recipient per attempt: qid=, to=, relay= (the host), status=, reply=.
// Threads: a scheduler lives on one io_context thread; its blocking queue_dir work (the
// scan for due messages, control file updates, DSN stores, removals) runs on
// net::offload's pool; reading the one message of an attempt stays on the loop.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "delivery/client.hpp"
#include "delivery/retry.hpp"
#include "delivery/routing.hpp"
#include "dns/resolver.hpp"
#include "queue/queue_dir.hpp"

namespace mxg::delivery {

inline constexpr std::chrono::seconds kSchedulerTickDefault{30};  // scan for due messages
inline constexpr std::size_t kConcurrentMessagesDefault = 16;     // messages in flight

struct delivery_options {
  std::string hostname = "localhost";  // EHLO name and Reporting-MTA of DSNs
  client_options client;               // its helo_name is replaced by hostname
  retry_policy retry;
  bool dsn = true;  // false: never generate DSNs (failures are only logged)
  // Periodic queue runs (also deliver queueonly messages); nullopt: none.
  std::optional<std::chrono::seconds> queue_run_interval;
  std::chrono::seconds tick = kSchedulerTickDefault;
  std::size_t concurrency = kConcurrentMessagesDefault;
  // Injected clock (tests); default system_clock::now.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Rewrites the MAIL FROM of relayed mail (BATV signing of our senders); empty: as queued.
  std::function<std::string(const std::string&)> outbound_sender;
};

// Why a message is attempted: decides which messages and recipients are taken.
enum class trigger {
  immediate,     // deliver-mode messages, recipients pending or due
  periodic_run,  // deliver and queueonly messages, recipients pending or due
  manual_run,    // deliver and queueonly messages, every undelivered recipient (no backoff)
};

struct recipient_outcome {
  std::string address;
  queue::rcpt_status status = queue::rcpt_status::pending;
  std::string reply;   // last reply or local reason
  std::string remote;  // "host[ip]:port" that answered, "" when none
  std::string route;   // the routing action used ("mx", "relay:[...]", "hold")
};

struct message_outcome {
  queue::queue_id id;
  std::string skipped;  // non-empty: not attempted, and why ("held", "not due", ...)
  std::string error;    // a local error (unreadable message, queue update failed)
  std::vector<recipient_outcome> recipients;  // the recipients attempted now
  std::optional<queue::queue_id> dsn;         // DSN queued for this attempt
  bool removed = false;                       // every recipient done: the message left the queue
};

// Pure step: applies one attempt's per-recipient results to the envelope
// (2xx delivered, 5xx failed, 4xx deferred with next_attempt from the policy; deferred
// recipients of an expired message fail with status 4.4.7) and counts the attempt.
// Returns the indices of recipients that became failed in this attempt.
std::vector<std::size_t> apply_results(
    queue::envelope& env, const std::vector<std::pair<std::size_t, rcpt_result>>& results,
    std::chrono::system_clock::time_point now, const retry_policy& policy);

// Is recipient `r` to be attempted now for this trigger?
bool recipient_due(const queue::recipient& r, trigger t, std::chrono::system_clock::time_point now);

// Attempts one message once. Never throws for delivery outcomes.
asio::awaitable<message_outcome> attempt_message(queue::queue_dir& q, const queue::queue_id& id,
                                                 trigger t, dns::resolver& resolver,
                                                 const routing_table& routes,
                                                 const delivery_options& opts,
                                                 asio::ssl::context* tls);

// A queue run over the given ids (empty: every message of the queue), one message at
// a time, trigger manual_run. Used by `mxguard queue run` (offline) and by the server.
asio::awaitable<std::vector<message_outcome>> run_queue(
    queue::queue_dir& q, std::vector<queue::queue_id> ids, dns::resolver& resolver,
    const routing_table& routes, const delivery_options& opts, asio::ssl::context* tls);

// Human-readable lines of outcomes ("ID to=<x> deferred: 451 ...") and their JSON.
std::string format_outcomes(const std::vector<message_outcome>& out);
std::string outcomes_json(const std::vector<message_outcome>& out);

// The long-running part for `mxguard serve`: owns the periodic loop and the set of
// messages in flight. All members must be called on the executor's thread.
class scheduler {
 public:
  scheduler(asio::any_io_executor ex, dns::resolver& resolver,
            std::shared_ptr<const routing_table> routes, delivery_options opts);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  void add_queue(queue::queue_dir& q);  // before start()
  void start();                         // starts the periodic loop
  void stop();                          // stops the loop; attempts in flight finish
  void set_routes(std::shared_ptr<const routing_table> routes);  // e.g. on SIGHUP

  // A message was just committed in deliver mode (or released): attempt it now.
  void deliver_now(queue::queue_dir& q, const queue::queue_id& id);
  // A queue run (manual_run) over ids (empty: all), e.g. from the control socket.
  asio::awaitable<std::vector<message_outcome>> run(queue::queue_dir& q,
                                                    std::vector<queue::queue_id> ids);
  std::size_t in_flight() const { return in_flight_.size(); }

 private:
  asio::awaitable<void> loop();
  asio::awaitable<void> scan(trigger t);
  bool spawn(queue::queue_dir& q, const queue::queue_id& id, trigger t);

  asio::any_io_executor ex_;
  dns::resolver& resolver_;
  std::shared_ptr<const routing_table> routes_;
  delivery_options opts_;
  asio::ssl::context tls_;
  std::vector<queue::queue_dir*> queues_;
  std::set<std::string> in_flight_;  // "<dir>/<id>"
  asio::steady_timer timer_;
  bool running_ = false;
  std::shared_ptr<bool> alive_;
  std::chrono::steady_clock::time_point last_run_{};
};

}  // namespace mxg::delivery
