// delivery_hook.hpp: where the running gateway hands committed messages to the
// delivery side (src/delivery): at once for listeners in `deliver` mode, on
// `mxguard queue run` (control socket) and on periodic queue runs
// (queue_run_interval). Hold-mode messages are never handed over until released.
// Delivery is "on" once the scheduler runs; it is "off" only when the resolver could
// not be set up (a bad routing table never gets this far: start-up and reload refuse
// it, preflight.hpp). Off is loud: an error line at start, on every reload and for
// every message left in the queue because of it, and `mxguard status` shows it.
#pragma once

#include <asio/awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

#include "delivery/routing.hpp"
#include "queue/queue_dir.hpp"

namespace mxg::gateway {

class server;

// What `mxguard status` shows about delivery.
struct delivery_state {
  bool on = false;
  std::string reason;         // why it is off
  std::string routing_table;  // file of the table in force ("" = none: every message mx)
  std::size_t rules = 0;      // rules of the table in force
};

class delivery_hook {
 public:
  explicit delivery_hook(server& srv);
  ~delivery_hook();
  // Starts the scheduler with `routes` (the table of the config in force).
  void start(std::shared_ptr<const delivery::routing_table> routes);
  // Reload: `routes` applies to the next attempts; delivery that was off is tried
  // again (and stays off, loudly, while the resolver is missing).
  void set_routes(std::shared_ptr<const delivery::routing_table> routes);
  delivery_state state() const;
  void stop();
  // A message just committed (deliver mode) or released.
  void deliver_now(queue::queue_dir& q, const std::string& qid);
  // A queue run over all due messages (ids empty) or the given ones; returns a summary.
  asio::awaitable<std::string> run(queue::queue_dir& q, std::vector<std::string> ids);

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace mxg::gateway
