// remote_release.hpp: releases asked on another gateway for messages this one holds
// (issue 14). With a shared database (PostgreSQL), a release of a quarantined message
// whose index entry names another host is not done where it is asked: it becomes a row
// of remote_releases. The owner polls its pending rows (every kRemoteReleasePoll, on
// the history writer's thread), releases each message from its own queue on the io
// thread (quarantine_queue_op: exactly once, as a local release), marks the index
// released and the row done with what happened. A host that is down does nothing: its
// rows stay pending, and `mxguard quarantine list` shows them so.
// XXX: polling; LISTEN mxguard_release on a connection watched by the io loop would
// carry a release out at once (the requests already NOTIFY).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "store/history.hpp"

namespace mxg::gateway {

class server;
class history_writer;

inline constexpr std::chrono::seconds kRemoteReleasePoll{1};

class remote_release_worker {
 public:
  remote_release_worker(server& srv, history_writer& hw);
  void start();
  void stop();

 private:
  void poll();
  void carry_out(const store::remote_release& rr, const std::optional<store::quarantine_entry>& e);

  server& srv_;
  history_writer& hw_;
  asio::steady_timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A release asked here of a message that `e` says another host holds: queued as a
// remote release (true), or false when this host holds it (or the index names none).
// The request is written on the writer thread; its outcome is logged on `ex`.
bool request_remote_release(history_writer& hw, const store::quarantine_entry& e,
                            const std::string& by, std::int64_t when, asio::any_io_executor ex);

}  // namespace mxg::gateway
