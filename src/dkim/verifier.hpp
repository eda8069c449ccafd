// verifier.hpp: DKIM verification of one message (RFC 6376 6; RFC 8301; RFC 8463).
// Streaming: feed() the message in chunks as it arrives (CRLF or bare LF line ends). The
// header block is kept (CRLF-normalized, capped at max_header_bytes); the body is never
// stored: each distinct (body canonicalization, hash, l=) gets one body_hasher fed as
// the chunks come. Then finish() looks the keys up, all at once (TXT at
// selector._domainkey.domain, RFC 6376 3.6.2) and returns one result per DKIM-Signature
// field, in header order (topmost first), each with its reason.
//   dkim::verifier v(opts);
//   v.feed(chunk1); v.feed(chunk2); ...
//   auto results = co_await v.finish(resolver);      // any dns::resolver (cache, c-ares)
//   auto results = v.finish(answers);                // or answers already at hand
// One verifier checks one message; it is not thread-safe. DMARC reads header() for From;
// ARC can reuse canon.hpp, crypto.hpp, tag_list.hpp and key_record.hpp.
// Security: all input is peer data (message) or DNS data (keys); every size is capped:
// header bytes (kHeaderBytesMax), signatures verified (kSignaturesMax), fields, tags, key
// record length, RSA key bits. Signatures past the cap get `policy`, never silence.
#pragma once

#include <asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canon.hpp"
#include "dkim/signature.hpp"
#include "dkim/types.hpp"
#include "dns/resolver.hpp"
#include "mail/header.hpp"

namespace mxg::dns {
class memory_zone;
}

namespace mxg::dkim {

inline constexpr std::size_t kSignaturesMax = 10;            // our cap per message
inline constexpr std::size_t kHeaderBytesMax = 1024 * 1024;  // our cap on the header block

struct signature_result {
  result res = result::permerror;
  std::string reason;     // why; for pass, notes such as "key in testing mode (t=y)"
  std::size_t index = 0;  // 0 = the topmost DKIM-Signature field
  std::string domain;     // d= (lower case; "" when unreadable)
  std::string selector;   // s=
  std::string identity;   // i= (or "@" + d=)
  std::string algorithm;  // a= as written (lower case)
  std::string b;          // b= (no FWS), for header.b (RFC 6008)
  std::optional<std::uint64_t> body_length;  // l=
  bool testing = false;                      // the key has t=y (RFC 6376 3.6.1)
  int key_bits = 0;  // RSA modulus bits (256 for ed25519), 0 when no key was loaded
};

struct options {
  // Unix seconds, for x= (RFC 6376 3.5). Default: the system clock.
  std::function<std::int64_t()> clock;
  // RFC 8301: rsa-sha1 and RSA keys under 1024 bits fail. false = RFC 6376 as written
  // (only for comparisons with older verifiers; never in the gateway).
  bool rfc8301 = true;
  // Accept draft signatures (no v=, or v=0.5) as v=1: comparisons only (see signature.hpp).
  bool accept_draft_versions = false;
  std::size_t max_signatures = kSignaturesMax;
  std::size_t max_header_bytes = kHeaderBytesMax;
};

class verifier {
 public:
  explicit verifier(options o = {});
  verifier(const verifier&) = delete;
  verifier& operator=(const verifier&) = delete;

  void feed(std::string_view chunk);

  // The key record names to query (deduplicated, lower case, in header order). Ends the
  // message: no feed() after it.
  std::vector<std::string> key_names();
  // Verifies with DNS answers already known (name -> TXT answer; a missing name counts
  // as a DNS failure, temperror).
  std::vector<signature_result> finish(const std::map<std::string, dns::answer>& keys);
  // Queries every key through `r` (all names at once, awaited together; put a cache in
  // front), then verifies. Results in header order, as finish(keys).
  asio::awaitable<std::vector<signature_result>> finish(dns::resolver& r);

  // The header block as received, CRLF-normalized, and its fields (views into it).
  const std::string& header_text() const { return header_; }
  const mail::header_block& header() const { return fields_; }
  bool header_complete() const { return header_done_; }
  std::uint64_t body_bytes() const { return body_bytes_; }

 private:
  void end_header();
  void end_message();

  options opt_;
  std::string header_;
  bool header_done_ = false;
  bool header_overflow_ = false;
  bool ended_ = false;
  std::uint64_t body_bytes_ = 0;
  std::int64_t now_ = 0;
  mail::header_block fields_;
  struct sig_state {
    signature sig;
    std::size_t field = 0;  // index in fields_.fields
    int hasher = -1;        // index in hashers_, -1 when not verifiable
    bool over_cap = false;
  };
  std::vector<sig_state> sigs_;
  std::vector<body_hasher> hashers_;
  std::vector<std::string> body_digests_;
};

// One message at once.
asio::awaitable<std::vector<signature_result>> verify(std::string_view message, dns::resolver& r,
                                                      options o = {});
std::vector<signature_result> verify(std::string_view message, const dns::memory_zone& zone,
                                     options o = {});

// The name a key is published at (RFC 6376 3.6.2.1).
std::string key_name(std::string_view selector, std::string_view domain);

// One RFC 8601 resinfo for Authentication-Results: "dkim=pass (reason) header.d=...
// header.i=... header.s=... header.a=... header.b=<first 8 of b=>" (RFC 6008 2).
std::string authres_entry(const signature_result& r);

}  // namespace mxg::dkim
