// Backscatter analysis (policy/backscatter.hpp): bounces about forged mail vs bounces
// about mail we sent, judged by outbound history, Message-ID domain, BATV and our own
// SPF record (RFC 7208), and the ranking of sources with abuse contacts (RFC 2142
// abuse@, SOA RNAME, PTR). The bounces are parsed by ndr/ (moved from tests/unit/ndr).
#include "policy/backscatter.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <fstream>
#include <sstream>

#include "dns/memory_zone.hpp"
#include "ndr/bounce_info.hpp"
#include "ndr/ndr.hpp"

using namespace mxg;
using namespace mxg::policy;
using mxg::ndr::bounce_info;
using mxg::ndr::describe;
using mxg::ndr::parse_message;

namespace {

std::string slurp(const std::string& name) {
  std::ifstream f(std::string(MXG_SOURCE_DIR) + "/tests/data/backscatter/" + name,
                  std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bounce_info load(const std::string& name) {
  auto raw = slurp(name);
  auto recs = parse_message(raw);
  EXPECT_EQ(recs.size(), 1u) << name;
  if (recs.empty()) return {};
  recs[0].file = name;
  return describe(recs[0], raw);
}

dns::memory_zone our_zone() {
  dns::memory_zone z;
  dns::record spf;
  spf.type = dns::rrtype::txt;
  spf.name = "our.test";
  spf.strings = {"v=spf1 ip4:192.0.2.0/24 -all"};
  z.add(spf);
  dns::record soa;
  soa.type = dns::rrtype::soa;
  soa.name = "abused.test";
  soa.target = "ns1.abused.test";
  soa.rname = "hostmaster.abused.test";
  z.add(soa);
  dns::record ptr;
  ptr.type = dns::rrtype::ptr;
  ptr.name = "7.100.51.198.in-addr.arpa";
  ptr.target = "web7.hosting-isp.test";
  z.add(ptr);
  dns::record abusenet;
  abusenet.type = dns::rrtype::txt;
  abusenet.name = "abused.test.contacts.abuse.net";
  abusenet.strings = {"security@abused.test"};
  z.add(abusenet);
  return z;
}

template <typename T>
T run(asio::awaitable<T> a) {
  asio::io_context io;
  auto f = asio::co_spawn(io, std::move(a), asio::use_future);
  io.run();
  return f.get();
}

}  // namespace

TEST(Backscatter, SpfAndMessageIdTellForgedFromReal) {
  auto zone = our_zone();
  analysis_options opt;
  opt.our_domains = {"our.test"};
  auto forged = run(judge(load("forged-1.eml"), opt, &zone));
  EXPECT_EQ(forged.v, bounce_verdict::backscatter);
  EXPECT_EQ(forged.source_ip, "198.51.100.7");
  ASSERT_GE(forged.evidence.size(), 2u);  // foreign Message-ID and SPF fail
  bool spf_fail = false;
  for (const auto& e : forged.evidence) spf_fail |= e.rfind("SPF fail", 0) == 0;
  EXPECT_TRUE(spf_fail);

  auto real = run(judge(load("real-1.eml"), opt, &zone));
  EXPECT_EQ(real.v, bounce_verdict::legitimate);  // 192.0.2.10 passes our SPF

  opt.our_domains = {"elsewhere.test"};
  EXPECT_EQ(run(judge(load("forged-1.eml"), opt, &zone)).v, bounce_verdict::not_ours);
  // Nothing configured that can decide: unknown, not a guess.
  analysis_options none;
  none.check_spf = false;
  EXPECT_EQ(run(judge(load("real-1.eml"), none, nullptr)).v, bounce_verdict::unknown);
}

TEST(Backscatter, HistoryAndBatvEvidence) {
  auto h = store::open_sqlite(":memory:");
  ASSERT_TRUE(h);
  store::message_record sent;
  sent.time = 1793600000;
  sent.dir = store::direction::outbound;
  sent.sender = "alice@our.test";
  sent.recipients = {"bob@victim.test"};
  sent.message_id = "real-1@our.test";
  ASSERT_TRUE((*h)->record(sent));
  analysis_options opt;
  opt.our_domains = {"our.test"};
  opt.history = h->get();
  opt.check_spf = false;
  EXPECT_EQ(run(judge(load("real-1.eml"), opt, nullptr)).v, bounce_verdict::legitimate);
  EXPECT_EQ(run(judge(load("forged-1.eml"), opt, nullptr)).v, bounce_verdict::backscatter);

  analysis_options batv_only;
  batv_only.our_domains = {"our.test"};
  batv_only.check_spf = false;
  batv_only.batv.emplace(policy::batv_config{"secret", {}, 7});
  batv_only.today = 20759;
  auto b = load("real-1.eml");
  b.rec.original_message_id.clear();
  b.ndr_to = batv_only.batv->sign("alice@our.test", 20758);
  EXPECT_EQ(run(judge(b, batv_only, nullptr)).v, bounce_verdict::legitimate);
  b.ndr_to = "alice@our.test";  // unsigned: our outbound mail is always signed
  EXPECT_EQ(run(judge(b, batv_only, nullptr)).v, bounce_verdict::backscatter);
}

TEST(Backscatter, RanksSourcesAndFindsContacts) {
  auto zone = our_zone();
  analysis_options opt;
  opt.our_domains = {"our.test"};
  std::vector<judged> all;
  for (const char* f : {"forged-1.eml", "forged-2.eml", "real-1.eml"})
    all.push_back(run(judge(load(f), opt, &zone)));
  auto groups = rank_sources(all);
  ASSERT_EQ(groups.size(), 1u);  // both forged bounces come from abused.test; the real one is out
  auto& g = groups[0];
  EXPECT_EQ(g.key, "abused.test");
  EXPECT_EQ(g.count, 2);
  EXPECT_EQ(g.first_seen, 1793613600);
  EXPECT_EQ(g.last_seen, 1793703600);  // Tue, 03 Nov 2026 11:00:00 +0000
  EXPECT_EQ(g.target_domains["victim.test"], 2);
  EXPECT_EQ(g.sample_subjects.size(), 2u);
  run(find_contacts(groups, zone));
  std::set<std::string> contacts;
  for (const auto& c : groups[0].contacts) contacts.insert(c.address);
  for (const char* want : {"abuse@abused.test", "postmaster@abused.test", "security@abused.test",
                           "hostmaster@abused.test", "abuse@hosting-isp.test"})
    EXPECT_TRUE(contacts.count(want)) << want;
  auto draft = draft_report(groups[0], all, "postmaster@our.test", 1793800000);
  EXPECT_NE(draft.find("To: abuse@abused.test"), std::string::npos);
  EXPECT_NE(draft.find("198.51.100.7"), std::string::npos);
  EXPECT_NE(draft.find("form-4711@webform.abused.test"), std::string::npos);
  EXPECT_EQ(draft.find("real-1@our.test"), std::string::npos);  // real bounces stay out
}

TEST(Backscatter, RegisteredDomain) {
  EXPECT_EQ(registered_domain("web7.hosting-isp.test"), "hosting-isp.test");
  EXPECT_EQ(registered_domain("mail.example.co.uk"), "example.co.uk");
  EXPECT_EQ(registered_domain("Example.COM."), "example.com");
  EXPECT_EQ(registered_domain("198.51.100.7"), "");
}
