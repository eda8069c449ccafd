// trace_headers_test.cpp: the Received field the gateway writes (RFC 5321 4.4) must be
// US-ASCII in a message that is not SMTPUTF8 (RFC 5322 2.2; RFC 6152 allows 8-bit octets
// in the body only; RFC 6532 3.2 allows UTF-8 in header fields only for SMTPUTF8):
// a HELO argument or rDNS name with raw 8-bit octets is cleaned (issue 16 item 7).
#include <gtest/gtest.h>

#include <string>

#include "gateway/trace_headers.hpp"

namespace mxg::gateway {
namespace {

bool ascii_only(const std::string& s) {
  for (unsigned char c : s)
    if (c > 0x7f) return false;
  return true;
}

received_info base() {
  received_info r;
  r.client_ip = "192.0.2.1";
  r.hostname = "mx.test";
  r.queue_id = "Q1";
  r.esmtp = true;
  return r;
}

TEST(TraceHeaders, EightBitHeloNeverEntersA7bitHeader) {
  for (std::string helo : {std::string("caf\xc3\xa9.test"),              // UTF-8
                           std::string("\xff\xfe\x80.test"),             // not UTF-8 at all
                           std::string("host\xe9.test"),                 // Latin-1
                           std::string("a\x80(b)\r\nX-Injected: 1")}) {  // mixed with controls
    SCOPED_TRACE(helo);
    received_info r = base();
    r.helo = helo;
    r.rdns_name = "rdns\xc3\xa9.test";
    r.for_recipient = "user@local.test";
    std::string h = received_header(r);
    EXPECT_TRUE(ascii_only(h)) << h;
    EXPECT_EQ(h.find("X-Injected: 1\r\n"), std::string::npos);
    EXPECT_EQ(h.find("\r\nX-"), std::string::npos);
  }
  received_info r = base();
  r.helo = "caf\xc3\xa9.test";
  EXPECT_NE(received_header(r).find("from caf??.test (unknown [192.0.2.1])"), std::string::npos)
      << received_header(r);
}

// RFC 6532 3.2: an SMTPUTF8 message may carry UTF-8 in its header: well-formed UTF-8
// is kept, anything else is still cleaned.
TEST(TraceHeaders, Smtputf8MessageKeepsWellFormedUtf8) {
  received_info r = base();
  r.utf8 = true;
  r.helo = "caf\xc3\xa9.test";
  r.for_recipient = "j\xc3\xb6rg@local.test";
  std::string h = received_header(r);
  EXPECT_NE(h.find("from caf\xc3\xa9.test ("), std::string::npos) << h;
  EXPECT_NE(h.find("for <j\xc3\xb6rg@local.test>"), std::string::npos) << h;
  r.helo = "host\xe9.test";  // Latin-1: not UTF-8
  EXPECT_NE(received_header(r).find("from host?.test ("), std::string::npos);
}

TEST(TraceHeaders, CleanReplacesControlsAndCommentSpecials) {
  EXPECT_EQ(clean("a b(c)d\\e\"f\x7fg\x01h"), "a?b?c?d?e?f?g?h");
  EXPECT_EQ(clean("abcdef", 3), "abc");
  EXPECT_EQ(clean("\xc3\xa9"), "??");
  EXPECT_EQ(clean("\xc3\xa9", 255, true), "\xc3\xa9");
}

}  // namespace
}  // namespace mxg::gateway
