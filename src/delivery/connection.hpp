// connection.hpp: one outbound SMTP connection (TCP, then TLS after STARTTLS) with a
// deadline per operation, and the reader of server replies. Used by the delivery client
// (client.cpp) and by `mxguard probe` (probe.cpp).
//   RFC 5321 4.2 / 4.2.1  reply = "NNN" SP/"-" text, multi-line replies with one code;
//   RFC 5321 4.5.3.2      timeouts: an operation past its deadline closes the socket;
//   RFC 3207 4            STARTTLS: plaintext read after the 220 is discarded.
// Security: everything read from the peer is untrusted. A reply line is capped at
// kSmtpReplyLineMax octets and a reply at kSmtpReplyLinesMax lines; anything else is a
// parse error, never a crash. Reply text is kept as data only.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::delivery {

inline constexpr std::size_t kSmtpReplyLineMax = 512;   // RFC 5321 4.5.3.1.5 (incl. CRLF)
inline constexpr std::size_t kSmtpReplyLinesMax = 100;  // lines of one multi-line reply

// One SMTP reply (RFC 5321 4.2): code and the text of each line.
struct reply {
  int code = 0;
  std::vector<std::string> lines;  // text after "NNN-" / "NNN "
  // One-line form: "550 5.1.1 text" (multi-line texts joined by a space), capped.
  std::string one_line() const;
  // Wire-like form, one "NNN-text" / "NNN text" per line, joined by '\n'.
  std::string full() const;
  bool positive() const { return code >= 200 && code < 400; }
};

// The code of a reply line ("250-x" -> 250), 0 when the line has none (pure, fuzzed).
int reply_code(std::string_view line);

// What the TLS handshake should do besides encrypting.
struct tls_handshake_options {
  bool verify = false;      // fail the handshake when the peer certificate does not verify
  bool check_name = false;  // record the name check in the verify result (SSL_set1_host /
                            // the IP), without failing the handshake when verify is false
};

class connection {
 public:
  explicit connection(const asio::any_io_executor& ex) : sock_(ex), timer_(ex) {}

  asio::ip::tcp::socket& socket() { return sock_; }
  bool under_tls() const { return tls_.has_value(); }

  asio::awaitable<result<void>> connect(const asio::ip::tcp::endpoint& ep, std::chrono::seconds d);
  asio::awaitable<result<void>> write(std::string_view bytes, std::chrono::seconds d);
  asio::awaitable<result<reply>> read_reply(std::chrono::seconds d);
  // RFC 3207 4: the TLS handshake right after "220 Ready to start TLS". `name` is the
  // SNI (RFC 6066 3, host names only) and the name checked against the certificate.
  asio::awaitable<result<void>> start_tls(asio::ssl::context& ctx, const std::string& name,
                                          tls_handshake_options o, std::chrono::seconds d);
  std::string tls_detail();  // "TLSv1.3 TLS_AES_256_GCM_SHA384", "" without TLS
  SSL* tls_handle() { return tls_ ? tls_->native_handle() : nullptr; }

 private:
  void arm(std::chrono::seconds d);
  std::unexpected<error> io_error(const char* what, const std::error_code& ec);

  asio::ip::tcp::socket sock_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  asio::steady_timer timer_;  // declared after sock_: destroyed (and cancelled) first
  std::string buf_;
  bool timed_out_ = false;
};

}  // namespace mxg::delivery
