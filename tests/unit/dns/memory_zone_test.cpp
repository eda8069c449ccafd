// In-memory zone semantics: NXDOMAIN vs NODATA, CNAME chains and loops, and the
// TIMEOUT marker rules of the openspf suite (../shared/conformance/spf/SOURCE.md).
#include "dns/memory_zone.hpp"

#include <gtest/gtest.h>

using namespace mxg::dns;

namespace {
record txt(std::string name, std::vector<std::string> s) {
  record r;
  r.type = rrtype::txt;
  r.name = std::move(name);
  r.strings = std::move(s);
  return r;
}
record cname(std::string name, std::string target) {
  record r;
  r.type = rrtype::cname;
  r.name = std::move(name);
  r.target = std::move(target);
  return r;
}
}  // namespace

TEST(MemoryZone, NxdomainNodataAndCase) {
  memory_zone z;
  z.add(txt("Example.COM.", {"v=spf1 ", "-all"}));
  auto a = z.lookup("example.com", rrtype::txt);
  ASSERT_EQ(a.st, status::ok);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].joined_text(), "v=spf1 -all");
  EXPECT_EQ(z.lookup("EXAMPLE.com.", rrtype::a).st, status::nodata);
  EXPECT_EQ(z.lookup("other.com", rrtype::txt).st, status::nxdomain);
  EXPECT_TRUE(z.lookup("other.com", rrtype::txt).is_void());
}

TEST(MemoryZone, TimeoutMarkerOrder) {
  memory_zone z;
  z.add(txt("t.example", {"v=spf1 -all"}));
  z.add_timeout("t.example");
  EXPECT_EQ(z.lookup("t.example", rrtype::txt).st, status::ok);
  EXPECT_EQ(z.lookup("t.example", rrtype::a).st, status::timeout);
  z.add_timeout("all.example");
  EXPECT_EQ(z.lookup("all.example", rrtype::txt).st, status::timeout);
}

TEST(MemoryZone, CnameChainAndLoop) {
  memory_zone z;
  z.add(cname("a.example", "B.example."));
  z.add(cname("b.example", "c.example"));
  z.add(txt("c.example", {"hello"}));
  auto a = z.lookup("a.example", rrtype::txt);
  ASSERT_EQ(a.st, status::ok);
  EXPECT_EQ(a.records[0].joined_text(), "hello");
  z.add(cname("loop.example", "LOOP.example."));
  EXPECT_EQ(z.lookup("loop.example", rrtype::txt).st, status::nodata);
  z.add(cname("null.example", ""));
  EXPECT_EQ(z.lookup("null.example", rrtype::a).st, status::nodata);
}
