// dnsbl_flags.hpp: the DNS list options shared by `mxguard dnsbl check` (--config FILE,
// --list ZONE) and `mxguard ndr report --probe` (--dnsbl-config FILE, --dnsbl-list ZONE):
// the dnsbl_config they select, one address's evaluation on a given resolver
// (policy::evaluate_dnsbl: RFC 5782 2.1/2.4 query names, the lists' error codes, one
// deadline), and its per-list JSON and text lines.
// Security: DNS answers are outside input: codes are addresses, TXT reasons arrive
// sanitized from policy/dnsbl_eval.cpp; text goes through printable(), JSON through the
// encoder. Never treats an error answer (127.255.255.x) as a listing (policy does that).
#pragma once

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "base/result.hpp"
#include "dns/resolver.hpp"
#include "net/ip_address.hpp"
#include "policy/dnsbl.hpp"

namespace mxg::cli {

// The [dnsbl] section of `config_file` ("" = none) plus one block list per zone in
// `lists` (weight 1, errors 127.255.255.0/24). No list at all is an error; so are an
// unreadable file and a name that is not a DNS zone. Messages name the flag `list_flag`.
result<policy::dnsbl_config> make_dnsbl_config(const std::string& config_file,
                                               const std::vector<std::string>& lists,
                                               const std::string& list_flag = "--list");

// Evaluates every list of `c` for `ip` (evaluate_dnsbl unmaps a v4-mapped address) on
// `res`, running `io` until every query has ended (bounded by c.timeout and the
// resolver's own timeouts). No trusted networks: the caller asked about this address.
policy::dnsbl_evaluation evaluate_dnsbl_now(asio::io_context& io, const policy::dnsbl_config& c,
                                            dns::resolver& res, const net::ip_address& ip);

// One object per list: zone, label, type, query, status, codes [{code, weight,
// meaning}], weight, error, txt, ttl.
nlohmann::json dnsbl_lists_json(const policy::dnsbl_evaluation& e);

// One line per list, each starting with `indent`: "block bl.example  listed  weight +3:
// 127.0.0.2 (+3, spam source)", "... error timeout", plus "reason: ..." lines.
std::string dnsbl_list_lines(const policy::dnsbl_evaluation& e, const std::string& indent);

}  // namespace mxg::cli
