// queue_dir_test.cpp: the durable writer (visible only after success, nothing left
// behind by a failed write/fsync/rename), group commit (fewer fsync rounds than
// messages), the start-up scanner (orphans removed, refused files quarantined) and
// hold/release/update/remove. These are format A's tests (split: <id>.data + <id>.ctl),
// whatever the default format; single_format_test.cpp tests format B.
#include "queue/queue_dir.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <optional>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <latch>
#include <map>
#include <set>
#include <thread>

#include "faults.hpp"
#include "queue/report.hpp"
#include "temp_dir.hpp"

namespace mxg::queue {
namespace {

namespace fs = std::filesystem;
using namespace test;  // temp_dir.hpp, faults.hpp: the queue tests' helpers
using strings = std::vector<std::string>;

const std::string kMessage =
    "Received: from localhost ([127.0.0.1])\r\n"
    "subject: test of the capture-only instance\r\n\r\nJust a test!\r\n-Dr J\r\n";

std::unique_ptr<queue_dir> open_queue(const fs::path& dir, file_ops ops = file_ops::system(),
                                      bool fsync = true) {
  options o;
  o.dir = dir;
  o.format = queue_format::split;  // this file tests format A's files
  o.fsync = fsync;
  o.ops = std::move(ops);
  auto q = queue_dir::open(std::move(o));
  EXPECT_TRUE(q) << (q ? "" : q.error().message);
  return q ? std::move(*q) : nullptr;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(QueueDir, OpenCreatesLayout) {
  temp_dir t;
  auto q = open_queue(t.path() / "q");
  ASSERT_TRUE(q);
  EXPECT_EQ(entries(t.path() / "q"), (strings{"corrupt", "messages", "tmp"}));
  struct stat st {};
  ASSERT_EQ(::stat((t.path() / "q" / "messages").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(QueueDir, OpenFailsClearlyOnAFile) {
  temp_dir t;
  std::ofstream(t.path() / "file") << "x";
  options o;
  o.dir = t.path() / "file";
  auto q = queue_dir::open(o);
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().message.find("not a directory"), std::string::npos) << q.error().message;
}

TEST(QueueDir, StoreCommitsControlAndDataFiles) {
  temp_dir t;
  auto q = open_queue(t.path());
  auto id = q->store(make_env(), kMessage);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(entries(t.path() / "messages"), (strings{id->str() + ".ctl", id->str() + ".data"}));
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
  EXPECT_EQ(slurp(q->data_path(*id)), kMessage);
  auto env = q->load(*id);
  ASSERT_TRUE(env) << env.error().message;
  envelope want = make_env();
  want.id = *id;
  want.size = kMessage.size();
  want.created = env->created;
  EXPECT_EQ(*env, want);
  struct stat st {};
  ASSERT_EQ(::stat(q->control_path(*id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto data = q->read_data(*id);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, kMessage);
  auto s = q->stats();
  EXPECT_EQ(s.messages, 1u);
  EXPECT_EQ(s.rounds, 1u);
  EXPECT_EQ(s.dir_syncs, 1u);
  EXPECT_EQ(s.file_syncs, 2u);
}

TEST(QueueDir, StreamingWriterIsInvisibleUntilCommitted) {
  temp_dir t;
  auto q = open_queue(t.path());
  auto w = q->begin();
  ASSERT_TRUE(w) << w.error().message;
  queue_id id = w->id();
  // Larger than the writer's buffer, in odd pieces.
  std::string big;
  for (int i = 0; big.size() < 3 * kWriterBuffer + 17; ++i)
    big += "line " + std::to_string(i) + " of a long message\r\n";
  for (std::size_t off = 0; off < big.size(); off += 1000)
    ASSERT_TRUE(w->append(std::string_view(big).substr(off, 1000)));
  ASSERT_TRUE(w->append(std::string(2 * kWriterBuffer, 'x')));  // one write past the buffer
  big += std::string(2 * kWriterBuffer, 'x');
  EXPECT_EQ(w->size(), big.size());
  EXPECT_TRUE(entries(t.path() / "messages").empty());
  EXPECT_TRUE(q->list()->empty());
  EXPECT_FALSE(q->load(id));
  auto r = q->store(std::move(*w), make_env());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, id);
  EXPECT_EQ(slurp(q->data_path(id)), big);
  EXPECT_EQ(q->load(id)->size, big.size());
}

TEST(QueueDir, AbandonedWriterLeavesNothing) {
  temp_dir t;
  options o;
  o.dir = t.path();
  o.format = queue_format::split;
  o.spare_files = 0;  // tmp/ holds exactly the files of messages being written
  auto q = queue_dir::open(std::move(o));
  ASSERT_TRUE(q);
  {
    auto w = (*q)->begin();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->append("half a message"));
    EXPECT_EQ(entries(t.path() / "tmp"), (strings{w->id().str() + ".data"}));
  }  // RSET or lost connection
  EXPECT_TRUE(entries(t.path() / "tmp").empty());
  EXPECT_TRUE(entries(t.path() / "messages").empty());
}

// Spare files: begin() and the control file take empty files created ahead by a
// background thread; committed messages land under their ids, an abandoned writer's
// spare is removed, and closing the queue removes the unused spares.
TEST(QueueDir, SpareFilesAreUsedAndCleanedUp) {
  temp_dir t;
  {
    auto q = open_queue(t.path());
    ASSERT_TRUE(q);
    EXPECT_TRUE(entries(t.path() / "tmp").empty()) << "no spare before the first message";
    auto first = q->store(make_env(), "first\r\n");
    ASSERT_TRUE(first);
    // The pool fills in the background after the first message.
    for (int i = 0; i < 300 && entries(t.path() / "tmp").size() < kSpareFilesDefault; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto spares = entries(t.path() / "tmp");
    EXPECT_EQ(spares.size(), kSpareFilesDefault);
    for (const auto& n : spares) EXPECT_TRUE(n.starts_with("spare-")) << n;
    EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
    {
      auto w = q->begin();
      ASSERT_TRUE(w);
      ASSERT_TRUE(w->append("abandoned"));
    }
    auto w = q->begin();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->append("second\r\n"));
    queue_id id = w->id();
    auto r = q->store(std::move(*w), make_env());
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, id);
    EXPECT_EQ(slurp(q->data_path(id)), "second\r\n");
    EXPECT_EQ(q->load(id)->id, id);
    EXPECT_EQ(entries(t.path() / "messages"),
              (strings{first->str() + ".ctl", first->str() + ".data", id.str() + ".ctl",
                       id.str() + ".data"}));
    EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
    // The start-up scan keeps this process's open spares.
    auto rep = q->recover();
    ASSERT_TRUE(rep);
    EXPECT_EQ(rep->tmp_removed, 0u);
    EXPECT_EQ(rep->messages.size(), 2u);
  }
  EXPECT_TRUE(entries(t.path() / "tmp").empty()) << "closing the queue removes its spares";
}

// The spare thread refills the pool only once it is below half its target, and then
// to the full target in one burst: taking a spare is no wake-up most of the time.
TEST(QueueDir, SparePoolRefillsBelowLowWaterOnly) {
  temp_dir t;
  auto q = open_queue(t.path());
  ASSERT_TRUE(q);
  ASSERT_TRUE(q->store(make_env(), "first\r\n"));
  auto wait_for_tmp = [&](std::size_t n) {
    for (int i = 0; i < 300 && entries(t.path() / "tmp").size() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return entries(t.path() / "tmp").size();
  };
  ASSERT_EQ(wait_for_tmp(kSpareFilesDefault), kSpareFilesDefault);
  const std::uint64_t refills = q->spare_refills();
  EXPECT_EQ(refills, 1u) << "one burst filled the pool";
  // Writers in progress keep their (taken) spare files in tmp/.
  std::vector<message_writer> open;
  for (std::size_t i = 0; i < kSpareFilesDefault / 2; ++i) {
    open.push_back(*q->begin());
    // The thread's wake-up condition, read under its lock: exact, no waiting.
    EXPECT_FALSE(q->spare_refill_due()) << "half the pool taken (" << i + 1 << "): no refill";
  }
  EXPECT_EQ(entries(t.path() / "tmp").size(), kSpareFilesDefault) << "taken + spare files";
  open.push_back(*q->begin());  // below half: a burst back to the full target
  EXPECT_EQ(wait_for_tmp(open.size() + kSpareFilesDefault), open.size() + kSpareFilesDefault);
  EXPECT_EQ(q->spare_refills(), refills + 1) << "one more burst, not one per spare taken";
}

// A removed message's inodes become spare files (renamed into tmp/, truncated), and
// the next message reuses them: delivery frees and allocates no inode.
TEST(QueueDir, RemovedMessagesFilesAreRecycled) {
  temp_dir t;
  auto q = open_queue(t.path());
  ASSERT_TRUE(q);
  auto id = q->store(make_env(), kMessage);
  ASSERT_TRUE(id);
  struct stat data_st {
  }, ctl_st{};
  ASSERT_EQ(::stat(q->data_path(*id).c_str(), &data_st), 0);
  ASSERT_EQ(::stat(q->control_path(*id).c_str(), &ctl_st), 0);
  // Let the background thread fill the pool first, so it is idle from here on.
  for (int i = 0; i < 300 && entries(t.path() / "tmp").size() < kSpareFilesDefault; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(q->remove(*id));
  EXPECT_TRUE(entries(t.path() / "messages").empty());
  EXPECT_FALSE(q->load(*id));
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty()) << "recycled files are empty";
  std::set<ino_t> spare_inodes;
  for (const auto& n : entries(t.path() / "tmp")) {
    struct stat st {};
    ASSERT_EQ(::stat((t.path() / "tmp" / n).c_str(), &st), 0);
    spare_inodes.insert(st.st_ino);
  }
  EXPECT_TRUE(spare_inodes.contains(data_st.st_ino));
  EXPECT_TRUE(spare_inodes.contains(ctl_st.st_ino));
  // The most recently recycled spare is taken first.
  auto w = q->begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->append("reused\r\n"));
  auto again = q->store(std::move(*w), make_env());
  ASSERT_TRUE(again);
  struct stat st {};
  ASSERT_EQ(::stat(q->data_path(*again).c_str(), &st), 0);
  EXPECT_TRUE(st.st_ino == data_st.st_ino || st.st_ino == ctl_st.st_ino) << st.st_ino;
  EXPECT_EQ(slurp(q->data_path(*again)), "reused\r\n");
  EXPECT_EQ(q->remove(*id).error().code, errc::not_found);
}

// The commit order seen through the injected system calls: both files fsynced, data
// renamed before control, the directory fsynced, and only then the callback.
TEST(QueueDir, CallbackOnlyAfterDirectoryFsync) {
  temp_dir t;
  std::mutex mu;
  std::vector<std::string> events;
  auto record = [&](std::string e) {
    std::lock_guard lk(mu);
    events.push_back(std::move(e));
  };
  file_ops ops = file_ops::system();
  ops.fsync = [&](int fd) {
    struct stat st {};
    ::fstat(fd, &st);
    if (S_ISDIR(st.st_mode)) {
      // At the directory fsync both files are in place.
      record("fsync-dir:" + std::to_string(entries(t.path() / "messages").size()));
    } else {
      record("fsync-file");
    }
    return ::fsync(fd);
  };
  ops.rename = [&, sys = file_ops::system().rename](const char* from, const char* to, bool nr) {
    record(std::string("rename:") + fs::path(to).extension().string());
    return sys(from, to, nr);
  };
  auto q = open_queue(t.path(), ops);
  std::promise<void> done;
  q->commit(make_env(), kMessage, [&](result<queue_id> r) {
    EXPECT_TRUE(r);
    record("callback");
    done.set_value();
  });
  done.get_future().wait();
  EXPECT_EQ(events, (strings{"fsync-file", "fsync-file", "rename:.data", "rename:.ctl",
                             "fsync-dir:2", "callback"}));
}

// Injected failures at each step: the store fails and nothing stays visible.
TEST(QueueDir, FailuresLeaveNothingVisible) {
  struct tc {
    const char* name;
    std::function<void(file_ops&)> inject;
    errc code = errc::io_error;  // ENOSPC/EDQUOT: no_space (the server answers 452 4.3.1)
  };
  const tc cases[] = {
      {"write ENOSPC", [](file_ops& o) { write_fails(o, ENOSPC); }, errc::no_space},
      {"second write EIO (control file)",
       [](file_ops& o) {
         auto n = std::make_shared<int>(0);
         o.write = [n](int fd, const void* b, std::size_t len) -> long {
           return ++*n == 2 ? fail_with(EIO) : ::write(fd, b, len);
         };
       }},
      {"short writes then ENOSPC", [](file_ops& o) { short_writes_then(o, 3, ENOSPC); },
       errc::no_space},
      {"file fsync EIO", [](file_ops& o) { fsync_fails(o, EIO); }},
      {"directory fsync EIO", [](file_ops& o) { dir_fsync_fails(o, EIO); }},
      {"data rename fails", [](file_ops& o) { rename_fails(o, EXDEV); }},
      {"control rename fails",
       [](file_ops& o) {
         o.rename = [sys = file_ops::system().rename](const char* f, const char* to, bool nr) {
           return std::string_view(to).ends_with(".ctl") ? fail_with(ENOSPC) : sys(f, to, nr);
         };
       },
       errc::no_space},
      {"write EDQUOT", [](file_ops& o) { write_fails(o, EDQUOT); }, errc::no_space},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    temp_dir t;
    file_ops ops = file_ops::system();
    c.inject(ops);
    auto q = open_queue(t.path(), ops);
    auto r = q->store(make_env(), kMessage);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
    EXPECT_TRUE(entries(t.path() / "messages").empty());
    EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
    EXPECT_EQ(q->stats().failures, 1u);
    EXPECT_EQ(q->stats().messages, 0u);
    EXPECT_TRUE(q->list()->empty());
  }
}

TEST(QueueDir, FailedStreamingAppendFailsTheCommit) {
  temp_dir t;
  file_ops ops = file_ops::system();
  write_fails(ops, ENOSPC);
  auto q = open_queue(t.path(), ops);
  auto w = q->begin();
  ASSERT_TRUE(w);
  auto a = w->append(std::string(2 * kWriterBuffer, 'x'));  // forces a write
  ASSERT_FALSE(a);
  EXPECT_FALSE(w->append("more"));  // the error is remembered
  auto r = q->store(std::move(*w), make_env());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("No space left"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().code, errc::no_space);
  EXPECT_TRUE(entries(t.path() / "messages").empty());
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
}

// Root ignores directory permissions through CAP_DAC_OVERRIDE: the test drops it (and
// CAP_DAC_READ_SEARCH) from this thread's effective set before the queue starts its
// threads, which inherit it, and raises it again afterwards (capabilities are per thread).
class dac_override_dropped {
 public:
  dac_override_dropped() {
    if (::syscall(SYS_capget, &hdr_, data_) != 0) return;
    saved_[0] = data_[0], saved_[1] = data_[1];
    data_[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    ok_ = ::syscall(SYS_capset, &hdr_, data_) == 0;
  }
  ~dac_override_dropped() {
    if (ok_) ::syscall(SYS_capset, &hdr_, saved_);
  }
  bool ok() const { return ok_; }

 private:
  __user_cap_header_struct hdr_{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data_[2]{}, saved_[2]{};
  bool ok_ = false;
};

TEST(QueueDir, ReadOnlyDirectoryFailsTheCommit) {
  temp_dir t;
  std::optional<dac_override_dropped> drop;
  if (::geteuid() == 0) {
    drop.emplace();
    ASSERT_TRUE(drop->ok()) << "could not drop CAP_DAC_OVERRIDE";
  }
  {
    auto q = open_queue(t.path());
    ASSERT_EQ(::chmod((t.path() / "messages").c_str(), 0500), 0);
    auto r = q->store(make_env(), kMessage);
    ::chmod((t.path() / "messages").c_str(), 0700);
    ASSERT_FALSE(r);
  }
  drop.reset();
  EXPECT_TRUE(entries(t.path() / "messages").empty());
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
}

// Group commit: while one directory fsync is in flight, the messages that finish
// their file fsyncs meanwhile are renamed and then share the next directory fsync.
TEST(QueueDir, GroupCommitSharesOneRound) {
  temp_dir t;
  std::promise<void> entered, gate;
  auto gate_f = gate.get_future().share();
  auto first = std::make_shared<std::atomic<bool>>(true);
  file_ops ops = file_ops::system();
  ops.fsync = [&, first](int fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && first->exchange(false)) {
      entered.set_value();  // the first directory fsync waits for the gate
      gate_f.wait();
    }
    return ::fsync(fd);
  };
  auto q = open_queue(t.path(), ops);
  constexpr int kMessages = 40;
  std::latch all_done(kMessages);
  std::mutex mu;
  std::vector<result<queue_id>> results;
  auto cb = [&](result<queue_id> r) {
    {
      std::lock_guard lk(mu);
      results.push_back(std::move(r));
    }
    all_done.count_down();
  };
  q->commit(make_env("first@x.test"), kMessage, cb);
  entered.get_future().wait();
  for (int i = 1; i < kMessages; ++i)
    q->commit(make_env("r" + std::to_string(i) + "@x.test"), kMessage, cb);
  // All 40 written, fsynced and renamed (visible, not yet acknowledged).
  for (int i = 0; i < 1000 && entries(t.path() / "messages").size() < 2u * kMessages; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(entries(t.path() / "messages").size(), 2u * kMessages);
  {
    std::lock_guard lk(mu);
    EXPECT_TRUE(results.empty()) << "nothing is acknowledged before its directory fsync";
  }
  gate.set_value();
  all_done.wait();
  for (const auto& r : results) EXPECT_TRUE(r) << r.error().message;
  auto s = q->stats();
  EXPECT_EQ(s.messages, static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(s.rounds, 2u);
  EXPECT_EQ(s.dir_syncs, 2u);
  EXPECT_EQ(s.max_batch, static_cast<std::uint64_t>(kMessages - 1));
  EXPECT_EQ(s.file_syncs, 2u * kMessages);
  EXPECT_EQ(q->list()->size(), static_cast<std::size_t>(kMessages));
}

// The data file's and the control file's fsyncs of one message are in flight at the
// same time (two writers): one after the other, the second would pay a device flush of
// its own. Each file fsync waits (up to 5 s) for the other to arrive.
TEST(QueueDir, BothFileFsyncsOfAMessageRunAtOnce) {
  temp_dir t;
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0, most = 0;
  file_ops ops = file_ops::system();
  ops.fsync = [&](int fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      std::unique_lock lk(mu);
      most = std::max(most, ++in_flight);
      cv.notify_all();
      cv.wait_for(lk, std::chrono::seconds(5), [&] { return most >= 2; });
      --in_flight;
    }
    return ::fsync(fd);
  };
  auto q = open_queue(t.path(), ops);
  ASSERT_TRUE(q->store(make_env(), kMessage));
  std::lock_guard lk(mu);
  EXPECT_EQ(most, 2);
  EXPECT_EQ(q->stats().file_syncs, 2u);
}

// Many sessions storing at once, synchronous API: every message lands intact.
TEST(QueueDir, ConcurrentWritersAllCommitted) {
  temp_dir t;
  auto q = open_queue(t.path());
  constexpr int kThreads = 16, kEach = 10;
  std::vector<std::thread> ts;
  std::mutex mu;
  std::map<queue_id, std::string> stored;
  for (int th = 0; th < kThreads; ++th)
    ts.emplace_back([&, th] {
      for (int i = 0; i < kEach; ++i) {
        std::string body = kMessage + "thread " + std::to_string(th) + " msg " + std::to_string(i);
        auto r = q->store(make_env(), body);
        ASSERT_TRUE(r) << r.error().message;
        std::lock_guard lk(mu);
        stored[*r] = body;
      }
    });
  for (auto& th : ts) th.join();
  ASSERT_EQ(stored.size(), static_cast<std::size_t>(kThreads * kEach));
  auto s = q->stats();
  EXPECT_EQ(s.messages, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_LE(s.rounds, s.messages);
  EXPECT_EQ(s.dir_syncs, s.rounds);
  for (const auto& [id, body] : stored) EXPECT_EQ(*q->read_data(id), body);
  auto l = q->list();
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), stored.size());
  auto it = stored.begin();
  for (const auto& m : *l) EXPECT_EQ(m.id, (it++)->first);  // id order
}

TEST(QueueDir, FsyncOffSkipsSyncs) {
  temp_dir t;
  auto q = open_queue(t.path(), file_ops::system(), /*fsync=*/false);
  ASSERT_TRUE(q->store(make_env(), kMessage));
  auto s = q->stats();
  EXPECT_EQ(s.messages, 1u);
  EXPECT_EQ(s.file_syncs, 0u);
  EXPECT_EQ(s.dir_syncs, 0u);
}

void write_file(const fs::path& p, std::string_view s) {
  std::ofstream(p, std::ios::binary) << s;
}

TEST(QueueDir, RecoveryCleansAndQuarantines) {
  temp_dir t;
  auto q = open_queue(t.path());
  ASSERT_TRUE(q->lock());
  auto good1 = q->store(make_env("a@x.test"), kMessage);
  auto good2 = q->store(make_env("b@x.test"), kMessage);
  auto trunc = q->store(make_env("c@x.test"), kMessage);
  auto shortdata = q->store(make_env("d@x.test"), kMessage);
  auto nodata = q->store(make_env("e@x.test"), kMessage);
  auto wrongid = q->store(make_env("f@x.test"), kMessage);
  ASSERT_TRUE(good1 && good2 && trunc && shortdata && nodata && wrongid);
  const fs::path m = t.path() / "messages";
  // A control file cut before its end marker.
  std::string ctl = slurp(q->control_path(*trunc));
  write_file(q->control_path(*trunc), ctl.substr(0, ctl.find("end:")));
  // A data file shorter than the control file says.
  write_file(q->data_path(*shortdata), kMessage.substr(0, 10));
  // A control file whose data file is gone.
  fs::remove(q->data_path(*nodata));
  // A control file under another message's name.
  queue_id other = queue_id::from_parts(1, 2);
  fs::rename(q->control_path(*wrongid), q->control_path(other));
  fs::rename(q->data_path(*wrongid), q->data_path(other));
  // Leftovers of interrupted writes.
  write_file(t.path() / "tmp" / (queue_id::from_parts(5, 5).str() + ".data"), "partial");
  write_file(t.path() / "tmp" / (queue_id::from_parts(5, 5).str() + ".ctl"), "mxguard-queue: 1\n");
  queue_id orphan = queue_id::from_parts(7, 7);
  write_file(m / (orphan.str() + ".data"), kMessage);  // data renamed, control never
  write_file(m / "README", "not ours");

  auto rep = q->recover();
  ASSERT_TRUE(rep) << rep.error().message;
  ASSERT_EQ(rep->messages.size(), 2u);
  EXPECT_EQ(rep->messages[0].id, *good1);
  EXPECT_EQ(rep->messages[1].id, *good2);
  EXPECT_EQ(rep->tmp_removed, 2u);
  EXPECT_EQ(rep->orphan_data_removed, 1u);
  ASSERT_EQ(rep->corrupt.size(), 4u);
  std::string all;
  for (const auto& c : rep->corrupt) all += c + "\n";
  EXPECT_NE(all.find("no end marker"), std::string::npos) << all;
  EXPECT_NE(all.find("data file has 10 bytes"), std::string::npos) << all;
  EXPECT_NE(all.find("data file missing"), std::string::npos) << all;
  EXPECT_NE(all.find("not its name"), std::string::npos) << all;
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
  EXPECT_EQ(entries(m), (strings{good1->str() + ".ctl", good1->str() + ".data",
                                 good2->str() + ".ctl", good2->str() + ".data", "README"}));
  EXPECT_EQ(entries(t.path() / "corrupt"),
            (strings{other.str() + ".ctl", other.str() + ".data", trunc->str() + ".ctl",
                     trunc->str() + ".data", shortdata->str() + ".ctl", shortdata->str() + ".data",
                     nodata->str() + ".ctl"}));
  // A second scan finds a clean queue.
  auto again = q->recover();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->messages.size(), 2u);
  EXPECT_TRUE(again->corrupt.empty());
  EXPECT_EQ(again->tmp_removed + again->orphan_data_removed, 0u);
}

// Releasing a quarantined message renames its quarantine field in the same control
// file rewrite and says so; an ordinary held message is released as before.
TEST(QueueDir, ReleaseOfAQuarantinedMessage) {
  temp_dir t;
  auto q = open_queue(t.path());
  envelope held = make_env();
  held.mode = delivery_mode::hold;
  held.set_extra(kQuarantineExtra, "backscatter: foreign Message-ID");
  auto qid = q->store(held, kMessage);
  ASSERT_TRUE(qid);
  ASSERT_TRUE(quarantined(*q->load(*qid)));
  bool was = false;
  auto rel = q->release(*qid, &was);
  ASSERT_TRUE(rel);
  EXPECT_TRUE(was);
  auto loaded = q->load(*qid);
  ASSERT_TRUE(loaded);
  EXPECT_FALSE(quarantined(*loaded));
  EXPECT_EQ(loaded->mode, delivery_mode::deliver);
  EXPECT_EQ(loaded->find_extra(kQuarantineExtra), nullptr);
  ASSERT_NE(loaded->find_extra(kQuarantineReleasedExtra), nullptr);
  EXPECT_NE(loaded->find_extra(kQuarantineReleasedExtra)->find("foreign Message-ID"),
            std::string::npos);
  envelope plain = make_env();
  plain.mode = delivery_mode::hold;
  auto pid = q->store(plain, kMessage);
  ASSERT_TRUE(pid);
  ASSERT_TRUE(q->release(*pid, &was));
  EXPECT_FALSE(was);
  EXPECT_EQ(q->load(*pid)->find_extra(kQuarantineReleasedExtra), nullptr);
}

TEST(QueueDir, HoldReleaseUpdateRemove) {
  temp_dir t;
  auto q = open_queue(t.path());
  envelope e = make_env();
  e.mode = delivery_mode::deliver;
  e.recipients.push_back({"later@y.test", rcpt_status::pending, "", std::nullopt});
  auto id = q->store(e, kMessage);
  ASSERT_TRUE(id);

  auto held = q->hold(*id);
  ASSERT_TRUE(held);
  EXPECT_EQ(q->load(*id)->mode, delivery_mode::hold);

  // A delivery attempt: one delivered, one deferred.
  envelope u = *q->load(*id);
  auto retry = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) +
               std::chrono::minutes(30);
  u.recipients[0].status = rcpt_status::delivered;
  u.recipients[0].reply = "250 2.0.0 Ok";
  u.recipients[1].status = rcpt_status::deferred;
  u.recipients[1].reply = "451 4.4.1 no answer";
  u.recipients[1].next_attempt = retry;
  u.attempts = 1;
  u.next_attempt = retry;
  ASSERT_TRUE(q->update(u));
  EXPECT_EQ(*q->load(*id), u);
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty());

  auto rel = q->release(*id);
  ASSERT_TRUE(rel);
  envelope r = *q->load(*id);
  EXPECT_EQ(r.mode, delivery_mode::deliver);
  EXPECT_FALSE(r.next_attempt);
  EXPECT_EQ(r.recipients[0].status, rcpt_status::delivered);  // stays delivered
  EXPECT_EQ(r.recipients[1].status, rcpt_status::pending);
  EXPECT_FALSE(r.recipients[1].next_attempt);

  ASSERT_TRUE(q->remove(*id));
  EXPECT_TRUE(entries(t.path() / "messages").empty());
  auto gone = q->remove(*id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, errc::not_found);
  EXPECT_EQ(q->load(*id).error().code, errc::not_found);
  EXPECT_EQ(q->hold(*id).error().code, errc::not_found);
  EXPECT_EQ(q->update(u).error().code, errc::not_found);
  EXPECT_TRUE(entries(t.path() / "messages").empty());  // update did not resurrect it
}

TEST(QueueDir, LockIsExclusive) {
  temp_dir t;
  auto a = open_queue(t.path());
  auto b = open_queue(t.path());
  ASSERT_TRUE(a->lock());
  EXPECT_TRUE(a->locked());
  auto r = b->lock();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::temporary);
  a.reset();  // releases the lock
  EXPECT_TRUE(b->lock());
}

TEST(QueueDir, ListShowsUnreadableFiles) {
  temp_dir t;
  auto q = open_queue(t.path());
  auto id = q->store(make_env(), kMessage);
  ASSERT_TRUE(id);
  queue_id bad = queue_id::from_parts(3, 3);
  write_file(q->control_path(bad), "garbage\n");
  auto l = q->list();
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].id, bad);
  EXPECT_FALSE((*l)[0].env);
  EXPECT_TRUE((*l)[1].env);
  auto j = to_json(*l);
  EXPECT_EQ(j["count"], 1);
  EXPECT_EQ(j["unreadable"][0]["id"], bad.str());
  EXPECT_EQ(j["messages"][0]["recipients"][0]["address"], "user@drj.test");
  std::string text = format_list(*l);
  EXPECT_NE(text.find("-- 1 message, 1 unreadable"), std::string::npos) << text;
}

TEST(Report, ShowEscapesPeerInput) {
  envelope e = make_env("evil\x1b[2J@x.test");
  e.id = queue_id::from_parts(1, 1);
  e.helo = "bad\r\nhelo";
  std::string s = format_show(e);
  EXPECT_EQ(s.find('\x1b'), std::string::npos);
  EXPECT_EQ(s.find('\r'), std::string::npos);
  EXPECT_NE(s.find("evil\\x1B[2J@x.test"), std::string::npos) << s;
  EXPECT_NE(s.find("bad\\r\\nhelo"), std::string::npos) << s;
}

TEST(Report, JsonOfInvalidUtf8DoesNotThrow) {
  envelope e = make_env("bad\xff\xfe@x.test");
  e.id = queue_id::from_parts(1, 1);
  std::string text;
  ASSERT_NO_THROW(text = json_text(to_json(e)));
  EXPECT_NE(text.find("bad\xef\xbf\xbd"), std::string::npos) << text;  // U+FFFD
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace mxg::queue
