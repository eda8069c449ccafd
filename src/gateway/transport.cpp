// transport.cpp: see transport.hpp. Deadlines: one steady_timer per connection cancels
// the socket when the armed deadline has passed; this costs no extra coroutine frame
// per read, which keeps idle connections small. The timer is lazy (arm() moves a
// deadline value, the running wait re-checks it when it ends), so a command costs no
// timer cancel and no new wait. Plain TCP reads and writes try the system call first
// (send/recv with MSG_DONTWAIT) and only wait when it would block.
#include "gateway/transport.hpp"

#include <openssl/ssl.h>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace mxg::gateway {

using asio::use_awaitable;

transport::transport(asio::ip::tcp::socket s) : sock_(std::move(s)), timer_(sock_.get_executor()) {}

transport::~transport() = default;

void transport::arm(std::chrono::milliseconds d) {
  timed_out_ = false;
  armed_ = true;
  deadline_ = clock::now() + d;
  // The running wait ends first: its handler sees the later deadline and waits again.
  if (waiting_ && timer_.expiry() <= deadline_) return;
  timer_.expires_at(deadline_);  // cancels a running wait that would end too late
  start_wait();
}

void transport::start_wait() {
  waiting_ = true;
  // The handler keeps the transport alive (it may be queued when the session ends);
  // a wait replaced by a newer one (expires_at above) ignores its own ending.
  timer_.async_wait([self = shared_from_this(), gen = ++arm_gen_](const asio::error_code& ec) {
    if (gen != self->arm_gen_) return;
    self->waiting_ = false;
    if (ec || !self->armed_) return;       // cancelled (close) or nothing armed any more
    if (clock::now() < self->deadline_) {  // re-armed later since this wait began
      self->timer_.expires_at(self->deadline_);
      self->start_wait();
      return;
    }
    self->armed_ = false;
    self->timed_out_ = true;
    asio::error_code ignored;
    self->sock_.cancel(ignored);
  });
}

void transport::close() {
  asio::error_code ec;
  armed_ = false;
  timer_.cancel();
  // close(2) alone sends the FIN after what is still queued (an explicit shutdown first
  // was one more system call per connection and changed nothing on the wire).
  sock_.close(ec);
}

// Direct system calls with MSG_DONTWAIT: they never block whatever the socket's mode,
// and cost no fcntl/ioctl to switch it.
std::optional<std::size_t> transport::write_now() {
  for (;;) {
    ssize_t n =
        ::send(sock_.native_handle(), out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    return std::nullopt;
  }
}

std::size_t transport::read_now(asio::error_code& ec) {
  std::size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  ssize_t n;
  do {
    n = ::recv(sock_.native_handle(), buf_.data() + old, kReadChunk, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    ec = {};
  } else if (n == 0) {
    ec = asio::error::eof;
  } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
    ec = asio::error::would_block;
  } else {
    ec = asio::error_code(errno, asio::error::get_system_category());
  }
  std::size_t got = n > 0 ? static_cast<std::size_t>(n) : 0;
  buf_.resize(old + got);
  return got;
}

std::string transport::tls_version() const {
  if (!tls_) return "";
  return SSL_get_version(
      const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_).native_handle());
}

std::string transport::tls_cipher() const {
  if (!tls_) return "";
  auto* ssl = const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_).native_handle();
  const char* n = SSL_get_cipher_name(ssl);
  return n ? n : "";
}

int transport::tls_bits() const {
  if (!tls_) return 0;
  auto* ssl = const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_).native_handle();
  return SSL_get_cipher_bits(ssl, nullptr);
}

asio::awaitable<read_status> transport::fill(std::chrono::milliseconds deadline) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > kReadChunk) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  asio::error_code ec;
  if (!tls_ && buf_.capacity() < kReadChunk) {
    // Plain TCP before the first read: wait for readability (a zero-byte wait: a
    // connection that never sends holds no read buffer), then one non-blocking read(2).
    for (;;) {
      arm(deadline);
      co_await sock_.async_wait(asio::ip::tcp::socket::wait_read,
                                asio::redirect_error(use_awaitable, ec));
      disarm();
      if (ec) co_return timed_out_ ? read_status::timeout : read_status::closed;
      std::size_t n = read_now(ec);
      if (n > 0) co_return read_status::ok;
      if (ec == asio::error::would_block || ec == asio::error::try_again ||
          ec == asio::error::interrupted)
        continue;  // nothing after all: wait (again)
      co_return read_status::closed;
    }
  }
  // Once there is a read buffer (plain TCP after the first read, and TLS): a receive
  // into it. For plain TCP asio reads at once when the last read left data behind and
  // otherwise waits on the descriptor's edge-triggered registration as it is; a
  // readiness wait (above) costs an epoll_ctl(EPOLL_CTL_MOD) each time (asio re-arms
  // the edge for a wait), five of them per one-message session.
  arm(deadline);
  std::size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  const auto into = asio::buffer(buf_.data() + old, kReadChunk);
  std::size_t n = 0;
  if (tls_)
    n = co_await tls_->async_read_some(into, asio::redirect_error(use_awaitable, ec));
  else
    n = co_await sock_.async_receive(into, asio::redirect_error(use_awaitable, ec));
  disarm();
  buf_.resize(old + n);
  if (n > 0) co_return read_status::ok;
  co_return timed_out_ ? read_status::timeout : read_status::closed;
}

asio::awaitable<bool> transport::wait_readable(std::chrono::milliseconds deadline) {
  if (has_buffered()) co_return true;
  if (tls_) co_return false;
  asio::error_code ec;
  arm(deadline);
  co_await sock_.async_wait(asio::ip::tcp::socket::wait_read,
                            asio::redirect_error(use_awaitable, ec));
  bool fired = timed_out_;
  disarm();
  co_return !fired && !ec;
}

asio::awaitable<bool> transport::flush(std::chrono::milliseconds deadline) {
  if (out_.empty()) co_return true;
  asio::error_code ec;
  if (!tls_) {
    // Replies are small and the socket buffer is nearly always free: one direct
    // send(2), no suspension. Only what it could not take waits in async_write.
    auto n = write_now();
    if (!n) {
      out_.clear();
      co_return false;
    }
    if (*n == out_.size()) {
      out_.clear();
      if (out_.capacity() > kReadChunk) out_.shrink_to_fit();
      co_return true;
    }
    out_.erase(0, *n);
  }
  arm(deadline);
  if (tls_)
    co_await asio::async_write(*tls_, asio::buffer(out_), asio::redirect_error(use_awaitable, ec));
  else
    co_await asio::async_write(sock_, asio::buffer(out_), asio::redirect_error(use_awaitable, ec));
  disarm();
  out_.clear();
  if (out_.capacity() > kReadChunk) out_.shrink_to_fit();
  co_return !ec;
}

asio::awaitable<result<void>> transport::start_tls(asio::ssl::context& ctx,
                                                   std::chrono::milliseconds deadline) {
  discard_buffer();  // RFC 3207 4.2: nothing sent before the handshake is a command
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(sock_, ctx);
  asio::error_code ec;
  arm(deadline);
  co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                 asio::redirect_error(use_awaitable, ec));
  disarm();
  if (ec) co_return fail(errc::io_error, "TLS handshake failed: " + ec.message());
  co_return result<void>{};
}

}  // namespace mxg::gateway
