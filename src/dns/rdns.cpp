// rdns.cpp: see rdns.hpp.
#include "dns/rdns.hpp"

namespace mxg::dns {

asio::awaitable<rdns_result> forward_confirmed_rdns(resolver& res, net::ip_address ip) {
  rdns_result out;
  ip = ip.unmapped();
  auto ptr = co_await res.query(ip.reverse_name(), rrtype::ptr);
  out.ptr_status = ptr.st;
  if (!ptr.ok()) co_return out;
  for (const auto& r : ptr.records) {
    if (r.target.empty() || out.ptr_names.size() >= kPtrNamesMax) break;
    out.ptr_names.push_back(r.target);
    if (!out.confirmed.empty()) continue;
    auto fwd = co_await res.query(r.target, ip.is_v6() ? rrtype::aaaa : rrtype::a);
    for (const auto& a : fwd.records)
      if (a.addr.unmapped() == ip) out.confirmed = r.target;
  }
  co_return out;
}

}  // namespace mxg::dns
