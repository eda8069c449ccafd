// parse_test.cpp: DKIM tag lists (RFC 6376 3.2), DKIM-Signature validation (3.5, 6.1.1),
// key records (3.6.1, RFC 8463 4.2), dkim-quoted-printable (2.11) and base64 (RFC 4648).
#include <gtest/gtest.h>

#include "dkim/key_record.hpp"
#include "dkim/signature.hpp"
#include "dkim/tag_list.hpp"

namespace {

using namespace mxg::dkim;

TEST(TagList, Rfc6376Grammar) {
  auto t = parse_tag_list(" a = 1 ; b=x y\r\n z;c=;  ");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->tags.size(), 3u);
  EXPECT_EQ(t->find("a")->value, "1");
  EXPECT_EQ(t->find("b")->value, "x y\r\n z");  // inner FWS kept
  EXPECT_EQ(t->find("c")->value, "");           // empty value allowed
  EXPECT_EQ(t->find("A"), nullptr);             // names are case-sensitive
  EXPECT_TRUE(parse_tag_list(""));
  EXPECT_TRUE(parse_tag_list("a=1;"));  // trailing ';' (3.2)
}

TEST(TagList, RawRangeCoversValueAndItsFws) {
  std::string s = "a=1; b= xyz ;c=2";
  auto t = parse_tag_list(s);
  ASSERT_TRUE(t);
  const tag* b = t->find("b");
  EXPECT_EQ(s.substr(b->raw_begin, b->raw_end - b->raw_begin), " xyz ");
}

struct bad_case {
  const char* text;
  const char* why;
};

TEST(TagList, Errors) {
  const bad_case cases[] = {
      {"a=1; a=2", "duplicate tag"},  {"t; p=x", "no '='"},        {"1a=x", "digit first"},
      {"a=1;;b=2", "empty tag-spec"}, {"a=b\x01", "control byte"}, {"=x", "no name"},
      {"a=x;b", "no '=' at end"},     {"a-b=1", "hyphen in name"},
  };
  for (const auto& c : cases) EXPECT_FALSE(parse_tag_list(c.text)) << c.why << ": " << c.text;
}

TEST(Base64, StrictDecoding) {
  EXPECT_EQ(*decode_base64("aGVsbG8="), "hello");
  EXPECT_EQ(*decode_base64("aGVs\r\n bG8="), "hello");  // FWS skipped
  EXPECT_FALSE(decode_base64("aGVsbG8"));               // length not a multiple of 4
  EXPECT_FALSE(decode_base64("aGV*bG8="));
  EXPECT_FALSE(decode_base64("aG=sbG8="));  // data after padding
}

TEST(DkimQuotedPrintable, Decodes) {
  EXPECT_EQ(*decode_dkim_qp("joe=40example.com"), "joe@example.com");
  EXPECT_EQ(*decode_dkim_qp("a=3Db"), "a=b");
  EXPECT_FALSE(decode_dkim_qp("a=4"));
  EXPECT_FALSE(decode_dkim_qp("a=ZZ"));
}

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kOk =
    "v=1; a=rsa-sha256; d=Example.COM; s=sel; h=From:To; bh=aGVsbG8=; b=aGVsbG8=";

TEST(Signature, ValidFields) {
  auto s = parse_signature(kOk + "; c=relaxed; i=joe=40sub.example.com; l=10; t=5; x=" +
                               std::to_string(kNow + 10) + "; q=dns/txt; z=From:a|To:b",
                           kNow);
  ASSERT_FALSE(s.error) << s.error->reason;
  EXPECT_EQ(s.domain, "example.com");
  EXPECT_EQ(s.identity, "joe@sub.example.com");
  EXPECT_EQ(s.header_canon, canon::relaxed);
  EXPECT_EQ(s.body_canon, canon::simple);  // "c=relaxed" means relaxed/simple (3.5)
  EXPECT_EQ(*s.length, 10u);
  EXPECT_EQ(s.headers, (std::vector<std::string>{"from", "to"}));
  auto d = parse_signature(kOk, kNow);
  ASSERT_FALSE(d.error);
  EXPECT_EQ(d.identity, "@example.com");  // i= default (3.5)
  EXPECT_EQ(d.header_canon, canon::simple);
}

struct sig_case {
  std::string text;
  result want;
  const char* reason_has;
};

TEST(Signature, ProblemsAndTheirResults) {
  const sig_case cases[] = {
      {"a=rsa-sha256; d=example.com; s=sel; h=From; bh=aGVsbG8=; b=aGVsbG8=", result::permerror,
       "no v="},
      {"v=2; a=rsa-sha256; d=example.com; s=sel; h=From; bh=aGVsbG8=; b=aGVsbG8=", result::neutral,
       "version"},
      {"v=1; a=rsa-md5; d=example.com; s=sel; h=From; bh=aGVsbG8=; b=aGVsbG8=", result::neutral,
       "algorithm"},
      {"v=1; a=rsa-sha256; d=example.com; s=sel; h=To; bh=aGVsbG8=; b=aGVsbG8=", result::permerror,
       "From"},
      {"v=1; a=rsa-sha256; d=example.com; s=sel; h=From; b=aGVsbG8=", result::permerror, "bh="},
      {kOk + "; i=@example.net", result::permerror, "subdomain"},
      {kOk + "; i=@badexample.com", result::permerror, "subdomain"},
      {kOk + "; c=future", result::neutral, "canonicalization"},
      {kOk + "; q=http", result::neutral, "query method"},
      {kOk + "; t=10; x=10", result::permerror, "not after"},
      {kOk + "; x=" + std::to_string(kNow - 1), result::permerror, "expired"},
      {kOk + "; l=12a", result::permerror, "l="},
      {kOk + "; a=rsa-sha1", result::permerror, "twice"},
      {"v=1; a=rsa-sha256; d=exa mple.com; s=sel; h=From; bh=aGVsbG8=; b=aGVsbG8=",
       result::permerror, "d="},
      {"v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=aGVsbG8=; b=!!!!", result::permerror,
       "b="},
  };
  for (const auto& c : cases) {
    auto s = parse_signature(c.text, kNow);
    ASSERT_TRUE(s.error) << c.text;
    EXPECT_EQ(s.error->res, c.want) << c.text << ": " << s.error->reason;
    EXPECT_NE(s.error->reason.find(c.reason_has), std::string::npos) << s.error->reason;
  }
  // x= exactly now is not yet expired; one second later it is (3.5 "past the expiration").
  EXPECT_FALSE(parse_signature(kOk + "; x=" + std::to_string(kNow), kNow).error);
  EXPECT_TRUE(parse_signature(kOk + "; x=" + std::to_string(kNow), kNow + 1).error);
}

TEST(KeyRecord, ValidRecords) {
  auto k = parse_key_record("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->type, key_type::ed25519);
  EXPECT_EQ(k->key.size(), 32u);
  auto f = parse_key_record("p=aGVsbG8=; t=y:s:zz; s=email:web; h=sha256:md5; g=*; n=note");
  ASSERT_TRUE(f);  // g= ignored (RFC 6376), unknown flags/hashes ignored (3.6.1)
  EXPECT_TRUE(f->testing);
  EXPECT_TRUE(f->strict_identity);
  EXPECT_TRUE(f->sha256_ok);
  EXPECT_FALSE(f->sha1_ok);
}

TEST(KeyRecord, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {"k=rsa; v=DKIM1; p=aGVsbG8=", "first"},
      {"v=DKIM3; p=aGVsbG8=", "version"},
      {"k=foobar; p=aGVsbG8=", "key type"},
      {"s=chat; p=aGVsbG8=", "not for email"},
      {"k=rsa; t=y; p=", "revoked"},
      {"v=DKIM1; k=rsa", "no p="},
      {"k=rsa; t; p=aGVsbG8=", "syntax"},
      {"k=ed25519; p=MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE=", "32 bytes"},
      {"p=not*base64", "base64"},
  };
  for (const auto& [txt, why] : cases) {
    auto k = parse_key_record(txt);
    ASSERT_FALSE(k) << txt;
    EXPECT_EQ(k.error().res, result::permerror);
    EXPECT_NE(k.error().reason.find(why), std::string::npos) << k.error().reason;
    EXPECT_NE(k.error().reason.find("public key"), std::string::npos) << k.error().reason;
  }
}

TEST(KeyRecord, CheckedAgainstTheSignature) {
  auto s = parse_signature(kOk + "; i=@sub.example.com", kNow);
  ASSERT_FALSE(s.error);
  auto k = parse_key_record("h=sha1; p=aGVsbG8=");
  ASSERT_TRUE(k);
  EXPECT_TRUE(check_key_for(*k, s));  // h= does not allow sha256
  auto strict = parse_key_record("t=s; p=aGVsbG8=");
  EXPECT_TRUE(check_key_for(*strict, s));  // t=s: i= domain must equal d=
  auto ed = parse_key_record("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  EXPECT_TRUE(check_key_for(*ed, s));  // key type vs a=
  auto plain = parse_key_record("p=aGVsbG8=");
  EXPECT_FALSE(check_key_for(*plain, s));
}

}  // namespace
