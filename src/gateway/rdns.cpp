// rdns.cpp: see rdns.hpp.
#include "gateway/rdns.hpp"

#include <spdlog/spdlog.h>

#include "gateway/server.hpp"

namespace mxg::gateway {

asio::awaitable<void> lookup_rdns(server& srv, std::shared_ptr<rdns_state> st, dns::resolver& res,
                                  net::ip_address ip, std::string sid) {
  std::string confirmed, first;
  auto ptr = co_await res.query(ip.reverse_name(), dns::rrtype::ptr);
  srv.note_rdns(ptr.st == dns::status::timeout);
  if (ptr.ok()) {
    std::size_t n = 0;
    for (const auto& r : ptr.records) {
      if (r.target.empty() || ++n > kRdnsNamesMax) break;
      if (first.empty()) first = r.target;
      auto fwd = co_await res.query(r.target, ip.is_v6() ? dns::rrtype::aaaa : dns::rrtype::a);
      for (const auto& a : fwd.records)
        if (a.addr.unmapped() == ip) confirmed = r.target;
      if (!confirmed.empty()) break;
    }
  }
  st->name = confirmed;
  st->done = true;
  st->timer.cancel();
  spdlog::info("rdns sid={} client={} name={} ptr={} confirmed={} dns={}", sid, ip.to_string(),
               confirmed.empty() ? "unknown" : confirmed, first.empty() ? "-" : first,
               confirmed.empty() ? "no" : "yes", dns::to_string(ptr.st));
}

}  // namespace mxg::gateway
