// queue_id.hpp: time-ordered unique queue ids (the "<queue-id>" of
// `250 2.0.0 <queue-id> Message accepted for delivery`, RFC 5321 4.2.1 leaves the
// text free) and the names of a message's files in the queue directory.
//
// Form: 13 upper-case hex digits of microseconds since the Unix epoch (good until
// year 2112), then 5 hex digits of "node" bits (random + pid, fixed per generator),
// e.g. "00661A2B3C4D5A3F9C": always exactly kQueueIdLength characters of [0-9A-F]. Ids sort as
// strings in the order they were made (within one generator strictly; across processes by
// microsecond). One generator never returns the same time part twice (it steps forward if the clock
// stands still or goes back), so ids of one process are unique without a lock on the disk; the node
// bits separate processes, and the writer still creates with O_EXCL and renames with
// RENAME_NOREPLACE, so a collision is an error, never an overwrite.
//
// Security: parse() is used on names read from disk and from the CLI; it accepts
// only the exact form, so an id can never carry '/', "..", or other path syntax.
#pragma once

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mxg::queue {

inline constexpr std::size_t kQueueIdTimeDigits = 13;  // hex digits of microseconds
inline constexpr std::size_t kQueueIdNodeDigits = 5;   // hex digits of node bits
inline constexpr std::size_t kQueueIdLength = kQueueIdTimeDigits + kQueueIdNodeDigits;

class queue_id {
 public:
  queue_id() = default;  // empty (invalid) id; valid ids come from parse() or a generator

  // Accepts exactly kQueueIdLength characters of [0-9A-F] (upper case only, so that
  // string order is time order and one message has one spelling).
  static result<queue_id> parse(std::string_view text);
  static bool valid(std::string_view text) noexcept;

  // Builds an id from its parts (microseconds since epoch, node bits < 16^5).
  static queue_id from_parts(std::uint64_t micros, std::uint32_t node);

  const std::string& str() const noexcept { return text_; }
  bool empty() const noexcept { return text_.empty(); }
  // The moment the id was made (microsecond precision).
  std::chrono::system_clock::time_point time() const noexcept;
  std::uint32_t node() const noexcept;

  auto operator<=>(const queue_id&) const = default;
  bool operator==(const queue_id&) const = default;

 private:
  explicit queue_id(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// Thread-safe generator; one per process is enough (queue_dir owns one).
class id_generator {
 public:
  // node: the 20 node bits; default picks random bits mixed with the pid.
  id_generator();
  explicit id_generator(std::uint32_t node);
  queue_id next() noexcept;
  std::uint32_t node() const noexcept { return node_; }

 private:
  std::uint32_t node_;
  std::atomic<std::uint64_t> last_micros_{0};
};

}  // namespace mxg::queue

template <>
struct std::hash<mxg::queue::queue_id> {
  std::size_t operator()(const mxg::queue::queue_id& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};
