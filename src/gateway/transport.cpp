// transport.cpp: see transport.hpp. Deadlines: one steady_timer per connection is
// armed before each wait and closes (cancels) the socket when it fires; this costs no
// extra coroutine frame per read, which keeps idle connections small.
#include "gateway/transport.hpp"

#include <openssl/ssl.h>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>

namespace mxg::gateway {

using asio::use_awaitable;

transport::transport(asio::ip::tcp::socket s) : sock_(std::move(s)), timer_(sock_.get_executor()) {}

transport::~transport() = default;

void transport::arm(std::chrono::milliseconds d) {
  timed_out_ = false;
  timer_.expires_after(d);
  // The handler keeps the transport alive (it may be queued when the session ends)
  // and ignores a firing that belongs to an earlier arm().
  timer_.async_wait([self = shared_from_this(), gen = ++arm_gen_](const asio::error_code& ec) {
    if (!ec && gen == self->arm_gen_) {
      self->timed_out_ = true;
      asio::error_code ignored;
      self->sock_.cancel(ignored);
    }
  });
}

void transport::disarm() {
  timer_.cancel();
}

void transport::close() {
  asio::error_code ec;
  timer_.cancel();
  sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  sock_.close(ec);
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
  arm(deadline);
  if (!tls_ && buf_.empty()) {
    // Idle wait without a buffer: an idle connection costs no read buffer.
    co_await sock_.async_wait(asio::ip::tcp::socket::wait_read,
                              asio::redirect_error(use_awaitable, ec));
    if (ec) {
      disarm();
      co_return timed_out_ ? read_status::timeout : read_status::closed;
    }
  }
  std::size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  std::size_t n = 0;
  if (tls_)
    n = co_await tls_->async_read_some(asio::buffer(buf_.data() + old, kReadChunk),
                                       asio::redirect_error(use_awaitable, ec));
  else
    n = co_await sock_.async_read_some(asio::buffer(buf_.data() + old, kReadChunk),
                                       asio::redirect_error(use_awaitable, ec));
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
