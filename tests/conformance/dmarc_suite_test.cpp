// dmarc_suite_test.cpp: mxguard's DMARC evaluation suite, kept as data in
// tests/conformance/dmarc/cases.jsonl (one case per line; SOURCE.md says where each case
// comes from: RFC 9989's text and examples, OpenDMARC's and Mail::DMARC's own tests).
// Each case: a zone (TXT with one or several character-strings, A, MX, NAME = the name
// exists with no record, TIMEOUT = the query times out), the From field(s), the SPF
// result and domain, the DKIM results and domains, the discovery mode (treewalk | psl,
// the pinned list in ../shared/conformance/psl), and the expected result, policy (after
// p/sp/np, before t=y), alignment and policy domain; optionally the Organizational
// Domain, the policy after t=y, the tag that applied and the Author Domain's walk.
// Every case runs twice: on the async path (a resolver over the zone, on an io_context)
// and on the synchronous memory-zone form; both must give the expected answer.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <fstream>
#include <set>

#include "dmarc/evaluate.hpp"
#include "dns/memory_zone.hpp"
#include "mail/header.hpp"

namespace {

using json = nlohmann::json;
namespace dm = mxg::dmarc;
namespace dns = mxg::dns;

std::string suite_path() {
  return std::string(MXG_SOURCE_DIR) + "/tests/conformance/dmarc/cases.jsonl";
}

const dm::public_suffix_list& psl() {
  static const auto list = dm::public_suffix_list::load_file(
      std::string(MXG_SHARED_DIR) + "/conformance/psl/public_suffix_list.dat");
  if (!list) {
    ADD_FAILURE() << list.error().message;
    static dm::public_suffix_list empty;
    return empty;
  }
  return *list;
}

dns::memory_zone build_zone(const json& zone) {
  dns::memory_zone z;
  for (const auto& e : zone) {
    const std::string name = e.at(0), type = e.at(1);
    dns::record r;
    r.name = dns::normalize_name(name);
    r.ttl = 300;
    if (type == "TXT") {
      r.type = dns::rrtype::txt;
      if (e.at(2).is_array())
        for (const auto& s : e.at(2)) r.strings.push_back(s);
      else
        r.strings.push_back(e.at(2));
      z.add(r);
    } else if (type == "A") {
      r.type = dns::rrtype::a;
      r.addr = *mxg::net::ip_address::parse(e.at(2).get<std::string>());
      z.add(r);
    } else if (type == "MX") {
      r.type = dns::rrtype::mx;
      r.preference = 10;
      r.target = e.at(2);
      z.add(r);
    } else if (type == "NAME") {
      z.add_name(name);
    } else if (type == "TIMEOUT") {
      z.add_timeout(name);
    } else {
      ADD_FAILURE() << "unknown zone entry type " << type;
    }
  }
  return z;
}

std::optional<std::string> policy_text(const std::optional<dm::disposition>& d) {
  if (!d) return std::nullopt;
  return std::string(dm::to_string(*d));
}

void check(const json& c, const dm::evaluation& e, const char* path) {
  const json& x = c.at("expect");
  const std::string id = c.at("id").get<std::string>() + " (" + path + ")";
  EXPECT_EQ(dm::to_string(e.res), x.at("result").get<std::string>()) << id << ": " << e.reason;
  if (x.at("policy").is_null()) {
    EXPECT_FALSE(e.policy) << id;
  } else {
    EXPECT_EQ(policy_text(e.policy).value_or("null"), x.at("policy").get<std::string>()) << id;
  }
  EXPECT_EQ(e.dkim_aligned, x.at("dkim_aligned").get<bool>()) << id;
  EXPECT_EQ(e.spf_aligned, x.at("spf_aligned").get<bool>()) << id;
  const std::string want_pd = x.at("policy_domain");
  if (e.res == dm::result::pass || e.res == dm::result::fail) {
    EXPECT_EQ(e.policy_domain, want_pd) << id;
  }
  if (x.contains("org_domain")) {
    EXPECT_EQ(e.org_domain, x.at("org_domain").get<std::string>()) << id;
  }
  if (x.contains("effective_policy")) {
    EXPECT_EQ(policy_text(e.effective_policy).value_or("null"),
              x.at("effective_policy").get<std::string>())
        << id;
  }
  if (x.contains("policy_source")) {
    EXPECT_EQ(e.policy_source, x.at("policy_source").get<std::string>()) << id;
  }
  if (x.contains("queries")) {
    EXPECT_EQ(e.queried, x.at("queries").get<std::vector<std::string>>()) << id;
  }
}

class zone_view : public dns::resolver {
 public:
  explicit zone_view(const dns::memory_zone& z) : z_(z) {}
  asio::awaitable<dns::answer> query(std::string name, dns::rrtype t) override {
    co_return z_.lookup(name, t);
  }

 private:
  const dns::memory_zone& z_;
};

TEST(DmarcSuite, AllCases) {
  std::ifstream in(suite_path());
  ASSERT_TRUE(in) << suite_path();
  std::string line;
  int n = 0;
  std::set<std::string> ids;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json c = json::parse(line);
    ++n;
    ASSERT_TRUE(c.contains("source") && !c.at("source").get<std::string>().empty())
        << "case without a source: " << line;
    EXPECT_TRUE(ids.insert(c.at("id").get<std::string>()).second) << "duplicate id";
    dns::memory_zone zone = build_zone(c.at("zone"));
    std::string msg;
    for (const auto& f : c.at("from")) msg += f.get<std::string>() + "\r\n";
    msg += "Subject: suite\r\n\r\nbody\r\n";
    const auto hdr = mxg::mail::read_header(msg);
    const dm::from_domain from = dm::extract_from_domain(hdr);
    dm::spf_input spf{c.at("spf").at("result"), c.at("spf").at("domain")};
    std::vector<dm::dkim_input> dkim;
    for (const auto& d : c.at("dkim"))
      dkim.push_back({d.at("result"), d.at("domain"), d.at("selector")});
    dm::options o;
    if (c.at("mode") == "psl") {
      o.mode = dm::discovery_mode::psl;
      o.psl = &psl();
    }
    // The synchronous memory-zone form.
    check(c, dm::evaluate(from, spf, dkim, zone, o), "sync");
    // The awaitable form on an io_context.
    zone_view view(zone);
    asio::io_context io;
    std::optional<dm::evaluation> got;
    asio::co_spawn(io, dm::evaluate(from, spf, dkim, view, o),
                   [&](std::exception_ptr ex, dm::evaluation e) {
                     if (ex) std::rethrow_exception(ex);
                     got = std::move(e);
                   });
    io.run();
    ASSERT_TRUE(got) << c.at("id");
    check(c, *got, "async");
    // The resinfo always names the method and the result.
    EXPECT_EQ(
        dm::authres_entry(*got).rfind("dmarc=" + c.at("expect").at("result").get<std::string>(), 0),
        0u);
  }
  std::printf("dmarc suite: %d cases\n", n);
  EXPECT_GE(n, 60);
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
