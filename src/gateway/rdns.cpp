// rdns.cpp: see rdns.hpp.
#include "gateway/rdns.hpp"

#include <spdlog/spdlog.h>

#include "dns/rdns.hpp"
#include "gateway/server.hpp"

namespace mxg::gateway {

asio::awaitable<void> lookup_rdns(server& srv, std::shared_ptr<rdns_state> st, dns::resolver& res,
                                  net::ip_address ip, std::string sid) {
  auto r = co_await dns::forward_confirmed_rdns(res, ip);
  srv.note_rdns(r.ptr_status == dns::status::timeout);
  const std::string confirmed = r.confirmed, first = r.first();
  st->name = confirmed;
  st->done = true;
  st->timer.cancel();
  spdlog::info("rdns sid={} client={} name={} ptr={} confirmed={} dns={}", sid, ip.to_string(),
               confirmed.empty() ? "unknown" : confirmed, first.empty() ? "-" : first,
               confirmed.empty() ? "no" : "yes", dns::to_string(r.ptr_status));
}

}  // namespace mxg::gateway
