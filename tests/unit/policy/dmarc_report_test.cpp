// Aggregate reports from the history (policy/dmarc_report.hpp, RFC 9990): records built
// here the way the gateway stores them; one report per policy domain, rows grouped by
// (IP, disposition, aligned outcome, identifiers, auth results) with counts, the
// disposition from the decision, override reasons, the window and what is left out.
#include <gtest/gtest.h>

#include "policy/dmarc_report.hpp"

using namespace mxg;
using namespace mxg::policy;

namespace {

store::message_record msg(std::int64_t t, std::string ip, std::string from, std::string result,
                          std::string decision) {
  store::message_record m;
  m.time = t;
  m.dir = store::direction::inbound;
  m.client_ip = std::move(ip);
  m.helo = "mta.sender.example";
  m.sender = "bounce@" + from;
  m.spf_result = result == "pass" ? "pass" : "fail";
  m.spf_identity = "mailfrom";
  m.spf_domain = from;
  m.decision = std::move(decision);
  m.header_from = from;
  m.dmarc_result = result;
  m.dmarc_policy = "reject";
  m.dmarc_policy_domain = "example.com";
  m.dmarc_record = "v=DMARC1; p=reject; rua=mailto:agg@example.com";
  m.dmarc_spf_aligned = result == "pass";
  m.dmarc_dkim_aligned = false;
  return m;
}

aggregate_options opts() {
  aggregate_options o;
  o.since = 1000;
  o.until = 2000;
  o.org_name = "Our Org";
  o.email = "dmarc@mx.our.example";
  return o;
}

const dmarc::report_record* find_row(const dmarc::feedback& f, const std::string& ip,
                                     const std::string& disposition) {
  for (const auto& r : f.records)
    if (r.row.source_ip == ip && r.row.evaluated.disposition == disposition) return &r;
  return nullptr;
}

}  // namespace

TEST(DmarcAggregate, OneReportPerPolicyDomainWithGroupedRows) {
  std::vector<store::message_record> recs;
  for (int i = 0; i < 3; ++i)
    recs.push_back(msg(1100 + i, "192.0.2.1", "example.com", "pass", "accept"));
  recs.push_back(msg(1200, "198.51.100.7", "example.com", "fail", "reject"));
  recs.push_back(msg(1201, "198.51.100.7", "example.com", "fail", "reject"));
  auto sub = msg(1300, "192.0.2.1", "news.example.com", "pass",
                 "accept");  // subdomain, same policy domain
  recs.push_back(sub);
  auto other = msg(1400, "203.0.113.5", "other.example", "fail", "quarantine");
  other.dmarc_policy = "quarantine";
  other.dmarc_policy_domain = "other.example";
  other.dmarc_record = "v=DMARC1; p=quarantine; sp=none; np=reject; adkim=s; t=n; fo=1";
  recs.push_back(other);

  auto reports = build_aggregate_reports(recs, opts());
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].policy_domain, "example.com");
  EXPECT_EQ(reports[1].policy_domain, "other.example");
  EXPECT_EQ(reports[0].messages, 6u);
  EXPECT_EQ(reports[0].filename, "mx.our.example!example.com!1000!1999.xml.gz");

  const auto& f = reports[0].report;
  EXPECT_EQ(f.metadata.org_name, "Our Org");
  EXPECT_EQ(f.metadata.date_range.begin, 1000);
  EXPECT_EQ(f.metadata.date_range.end, 1999);  // [since, until) as an inclusive range
  EXPECT_EQ(f.policy.domain, "example.com");
  EXPECT_EQ(f.policy.p, "reject");
  EXPECT_EQ(f.policy.sp, "reject");  // sp= absent: as p
  EXPECT_EQ(f.policy.adkim, "r");
  EXPECT_EQ(f.policy.testing, "n");
  ASSERT_EQ(f.records.size(), 3u);  // pass from .1, fail from .7, pass for news.example.com
  auto* pass = find_row(f, "192.0.2.1", "pass");
  ASSERT_NE(pass, nullptr);
  // Both .1 rows pass under p=reject: disposition "pass" (RFC 9990 ActionDisposition).
  std::uint64_t from_1 = 0;
  for (const auto& r : f.records)
    if (r.row.source_ip == "192.0.2.1") from_1 += r.row.count;
  EXPECT_EQ(from_1, 4u);
  auto* rej = find_row(f, "198.51.100.7", "reject");
  ASSERT_NE(rej, nullptr);
  EXPECT_EQ(rej->row.count, 2u);
  EXPECT_EQ(rej->row.evaluated.dkim, "fail");
  EXPECT_EQ(rej->row.evaluated.spf, "fail");
  EXPECT_TRUE(rej->row.evaluated.reasons.empty());
  EXPECT_EQ(rej->identifiers.header_from, "example.com");
  EXPECT_EQ(rej->identifiers.envelope_from, "example.com");
  ASSERT_EQ(rej->spf.size(), 1u);
  EXPECT_EQ(rej->spf[0].scope, "mfrom");
  EXPECT_EQ(rej->spf[0].result, "fail");

  const auto& o = reports[1].report;
  EXPECT_EQ(o.policy.p, "quarantine");
  EXPECT_EQ(o.policy.sp, "none");
  EXPECT_EQ(o.policy.np, "reject");
  EXPECT_EQ(o.policy.adkim, "s");
  EXPECT_EQ(o.policy.fo, "1");
  ASSERT_EQ(o.records.size(), 1u);
  EXPECT_EQ(o.records[0].row.evaluated.disposition, "quarantine");
}

TEST(DmarcAggregate, WindowDirectionAndUnreportableRecordsAreLeftOut) {
  std::vector<store::message_record> recs;
  recs.push_back(msg(999, "192.0.2.1", "example.com", "pass", "accept"));   // before since
  recs.push_back(msg(2000, "192.0.2.1", "example.com", "pass", "accept"));  // until is open
  auto out = msg(1500, "192.0.2.1", "example.com", "pass", "accept");
  out.dir = store::direction::outbound;
  recs.push_back(out);
  auto none = msg(1500, "192.0.2.1", "nodmarc.example", "none", "accept");
  none.dmarc_policy_domain.clear();  // no record: nobody to report to
  none.dmarc_policy.clear();
  recs.push_back(none);
  recs.push_back(msg(1500, "192.0.2.1", "example.com", "pass", "tempfail"));  // retried later
  recs.push_back(msg(1500, "", "example.com", "pass", "accept"));  // no client IP: no row
  recs.push_back(msg(1500, "unknown", "example.com", "pass", "accept"));
  auto unevaluated = msg(1500, "192.0.2.1", "example.com", "pass", "accept");
  unevaluated.dmarc_result.clear();
  recs.push_back(unevaluated);
  EXPECT_TRUE(build_aggregate_reports(recs, opts()).empty());
  recs.push_back(msg(1999, "192.0.2.1", "example.com", "pass", "accept"));
  auto reports = build_aggregate_reports(recs, opts());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].messages, 1u);
}

TEST(DmarcAggregate, OneSpellingPerAddress) {
  auto a = msg(1100, "2001:DB8:0:0::5", "example.com", "pass", "accept");
  auto b = msg(1101, "2001:db8::5", "example.com", "pass", "accept");
  auto reports = build_aggregate_reports({a, b}, opts());
  ASSERT_EQ(reports.size(), 1u);
  ASSERT_EQ(reports[0].report.records.size(), 1u);
  EXPECT_EQ(reports[0].report.records[0].row.source_ip, "2001:db8::5");  // RFC 5952 4
  EXPECT_EQ(reports[0].report.records[0].row.count, 2u);
}

TEST(DmarcAggregate, WeakerDispositionThanThePolicyCarriesAReason) {
  auto monitored = msg(1100, "192.0.2.9", "example.com", "fail", "accept");
  monitored.decisions = {{"dmarc", "accept", "lists", true, "reject", "dmarc=fail p=reject"}};
  auto testing = msg(1101, "192.0.2.10", "example.com", "fail", "accept");
  testing.dmarc_record = "v=DMARC1; p=reject; t=y";
  auto quarantined = msg(1102, "192.0.2.11", "example.com", "fail", "quarantine");
  auto reports = build_aggregate_reports({monitored, testing, quarantined}, opts());
  ASSERT_EQ(reports.size(), 1u);
  const auto& f = reports[0].report;
  auto* m = find_row(f, "192.0.2.9", "none");
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->row.evaluated.reasons.size(), 1u);
  EXPECT_EQ(m->row.evaluated.reasons[0].type, "local_policy");
  EXPECT_NE(m->row.evaluated.reasons[0].comment.find("lists"), std::string::npos);
  auto* t = find_row(f, "192.0.2.10", "none");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->row.evaluated.reasons.size(), 1u);
  EXPECT_EQ(t->row.evaluated.reasons[0].type, "policy_test_mode");
  auto* q = find_row(f, "192.0.2.11", "quarantine");  // quarantine under p=reject
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(q->row.evaluated.reasons.size(), 1u);
  EXPECT_EQ(q->row.evaluated.reasons[0].type, "local_policy");
  // The newest record text seen is the one reported (t=y came last).
  EXPECT_EQ(f.policy.testing, "n");  // quarantined (time 1102) has no t=
}

TEST(DmarcAggregate, DkimResultsInRfcPriorityOrder) {
  // RFC 9990 "DKIM Signatures in Aggregate Reports": strict-aligned pass, relaxed-aligned
  // pass, other passes, then failures.
  auto m = msg(1100, "192.0.2.1", "example.com", "pass", "accept");
  m.dkim = {{"esp.example", "e1", "fail", "bad"},
            {"esp.example", "e2", "pass", ""},
            {"mail.example.com", "r1", "pass", ""},
            {"example.com", "s1", "pass", ""}};
  m.dmarc_dkim_aligned = true;
  auto reports = build_aggregate_reports({m}, opts());
  ASSERT_EQ(reports.size(), 1u);
  const auto& d = reports[0].report.records.at(0).dkim;
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].selector, "s1");
  EXPECT_EQ(d[1].selector, "r1");
  EXPECT_EQ(d[2].selector, "e2");
  EXPECT_EQ(d[3].selector, "e1");
  EXPECT_EQ(reports[0].report.records[0].row.evaluated.dkim, "pass");
}

TEST(DmarcAggregate, NullSenderUsesTheHeloDomain) {
  auto m = msg(1100, "192.0.2.1", "example.com", "pass", "accept");
  m.sender.clear();
  m.spf_identity = "helo";
  m.spf_domain = "mta.sender.example";
  auto reports = build_aggregate_reports({m}, opts());
  ASSERT_EQ(reports.size(), 1u);
  const auto& r = reports[0].report.records.at(0);
  EXPECT_EQ(r.identifiers.envelope_from, "mta.sender.example");
  EXPECT_EQ(r.spf.at(0).scope, "helo");
}

TEST(DmarcAggregate, PublishedPolicyDefaultsAndInvalidValues) {
  auto p = published_policy("Example.COM", "v=DMARC1; P=Quarantine ; aspf=s; sp=bogus; x=1");
  EXPECT_EQ(p.domain, "example.com");
  EXPECT_EQ(p.p, "quarantine");
  EXPECT_EQ(p.sp, "quarantine");
  EXPECT_EQ(p.aspf, "s");
  EXPECT_EQ(p.adkim, "r");
  EXPECT_EQ(p.np, "");
  EXPECT_EQ(p.fo, "");
  auto q = published_policy("example.com", "v=DMARC1; rua=mailto:a@example.com");
  EXPECT_EQ(q.p, "none");
}
