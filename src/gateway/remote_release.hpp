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
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// Whether a release of `e` asked here is one for another host: the index names a host
// that is not this one (a shared store). The entry's openness is the caller's check.
bool held_elsewhere(const history_writer& hw, const store::quarantine_entry& e);

// Writes a remote release request of each of `entries` (held elsewhere) by `by` on the
// writer thread, and completes once they are committed (and the owners notified): per
// entry, "" when requested, else why not (the database unreachable, the queue full...).
// The caller answers "release pending" only for those.
asio::awaitable<std::vector<std::string>> request_remote_releases(
    history_writer& hw, std::vector<store::quarantine_entry> entries, std::string by,
    std::int64_t when);
// The same, blocking, on a connection of the caller's (the control socket's test form).
std::string request_remote_release_now(store::history& db, const store::quarantine_entry& e,
                                       const std::string& by, std::int64_t when);

}  // namespace mxg::gateway
