// wire.hpp: decoding of a DNS response message (RFC 1035 4.1) into a dns::answer.
// Used by the c-ares backend (cares_resolver.cpp): c-ares sends, retries, falls back
// to TCP and matches ids; we decode the raw message ourselves so that every record
// keeps its own TTL and TXT character-strings stay separate (RFC 1035 3.3.14).
// Rules implemented: header and RCODE (4.1.1), name compression (4.1.4), RR layout
// (4.1.3), RDATA of A (3.4.1), AAAA (RFC 3596 2.2), CNAME/NS/PTR (3.3.1/3.3.11/3.3.12),
// MX (3.3.9), TXT and type 99 SPF (3.3.14, RFC 4408 3.1.1), SOA (3.3.13); a TTL with the
// top bit set counts as 0 (RFC 2181 8); negative answers take their TTL from the SOA in
// the authority section, min(SOA TTL, SOA MINIMUM) (RFC 2308 5); CNAME chains in the
// answer section are followed from the question name (RFC 1034 3.6.2), at most
// kDnsCnameChainMax links, loops stopped.
// Security: the message is untrusted network input. Every read is bounds-checked,
// compression pointers must point strictly backwards (no loops) and names are
// limited to 255 octets (RFC 1035 2.3.4); a malformed record of the asked type makes the
// whole answer SERVFAIL ("malformed"), never a partial answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.hpp"
#include "dns/resolver.hpp"

namespace mxg::dns {

inline constexpr int kDnsCnameChainMax = 10;         // same bound as memory_zone
inline constexpr std::size_t kDnsWireNameMax = 255;  // RFC 1035 2.3.4, octets on the wire

// RCODE values, RFC 1035 4.1.1.
inline constexpr int kRcodeNoError = 0;
inline constexpr int kRcodeNxdomain = 3;

// Decodes a response to the question (qname, qtype). The status comes from the RCODE
// and the records: NOERROR with records of qtype at the end of the CNAME chain -> ok,
// NOERROR without -> nodata, NXDOMAIN -> nxdomain, any other RCODE or a malformed
// message -> servfail (detail says why). wire_size is the message length.
answer decode_response(std::span<const std::uint8_t> msg, std::string_view qname, rrtype qtype);

// Reads a possibly compressed domain name at `offset` (advanced past the name as it
// appears at that position). Returns the lower-case text form without final dot;
// bytes outside [!-~] and '.' or '\' inside labels are written as \DDD. Exposed for tests.
result<std::string> read_name(std::span<const std::uint8_t> msg, std::size_t& offset);

}  // namespace mxg::dns
