// The console's parsers of browser input (src/web/request.hpp): cookies, JSON bodies,
// ages, the helpdesk visibility rule and the message split of the body view.
#include <gtest/gtest.h>

#include "web/request.hpp"

using namespace mxg::web;

TEST(WebRequest, CookieValue) {
  struct row {
    const char* header;
    std::optional<std::string> want;
  } rows[] = {
      {"mxg_session=abc", "abc"},     {"a=1; mxg_session=abc; b=2", "abc"},
      {"a=1;mxg_session=\"q\"", "q"}, {"xmxg_session=abc", std::nullopt},
      {"mxg_session", std::nullopt},  {"", std::nullopt},
      {"mxg_session=; a=1", ""},      {"  mxg_session = v  ", "v"},
  };
  for (const auto& r : rows) EXPECT_EQ(cookie_value(r.header, "mxg_session"), r.want) << r.header;
}

TEST(WebRequest, LoginBody) {
  auto l = parse_login(R"({"user":"alice","password":"s3cret"})");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->user, "alice");
  EXPECT_EQ(l->password, "s3cret");
  EXPECT_FALSE(parse_login(R"({"user":"alice"})"));
  EXPECT_FALSE(parse_login(R"({"user":1,"password":"x"})"));
  EXPECT_FALSE(parse_login("user=alice&password=x"));
  EXPECT_FALSE(parse_login(R"(["alice","x"])"));
  EXPECT_FALSE(parse_login(R"({"user":")" + std::string(65, 'a') + R"(","password":"x"})"));
}

TEST(WebRequest, IdsAreQueueIds) {
  auto ids = parse_ids(R"({"ids":["00661A2B3C4D5A3F9C","00661A2B3C4D5A3FA0"]})");
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(ids->size(), 2u);
  EXPECT_FALSE(parse_ids(R"({"ids":["00661a2b3c4d5a3f9c"]})"));  // exact form only
  EXPECT_FALSE(parse_ids(R"({"ids":["../../etc/passwd"]})"));
  EXPECT_FALSE(parse_ids(R"({"ids":[]})"));
  EXPECT_TRUE(parse_ids(R"({"ids":[]})", true));
  EXPECT_TRUE(parse_ids("{}", true));
  EXPECT_FALSE(parse_ids("{}"));
  EXPECT_FALSE(parse_ids(R"({"ids":"x"})"));
  EXPECT_FALSE(parse_ids(R"({"ids":[1]})"));
  EXPECT_FALSE(parse_ids("{"));
}

TEST(WebRequest, Ages) {
  EXPECT_EQ(parse_age("90"), 90);
  EXPECT_EQ(parse_age("30s"), 30);
  EXPECT_EQ(parse_age("5m"), 300);
  EXPECT_EQ(parse_age("12h"), 43200);
  EXPECT_EQ(parse_age("7d"), 7 * 86400);
  EXPECT_FALSE(parse_age(""));
  EXPECT_FALSE(parse_age("d"));
  EXPECT_FALSE(parse_age("7w"));
  EXPECT_FALSE(parse_age("-1d"));
  EXPECT_FALSE(parse_age("99999999d"));
}

TEST(WebRequest, HelpdeskSeesMessagesWhoseEveryRecipientIsInItsDomains) {
  std::vector<std::string> d = {"example.com", "b.test"};
  EXPECT_TRUE(visible_to(d, "u@example.com"));
  EXPECT_TRUE(visible_to(d, "u@EXAMPLE.com,v@b.test"));
  EXPECT_FALSE(visible_to(d, "u@example.com,v@other.test"));
  EXPECT_FALSE(visible_to(d, "u@sub.example.com"));
  EXPECT_FALSE(visible_to(d, "u@example.com.evil.test"));
  EXPECT_FALSE(visible_to(d, ""));
  EXPECT_FALSE(visible_to(d, "postmaster"));
  EXPECT_FALSE(visible_to({}, "u@example.com"));
}

TEST(WebRequest, MessageSplitForTheTextView) {
  auto p = split_message("Subject: x\r\nFrom: a@b\r\n\r\n<script>alert(1)</script>\r\n", 1000);
  EXPECT_EQ(p.headers, "Subject: x\r\nFrom: a@b");
  EXPECT_EQ(p.body, "<script>alert(1)</script>\r\n");  // text, not rendered: kept as is
  EXPECT_FALSE(p.truncated);
  auto q = split_message("A: b\n\nbody that is long", 4);
  EXPECT_EQ(q.headers, "A: b");
  EXPECT_EQ(q.body, "body");
  EXPECT_TRUE(q.truncated);
  auto r = split_message("A: b\r\n", 10);
  EXPECT_EQ(r.headers, "A: b\r\n");
  EXPECT_EQ(r.body, "");
}

TEST(WebRequest, DomainsAndSubstrings) {
  EXPECT_EQ(address_domain("Alice@Example.COM"), "example.com");
  EXPECT_EQ(address_domain("nobody"), "");
  EXPECT_TRUE(contains_ci("U@Example.com", "example"));
  EXPECT_FALSE(contains_ci("u@example.com", "other"));
}

TEST(WebRequest, CsrfTokenOnEveryStateChangingMethod) {
  const std::string tok(64, 'a');
  EXPECT_TRUE(csrf_ok("GET", "", tok));
  EXPECT_TRUE(csrf_ok("HEAD", "", tok));
  for (const char* m : {"POST", "DELETE", "PUT", "PATCH", "get"}) {
    EXPECT_FALSE(csrf_ok(m, "", tok)) << m;
    EXPECT_FALSE(csrf_ok(m, std::string(64, 'b'), tok)) << m;
    EXPECT_FALSE(csrf_ok(m, tok.substr(1), tok)) << m;
    EXPECT_TRUE(csrf_ok(m, tok, tok)) << m;
  }
  EXPECT_FALSE(csrf_ok("POST", "", ""));  // no token never matches no token
}
