// hosts_file_test.cpp: the hosts(5) table used for client rDNS before DNS.
#include "dns/hosts_file.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace mxg::dns {
namespace {

net::ip_address ip(const char* s) {
  return *net::ip_address::parse(s);
}

TEST(HostsFile, FirstLineGivesTheCanonicalName) {
  auto h = hosts_file::parse(
      "127.0.0.1\tlocalhost\n"
      "127.0.0.1 runsc\n"
      "::1     ip6-localhost ip6-loopback\n"
      "192.0.2.7   Mail.Example.TEST.  mx # the MX\n");
  EXPECT_EQ(h.name_of(ip("127.0.0.1")), "localhost");
  EXPECT_EQ(h.name_of(ip("::1")), "ip6-localhost");
  EXPECT_EQ(h.name_of(ip("192.0.2.7")), "mail.example.test");         // lower case, no dot
  EXPECT_EQ(h.name_of(ip("::ffff:192.0.2.7")), "mail.example.test");  // v4-mapped client
  EXPECT_FALSE(h.name_of(ip("192.0.2.8")));
  EXPECT_EQ(h.size(), 3u);
}

TEST(HostsFile, LaterLinesAndAliasesDoNotRenameAnAddress) {
  auto h = hosts_file::parse("127.0.0.1 localhost\n127.0.0.1 runsc\n192.0.2.7 mx mail\n");
  EXPECT_EQ(h.name_of(ip("127.0.0.1")), "localhost");
  EXPECT_EQ(h.name_of(ip("192.0.2.7")), "mx");
  EXPECT_EQ(h.size(), 2u);
}

TEST(HostsFile, BadLinesAreSkipped) {
  auto h = hosts_file::parse(
      "# only a comment\n"
      "\n"
      "   \t  \n"
      "127.0.0.1\n"                  // no name
      "not-an-ip name.test\n"        // not an address
      "300.1.1.1 bad.test\n"         // not an address
      "#192.0.2.1 commented.test\n"  // commented out
      "192.0.2.2 ok.test\r\n");      // CRLF file
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.name_of(ip("192.0.2.2")), "ok.test");
  EXPECT_FALSE(h.name_of(ip("127.0.0.1")));
}

TEST(HostsFile, LoadReadsAFileAndAMissingFileIsEmpty) {
  EXPECT_EQ(hosts_file::load("/nonexistent/hosts").size(), 0u);
  EXPECT_EQ(hosts_file::load("").size(), 0u);
  std::string path = testing::TempDir() + "mxg-hosts-test";
  {
    std::ofstream out(path);
    out << "198.51.100.1 gw.example.test\n";
  }
  auto h = hosts_file::load(path);
  EXPECT_EQ(h.name_of(ip("198.51.100.1")), "gw.example.test");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace mxg::dns
