// memory_zone.hpp: an in-memory DNS zone that answers like a real server, for tests
// and for `--zone FILE`. Entries of an owner are kept in order; a TIMEOUT marker
// reproduces the openspf suite's semantics (../shared/conformance/spf/SOURCE.md):
// walking an owner's entries, a TIMEOUT met before any RR of the asked type makes the
// query time out, a TIMEOUT met after one ends the answer. CNAMEs are followed
// (case-insensitive, loop-safe, at most 10 links) and the final target's RRs answered.
// A name not in the zone is NXDOMAIN; a name present without the type is NODATA.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dns/resolver.hpp"

namespace mxg::dns {

class memory_zone : public resolver {
 public:
  void add(record r);                  // owner name taken from r.name (normalized)
  void add_timeout(std::string name);  // a TIMEOUT marker at this point of the owner's list
  // Marks a name as existing (so queries of a missing type give NODATA, not NXDOMAIN).
  void add_name(std::string name);
  void clear() { owners_.clear(); }
  bool empty() const { return owners_.empty(); }
  std::size_t size() const;

  asio::awaitable<answer> query(std::string name, rrtype type) override;
  // Always ready: the zone answers at once.
  std::shared_ptr<const answer> query_now(std::string_view name, rrtype type) override;
  answer lookup(std::string_view name, rrtype type) const;  // synchronous form

 private:
  struct entry {
    bool timeout = false;
    record rr;
  };
  std::map<std::string, std::vector<entry>> owners_;
};

}  // namespace mxg::dns
