// client.hpp: the outbound SMTP client (one asio coroutine per delivery attempt).
//   RFC 5321 5.1   next hops: MX records sorted by preference, random order among
//                  equal preferences, falling back to the domain's A/AAAA when it has
//                  no MX; "[host]" / IP literals mean no MX lookup. RFC 7505 null MX.
//   RFC 5321 4.1.1 EHLO, falling back to HELO when EHLO is refused (5xx).
//   RFC 3207       opportunistic STARTTLS when offered, then EHLO again (4.2). The
//                  peer certificate is NOT verified by default (opportunistic TLS only
//                  protects against passive listeners; see docs/delivery.md).
//   RFC 2920       PIPELINING: MAIL and all RCPTs in one write when offered.
//   RFC 1870       SIZE: refuse early when the message exceeds the announced maximum.
//   RFC 5321 4.5.2 DATA with dot-stuffing; 4.5.3.2 timeouts per command.
// Results are values: one reply per recipient ("250 2.0.0 Ok", "450 4.2.0 ...", or a
// local reason with a 4xx/5xx code like "451 4.4.1 connection refused").
// Security: everything read from the peer is untrusted: reply lines are capped at
// kSmtpReplyLineMax and replies at kSmtpReplyLinesMax lines; reply text is kept as
// data only (logged and put in DSNs, which sanitize it).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/limits.hpp"
#include "delivery/connection.hpp"
#include "delivery/routing.hpp"
#include "dns/resolver.hpp"

namespace mxg::delivery {

inline constexpr std::size_t kMxHostsMax = 5;         // like Postfix smtp_mx_address_limit
inline constexpr std::size_t kDataChunk = 64 * 1024;  // bytes per write of DATA
inline constexpr std::chrono::seconds kConnectTimeout{30};

struct client_options {
  std::string helo_name = "localhost";  // our host name for EHLO/HELO
  bool starttls = true;                 // use STARTTLS when offered (opportunistic)
  bool tls_verify = false;              // verify the peer certificate (needs CA store)
  std::chrono::seconds connect = kConnectTimeout;
  std::chrono::seconds greeting = limits::kSmtpInitialTimeout;      // 4.5.3.2.1
  std::chrono::seconds mail = limits::kSmtpMailTimeout;             // 4.5.3.2.2 (also EHLO)
  std::chrono::seconds rcpt = limits::kSmtpRcptTimeout;             // 4.5.3.2.3
  std::chrono::seconds data_init = limits::kSmtpDataInitTimeout;    // 4.5.3.2.4
  std::chrono::seconds data_block = limits::kSmtpDataBlockTimeout;  // 4.5.3.2.5
  std::chrono::seconds data_term = limits::kSmtpDataTermTimeout;    // 4.5.3.2.6
  std::size_t max_hosts = kMxHostsMax;  // MX hosts (and addresses) tried per attempt
};

// Where one group of recipients goes.
struct next_hop {
  std::string host;       // domain for an MX lookup, host name, or IP address literal
  bool mx_lookup = true;  // false: connect to host's own addresses
  std::uint16_t port = kSmtpPort;
  bool relay = false;             // a configured relay (DNS errors are then never permanent)
  std::string to_string() const;  // "[127.0.0.1]:2525", "example.com" (MX), ...
  bool operator==(const next_hop&) const = default;
  auto operator<=>(const next_hop&) const = default;
};

// The next hop for a recipient: relay actions name it, `mx` uses the recipient's
// domain (an address literal "user@[192.0.2.1]" means that address, RFC 5321 4.1.3).
// `hold` has no hop (nullopt).
std::optional<next_hop> hop_for(const route_action& action, std::string_view recipient);

struct outgoing_message {
  std::string sender;                   // reverse-path without brackets; "" = <>
  std::vector<std::string> recipients;  // forward-paths without brackets
  std::string_view data;                // message bytes (CRLF line ends), not dot-stuffed
  bool smtputf8 = false;                // RFC 6531: needs SMTPUTF8 from the peer
};

// One recipient's result of an attempt.
struct rcpt_result {
  std::string address;
  int code = 0;       // 250, 450, 550, ...
  std::string reply;  // one line: "550 5.1.1 <x@y>: Recipient address rejected"
  bool delivered() const { return code >= 200 && code < 300; }
  bool permanent() const { return code >= 500; }
};

struct attempt_result {
  std::vector<rcpt_result> recipients;  // same order as the message's recipients
  std::string remote;       // the host that answered last: "mx.example.test[192.0.2.1]:25"
  std::string remote_name;  // its name alone (for Remote-MTA), "" if none reached
  bool tls = false;         // the transaction ran under TLS
  std::string tls_detail;   // "TLSv1.3 TLS_AES_256_GCM_SHA384"
};

// Delivers one message to one next hop (trying MX hosts and addresses in order).
// Never throws for network or protocol outcomes; the result carries them.
// `tls` may be null (then no STARTTLS).
asio::awaitable<attempt_result> deliver(dns::resolver& resolver, const next_hop& hop,
                                        const outgoing_message& msg, const client_options& opts,
                                        asio::ssl::context* tls);

// The hosts of a next hop in the order they are tried (RFC 5321 5.1), with their
// addresses; or, when resolution failed for every host, the reply that all recipients
// get (permanent only for NXDOMAIN / no address of a recipient domain, RFC 7505 null MX).
struct resolved_hop {
  struct host {
    std::string name;
    std::vector<std::string> addrs;  // textual IP addresses, A before AAAA
  };
  std::vector<host> hosts;
  int code = 0;       // non-zero: failure reply code
  std::string reply;  // failure reply line
};
asio::awaitable<resolved_hop> resolve_hop(dns::resolver& res, const next_hop& hop,
                                          std::size_t max_hosts);

// RFC 5321 4.5.2 transparency: CRLF line ends (a bare LF becomes CRLF), a '.' doubled
// at the start of a line, a final CRLF added if missing, then the ".\r\n" terminator.
std::string dot_stuff(std::string_view data);

// Creates the client TLS context: TLS 1.2+, verification per opts (system CA store).
asio::ssl::context make_client_tls_context(const client_options& opts);

// Parsed EHLO keywords (RFC 5321 4.1.1.1): upper-case keyword -> parameters.
struct ehlo_info {
  bool pipelining = false, starttls = false, eightbitmime = false, smtputf8 = false;
  bool size = false;
  std::uint64_t size_max = 0;  // 0: no limit announced
};
ehlo_info parse_ehlo(const std::vector<std::string>& lines);  // lines without codes

}  // namespace mxg::delivery
