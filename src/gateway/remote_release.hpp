// remote_release.hpp: releases asked on another gateway for messages this one holds
// (issue 14). With a shared database (PostgreSQL), a release of a quarantined message
// whose index entry names another host is not done where it is asked: it becomes a row
// of remote_releases, and the request NOTIFYs mxguard_release with the owner's host id.
// The owner LISTENs on a connection of its own (opened on the history writer's thread,
// then watched by the io loop: asio::posix::stream_descriptor, PQconsumeInput and
// PQnotifies, never blocking), so a release is carried out at once; it also reads its
// pending rows at start, when the LISTEN connection is (re)established, and every
// [store] release_poll (default 30 s) for what a notification did not bring (a lost
// connection is opened again at that pace). Reading the rows runs on the history
// writer's thread; each message is released from its own queue on the io thread
// (quarantine_queue_op: exactly once, as a local release), the index marked released
// and the row done with what happened. A host that is down does nothing: its rows stay
// pending, and `mxguard quarantine list` shows them so.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
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

class remote_release_worker {
 public:
  // dsn: the LISTEN connection's ("" = none: polling only); poll: the fallback period.
  remote_release_worker(server& srv, history_writer& hw, std::string dsn,
                        std::chrono::milliseconds poll);
  ~remote_release_worker();
  void start();
  void stop();

 private:
  // Reads the pending rows now (or right after the read in flight).
  void poll();
  void arm_timer();
  void carry_out(const store::remote_release& rr, const std::optional<store::quarantine_entry>& e);
  // Opens the LISTEN connection (on the writer thread) unless it is open or opening.
  void listen();
  void watch();
  void drop_listener(const std::string& why);

  server& srv_;
  history_writer& hw_;
  std::string dsn_;
  std::chrono::milliseconds poll_every_;
  asio::steady_timer timer_;
  bool polling_ = false, again_ = false;
  std::shared_ptr<void> conn_;  // PGconn, PQfinish'ed with the last reference
  std::unique_ptr<asio::posix::stream_descriptor> sock_;  // a dup of its socket
  bool connecting_ = false, listen_failed_ = false;
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
