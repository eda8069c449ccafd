// quarantine_expiry_test.cpp: the quarantine operations on a real queue directory and
// a real history (issue 9 section 3): release and delete happen once (entry and
// control file must both say quarantined), expiry removes the message and records
// "expiry", the queue of an entry is found by listener, directory or control file,
// and history_writer::async_call / quarantine_delete run on the writer thread in order.
#include "gateway/quarantine_expiry.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>

#include "gateway/history_writer.hpp"
#include "queue/report.hpp"

namespace mxg::gateway {
namespace {

namespace fs = std::filesystem;

class temp_dir {
 public:
  temp_dir()
      : dir_(fs::temp_directory_path() /
             ("mxg-qx-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~temp_dir() { fs::remove_all(dir_); }
  const fs::path& path() const { return dir_; }

 private:
  fs::path dir_;
};

std::unique_ptr<queue::queue_dir> open_queue(const fs::path& dir) {
  queue::options o;
  o.dir = dir;
  o.fsync = false;
  o.sync_threads = 1;
  auto q = queue::queue_dir::open(std::move(o));
  EXPECT_TRUE(q) << (q ? "" : q.error().message);
  return q ? std::move(*q) : nullptr;
}

// A held message, quarantined like the gateway does it (session.cpp).
std::string store_held(queue::queue_dir& q, bool quarantined) {
  queue::envelope e;
  e.created = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  e.sender = "x@ext.test";
  e.recipients.push_back({"user@our.test", queue::rcpt_status::pending, "", std::nullopt});
  e.client_ip = "192.0.2.1";
  e.helo = "ext.test";
  e.listener = "mx";
  e.mode = queue::delivery_mode::hold;
  if (quarantined) e.set_extra(queue::kQuarantineExtra, "spf softfail");
  auto id = q.store(e, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_TRUE(id) << (id ? "" : id.error().message);
  return id ? id->str() : "";
}

store::quarantine_entry entry_of(const std::string& id, std::int64_t t = 100) {
  store::quarantine_entry e;
  e.queue_id = id;
  e.time = t;
  e.sender = "x@ext.test";
  e.check = "spf";
  e.listener = "mx";
  return e;
}

queue::envelope load(queue::queue_dir& q, const std::string& id) {
  auto env = q.load(*queue::queue_id::parse(id));
  EXPECT_TRUE(env) << (env ? "" : env.error().message);
  return env ? *env : queue::envelope{};
}

TEST(QuarantineOps, ReleaseHappensOnce) {
  temp_dir t;
  auto q = open_queue(t.path() / "q");
  ASSERT_TRUE(q);
  auto id = store_held(*q, true);
  auto e = entry_of(id);
  ASSERT_TRUE(quarantine_queue_op(*q, e, quarantine_op::release));
  auto env = load(*q, id);
  EXPECT_EQ(env.mode, queue::delivery_mode::deliver);
  EXPECT_FALSE(queue::quarantined(env));
  // The index did not follow yet (still open): the control file stops a second release.
  auto again = quarantine_queue_op(*q, e, quarantine_op::release);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::not_found);
  EXPECT_NE(again.error().message.find("already released"), std::string::npos);
  // ... and a delete of mail on its way to delivery.
  EXPECT_FALSE(quarantine_queue_op(*q, e, quarantine_op::remove));
  EXPECT_TRUE(q->load(*queue::queue_id::parse(id)));
}

TEST(QuarantineOps, TheIndexStopsItToo) {
  temp_dir t;
  auto q = open_queue(t.path() / "q");
  ASSERT_TRUE(q);
  auto id = store_held(*q, true);
  auto e = entry_of(id);
  e.released_at = 5;
  e.released_by = "alice";
  auto r = quarantine_queue_op(*q, e, quarantine_op::release);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("already released by alice"), std::string::npos);
  EXPECT_TRUE(queue::quarantined(load(*q, id)));  // untouched
  e.released_at.reset();
  e.deleted_at = 6;
  e.deleted_by = "expiry";
  EXPECT_FALSE(quarantine_queue_op(*q, e, quarantine_op::remove));
  EXPECT_TRUE(queue::quarantined(load(*q, id)));
}

TEST(QuarantineOps, OnlyQuarantinedMessages) {
  temp_dir t;
  auto q = open_queue(t.path() / "q");
  ASSERT_TRUE(q);
  auto id = store_held(*q, false);  // held by an admin, not quarantined
  EXPECT_FALSE(quarantine_queue_op(*q, entry_of(id), quarantine_op::release));
  EXPECT_EQ(load(*q, id).mode, queue::delivery_mode::hold);
  EXPECT_FALSE(quarantine_queue_op(*q, entry_of("not-an-id"), quarantine_op::release));
}

TEST(QuarantineOps, DeleteRemovesAndToleratesAGoneMessage) {
  temp_dir t;
  auto q = open_queue(t.path() / "q");
  ASSERT_TRUE(q);
  auto id = store_held(*q, true);
  ASSERT_TRUE(quarantine_queue_op(*q, entry_of(id), quarantine_op::remove));
  EXPECT_FALSE(q->load(*queue::queue_id::parse(id)));
  EXPECT_TRUE(quarantine_queue_op(*q, entry_of(id), quarantine_op::remove));
  EXPECT_FALSE(quarantine_queue_op(*q, entry_of(id), quarantine_op::release));
}

TEST(QuarantineOps, FindsTheQueueOfAnEntry) {
  temp_dir t;
  auto a = open_queue(t.path() / "a");
  auto b = open_queue(t.path() / "b");
  ASSERT_TRUE(a && b);
  auto id = store_held(*b, true);
  auto find = [&](const std::string& w) -> queue::queue_dir* {
    if (w == "mx" || w == a->path().string()) return a.get();
    if (w == b->path().string()) return b.get();
    return nullptr;
  };
  std::vector<queue::queue_dir*> all{a.get(), b.get()};
  auto e = entry_of(id);
  EXPECT_EQ(quarantine_queue(e, find, all), a.get());  // by listener name first
  e.listener = "gone";
  e.queue_dir = b->path().string();
  EXPECT_EQ(quarantine_queue(e, find, all), b.get());  // then by directory
  e.queue_dir.clear();
  EXPECT_EQ(quarantine_queue(e, find, all), b.get());  // then where the control file is
  e.queue_id = "00661A2B3C4D5A3F9C";
  EXPECT_EQ(quarantine_queue(e, find, all), nullptr);
}

TEST(QuarantineOps, ExpiryRemovesAndRecordsExpiry) {
  temp_dir t;
  auto q = open_queue(t.path() / "q");
  ASSERT_TRUE(q);
  auto hw = history_writer::open((t.path() / "history.db").string());
  ASSERT_TRUE(hw) << hw.error().message;
  auto old1 = store_held(*q, true), old2 = store_held(*q, true), fresh = store_held(*q, true);
  auto gone = std::string("00661A2B3C4D5A3F9C");  // its message vanished from the queue
  for (auto& [id, t0] : std::vector<std::pair<std::string, std::int64_t>>{
           {old1, 100}, {old2, 200}, {fresh, 5000}, {gone, 150}})
    (*hw)->quarantine_add(entry_of(id, t0));
  (*hw)->flush();
  store::quarantine_query old;
  old.until = 1000;
  auto found = (*hw)->reader().quarantine_find(old);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 3u);
  auto n = expire_entries(
      *found, [&](const store::quarantine_entry&) { return q.get(); }, **hw, 9999);
  EXPECT_EQ(n, 3u);
  (*hw)->flush();
  EXPECT_FALSE(q->load(*queue::queue_id::parse(old1)));
  EXPECT_FALSE(q->load(*queue::queue_id::parse(old2)));
  EXPECT_TRUE(q->load(*queue::queue_id::parse(fresh)));
  for (const auto& id : {old1, old2, gone}) {
    auto e = (*hw)->reader().quarantine_get(id);
    ASSERT_TRUE(e && *e);
    EXPECT_EQ((*e)->deleted_by, "expiry");
    EXPECT_EQ((*e)->deleted_at.value_or(0), 9999);
  }
  EXPECT_FALSE((*(*hw)->reader().quarantine_get(fresh))->deleted_at);
  EXPECT_EQ((*hw)->stats().failed, 0u);
  // The next run finds nothing open; a stale list changes nothing recorded.
  auto again = (*hw)->reader().quarantine_find(old);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  expire_entries(
      *found, [&](const store::quarantine_entry&) { return q.get(); }, **hw, 10000);
  (*hw)->flush();
  EXPECT_EQ((*(*hw)->reader().quarantine_get(old1))->deleted_at.value_or(0), 9999);
  EXPECT_TRUE(q->load(*queue::queue_id::parse(fresh)));
}

TEST(HistoryWriterCall, RunsOnTheWriterThreadInOrderAndCompletesOnTheExecutor) {
  temp_dir t;
  auto hw = history_writer::open((t.path() / "history.db").string());
  ASSERT_TRUE(hw);
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  (*hw)->quarantine_add(entry_of("QX"));
  (*hw)->quarantine_delete("QX", "carol", 77);  // queued before the read: seen by it
  auto read = [](store::history& db) { return db.quarantine_get("QX"); };
  using R = result<std::optional<store::quarantine_entry>>;
  std::optional<R> got;
  auto caller = std::this_thread::get_id();
  std::thread::id completed_on;
  (*hw)->async_call(read, R(fail(errc::temporary, "full")), io.get_executor(), [&](R r) {
    got = std::move(r);
    completed_on = std::this_thread::get_id();
    work.reset();
  });
  io.run_for(std::chrono::seconds(10));  // bounded; returns as soon as the call completes
  ASSERT_TRUE(got);
  EXPECT_EQ(completed_on, caller);
  ASSERT_TRUE(*got && **got);
  EXPECT_EQ((**got)->deleted_by, "carol");
  EXPECT_EQ((**got)->deleted_at.value_or(0), 77);
  (*hw)->quarantine_delete("QX", "dave", 78);  // already deleted: logged and counted
  (*hw)->flush();
  EXPECT_EQ((*hw)->stats().failed, 1u);
}

}  // namespace
}  // namespace mxg::gateway
