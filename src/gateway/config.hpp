// config.hpp: the `mxguard serve` configuration (TOML, see docs/configuration.md).
// Global settings, relay control, routing, and one or more named listeners, each
// with its own delivery mode, queue directory, limits and timeouts.
// Validation is complete before anything starts: every error (unknown keys too,
// so a typo is never silently ignored) is reported as `FILE:LINE: message`.
// Limits default to the RFC 5321 4.5.3 values of src/base/limits.hpp.
// Security: relay defaults are never an open relay (no relay domains, only
// loopback is trusted).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "gateway/backscatter_filter.hpp"
#include "gateway/console_config.hpp"
#include "net/ip_address.hpp"
#include "policy/dmarc_policy.hpp"
#include "policy/dnsbl.hpp"
#include "policy/spf_policy.hpp"
#include "queue/envelope.hpp"
#include "queue/queue_dir.hpp"
#include "store/history.hpp"

namespace mxg::gateway {

// One delivery mode type for the whole program: a listener's mode is what its
// messages' control files carry (queue/envelope.hpp).
using queue::delivery_mode;
using queue::parse_delivery_mode;
using queue::to_string;

// RFC 5321 2.3.8 / smuggling: what a bare LF or bare CR inside DATA does.
enum class bare_lf_policy { reject, normalize };

// Named defaults of the gateway that RFC 5321 leaves to the implementation.
inline constexpr std::size_t kDefaultMessageSizeMax = 25 * 1024 * 1024;  // SIZE (RFC 1870)
inline constexpr std::size_t kDefaultErrorsPerSession = 10;  // then 421 (RFC 5321 4.2.2)
inline constexpr std::size_t kDefaultSessionsTotal = 20000;
inline constexpr std::size_t kDefaultSessionsPerIp = 200;
inline constexpr std::chrono::seconds kDefaultDrainTimeout{30};
inline constexpr std::uint16_t kDefaultPort = 2525;

// Postfix's smtpd_min_data_rate default (bytes/s): see timeouts::data_min_rate.
inline constexpr std::size_t kDefaultDataMinRate = 500;

// RFC 5321 4.5.3.2: per-state timeouts of the server side. They are deadlines for a
// whole record, not for each read (as Postfix's smtpd_per_record_deadline /
// smtpd_per_request_deadline), so a client trickling a byte at a time cannot keep a
// session alive (slowloris, issue 16 item 2):
//   command: a whole command line must arrive within it (counted from the end of the
//            previous command; an idle client waits at most this long too);
//   data_block: DATA (354 to the final dot) or one BDAT chunk starts with this deadline;
//            each read of N octets extends it by N / data_min_rate seconds, never to more
//            than data_block from now (Postfix smtpd_min_data_rate); so a client slower
//            than data_min_rate on average is cut off, and silence longer than
//            data_block always is;
//   data_total: an absolute cap on one DATA or one BDAT chunk (0 = none).
// Every expiry answers 421 4.4.2 and closes.
struct timeouts {
  std::chrono::milliseconds command{std::chrono::minutes(5)};     // 4.5.3.2.7 server timeout
  std::chrono::milliseconds data_block{std::chrono::minutes(3)};  // 4.5.3.2.5 (see above)
  std::size_t data_min_rate = kDefaultDataMinRate;  // bytes/s; 0 = any rate (per-read timeout)
  std::chrono::milliseconds data_total{0};          // 0: no absolute cap
  std::chrono::milliseconds greeting_delay{0};      // wait before the greeting; talk during it: 554
};

struct listener_limits {
  std::size_t line_length = 512;        // RFC 5321 4.5.3.1.4 command line, with CRLF
  std::size_t text_line_length = 1000;  // RFC 5321 4.5.3.1.6, with CRLF (DATA lines)
  std::size_t message_size = kDefaultMessageSizeMax;
  std::size_t recipients = 100;  // RFC 5321 4.5.3.1.8 minimum
  std::size_t errors = kDefaultErrorsPerSession;
  std::size_t sessions_total = kDefaultSessionsTotal;
  std::size_t sessions_per_ip = kDefaultSessionsPerIp;
};

struct listener_config {
  std::string name;
  net::ip_address address = *net::ip_address::parse("127.0.0.1");
  std::uint16_t port = kDefaultPort;
  delivery_mode mode = delivery_mode::deliver;
  std::string queue_dir;  // default: <state_dir>/queue/<name>
  std::string hostname;   // greeting/Received name; default: gethostname()
  listener_limits limits;
  timeouts tmo;
  std::string tls_cert, tls_key;  // both or none: STARTTLS offered when set
  bool strict_lf = false;         // commands must end in CRLF (default: bare LF accepted)
  bare_lf_policy bare_lf = bare_lf_policy::reject;
  bool fsync = true;  // queue durability; off only for experiments
  // An IPv6 listener ([::]:25) takes IPv6 only by default (IPV6_V6ONLY, RFC 3493 5.3);
  // false: it also takes IPv4 as mapped addresses (::ffff:192.0.2.1, logged unmapped).
  bool v6only = true;
  // [listener.NAME.spf]: overrides of the global [spf] for this listener.
  std::optional<bool> spf_enabled;
  std::optional<std::vector<net::cidr>> spf_trusted_networks, spf_trusted_forwarders;
  // [listener.NAME.dkim] / [listener.NAME.dmarc]: `enabled` overrides for this listener.
  std::optional<bool> dkim_enabled, dmarc_enabled;

  std::string endpoint() const;  // "127.0.0.1:2525" or "[::1]:2525"
};

// Section 3 of issue 3: relay control.
struct relay_config {
  std::vector<std::string> local_domains;
  std::vector<std::string> relay_domains;
  std::vector<net::cidr> trusted_networks;  // default: loopback only
  // RCPT TO:<Postmaster> (no domain, RFC 5321 4.5.1) is delivered here; "" refuses it.
  std::string postmaster;
};

// [history]: the SQLite history and quarantine index (store/history.hpp).
struct history_config {
  bool enabled = true;
  std::string path;                                             // default: <state_dir>/history.db
  std::chrono::seconds retention{std::chrono::hours(24 * 90)};  // 0 = keep forever
};

// [store] (issue 14): where the history and quarantine index live. "sqlite" is the
// file [history] path; "postgresql" is one database several gateways share (dsn).
struct store_config {
  std::string backend = "sqlite";  // "sqlite" | "postgresql"
  std::string dsn;                 // "postgresql://user@host:port/db" or "key=value ..."
  std::string host_id;             // this gateway in the shared index; default: hostname
  // Records kept on disk (<state_dir>/history-spool) while the database is unreachable,
  // replayed in order when it is back; beyond this they are dropped (logged, counted).
  std::size_t spool_max = 1'000'000;
  // Remote releases: the owner LISTENs and carries a release out when notified; it also
  // reads its pending ones this often (missed notifications, reconnects).
  std::chrono::milliseconds release_poll{std::chrono::seconds(30)};
};

// [quarantine]: quarantined messages are deleted after `retention` (issue 9 section 3).
struct quarantine_config {
  std::chrono::seconds retention{std::chrono::hours(24 * 30)};  // 0 = keep forever
};

// [policy_service]: Postfix's policy delegation protocol (issue 9 section 6).
struct policy_service_config {
  std::string listen;  // "IP:PORT"; "" = off
};

// [dns]: the server's one resolver (rDNS of clients, SPF evidence of bounces, delivery).
struct dns_config {
  std::vector<std::string> servers;         // "IP[:PORT]"; empty: /etc/resolv.conf
  std::chrono::milliseconds timeout{2000};  // first try (dns::kDnsDefaultTimeout)
  int tries = 2;                            // dns::kDnsDefaultTries
  std::string hosts_file = "/etc/hosts";    // asked before DNS for rDNS; "" = none
};

struct config {
  std::string source;  // file name, or "<embedded>"
  std::string state_dir = "./var";
  std::string log_format = "text";  // text | json
  std::string log_file;             // empty: stderr
  std::string log_level = "info";
  std::string control_socket;  // default: <state_dir>/control.sock
  std::chrono::milliseconds drain_timeout = kDefaultDrainTimeout;
  std::chrono::milliseconds queue_run_interval{0};  // 0: no periodic queue runs
  // [queue] format: how new messages are written (docs/queue.md "Queue formats");
  // both formats are always read.
  queue::queue_format queue_format = queue::kQueueFormatDefault;
  std::string routing_table;  // file parsed by src/delivery
  relay_config relay;
  backscatter_config backscatter;        // [backscatter]: BATV at RCPT, bounce judgement after DATA
  history_config history;                // [history]
  store_config store;                    // [store]
  dns_config dns;                        // [dns]
  policy::spf_policy_config spf;         // [spf]: SPF enforcement (policy/spf_policy.hpp)
  policy::dnsbl_config dnsbl;            // [dnsbl]: DNS block/allow lists (policy/dnsbl.hpp)
  policy::dkim_policy_config dkim;       // [dkim]: DKIM verification (policy/dmarc_policy.hpp)
  policy::dmarc_policy_config dmarc;     // [dmarc]: DMARC enforcement, ARC override
  quarantine_config quarantine;          // [quarantine]
  policy_service_config policy_service;  // [policy_service]
  console_config console;                // [console]: the web console (console_config.hpp)
  std::vector<listener_config> listeners;
  // Where settings that name files, directories and addresses were written, as
  // "FILE:LINE", so checks after parsing (preflight.hpp) point at the line. Keys:
  // "state_dir", "control_socket", "routing.table", "history.path", "log.file",
  // "policy_service.listen", "listener.NAME" (its table), "listener.NAME.address",
  // ".queue_dir", ".tls_cert", ".tls_key" (a [tls] default counts for each listener).
  std::map<std::string, std::string> origin;
  // The origin of `key`, else of `fallback`, else the file name alone.
  std::string where(const std::string& key, const std::string& fallback = {}) const;
};

// The store options of a configuration (store::open).
store::options store_options(const config& c);

// Parses and validates TOML text. `source` names the file in messages. On failure
// the error message holds every problem, one `FILE:LINE: message` per line.
result<config> parse_config(std::string_view text, const std::string& source);
result<config> load_config_file(const std::string& path);
// The embedded default (conf/mxguard.toml compiled in).
std::string_view embedded_default_config();

// "127.0.0.1:25", "[::1]:25", "::1:25" is refused (ambiguous).
result<std::pair<net::ip_address, std::uint16_t>> parse_endpoint(std::string_view s);

// Listener addresses that cannot all be bound: the same IP:PORT twice, a wildcard
// (0.0.0.0 / ::) beside another address of its family on the same port, the policy
// service on a listener's port. One "FILE:LINE: message" each (parse_config reports them).
std::vector<std::string> listener_conflicts(const config& c);

// Applies --listen / --delivery-mode overrides: --listen replaces the listeners by one
// named "cli" that inherits the first listener's settings.
result<void> apply_overrides(config& c, const std::string& listen, const std::string& mode);

}  // namespace mxg::gateway
