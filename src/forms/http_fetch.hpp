// http_fetch.hpp: a minimal HTTP/1.1 GET client (RFC 9112) for pages on a loopback web
// server, and the pure parser of its responses (status line 9112 section 4, fields
// section 5, chunked transfer coding 7.1, Content-Length 6.3).
// Security: connects only to the IP literal of an http_url, which parse_loopback_url has
// already limited to loopback; the response is untrusted: header and body sizes are capped,
// every wait has a deadline, redirects are left to the caller (which re-checks the host).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "forms/url.hpp"

namespace mxg::forms {

struct http_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  // The first field with that (lowercase) name, or "".
  std::string header(std::string_view name) const;
};

// Parses a complete response read until the server closed the connection.
result<http_response> parse_http_response(std::string_view raw, std::size_t max_body);

// One GET, "Connection: close", no redirects followed. Fails with errc::timeout after
// `deadline`, errc::limit_exceeded when the response is larger than the caps.
result<http_response> http_get(const http_url& url, std::chrono::steady_clock::time_point deadline);

}  // namespace mxg::forms
