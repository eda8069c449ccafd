// Table tests for IP address and CIDR parsing (RFC 4291 text forms, RFC 4632 CIDR).
#include "net/ip_address.hpp"

#include <gtest/gtest.h>

using mxg::net::cidr;
using mxg::net::ip_address;

TEST(IpAddress, ParsesAndFormats) {
  struct Case {
    const char* in;
    const char* out;  // nullptr: invalid
  } cases[] = {
      {"192.0.2.1", "192.0.2.1"},
      {"0.0.0.0", "0.0.0.0"},
      {"CAFE:BABE::1", "cafe:babe::1"},
      {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
      {"::1", "::1"},
      {"1.2.3", nullptr},
      {"1.2.3.4.5", nullptr},
      {"256.1.1.1", nullptr},
      {"", nullptr},
      {"1.2.3.4/8", nullptr},
      {"fe80::1%eth0", nullptr},
      {"abc", nullptr},
  };
  for (const auto& c : cases) {
    auto ip = ip_address::parse(c.in);
    if (!c.out) {
      EXPECT_FALSE(ip) << c.in;
      continue;
    }
    ASSERT_TRUE(ip) << c.in;
    EXPECT_EQ(ip->to_string(), c.out);
  }
}

TEST(IpAddress, V4MappedIsTreatedAsV4WhenUnmapped) {
  auto ip = ip_address::parse("::FFFF:1.2.3.4");
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->is_v4_mapped());
  EXPECT_TRUE(ip->unmapped().is_v4());
  EXPECT_EQ(ip->unmapped().to_string(), "1.2.3.4");
}

TEST(IpAddress, ReverseNames) {
  EXPECT_EQ(ip_address::parse("192.0.2.1")->reverse_name(), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(ip_address::parse("2001:db8::cb01")->reverse_name(),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST(Cidr, ContainsAndHostBits) {
  auto net = cidr::parse("72.241.62.1/26");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->host_bits_set());
  EXPECT_EQ(net->network().to_string(), "72.241.62.0");
  EXPECT_TRUE(net->contains(*ip_address::parse("72.241.62.63")));
  EXPECT_FALSE(net->contains(*ip_address::parse("72.241.62.64")));
  EXPECT_FALSE(net->contains(*ip_address::parse("::1")));
  EXPECT_FALSE(cidr::parse("1.2.3.4/33"));
  EXPECT_FALSE(cidr::parse("1.2.3.4/"));
  EXPECT_FALSE(cidr::parse("1.2.3.4/08"));
  EXPECT_TRUE(cidr::parse("::/0")->contains(*ip_address::parse("2001:db8::1")));
  EXPECT_FALSE(cidr::parse("2001:db8::/32")->host_bits_set());
}
