// queue_id.cpp: time-ordered queue ids (see queue_id.hpp for the form).
#include "queue/queue_id.hpp"

#include <unistd.h>

#include <random>

namespace mxg::queue {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr std::uint32_t kNodeMask = (1u << (4 * kQueueIdNodeDigits)) - 1;

bool is_upper_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

std::uint64_t hex_value(std::string_view s) noexcept {
  std::uint64_t v = 0;
  for (char c : s) v = v * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'A' + 10);
  return v;
}

std::uint64_t now_micros() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

bool queue_id::valid(std::string_view text) noexcept {
  if (text.size() != kQueueIdLength) return false;
  for (char c : text)
    if (!is_upper_hex(c)) return false;
  return true;
}

result<queue_id> queue_id::parse(std::string_view text) {
  if (!valid(text)) {
    std::string shown(text.substr(0, 64));
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return fail(errc::invalid_argument, "not a queue id: \"" + shown + "\" (expected " +
                                            std::to_string(kQueueIdLength) +
                                            " upper-case hex digits)");
  }
  return queue_id(std::string(text));
}

queue_id queue_id::from_parts(std::uint64_t micros, std::uint32_t node) {
  std::string s(kQueueIdLength, '0');
  for (std::size_t i = 0; i < kQueueIdTimeDigits; ++i)
    s[kQueueIdTimeDigits - 1 - i] = kHex[(micros >> (4 * i)) & 0xf];
  for (std::size_t i = 0; i < kQueueIdNodeDigits; ++i)
    s[kQueueIdLength - 1 - i] = kHex[(node >> (4 * i)) & 0xf];
  return queue_id(std::move(s));
}

std::chrono::system_clock::time_point queue_id::time() const noexcept {
  if (text_.size() != kQueueIdLength) return {};
  auto us = std::chrono::microseconds(
      static_cast<std::int64_t>(hex_value(std::string_view(text_).substr(0, kQueueIdTimeDigits))));
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(us));
}

std::uint32_t queue_id::node() const noexcept {
  if (text_.size() != kQueueIdLength) return 0;
  return static_cast<std::uint32_t>(hex_value(std::string_view(text_).substr(kQueueIdTimeDigits)));
}

id_generator::id_generator() {
  std::random_device rd;
  std::uint32_t r = rd() ^ (static_cast<std::uint32_t>(::getpid()) * 2654435761u);
  node_ = r & kNodeMask;
}

id_generator::id_generator(std::uint32_t node) : node_(node & kNodeMask) {}

queue_id id_generator::next() noexcept {
  // Strictly increasing time part: if the clock did not move (or went back), step
  // one microsecond past the last id. Lock-free: compare-and-swap on the last value.
  std::uint64_t now = now_micros();
  std::uint64_t last = last_micros_.load(std::memory_order_relaxed);
  std::uint64_t mine;
  do {
    mine = now > last ? now : last + 1;
  } while (!last_micros_.compare_exchange_weak(last, mine, std::memory_order_relaxed));
  return queue_id::from_parts(mine, node_);
}

}  // namespace mxg::queue
