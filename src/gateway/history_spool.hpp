// history_spool.hpp: the history writer's records kept on disk while the database is
// unreachable (issue 14), replayed in order when it is back. One append-only file of
// JSON lines (<dir>/spool.jsonl) and the byte offset of the first line not yet
// replayed (<dir>/spool.head, replaced atomically); both are emptied when everything
// is replayed. A crash between a replay and the head update replays those lines
// again: harmless, because records carry a uid (store::message_record::uid, INSERT ...
// ON CONFLICT DO NOTHING), quarantine entries are upserts, and a second release or
// delete only answers "already".
// Bounded: at most `max` lines wait; beyond that new lines are dropped (counted).
// Runs on the history writer's thread only (blocking file I/O, never the io thread).
// Security: the file holds peer text (addresses, subjects); it is created 0600 and only
// ever read back by JSON parsing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "store/history.hpp"

namespace mxg::gateway {

// One write of the history writer, as the spool keeps it.
struct spooled_release {
  std::string queue_id, by;
  std::int64_t when = 0;
  bool release = true;  // false: delete
};
using spooled_op = std::variant<store::message_record, store::quarantine_entry, spooled_release>;

std::string to_spool_line(const spooled_op& op);
result<spooled_op> from_spool_line(const std::string& line);

class history_spool {
 public:
  // Opens (creating) the spool in `dir`; the backlog of an earlier run is kept.
  static result<std::unique_ptr<history_spool>> open(const std::filesystem::path& dir,
                                                     std::size_t max);

  std::size_t backlog() const { return count_; }
  std::uint64_t dropped() const { return dropped_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Appends the lines (one write, fdatasync); returns how many were kept.
  result<std::size_t> append(const std::vector<std::string>& lines);
  // The oldest (at most) n lines not yet replayed, in order.
  result<std::vector<std::string>> front(std::size_t n);
  // The oldest n lines are in the database: forget them.
  result<void> pop(std::size_t n);

 private:
  history_spool(std::filesystem::path dir, std::size_t max) : dir_(std::move(dir)), max_(max) {}
  result<void> load();
  result<void> write_head();

  std::filesystem::path dir_;
  std::size_t max_;
  std::size_t count_ = 0;   // lines after head_
  std::uint64_t head_ = 0;  // byte offset of the first line to replay
  std::uint64_t end_ = 0;   // file size
  std::uint64_t dropped_ = 0;
  std::vector<std::uint64_t> next_;  // byte offsets after each line read by front()
};

}  // namespace mxg::gateway
