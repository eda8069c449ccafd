// transport.hpp: one SMTP connection's byte stream (plain TCP, or TLS after
// STARTTLS, RFC 3207): a bounded input buffer filled with deadlines, and output
// collected for one write per pipelined group (RFC 2920).
//
// Security: everything read here is hostile. The input buffer never grows past what
// the caller leaves unconsumed plus one read (the caller's line reader swallows
// overlong lines), and every read has a deadline (a timer cancels the socket), so a slow or silent
// client cannot hold memory or a session forever. After STARTTLS the plaintext buffer is discarded
// (RFC 3207 4.2, CVE-2011-0411 "command injection").
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mxg::gateway {

inline constexpr std::size_t kReadChunk = 4096;  // bytes per read(2)

enum class read_status {
  ok,       // bytes arrived
  timeout,  // the deadline passed
  closed,   // EOF or error
};

class transport : public std::enable_shared_from_this<transport> {
 public:
  // Create with std::make_shared (deadline handlers hold a reference).
  explicit transport(asio::ip::tcp::socket s);
  ~transport();

  asio::ip::tcp::socket& socket() { return sock_; }
  bool tls_active() const { return tls_ != nullptr; }
  std::string tls_version() const;  // "TLSv1.3" or ""
  std::string tls_cipher() const;   // "TLS_AES_256_GCM_SHA384" or ""
  int tls_bits() const;

  // Unread input (the front of the buffer); line splitting is smtp::line_reader's.
  std::string_view buffered() const { return std::string_view(buf_).substr(pos_); }
  void consume(std::size_t n) { pos_ += std::min(n, buf_.size() - pos_); }
  bool has_buffered() const { return pos_ < buf_.size(); }
  // Reads once more (up to kReadChunk bytes) within the deadline. The buffer holds
  // at most what the caller left unconsumed plus one chunk.
  asio::awaitable<read_status> fill(std::chrono::milliseconds deadline);
  // Waits up to `deadline` for input; true if something arrived (or the peer closed).
  asio::awaitable<bool> wait_readable(std::chrono::milliseconds deadline);
  // Drops buffered input (RFC 3207 4.2 after STARTTLS).
  void discard_buffer() {
    buf_.clear();
    pos_ = 0;
  }

  // Output is collected and written by flush() (one write for a pipelined group).
  void queue_output(std::string_view bytes) { out_.append(bytes); }
  bool output_pending() const { return !out_.empty(); }
  asio::awaitable<bool> flush(std::chrono::milliseconds deadline);

  // Server-side TLS handshake on the same socket.
  asio::awaitable<result<void>> start_tls(asio::ssl::context& ctx,
                                          std::chrono::milliseconds deadline);
  void close();

 private:
  using clock = asio::steady_timer::clock_type;
  // Deadlines are lazy: arm() only records the deadline when the running timer wait
  // ends no later than it (that wait then re-checks and waits again), disarm() only
  // clears it. A command-response turn thus costs no timer cancel and no new wait.
  void arm(std::chrono::milliseconds d);
  void disarm() { armed_ = false; }
  void start_wait();
  // Non-blocking write of out_ (plain TCP): bytes sent, or nullopt when the socket
  // failed. The rest, if any, goes through async_write.
  std::optional<std::size_t> write_now();
  // Non-blocking read of up to kReadChunk bytes appended to buf_ (plain TCP).
  std::size_t read_now(asio::error_code& ec);

  asio::ip::tcp::socket sock_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  asio::steady_timer timer_;
  clock::time_point deadline_{};  // valid while armed_
  bool armed_ = false;
  bool waiting_ = false;  // a timer wait is running (its handler not yet run)
  bool timed_out_ = false;
  std::uint64_t arm_gen_ = 0;
  std::string buf_;
  std::size_t pos_ = 0;
  std::string out_;
};

}  // namespace mxg::gateway
