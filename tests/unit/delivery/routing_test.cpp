// Table tests for the delivery routing table (src/delivery/routing.hpp): action and key
// syntax (sendmail smarttable style), first match wins, both file forms, errors with
// file:line. Domains compare case-insensitively (RFC 5321 2.4).
#include "delivery/routing.hpp"

#include <gtest/gtest.h>

using mxg::delivery::parse_action;
using mxg::delivery::route_action;
using mxg::delivery::routing_table;

TEST(RoutingAction, ParsesEveryForm) {
  using K = route_action::kind;
  struct Case {
    const char* in;
    bool ok;
    K kind;
    const char* host;
    bool no_mx;
    unsigned port;
    const char* canonical;
  } cases[] = {
      {"mx", true, K::mx, "", false, 25, "mx"},
      {"MX", true, K::mx, "", false, 25, "mx"},
      {"hold", true, K::hold, "", false, 25, "hold"},
      {"relay:[127.0.0.2]", true, K::relay, "127.0.0.2", true, 25, "relay:[127.0.0.2]"},
      {"relay:[127.0.0.1]:2525", true, K::relay, "127.0.0.1", true, 2525, "relay:[127.0.0.1]:2525"},
      {"relay:[::1]:2526", true, K::relay, "::1", true, 2526, "relay:[::1]:2526"},
      {"relay:[Smart.Example.NET]", true, K::relay, "smart.example.net", true, 25,
       "relay:[smart.example.net]"},
      {"relay:smart.example.net", true, K::relay, "smart.example.net", false, 25,
       "relay:smart.example.net"},
      {"relay:smart.example.net:587", true, K::relay, "smart.example.net", false, 587,
       "relay:smart.example.net:587"},
      {"RELAY:[10.0.0.1]", true, K::relay, "10.0.0.1", true, 25, "relay:[10.0.0.1]"},
      {"relay:", false, K::mx, "", false, 0, ""},
      {"relay:[]", false, K::mx, "", false, 0, ""},
      {"relay:[127.0.0.1", false, K::mx, "", false, 0, ""},
      {"relay:[127.0.0.1]2525", false, K::mx, "", false, 0, ""},
      {"relay:[127.0.0.1]:", false, K::mx, "", false, 0, ""},
      {"relay:[127.0.0.1]:0", false, K::mx, "", false, 0, ""},
      {"relay:[127.0.0.1]:65536", false, K::mx, "", false, 0, ""},
      {"relay:[127.0.0.1]:25x", false, K::mx, "", false, 0, ""},
      {"relay:bad..host", false, K::mx, "", false, 0, ""},
      {"relay:::1", false, K::mx, "", false, 0, ""},
      {"smtp:[127.0.0.1]", false, K::mx, "", false, 0, ""},
      {"discard", false, K::mx, "", false, 0, ""},
      {"", false, K::mx, "", false, 0, ""},
  };
  for (const auto& c : cases) {
    auto a = parse_action(c.in);
    ASSERT_EQ(a.has_value(), c.ok) << c.in;
    if (!c.ok) continue;
    EXPECT_EQ(a->k, c.kind) << c.in;
    EXPECT_EQ(a->host, c.host) << c.in;
    EXPECT_EQ(a->no_mx, c.no_mx) << c.in;
    EXPECT_EQ(a->port, c.port) << c.in;
    EXPECT_EQ(a->to_string(), c.canonical) << c.in;
  }
}

namespace {

const char* kTable = R"(# smarttable: sender-based routing
ceo@Example.COM      relay:[127.0.0.9]:2600   # one sender
@aicpa.org           relay:[127.0.0.2]
@.partner.test       relay:smart.partner.test:587
to:@capture.test     hold
to:@.internal.test   relay:[10.1.1.1]

*                    mx
)";

}  // namespace

TEST(RoutingTable, FirstMatchWinsInTextForm) {
  auto t = routing_table::parse_text(kTable, "routes");
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->rules().size(), 6u);
  struct Case {
    const char* sender;
    const char* recipient;
    const char* action;
    const char* origin;  // rule that matched, "" for the built-in default
  } cases[] = {
      {"ceo@example.com", "x@anywhere.test", "relay:[127.0.0.9]:2600", "routes:2"},
      {"ceo@EXAMPLE.com", "x@anywhere.test", "relay:[127.0.0.9]:2600", "routes:2"},
      {"CEO@example.com", "x@anywhere.test", "mx", "routes:8"},  // local part is exact
      {"cfo@example.com", "x@anywhere.test", "mx", "routes:8"},
      {"user@aicpa.org", "x@anywhere.test", "relay:[127.0.0.2]", "routes:3"},
      {"user@AICPA.ORG", "x@capture.test", "relay:[127.0.0.2]", "routes:3"},  // sender first
      {"user@mail.aicpa.org", "x@anywhere.test", "mx", "routes:8"},           // no subdomains
      {"user@notaicpa.org", "x@anywhere.test", "mx", "routes:8"},
      {"user@partner.test", "x@anywhere.test", "relay:smart.partner.test:587", "routes:4"},
      {"user@eu.partner.test", "x@anywhere.test", "relay:smart.partner.test:587", "routes:4"},
      {"user@xpartner.test", "x@anywhere.test", "mx", "routes:8"},
      {"a@b.test", "x@capture.test", "hold", "routes:5"},
      {"a@b.test", "x@sub.capture.test", "mx", "routes:8"},
      {"a@b.test", "x@internal.test", "relay:[10.1.1.1]", "routes:6"},
      {"a@b.test", "x@hr.internal.test", "relay:[10.1.1.1]", "routes:6"},
      {"", "x@capture.test", "hold", "routes:5"},  // null sender: recipient rules still apply
      {"", "x@anywhere.test", "mx", "routes:8"},
      {"user@aicpa.org.", "x@anywhere.test", "relay:[127.0.0.2]", "routes:3"},  // final dot
  };
  for (const auto& c : cases) {
    auto d = t->route(c.sender, c.recipient);
    EXPECT_EQ(d.action.to_string(), c.action) << c.sender << " -> " << c.recipient;
    ASSERT_NE(d.rule, nullptr) << c.sender;
    EXPECT_EQ(d.rule->origin, c.origin) << c.sender << " -> " << c.recipient;
  }
}

TEST(RoutingTable, NoRuleMeansMx) {
  auto t = routing_table::parse_text("@aicpa.org relay:[127.0.0.2]\n", "r");
  ASSERT_TRUE(t);
  auto d = t->route("a@other.test", "b@c.test");
  EXPECT_EQ(d.action.to_string(), "mx");
  EXPECT_EQ(d.rule, nullptr);
  // The issue's example, as written.
  EXPECT_EQ(t->route("someone@aicpa.org", "b@c.test").action.to_string(), "relay:[127.0.0.2]");
  // The null sender never matches a sender rule.
  EXPECT_EQ(t->route("", "b@c.test").rule, nullptr);
}

TEST(RoutingTable, TextErrorsCarryFileAndLine) {
  struct Case {
    const char* text;
    const char* expect;  // substring of the error message
  } cases[] = {
      {"@aicpa.org\n", "routes:1: expected 'KEY VALUE'"},
      {"# c\n\n@aicpa.org relay:[127.0.0.1\n", "routes:3: missing ']'"},
      {"@aicpa.org mx\naicpa.org mx\n", "routes:2: invalid key"},
      {"@aicpa.org relay:[1.2.3.4] extra\n", "routes:1: extra text"},
      {"@aicpa..org mx\n", "routes:1: invalid domain"},
      {"to:user@x.test mx\n", "routes:1: recipient keys name a domain"},
      {"user@.x.test mx\n", "routes:1: '@.' (subdomains)"},
      {"* mx\n@aicpa.org hold\n", "routes:2: rule after the default rule (routes:1)"},
      {"@a.test bounce\n", "routes:1: unknown action 'bounce'"},
      {"@a.test relay:[127.0.0.1]:99999\n", "routes:1: invalid port"},
  };
  for (const auto& c : cases) {
    auto t = routing_table::parse_text(c.text, "routes");
    ASSERT_FALSE(t) << c.text;
    EXPECT_NE(t.error().message.find(c.expect), std::string::npos)
        << c.text << " => " << t.error().message;
  }
}

TEST(RoutingTable, TomlFormMatchesTextForm) {
  const char* toml = R"(# the same table as kTable
[[route]]
sender = "ceo@Example.COM"
action = "relay:[127.0.0.9]:2600"

[[route]]
sender_domain = "aicpa.org"
action = "relay:[127.0.0.2]"

[[route]]
sender_domain = "partner.test"
subdomains = true
action = "relay:smart.partner.test:587"

[[route]]
recipient_domain = "capture.test"
action = "hold"

[[route]]
recipient_domain = ".internal.test"
action = "relay:[10.1.1.1]"

[[route]]
default = true
action = "mx"
)";
  auto a = routing_table::parse_toml(toml, "routes.toml");
  auto b = routing_table::parse_text(kTable, "routes");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b);
  ASSERT_EQ(a->rules().size(), b->rules().size());
  for (std::size_t i = 0; i < a->rules().size(); ++i) {
    const auto& x = a->rules()[i];
    const auto& y = b->rules()[i];
    EXPECT_EQ(x.m, y.m) << i;
    EXPECT_EQ(x.key, y.key) << i;
    EXPECT_EQ(x.subdomains, y.subdomains) << i;
    EXPECT_EQ(x.action, y.action) << i;
  }
  EXPECT_EQ(a->rules()[1].origin, "routes.toml:6");
  EXPECT_EQ(a->route("u@eu.partner.test", "x@y.test").action.to_string(),
            "relay:smart.partner.test:587");
}

TEST(RoutingTable, TomlErrorsCarryFileAndLine) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"[[route]]\naction = \"mx\"\n", "routes.toml:1: a route needs exactly one"},
      {"[[route]]\nsender = \"@a.test\"\n", "routes.toml:1: a route needs an action"},
      {"[[route]]\nsender = \"@a.test\"\naction = \"bounce\"\n", "routes.toml:1: unknown action"},
      {"[[route]]\nsender = \"@a.test\"\nsender_domain = \"b.test\"\naction = \"mx\"\n",
       "exactly one"},
      {"[[route]]\nsender = \"@a.test\"\naction = \"mx\"\ncolour = \"red\"\n",
       "routes.toml:4: unknown key 'colour'"},
      {"[[route]]\nsender = \"u@a.test\"\nsubdomains = true\naction = \"mx\"\n",
       "applies to domain keys"},
      {"[[route]]\ndefault = true\naction = \"mx\"\n[[route]]\nsender = \"@a.test\"\n"
       "action = \"hold\"\n",
       "routes.toml:4: rule after the default rule (routes.toml:1)"},
      {"[[route]\n", "routes.toml:1:"},
      {"x = 1\n", "routes.toml:1: unknown key 'x'"},
      {"[[route]]\nsender = 5\naction = \"mx\"\n", "routes.toml:2: 'sender' must be a string"},
  };
  for (const auto& c : cases) {
    auto t = routing_table::parse_toml(c.text, "routes.toml");
    ASSERT_FALSE(t) << c.text;
    EXPECT_NE(t.error().message.find(c.expect), std::string::npos)
        << c.text << " => " << t.error().message;
  }
}
