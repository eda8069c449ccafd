// history_spool_test.cpp: the history writer's outage spool (issue 14) on a real
// directory: every write kind round-trips through a line, lines come back in order and
// are forgotten once replayed, a reopened spool keeps its backlog (and cuts a torn last
// line), and the bound drops what does not fit.
#include "gateway/history_spool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mxg::gateway {
namespace {

class temp_dir {
 public:
  temp_dir()
      : dir_(std::filesystem::temp_directory_path() /
             ("mxg-spool-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
  }
  ~temp_dir() { std::filesystem::remove_all(dir_); }
  const std::filesystem::path& path() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

std::vector<std::string> lines(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) {
    store::message_record m;
    m.time = i;
    m.queue_id = "Q" + std::to_string(i);
    m.uid = "u" + std::to_string(i);
    out.push_back(to_spool_line(m));
  }
  return out;
}

TEST(HistorySpool, EveryWriteRoundTripsThroughALine) {
  store::message_record m;
  m.time = 7;
  m.dir = store::direction::outbound;
  m.sender = "a@b.test";
  m.recipients = {"x@y.test", "z@y.test"};
  m.subject = "line\nbreak \"quoted\"";
  m.decisions = {{"spf", "quarantine", "r", true, "reject", "why"}};
  m.dkim = {{"b.test", "s", "pass", ""}};
  m.dmarc_dkim_aligned = true;
  m.size = 99;
  m.uid = "uid-1";
  m.host = "mx-a";
  auto back = from_spool_line(to_spool_line(m));
  ASSERT_TRUE(back) << back.error().message;
  const auto& r = std::get<store::message_record>(*back);
  EXPECT_EQ(r.dir, store::direction::outbound);
  EXPECT_EQ(r.recipients, m.recipients);
  EXPECT_EQ(r.subject, m.subject);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_TRUE(r.decisions[0].monitor);
  EXPECT_EQ(r.decisions[0].would, "reject");
  ASSERT_EQ(r.dkim.size(), 1u);
  EXPECT_TRUE(r.dmarc_dkim_aligned);
  EXPECT_EQ(r.size, 99u);
  EXPECT_EQ(r.uid, "uid-1");
  EXPECT_EQ(r.host, "mx-a");
  EXPECT_EQ(to_spool_line(r), to_spool_line(m));

  store::quarantine_entry q;
  q.queue_id = "Q1";
  q.released_at = 5;
  q.host = "mx-b";
  auto qb = from_spool_line(to_spool_line(q));
  ASSERT_TRUE(qb);
  EXPECT_EQ(std::get<store::quarantine_entry>(*qb).released_at.value_or(0), 5);
  EXPECT_FALSE(std::get<store::quarantine_entry>(*qb).deleted_at);
  EXPECT_EQ(std::get<store::quarantine_entry>(*qb).host, "mx-b");

  auto rb = from_spool_line(to_spool_line(spooled_release{"Q2", "bob", 9, false}));
  ASSERT_TRUE(rb);
  EXPECT_FALSE(std::get<spooled_release>(*rb).release);
  EXPECT_EQ(std::get<spooled_release>(*rb).by, "bob");

  EXPECT_FALSE(from_spool_line("{\"op\":\"nope\"}"));
  EXPECT_FALSE(from_spool_line("not json"));
}

TEST(HistorySpool, LinesComeBackInOrderAndAreForgottenWhenReplayed) {
  temp_dir t;
  auto s = history_spool::open(t.path(), 100);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(*(*s)->append(lines(0, 5)), 5u);
  ASSERT_EQ(*(*s)->append(lines(5, 8)), 3u);
  EXPECT_EQ((*s)->backlog(), 8u);
  auto f = (*s)->front(3);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ((*f)[0], lines(0, 1)[0]);
  ASSERT_TRUE((*s)->pop(3));
  EXPECT_EQ((*s)->backlog(), 5u);
  f = (*s)->front(100);
  ASSERT_EQ(f->size(), 5u);
  EXPECT_EQ((*f)[0], lines(3, 4)[0]);
  ASSERT_TRUE((*s)->pop(2));  // a partial replay
  s->reset();
  auto again = history_spool::open(t.path(), 100);  // a restart keeps the backlog
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->backlog(), 3u);
  f = (*again)->front(100);
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ((*f)[0], lines(5, 6)[0]);
  ASSERT_TRUE((*again)->pop(3));
  EXPECT_EQ((*again)->backlog(), 0u);
  EXPECT_EQ(std::filesystem::file_size(t.path() / "spool.jsonl"), 0u);  // started again
}

TEST(HistorySpool, TheBoundDropsWhatDoesNotFit) {
  temp_dir t;
  auto s = history_spool::open(t.path(), 4);
  ASSERT_TRUE(s);
  EXPECT_EQ(*(*s)->append(lines(0, 3)), 3u);
  EXPECT_EQ(*(*s)->append(lines(3, 6)), 1u);
  EXPECT_EQ((*s)->backlog(), 4u);
  EXPECT_EQ((*s)->dropped(), 2u);
}

TEST(HistorySpool, ATornLastLineIsCutAtOpen) {
  temp_dir t;
  {
    auto s = history_spool::open(t.path(), 100);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->append(lines(0, 2)));
  }
  {
    std::ofstream f(t.path() / "spool.jsonl", std::ios::app);
    f << "{\"op\":\"rec";  // a crash in the middle of a write
  }
  auto s = history_spool::open(t.path(), 100);
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->backlog(), 2u);
  ASSERT_TRUE((*s)->append(lines(2, 3)));
  auto f = (*s)->front(10);
  ASSERT_EQ(f->size(), 3u);
  for (const auto& l : *f) EXPECT_TRUE(from_spool_line(l)) << l;
}

}  // namespace
}  // namespace mxg::gateway
