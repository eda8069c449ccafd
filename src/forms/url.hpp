// url.hpp: the small part of URLs the form auditor needs: RFC 3986 reference resolution
// (section 5.2, with remove_dot_segments 5.2.4) for form actions and links, and the
// parse of an http:// URL the auditor may fetch, which must name a loopback host.
// Security: URLs come from untrusted pages; nothing here touches the network, and the
// loopback check is the only gate before http_fetch connects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mxg::forms {

// RFC 3986 Appendix B split of a URI reference; "has_*" distinguishes empty from absent.
struct uri_parts {
  std::string scheme, authority, path, query, fragment;
  bool has_scheme = false, has_authority = false, has_query = false, has_fragment = false;
};
uri_parts split_uri(std::string_view ref);
std::string join_uri(const uri_parts& p);

// RFC 3986 5.2.4.
std::string remove_dot_segments(std::string_view path);

// RFC 3986 5.2.2 (strict): the target URI of `ref` against the absolute URI `base`.
// An empty base leaves the reference as written.
std::string resolve_uri(std::string_view base, std::string_view ref);

// The URI without its fragment.
std::string strip_fragment(std::string_view uri);

// An http URL the auditor may fetch: scheme http, host a loopback address.
struct http_url {
  std::string host;     // as written, lowercased: "127.0.0.1", "localhost", "[::1]"
  std::string address;  // the IP literal to connect to: "127.0.0.1" or "::1"
  bool ipv6 = false;
  std::uint16_t port = 80;
  std::string target;          // path + query, at least "/"
  std::string origin() const;  // "http://host:port"
  std::string str() const { return origin() + target; }
};

// Accepts only http:// URLs whose host is 127.0.0.0/8, "localhost" or [::1]; anything else
// is errc::invalid_argument with a message that names the refused host.
result<http_url> parse_loopback_url(std::string_view url);

// True when `s` looks like an http(s) URL (used to tell URLs from paths on the command line).
bool looks_like_url(std::string_view s);

}  // namespace mxg::forms
