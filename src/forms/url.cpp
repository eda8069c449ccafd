// url.cpp: RFC 3986 reference resolution and the loopback-only http URL parser.
// Security: input is untrusted page text; only string work here, no I/O.
#include "forms/url.hpp"
#include "base/ascii.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace mxg::forms {

namespace {
using ascii::lower;
}  // namespace

// RFC 3986 Appendix B: ^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?
uri_parts split_uri(std::string_view s) {
  uri_parts p;
  std::size_t i = 0;
  // scheme: up to the first ':' if it comes before any of "/?#" (and is not empty).
  std::size_t colon = s.find_first_of(":/?#");
  if (colon != std::string_view::npos && colon > 0 && s[colon] == ':') {
    p.scheme = lower(s.substr(0, colon));
    p.has_scheme = true;
    i = colon + 1;
  }
  if (s.substr(i).starts_with("//")) {
    std::size_t end = s.find_first_of("/?#", i + 2);
    if (end == std::string_view::npos) end = s.size();
    p.authority = std::string(s.substr(i + 2, end - i - 2));
    p.has_authority = true;
    i = end;
  }
  std::size_t end = s.find_first_of("?#", i);
  if (end == std::string_view::npos) end = s.size();
  p.path = std::string(s.substr(i, end - i));
  i = end;
  if (i < s.size() && s[i] == '?') {
    end = s.find('#', i);
    if (end == std::string_view::npos) end = s.size();
    p.query = std::string(s.substr(i + 1, end - i - 1));
    p.has_query = true;
    i = end;
  }
  if (i < s.size() && s[i] == '#') {
    p.fragment = std::string(s.substr(i + 1));
    p.has_fragment = true;
  }
  return p;
}

// RFC 3986 5.3 component recomposition.
std::string join_uri(const uri_parts& p) {
  std::string r;
  if (p.has_scheme) r += p.scheme + ":";
  if (p.has_authority) r += "//" + p.authority;
  r += p.path;
  if (p.has_query) r += "?" + p.query;
  if (p.has_fragment) r += "#" + p.fragment;
  return r;
}

// RFC 3986 5.2.4.
std::string remove_dot_segments(std::string_view in) {
  std::string input(in), out;
  while (!input.empty()) {
    if (input.starts_with("../")) {
      input.erase(0, 3);
    } else if (input.starts_with("./")) {
      input.erase(0, 2);
    } else if (input.starts_with("/./")) {
      input.erase(0, 2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.starts_with("/../") || input == "/..") {
      input = input.size() == 3 ? std::string("/") : input.substr(3);
      auto slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
    } else if (input == "." || input == "..") {
      input.clear();
    } else {
      std::size_t start = input[0] == '/' ? 1 : 0;
      std::size_t next = input.find('/', start);
      if (next == std::string::npos) next = input.size();
      out += input.substr(0, next);
      input.erase(0, next);
    }
  }
  return out;
}

namespace {
// RFC 3986 5.2.3.
std::string merge_paths(const uri_parts& base, const std::string& ref_path) {
  if (base.has_authority && base.path.empty()) return "/" + ref_path;
  auto slash = base.path.rfind('/');
  if (slash == std::string::npos) return ref_path;
  return base.path.substr(0, slash + 1) + ref_path;
}
}  // namespace

// RFC 3986 5.2.2 (strict parser).
std::string resolve_uri(std::string_view base_s, std::string_view ref_s) {
  // Browsers strip leading/trailing ASCII whitespace from URL attributes.
  auto is_ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  while (!ref_s.empty() && is_ws(ref_s.front())) ref_s.remove_prefix(1);
  while (!ref_s.empty() && is_ws(ref_s.back())) ref_s.remove_suffix(1);
  if (base_s.empty()) return std::string(ref_s);
  uri_parts r = split_uri(ref_s), b = split_uri(base_s), t;
  if (r.has_scheme) {
    t = r;
    t.path = remove_dot_segments(r.path);
  } else {
    if (r.has_authority) {
      t.authority = r.authority;
      t.has_authority = true;
      t.path = remove_dot_segments(r.path);
      t.query = r.query;
      t.has_query = r.has_query;
    } else {
      if (r.path.empty()) {
        t.path = b.path;
        if (r.has_query) {
          t.query = r.query;
          t.has_query = true;
        } else {
          t.query = b.query;
          t.has_query = b.has_query;
        }
      } else {
        if (r.path.starts_with("/"))
          t.path = remove_dot_segments(r.path);
        else
          t.path = remove_dot_segments(merge_paths(b, r.path));
        t.query = r.query;
        t.has_query = r.has_query;
      }
      t.authority = b.authority;
      t.has_authority = b.has_authority;
    }
    t.scheme = b.scheme;
    t.has_scheme = b.has_scheme;
  }
  t.fragment = r.fragment;
  t.has_fragment = r.has_fragment;
  return join_uri(t);
}

std::string strip_fragment(std::string_view uri) {
  auto hash = uri.find('#');
  return std::string(uri.substr(0, hash));
}

std::string http_url::origin() const {
  return "http://" + host + (port == 80 ? "" : ":" + std::to_string(port));
}

bool looks_like_url(std::string_view s) {
  auto l = lower(s.substr(0, 8));
  return l.starts_with("http://") || l.starts_with("https://");
}

result<http_url> parse_loopback_url(std::string_view s) {
  uri_parts p = split_uri(s);
  if (!p.has_scheme || !p.has_authority)
    return fail(errc::invalid_argument, "not an absolute http URL: '" + std::string(s) + "'");
  if (p.scheme != "http")
    return fail(errc::invalid_argument, "refused URL '" + std::string(s) + "': only http:// on a " +
                                            "loopback host is fetched (scheme '" + p.scheme + "')");
  std::string auth = p.authority;
  if (auth.find('@') != std::string::npos)
    return fail(errc::invalid_argument,
                "refused URL '" + std::string(s) + "': user information in the URL");
  http_url u;
  std::string host, port;
  if (auth.starts_with("[")) {
    auto close = auth.find(']');
    if (close == std::string::npos)
      return fail(errc::invalid_argument, "bad IPv6 literal in '" + std::string(s) + "'");
    host = lower(auth.substr(0, close + 1));
    if (close + 1 < auth.size()) {
      if (auth[close + 1] != ':')
        return fail(errc::invalid_argument, "bad authority in '" + std::string(s) + "'");
      port = auth.substr(close + 2);
    }
  } else {
    auto colon = auth.rfind(':');
    host = lower(auth.substr(0, colon));
    if (colon != std::string::npos) port = auth.substr(colon + 1);
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit))
      return fail(errc::invalid_argument, "bad port in '" + std::string(s) + "'");
    unsigned long n = std::stoul(port);
    if (n == 0 || n > 65535)
      return fail(errc::invalid_argument, "bad port in '" + std::string(s) + "'");
    u.port = static_cast<std::uint16_t>(n);
  }
  u.host = host;
  in_addr a4{};
  in6_addr a6{};
  if (host == "localhost") {
    u.address = "127.0.0.1";
  } else if (host.size() > 2 && host.front() == '[' &&
             inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6) == 1 &&
             IN6_IS_ADDR_LOOPBACK(&a6)) {
    u.address = "::1";
    u.ipv6 = true;
  } else if (inet_pton(AF_INET, host.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) {
    u.address = host;
  } else {
    return fail(errc::invalid_argument,
                "refused URL '" + std::string(s) + "': host '" + host +
                    "' is not loopback; forms audit fetches only 127.0.0.0/8, localhost "
                    "and [::1] (save other sites' pages to files and audit the files)");
  }
  u.target = remove_dot_segments(p.path);
  if (u.target.empty()) u.target = "/";
  if (p.has_query) u.target += "?" + p.query;
  return u;
}

}  // namespace mxg::forms
