// history_writer_test.cpp: the gateway's background history writer on a real SQLite
// file: records, quarantine add/release and batches reach the database through the
// writer thread; the look-up connection sees them after flush(); a failing write is
// counted, not fatal, and the writes around it survive.
#include "gateway/history_writer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace mxg::gateway {
namespace {

// A private directory per test, removed at the end of the test.
class temp_dir {
 public:
  temp_dir()
      : dir_(std::filesystem::temp_directory_path() /
             ("mxg-hw-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~temp_dir() { std::filesystem::remove_all(dir_); }
  std::string db() const { return (dir_ / "history.db").string(); }

 private:
  std::filesystem::path dir_;
};

store::message_record rec(std::string qid, store::direction d, std::string msgid) {
  store::message_record m;
  m.time = 1000;
  m.dir = d;
  m.queue_id = std::move(qid);
  m.sender = "a@our.test";
  m.recipients = {"b@ext.test"};
  m.message_id = std::move(msgid);
  m.decision = "accept";
  return m;
}

TEST(HistoryWriter, WritesInTheBackgroundAndTheReaderSeesThem) {
  temp_dir tmp;
  auto hw = history_writer::open(tmp.db());
  ASSERT_TRUE(hw) << hw.error().message;
  for (int i = 0; i < 1000; ++i)
    (*hw)->record(rec("Q" + std::to_string(i), store::direction::inbound, ""));
  (*hw)->record(rec("OUT", store::direction::outbound, "id-1@our.test"));
  (*hw)->flush();
  auto st = (*hw)->stats();
  EXPECT_EQ(st.written, 1001u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_LT(st.batches, 1001u);  // batched, not one transaction per record
  auto sent = (*hw)->reader().sent_message_id("id-1@our.test");
  ASSERT_TRUE(sent);
  EXPECT_TRUE(*sent);
  auto to = (*hw)->reader().sent_to("B@ext.test", 0);
  ASSERT_TRUE(to);
  EXPECT_TRUE(*to);
  auto all = (*hw)->reader().list(0, 2000, 5000);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1001u);
}

TEST(HistoryWriter, QuarantineAddAndRelease) {
  temp_dir tmp;
  auto hw = history_writer::open(tmp.db());
  ASSERT_TRUE(hw);
  store::quarantine_entry q;
  q.queue_id = "QQ";
  q.time = 5;
  q.reason = "backscatter: test";
  (*hw)->quarantine_add(q);
  (*hw)->flush();
  auto open_list = (*hw)->reader().quarantine_list(false);
  ASSERT_TRUE(open_list);
  ASSERT_EQ(open_list->size(), 1u);
  EXPECT_EQ((*open_list)[0].reason, "backscatter: test");
  (*hw)->quarantine_release("QQ", "test", 7);
  (*hw)->quarantine_release("NOPE", "test", 7);  // not quarantined: logged, counted failed
  (*hw)->record(rec("AFTER", store::direction::inbound, ""));
  (*hw)->flush();
  EXPECT_EQ((*hw)->stats().failed, 1u);
  auto rel = (*hw)->reader().quarantine_list(true);
  ASSERT_TRUE(rel);
  ASSERT_EQ(rel->size(), 1u);
  ASSERT_TRUE((*rel)[0].released_at);
  EXPECT_EQ(*(*rel)[0].released_at, 7);
  EXPECT_EQ((*rel)[0].released_by, "test");
  EXPECT_TRUE((*hw)->reader().quarantine_list(false)->empty());
  EXPECT_EQ((*hw)->reader().list(0, 2000, 10)->size(), 1u);  // the write after the failure
}

TEST(HistoryWriter, DestructorWritesWhatIsQueued) {
  temp_dir tmp;
  auto path = tmp.db();
  {
    auto hw = history_writer::open(path);
    ASSERT_TRUE(hw);
    for (int i = 0; i < 50; ++i)
      (*hw)->record(rec("D" + std::to_string(i), store::direction::inbound, ""));
  }
  auto h = store::open_sqlite(path);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->list(0, 2000, 100)->size(), 50u);
}

TEST(HistoryWriter, UnopenablePathIsAnError) {
  auto hw = history_writer::open("/nonexistent-dir-mxg/x/history.db");
  EXPECT_FALSE(hw);
}

}  // namespace
}  // namespace mxg::gateway
