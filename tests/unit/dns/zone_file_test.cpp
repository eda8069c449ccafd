// RFC 1035 section 5 master-file loader: a table of good files with the answers they
// must produce, and a table of bad files with the line number the error must carry.
// Expectations come from RFC 1035 5.1 (entries, @, relative names, blank owner,
// parentheses, comments, \DDD escapes), RFC 2308 4 ($TTL) and RFC 1035 3.3 (255-octet
// character-strings), plus the documented TIMEOUT extension.
#include "dns/zone_file.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

using namespace mxg::dns;

namespace {

struct want_rr {
  const char* name;
  rrtype type;
  status st;
  std::uint32_t ttl;                 // of the first record (ok only)
  std::vector<std::string> strings;  // TXT/SPF: first record's strings
  const char* value;                 // A/AAAA address, or target of MX/CNAME/PTR/NS, or ""
};

struct good_case {
  const char* label;
  const char* text;
  std::vector<want_rr> checks;
};

const std::vector<good_case> kGood = {
    {"origin, @, relative and absolute names, $TTL",
     "$ORIGIN example.com.\n$TTL 300\n@ IN TXT \"v=spf1 -all\"\nmail A 192.0.2.1\n"
     "other.net. A 192.0.2.2\n",
     {{"example.com", rrtype::txt, status::ok, 300, {"v=spf1 -all"}, ""},
      {"mail.example.com", rrtype::a, status::ok, 300, {}, "192.0.2.1"},
      {"other.net", rrtype::a, status::ok, 300, {}, "192.0.2.2"},
      {"example.com", rrtype::a, status::nodata, 0, {}, ""},
      {"nope.example.com", rrtype::a, status::nxdomain, 0, {}, ""}}},
    {"blank owner repeats the previous owner; TTL and class in either order",
     "example.org. 60 IN A 192.0.2.1\n  IN 120 AAAA 2001:DB8::1\n\tMX 10 mx.example.org.\n",
     {{"example.org", rrtype::a, status::ok, 60, {}, "192.0.2.1"},
      {"example.org", rrtype::aaaa, status::ok, 120, {}, "2001:db8::1"},
      // RFC 1035 5.1: a missing TTL is the last one stated
      {"example.org", rrtype::mx, status::ok, 120, {}, "mx.example.org"}}},
    {"several character-strings stay separate; escapes \\\" \\\\ \\DDD",
     "t.example. TXT \"v=spf1 \" \"ip4:192.0.2.0/24\" \" -all\"\n"
     "e.example. TXT \"say \\\"hi\\\"\" \"a\\\\b\" \"\\065\\066C\"\n"
     "u.example. TXT unquoted words\n",
     {{"t.example",
       rrtype::txt,
       status::ok,
       kZoneDefaultTtl,
       {"v=spf1 ", "ip4:192.0.2.0/24", " -all"},
       ""},
      {"e.example", rrtype::txt, status::ok, kZoneDefaultTtl, {"say \"hi\"", "a\\b", "ABC"}, ""},
      {"u.example", rrtype::txt, status::ok, kZoneDefaultTtl, {"unquoted", "words"}, ""}}},
    {"parentheses span lines, comments anywhere, semicolon inside quotes is text",
     "$ORIGIN example.net.\n@ 3600 IN SOA ns1 hostmaster ( 2024010101 ; serial\n"
     "  7200 3600\n  1209600 300 ) ; end\n"
     "@ TXT ( \"v=spf1 ; not a comment\"\n \"-all\" )\n",
     {{"example.net", rrtype::soa, status::ok, 3600, {}, "ns1.example.net"},
      {"example.net", rrtype::txt, status::ok, 3600, {"v=spf1 ; not a comment", "-all"}, ""}}},
    {"all supported types; SPF type 99; CNAME followed by the zone",
     "$ORIGIN z.test.\n$TTL 1h\nwww CNAME host\nhost A 198.51.100.7\n"
     "@ NS ns.z.test.\n@ SPF \"v=spf1 a -all\"\n@ MX 0 .\n"
     "7.100.51.198.in-addr.arpa. PTR host\n",
     {{"www.z.test", rrtype::a, status::ok, 3600, {}, "198.51.100.7"},
      {"www.z.test", rrtype::cname, status::ok, 3600, {}, "host.z.test"},
      {"z.test", rrtype::ns, status::ok, 3600, {}, "ns.z.test"},
      {"z.test", rrtype::spf, status::ok, 3600, {"v=spf1 a -all"}, ""},
      {"z.test", rrtype::mx, status::ok, 3600, {}, ""},
      {"7.100.51.198.in-addr.arpa", rrtype::ptr, status::ok, 3600, {}, "host.z.test"}}},
    {"TTL units and case-insensitive keywords",
     "$ttl 1d\nx.example. in a 192.0.2.9\ny.example. 1w2d3h4m5s txt \"u\"\n",
     {{"x.example", rrtype::a, status::ok, 86400, {}, "192.0.2.9"},
      {"y.example",
       rrtype::txt,
       status::ok,
       7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5,
       {"u"},
       ""}}},
    {"empty non-terminals below the origin exist (NODATA, not NXDOMAIN)",
     "$ORIGIN example.com.\n_spf.mail TXT \"v=spf1 -all\"\n",
     {{"mail.example.com", rrtype::txt, status::nodata, 0, {}, ""},
      {"example.com", rrtype::txt, status::nodata, 0, {}, ""},
      {"com", rrtype::txt, status::nxdomain, 0, {}, ""}}},
    {"TIMEOUT extension keeps the openspf ordering rule",
     "t.example. TXT \"v=spf1 -all\"\nt.example. TIMEOUT\nall.example. TIMEOUT\n",
     {{"t.example", rrtype::txt, status::ok, kZoneDefaultTtl, {"v=spf1 -all"}, ""},
      {"t.example", rrtype::a, status::timeout, 0, {}, ""},
      {"all.example", rrtype::txt, status::timeout, 0, {}, ""}}},
    {"no $ORIGIN: relative names are taken as written; CRLF line ends",
     "plain.example TXT \"x\"\r\nnext.example A 192.0.2.3\r\n",
     {{"plain.example", rrtype::txt, status::ok, kZoneDefaultTtl, {"x"}, ""},
      {"next.example", rrtype::a, status::ok, kZoneDefaultTtl, {}, "192.0.2.3"}}},
};

std::string value_of(const record& r) {
  switch (r.type) {
    case rrtype::a:
    case rrtype::aaaa:
      return r.addr.to_string();
    default:
      return r.target;
  }
}

TEST(ZoneFile, GoodInputs) {
  for (const auto& c : kGood) {
    SCOPED_TRACE(c.label);
    memory_zone z;
    auto r = load_zone_string(c.text, z, "good.zone");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    for (const auto& w : c.checks) {
      SCOPED_TRACE(std::string(w.name) + " " + to_string(w.type));
      auto a = z.lookup(w.name, w.type);
      ASSERT_EQ(a.st, w.st) << a.detail;
      if (w.st != status::ok) continue;
      ASSERT_FALSE(a.records.empty());
      EXPECT_EQ(a.records[0].ttl, w.ttl);
      if (w.type == rrtype::txt || w.type == rrtype::spf) {
        EXPECT_EQ(a.records[0].strings, w.strings);
      } else {
        EXPECT_EQ(value_of(a.records[0]), w.value);
      }
    }
  }
}

TEST(ZoneFile, MxPreferenceAndSoaFields) {
  memory_zone z;
  ASSERT_TRUE(load_zone_string("$ORIGIN e.test.\n@ MX 20 b\n@ MX 10 a\n"
                               "@ SOA ns1 admin.e.test. 7 1h 30m 2w 5m\n",
                               z)
                  .has_value());
  auto mx = z.lookup("e.test", rrtype::mx);
  ASSERT_EQ(mx.records.size(), 2u);
  EXPECT_EQ(mx.records[0].preference, 20);
  EXPECT_EQ(mx.records[1].preference, 10);
  EXPECT_EQ(mx.records[1].target, "a.e.test");
  auto soa = z.lookup("e.test", rrtype::soa);
  ASSERT_EQ(soa.records.size(), 1u);
  const auto& s = soa.records[0];
  EXPECT_EQ(s.target, "ns1.e.test");
  EXPECT_EQ(s.rname, "admin.e.test");
  EXPECT_EQ(s.serial, 7u);
  EXPECT_EQ(s.refresh, 3600u);
  EXPECT_EQ(s.retry, 1800u);
  EXPECT_EQ(s.expire, 14u * 86400);
  EXPECT_EQ(s.minimum, 300u);
}

struct bad_case {
  const char* text;
  int line;              // the line the error must name
  const char* contains;  // a word of the message
};

const std::vector<bad_case> kBad = {
    {"a.example. A 192.0.2.300\n", 1, "IPv4"},
    {"a.example. A 2001:db8::1\n", 1, "IPv4"},
    {"a.example. AAAA 192.0.2.1\n", 1, "IPv6"},
    {"ok.example. A 192.0.2.1\n\nb.example. TXT \"unterminated\n", 3, "unterminated"},
    {"a.example. TXT ( \"x\"\n\"y\"\n", 1, "not closed"},
    {"a.example. TXT \"x\" )\n", 1, "without"},
    {"a.example. 60 CH TXT \"x\"\n", 1, "class"},
    {"a.example. HINFO \"x\" \"y\"\n", 1, "unsupported record type"},
    {"$INCLUDE other.zone\n", 1, "not supported"},
    {"$TTL soon\n", 1, "$TTL"},
    {"a.example. 99999999999 A 192.0.2.1\n", 1, "TTL"},
    {"\n\n  A 192.0.2.1\n", 3, "no owner"},
    {"@ A 192.0.2.1\n", 1, "$ORIGIN"},
    {"a.example. MX mx.example.\n", 1, "MX needs 2"},
    {"a.example. MX 70000 mx.example.\n", 1, "out of range"},
    {"a.example. CNAME\n", 1, "CNAME needs 1"},
    {"a.example. A 192.0.2.1 192.0.2.2\n", 1, "A needs 1"},
    {"a.example. TXT\n", 1, "at least one"},
    {"a.example. TXT \"\\25x\"\n", 1, "three digits"},
    {"a.example. TXT \"\\300\"\n", 1, "above 255"},
    {"a..example. A 192.0.2.1\n", 1, "empty label"},
    {"a\\.b.example. A 192.0.2.1\n", 1, "not supported"},
    {"a.example. SOA ns admin 1 2 3 4\n", 1, "SOA needs 7"},
    {"a.example. SOA ns admin 1 2 3 4 x5\n", 1, "SOA time"},
    {"t.example. TIMEOUT 5\n", 1, "TIMEOUT needs 0"},
    {"a.example.\n", 1, "missing record type"},
    {"$ORIGIN a.test.\n; comment\nx ( A\n 192.0.2.1\n 192.0.2.2 )\n", 3,
     "A needs 1"},  // entry starts on 3
};

TEST(ZoneFile, BadInputsNameFileAndLine) {
  for (const auto& c : kBad) {
    SCOPED_TRACE(c.text);
    memory_zone z;
    auto r = load_zone_string(c.text, z, "bad.zone");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, mxg::errc::parse_error);
    const std::string prefix = "bad.zone:" + std::to_string(c.line) + ": ";
    EXPECT_TRUE(r.error().message.starts_with(prefix)) << r.error().message;
    EXPECT_NE(r.error().message.find(c.contains), std::string::npos) << r.error().message;
    EXPECT_TRUE(z.empty()) << "a failed load must not fill the zone";
  }
}

TEST(ZoneFile, StringOver255OctetsIsRefused) {
  memory_zone z;
  std::string ok = "a.example. TXT \"" + std::string(255, 'x') + "\"\n";
  EXPECT_TRUE(load_zone_string(ok, z).has_value());
  std::string bad = "b.example. TXT \"" + std::string(256, 'x') + "\"\n";
  auto r = load_zone_string(bad, z, "long.zone");
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().message.starts_with("long.zone:1: ")) << r.error().message;
}

TEST(ZoneFile, LoadFromFileAndMissingFile) {
  std::string path = testing::TempDir() + "/zone_file_test.zone";
  {
    std::ofstream f(path);
    f << "$ORIGIN f.test.\n@ TXT \"v=spf1 mx -all\"\n\nbad A 1.2.3\n";
  }
  memory_zone z;
  auto r = load_zone_file(path, z);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.rfind(path + ":4: ", 0), 0u) << r.error().message;
  {
    std::ofstream f(path);
    f << "$ORIGIN f.test.\n@ TXT \"v=spf1 mx -all\"\n";
  }
  ASSERT_TRUE(load_zone_file(path, z).has_value());
  EXPECT_EQ(z.lookup("f.test", rrtype::txt).records.at(0).joined_text(), "v=spf1 mx -all");
  std::remove(path.c_str());
  auto missing = load_zone_file(path + ".missing", z);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, mxg::errc::io_error);
}

}  // namespace
