// rdns.hpp: forward-confirmed reverse DNS of an IP address ("FCrDNS"): the PTR names of
// the address (RFC 1035 3.5 in-addr.arpa, RFC 3596 2.5 ip6.arpa), then the A/AAAA of each
// name; a name is confirmed when its addresses contain the IP (the check RFC 7208 5.5
// "ptr" and RFC 8601 2.7.3 "iprev" describe). At most kPtrNamesMax names are followed (the
// bound RFC 7208 4.6.4 sets on "ptr"). Shared by the gateway's Received header
// (gateway/rdns.cpp) and `mxguard probe` (delivery/probe.cpp).
// Never throws for DNS outcomes; never follows more than kPtrNamesMax names.
#pragma once

#include <asio/awaitable.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "dns/resolver.hpp"
#include "net/ip_address.hpp"

namespace mxg::dns {

inline constexpr std::size_t kPtrNamesMax = 10;  // RFC 7208 4.6.4

struct rdns_result {
  status ptr_status = status::servfail;  // outcome of the PTR query
  std::vector<std::string> ptr_names;    // the PTR targets followed, in answer order
  std::string confirmed;                 // the first name whose A/AAAA holds the IP; "" if none
  std::string first() const { return ptr_names.empty() ? "" : ptr_names.front(); }
};

asio::awaitable<rdns_result> forward_confirmed_rdns(resolver& res, net::ip_address ip);

}  // namespace mxg::dns
