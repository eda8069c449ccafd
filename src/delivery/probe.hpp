// probe.hpp: `mxguard probe`, remote SMTP server diagnostics (issue 12 section 1): connect
// like an MTA (RFC 5321 5.1 MX order, delivery/client.hpp's resolve_hop), read the banner
// (RFC 5321 4.2 / 4.3.1 "220 SP Domain"), EHLO (4.1.1.1), reverse DNS with forward
// confirmation (dns/rdns.hpp), STARTTLS (RFC 3207) with the certificate verified against
// the system trust store and the host name (RFC 6125), SIZE (RFC 1870), timings; and on
// request the classic open-relay tests, one connection per test, each stopped at RCPT with
// RSET and QUIT. The 16 tests are the list of nmap's scripts/smtp-open-relay.nse (and
// Metasploit's auxiliary/scanner/smtp/smtp_relay, EXTENDED), including how they name the
// target: its host name from the banner (else the EHLO reply), its address literal.
// Must never: send DATA unless confirm_with_data is set (and then one message, to the
// operator's own address); send anything but the commands shown in the transcript; trust
// a byte of the peer's replies (they are capped by delivery/connection.hpp and shown as
// data, never interpreted beyond the reply code).
#pragma once

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "delivery/client.hpp"
#include "dns/rdns.hpp"
#include "dns/resolver.hpp"

namespace mxg::delivery {

inline constexpr std::size_t kRelayTests = 16;  // nmap smtp-open-relay.nse's list
inline constexpr std::chrono::seconds kProbeConnectTimeout{10};
inline constexpr std::chrono::seconds kProbeCommandTimeout{30};  // < RFC 5321 4.5.3.2's minutes
inline constexpr std::size_t kProbeHostsMax = 5;                 // as kMxHostsMax

// HOST[:PORT], [IPv6]:PORT, a bare IPv6 address (no port) or a domain (MX lookup).
struct probe_target {
  std::string host;  // domain, host name or IP address (no brackets)
  std::uint16_t port = kSmtpPort;
  bool is_ip = false;
};
result<probe_target> parse_target(std::string_view text);

// The Domain of a greeting "220 SP Domain [SP text]" (RFC 5321 4.3.1 / 4.2) or of an EHLO
// reply's first line "250 SP Domain [SP ehlo-greet]" (4.1.1.1), given the text after the
// code (the first line of the reply). "" when the first word is not a domain name or an
// address literal. Pure; the input is the peer's bytes (fuzzed: fuzz/probe_reply.cpp).
std::string greeting_name(std::string_view first_line_text);

// RFC 5321 4.1.3 address literal of an IP: "[192.0.2.1]", "[IPv6:2001:db8::1]".
std::string address_literal(const std::string& ip);

// Agreement of the names a server gives: banner, EHLO (its HELO name) and confirmed rDNS.
// Each pair is nullopt when one side is unknown; names compare case-insensitively without
// a final dot.
struct name_agreement {
  std::optional<bool> banner_ehlo, banner_rdns, ehlo_rdns;
  bool all_agree() const;  // every known pair agrees and the rDNS name is known
};
name_agreement judge_names(std::string_view banner, std::string_view ehlo, std::string_view rdns);

// One open-relay test: MAIL FROM and RCPT TO paths (without the angle brackets).
struct relay_case {
  int number = 0;  // 1..16, the order of nmap's list
  std::string mail_from;
  std::string rcpt_to;
  std::string what;  // "null sender", "percent hack", ...
};
struct relay_names {
  std::string sender_local = "relaytest";  // local part of the sender (nmap "antispam")
  std::string sender_domain;               // --from-domain (default: the foreign domain)
  std::string user;                        // local part of the foreign recipient
  std::string dest;                        // the foreign domain
  std::string server;  // the target's own name (banner, EHLO, rDNS, the name probed)
  std::string ip;      // the target's address, as connected
};
std::vector<relay_case> relay_cases(const relay_names& n);

struct exchange {
  std::string command;  // what we sent, without CRLF ("" for the greeting)
  std::string reply;    // what came back (full multi-line form) or "(error: ...)"
};

struct tls_cert_info {
  std::string subject, issuer;
  std::vector<std::string> names;     // subjectAltName DNS and IP entries
  std::string not_before, not_after;  // "2026-12-06 10:00:00 UTC"
  std::int64_t days_left = 0;         // until not_after (negative: expired)
};

struct tls_report {
  bool offered = false;    // STARTTLS in the EHLO reply
  bool attempted = false;  // STARTTLS answered 220, handshake tried
  bool ok = false;         // handshake completed
  std::string error;       // why STARTTLS or the handshake failed
  std::string protocol, cipher;
  std::vector<tls_cert_info> chain;  // the peer's chain, leaf first
  std::string checked_name;          // the name (or IP) the certificate is checked against
  bool verified = false;             // chain to the system trust store AND the name match
  long verify_code = 0;              // X509_V_OK (0) or the X509_V_ERR_* code
  std::string verify_result;         // "ok" or OpenSSL's reason ("self-signed certificate")
  double handshake_ms = 0;
};

struct relay_outcome {
  relay_case test;
  std::vector<exchange> transcript;
  bool accepted = false;   // RCPT answered 2xx (RFC 5321 4.2.2: 250 / 251)
  bool data_sent = false;  // the one confirmation message went through DATA
  std::string error;       // connection or protocol failure (then not accepted)
};

struct host_report {
  std::string name;     // MX host name or the host probed ("" for a bare IP)
  std::string address;  // the IP connected to
  std::uint16_t port = kSmtpPort;
  bool connected = false;
  std::string error;   // could not connect / no greeting
  std::string banner;  // full greeting reply
  int banner_code = 0;
  std::string banner_name;                // greeting_name() of the banner
  std::string ehlo_name;                  // greeting_name() of the EHLO reply
  bool esmtp = false;                     // EHLO accepted (else HELO was used)
  std::vector<std::string> capabilities;  // EHLO keywords and parameters (after TLS if any)
  ehlo_info info;
  dns::rdns_result rdns;
  name_agreement names;
  tls_report tls;
  std::vector<exchange> transcript;  // greeting, EHLO, STARTTLS, EHLO, QUIT
  double connect_ms = 0, banner_ms = 0, ehlo_ms = 0, total_ms = 0;
  std::vector<relay_outcome> relay;
};

struct probe_options {
  std::string helo_name = "localhost";
  bool starttls = true;
  bool relay_tests = false;
  std::string from_domain;                             // sender domain of the relay tests
  std::string foreign_rcpt = "relaytest@example.org";  // the foreign recipient (--to)
  bool confirm_with_data = false;                      // one DATA to foreign_rcpt (operator's)
  std::chrono::seconds connect = kProbeConnectTimeout;
  std::chrono::seconds command = kProbeCommandTimeout;
  std::size_t max_hosts = kProbeHostsMax;
};

struct probe_report {
  probe_target target;
  bool mx_lookup = false;
  std::vector<std::string> mx;  // the hosts in the order tried
  std::string dns_error;        // MX/address resolution failed ("" if fine)
  std::vector<host_report> hosts;

  bool any_connected() const;
  std::vector<const relay_outcome*> accepted() const;
};

// Exit status of `mxguard probe` (issue 12): 0 no relay found, 1 a relay test accepted,
// 3 could not connect to any host. (2, usage, is the CLI's.)
int probe_exit_code(const probe_report& r);

// Probes the target: every host (MX order) and address, at most opts.max_hosts.
// The target and options are taken by value: the coroutine owns them, so a caller may
// pass temporaries (a const& parameter would dangle once the coroutine suspends).
asio::awaitable<probe_report> probe(dns::resolver& res, probe_target target, probe_options opts);

}  // namespace mxg::delivery
