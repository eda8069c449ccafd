// DNS response decoding (RFC 1035 4.1): messages are built byte by byte here from the
// RFC's layout, then decoded. Covers RCODE mapping, NODATA vs NXDOMAIN, CNAME chains
// in the answer, separate TXT strings, negative TTL = min(SOA TTL, MINIMUM) (RFC 2308 5),
// TTLs with the top bit (RFC 2181 8), compression pointers, and hostile inputs
// (pointer loops, forward pointers, truncation, over-long names).
#include "dns/wire.hpp"
#include "net/ip_address.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace mxg::dns;

namespace {

using bytes = std::vector<std::uint8_t>;

void u16(bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void u32(bytes& b, std::uint32_t v) {
  u16(b, v >> 16);
  u16(b, v & 0xffff);
}
void name(bytes& b, const std::string& n) {
  std::size_t start = 0;
  while (start < n.size()) {
    auto dot = n.find('.', start);
    if (dot == std::string::npos) dot = n.size();
    b.push_back(static_cast<std::uint8_t>(dot - start));
    b.insert(b.end(), n.begin() + static_cast<long>(start), n.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  b.push_back(0);
}

struct rr {
  std::string owner;
  std::uint16_t type;
  std::uint32_t ttl;
  bytes rdata;
};

bytes message(int rcode, const std::string& qname, std::uint16_t qtype, const std::vector<rr>& an,
              const std::vector<rr>& ns = {}) {
  bytes b;
  u16(b, 0x1234);
  u16(b, 0x8180 | rcode);  // QR, RD, RA
  u16(b, 1);
  u16(b, an.size());
  u16(b, ns.size());
  u16(b, 0);
  name(b, qname);
  u16(b, qtype);
  u16(b, 1);
  for (const auto* sec : {&an, &ns})
    for (const auto& r : *sec) {
      name(b, r.owner);
      u16(b, r.type);
      u16(b, 1);
      u32(b, r.ttl);
      u16(b, r.rdata.size());
      b.insert(b.end(), r.rdata.begin(), r.rdata.end());
    }
  return b;
}

bytes rd_name(const std::string& n) {
  bytes b;
  name(b, n);
  return b;
}
bytes rd_txt(const std::vector<std::string>& strings) {
  bytes b;
  for (const auto& s : strings) {
    b.push_back(static_cast<std::uint8_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
  }
  return b;
}
bytes rd_soa(std::uint32_t minimum) {
  bytes b = rd_name("ns.example.com");
  auto r = rd_name("hostmaster.example.com");
  b.insert(b.end(), r.begin(), r.end());
  for (std::uint32_t v : {1u, 7200u, 3600u, 1209600u}) u32(b, v);
  u32(b, minimum);
  return b;
}
bytes rd_mx(unsigned pref, const std::string& n) {
  bytes b;
  u16(b, pref);
  auto r = rd_name(n);
  b.insert(b.end(), r.begin(), r.end());
  return b;
}

answer decode(const bytes& m, const std::string& q, rrtype t) {
  return decode_response(m, q, t);
}

TEST(DnsWire, PositiveAnswersKeepTtlsAndStrings) {
  auto m = message(0, "example.com", 16,
                   {{"example.com", 16, 300, rd_txt({"v=spf1 ", "ip4:192.0.2.0/24", " -all"})},
                    {"example.com", 16, 120, rd_txt({"other"})}});
  auto a = decode(m, "Example.COM.", rrtype::txt);
  ASSERT_EQ(a.st, status::ok) << a.detail;
  ASSERT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.records[0].strings,
            (std::vector<std::string>{"v=spf1 ", "ip4:192.0.2.0/24", " -all"}));
  EXPECT_EQ(a.records[0].ttl, 300u);
  EXPECT_EQ(a.records[1].ttl, 120u);
  EXPECT_EQ(a.ttl, 120u);
  EXPECT_EQ(a.wire_size, m.size());
}

TEST(DnsWire, AddressMxAndPtr) {
  auto a = decode(message(0, "h.example", 1, {{"h.example", 1, 60, {192, 0, 2, 7}}}), "h.example",
                  rrtype::a);
  ASSERT_EQ(a.st, status::ok);
  EXPECT_EQ(a.records[0].addr.to_string(), "192.0.2.7");
  bytes v6(16, 0);
  v6[0] = 0x20, v6[1] = 0x01, v6[2] = 0x0d, v6[3] = 0xb8, v6[15] = 1;
  a = decode(message(0, "h.example", 28, {{"h.example", 28, 60, v6}}), "h.example", rrtype::aaaa);
  ASSERT_EQ(a.st, status::ok);
  EXPECT_EQ(a.records[0].addr.to_string(), "2001:db8::1");
  a = decode(message(0, "e.example", 15, {{"e.example", 15, 60, rd_mx(10, "MX.E.example")}}),
             "e.example", rrtype::mx);
  ASSERT_EQ(a.st, status::ok);
  EXPECT_EQ(a.records[0].preference, 10);
  EXPECT_EQ(a.records[0].target, "mx.e.example");
  a = decode(message(0, "7.2.0.192.in-addr.arpa", 12,
                     {{"7.2.0.192.in-addr.arpa", 12, 60, rd_name("h.example")}}),
             "7.2.0.192.in-addr.arpa", rrtype::ptr);
  ASSERT_EQ(a.st, status::ok);
  EXPECT_EQ(a.records[0].target, "h.example");
}

TEST(DnsWire, CnameChainFollowedAndTtlIsChainMinimum) {
  auto m = message(0, "www.example", 1,
                   {{"www.example", 5, 30, rd_name("edge.example")},
                    {"edge.example", 5, 600, rd_name("host.example")},
                    {"host.example", 1, 300, {192, 0, 2, 1}},
                    {"unrelated.example", 1, 300, {192, 0, 2, 99}}});
  auto a = decode(m, "www.example", rrtype::a);
  ASSERT_EQ(a.st, status::ok);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].name, "host.example");
  EXPECT_EQ(a.ttl, 30u);
  // Asking for the CNAME itself does not follow it.
  auto c = decode(m, "www.example", rrtype::cname);
  ASSERT_EQ(c.st, status::ok);
  EXPECT_EQ(c.records[0].target, "edge.example");
}

TEST(DnsWire, NegativeAnswersTakeTtlFromSoa) {
  struct tc {
    int rcode;
    std::uint32_t soa_ttl, minimum, want_ttl;
    status st;
  };
  for (const auto& t :
       {tc{3, 900, 300, 300, status::nxdomain}, tc{3, 60, 300, 60, status::nxdomain},
        tc{0, 900, 300, 300, status::nodata}, tc{0, 0x80000000u, 300, 0, status::nodata}}) {
    auto m = message(t.rcode, "x.example.com", 16, {},
                     {{"example.com", 6, t.soa_ttl, rd_soa(t.minimum)}});
    auto a = decode(m, "x.example.com", rrtype::txt);
    EXPECT_EQ(a.st, t.st);
    EXPECT_EQ(a.ttl, t.want_ttl);
    EXPECT_TRUE(a.records.empty());
  }
  // Without an SOA, a negative answer has TTL 0 (not cacheable, RFC 2308 5).
  auto a = decode(message(3, "x.example.com", 16, {}), "x.example.com", rrtype::txt);
  EXPECT_EQ(a.st, status::nxdomain);
  EXPECT_EQ(a.ttl, 0u);
  // NOERROR with only records of another type, or of another owner: NODATA.
  a = decode(message(0, "x.example", 16, {{"x.example", 1, 60, {192, 0, 2, 1}}}), "x.example",
             rrtype::txt);
  EXPECT_EQ(a.st, status::nodata);
  // A CNAME pointing nowhere with NXDOMAIN: the target does not exist.
  a = decode(message(3, "w.example", 1, {{"w.example", 5, 60, rd_name("gone.example")}}),
             "w.example", rrtype::a);
  EXPECT_EQ(a.st, status::nxdomain);
}

TEST(DnsWire, OtherRcodesAreServfail) {
  for (int rcode : {1, 2, 4, 5, 9}) {
    auto a = decode(message(rcode, "x.example", 1, {}), "x.example", rrtype::a);
    EXPECT_EQ(a.st, status::servfail) << rcode;
    EXPECT_FALSE(a.detail.empty());
  }
}

TEST(DnsWire, CompressionPointers) {
  // Answer owner is a pointer to the question name at offset 12 (RFC 1035 4.1.4).
  bytes m = message(0, "example.com", 16, {});
  m[7] = 1;  // ancount = 1
  m.insert(m.end(), {0xC0, 12});
  u16(m, 16);
  u16(m, 1);
  u32(m, 77);
  auto rd = rd_txt({"hi"});
  u16(m, rd.size());
  m.insert(m.end(), rd.begin(), rd.end());
  auto a = decode(m, "example.com", rrtype::txt);
  ASSERT_EQ(a.st, status::ok) << a.detail;
  EXPECT_EQ(a.records[0].name, "example.com");
  EXPECT_EQ(a.records[0].ttl, 77u);
}

TEST(DnsWire, HostileMessagesAreServfailNotCrashes) {
  bytes base = message(0, "example.com", 16, {{"example.com", 16, 300, rd_txt({"v=spf1 -all"})}});
  // Every truncation of a valid message decodes to servfail (or, for a cut that only
  // drops nothing, ok) and never reads out of bounds (run under ASan in CI).
  for (std::size_t n = 0; n < base.size(); ++n) {
    bytes cut(base.begin(), base.begin() + static_cast<long>(n));
    auto a = decode(cut, "example.com", rrtype::txt);
    EXPECT_NE(a.st, status::ok) << "cut at " << n;
  }
  // A pointer to itself, and a forward pointer.
  for (std::uint8_t target : {std::uint8_t{12}, std::uint8_t{40}}) {
    bytes m;
    u16(m, 1);
    u16(m, 0x8180);
    u16(m, 1);
    u16(m, 0);
    u16(m, 0);
    u16(m, 0);
    m.insert(m.end(), {0xC0, target});
    u16(m, 1);
    u16(m, 1);
    m.resize(64, 0);
    auto a = decode(m, "x", rrtype::a);
    EXPECT_EQ(a.st, status::servfail);
    EXPECT_NE(a.detail.find("pointer"), std::string::npos) << a.detail;
  }
  // A TXT character-string running past its RDATA.
  bytes bad_txt = {5, 'a', 'b'};
  auto a = decode(message(0, "t.example", 16, {{"t.example", 16, 60, bad_txt}}), "t.example",
                  rrtype::txt);
  EXPECT_EQ(a.st, status::servfail);
  // An A record with 5 bytes of RDATA.
  a = decode(message(0, "t.example", 1, {{"t.example", 1, 60, {1, 2, 3, 4, 5}}}), "t.example",
             rrtype::a);
  EXPECT_EQ(a.st, status::servfail);
  // A name longer than 255 octets on the wire.
  std::string longname;
  for (int i = 0; i < 5; ++i) longname += std::string(60, 'a') + ".";
  longname += "example";
  a = decode(message(0, longname, 1, {}), longname, rrtype::a);
  EXPECT_EQ(a.st, status::servfail);
  // CNAME loop in the answer section.
  a = decode(message(0, "l1.example", 1,
                     {{"l1.example", 5, 60, rd_name("l2.example")},
                      {"l2.example", 5, 60, rd_name("l1.example")}}),
             "l1.example", rrtype::a);
  EXPECT_EQ(a.st, status::servfail);
  // Not a response (QR clear).
  bytes q = message(0, "x.example", 1, {});
  q[2] &= 0x7f;
  EXPECT_EQ(decode(q, "x.example", rrtype::a).st, status::servfail);
}

// Names are octets (wire.hpp): a label's bytes come back as they are (ASCII folded to
// lower case), so a name read from an answer equals the name that was asked, whatever
// octets it holds (RFC 2181 11). A '.' inside a label cannot be represented: malformed.
TEST(DnsWire, LabelOctetsAreKeptAsTheyAre) {
  bytes m = message(0, "x.example", 1, {});
  bytes owner = {4, 'A', ' ', 0xff, 0, 2, '%', '\\', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
  m.resize(12);
  bytes msg = m;
  std::size_t off = 12;
  msg.insert(msg.end(), owner.begin(), owner.end());
  auto n = read_name(msg, off);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, std::string("a \xff\0.%\\.example", 15));
  EXPECT_EQ(off, msg.size());
  record r;
  r.type = rrtype::a;
  r.name = *n;
  r.ttl = 60;
  r.addr = *mxg::net::ip_address::parse("192.0.2.1");
  EXPECT_EQ(r.to_string(), "a\\032\\255\\000.%\\092.example. 60 IN A 192.0.2.1");

  msg = m;
  const bytes dotted = {3, 'a', '.', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
  msg.insert(msg.end(), dotted.begin(), dotted.end());
  off = 12;
  EXPECT_FALSE(read_name(msg, off));
}

// Names in RDATA name hosts: a PTR/MX/CNAME target with a control character, a space or
// an 8-bit octet is dropped (wire.hpp), the other records stay.
TEST(DnsWire, RdataNamesThatNoHostHasAreDropped) {
  auto a = decode(message(0, "x.example", 12,
                          {{"x.example", 12, 60, rd_name("evil\r\nx.example")},
                           {"x.example", 12, 60, rd_name("a b.example")},
                           {"x.example", 12, 60, rd_name("host.example")}}),
                  "x.example", rrtype::ptr);
  ASSERT_EQ(a.st, status::ok);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].target, "host.example");
  a = decode(message(0, "x.example", 15, {{"x.example", 15, 60, rd_mx(10, "m\x80.example")}}),
             "x.example", rrtype::mx);
  EXPECT_EQ(a.st, status::nodata);
  // A CNAME to such a name ends the chain: no data.
  a = decode(message(0, "c.example", 1,
                     {{"c.example", 5, 60, rd_name("t\x01.example")},
                      {"t\x01.example", 1, 60, {192, 0, 2, 1}}}),
             "c.example", rrtype::a);
  EXPECT_EQ(a.st, status::nodata);
}

// openspf macro-mania-in-domain: the expanded name "macro%percent  space%20url-space.
// example.com" (RFC 7208 7.3: %% -> %, %_ -> space, %- -> %20). The answer's owner is
// that name with its two spaces; it must match the question and give the A record.
TEST(DnsWire, OwnerNameWithSpacesMatchesTheQuestion) {
  const std::string q = "macro%percent  space%20url-space.example.com";
  bytes m = message(0, q, 1, {{q, 1, 60, {1, 2, 3, 4}}});
  auto a = decode(m, q, rrtype::a);
  ASSERT_EQ(a.st, status::ok);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].addr.to_string(), "1.2.3.4");
  EXPECT_EQ(a.records[0].name, q);
  // Upper case in the question: compared case-insensitively.
  EXPECT_EQ(decode(m, "MACRO%Percent  Space%20URL-space.example.com", rrtype::a).st, status::ok);
}

// openspf null-text: an RR with no character-string at all (RDLENGTH 0) beside a real
// record. RFC 1035 3.3.14 wants one or more; it is read as a record with no string
// (SPF ignores it) rather than failing the whole answer, which made the test temperror.
TEST(DnsWire, TxtWithNoStringIsARecordWithNoStrings) {
  bytes m = message(0, "null.example.com", 16,
                    {{"null.example.com", 16, 60, rd_txt({"v=spf1 ip4:", "192.0.2.5 -all"})},
                     {"null.example.com", 16, 60, {}}});
  auto a = decode(m, "null.example.com", rrtype::txt);
  ASSERT_EQ(a.st, status::ok);
  ASSERT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.records[0].joined_text(), "v=spf1 ip4:192.0.2.5 -all");
  EXPECT_TRUE(a.records[1].strings.empty());
  // A NUL octet inside a character-string is data (explicit lengths, never C strings).
  m = message(
      0, "e3.example.com", 16,
      {{"e3.example.com", 16, 60, rd_txt({std::string("v=spf1 a:foo.example.com\0", 25)})}});
  a = decode(m, "e3.example.com", rrtype::txt);
  ASSERT_EQ(a.st, status::ok);
  EXPECT_EQ(a.records[0].strings.at(0), std::string("v=spf1 a:foo.example.com\0", 25));
  // A character-string whose length runs past RDATA is still malformed.
  m = message(0, "bad.example.com", 16, {{"bad.example.com", 16, 60, {5, 'a', 'b'}}});
  EXPECT_EQ(decode(m, "bad.example.com", rrtype::txt).st, status::servfail);
}

// Query encoding, RFC 1035 4.1.1/4.1.2, byte for byte.
TEST(DnsWire, EncodeQueryLayout) {
  auto q = encode_query("Ab.example", rrtype::txt, 0xBEEF);
  ASSERT_TRUE(q);
  bytes want = {0xBE, 0xEF, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,   0,  // id, RD, QDCOUNT 1
                2,    'A',  'b',  7,    'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
                0,    16,   0,    1};  // QTYPE TXT, QCLASS IN
  EXPECT_EQ(*q, want);
  // A final dot is the same name; no recursion when asked.
  auto q2 = encode_query("Ab.example.", rrtype::txt, 0xBEEF, false);
  ASSERT_TRUE(q2);
  want[2] = 0;
  EXPECT_EQ(*q2, want);
  // The root.
  auto root = encode_query("", rrtype::ns, 1);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->size(), 12u + 1 + 4);
}

TEST(DnsWire, EncodeQueryKeepsOddOctets) {
  // Spaces, '%', '\\' and NUL go into the label as they are: no escape is interpreted.
  const std::string n("a b%\\\0x.example", 15);
  ASSERT_EQ(n.size(), 15u);
  auto q = encode_query(n, rrtype::a, 7);
  ASSERT_TRUE(q);
  bytes label(q->begin() + 12, q->begin() + 12 + 1 + 7);
  EXPECT_EQ(label, (bytes{7, 'a', ' ', 'b', '%', '\\', 0, 'x'}));
  // What is encoded decodes to the same name.
  bytes m = *q;
  m[2] |= 0x80;  // QR
  std::size_t off = 12;
  auto back = read_name(m, off);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, n);
}

TEST(DnsWire, EncodeQueryRejectsBadNames) {
  EXPECT_FALSE(encode_query("a..example", rrtype::a, 1));
  EXPECT_FALSE(encode_query(".example", rrtype::a, 1));
  EXPECT_FALSE(encode_query(std::string(64, 'a') + ".example", rrtype::a, 1));
  EXPECT_TRUE(encode_query(std::string(63, 'a') + ".example", rrtype::a, 1));
  // 255 octets on the wire at most: 4 labels of 63 = 256 octets.
  const std::string l63(63, 'b');
  EXPECT_FALSE(encode_query(l63 + "." + l63 + "." + l63 + "." + l63, rrtype::a, 1));
  EXPECT_TRUE(encode_query(l63 + "." + l63 + "." + l63 + "." + std::string(61, 'c'), rrtype::a, 1));
}

}  // namespace
