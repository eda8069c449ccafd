// SQLite history: round trip, outbound look-ups for backscatter analysis, quarantine
// release, and persistence across reopen (real SQLite on a temp file, WAL mode).
#include <gtest/gtest.h>

#include <filesystem>

#include "store/history.hpp"

using namespace mxg::store;

namespace {
message_record outbound(std::int64_t t, std::string msgid, std::vector<std::string> rcpts) {
  message_record m;
  m.time = t;
  m.dir = direction::outbound;
  m.queue_id = "Q" + std::to_string(t);
  m.sender = "alice@our.test";
  m.recipients = std::move(rcpts);
  m.message_id = std::move(msgid);
  m.subject = "hello, world";
  m.decision = "accept";
  return m;
}
}  // namespace

TEST(History, RecordListAndOutboundLookups) {
  auto h = open_sqlite(":memory:");
  ASSERT_TRUE(h) << h.error().message;
  auto& db = **h;
  ASSERT_TRUE(db.record(outbound(100, "abc@our.test", {"Bob@Ext.test", "carol@ext.test"})));
  message_record in;
  in.time = 200;
  in.sender = "";
  in.recipients = {"alice@our.test"};
  in.message_id = "zzz@spam.test";
  in.spf_result = "softfail";
  in.decision = "quarantine";
  ASSERT_TRUE(db.record(in));

  auto all = db.list(0, 1000, 10);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].time, 200);  // newest first
  EXPECT_EQ((*all)[0].spf_result, "softfail");
  EXPECT_EQ((*all)[1].recipients, (std::vector<std::string>{"Bob@Ext.test", "carol@ext.test"}));
  EXPECT_EQ(db.list(150, 1000, 10)->size(), 1u);

  EXPECT_TRUE(*db.sent_message_id("abc@our.test"));
  EXPECT_FALSE(*db.sent_message_id("zzz@spam.test"));  // inbound does not count
  EXPECT_TRUE(*db.sent_to("bob@ext.test", 50));        // case-insensitive
  EXPECT_FALSE(*db.sent_to("bob@ext.test", 101));      // too old
  EXPECT_FALSE(*db.sent_to("alice@our.test", 0));      // only inbound
}

TEST(History, QuarantineRelease) {
  auto h = open_sqlite(":memory:");
  ASSERT_TRUE(h);
  auto& db = **h;
  quarantine_entry q;
  q.queue_id = "Q1";
  q.time = 10;
  q.sender = "x@y.test";
  q.recipients = "a@our.test";
  q.subject = "subj";
  q.reason = "spf softfail";
  ASSERT_TRUE(db.quarantine_add(q));
  ASSERT_EQ(db.quarantine_list(false)->size(), 1u);
  ASSERT_TRUE(db.quarantine_release("Q1", "admin", 20));
  EXPECT_EQ(db.quarantine_list(false)->size(), 0u);
  auto all = db.quarantine_list(true);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().released_at.value_or(0), 20);
  EXPECT_EQ(all->front().released_by, "admin");
  auto again = db.quarantine_release("Q1", "admin", 30);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, mxg::errc::not_found);
}

TEST(History, PersistsAcrossReopen) {
  auto dir = std::filesystem::temp_directory_path() / ("mxg-hist-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "history.db").string();
  {
    auto h = open_sqlite(path);
    ASSERT_TRUE(h) << h.error().message;
    ASSERT_TRUE((*h)->record(outbound(5, "keep@our.test", {"r@ext.test"})));
  }
  {
    auto h = open_sqlite(path);
    ASSERT_TRUE(h);
    EXPECT_TRUE(*(*h)->sent_message_id("keep@our.test"));
  }
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(open_sqlite("/nonexistent-dir/x/history.db"));
}
