// wire.hpp: encoding of a DNS query and decoding of a DNS response message (RFC 1035
// 4.1) into a dns::answer. Used by the c-ares backend (cares_resolver.cpp): c-ares sends,
// retries, falls back to TCP and matches ids; we build the query and decode the raw
// answer ourselves so that names are octets (not C strings with c-ares' '\' escapes),
// every record keeps its own TTL and TXT character-strings stay separate (RFC 1035 3.3.14).
// Names: a name is the octets of its labels joined by '.', ASCII lower case, no final dot,
// no escapes: a label may hold any octet (space, '%', '\', NUL, 8-bit: RFC 2181 11) except
// '.', which separates labels. This is the form of every dns:: name (memory_zone,
// zone_file after unescaping, SPF macro expansion); presentation escapes are only for
// display (record::to_string).
// Names inside RDATA (CNAME, PTR, NS, MX exchange, SOA MNAME/RNAME) name hosts: a record
// whose RDATA name has an octet outside printable ASCII (space, control characters,
// 8-bit) is dropped from the answer (RFC 1123 2.1, RFC 5321 2.3.5), so no consumer gets
// control characters from DNS into a log line, a Received field or an abuse address;
// before names were octets these came back \DDD-escaped, which was safe text but a
// different name.
// Rules implemented: header and RCODE (4.1.1), name compression (4.1.4), RR layout
// (4.1.3), RDATA of A (3.4.1), AAAA (RFC 3596 2.2), CNAME/NS/PTR (3.3.1/3.3.11/3.3.12),
// MX (3.3.9), TXT and type 99 SPF (3.3.14, RFC 4408 3.1.1; an RDATA of zero octets, which
// 3.3.14 does not allow, is read as a record with no character-string, as pyspf and
// dnspython do: SPF then ignores it, openspf test null-text), SOA (3.3.13); a TTL with the
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
#include <vector>

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
// appears at that position). Returns the name in the dns:: form above (octets, ASCII
// lower case, labels joined by '.'); a label that contains a '.' octet cannot be
// represented and is a parse error. Exposed for tests.
result<std::string> read_name(std::span<const std::uint8_t> msg, std::size_t& offset);

// Builds a standard query (RFC 1035 4.1.1: OPCODE 0, RD as given, QDCOUNT 1, class IN)
// for `name` in the dns:: form (a final '.' is allowed, "" or "." is the root). Errors:
// an empty label, a label over 63 octets or a name over 255 octets on the wire
// (RFC 1035 2.3.4).
result<std::vector<std::uint8_t>> encode_query(std::string_view name, rrtype qtype,
                                               std::uint16_t id, bool recursion_desired = true);

}  // namespace mxg::dns
