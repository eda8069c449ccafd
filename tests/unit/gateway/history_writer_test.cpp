// history_writer_test.cpp: the gateway's background history writer on a real SQLite
// file: records, quarantine add/release and batches reach the database through the
// writer thread; the look-up connection sees them after flush(); a failing write is
// counted, not fatal, and the writes around it survive.
#include "gateway/history_writer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "gateway/backscatter_filter.hpp"

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

TEST(HistoryWriter, LookupsRunInOrderAfterTheWritesQueuedBeforeThem) {
  temp_dir tmp;
  auto hw = history_writer::open(tmp.db());
  ASSERT_TRUE(hw);
  asio::io_context io;
  // No flush: the look-up is queued right behind the record and must see it.
  (*hw)->record(rec("OUT", store::direction::outbound, "id-9@elsewhere.test"));
  auto fut = (*hw)->async_sent({"id-9@elsewhere.test", "never@x.test"}, {"B@EXT.test", "c@x.test"},
                               0, io.get_executor(), asio::use_future);
  auto guard = asio::make_work_guard(io);  // the answer is posted from the writer thread
  for (int i = 0; i < 50 && fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready; ++i)
    io.run_for(std::chrono::milliseconds(100));
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto f = fut.get();
  EXPECT_TRUE(f.available);
  EXPECT_EQ(f.sent_ids, std::set<std::string>{"id-9@elsewhere.test"});
  EXPECT_EQ(f.sent_to, std::set<std::string>{"b@ext.test"});
}

TEST(HistoryWriter, BounceJudgedThroughTheWriterThread) {
  // forged-1.eml is about <form-4711@webform.abused.test>; once that Message-ID is in
  // our outbound history, the same bounce is legitimate.
  std::ifstream in(MXG_SOURCE_DIR "/tests/data/backscatter/forged-1.eml", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string msg = ss.str();
  backscatter_config c;
  c.enabled = true;
  c.our_domains = {"our.test"};
  backscatter_filter f(c);
  temp_dir tmp;
  auto hw = history_writer::open(tmp.db());
  ASSERT_TRUE(hw);
  auto judge = [&] {
    asio::io_context io;
    auto fut = asio::co_spawn(io, f.check_bounce(msg, **hw, nullptr), asio::use_future);
    io.run();
    return fut.get();
  };
  EXPECT_EQ(judge().action, bs_action::quarantine);
  (*hw)->record(rec("OUT", store::direction::outbound, "form-4711@webform.abused.test"));
  auto d = judge();
  EXPECT_EQ(d.action, bs_action::accept);
  EXPECT_EQ(d.reason, "bounce about mail we sent");
}

// Issue 14: async_write (the remote release request) completes once the batch it ran in
// is committed, with fn's value; or with why it was not written.
TEST(HistoryWriter, AsyncWriteCompletesAfterTheCommitWithTheValue) {
  temp_dir tmp;
  auto hw = history_writer::open(tmp.db());
  ASSERT_TRUE(hw);
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  auto ask = [](store::history& db) { return db.remote_release_request("QR", "mx-a", "bob", 5); };
  std::optional<result<result<std::int64_t>>> got;
  (*hw)->async_write(ask, io.get_executor(), [&](result<result<std::int64_t>> r) {
    got = std::move(r);
    work.reset();
  });
  io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(got);
  ASSERT_TRUE(*got) << got->error().message;
  ASSERT_TRUE(**got) << (**got).error().message;
  auto pending = (*hw)->reader().remote_release_pending("mx-a");  // committed: seen
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().id, ***got);
}

TEST(HistoryWriter, AsyncWriteToAnUnreachableDatabaseIsTheCallersError) {
  temp_dir tmp;
  store::options o;
  o.backend = "postgresql";
  o.dsn = "postgresql://mxguard@127.0.0.1:1/mxguard?connect_timeout=2";  // nothing there
  auto hw = history_writer::open(
      o, "mx-b", (std::filesystem::path(tmp.db()).parent_path() / "spool").string(), 100);
  ASSERT_TRUE(hw) << hw.error().message;
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  auto ask = [](store::history& db) { return db.remote_release_request("QR", "mx-a", "bob", 5); };
  std::optional<result<result<std::int64_t>>> got;
  (*hw)->async_write(ask, io.get_executor(), [&](result<result<std::int64_t>> r) {
    got = std::move(r);
    work.reset();
  });
  io.run_for(std::chrono::seconds(20));
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code, errc::temporary);
}

TEST(HistoryWriter, UnopenablePathIsAnError) {
  auto hw = history_writer::open("/nonexistent-dir-mxg/x/history.db");
  EXPECT_FALSE(hw);
}

}  // namespace
}  // namespace mxg::gateway
