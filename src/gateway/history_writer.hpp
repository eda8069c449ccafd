// history_writer.hpp: the gateway's SQLite history (store/history.hpp) without stalls:
// sessions hand their records to a queue and return at once; one background thread
// writes whatever is queued in one transaction per round (batch), so a slow disk
// delays the history, never a session, and the hold-mode SMTP path pays one mutex.
// A round first collects writes for up to kHistoryCoalesce (pushes during that time do
// not wake the thread), so under load one commit serves many messages.
// Look-ups for the bounce judgement (sent_message_id, sent_to) run on the same thread,
// in order with the writes (async_sent): the io thread never touches SQLite, and a
// bounce judged after our outbound record was queued sees that record. A second
// connection (reader()) is for tools and tests.
// A failed write is logged and dropped: the mail itself is already in the queue.
// Beyond kHistoryQueueMax waiting records new ones are dropped (logged), so memory stays
// bounded if the disk stops.
// Issue 9 section 3: quarantine_delete (delete and expiry) and async_call, any
// read on the writer thread (the control socket's quarantine commands, expiry), so
// the io thread never waits for SQLite.
// Issue 14: the store is SQLite or PostgreSQL (store::open). Each record gets a uid
// (its idempotent key) and this gateway's host id. When the database is unreachable
// (errc::temporary) the writes of the batch go to the on-disk spool
// (history_spool.hpp) and so does everything after them, until a replay (tried at
// most every kSpoolRetry) has written the backlog in order.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "gateway/history_spool.hpp"
#include "store/history.hpp"

namespace mxg::gateway {

inline constexpr std::size_t kHistoryQueueMax = 100'000;  // records waiting for the disk
inline constexpr std::size_t kHistoryBatchMax = 512;      // writes per transaction
// Writes wait up to this long for more to share their transaction (one SQLite commit and
// one thread wake-up for many messages instead of one each). A look-up (a session waits
// for it), flush() and stopping do not wait. The history is not part of the 250: a
// message is durable in the queue before it is recorded here.
inline constexpr std::chrono::milliseconds kHistoryCoalesce{20};
inline constexpr std::chrono::seconds kSpoolRetry{1};  // replay attempts while down

// What the outbound history says about a bounce's Message-IDs and recipients.
struct sent_facts {
  bool available = false;          // false: no answer (queue full): judge without history
  std::set<std::string> sent_ids;  // of the asked Message-IDs, those we sent
  std::set<std::string> sent_to;   // of the asked recipients (lower case), those we sent to
};

class history_writer {
 public:
  // Opens `path` twice (writer thread and look-ups), creating it if needed.
  static result<std::unique_ptr<history_writer>> open(const std::string& path);
  // Issue 14: the store of `o` (twice), records stamped with `host_id`, and with a
  // spool directory ("" = none) of at most spool_max records for outages.
  static result<std::unique_ptr<history_writer>> open(const store::options& o, std::string host_id,
                                                      const std::string& spool_dir,
                                                      std::size_t spool_max);
  ~history_writer();  // writes what is queued, then stops the thread
  history_writer(const history_writer&) = delete;
  history_writer& operator=(const history_writer&) = delete;

  const std::string& path() const { return path_; }  // SQLite file, or "postgresql"
  const std::string& host_id() const { return host_id_; }

  // Never block on the disk (one mutex, one condition variable notify).
  void record(store::message_record m);
  void quarantine_add(store::quarantine_entry q);
  void quarantine_release(std::string queue_id, std::string by, std::int64_t when);
  void quarantine_delete(std::string queue_id, std::string by, std::int64_t when);

  // Runs fn(store::history&) on the writer thread, in order after every write queued
  // before it, and completes on `ex` with its value (void(R)); with `fallback` when
  // the queue is full. fn must not keep the reference. Never blocks the caller.
  template <typename F, typename R = std::invoke_result_t<F&, store::history&>, typename Token>
  auto async_call(F fn, R fallback, asio::any_io_executor ex, Token&& token) {
    return asio::async_initiate<Token, void(R)>(
        [this, ex](auto handler, F fn, R fallback) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          auto done = [h, ex](R r) {
            asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
          };
          lookup_op op;
          op.fn = [fn = std::move(fn), done](store::history& db) mutable { done(fn(db)); };
          if (!push(std::move(op))) done(std::move(fallback));
        },
        token, std::move(fn), std::move(fallback));
  }

  // As async_call, for a write whose caller must know it is stored (issue 14: a remote
  // release request, answered "pending" only once it is): fn runs in the writer's batch
  // and the completion (void(result<R>)) waits for that batch's commit: fn's value when
  // it was committed, else why not (the database unreachable: errc::temporary; the
  // batch rolled back; the queue full).
  template <typename F, typename R = std::invoke_result_t<F&, store::history&>, typename Token>
  auto async_write(F fn, asio::any_io_executor ex, Token&& token) {
    return asio::async_initiate<Token, void(result<R>)>(
        [this, ex](auto handler, F fn) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          auto done = [h, ex](result<R> r) {
            asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
          };
          auto got = std::make_shared<std::optional<R>>();
          lookup_op op;
          op.fn = [fn = std::move(fn), got](store::history& db) mutable { got->emplace(fn(db)); };
          op.settle = [got, done](const result<void>& batch) {
            if (!batch)
              done(std::unexpected(batch.error()));
            else if (!*got)
              done(fail(errc::temporary, "history: not written"));
            else
              done(std::move(**got));
          };
          if (!push(std::move(op))) done(fail(errc::temporary, "history queue full: try again"));
        },
        token, std::move(fn));
  }

  // Asks the writer thread which of `ids` we sent and to which of `rcpts` we sent
  // (since `since`); completes on `ex` with sent_facts, in order after every write
  // queued before it. Never blocks the caller.
  template <typename Token>
  auto async_sent(std::vector<std::string> ids, std::vector<std::string> rcpts, std::int64_t since,
                  asio::any_io_executor ex, Token&& token) {
    return asio::async_initiate<Token, void(sent_facts)>(
        [this, ex, since](auto handler, std::vector<std::string> ids,
                          std::vector<std::string> rcpts) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          auto done = [h, ex](sent_facts f) {
            asio::post(ex, [h, f = std::move(f)]() mutable { (*h)(std::move(f)); });
          };
          lookup_op op;
          op.fn = [ids = std::move(ids), rcpts = std::move(rcpts), since,
                   done](store::history& db) { done(lookup(db, ids, rcpts, since)); };
          if (!push(std::move(op))) done(sent_facts{});
        },
        token, std::move(ids), std::move(rcpts));
  }

  // A second connection, for tools and tests (SQLite calls block: not for the io thread).
  const store::history& reader() const { return *reader_; }
  store::history& reader() { return *reader_; }

  // Waits until everything queued so far is written (shutdown, tests).
  void flush();

  struct stats_t {
    std::uint64_t written = 0, failed = 0, dropped = 0, batches = 0;
    // Issue 14: records waiting in the spool, spooled and replayed since start, dropped
    // because the spool was full; whether the last attempt reached the database.
    std::uint64_t spool_backlog = 0, spooled = 0, replayed = 0, spool_dropped = 0;
    bool db_up = true;
  };
  stats_t stats() const;

 private:
  struct lookup_op {
    std::function<void(store::history&)> fn;  // emptied once run
    // async_write: told whether the batch fn ran in was committed (emptied once told).
    std::function<void(const result<void>&)> settle;
  };
  using op =
      std::variant<store::message_record, store::quarantine_entry, spooled_release, lookup_op>;

  history_writer(std::string path, std::unique_ptr<store::history> w,
                 std::unique_ptr<store::history> r, std::string host_id,
                 std::unique_ptr<history_spool> spool);
  // The batch's writes to the spool (the database is unreachable).
  void spool_ops(std::vector<op>& batch, std::uint64_t& bad);
  // Writes the spool's backlog in order while the database answers; true when empty.
  bool replay();
  // One write; errc::temporary = the database is unreachable.
  result<void> apply(const op& o);
  void went_down(const error& e);
  static sent_facts lookup(store::history& db, const std::vector<std::string>& ids,
                           const std::vector<std::string>& rcpts, std::int64_t since);
  bool push(op o);
  void loop();

  std::string path_;
  std::string host_id_;
  std::unique_ptr<store::history> writer_, reader_;
  std::unique_ptr<history_spool> spool_;  // null: no spooling (SQLite)
  std::chrono::steady_clock::time_point next_try_{};
  std::uint64_t uid_prefix_ = 0;
  std::atomic<std::uint64_t> uid_seq_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<op> queue_;
  bool busy_ = false, stopping_ = false;
  bool collecting_ = false;  // the thread waits kHistoryCoalesce for more writes
  bool urgent_ = false;      // a look-up or flush() waits: write the batch now
  stats_t stats_;
  std::thread thread_;
};

}  // namespace mxg::gateway
