// cares_resolver.hpp: the real DNS backend. c-ares (1.18) sends the queries, retries,
// rotates servers and falls back to TCP on truncation (RFC 7208 3.4 / RFC 1035 4.2.2);
// it is driven from the asio event loop of the caller (no thread per query): the
// c-ares sockets are watched with posix::stream_descriptor::async_wait and its retry
// timeouts with one steady_timer (ARES_OPT_SOCK_STATE_CB + ares_process_fd).
// Answers are decoded by dns/wire.hpp (records keep their TTLs, TXT strings stay
// separate). Queries go to the configured servers only: no search list, no hosts file
// (RFC 7208 4.3 names are always fully qualified). The query message is built by
// dns/wire.hpp encode_query (names are octets: a label may hold a space, '%', '\\' or a
// NUL) and handed to ares_send with a random id from getrandom().
// Security: c-ares checks the answer's id and question against the query (no
// ARES_FLAG_NOCHECKRESP). c-ares 1.18 keeps one UDP socket (one source port) per
// server for its lifetime (ARES_OPT_UDP_MAX_QUERIES arrived in 1.20), so spoofing
// resistance rests on the 16-bit id: point mxguard at a local recursive resolver on
// loopback (the usual MTA set-up), not at a resolver across an untrusted network.
// Single-threaded: one instance belongs to one io_context thread. It may be destroyed
// with queries in flight: they complete with servfail "resolver shut down".
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "dns/resolver.hpp"

struct ares_channeldata;

namespace mxg::dns {

inline constexpr std::chrono::milliseconds kDnsDefaultTimeout{2000};  // per try
inline constexpr int kDnsDefaultTries = 2;
inline constexpr int kDnsMaxServers = 8;

struct cares_options {
  // "HOST[:PORT]" with HOST an IPv4 address, or "IPV6" / "[IPV6]:PORT". Empty: the
  // nameservers of /etc/resolv.conf.
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout = kDnsDefaultTimeout;  // first try; c-ares doubles per round
  int tries = kDnsDefaultTries;
};

// Parses a "HOST[:PORT]" list element into the form ares_set_servers_ports_csv takes
// ("1.2.3.4:53", "[::1]:53"). Exposed for the CLI and tests.
result<std::string> server_to_csv(std::string_view server);

class cares_resolver : public resolver {
 public:
  static result<std::unique_ptr<cares_resolver>> create(asio::any_io_executor ex,
                                                        cares_options opts = {});
  ~cares_resolver() override;
  cares_resolver(const cares_resolver&) = delete;
  cares_resolver& operator=(const cares_resolver&) = delete;

  asio::awaitable<answer> query(std::string name, rrtype type) override;

  std::size_t in_flight() const { return in_flight_; }

  struct pending;  // one query waiting for c-ares (type-erased completion handler)
  struct socket_watch;

 private:
  explicit cares_resolver(asio::any_io_executor ex);
  void start(pending* p);
  void on_socket_state(int fd, bool readable, bool writable);
  void arm(const std::shared_ptr<socket_watch>& w);
  void process(int read_fd, int write_fd);
  void update_timer();
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void sock_state_cb(void* data, int fd, int readable, int writable);
  static std::uint16_t random_id();

  asio::any_io_executor ex_;
  ares_channeldata* channel_ = nullptr;
  asio::steady_timer timer_;
  std::map<int, std::shared_ptr<socket_watch>> sockets_;
  std::shared_ptr<bool> alive_;
  std::set<std::uint16_t> ids_in_flight_;  // ids of our queries c-ares has not answered
  std::size_t in_flight_ = 0;
  bool destroying_ = false;
  bool timer_armed_ = false;
};

}  // namespace mxg::dns
