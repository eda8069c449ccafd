// policy_service: Postfix's policy delegation protocol over a real loopback socket
// against an in-memory zone (SMTPD_POLICY_README; policyd-spf's conventions): one
// Received-SPF per message (later recipients of an instance get DUNNO without a second
// evaluation), rule and global actions (reject, HOLD, DEFER_IF_PERMIT), states other
// than RCPT, the null sender, pipelined requests, a malformed request closing the
// connection without a reply, reconfigure dropping the cache. Every wait is bounded by
// a guard timer that stops the loop and fails the test; nothing sleeps.
#include "gateway/policy_service.hpp"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <functional>

#include "dns/memory_zone.hpp"

namespace mxg::gateway {
namespace {

using asio::ip::tcp;

void txt(dns::memory_zone& z, const std::string& name, const std::string& text) {
  dns::record r;
  r.type = dns::rrtype::txt;
  r.name = name;
  r.ttl = 300;
  r.strings = {text};
  z.add(r);
}

std::string request(const std::string& sender, const std::string& rcpt, const std::string& inst,
                    const std::string& ip = "192.0.2.7", const std::string& state = "RCPT",
                    const std::string& helo = "helo.none.test") {
  return "request=smtpd_access_policy\nprotocol_state=" + state +
         "\nprotocol_name=ESMTP\nclient_address=" + ip +
         "\nclient_name=unknown\nhelo_name=" + helo + "\nsender=" + sender + "\nrecipient=" + rcpt +
         "\nqueue_id=\ninstance=" + inst + "\nsize=0\n\n";
}

class PolicyService : public ::testing::Test {
 protected:
  PolicyService() {
    txt(zone_, "pass.test", "v=spf1 ip4:192.0.2.0/24 -all");
    txt(zone_, "mail.pass.test", "v=spf1 ip4:192.0.2.0/24 -all");
    txt(zone_, "soft.test", "v=spf1 ip4:192.0.2.0/24 ~all");
    txt(zone_, "brand.test", "v=spf1 ip4:192.0.2.0/24 ~all");
    txt(zone_, "partner.test", "v=spf1 ip4:192.0.2.0/24 -all");
    zone_.add_timeout("slow.test");
    cfg_ = base_config();
  }

  static std::shared_ptr<policy::spf_policy_config> base_config() {
    auto c = std::make_shared<policy::spf_policy_config>();
    c->enabled = true;
    c->authserv_id = "mx.our.test";
    policy::spf_rule strict;
    strict.name = "strict brands";
    strict.domains = {"brand.test"};
    strict.actions[static_cast<std::size_t>(spf::result::softfail)] = policy::verdict::reject;
    policy::spf_rule exc;
    exc.name = "partner";
    exc.domains = {"partner.test"};
    exc.actions.fill(policy::verdict::accept);
    c->rules = {strict, exc};
    return c;
  }

  // Runs `client` (given the service's port) to completion with a guard deadline.
  void run(std::function<asio::awaitable<void>(std::uint16_t)> client) {
    policy_service svc(io_, zone_, cfg_);
    svc_ = &svc;
    svc.set_receiver("mx.our.test");
    auto st = svc.start("127.0.0.1", 0);
    ASSERT_TRUE(st) << st.error().message;
    bool done = false, timed_out = false;
    asio::steady_timer guard(io_, std::chrono::seconds(30));
    guard.async_wait([&](asio::error_code ec) {
      if (!ec) {
        timed_out = true;
        io_.stop();
      }
    });
    asio::co_spawn(io_, client(svc.port()), [&](std::exception_ptr e) {
      done = true;
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          ADD_FAILURE() << "client: " << x.what();
        }
      }
      svc.stop();
      guard.cancel();
    });
    io_.run();
    io_.restart();
    EXPECT_FALSE(timed_out) << "guard deadline reached";
    EXPECT_TRUE(done);
    stats_ = svc.stats();
    svc_ = nullptr;
  }

  asio::io_context io_;
  dns::memory_zone zone_;
  std::shared_ptr<policy::spf_policy_config> cfg_;
  policy_service* svc_ = nullptr;
  policy_service_stats stats_;
};

struct conn {
  tcp::socket s;
  std::string buf;

  static asio::awaitable<conn> open(std::uint16_t port) {
    auto ex = co_await asio::this_coro::executor;
    conn c{tcp::socket(ex), {}};
    co_await c.s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                               asio::use_awaitable);
    co_return c;
  }
  // One reply "action=...\n\n" -> "..." ; "" on EOF.
  asio::awaitable<std::string> reply() {
    asio::error_code ec;
    std::size_t n = co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\n\n",
                                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::string();
    std::string line = buf.substr(0, n - 2);
    buf.erase(0, n);
    EXPECT_TRUE(line.starts_with("action=")) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    co_return line.substr(7);
  }
  asio::awaitable<std::string> ask(std::string req) {
    co_await asio::async_write(s, asio::buffer(req), asio::use_awaitable);
    std::string r = co_await reply();
    co_return r;
  }
};

TEST_F(PolicyService, PassPrependsReceivedSpfOncePerMessage) {
  run([&](std::uint16_t port) -> asio::awaitable<void> {
    conn c = co_await conn::open(port);
    std::string r1 = co_await c.ask(request("alice@pass.test", "a@our.test", "m1"));
    EXPECT_TRUE(r1.starts_with("PREPEND Received-SPF: pass")) << r1;
    EXPECT_NE(r1.find("client-ip=192.0.2.7"), std::string::npos) << r1;
    std::string r2 = co_await c.ask(request("alice@pass.test", "b@our.test", "m1"));
    EXPECT_EQ(r2, "DUNNO");
    // The next message of the session gets its own header.
    std::string r3 = co_await c.ask(request("alice@pass.test", "a@our.test", "m2"));
    EXPECT_TRUE(r3.starts_with("PREPEND Received-SPF: pass")) << r3;
  });
  EXPECT_EQ(stats_.evaluations, 2u);
  EXPECT_EQ(stats_.cached, 1u);
  EXPECT_EQ(stats_.requests, 3u);
}

TEST_F(PolicyService, ActionsOfRulesAndGlobalPolicy) {
  run([&](std::uint16_t port) -> asio::awaitable<void> {
    conn c = co_await conn::open(port);
    // Rule "strict brands": softfail -> reject 550 5.7.23, for every recipient.
    std::string r = co_await c.ask(request("x@brand.test", "a@our.test", "b1", "203.0.113.9"));
    EXPECT_TRUE(r.starts_with("550 5.7.23 ")) << r;
    r = co_await c.ask(request("x@brand.test", "b@our.test", "b1", "203.0.113.9"));
    EXPECT_TRUE(r.starts_with("550 5.7.23 ")) << r;
    // Global: softfail -> quarantine -> HOLD, then DUNNO.
    r = co_await c.ask(request("x@soft.test", "a@our.test", "s1", "203.0.113.9"));
    EXPECT_TRUE(r.starts_with("HOLD ")) << r;
    r = co_await c.ask(request("x@soft.test", "b@our.test", "s1", "203.0.113.9"));
    EXPECT_EQ(r, "DUNNO");
    // Global: fail -> reject 550 5.7.23.
    r = co_await c.ask(request("x@pass.test", "a@our.test", "f1", "203.0.113.9"));
    EXPECT_TRUE(r.starts_with("550 5.7.23 ")) << r;
    // Exception rule: a fail is accepted (header, no refusal).
    r = co_await c.ask(request("x@partner.test", "a@our.test", "p1", "203.0.113.9"));
    EXPECT_TRUE(r.starts_with("PREPEND Received-SPF: fail")) << r;
    // temperror -> DEFER_IF_PERMIT 4.x.x (policyd-spf).
    r = co_await c.ask(request("x@slow.test", "a@our.test", "t1", "203.0.113.9"));
    EXPECT_TRUE(r.starts_with("DEFER_IF_PERMIT 4.")) << r;
  });
}

TEST_F(PolicyService, OnlyRcptIsJudgedAndNullSenderUsesHelo) {
  run([&](std::uint16_t port) -> asio::awaitable<void> {
    conn c = co_await conn::open(port);
    for (const char* st : {"CONNECT", "EHLO", "MAIL", "DATA", "END-OF-MESSAGE", "VRFY"}) {
      std::string r = co_await c.ask(request("x@pass.test", "", "n1", "203.0.113.9", st));
      EXPECT_EQ(r, "DUNNO") << st;
    }
    // Null sender: the HELO identity (RFC 7208 2.4) passes here...
    std::string r = co_await c.ask(
        request("", "postmaster@our.test", "n2", "192.0.2.7", "RCPT", "mail.pass.test"));
    EXPECT_TRUE(r.starts_with("PREPEND Received-SPF: pass")) << r;
    // ...and fails from outside its network.
    r = co_await c.ask(
        request("", "postmaster@our.test", "n3", "203.0.113.9", "RCPT", "mail.pass.test"));
    EXPECT_TRUE(r.starts_with("550 5.7.23 ")) << r;
  });
  EXPECT_EQ(stats_.evaluations, 2u);
}

TEST_F(PolicyService, PipelinedRequestsAreAnsweredInOrder) {
  run([&](std::uint16_t port) -> asio::awaitable<void> {
    conn c = co_await conn::open(port);
    std::string both = request("alice@pass.test", "a@our.test", "q1") +
                       request("x@brand.test", "a@our.test", "q2", "203.0.113.9");
    std::string r1 = co_await c.ask(both);
    std::string r2 = co_await c.reply();
    EXPECT_TRUE(r1.starts_with("PREPEND ")) << r1;
    EXPECT_TRUE(r2.starts_with("550 5.7.23 ")) << r2;
  });
}

TEST_F(PolicyService, MalformedRequestClosesWithoutReply) {
  run([&](std::uint16_t port) -> asio::awaitable<void> {
    for (std::string bad : {std::string("no equals sign\n\n"),
                            std::string("request=smtpd_access_policy\nsender=a\nsender=b\n\n"),
                            std::string("request=other\nprotocol_state=RCPT\n\n"),
                            "sender=" + std::string(policy::kPolicyMaxLine + 10, 'x')}) {
      conn c = co_await conn::open(port);
      std::string r = co_await c.ask(bad);
      EXPECT_EQ(r, "") << bad.substr(0, 40);
      EXPECT_TRUE(c.buf.empty());
    }
    // The service still answers.
    conn c = co_await conn::open(port);
    std::string r = co_await c.ask(request("alice@pass.test", "a@our.test", "ok1"));
    EXPECT_TRUE(r.starts_with("PREPEND ")) << r;
  });
  EXPECT_EQ(stats_.errors, 4u);
}

TEST_F(PolicyService, ReconfigureDropsTheCache) {
  run([&](std::uint16_t port) -> asio::awaitable<void> {
    conn c = co_await conn::open(port);
    std::string r = co_await c.ask(request("x@soft.test", "a@our.test", "r1", "203.0.113.9"));
    EXPECT_TRUE(r.starts_with("HOLD ")) << r;
    auto strict = base_config();
    strict->actions[static_cast<std::size_t>(spf::result::softfail)] = policy::verdict::reject;
    svc_->reconfigure(strict);
    r = co_await c.ask(request("x@soft.test", "b@our.test", "r1", "203.0.113.9"));
    EXPECT_TRUE(r.starts_with("550 5.7.23 ")) << r;
    auto off = base_config();
    off->enabled = false;
    svc_->reconfigure(off);
    r = co_await c.ask(request("x@soft.test", "c@our.test", "r2", "203.0.113.9"));
    EXPECT_EQ(r, "DUNNO");
  });
}

}  // namespace
}  // namespace mxg::gateway
