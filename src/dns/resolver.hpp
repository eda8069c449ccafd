// resolver.hpp: the DNS interface every module uses, with co_await.
// One query is (name, type); the answer distinguishes the outcomes SPF needs
// (RFC 7208 2.6.6 / 4.6.4 / 5): records, NXDOMAIN, NODATA (name exists, no RR of
// that type), timeout and server failure. Backends: c-ares (real DNS, see
// cares_resolver.hpp), the in-memory zone (memory_zone.hpp), and decorators
// (cache.hpp). Names are compared case-insensitively and passed without the final dot;
// a name is the octets of its labels joined by '.' with no escapes (dns/wire.hpp), so a
// label may hold a space, '%' or any octet but '.'.
#pragma once

#include <asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/ip_address.hpp"

namespace mxg::dns {

enum class rrtype : std::uint16_t {
  a = 1,
  ns = 2,
  cname = 5,
  soa = 6,
  ptr = 12,
  mx = 15,
  txt = 16,
  aaaa = 28,
  spf = 99,  // RFC 4408 type 99, deprecated by RFC 7208 3.1; only the linter asks for it
};
const char* to_string(rrtype t);

enum class status : std::uint8_t {
  ok,        // at least one record of the asked type
  nodata,    // the name exists, no record of that type (NOERROR, empty answer)
  nxdomain,  // RCODE 3
  timeout,   // no answer within the configured time and retries
  servfail,  // SERVFAIL, REFUSED, malformed answer, or any other failure
};
const char* to_string(status s);

struct record {
  rrtype type = rrtype::a;
  std::string name;  // owner name, lower case, no final dot
  std::uint32_t ttl = 0;
  net::ip_address addr;              // A, AAAA
  std::string target;                // CNAME, PTR, NS, MX exchange, SOA mname
  std::uint16_t preference = 0;      // MX
  std::vector<std::string> strings;  // TXT/SPF character-strings, raw bytes, in order
  std::string rname;                 // SOA responsible mailbox (as a domain name)
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;  // SOA

  // TXT/SPF: the character-strings joined with no separator (RFC 7208 3.3).
  std::string joined_text() const;
  // One line in master-file style, for --trace and logs: "example.com. 300 IN TXT "v=spf1 -all"".
  std::string to_string() const;
};

// A place where one consumer keeps what it derived from an answer (the SPF evaluator: the
// selected and parsed record, RFC 7208 4.5/4.6), so that work is done once per cached
// answer instead of once per check. The cache gives every answer it stores one slot and
// every copy it hands out shares it, so the derived value lives and expires with the
// cache entry (its TTL). Answers that did not pass through a cache have no slot. `tag`
// names the consumer (the address of a constant of its own): a consumer reads `value`
// only under its own tag and never writes a slot another consumer took. Single-threaded,
// like the cache. The value must be immutable and derived from the answer alone.
struct derived_slot {
  const void* tag = nullptr;
  std::shared_ptr<const void> value;
};

struct answer {
  status st = status::servfail;
  std::vector<record> records;  // only records of the asked type (CNAMEs already followed)
  std::uint32_t ttl = 0;        // for negative answers: the SOA minimum (RFC 2308), else min RR TTL
  std::size_t wire_size = 0;    // size of the DNS message when known (0: unknown); > 512 needs TCP
  std::string detail;           // why, for timeout/servfail
  std::shared_ptr<derived_slot> derived;  // set by caching_resolver for stored answers

  bool ok() const { return st == status::ok; }
  // RFC 7208 4.6.4: a "void lookup" is NXDOMAIN or an answer with no records.
  bool is_void() const { return st == status::nxdomain || st == status::nodata; }
};

class resolver {
 public:
  virtual ~resolver() = default;
  // Never throws for DNS outcomes; the answer carries them.
  virtual asio::awaitable<answer> query(std::string name, rrtype type) = 0;
  // The same answer, shared and immutable, for callers that only read it: a cache hands
  // out its entry without copying the records. The default wraps query().
  virtual asio::awaitable<std::shared_ptr<const answer>> query_shared(std::string name,
                                                                      rrtype type);
  // The answer when it is ready at once, without waiting and without sending a query (a
  // cache hit, an in-memory zone); nullptr otherwise (then ask query_shared). The default
  // is nullptr. `name` as for query().
  virtual std::shared_ptr<const answer> query_now(std::string_view name, rrtype type);
};

// Lower-case, strip one final dot. Does not validate.
std::string normalize_name(std::string_view name);

// A name (octets, labels joined by '.', see dns/wire.hpp) in master-file form with the
// final dot, for display: octets outside [!-~] and \ " ; ( ) as \DDD (RFC 1035 5.1).
std::string presentation_name(std::string_view name);

}  // namespace mxg::dns
