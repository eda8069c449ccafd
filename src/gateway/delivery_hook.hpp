// delivery_hook.hpp: where the running gateway hands committed messages to the
// delivery side (src/delivery): at once for listeners in `deliver` mode, on
// `mxguard queue run` (control socket) and on periodic queue runs
// (queue_run_interval). Hold-mode messages are never handed over until released.
#pragma once

#include <asio/awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

#include "queue/queue_dir.hpp"

namespace mxg::gateway {

class server;

class delivery_hook {
 public:
  explicit delivery_hook(server& srv);
  ~delivery_hook();
  void start();
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
