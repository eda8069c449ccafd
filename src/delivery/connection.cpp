// connection.cpp: see connection.hpp.
#include "delivery/connection.hpp"

#include <openssl/x509v3.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "base/ascii.hpp"
#include "net/ip_address.hpp"

namespace mxg::delivery {

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

int reply_code(std::string_view line) {
  if (line.size() < 3) return 0;
  int c = 0;
  for (int i = 0; i < 3; ++i) {
    if (!ascii::is_digit(static_cast<unsigned char>(line[i]))) return 0;
    c = c * 10 + (line[i] - '0');
  }
  return c;
}

std::string reply::one_line() const {
  std::string t;
  for (const auto& l : lines) {
    if (!t.empty() && !l.empty()) t += ' ';
    t += l;
  }
  if (t.size() > kSmtpReplyLineMax) t.resize(kSmtpReplyLineMax);
  return std::to_string(code) + (t.empty() ? "" : " " + t);
}

std::string reply::full() const {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out += std::to_string(code) + (i + 1 < lines.size() ? "-" : " ") + lines[i];
  }
  return out;
}

asio::awaitable<result<void>> connection::connect(const asio::ip::tcp::endpoint& ep,
                                                  std::chrono::seconds d) {
  arm(d);
  auto [ec] = co_await sock_.async_connect(ep, use_tuple);
  timer_.cancel();
  if (ec) co_return io_error("connect", ec);
  co_return result<void>{};
}

asio::awaitable<result<void>> connection::write(std::string_view bytes, std::chrono::seconds d) {
  arm(d);
  std::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(bytes), use_tuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(sock_, asio::buffer(bytes), use_tuple);
  }
  timer_.cancel();
  if (ec) co_return io_error("write", ec);
  co_return result<void>{};
}

asio::awaitable<result<reply>> connection::read_reply(std::chrono::seconds d) {
  arm(d);
  reply r;
  auto done = [this](auto v) {
    timer_.cancel();
    return v;
  };
  for (;;) {
    auto nl = buf_.find('\n');
    while (nl == std::string::npos) {
      if (buf_.size() > kSmtpReplyLineMax)
        co_return done(fail(errc::limit_exceeded, "reply line too long"));
      char tmp[4096];
      std::error_code ec;
      std::size_t n = 0;
      if (tls_) {
        std::tie(ec, n) = co_await tls_->async_read_some(asio::buffer(tmp), use_tuple);
      } else {
        std::tie(ec, n) = co_await sock_.async_read_some(asio::buffer(tmp), use_tuple);
      }
      if (ec) co_return done(io_error("read", ec));
      buf_.append(tmp, n);
      nl = buf_.find('\n');
    }
    std::string line = buf_.substr(0, nl);
    buf_.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > kSmtpReplyLineMax)
      co_return done(fail(errc::limit_exceeded, "reply line too long"));
    int code = reply_code(line);
    char sep = line.size() > 3 ? line[3] : ' ';
    if (code < 200 || code > 599 || (sep != ' ' && sep != '-'))
      co_return done(fail(errc::parse_error, "malformed reply line"));
    if (!r.lines.empty() && code != r.code)
      co_return done(fail(errc::parse_error, "reply code changed inside a multi-line reply"));
    r.code = code;
    r.lines.push_back(line.size() > 4 ? line.substr(4) : "");
    if (sep == ' ') break;
    if (r.lines.size() >= kSmtpReplyLinesMax)
      co_return done(fail(errc::limit_exceeded, "too many reply lines"));
  }
  timer_.cancel();
  co_return r;
}

asio::awaitable<result<void>> connection::start_tls(asio::ssl::context& ctx,
                                                    const std::string& name,
                                                    tls_handshake_options o,
                                                    std::chrono::seconds d) {
  buf_.clear();
  tls_.emplace(sock_, ctx);
  SSL* ssl = tls_->native_handle();
  auto ip = net::ip_address::parse(name);
  if (!name.empty() && !ip) {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    if (o.verify) tls_->set_verify_callback(asio::ssl::host_name_verification(name));
  }
  if (o.check_name && !name.empty()) {
    // RFC 6125 6: the reference identity; a mismatch shows in SSL_get_verify_result().
    if (ip)
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip->to_string().c_str());
    else
      SSL_set1_host(ssl, name.c_str());
  }
  arm(d);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  timer_.cancel();
  if (ec) co_return io_error("TLS handshake", ec);
  co_return result<void>{};
}

std::string connection::tls_detail() {
  if (!tls_) return "";
  SSL* s = tls_->native_handle();
  return std::string(SSL_get_version(s)) + " " + SSL_get_cipher_name(s);
}

void connection::arm(std::chrono::seconds d) {
  timed_out_ = false;
  timer_.expires_after(d);
  timer_.async_wait([this](std::error_code ec) {
    if (ec) return;  // cancelled: the operation finished (or the connection is gone)
    timed_out_ = true;
    std::error_code ignored;
    sock_.close(ignored);
  });
}

std::unexpected<error> connection::io_error(const char* what, const std::error_code& ec) {
  if (timed_out_) return std::unexpected(error{errc::timeout, std::string("timeout in ") + what});
  return std::unexpected(error{errc::io_error, std::string(what) + ": " + ec.message()});
}

}  // namespace mxg::delivery
