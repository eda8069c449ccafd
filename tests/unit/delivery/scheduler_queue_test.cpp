// The scheduler against a real queue directory (src/queue) and a refused TCP port on
// 127.0.0.1: which messages each trigger takes (delivery modes, issue 3 section 5),
// and that the outcome is written to the control file (RFC 5321 4.5.4.1: a connection
// failure is temporary, the message is retried later).
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <filesystem>

#include "delivery/scheduler.hpp"
#include "dns/memory_zone.hpp"

using namespace mxg;
using namespace mxg::delivery;

namespace {

std::uint16_t refused_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();  // closed again when `a` goes away
}

queue::queue_id put(queue::queue_dir& q, queue::delivery_mode mode, const char* rcpt) {
  queue::envelope e;
  e.created = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  e.sender = "s@sender.test";
  e.recipients.push_back({rcpt, queue::rcpt_status::pending, "", std::nullopt});
  e.client_ip = "127.0.0.1";
  e.mode = mode;
  auto id = q.store(e, "Subject: t\r\n\r\nbody\r\n");
  EXPECT_TRUE(id) << id.error().message;
  return *id;
}

struct fixture : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<queue::queue_dir> q;
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("mxg-sched-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    queue::options o;
    o.dir = dir;
    o.fsync = false;  // test speed; durability is the queue's own tests
    auto r = queue::queue_dir::open(o);
    ASSERT_TRUE(r) << r.error().message;
    q = std::move(*r);
  }
  void TearDown() override {
    q.reset();
    std::filesystem::remove_all(dir);
  }
};

}  // namespace

TEST_F(fixture, ModesAndControlFileUpdates) {
  auto routes = routing_table::parse_text(
      "* relay:[127.0.0.1]:" + std::to_string(refused_port()) + "\n", "routes");
  ASSERT_TRUE(routes);
  auto now_deliver = put(*q, queue::delivery_mode::deliver, "a@x.test");
  auto only_runs = put(*q, queue::delivery_mode::queueonly, "b@x.test");
  auto held = put(*q, queue::delivery_mode::hold, "c@x.test");

  asio::io_context io;
  dns::memory_zone zone;
  delivery_options opts;
  opts.tick = std::chrono::hours(1);  // one scan at start, then only what we trigger
  opts.client.connect = std::chrono::seconds(10);
  scheduler sched(io.get_executor(), zone, std::make_shared<const routing_table>(*routes), opts);
  sched.add_queue(*q);
  sched.start();
  // The loop's first scan (read on the blocking pool) spawns the due deliver-mode message.
  for (int i = 0; i < 100 && sched.in_flight() == 0; ++i) io.run_one_for(std::chrono::seconds(1));
  EXPECT_EQ(sched.in_flight(), 1u);
  while (sched.in_flight() > 0) io.run_one();

  auto e = q->load(now_deliver);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->attempts, 1);
  EXPECT_EQ(e->recipients[0].status, queue::rcpt_status::deferred);
  EXPECT_EQ(e->recipients[0].reply.substr(0, 9), "451 4.4.1");
  EXPECT_TRUE(e->recipients[0].next_attempt);
  EXPECT_EQ(q->load(only_runs)->attempts, 0);  // queueonly: not on the immediate scan
  EXPECT_EQ(q->load(held)->attempts, 0);

  // Not due yet (backoff): deliver_now does not try it again.
  sched.deliver_now(*q, now_deliver);
  while (sched.in_flight() > 0) io.run_one();
  EXPECT_EQ(q->load(now_deliver)->attempts, 1);

  // A queue run takes deliver and queueonly messages, ignores the backoff, skips hold.
  std::vector<message_outcome> out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out = co_await sched.run(*q, {}); }, asio::detached);
  while (out.empty()) io.run_one();
  sched.stop();
  io.run();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(q->load(now_deliver)->attempts, 2);
  EXPECT_EQ(q->load(only_runs)->attempts, 1);
  EXPECT_EQ(q->load(held)->attempts, 0);
  for (const auto& m : out) {
    if (m.id == held) {
      EXPECT_EQ(m.skipped, "held");
    } else {
      ASSERT_EQ(m.recipients.size(), 1u);
      EXPECT_EQ(m.recipients[0].status, queue::rcpt_status::deferred);
    }
  }
  EXPECT_NE(format_outcomes(out).find(held.str() + " skipped: held"), std::string::npos);
}
