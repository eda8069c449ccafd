// queue_id_test.cpp: queue id form, parsing, ordering and uniqueness across threads.
#include "queue/queue_id.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

namespace mxg::queue {
namespace {

TEST(QueueId, ParseAcceptsOnlyTheExactForm) {
  struct tc {
    std::string text;
    bool ok;
  };
  const tc cases[] = {
      {"00661A2B3C4D5A3F9C", true},
      {"000000000000000000", true},
      {"FFFFFFFFFFFFFFFFFF", true},
      {"00661a2b3c4d5a3f9c", false},   // lower case: one spelling per id
      {"00661A2B3C4D5A3F9", false},    // 17 characters
      {"00661A2B3C4D5A3F9C0", false},  // 19 characters
      {"", false},
      {"00661A2B3C4D5A3F9G", false},
      {"../../etc/passwd00", false},  // path syntax can never be an id
      {"00661A2B3C/D5A3F9C", false},
      {std::string("00661A2B3C4D5A3F9\0", 18), false},
      {" 0661A2B3C4D5A3F9C", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(queue_id::valid(c.text), c.ok);
    auto r = queue_id::parse(c.text);
    EXPECT_EQ(r.has_value(), c.ok);
    if (r) {
      EXPECT_EQ(r->str(), c.text);
    } else {
      EXPECT_EQ(r.error().code, errc::invalid_argument);
    }
  }
}

TEST(QueueId, PartsRoundTrip) {
  struct tc {
    std::uint64_t micros;
    std::uint32_t node;
    const char* text;
  };
  const tc cases[] = {
      {0, 0, "000000000000000000"},
      {1, 1, "000000000000100001"},
      {0x661A2B3C4D5ull, 0xA3F9C, "00661A2B3C4D5A3F9C"},
      {0xFFFFFFFFFFFFFull, 0xFFFFF, "FFFFFFFFFFFFFFFFFF"},
  };
  for (const auto& c : cases) {
    auto id = queue_id::from_parts(c.micros, c.node);
    EXPECT_EQ(id.str(), c.text);
    EXPECT_EQ(id.node(), c.node);
    EXPECT_EQ(
        std::chrono::duration_cast<std::chrono::microseconds>(id.time().time_since_epoch()).count(),
        static_cast<std::int64_t>(c.micros));
  }
}

TEST(QueueId, StringOrderIsTimeOrder) {
  // Pairs (earlier, later) whose string order must follow the time part first.
  const std::pair<std::uint64_t, std::uint64_t> times[] = {
      {0, 1}, {9, 10}, {15, 16}, {0xFF, 0x100}, {1795835800000000ull, 1795835800000001ull}};
  for (auto [a, b] : times) {
    EXPECT_LT(queue_id::from_parts(a, 0xFFFFF).str(), queue_id::from_parts(b, 0).str());
    EXPECT_LT(queue_id::from_parts(a, 0xFFFFF), queue_id::from_parts(b, 0));
  }
}

TEST(QueueId, GeneratorIsStrictlyIncreasingAndNearTheClock) {
  id_generator gen(0x12345);
  auto before = std::chrono::system_clock::now();
  queue_id prev = gen.next();
  EXPECT_GE(prev.time() + std::chrono::microseconds(1), before);
  for (int i = 0; i < 10000; ++i) {
    queue_id id = gen.next();
    ASSERT_LT(prev, id);
    ASSERT_EQ(id.node(), 0x12345u);
    ASSERT_TRUE(queue_id::valid(id.str()));
    prev = id;
  }
}

TEST(QueueId, UniqueAcrossManyThreads) {
  id_generator gen;
  constexpr int kThreads = 8, kEach = 20000;
  std::vector<std::vector<queue_id>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      got[t].reserve(kEach);
      for (int i = 0; i < kEach; ++i) got[t].push_back(gen.next());
    });
  for (auto& t : ts) t.join();
  std::set<queue_id> all;
  for (const auto& v : got) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));  // each thread sees increasing ids
    EXPECT_EQ(std::adjacent_find(v.begin(), v.end()), v.end());
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST(QueueId, GeneratorsOfDifferentNodesNeverCollide) {
  id_generator a(1), b(2);
  std::set<queue_id> all;
  for (int i = 0; i < 1000; ++i) {
    all.insert(a.next());
    all.insert(b.next());
  }
  EXPECT_EQ(all.size(), 2000u);
}

}  // namespace
}  // namespace mxg::queue
