// memory_zone.cpp: the in-memory zone's lookup rules (see memory_zone.hpp).
#include "dns/memory_zone.hpp"

#include <set>

namespace mxg::dns {

void memory_zone::add(record r) {
  r.name = normalize_name(r.name);
  if (r.type == rrtype::cname || r.type == rrtype::ptr || r.type == rrtype::mx ||
      r.type == rrtype::ns)
    r.target = normalize_name(r.target);
  auto key = r.name;
  owners_[key].push_back(entry{false, std::move(r)});
}

void memory_zone::add_timeout(std::string name) {
  owners_[normalize_name(name)].push_back(entry{true, {}});
}

void memory_zone::add_name(std::string name) {
  owners_[normalize_name(name)];
}

std::size_t memory_zone::size() const {
  std::size_t n = 0;
  for (const auto& [_, v] : owners_) n += v.size();
  return n;
}

answer memory_zone::lookup(std::string_view qname, rrtype type) const {
  std::string name = normalize_name(qname);
  std::set<std::string> seen;
  for (int hops = 0; hops <= 10; ++hops) {
    if (!seen.insert(name).second) return answer{status::nodata, {}, 0, 0, "CNAME loop", {}};
    auto it = owners_.find(name);
    if (it == owners_.end()) return answer{status::nxdomain, {}, 0, 0, "", {}};
    answer a;
    a.st = status::nodata;
    std::string cname_target;
    bool seen_type = false;
    for (const auto& e : it->second) {
      if (e.timeout) {
        if (!seen_type) return answer{status::timeout, {}, 0, 0, "simulated timeout", {}};
        break;
      }
      if (e.rr.type == type) {
        seen_type = true;
        a.records.push_back(e.rr);
      } else if (e.rr.type == rrtype::cname && type != rrtype::cname && cname_target.empty()) {
        cname_target = e.rr.target;
      }
    }
    if (!a.records.empty()) {
      a.st = status::ok;
      a.ttl = a.records.front().ttl;
      for (const auto& r : a.records) a.ttl = std::min(a.ttl, r.ttl);
      return a;
    }
    if (cname_target.empty()) return a;  // NODATA
    name = cname_target;
  }
  return answer{status::servfail, {}, 0, 0, "CNAME chain longer than 10", {}};
}

std::shared_ptr<const answer> memory_zone::query_now(std::string_view name, rrtype type) {
  return std::make_shared<const answer>(lookup(name, type));
}

asio::awaitable<answer> memory_zone::query(std::string name, rrtype type) {
  co_return lookup(name, type);
}

}  // namespace mxg::dns
