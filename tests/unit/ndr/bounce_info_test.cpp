// bounce_info_test.cpp: describe() reads the bounce's own header facts (ndr/bounce_info.hpp):
// the address it was sent to and its date (RFC 5322 Date:, folded fields unfolded).
#include "ndr/bounce_info.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace mxg::ndr {
namespace {

std::string slurp(const std::string& name) {
  std::ifstream f(std::string(MXG_SOURCE_DIR) + "/tests/data/backscatter/" + name,
                  std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(BounceInfo, DescribeReadsTheBounceHeaders) {
  auto raw = slurp("forged-1.eml");
  auto recs = parse_message(raw);
  ASSERT_EQ(recs.size(), 1u);
  auto b = describe(recs[0], raw);
  EXPECT_EQ(b.ndr_to, "alice@our.test");
  EXPECT_EQ(b.ndr_time, 1793613600);  // Mon, 02 Nov 2026 10:00:00 +0000
  EXPECT_EQ(b.rec.original_client_ip, "198.51.100.7");
  EXPECT_EQ(b.rec.original_message_id, "form-4711@webform.abused.test");
}

struct header_case {
  const char* message;
  const char* ndr_to;
  std::int64_t ndr_time;
};

class DescribeHeaders : public ::testing::TestWithParam<header_case> {};

TEST_P(DescribeHeaders, ToAndDate) {
  auto b = describe(record{}, GetParam().message);
  EXPECT_EQ(b.ndr_to, GetParam().ndr_to);
  EXPECT_EQ(b.ndr_time, GetParam().ndr_time);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DescribeHeaders,
    ::testing::Values(
        // X-Original-To is preferred over To; names are case-insensitive
        header_case{"to: Bob <bob@x.test>\r\nx-original-to: a@our.test\r\n\r\n", "a@our.test", 0},
        // folded Date (RFC 5322 2.2.3), LF-only lines
        header_case{"To: b@our.test\nDate: Mon, 02 Nov 2026\n 10:00:00 +0000\n\n", "b@our.test",
                    1793613600},
        // header fields after the empty line are body
        header_case{"Subject: x\r\n\r\nTo: c@our.test\r\n", "", 0},
        // no angle brackets: the token around '@'
        header_case{"To: undisclosed, d@our.test; x\r\n\r\n", "d@our.test", 0}));

}  // namespace
}  // namespace mxg::ndr
