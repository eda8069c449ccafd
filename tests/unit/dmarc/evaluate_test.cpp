// evaluate_test.cpp: DMARC discovery and evaluation on the in-memory zone, from RFC 9989:
// the tree walk's query names (4.10, 5.1.8), the 8-query cap with long names, the
// Organizational Domain rules and examples of 4.10.2, the B.4 tree walk examples, the
// policy choice p/sp/np with the existence check (4.7, 4.10.1, 3.2.13), t=y (4.7),
// identifier alignment (3.2.10, 4.4 Table 1, B.1), temperror (5.3.6), several records
// at one name (4.10 step 2), the RFC 8601 resinfo (9.1, 9.2), and the legacy PSL mode
// (RFC 7489 3.2, 6.6.3). The async path runs on an io_context with a recording resolver
// around the same zone.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "dmarc/evaluate.hpp"
#include "dns/memory_zone.hpp"

namespace {

using namespace mxg;
using namespace mxg::dmarc;

dns::record txt(const std::string& name, const std::string& text) {
  dns::record r;
  r.type = dns::rrtype::txt;
  r.name = dns::normalize_name(name);
  r.ttl = 300;
  r.strings.push_back(text);
  return r;
}

dns::record a_rec(const std::string& name) {
  dns::record r;
  r.type = dns::rrtype::a;
  r.name = dns::normalize_name(name);
  r.ttl = 300;
  r.addr = *net::ip_address::parse("192.0.2.1");
  return r;
}

// The zone with every name asked recorded (TXT and the existence types).
class recorder : public dns::resolver {
 public:
  explicit recorder(dns::memory_zone& z) : z_(z) {}
  asio::awaitable<dns::answer> query(std::string name, dns::rrtype type) override {
    if (type == dns::rrtype::txt)
      txt_names.push_back(name);
    else
      other.push_back(name + "/" + dns::to_string(type));
    co_return co_await z_.query(name, type);
  }
  std::vector<std::string> txt_names, other;

 private:
  dns::memory_zone& z_;
};

from_domain author(const std::string& d) {
  from_domain f;
  f.ok = true;
  f.domain = d;
  return f;
}

evaluation run_async(recorder& r, const from_domain& f, const spf_input& s,
                     const std::vector<dkim_input>& k, options o = {}) {
  asio::io_context io;
  evaluation out;
  bool done = false;
  asio::co_spawn(io, evaluate(f, s, k, r, o), [&](std::exception_ptr e, evaluation v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
    done = true;
  });
  io.run();
  EXPECT_TRUE(done);
  return out;
}

TEST(DmarcTreeWalk, NamesFromTheRfc) {
  // RFC 9989 4.10: the illustration's eight queries.
  std::vector<std::string> want = {"a.b.c.d.e.f.g.h.i.j.mail.example.com",
                                   "g.h.i.j.mail.example.com",
                                   "h.i.j.mail.example.com",
                                   "i.j.mail.example.com",
                                   "j.mail.example.com",
                                   "mail.example.com",
                                   "example.com",
                                   "com"};
  EXPECT_EQ(tree_walk_names("a.b.c.d.e.f.g.h.i.j.mail.example.com"), want);
  // RFC 9989 5.1.8: the zone-cut record at b.c.d.e.f.g.example.com is never asked.
  std::vector<std::string> want2 = {"mail.a.b.c.d.e.f.g.example.com",
                                    "c.d.e.f.g.example.com",
                                    "d.e.f.g.example.com",
                                    "e.f.g.example.com",
                                    "f.g.example.com",
                                    "g.example.com",
                                    "example.com",
                                    "com"};
  EXPECT_EQ(tree_walk_names("mail.a.b.c.d.e.f.g.example.com"), want2);
  // 4.10.2: "a.mail.example.com" ... finishing with "_dmarc.com".
  std::vector<std::string> want3 = {"a.mail.example.com", "mail.example.com", "example.com", "com"};
  EXPECT_EQ(tree_walk_names("a.mail.example.com"), want3);
  // Exactly 8 labels: the second name is the parent (7 labels); still 8 queries.
  EXPECT_EQ(tree_walk_names("a.b.c.d.e.f.g.h").size(), 8u);
  EXPECT_EQ(tree_walk_names("a.b.c.d.e.f.g.h")[1], "b.c.d.e.f.g.h");
  EXPECT_EQ(tree_walk_names("com"), std::vector<std::string>{"com"});
}

TEST(DmarcTreeWalk, EightQueryCapWithALongName) {
  dns::memory_zone z;
  std::string longname;
  for (int i = 0; i < 30; ++i) longname += "l" + std::to_string(i) + ".";
  longname += "example.com";
  recorder r(z);
  auto e = run_async(r, author(longname), {"pass", longname}, {});
  EXPECT_EQ(e.res, dmarc::result::none);
  EXPECT_EQ(r.txt_names.size(), static_cast<std::size_t>(kTreeWalkQueriesMax));
  EXPECT_EQ(r.txt_names.front(), "_dmarc." + longname);
  EXPECT_EQ(r.txt_names[1], "_dmarc.l25.l26.l27.l28.l29.example.com");
  EXPECT_EQ(r.txt_names.back(), "_dmarc.com");
}

TEST(DmarcTreeWalk, B41SimpleOrganizationalAndPolicy) {
  // RFC 9989 B.4.1.
  dns::memory_zone z;
  z.add(txt("_dmarc.example.com", "v=DMARC1; p=reject"));
  z.add(txt("_dmarc.signing.example.com", "v=DMARC1; p=none"));
  recorder r(z);
  auto e = run_async(r, author("example.com"), {"fail", "example.com"},
                     {{"pass", "signing.example.com", "s1"}});
  EXPECT_EQ(e.res, dmarc::result::pass);
  EXPECT_TRUE(e.dkim_aligned);
  EXPECT_FALSE(e.spf_aligned);
  EXPECT_EQ(e.org_domain, "example.com");
  EXPECT_EQ(e.policy_domain, "example.com");
  EXPECT_EQ(e.dkim_domain, "signing.example.com");
  EXPECT_EQ(e.dkim_selector, "s1");
  // The author's walk: _dmarc.example.com, _dmarc.com; the identifier's walk adds
  // _dmarc.signing.example.com (the rest already known).
  std::vector<std::string> walk = {"_dmarc.example.com", "_dmarc.com"};
  EXPECT_EQ(e.queried, walk);
  std::vector<std::string> all = {"_dmarc.example.com", "_dmarc.com", "_dmarc.signing.example.com"};
  EXPECT_EQ(r.txt_names, all);
}

TEST(DmarcTreeWalk, B42DeepTreeWalk) {
  // RFC 9989 B.4.2.
  dns::memory_zone z;
  z.add(txt("_dmarc.example.com", "v=DMARC1; p=quarantine"));
  z.add(txt("_dmarc.signing.example.com", "v=DMARC1; p=none"));
  z.add_name("a.b.c.d.e.f.g.h.i.j.k.example.com");
  recorder r(z);
  auto e = run_async(r, author("a.b.c.d.e.f.g.h.i.j.k.example.com"), {"pass", "example.com"},
                     {{"pass", "signing.example.com", "s"}});
  std::vector<std::string> want = {"_dmarc.a.b.c.d.e.f.g.h.i.j.k.example.com",
                                   "_dmarc.g.h.i.j.k.example.com",
                                   "_dmarc.h.i.j.k.example.com",
                                   "_dmarc.i.j.k.example.com",
                                   "_dmarc.j.k.example.com",
                                   "_dmarc.k.example.com",
                                   "_dmarc.example.com",
                                   "_dmarc.com"};
  EXPECT_EQ(e.queried, want);
  EXPECT_EQ(e.res, dmarc::result::pass);
  EXPECT_TRUE(e.spf_aligned);
  EXPECT_TRUE(e.dkim_aligned);
  EXPECT_EQ(e.org_domain, "example.com");
  EXPECT_EQ(e.policy_domain, "example.com");
  EXPECT_EQ(e.policy, disposition::quarantine);  // no sp=: p applies to subdomains
}

TEST(DmarcTreeWalk, B43PsdRecord) {
  // RFC 9989 B.4.3.
  dns::memory_zone z;
  z.add(txt("_dmarc.bank.example", "v=DMARC1; p=reject; psd=y"));
  z.add(txt("_dmarc.giant.bank.example", "v=DMARC1; p=quarantine"));
  recorder r(z);
  auto e = run_async(r, author("giant.bank.example"), {"pass", "mail.giant.bank.example"},
                     {{"pass", "mail.mega.bank.example", "k"}});
  EXPECT_EQ(e.org_domain, "giant.bank.example");
  EXPECT_EQ(e.policy_domain, "giant.bank.example");
  EXPECT_TRUE(e.spf_aligned);
  EXPECT_FALSE(e.dkim_aligned);  // mega.bank.example is another Organizational Domain
  EXPECT_EQ(e.res, dmarc::result::pass);
  // The author's walk stops at the psd=y record; _dmarc.example is never asked.
  std::vector<std::string> walk = {"_dmarc.giant.bank.example", "_dmarc.bank.example"};
  EXPECT_EQ(e.queried, walk);
  for (const auto& n : r.txt_names) EXPECT_NE(n, "_dmarc.example");
  // Without the SPF pass the message fails with the author's own p=.
  recorder r2(z);
  auto f = run_async(r2, author("giant.bank.example"), {"fail", "mail.giant.bank.example"},
                     {{"pass", "mail.mega.bank.example", "k"}});
  EXPECT_EQ(f.res, dmarc::result::fail);
  EXPECT_EQ(f.policy, disposition::quarantine);
  EXPECT_EQ(f.policy_source, "p");
}

struct org_case {
  std::vector<std::pair<std::string, std::string>> records;
  const char* start;
  const char* org;
  const char* policy_domain;
};

TEST(DmarcTreeWalk, OrganizationalDomainExamples) {
  // RFC 9989 4.10.2's three examples, plus psd=y on the start itself (rule 2 excludes it).
  const org_case cases[] = {
      {{{"_dmarc.mail.example.com", "v=DMARC1; p=none"},
        {"_dmarc.example.com", "v=DMARC1; p=reject"}},
       "a.mail.example.com",
       "example.com",
       "example.com"},
      {{{"_dmarc.mail.example.com", "v=DMARC1; p=none; psd=n"},
        {"_dmarc.example.com", "v=DMARC1; p=reject"}},
       "a.mail.example.com",
       "mail.example.com",
       "mail.example.com"},
      {{{"_dmarc.com", "v=DMARC1; p=reject; psd=y"}}, "a.mail.example.com", "example.com", "com"},
      {{{"_dmarc.bank.example", "v=DMARC1; p=reject; psd=y"}},
       "bank.example",
       "bank.example",
       "bank.example"},
      {{}, "a.mail.example.com", "", ""},
  };
  for (const auto& c : cases) {
    dns::memory_zone z;
    for (const auto& [n, t] : c.records) z.add(txt(n, t));
    auto d = discover(c.start, z);
    EXPECT_FALSE(d.temperror);
    if (std::string(c.policy_domain).empty()) {
      EXPECT_FALSE(d.rec) << c.start;
      EXPECT_EQ(d.org_domain, c.start);  // "the initial target domain"
      continue;
    }
    EXPECT_EQ(d.org_domain, c.org) << c.start;
    EXPECT_EQ(d.policy_domain, c.policy_domain) << c.start;
  }
}

TEST(DmarcTreeWalk, SeveralRecordsAtOneNameAreDiscarded) {
  // RFC 9989 4.10 step 2: all discarded; the walk goes on.
  dns::memory_zone z;
  z.add(txt("_dmarc.sub.example.com", "v=DMARC1; p=none"));
  z.add(txt("_dmarc.sub.example.com", "v=DMARC1; p=reject"));
  z.add(txt("_dmarc.sub.example.com", "some other text"));
  z.add(txt("_dmarc.example.com", "v=DMARC1; p=quarantine"));
  z.add_name("sub.example.com");
  auto e = evaluate(author("sub.example.com"), {}, {}, z);
  EXPECT_EQ(e.policy_domain, "example.com");
  EXPECT_EQ(e.res, dmarc::result::fail);
  EXPECT_EQ(e.policy, disposition::quarantine);
  // A non-DMARC TXT next to one DMARC record does not count (4.10 step 2).
  dns::memory_zone z2;
  z2.add(txt("_dmarc.example.org", "hello"));
  z2.add(txt("_dmarc.example.org", "v=DMARC1; p=reject"));
  EXPECT_EQ(evaluate(author("example.org"), {}, {}, z2).policy, disposition::reject);
}

TEST(DmarcPolicy, SubdomainAndNonExistent) {
  dns::memory_zone z;
  z.add(txt("_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine; np=reject"));
  z.add(a_rec("exists.example.com"));
  z.add_name("example.com");
  // 4.10.1: own record -> p.
  auto own = evaluate(author("example.com"), {}, {}, z);
  EXPECT_EQ(own.policy, disposition::none);
  EXPECT_EQ(own.policy_source, "p");
  // Existing subdomain -> sp.
  recorder r(z);
  auto sub = run_async(r, author("exists.example.com"), {}, {});
  EXPECT_EQ(sub.res, dmarc::result::fail);
  EXPECT_EQ(sub.policy, disposition::quarantine);
  EXPECT_EQ(sub.policy_source, "sp");
  // Non-existent subdomain (NXDOMAIN for A, AAAA, MX) -> np.
  recorder r2(z);
  auto nx = run_async(r2, author("nope.example.com"), {}, {});
  EXPECT_EQ(nx.res, dmarc::result::fail);
  EXPECT_EQ(nx.policy, disposition::reject);
  EXPECT_EQ(nx.policy_source, "np");
  std::vector<std::string> asked = {"nope.example.com/A", "nope.example.com/AAAA",
                                    "nope.example.com/MX"};
  auto got = r2.other;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, asked);
  // A name with only an MX (NODATA for A) exists.
  dns::memory_zone z3;
  z3.add(txt("_dmarc.example.com", "v=DMARC1; p=none; np=reject"));
  z3.add_name("mx-only.example.com");
  EXPECT_EQ(evaluate(author("mx-only.example.com"), {}, {}, z3).policy, disposition::none);
}

TEST(DmarcPolicy, NpAbsentFallsBackToSpThenP) {
  // 4.7 "np": absent -> sp if present, else p. No existence query is needed then.
  dns::memory_zone z;
  z.add(txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine"));
  recorder r(z);
  auto e = run_async(r, author("ghost.example.com"), {}, {});
  EXPECT_EQ(e.policy, disposition::quarantine);
  EXPECT_TRUE(r.other.empty());
  dns::memory_zone z2;
  z2.add(txt("_dmarc.example.com", "v=DMARC1; p=reject"));
  EXPECT_EQ(evaluate(author("ghost.example.com"), {}, {}, z2).policy, disposition::reject);
}

TEST(DmarcPolicy, TestingLowersOneLevel) {
  // 4.7 "t=y": reject -> quarantine, quarantine -> none, none stays none.
  struct c {
    const char* rec;
    disposition published, applied;
  } cases[] = {
      {"v=DMARC1; p=reject; t=y", disposition::reject, disposition::quarantine},
      {"v=DMARC1; p=quarantine; t=y", disposition::quarantine, disposition::none},
      {"v=DMARC1; p=none; t=y", disposition::none, disposition::none},
      {"v=DMARC1; p=reject; t=n", disposition::reject, disposition::reject},
  };
  for (const auto& x : cases) {
    dns::memory_zone z;
    z.add(txt("_dmarc.example.com", x.rec));
    auto e = evaluate(author("example.com"), {"fail", "example.com"}, {}, z);
    EXPECT_EQ(e.res, dmarc::result::fail) << x.rec;
    EXPECT_EQ(e.policy, x.published) << x.rec;
    EXPECT_EQ(e.effective_policy, x.applied) << x.rec;
  }
  dns::memory_zone z;
  z.add(txt("_dmarc.example.com", "v=DMARC1; p=reject; t=y"));
  auto e = evaluate(author("example.com"), {}, {}, z);
  EXPECT_EQ(authres_entry(e),
            "dmarc=fail (p=reject sp=reject t=y) header.from=example.com "
            "policy.dmarc=quarantine");
}

struct align_case {
  const char* record;
  const char* from;
  spf_input spf;
  std::vector<dkim_input> dkim;
  dmarc::result res;
  bool spf_aligned, dkim_aligned;
};

TEST(DmarcAlignment, Table) {
  // RFC 9989 4.4 Table 1 and B.1.1 / B.1.2; adkim/aspf strict vs relaxed (4.7).
  const align_case cases[] = {
      // B.1.1 Example 1: strict SPF alignment
      {"v=DMARC1; p=reject; aspf=s",
       "example.com",
       {"pass", "example.com"},
       {},
       dmarc::result::pass,
       true,
       false},
      // B.1.1 Example 2: relaxed; child.example.com vs example.com
      {"v=DMARC1; p=reject",
       "example.com",
       {"pass", "child.example.com"},
       {},
       dmarc::result::pass,
       true,
       false},
      {"v=DMARC1; p=reject; aspf=s",
       "example.com",
       {"pass", "child.example.com"},
       {},
       dmarc::result::fail,
       false,
       false},
      // B.1.1 Example 3: example.net vs child.example.com: no alignment
      {"v=DMARC1; p=reject",
       "child.example.com",
       {"pass", "example.net"},
       {},
       dmarc::result::fail,
       false,
       false},
      // B.1.2 Example 1-3 (DKIM)
      {"v=DMARC1; p=reject; adkim=s",
       "example.com",
       {},
       {{"pass", "example.com", "s"}},
       dmarc::result::pass,
       false,
       true},
      {"v=DMARC1; p=reject",
       "child.example.com",
       {},
       {{"pass", "example.com", "s"}},
       dmarc::result::pass,
       false,
       true},
      {"v=DMARC1; p=reject; adkim=s",
       "child.example.com",
       {},
       {{"pass", "example.com", "s"}},
       dmarc::result::fail,
       false,
       false},
      {"v=DMARC1; p=reject",
       "child.example.com",
       {},
       {{"pass", "example.net", "s"}},
       dmarc::result::fail,
       false,
       false},
      // Table 1: foo.example.com vs news.example.com relaxed
      {"v=DMARC1; p=reject",
       "news.example.com",
       {},
       {{"pass", "foo.example.com", "s"}},
       dmarc::result::pass,
       false,
       true},
      // Only passes count (4.4.1, 4.4.2): an aligned fail is no alignment.
      {"v=DMARC1; p=reject",
       "example.com",
       {"softfail", "example.com"},
       {{"fail", "example.com", "s"}, {"temperror", "example.com", "t"}},
       dmarc::result::fail,
       false,
       false},
      // Several signatures: any aligned pass (4.4.1).
      {"v=DMARC1; p=reject",
       "example.com",
       {},
       {{"pass", "example.net", "a"}, {"pass", "mail.example.com", "b"}},
       dmarc::result::pass,
       false,
       true},
      // The SPF identity given as the whole MAIL FROM address.
      {"v=DMARC1; p=reject",
       "example.com",
       {"pass", "bounce@mail.example.com"},
       {},
       dmarc::result::pass,
       true,
       false},
      // Case-insensitive comparison (RFC 4343).
      {"v=DMARC1; p=reject; adkim=s; aspf=s",
       "example.com",
       {"pass", "EXAMPLE.com"},
       {{"pass", "Example.COM", "s"}},
       dmarc::result::pass,
       true,
       true},
  };
  for (const auto& c : cases) {
    dns::memory_zone z;
    z.add(txt("_dmarc.example.com", c.record));
    z.add_name("child.example.com");
    z.add_name("news.example.com");
    auto e = evaluate(author(c.from), c.spf, c.dkim, z);
    EXPECT_EQ(e.res, c.res) << c.record << " " << c.from;
    EXPECT_EQ(e.spf_aligned, c.spf_aligned) << c.record << " " << c.from;
    EXPECT_EQ(e.dkim_aligned, c.dkim_aligned) << c.record << " " << c.from;
  }
}

TEST(DmarcAlignment, NoNeedForOrganizationalDomainWhenIdentifiersAreTheAuthor) {
  // 4.10.2 note: same domain with a record -> no tree walk beyond the first query.
  dns::memory_zone z;
  z.add(txt("_dmarc.mail.example.com", "v=DMARC1; p=reject"));
  recorder r(z);
  auto e = run_async(r, author("mail.example.com"), {"pass", "mail.example.com"},
                     {{"pass", "mail.example.com", "s"}});
  EXPECT_EQ(e.res, dmarc::result::pass);
  EXPECT_EQ(r.txt_names, std::vector<std::string>{"_dmarc.mail.example.com"});
  EXPECT_EQ(e.org_domain, "mail.example.com");
  // Strict alignment needs no walk either.
  dns::memory_zone z2;
  z2.add(txt("_dmarc.example.com", "v=DMARC1; p=reject; adkim=s; aspf=s"));
  recorder r2(z2);
  auto f = run_async(r2, author("example.com"), {"pass", "other.example.com"}, {});
  EXPECT_EQ(f.res, dmarc::result::fail);
  EXPECT_EQ(r2.txt_names, std::vector<std::string>{"_dmarc.example.com"});
}

TEST(DmarcResult, NoneAndPermerror) {
  dns::memory_zone z;
  auto none = evaluate(author("example.com"), {"pass", "example.com"}, {}, z);
  EXPECT_EQ(none.res, dmarc::result::none);
  EXPECT_FALSE(none.policy);
  EXPECT_EQ(authres_entry(none), "dmarc=none header.from=example.com");
  from_domain bad;
  bad.error = "several From fields";
  auto perm = evaluate(bad, {}, {}, z);
  EXPECT_EQ(perm.res, dmarc::result::permerror);
  EXPECT_EQ(authres_entry(perm), "dmarc=permerror (several From fields)");
  // 4.10.1: invalid p= without a valid rua=: no DMARC processing.
  dns::memory_zone z2;
  z2.add(txt("_dmarc.example.com", "v=DMARC1; p=rejectt"));
  EXPECT_EQ(evaluate(author("example.com"), {}, {}, z2).res, dmarc::result::none);
  // ... with a valid rua=: as p=none.
  dns::memory_zone z3;
  z3.add(txt("_dmarc.example.com", "v=DMARC1; p=rejectt; rua=mailto:d@example.com"));
  auto e3 = evaluate(author("example.com"), {}, {}, z3);
  EXPECT_EQ(e3.res, dmarc::result::fail);
  EXPECT_EQ(e3.policy, disposition::none);
}

TEST(DmarcResult, Temperror) {
  // 5.3.6: a DNS failure that leaves the answer open is temperror.
  dns::memory_zone z;
  z.add_timeout("_dmarc.example.com");
  auto e = evaluate(author("example.com"), {"pass", "example.com"}, {}, z);
  EXPECT_EQ(e.res, dmarc::result::temperror);
  EXPECT_FALSE(e.policy);
  EXPECT_NE(authres_entry(e).find("dmarc=temperror ("), std::string::npos);
  // A failure higher up while looking for the policy: temperror too.
  dns::memory_zone z2;
  z2.add_timeout("_dmarc.example.com");
  EXPECT_EQ(evaluate(author("a.example.com"), {}, {}, z2).res, dmarc::result::temperror);
  // The record is found, the identifier's walk fails, nothing else aligned: temperror.
  dns::memory_zone z3;
  z3.add(txt("_dmarc.example.com", "v=DMARC1; p=reject"));
  z3.add_timeout("_dmarc.signer.example.com");
  auto e3 = evaluate(author("example.com"), {}, {{"pass", "signer.example.com", "s"}}, z3);
  EXPECT_EQ(e3.res, dmarc::result::temperror);
  // ... but an aligned pass that needs no walk still passes.
  auto e4 = evaluate(author("example.com"), {"pass", "example.com"},
                     {{"pass", "signer.example.com", "s"}}, z3);
  EXPECT_EQ(e4.res, dmarc::result::pass);
  EXPECT_TRUE(e4.spf_aligned);
  // The Author Domain's record is found, the walk above it fails: its Organizational
  // Domain is unknown, so a relaxed identifier cannot be decided ...
  dns::memory_zone z6;
  z6.add(txt("_dmarc.mail.example.com", "v=DMARC1; p=reject"));
  z6.add_timeout("_dmarc.example.com");
  auto e6 = evaluate(author("mail.example.com"), {"pass", "example.com"}, {}, z6);
  EXPECT_EQ(e6.res, dmarc::result::temperror);
  // ... while an identifier equal to the Author Domain still passes.
  auto e7 = evaluate(author("mail.example.com"), {"pass", "example.com"},
                     {{"pass", "mail.example.com", "s"}}, z6);
  EXPECT_EQ(e7.res, dmarc::result::pass);
  EXPECT_TRUE(e7.dkim_aligned);
  EXPECT_EQ(e7.policy, disposition::reject);
  // The existence check fails and np= matters: temperror.
  dns::memory_zone z5;
  z5.add(txt("_dmarc.example.com", "v=DMARC1; p=none; np=reject"));
  z5.add_timeout("ghost.example.com");
  EXPECT_EQ(evaluate(author("ghost.example.com"), {}, {}, z5).res, dmarc::result::temperror);
}

TEST(DmarcLegacy, PublicSuffixListMode) {
  auto psl = public_suffix_list::load_file(std::string(MXG_SHARED_DIR) +
                                           "/conformance/psl/public_suffix_list.dat");
  ASSERT_TRUE(psl) << psl.error().message;
  dns::memory_zone z;
  z.add(txt("_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=quarantine"));
  z.add_name("mail.example.co.uk");
  options o;
  o.mode = discovery_mode::psl;
  o.psl = &*psl;
  recorder r(z);
  auto e = run_async(r, author("mail.example.co.uk"), {"pass", "bounce.example.co.uk"}, {}, o);
  std::vector<std::string> want = {"_dmarc.mail.example.co.uk", "_dmarc.example.co.uk"};
  EXPECT_EQ(r.txt_names, want);  // RFC 7489 6.6.3: no tree walk
  EXPECT_EQ(e.org_domain, "example.co.uk");
  EXPECT_EQ(e.res, dmarc::result::pass);
  EXPECT_TRUE(e.spf_aligned);
  EXPECT_EQ(e.mode, discovery_mode::psl);
  // A PSD record (psd=y at co.uk) is not consulted in legacy mode.
  dns::memory_zone z2;
  z2.add(txt("_dmarc.co.uk", "v=DMARC1; p=reject; psd=y"));
  EXPECT_EQ(evaluate(author("example.co.uk"), {}, {}, z2, o).res, dmarc::result::none);
  EXPECT_EQ(evaluate(author("example.co.uk"), {}, {}, z2).res, dmarc::result::fail);  // treewalk
  // Legacy mode without a list is refused.
  options bad;
  bad.mode = discovery_mode::psl;
  EXPECT_EQ(evaluate(author("example.co.uk"), {}, {}, z2, bad).res, dmarc::result::permerror);
}

// A zone whose every query suspends twice before answering, counting queries in flight:
// independent lookups started together overlap, a sequential walk never does.
class yielding_zone : public dns::resolver {
 public:
  explicit yielding_zone(dns::memory_zone& z) : z_(z) {}
  asio::awaitable<dns::answer> query(std::string name, dns::rrtype type) override {
    ++in_flight;
    max_in_flight = std::max(max_in_flight, in_flight);
    auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, asio::use_awaitable);
    co_await asio::post(ex, asio::use_awaitable);
    --in_flight;
    co_return z_.lookup(name, type);
  }
  int in_flight = 0, max_in_flight = 0;

 private:
  dns::memory_zone& z_;
};

evaluation run_on(dns::resolver& r, const from_domain& f, const spf_input& s,
                  const std::vector<dkim_input>& k) {
  asio::io_context io;
  evaluation out;
  asio::co_spawn(io, evaluate(f, s, k, r, {}), [&](std::exception_ptr e, evaluation v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.run();
  return out;
}

TEST(DmarcConcurrency, IndependentLookupsOverlapTheWalkDoesNot) {
  dns::memory_zone z;
  z.add(txt("_dmarc.example.com", "v=DMARC1; p=none; np=reject"));
  // The Author Domain's walk alone (no np=, no identifier): one query at a time (RFC
  // 9989 4.10 is sequential).
  dns::memory_zone z0;
  z0.add(txt("_dmarc.example.com", "v=DMARC1; p=none"));
  yielding_zone seq(z0);
  auto a = run_on(seq, author("a.b.c.example.com"), {}, {});
  EXPECT_EQ(a.queried.size(), 5u);
  EXPECT_EQ(seq.max_in_flight, 1);
  // Two identifier walks and the A/AAAA/MX existence check run together.
  yielding_zone par(z);
  auto b = run_on(par, author("ghost.example.com"), {"pass", "mail.example.org"},
                  {{"pass", "signer.example.net", "s"}});
  EXPECT_EQ(b.res, dmarc::result::fail);
  EXPECT_EQ(b.policy, disposition::reject);  // np: the existence check ran
  EXPECT_GE(par.max_in_flight, 5);           // 3 existence queries + 2 walks
  EXPECT_EQ(par.in_flight, 0);
}

TEST(DmarcAsync, TaskOwnsItsInputs) {
  // The task is created from temporaries and started after they are gone (the ASan build
  // would see a dangling reference).
  dns::memory_zone z;
  z.add(txt("_dmarc.example.com", "v=DMARC1; p=reject"));
  recorder r(z);
  auto task = evaluate(author("example.com"), spf_input{"fail", "example.com"},
                       std::vector<dkim_input>{{"pass", "mail.example.com", "s1"}}, r);
  asio::io_context io;
  evaluation out;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, evaluation v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.run();
  EXPECT_EQ(out.res, dmarc::result::pass);
  EXPECT_EQ(out.dkim_selector, "s1");
  EXPECT_EQ(out.from_domain, "example.com");
}

TEST(DmarcAlignmentFn, StrictAndRelaxed) {
  EXPECT_TRUE(aligned("example.com", "example.com", "a.example.com", "b.example.com",
                      alignment_mode::relaxed));
  EXPECT_FALSE(aligned("example.com", "example.com", "a.example.com", "b.example.com",
                       alignment_mode::strict));
  EXPECT_TRUE(aligned("x", "y", "Mail.Example.com", "mail.example.COM", alignment_mode::strict));
  EXPECT_FALSE(aligned("", "", "a", "b", alignment_mode::relaxed));
}

}  // namespace
