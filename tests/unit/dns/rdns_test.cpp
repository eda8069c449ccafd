// Forward-confirmed reverse DNS (src/dns/rdns.hpp) over the in-memory zone: a PTR name
// counts only when its A/AAAA holds the address (RFC 8601 2.7.3 iprev, RFC 7208 5.5), at
// most kPtrNamesMax names are followed (RFC 7208 4.6.4).
#include "dns/rdns.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include "dns/memory_zone.hpp"

using namespace mxg::dns;
using mxg::net::ip_address;

namespace {
record ptr(const std::string& name, const std::string& target) {
  record r;
  r.type = rrtype::ptr;
  r.name = name;
  r.target = target;
  return r;
}
record addr(const std::string& name, const char* ip) {
  record r;
  r.name = name;
  r.addr = *ip_address::parse(ip);
  r.type = r.addr.is_v4() ? rrtype::a : rrtype::aaaa;
  return r;
}
rdns_result lookup(memory_zone& z, const char* ip) {
  asio::io_context io;
  auto f = asio::co_spawn(io, forward_confirmed_rdns(z, *ip_address::parse(ip)), asio::use_future);
  io.run();
  return f.get();
}
}  // namespace

TEST(Rdns, ConfirmedWhenForwardHoldsTheAddress) {
  memory_zone z;
  z.add(ptr("7.2.0.192.in-addr.arpa", "mx.example.test"));
  z.add(addr("mx.example.test", "192.0.2.7"));
  auto r = lookup(z, "192.0.2.7");
  EXPECT_EQ(r.ptr_status, status::ok);
  EXPECT_EQ(r.first(), "mx.example.test");
  EXPECT_EQ(r.confirmed, "mx.example.test");
}

TEST(Rdns, NotConfirmedWhenForwardPointsElsewhere) {
  memory_zone z;
  z.add(ptr("7.2.0.192.in-addr.arpa", "liar.example.test"));
  z.add(addr("liar.example.test", "192.0.2.8"));
  auto r = lookup(z, "192.0.2.7");
  EXPECT_EQ(r.first(), "liar.example.test");
  EXPECT_EQ(r.confirmed, "");
}

TEST(Rdns, SecondNameConfirmsAndNoPtrIsNxdomain) {
  memory_zone z;
  z.add(ptr("7.2.0.192.in-addr.arpa", "a.example.test"));
  z.add(ptr("7.2.0.192.in-addr.arpa", "b.example.test"));
  z.add(addr("b.example.test", "192.0.2.7"));
  auto r = lookup(z, "192.0.2.7");
  EXPECT_EQ(r.ptr_names.size(), 2u);
  EXPECT_EQ(r.confirmed, "b.example.test");
  auto none = lookup(z, "192.0.2.9");
  EXPECT_EQ(none.ptr_status, status::nxdomain);
  EXPECT_TRUE(none.ptr_names.empty());
  EXPECT_EQ(none.confirmed, "");
}

TEST(Rdns, Ipv6AndTheNameBound) {
  memory_zone z;
  const std::string rev = ip_address::parse("2001:db8::1")->reverse_name();
  for (int i = 0; i < 12; ++i) z.add(ptr(rev, "n" + std::to_string(i) + ".example.test"));
  z.add(addr("n11.example.test", "2001:db8::1"));  // beyond the bound: never looked at
  auto r = lookup(z, "2001:db8::1");
  EXPECT_EQ(r.ptr_names.size(), kPtrNamesMax);
  EXPECT_EQ(r.confirmed, "");
}
