// rdns.hpp: the client's forward-confirmed reverse DNS name for the Received header
// (RFC 5321 4.4 "from HELO (NAME [IP])"), through dns::forward_confirmed_rdns (PTR of
// the IP, then A/AAAA of each name, at most dns::kPtrNamesMax). Looked up in the background from
// connect on; a session waits for it at most until its deadline, and never before the greeting.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "dns/resolver.hpp"
#include "net/ip_address.hpp"

namespace mxg::gateway {

class server;

// How long the first DATA may wait for rDNS, counted from connect.
inline constexpr std::chrono::milliseconds kRdnsWait{2000};

struct rdns_state {
  explicit rdns_state(asio::any_io_executor ex) : timer(ex) {}
  bool done = false;
  std::string name;  // confirmed name; "" when none
  std::chrono::steady_clock::time_point deadline;
  asio::steady_timer timer;  // a waiting session sleeps on it; the lookup cancels it
};

// Fills `st` (and wakes a waiting session); logs one "rdns" line.
asio::awaitable<void> lookup_rdns(server& srv, std::shared_ptr<rdns_state> st, dns::resolver& res,
                                  net::ip_address ip, std::string sid);

}  // namespace mxg::gateway
