// Sessions (idle expiry on an injected clock), the login rate limit, passwords (argon2id)
// and tokens of the web console (src/web/session.hpp, src/web/password.hpp).
#include <gtest/gtest.h>

#include <set>

#include "web/password.hpp"
#include "web/session.hpp"

using namespace mxg::web;
using namespace std::chrono_literals;

namespace {

struct fake_clock {
  std::chrono::steady_clock::time_point t{std::chrono::hours(1000)};
  clock_fn fn() {
    return [this] { return t; };
  }
};

bool is_hex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

TEST(WebSession, CreateFindEraseWithDistinctRandomIds) {
  fake_clock c;
  session_store st(30min, c.fn());
  auto a = st.create("alice");
  auto b = st.create("alice");
  EXPECT_TRUE(is_hex64(a.id)) << a.id;
  EXPECT_TRUE(is_hex64(a.csrf)) << a.csrf;
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.csrf, b.csrf);
  EXPECT_NE(a.id, a.csrf);
  auto f = st.find(a.id);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->user, "alice");
  EXPECT_EQ(f->csrf, a.csrf);
  EXPECT_FALSE(st.find(a.id.substr(0, 63)));
  EXPECT_FALSE(st.find(""));
  st.erase(a.id);
  EXPECT_FALSE(st.find(a.id));
  EXPECT_TRUE(st.find(b.id));
}

TEST(WebSession, IdleExpiryCountsFromTheLastRequest) {
  fake_clock c;
  session_store st(30min, c.fn());
  auto s = st.create("bob");
  c.t += 29min;
  ASSERT_TRUE(st.find(s.id));  // touched: the idle time starts again
  c.t += 29min;
  ASSERT_TRUE(st.find(s.id));
  c.t += 30min;
  EXPECT_FALSE(st.find(s.id));
  EXPECT_EQ(st.size(), 0u);  // removed, not only refused
}

TEST(WebRateLimit, PerUserAndPerIpWithinTheWindow) {
  fake_clock c;
  login_limiter lim(rate_limits{3, 2, 15min}, c.fn());
  EXPECT_TRUE(lim.allowed("192.0.2.1", "alice"));
  lim.failed("192.0.2.1", "alice");
  lim.failed("192.0.2.2", "alice");
  // alice: two failures from two IPs reach the per-user limit of 2.
  EXPECT_FALSE(lim.allowed("192.0.2.3", "alice"));
  EXPECT_TRUE(lim.allowed("192.0.2.3", "bob"));
  // one IP trying many users: the per-IP limit of 3.
  lim.failed("198.51.100.7", "u1");
  lim.failed("198.51.100.7", "u2");
  EXPECT_TRUE(lim.allowed("198.51.100.7", "u3"));
  lim.failed("198.51.100.7", "u3");
  EXPECT_FALSE(lim.allowed("198.51.100.7", "u4"));
  // after the window, old failures no longer count.
  c.t += 15min + 1s;
  EXPECT_TRUE(lim.allowed("192.0.2.3", "alice"));
  EXPECT_TRUE(lim.allowed("198.51.100.7", "u4"));
}

TEST(WebRateLimit, SuccessClearsTheFailures) {
  fake_clock c;
  login_limiter lim(rate_limits{5, 2, 15min}, c.fn());
  lim.failed("192.0.2.1", "alice");
  lim.succeeded("192.0.2.1", "alice");
  lim.failed("192.0.2.1", "alice");
  EXPECT_TRUE(lim.allowed("192.0.2.1", "alice"));
  lim.failed("192.0.2.1", "alice");
  EXPECT_FALSE(lim.allowed("192.0.2.1", "alice"));
}

TEST(WebPassword, Argon2idHashVerifies) {
  auto h = hash_password("correct horse");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u) << *h;
  EXPECT_TRUE(verify_password(*h, "correct horse"));
  EXPECT_FALSE(verify_password(*h, "correct horse "));
  EXPECT_FALSE(verify_password(*h, ""));
  auto h2 = hash_password("correct horse");
  ASSERT_TRUE(h2);
  EXPECT_NE(*h, *h2);  // salted
}

TEST(WebPassword, MalformedHashesAndBadPasswordsAreRefused) {
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_FALSE(verify_password("plain-text-password", "plain-text-password"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$garbage", "x"));
  EXPECT_FALSE(hash_password(""));
  EXPECT_FALSE(hash_password(std::string(kPasswordMax + 1, 'a')));
}

TEST(WebPassword, TokensAndFirstRunPasswords) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_token());
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_TRUE(is_hex64(*seen.begin()));
  auto p = random_password();
  EXPECT_EQ(p.size(), 20u);
  EXPECT_TRUE(tokens_equal("abc", "abc"));
  EXPECT_FALSE(tokens_equal("abc", "abd"));
  EXPECT_FALSE(tokens_equal("abc", "ab"));
  EXPECT_FALSE(tokens_equal("", ""));  // no token never matches no token
}
