// BATV prvs= (draft-levine-smtp-batv-01 4.1): sign/verify round trip, expiry window,
// day-key rotation, forged and malformed tags, the null sender, old secrets.
#include "policy/batv.hpp"

#include <gtest/gtest.h>

#include <regex>

using namespace mxg::policy;

namespace {
constexpr std::int64_t kDay = 20000;  // 2024-10-04
}

TEST(Batv, SignFormatAndRoundTrip) {
  batv b({"s3cret", {}, 7});
  auto s = b.sign("Alice@Our.test", kDay);
  // prvs=KDDDSSSSSS=local@domain, K = signing day mod 10, DDD = expiry day mod 1000
  EXPECT_TRUE(std::regex_match(s, std::regex("prvs=0007[0-9a-f]{6}=Alice@Our\\.test"))) << s;
  for (int d = 0; d <= 7; ++d) {
    auto c = b.verify(s, kDay + d);
    EXPECT_EQ(c.status, batv_status::valid) << "day +" << d;
    EXPECT_EQ(c.original, "Alice@Our.test");
  }
  EXPECT_EQ(b.verify(s, kDay + 8).status, batv_status::expired);
  // Case changes by the bouncing MTA do not break the tag.
  std::string upper = s;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(b.verify(upper, kDay + 1).status, batv_status::valid);
}

TEST(Batv, ForgedMalformedAndUnsigned) {
  batv b({"s3cret", {}, 7});
  auto s = b.sign("alice@our.test", kDay);
  std::string forged = s;
  forged[9] = forged[9] == 'a' ? 'b' : 'a';  // flip a hash digit
  EXPECT_EQ(b.verify(forged, kDay).status, batv_status::bad_tag);
  EXPECT_EQ(b.verify("prvs=0007abcdef=bob@our.test", kDay).status, batv_status::bad_tag);
  EXPECT_EQ(b.verify("prvs=garbage@our.test", kDay).status, batv_status::malformed);
  EXPECT_EQ(b.verify("prvs=xyz=alice@our.test", kDay).status, batv_status::malformed);
  EXPECT_EQ(b.verify("alice@our.test", kDay).status, batv_status::unsigned_);
  batv other({"another", {}, 7});
  EXPECT_EQ(other.verify(s, kDay).status, batv_status::bad_tag);
  EXPECT_EQ(b.sign("", kDay), "");  // never sign the null sender
  EXPECT_EQ(b.sign(s, kDay), s);    // never sign twice
  EXPECT_EQ(batv::strip(s), "alice@our.test");
  EXPECT_EQ(batv::strip("plain@our.test"), "plain@our.test");
}

TEST(Batv, DayKeysRotateAndOldSecretsVerify) {
  batv b({"s3cret", {}, 7});
  EXPECT_NE(b.sign("a@our.test", kDay).substr(9, 6), b.sign("a@our.test", kDay + 1).substr(9, 6));
  auto old_signed = batv({"old", {}, 7}).sign("a@our.test", kDay);
  batv rotated({"new", {"old"}, 7});
  EXPECT_EQ(rotated.verify(old_signed, kDay + 2).status, batv_status::valid);
  // Older order prvs=local=tag@domain, as some MTAs write it, is understood.
  auto s = b.sign("a@our.test", kDay);
  auto tag = s.substr(5, 10);
  EXPECT_EQ(b.verify("prvs=a=" + tag + "@our.test", kDay).status, batv_status::valid);
}
