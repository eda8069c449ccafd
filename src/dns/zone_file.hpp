// zone_file.hpp: RFC 1035 section 5 master-file loader into a memory_zone, for
// `--zone FILE` (spf check, dns query) and tests.
// Supported: $ORIGIN, $TTL (RFC 2308 4), "@", relative names, blank owner = previous
// owner, optional TTL and class (IN only) in either order, TTL units (1w2d3h4m5s, BIND
// style), parentheses across lines, ";" comments, quoted character-strings with \DDD,
// \" and \X escapes, several strings per TXT record (kept separate, RFC 1035 3.3.14);
// types A AAAA MX TXT SPF PTR CNAME NS SOA.
// Extension: the pseudo-type TIMEOUT ("name TIMEOUT", no RDATA) makes queries for the
// name time out, with the openspf suite's ordering rule (see memory_zone.hpp): records
// listed before the TIMEOUT line are still answered, other types time out.
// Names: with no $ORIGIN, relative names are taken as written (as if the origin were
// the root). Owners below the origin make their ancestors down to the origin exist
// (empty non-terminals answer NODATA, not NXDOMAIN, as an authoritative server does).
// Not supported (an error says so): $INCLUDE, $GENERATE, classes other than IN, other
// types, wildcards are loaded as literal "*" labels, "\." inside a label.
// Security: the file is user input; tokens, strings (255 octets, RFC 1035 3.3) and
// names (RFC 1035 2.3.4) are length-checked and the file size is capped. The zone is
// filled only when the whole file parsed (parse fully, then act).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "dns/memory_zone.hpp"

namespace mxg::dns {

inline constexpr std::size_t kZoneFileMaxBytes = 64u << 20;  // local policy
inline constexpr std::uint32_t kZoneDefaultTtl = 3600;       // when neither $TTL nor a TTL was seen
inline constexpr std::uint32_t kDnsTtlMax = 0x7fffffffu;     // RFC 2181 8

// Errors are parse_error (message "PATH:LINE: what") or io_error.
result<void> load_zone_file(const std::string& path, memory_zone& zone);
result<void> load_zone_string(std::string_view text, memory_zone& zone,
                              std::string_view source_name = "<zone>",
                              std::string_view origin = "");

}  // namespace mxg::dns
