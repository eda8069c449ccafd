// history_writer.hpp: the gateway's SQLite history (store/history.hpp) without stalls:
// sessions hand their records to a queue and return at once; one background thread
// writes whatever is queued in one transaction per round (batch), so a slow disk
// delays the history, never a session, and the hold-mode SMTP path pays one mutex.
// A second connection serves the look-ups of backscatter analysis (sent_message_id,
// sent_to) on the io thread; in WAL mode they do not wait for the writer (they see
// what the writer has committed).
// A failed write is logged and dropped: the mail itself is already in the queue.
// Beyond kHistoryQueueMax waiting records new ones are dropped (logged), so memory stays
// bounded if the disk stops.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "base/result.hpp"
#include "store/history.hpp"

namespace mxg::gateway {

inline constexpr std::size_t kHistoryQueueMax = 100'000;  // records waiting for the disk
inline constexpr std::size_t kHistoryBatchMax = 512;      // writes per transaction

class history_writer {
 public:
  // Opens `path` twice (writer thread and look-ups), creating it if needed.
  static result<std::unique_ptr<history_writer>> open(const std::string& path);
  ~history_writer();  // writes what is queued, then stops the thread
  history_writer(const history_writer&) = delete;
  history_writer& operator=(const history_writer&) = delete;

  const std::string& path() const { return path_; }

  // Never block on the disk (one mutex, one condition variable notify).
  void record(store::message_record m);
  void quarantine_add(store::quarantine_entry q);
  void quarantine_release(std::string queue_id, std::string by, std::int64_t when);

  // For look-ups on the io thread (its own connection).
  const store::history& reader() const { return *reader_; }
  store::history& reader() { return *reader_; }

  // Waits until everything queued so far is written (shutdown, tests).
  void flush();

  struct stats_t {
    std::uint64_t written = 0, failed = 0, dropped = 0, batches = 0;
  };
  stats_t stats() const;

 private:
  struct release_op {
    std::string queue_id, by;
    std::int64_t when = 0;
  };
  using op = std::variant<store::message_record, store::quarantine_entry, release_op>;

  history_writer(std::string path, std::unique_ptr<store::history> w,
                 std::unique_ptr<store::history> r);
  void push(op o);
  void loop();

  std::string path_;
  std::unique_ptr<store::history> writer_, reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<op> queue_;
  bool busy_ = false, stopping_ = false;
  stats_t stats_;
  std::thread thread_;
};

}  // namespace mxg::gateway
