// cares_resolver against a real dnsmasq on a loopback high port (tests/support/dnsmasq):
// every record type, TXT strings kept separate (RFC 1035 3.3.14), NXDOMAIN vs NODATA
// with the negative TTL from the SOA of an authoritative answer (RFC 2308 5), CNAMEs
// followed, an answer over 512 octets fetched over TCP after truncation (RFC 7208 3.4,
// RFC 1035 4.2.2), many concurrent queries on one event loop, a server that never
// answers (timeout), and destruction with queries in flight.
#include "dns/cares_resolver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <array>
#include <optional>
#include <set>

#include "dns/cache.hpp"
#include "support/dnsmasq.hpp"

using namespace mxg::dns;

namespace {

const std::string kLong1(250, 'a'), kLong2(250, 'b'), kLong3(250, 'c');

std::vector<std::string> zone_options() {
  return {
      "--auth-server=ns.example.test,127.0.0.1",
      "--auth-zone=example.test,192.0.2.0/24,2001:db8::/32",
      "--auth-soa=1,hostmaster.example.test,1200,120,604800,600",
      "--auth-ttl=300",
      "--local-ttl=300",
      "--txt-record=multi.example.test,v=spf1 ,ip4:192.0.2.0/24 ,-all",
      "--txt-record=single.example.test,v=spf1 -all",
      "--txt-record=big.example.test," + kLong1 + "," + kLong2 + "," + kLong3,
      "--host-record=host.example.test,192.0.2.10,2001:db8::10",
      "--mx-host=example.test,mail.example.test,10",
      "--cname=alias.example.test,host.example.test",
      "--ptr-record=10.2.0.192.in-addr.arpa,host.example.test",
  };
}

class CaresResolver : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!mxg::test::dnsmasq::available()) return;
    auto d = mxg::test::dnsmasq::start(zone_options());
    if (d) server_ = std::move(*d);
  }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    if (!mxg::test::dnsmasq::available()) GTEST_SKIP() << "dnsmasq not installed";
    ASSERT_TRUE(server_) << "dnsmasq failed to start";
    cares_options o;
    o.servers = {server_->server()};
    o.timeout = std::chrono::milliseconds(1000);
    o.tries = 3;
    auto r = cares_resolver::create(io_.get_executor(), o);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    res_ = std::move(*r);
  }
  answer ask(resolver& r, const std::string& name, rrtype t) {
    std::optional<answer> out;
    asio::co_spawn(
        io_, [&]() -> asio::awaitable<void> { out = co_await r.query(name, t); }, asio::detached);
    io_.restart();
    io_.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(answer{});
  }
  answer ask(const std::string& name, rrtype t) { return ask(*res_, name, t); }

  static inline std::unique_ptr<mxg::test::dnsmasq> server_;
  asio::io_context io_;
  std::unique_ptr<cares_resolver> res_;
};

TEST_F(CaresResolver, TxtStringsStaySeparate) {
  auto a = ask("multi.example.test", rrtype::txt);
  ASSERT_EQ(a.st, status::ok) << a.detail;
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].strings,
            (std::vector<std::string>{"v=spf1 ", "ip4:192.0.2.0/24 ", "-all"}));
  EXPECT_EQ(a.records[0].joined_text(), "v=spf1 ip4:192.0.2.0/24 -all");
  EXPECT_EQ(a.records[0].ttl, 300u);
  EXPECT_GT(a.wire_size, 0u);
  a = ask("SINGLE.example.test.", rrtype::txt);
  ASSERT_EQ(a.st, status::ok);
  EXPECT_EQ(a.records[0].strings, (std::vector<std::string>{"v=spf1 -all"}));
}

TEST_F(CaresResolver, AddressMxPtrAndCname) {
  auto a = ask("host.example.test", rrtype::a);
  ASSERT_EQ(a.st, status::ok) << a.detail;
  EXPECT_EQ(a.records.at(0).addr.to_string(), "192.0.2.10");
  a = ask("host.example.test", rrtype::aaaa);
  ASSERT_EQ(a.st, status::ok) << a.detail;
  EXPECT_EQ(a.records.at(0).addr.to_string(), "2001:db8::10");
  a = ask("example.test", rrtype::mx);
  ASSERT_EQ(a.st, status::ok) << a.detail;
  EXPECT_EQ(a.records.at(0).preference, 10);
  EXPECT_EQ(a.records.at(0).target, "mail.example.test");
  a = ask("10.2.0.192.in-addr.arpa", rrtype::ptr);
  ASSERT_EQ(a.st, status::ok) << a.detail;
  EXPECT_EQ(a.records.at(0).target, "host.example.test");
  a = ask("alias.example.test", rrtype::a);  // CNAME followed in the answer
  ASSERT_EQ(a.st, status::ok) << a.detail;
  EXPECT_EQ(a.records.at(0).name, "host.example.test");
  EXPECT_EQ(a.records.at(0).addr.to_string(), "192.0.2.10");
}

TEST_F(CaresResolver, NxdomainAndNodataAreDistinctWithSoaTtl) {
  auto soa = ask("example.test", rrtype::soa);
  ASSERT_EQ(soa.st, status::ok) << soa.detail;
  const std::uint32_t neg_ttl = std::min(soa.records.at(0).ttl, soa.records.at(0).minimum);
  auto nx = ask("nope.example.test", rrtype::a);
  EXPECT_EQ(nx.st, status::nxdomain) << nx.detail;
  EXPECT_EQ(nx.ttl, neg_ttl);
  EXPECT_TRUE(nx.is_void());
  auto nd = ask("host.example.test", rrtype::txt);
  EXPECT_EQ(nd.st, status::nodata) << nd.detail;
  EXPECT_EQ(nd.ttl, neg_ttl);
  EXPECT_TRUE(nd.records.empty());
}

TEST_F(CaresResolver, AnswerOver512OctetsComesOverTcp) {
  auto a = ask("big.example.test", rrtype::txt);
  ASSERT_EQ(a.st, status::ok) << a.detail;
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].strings, (std::vector<std::string>{kLong1, kLong2, kLong3}));
  EXPECT_GT(a.wire_size, 512u);
}

TEST_F(CaresResolver, ManyConcurrentQueriesOnOneLoop) {
  constexpr int kQueries = 300;
  int ok = 0, nx = 0;
  for (int i = 0; i < kQueries; ++i) {
    asio::co_spawn(
        io_,
        [&, i]() -> asio::awaitable<void> {
          // (g++ 12 mishandles a ?: of temporaries inside co_await: name it first.)
          std::string name = "host.example.test";
          if (i % 3 == 0) name = "n" + std::to_string(i) + ".example.test";
          auto a = co_await res_->query(name, rrtype::a);
          if (a.st == status::ok && a.records.at(0).addr.to_string() == "192.0.2.10") ++ok;
          if (a.st == status::nxdomain) ++nx;
        },
        asio::detached);
  }
  io_.run();
  EXPECT_EQ(ok, kQueries - (kQueries + 2) / 3);
  EXPECT_EQ(nx, (kQueries + 2) / 3);
  EXPECT_EQ(res_->in_flight(), 0u);
}

TEST_F(CaresResolver, WorksBehindTheCache) {
  caching_resolver cache(*res_);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(ask(cache, "multi.example.test", rrtype::txt).st, status::ok);
  EXPECT_EQ(ask(cache, "nope.example.test", rrtype::txt).st, status::nxdomain);
  EXPECT_EQ(ask(cache, "nope.example.test", rrtype::txt).st, status::nxdomain);
  EXPECT_EQ(cache.counters().upstream, 2u);
  EXPECT_EQ(cache.counters().hits, 3u);
}

// A UDP socket on loopback that never answers.
struct silent_server {
  int fd = -1;
  unsigned short port = 0;
  silent_server() {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
  }
  ~silent_server() { ::close(fd); }
  std::string server() const { return "127.0.0.1:" + std::to_string(port); }
};

TEST(CaresResolverNoServer, SilentServerTimesOut) {
  silent_server s;
  ASSERT_NE(s.port, 0);
  asio::io_context io;
  cares_options o;
  o.servers = {s.server()};
  o.timeout = std::chrono::milliseconds(50);
  o.tries = 2;
  auto r = cares_resolver::create(io.get_executor(), o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  std::optional<answer> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { out = co_await (*r)->query("example.test", rrtype::txt); },
      asio::detached);
  io.run();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->st, status::timeout) << out->detail;
}

TEST(CaresResolverNoServer, DestroyWithQueriesInFlight) {
  silent_server s;
  asio::io_context io;
  cares_options o;
  o.servers = {s.server()};
  o.timeout = std::chrono::milliseconds(60000);
  auto r = cares_resolver::create(io.get_executor(), o);
  ASSERT_TRUE(r.has_value());
  std::unique_ptr<cares_resolver> res = std::move(*r);
  std::vector<std::optional<answer>> got(20);
  for (std::size_t i = 0; i < got.size(); ++i)
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          got[i] = co_await res->query("q" + std::to_string(i) + ".example.test", rrtype::a);
        },
        asio::detached);
  io.poll();  // all queries sent, all waiting
  EXPECT_EQ(res->in_flight(), got.size());
  res.reset();
  io.run();  // completions were posted by the destructor; nothing may hang or crash
  for (const auto& g : got) {
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->st, status::servfail);
    EXPECT_EQ(g->detail, "resolver shut down");
  }
}

// A loopback UDP server in the test's own io_context that answers every query with
// one A record (1.2.3.4) whose owner is a compression pointer to the question name
// (RFC 1035 4.1.4), and keeps the query messages it received.
struct echo_server {
  explicit echo_server(asio::io_context& io)
      : sock(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    receive();
  }
  void receive() {
    sock.async_receive_from(asio::buffer(buf), peer, [this](std::error_code ec, std::size_t n) {
      if (ec) return;
      std::vector<std::uint8_t> q(buf.begin(), buf.begin() + static_cast<long>(n));
      queries.push_back(q);
      auto reply = q;
      reply[2] |= 0x84;  // QR, AA
      reply[7] = 1;      // ANCOUNT 1
      const std::uint8_t rr[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4};
      reply.insert(reply.end(), std::begin(rr), std::end(rr));
      sock.send_to(asio::buffer(reply), peer);
      receive();
    });
  }
  std::string server() const { return "127.0.0.1:" + std::to_string(sock.local_endpoint().port()); }
  asio::ip::udp::socket sock;
  asio::ip::udp::endpoint peer;
  std::array<std::uint8_t, 1500> buf{};
  std::vector<std::vector<std::uint8_t>> queries;
};

// Issue 15: names with octets that c-ares' C-string interface treats specially reach the
// wire unchanged and the answer matches the question. The SPF macro expansion of
// openspf's macro-mania-in-domain ("%%" -> '%', "%_" -> ' ', "%-" -> "%20", RFC 7208 7.3)
// gives two spaces in a label; a '\\' and a NUL are octets too (RFC 2181 11).
TEST(CaresResolverNoServer, NamesAreOctetsOnTheWire) {
  asio::io_context io;
  echo_server srv(io);
  cares_options o;
  o.servers = {srv.server()};
  o.timeout = std::chrono::milliseconds(2000);
  auto r = cares_resolver::create(io.get_executor(), o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const std::string names[] = {"macro%percent  space%20url-space.example.com",
                               std::string("a\\b\0c.example", 13)};
  std::vector<std::optional<answer>> got(std::size(names));
  for (std::size_t i = 0; i < got.size(); ++i)
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> { got[i] = co_await (*r)->query(names[i], rrtype::a); },
        asio::detached);
  io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(srv.queries.size(), got.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i].has_value());
    EXPECT_EQ(got[i]->st, status::ok) << got[i]->detail;
    ASSERT_EQ(got[i]->records.size(), 1u);
    EXPECT_EQ(got[i]->records[0].name, names[i]);
    EXPECT_EQ(got[i]->records[0].addr.to_string(), "1.2.3.4");
  }
  // The first label as sent, octet for octet (queries may arrive in either order).
  std::set<std::string> first_labels;
  for (const auto& q : srv.queries) {
    ASSERT_GT(q.size(), 13u);
    first_labels.insert(std::string(q.begin() + 13, q.begin() + 13 + q[12]));
  }
  EXPECT_EQ(first_labels,
            (std::set<std::string>{"macro%percent  space%20url-space", std::string("a\\b\0c", 5)}));
}

TEST(CaresResolverOptions, ServerSyntax) {
  struct tc {
    const char* in;
    const char* out;  // nullptr: refused
  };
  for (const auto& t : {tc{"127.0.0.1", "127.0.0.1:53"}, tc{"127.0.0.1:5353", "127.0.0.1:5353"},
                        tc{"::1", "[::1]:53"}, tc{"[::1]:5353", "[::1]:5353"},
                        tc{"[2001:DB8::1]", "[2001:db8::1]:53"}, tc{"localhost", nullptr},
                        tc{"127.0.0.1:0", nullptr}, tc{"127.0.0.1:65536", nullptr},
                        tc{"127.0.0.1:x", nullptr}, tc{"[::1", nullptr}, tc{"", nullptr}}) {
    auto r = server_to_csv(t.in);
    if (t.out) {
      ASSERT_TRUE(r.has_value()) << t.in << ": " << r.error().message;
      EXPECT_EQ(*r, t.out);
    } else {
      EXPECT_FALSE(r.has_value()) << t.in;
    }
  }
  asio::io_context io;
  cares_options bad;
  bad.servers = {"dns.example"};
  EXPECT_FALSE(cares_resolver::create(io.get_executor(), bad).has_value());
  bad.servers = {};
  bad.tries = 0;
  EXPECT_FALSE(cares_resolver::create(io.get_executor(), bad).has_value());
}

}  // namespace
