// policy_protocol.hpp: Postfix's policy delegation protocol (SMTPD_POLICY_README,
// "Protocol description"), I/O-free: the request reader, the reply formatter, the
// SPF-evaluation -> action mapping with postfix-policyd-spf-python's conventions, and
// the per-message (`instance`) cache of the policy service (src/gateway/policy_service).
//
// A request is `name=value` lines ending in LF (CRLF tolerated) closed by an empty
// line; the reply is one `action=...` line and an empty line. Postfix sends several
// requests per connection, one at a time, and never duplicates an attribute.
// Actions used (access(5)): DUNNO, PREPEND header, HOLD text, DEFER_IF_PERMIT
// [x.y.z] text, and "NNN x.y.z text" (RFC 3463 enhanced status, RFC 7372 5.7.23/5.7.24).
//
// Security: the input comes from the local MTA, but it carries what an SMTP client
// chose to send (HELO, addresses), so it is treated as untrusted: every line, name,
// attribute count and request size is bounded (named constants below), a malformed
// request is an error value (the service closes the connection without a reply, as
// policyd-spf does on an internal error; Postfix then answers 451 4.3.5), and every
// text that goes into a reply is stripped of CR, LF and control bytes so it can never
// add a line to the reply stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "base/result.hpp"
#include "policy/spf_policy.hpp"

namespace mxg::policy {

// Limits of one request. Postfix's smtpd bounds what it forwards by its own
// line_length_limit (2048) and the SMTP limits of RFC 5321 4.5.3.1 (path 256 octets,
// domain 255), and sends about 30 attributes (Postfix 3.7 SMTPD_POLICY_README lists
// 31). Our bounds leave room for long TLS certificate subjects (ccert_subject) and
// future attributes, and still cap the memory of one connection.
inline constexpr std::size_t kPolicyMaxLine = 4096;          // one "name=value" line, no LF
inline constexpr std::size_t kPolicyMaxName = 64;            // an attribute name
inline constexpr std::size_t kPolicyMaxAttributes = 128;     // attributes per request
inline constexpr std::size_t kPolicyMaxRequest = 64 * 1024;  // bytes per request
inline constexpr std::size_t kPolicyMaxPending = 16;  // complete requests waiting (pipelined)
// Free text in a reply (reject/defer/hold reasons); the whole action line is bounded by
// the header, which stays under Postfix's header_size_limit by far.
inline constexpr std::size_t kPolicyMaxReplyText = 512;
inline constexpr std::size_t kPolicyMaxAction = 2000;  // one action line, without "action="

using policy_attributes = std::map<std::string, std::string, std::less<>>;

// Incremental reader: feed() bytes as they arrive, take complete requests with
// next(). After an error the reader stays failed (the connection must be closed).
class policy_request_reader {
 public:
  result<void> feed(std::string_view bytes);
  std::optional<policy_attributes> next();
  // True when part of a request has been read (a line or attributes).
  bool partial() const { return !line_.empty() || !cur_.empty(); }
  bool failed() const { return failed_.has_value(); }

 private:
  result<void> take_line(std::string_view line);
  result<void> fail_with(std::string msg);

  std::string line_;  // the current line, without its LF
  bool line_cr_ = false;
  policy_attributes cur_;
  std::size_t cur_bytes_ = 0;
  std::deque<policy_attributes> ready_;
  std::optional<error> failed_;
};

// The attributes the SPF check uses (SMTPD_POLICY_README "Protocol description").
struct policy_request {
  std::string request;         // "smtpd_access_policy"
  std::string protocol_state;  // "CONNECT", "EHLO", "HELO", "MAIL", "RCPT", "DATA", ...
  std::string protocol_name;   // "SMTP", "ESMTP"
  std::string client_address;  // IPv4 or IPv6 text
  std::string client_name;
  std::string helo_name;
  std::string sender;  // "" = the null sender
  std::string recipient;
  std::string instance;  // the same for every request of one message
  std::string queue_id;
};

// request= must be smtpd_access_policy (the only request type Postfix sends).
result<policy_request> read_policy_request(const policy_attributes& a);

// Reply text for Postfix: CR, LF and tab become one space (runs collapsed), other
// control bytes and DEL become '?', leading/trailing spaces dropped, at most `max` bytes.
std::string policy_text(std::string_view s, std::size_t max = kPolicyMaxReplyText);
// "action=ACTION\n\n" with ACTION passed through policy_text (bounded by kPolicyMaxAction).
std::string format_policy_reply(std::string_view action);

// The action for an SPF evaluation (postfix-policyd-spf-python's conventions):
//   skipped (trusted)       DUNNO
//   accept, tag             PREPEND <received_spf> ("Received-SPF: ...", one line)
//   quarantine              HOLD <reason>        (Postfix's hold queue)
//   tempfail                DEFER_IF_PERMIT <x.y.z> <text>  (4.7.24 temperror, 4.4.3 DNS)
//   reject                  <code> <x.y.z> <text>           (550 5.7.23 fail, 5.7.24 permerror)
// Pure; the caller computes received_spf_field() (empty: DUNNO instead of PREPEND).
std::string spf_policy_action(const spf_evaluation& e, std::string_view received_spf);

// What later recipients of the same message get (policyd-spf: the header once per
// message): PREPEND and HOLD act on the whole message and become DUNNO; a refusal
// (reject, DEFER_IF_PERMIT) is repeated for every recipient.
std::string later_recipient_action(std::string_view first_action);

// Postfix's "IP:PORT" / "[IPv6]:PORT" of [policy_service] listen.
result<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view s);

// Per-message results keyed by the `instance` attribute, so a message's later
// recipients are answered without evaluating again. An entry also records the client,
// sender and HELO it was made for; a look-up with other values misses (a reused or
// forged instance never borrows another message's answer). Bounded (the oldest entry
// goes first) and expiring. Time is passed in (tests use their own).
inline constexpr std::size_t kPolicyInstanceCacheEntries = 10000;
inline constexpr std::chrono::seconds kPolicyInstanceCacheTtl{3600};

class policy_instance_cache {
 public:
  using clock = std::chrono::steady_clock;
  struct entry {
    std::string fingerprint;  // client, sender, HELO
    std::string action;       // the answer of the first recipient
    std::string result;       // SPF result, for logs
  };

  explicit policy_instance_cache(std::size_t max_entries = kPolicyInstanceCacheEntries,
                                 clock::duration ttl = kPolicyInstanceCacheTtl)
      : max_(max_entries), ttl_(ttl) {}

  static std::string fingerprint(const policy_request& r);
  // The entry for `instance` when it matches `fingerprint` and has not expired.
  const entry* find(std::string_view instance, std::string_view fingerprint, clock::time_point now);
  void put(std::string instance, entry e, clock::time_point now);
  void clear();
  std::size_t size() const { return map_.size(); }

 private:
  void expire(clock::time_point now);

  struct slot {
    entry e;
    clock::time_point at;
    std::uint64_t gen = 0;
  };
  std::size_t max_;
  clock::duration ttl_;
  std::unordered_map<std::string, slot> map_;
  // Insertion order (instance, generation): the front is the oldest; a stale pair (its
  // key was replaced or removed) is skipped.
  std::deque<std::pair<std::string, std::uint64_t>> order_;
  std::uint64_t gen_ = 0;
};

}  // namespace mxg::policy
