// http_fetch.cpp: loopback HTTP/1.1 GET over a plain socket; see http_fetch.hpp.
// RFC 9112: request line 3, Host 3.2 (RFC 9110 7.2), response 4-6, chunked 7.1.
// Security: the response is untrusted; sizes are capped and every read has a deadline.
#include "forms/http_fetch.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "base/ascii.hpp"
#include "forms/limits.hpp"

namespace mxg::forms {

std::string http_response::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

namespace {

using ascii::lower;

std::string_view trim(std::string_view s) {
  return ascii::trim_space(s);
}

// RFC 9112 7.1: chunk-size [ext] CRLF data CRLF ... 0 CRLF trailers CRLF.
result<std::string> dechunk(std::string_view in, std::size_t max_body) {
  std::string out;
  std::size_t i = 0;
  while (true) {
    auto eol = in.find('\n', i);
    if (eol == std::string_view::npos) return fail(errc::parse_error, "truncated chunked body");
    std::string_view line = trim(in.substr(i, eol - i));
    auto semi = line.find(';');
    if (semi != std::string_view::npos) line = trim(line.substr(0, semi));
    if (line.empty() || line.size() > 8 || !std::all_of(line.begin(), line.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c));
        }))
      return fail(errc::parse_error, "bad chunk size");
    std::size_t n = std::stoul(std::string(line), nullptr, 16);
    i = eol + 1;
    if (n == 0) return out;
    if (out.size() + n > max_body)
      return fail(errc::limit_exceeded, "page over " + std::to_string(max_body) + " bytes");
    if (i + n > in.size()) return fail(errc::parse_error, "truncated chunk");
    out.append(in.substr(i, n));
    i += n;
    if (i < in.size() && in[i] == '\r') ++i;
    if (i < in.size() && in[i] == '\n') ++i;
  }
}

}  // namespace

result<http_response> parse_http_response(std::string_view raw, std::size_t max_body) {
  auto end = raw.find("\r\n\r\n");
  std::size_t body_at = end == std::string_view::npos ? 0 : end + 4;
  if (end == std::string_view::npos) {
    end = raw.find("\n\n");  // tolerate bare LF (RFC 9112 2.2)
    if (end == std::string_view::npos)
      return fail(errc::parse_error, "no end of the response header");
    body_at = end + 2;
  }
  if (end > limits::kMaxHeaderBytes) return fail(errc::limit_exceeded, "response header too large");
  std::string_view head = raw.substr(0, end);
  http_response r;
  auto eol = head.find('\n');
  std::string_view status_line = trim(head.substr(0, eol));
  // RFC 9112 4: HTTP-version SP status-code SP [reason-phrase]
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ')
    return fail(errc::parse_error, "bad status line");
  std::string_view code = status_line.substr(9, 3);
  if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return fail(errc::parse_error, "bad status code");
  r.status = std::stoi(std::string(code));
  std::size_t i = eol == std::string_view::npos ? head.size() : eol + 1;
  while (i < head.size()) {
    auto e = head.find('\n', i);
    if (e == std::string_view::npos) e = head.size();
    std::string_view line = head.substr(i, e - i);
    i = e + 1;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;  // obs-fold and junk: skipped
    r.headers.emplace_back(lower(trim(line.substr(0, colon))),
                           std::string(trim(line.substr(colon + 1))));
  }
  std::string_view body = raw.substr(std::min(body_at, raw.size()));
  if (lower(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
    auto b = dechunk(body, max_body);
    if (!b) return std::unexpected(b.error());
    r.body = std::move(*b);
    return r;
  }
  if (std::string cl = r.header("content-length"); !cl.empty()) {
    if (cl.size() > 12 || !std::all_of(cl.begin(), cl.end(), ::isdigit))
      return fail(errc::parse_error, "bad Content-Length");
    std::size_t n = std::stoull(cl);
    if (n > max_body)
      return fail(errc::limit_exceeded, "page over " + std::to_string(max_body) + " bytes");
    if (n > body.size()) return fail(errc::parse_error, "body shorter than Content-Length");
    body = body.substr(0, n);
  }
  if (body.size() > max_body)
    return fail(errc::limit_exceeded, "page over " + std::to_string(max_body) + " bytes");
  r.body = std::string(body);
  return r;
}

namespace {
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

int ms_left(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<long long>(0, left.count()));
}

result<void> wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline,
                      const std::string& what) {
  while (true) {
    pollfd p{fd, events, 0};
    int left = ms_left(deadline);
    if (left == 0) return fail(errc::timeout, "timed out " + what);
    int n = ::poll(&p, 1, left);
    if (n > 0) return {};
    if (n == 0) return fail(errc::timeout, "timed out " + what);
    if (errno != EINTR) return fail(errc::io_error, what + ": " + std::strerror(errno));
  }
}
}  // namespace

result<http_response> http_get(const http_url& u, std::chrono::steady_clock::time_point deadline) {
  deadline = std::min(deadline, std::chrono::steady_clock::now() + limits::kRequestTimeout);
  const std::string where = u.str();
  fd_guard s{::socket(u.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return fail(errc::io_error, "socket: " + std::string(std::strerror(errno)));
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (u.ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(u.port);
    if (inet_pton(AF_INET6, u.address.c_str(), &a->sin6_addr) != 1)
      return fail(errc::invalid_argument, "bad address " + u.address);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(u.port);
    if (inet_pton(AF_INET, u.address.c_str(), &a->sin_addr) != 1)
      return fail(errc::invalid_argument, "bad address " + u.address);
    len = sizeof(*a);
  }
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS)
      return fail(errc::io_error, "connect to " + where + ": " + std::strerror(errno));
    if (auto w = wait_for(s.fd, POLLOUT, deadline, "connecting to " + where); !w)
      return std::unexpected(w.error());
    int err = 0;
    socklen_t el = sizeof(err);
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) return fail(errc::io_error, "connect to " + where + ": " + std::strerror(err));
  }
  // RFC 9112 3: request-line; RFC 9110 7.2: Host names the authority as in the URL.
  std::string req = "GET " + u.target + " HTTP/1.1\r\nHost: " + u.host +
                    (u.port == 80 ? "" : ":" + std::to_string(u.port)) +
                    "\r\nUser-Agent: mxguard-forms-audit/" MXG_VERSION
                    "\r\nAccept: text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
                    "\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(s.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (auto w = wait_for(s.fd, POLLOUT, deadline, "sending to " + where); !w)
        return std::unexpected(w.error());
      continue;
    }
    return fail(errc::io_error, "send to " + where + ": " + std::strerror(errno));
  }
  std::string raw;
  const std::size_t cap = limits::kMaxPageBytes + limits::kMaxHeaderBytes + 64 * 1024;
  char buf[16384];
  while (true) {
    ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<std::size_t>(n));
      if (raw.size() > cap)
        return fail(errc::limit_exceeded,
                    where + ": response over " + std::to_string(cap) + " bytes");
      continue;
    }
    if (n == 0) break;
    if (errno == EAGAIN || errno == EINTR) {
      if (auto w = wait_for(s.fd, POLLIN, deadline, "reading " + where); !w)
        return std::unexpected(w.error());
      continue;
    }
    return fail(errc::io_error, "recv from " + where + ": " + std::strerror(errno));
  }
  auto r = parse_http_response(raw, limits::kMaxPageBytes);
  if (!r) return fail(r.error().code, where + ": " + r.error().message);
  return r;
}

}  // namespace mxg::forms
