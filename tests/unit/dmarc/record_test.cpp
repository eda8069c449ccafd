// record_test.cpp: DMARC record parsing, table-driven from RFC 9989 4.7 (tags, defaults),
// 4.8 (formal definition; syntax errors fall back to defaults; unknown tags ignored),
// 4.10.1 (invalid p/sp/np with and without a valid rua=), 9.3 / C.5.2 (pct, rf, ri
// historic) and the B.2 example records.
#include <gtest/gtest.h>

#include "dmarc/record.hpp"

namespace {

using namespace mxg;
using namespace mxg::dmarc;

TEST(DmarcRecord, NotDmarcRecords) {
  // 4.7 "v": first tag, value exactly DMARC1 (case-sensitive), else ignored entirely.
  for (const char* txt :
       {"", "v=spf1 -all", "p=reject; v=DMARC1", "v=dmarc1; p=reject", "v=DMARC2; p=reject",
        "v = DMARC10; p=none", "v=DMARC1 p=reject", "x=y; v=DMARC1", "vv=DMARC1", "; v=DMARC1"}) {
    auto r = parse_record(txt);
    ASSERT_FALSE(r) << txt;
    EXPECT_EQ(r.error().code, errc::not_found) << txt;
  }
}

TEST(DmarcRecord, MinimalAndDefaults) {
  auto r = parse_record("v=DMARC1");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->p);                              // absent
  EXPECT_EQ(r->effective_p(), disposition::none);  // 4.7 "p": treated as p=none
  EXPECT_TRUE(r->usable());
  EXPECT_EQ(r->adkim, alignment_mode::relaxed);  // default r
  EXPECT_EQ(r->aspf, alignment_mode::relaxed);
  EXPECT_FALSE(r->testing);            // default n
  EXPECT_EQ(r->psd, psd_flag::unset);  // default u
  EXPECT_TRUE(r->rua.empty());
  EXPECT_EQ(r->raw, "v=DMARC1");
}

TEST(DmarcRecord, AllTags) {
  auto r = parse_record(
      "v=DMARC1; p=reject; sp=quarantine; np=none; adkim=s; aspf=s; t=y; psd=n; "
      "rua=mailto:a@example.com,mailto:b@example.net; ruf=mailto:f@example.com; fo=0:d; "
      "pct=50; rf=afrf; ri=3600");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->p, disposition::reject);
  EXPECT_EQ(r->sp, disposition::quarantine);
  EXPECT_EQ(r->np, disposition::none);
  EXPECT_EQ(r->adkim, alignment_mode::strict);
  EXPECT_EQ(r->aspf, alignment_mode::strict);
  EXPECT_TRUE(r->testing);
  EXPECT_EQ(r->psd, psd_flag::no);
  ASSERT_EQ(r->rua.size(), 2u);
  EXPECT_EQ(r->rua[1], "mailto:b@example.net");
  EXPECT_TRUE(r->rua_valid);
  ASSERT_EQ(r->ruf.size(), 1u);
  EXPECT_EQ(r->fo, "0:d");
  EXPECT_EQ(r->pct, 50);  // kept for reports only
  EXPECT_EQ(r->effective_np(), disposition::none);
}

struct fallback_case {
  const char* txt;
  disposition p, sp, np;
  bool usable;
};

TEST(DmarcRecord, PolicyFallbacks) {
  // 4.7: np absent -> sp, else p; sp absent -> p; p absent -> none.
  // 4.10.1: an invalid p/sp/np acts as p=none with a valid rua=, else the record is unusable.
  const fallback_case cases[] = {
      {"v=DMARC1; p=reject", disposition::reject, disposition::reject, disposition::reject, true},
      {"v=DMARC1; p=reject; sp=none", disposition::reject, disposition::none, disposition::none,
       true},
      {"v=DMARC1; p=quarantine; np=reject", disposition::quarantine, disposition::quarantine,
       disposition::reject, true},
      {"v=DMARC1; sp=reject", disposition::none, disposition::reject, disposition::reject, true},
      {"v=DMARC1; p=bogus; rua=mailto:d@example.com", disposition::none, disposition::none,
       disposition::none, true},
      {"v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com", disposition::none,
       disposition::none, disposition::none, true},
      {"v=DMARC1; p=reject; np=bogus; rua=mailto:d@example.com", disposition::none,
       disposition::none, disposition::none, true},
      {"v=DMARC1; p=bogus", disposition::none, disposition::none, disposition::none, false},
      {"v=DMARC1; p=reject; np=maybe", disposition::none, disposition::none, disposition::none,
       false},
      {"v=DMARC1; p=bogus; rua=not a uri", disposition::none, disposition::none, disposition::none,
       false},
      {"v=DMARC1; p=", disposition::none, disposition::none, disposition::none, false},
  };
  for (const auto& c : cases) {
    auto r = parse_record(c.txt);
    ASSERT_TRUE(r) << c.txt;
    EXPECT_EQ(r->usable(), c.usable) << c.txt;
    if (!c.usable) continue;
    EXPECT_EQ(r->effective_p(), c.p) << c.txt;
    EXPECT_EQ(r->effective_sp(), c.sp) << c.txt;
    EXPECT_EQ(r->effective_np(), c.np) << c.txt;
  }
}

TEST(DmarcRecord, CaseAndWhitespace) {
  // 4.8: dmarc-sep = *WSP ";" *WSP, equals = *WSP "=" *WSP; RFC 5234 2.3: literal
  // strings (tag names, keywords) are case-insensitive.
  auto r = parse_record("  v = DMARC1 ;\tP = Reject ; ADKIM=S;aspf =\tS ; T=Y;PSD=Y ; ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->p, disposition::reject);
  EXPECT_EQ(r->adkim, alignment_mode::strict);
  EXPECT_EQ(r->aspf, alignment_mode::strict);
  EXPECT_TRUE(r->testing);
  EXPECT_EQ(r->psd, psd_flag::yes);
}

TEST(DmarcRecord, SyntaxErrorsFallBackToDefaults) {
  // 4.8: "Syntax errors in the remainder of the record MUST be discarded in favor of
  // default values (if any) or ignored outright."
  auto r = parse_record(
      "v=DMARC1; p=quarantine; adkim=x; aspf=; t=maybe; psd=q; fo=2; pct=300; "
      "1x=y; =z; junk; foo=bar");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->p, disposition::quarantine);
  EXPECT_EQ(r->adkim, alignment_mode::relaxed);
  EXPECT_EQ(r->aspf, alignment_mode::relaxed);
  EXPECT_FALSE(r->testing);
  EXPECT_EQ(r->psd, psd_flag::unset);
  EXPECT_EQ(r->fo, "");
  EXPECT_FALSE(r->pct);
  EXPECT_TRUE(r->usable());
}

TEST(DmarcRecord, UnknownAndHistoricTagsIgnored) {
  auto a = parse_record("v=DMARC1; p=reject; rf=afrf; ri=86400; pct=0; future=thing");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->effective_p(), disposition::reject);  // pct=0 does not lower it (A.6)
  EXPECT_FALSE(a->testing);
}

TEST(DmarcRecord, RepeatedTagKeepsTheFirst) {
  auto r = parse_record("v=DMARC1; p=none; p=reject");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->p, disposition::none);
}

TEST(DmarcRecord, RuaSyntax) {
  struct c {
    const char* txt;
    bool valid;
  } cases[] = {
      {"v=DMARC1; rua=mailto:a@example.com", true},
      {"v=DMARC1; rua=mailto:a@example.com!10m", true},  // obs-dmarc-report-size
      {"v=DMARC1; rua= mailto:a@example.com , https://r.example/x", true},
      {"v=DMARC1; rua=a@example.com", false},  // no scheme
      {"v=DMARC1; rua=mailto:", false},
      {"v=DMARC1; rua=1mailto:a@b", false},
      {"v=DMARC1; rua=mailto:a@b!x", false},
  };
  for (const auto& x : cases) {
    auto r = parse_record(x.txt);
    ASSERT_TRUE(r) << x.txt;
    EXPECT_EQ(r->rua_valid, x.valid) << x.txt;
  }
}

TEST(DmarcRecord, RfcExamples) {
  // RFC 9989 B.2.1 and B.2.2 (the zone-file strings joined, 4.5).
  auto b21 = parse_record("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com");
  ASSERT_TRUE(b21);
  EXPECT_EQ(b21->p, disposition::none);
  EXPECT_EQ(b21->rua.at(0), "mailto:dmarc-feedback@example.com");
  auto b22 = parse_record(
      "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
      "ruf=mailto:auth-reports@example.com");
  ASSERT_TRUE(b22);
  EXPECT_EQ(b22->ruf.at(0), "mailto:auth-reports@example.com");
  // B.2.3's third-party authorization record has no p=: a record all the same.
  auto auth = parse_record("v=DMARC1;");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->effective_p(), disposition::none);
}

TEST(DmarcRecord, SizeCap) {
  std::string big = "v=DMARC1; p=reject; rua=mailto:" + std::string(kRecordMax, 'a') + "@x";
  auto r = parse_record(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::limit_exceeded);
}

TEST(DmarcRecord, BytesOutsideValueRangeIgnoreTheTag) {
  std::string txt = "v=DMARC1; p=reject; rua=mailto:\x01@x; adkim=s\x7f";
  auto r = parse_record(txt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->p, disposition::reject);
  EXPECT_FALSE(r->rua_valid);
  EXPECT_EQ(r->adkim, alignment_mode::relaxed);
}

}  // namespace
