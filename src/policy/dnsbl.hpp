// dnsbl.hpp: DNS block and allow lists (DNSBL / DNSWL, RFC 5782) as a policy check
// (issue 12 section 2): the [dnsbl] configuration, the query names, the reading of one
// list's answer, the score and the decision, and the concurrent lookup of every list
// with one deadline.
//
//   [dnsbl]   enabled, stage = "connect" | "rcpt", timeout_ms, error_action, monitor,
//             trusted_networks, reject_text, tempfail_text
//   [dnsbl.actions]  reject = N, tempfail = N, quarantine = N, tag = N   (score thresholds)
//   [[dnsbl.zone]]   name, type = "block" | "allow", weight, codes = { "127.0.0.2" = 3,
//                    "127.0.0.4" = { weight = 1, meaning = "XBL" } }, bitmask, errors,
//                    ipv4, ipv6, txt, label
//   [[dnsbl.rule]]   name, networks = [...], reject/tempfail/quarantine/tag = N, monitor
//
// Reading an answer (RFC 5782 2.1, 2.3): NXDOMAIN (or no A record) = not listed; A
// records in 127.0.0.0/8 are the list's return codes; a code in the zone's `errors`
// (default 127.255.255.0/24: "you are blocked from querying", e.g. Spamhaus
// 127.255.255.254 for public resolvers) or 127.0.0.1 (RFC 5782 5: never listed) or an
// address outside 127.0.0.0/8 is an error, never a listing; a timeout or a server
// failure is an error. An error adds nothing to the score; `error_action` says what an
// evaluation with errors does (default accept).
// Score: the sum over lists of the weights of the distinct codes answered (a code not in
// `codes` counts the zone's `weight`; with `bitmask` each configured bit set in the last
// octet of a 127.0.0.x answer counts). Block lists weigh >= 0, allow lists <= 0.
// Decision: the strongest action whose threshold the score reaches; the first rule
// whose networks hold the client replaces the thresholds; monitor rules (and the global
// `monitor`) only record what they would have done, like [spf]. Replies (RFC 5321 4.2,
// RFC 3463 X.7.1): reject 554 5.7.1 naming the lists, tempfail 451 4.7.1 (451 4.4.3
// when lookups failed).
// decide() and interpret() are pure; evaluate_dnsbl() does the I/O on any resolver and
// never waits beyond the deadline (a list that has not answered by then is an error).
// Security: answers come from the network; only their addresses (values) and, when
// `txt` is on, a sanitized, capped TXT string reach logs and reply texts.
#pragma once

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "dns/resolver.hpp"
#include "net/ip_address.hpp"
#include "policy/decision.hpp"

namespace mxg::policy {

inline constexpr std::size_t kDnsblZonesMax = 32;  // lists per configuration
inline constexpr std::size_t kDnsblCodesMax = 64;  // return codes per list
inline constexpr std::chrono::milliseconds kDnsblDefaultTimeout{2000};
inline constexpr std::chrono::milliseconds kDnsblTimeoutMax{30000};
inline constexpr int kDnsblWeightMax = 1000;         // |weight|, |threshold|
inline constexpr std::size_t kDnsblTxtMax = 200;     // TXT reason kept (RFC 5782 2.1: optional)
inline constexpr std::size_t kDnsblAnswersMax = 16;  // A records read per answer

enum class dnsbl_stage : std::uint8_t { connect, rcpt };
const char* to_string(dnsbl_stage s);

enum class dnsbl_zone_type : std::uint8_t { block, allow };

struct dnsbl_code {
  net::ip_address value;  // 127.0.0.x; with bitmask only the last octet (the bits) counts
  int weight = 0;
  std::string meaning;  // "" = none
};

struct dnsbl_zone {
  std::string name;   // DNS zone, lower case, no final dot
  std::string label;  // shown in replies, logs and history (default: name)
  dnsbl_zone_type type = dnsbl_zone_type::block;
  int weight = 1;  // a listing code not in `codes` (allow lists: default -1)
  std::vector<dnsbl_code> codes;
  bool bitmask = false;
  std::vector<net::cidr> errors;  // answers that mean "error" (default 127.255.255.0/24)
  bool ipv4 = true, ipv6 = true;  // which clients the list is asked about (RFC 5782 2.4)
  bool txt = false;               // fetch the TXT reason of a listing
  std::size_t line = 0;
  bool applies_to(const net::ip_address& ip) const { return ip.is_v4() ? ipv4 : ipv6; }
};

// Score thresholds per action; unset = the action is never taken by score.
struct dnsbl_thresholds {
  std::optional<int> reject, tempfail, quarantine, tag;
};

struct dnsbl_rule {
  std::string name;
  std::vector<net::cidr> networks;  // client networks the rule applies to
  dnsbl_thresholds thresholds;      // unset keys: the global ones
  bool monitor = false;
  std::size_t line = 0;
};

struct dnsbl_config {
  bool enabled = false;
  dnsbl_stage stage = dnsbl_stage::connect;
  std::chrono::milliseconds timeout = kDnsblDefaultTimeout;  // from the check's start
  verdict error_action = verdict::accept;                    // when a list could not be read
  bool monitor = false;                                      // every decision is only recorded
  std::vector<dnsbl_zone> zones;
  dnsbl_thresholds actions;  // [dnsbl.actions]
  std::vector<dnsbl_rule> rules;
  std::vector<net::cidr> trusted_networks;  // skipped; unset: the relay's trusted networks
  bool trusted_networks_set = false;
  std::string reject_text, tempfail_text;  // {ip} {lists} {score} substituted

  const dnsbl_rule* rule_for(const net::ip_address& ip) const;
};

// RFC 5782 2.1 (IPv4: octets reversed) and 2.4 (IPv6: 32 nibbles reversed), then the
// zone: 192.0.2.99 -> 99.2.0.192.ZONE. The address is used as given (a caller unmaps
// a v4-mapped client first; the IPv6 test point ::ffff:7f00:2 stays IPv6).
std::string dnsbl_query_name(const net::ip_address& ip, std::string_view zone);

enum class dnsbl_status : std::uint8_t { not_listed, listed, error, skipped };
const char* to_string(dnsbl_status s);

struct dnsbl_hit {
  std::string code;  // the answer's address, "127.0.0.2"
  int weight = 0;
  std::string meaning;
};

// One list's answer, read.
struct dnsbl_zone_result {
  std::string zone;   // the zone's name
  std::string label;  // the zone's label
  dnsbl_zone_type type = dnsbl_zone_type::block;
  std::string query;  // the name asked
  dnsbl_status status = dnsbl_status::not_listed;
  std::vector<dnsbl_hit> hits;  // listed: the codes that counted
  int weight = 0;               // the sum of the hits' weights
  std::string error;            // error: why ("timeout", "blocked from querying 127.255.255.254")
  std::string txt;              // the TXT reason, sanitized (when fetched)
  std::uint32_t ttl = 0;
};

// Reads one list's A answer (pure): see the file comment.
dnsbl_zone_result interpret(const dnsbl_zone& z, const dns::answer& a);

struct dnsbl_evaluation {
  bool skipped = false;  // trusted client: no lists asked
  std::string skip_reason;
  std::string ip;
  std::vector<dnsbl_zone_result> zones;  // in configuration order
  int score = 0;
  std::size_t errors = 0;
  decision dec;
};

// Sums the weights of `e.zones` into score/errors and decides (pure).
decision decide(const dnsbl_config& c, dnsbl_evaluation& e);

// "X-Mxguard-DNSBL: score=3 action=quarantine; listed=bl.example (127.0.0.2 +3);
// allowed=wl.example (127.0.10.2 -2); error=slow.example (timeout)": our own field for a
// checked client (there is no registered Authentication-Results method for DNS lists,
// RFC 8601 2.7). Empty for a skipped evaluation.
std::string dnsbl_header_field(const dnsbl_evaluation& e);

// Asks every applicable list about `ip` concurrently (A, and TXT for a listing when
// the zone says so) on `res`, and decides. Returns by `c.timeout` after the start at the
// latest: a list without an answer by then is an error "deadline". `trusted` are the
// networks to skip. Queries still running go on in the background (their answers fill
// the resolver's cache); `res` must outlive them. Never throws for DNS outcomes.
asio::awaitable<dnsbl_evaluation> evaluate_dnsbl(const dnsbl_config& c,
                                                 const std::vector<net::cidr>& trusted,
                                                 dns::resolver& res, net::ip_address ip);

}  // namespace mxg::policy
