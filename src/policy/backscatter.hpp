// backscatter.hpp: the backscatter judgement (issue 9 section 1: it lives in policy/,
// ndr/ only parses). Tells backscatter (bounces about mail our domains never sent,
// caused by a forged envelope sender) from real bounces, ranks the sources that
// accepted the forged mail, and finds their abuse contacts (`mxguard ndr report`; the
// gateway's filter, backscatter_filter.hpp, judges with the same judge()).
//
// Evidence for one bounce record (all optional, whatever is configured):
//   - outbound history (store::history): was the Message-ID sent by us, or did we send
//     to that recipient since --since?                    yes: real   no: backscatter
//   - Message-ID domain: one of our domains?              no: backscatter
//   - BATV (policy::batv): is the bounce addressed to a validly signed prvs= address?
//                                                         yes: real   no: backscatter
//   - SPF: is the host that handed the original to the bouncing system authorized by
//     our own SPF record (RFC 7208 check_host)?           pass: real  fail/softfail: backscatter
// A bounce is backscatter when some evidence says so and none says it is real;
// "unknown" when nothing could be checked; "legitimate" when evidence says we sent it.
//
// The source of a backscatter bounce is the host that accepted the forged message and
// handed it on (the topmost Received "from" of the returned original), or the reporting
// MTA when the original's headers were not returned. Sources are grouped by registered
// domain (last two labels, three under common second-level public suffixes) and network
// (IPv4 /24, IPv6 /48). Abuse contacts: RFC 2142 abuse@, RFC 5321 4.5.1 postmaster@,
// abuse.net, SOA RNAME (RFC 1035 3.3.13), PTR.
// Security: all input is untrusted bounce content (parsed by ndr/); nothing here sends
// mail, and the only effects are the injected history look-ups and DNS queries.
#pragma once

#include <asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"
#include "ndr/bounce_info.hpp"
#include "policy/batv.hpp"
#include "store/history.hpp"

namespace mxg::policy {

// What one bounce record is (not a policy::verdict: that is the action taken).
enum class bounce_verdict { backscatter, legitimate, unknown, not_ours };
const char* to_string(bounce_verdict v);

struct analysis_options {
  std::vector<std::string> our_domains;  // lower case
  const store::history* history = nullptr;
  std::int64_t since = 0;  // history look-back for "did we send to X"
  std::optional<policy::batv> batv;
  bool check_spf = true;
  std::int64_t today = 0;  // BATV day; 0: now
};

struct judged {
  ndr::bounce_info info;
  bounce_verdict v = bounce_verdict::unknown;
  std::vector<std::string> evidence;   // human-readable, one per check that said something
  std::string source_host, source_ip;  // who accepted the forged message
};

// Judges one bounce. `res` is used for the SPF check (may be null: SPF skipped).
asio::awaitable<judged> judge(const ndr::bounce_info& b, const analysis_options& opt,
                              dns::resolver* res);

struct abuse_contact {
  std::string address;  // e.g. abuse@example.net
  std::string source;   // how it was found: "abuse@ convention", "abuse.net", "SOA", "rDNS"
};

struct source_group {
  std::string key;      // domain, or network when no name is known
  std::string domain;   // registered domain of the source, "" if unknown
  std::string network;  // 192.0.2.0/24 or 2001:db8::/48, "" if unknown
  std::set<std::string> hosts, ips;
  int count = 0;
  std::int64_t first_seen = 0, last_seen = 0;
  std::vector<std::string> sample_subjects;   // up to 5, distinct
  std::map<std::string, int> target_domains;  // failed recipients' domains
  std::vector<std::string> files;             // evidence files (up to 20)
  std::vector<abuse_contact> contacts;
};

// Groups backscatter bounces by source, most frequent first.
std::vector<source_group> rank_sources(const std::vector<judged>& bounces);

// Fills `contacts` of each group: abuse@ and postmaster@ of the domain, the
// DOMAIN.contacts.abuse.net TXT answer, the SOA RNAME, and the reverse DNS (PTR) of
// each IP with abuse@ of its parent domain.
asio::awaitable<void> find_contacts(std::vector<source_group>& groups, dns::resolver& res);

// Registered domain of a host name (heuristic, see the file comment).
std::string registered_domain(std::string_view host);

// A ready-to-send plain-text abuse report (RFC 5322 message) for one source.
// `appendix` (CRLF lines, e.g. `ndr report --probe`'s findings) goes before the closing.
std::string draft_report(const source_group& g, const std::vector<judged>& bounces,
                         const std::string& reporter, std::int64_t now,
                         const std::string& appendix = {});

}  // namespace mxg::policy
