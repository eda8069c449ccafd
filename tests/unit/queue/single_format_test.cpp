// single_format_test.cpp: queue format B ("single", issue 13 section 2): one file per
// message (data, envelope, end marker) renamed into place, then fsynced together with the
// directory, the end marker commits; mutable state in
// a .st file written only when it changes; recovery never resumes a file without a
// valid end marker; a queue written in format A is still read (side by side), and the
// other way round. The expectations come from the format in message_file.hpp and
// docs/queue.md, not from the output.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>

#include "faults.hpp"
#include "queue/message_file.hpp"
#include "queue/queue_dir.hpp"
#include "temp_dir.hpp"

namespace mxg::queue {
namespace {

namespace fs = std::filesystem;
using namespace test;  // temp_dir.hpp, faults.hpp: the queue tests' helpers
using strings = std::vector<std::string>;

const std::string kMessage =
    "Received: from localhost ([127.0.0.1])\r\n"
    "subject: one file per message\r\n\r\nJust a test!\r\nend: 00661A2B3C4D5A3F9C\r\n";

std::unique_ptr<queue_dir> open_queue(const fs::path& dir, queue_format f = queue_format::single,
                                      file_ops ops = file_ops::system()) {
  options o;
  o.dir = dir;
  o.format = f;
  o.ops = std::move(ops);
  auto q = queue_dir::open(std::move(o));
  EXPECT_TRUE(q) << (q ? "" : q.error().message);
  return q ? std::move(*q) : nullptr;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, std::string_view text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

TEST(QueueFormat, ParseNames) {
  EXPECT_EQ(*parse_queue_format("split"), queue_format::split);
  EXPECT_EQ(*parse_queue_format("single"), queue_format::single);
  EXPECT_FALSE(parse_queue_format("Single"));
  EXPECT_FALSE(parse_queue_format(""));
  EXPECT_STREQ(to_string(queue_format::single), "single");
  EXPECT_STREQ(to_string(queue_format::split), "split");
}

// The layout of message_file.hpp, built here by hand from the format's description.
TEST(MessageFile, LayoutIsDataEnvelopeTrailer) {
  temp_dir t;
  auto q = open_queue(t.path());
  auto id = q->store(make_env(), kMessage);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(entries(t.path() / "messages"), (strings{id->str() + ".msg"}));
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
  const std::string file = slurp(q->message_path(*id));
  envelope want = make_env();
  want.id = *id;
  want.size = kMessage.size();
  auto loaded = q->load(*id);
  ASSERT_TRUE(loaded) << loaded.error().message;
  want.created = loaded->created;
  EXPECT_EQ(*loaded, want);
  const std::string ctl = format_control(want);
  char trailer[128];
  std::snprintf(trailer, sizeof trailer, "mxguard-end: %s %016zx %08zx\n", id->str().c_str(),
                kMessage.size(), ctl.size());
  EXPECT_EQ(file, kMessage + ctl + trailer);
  EXPECT_EQ(std::string_view(trailer).size(), kTrailerSize);
  auto data = q->read_data(*id);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, kMessage);
  struct stat st {};
  ASSERT_EQ(::stat(q->message_path(*id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // One file fsync and one directory fsync per message (format A: two file fsyncs).
  auto s = q->stats();
  EXPECT_EQ(s.messages, 1u);
  EXPECT_EQ(s.file_syncs, 1u);
  EXPECT_EQ(s.dir_syncs, 1u);
  auto parsed = parse_message_file(file);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, want);
}

TEST(MessageFile, EveryTruncationIsRefused) {
  envelope e = make_env();
  e.id = queue_id::from_parts(42, 7);
  e.size = kMessage.size();
  const std::string file = kMessage + format_message_tail(e);
  ASSERT_TRUE(parse_message_file(file));
  for (std::size_t n = 0; n < file.size(); ++n)
    EXPECT_FALSE(parse_message_file(std::string_view(file).substr(0, n))) << n;
  // Appended bytes move the trailer: refused too.
  EXPECT_FALSE(parse_message_file(file + "x"));
}

TEST(MessageFile, TrailerIsStrict) {
  message_trailer t{queue_id::from_parts(1, 2), 1234, 56};
  std::string good = format_trailer(t);
  ASSERT_EQ(good.size(), kTrailerSize);
  auto p = parse_trailer(good);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, t.id);
  EXPECT_EQ(p->env_offset, 1234u);
  EXPECT_EQ(p->env_length, 56u);
  auto mutate = [&](std::size_t at, char c) {
    std::string s = good;
    s[at] = c;
    return s;
  };
  const std::size_t hex = kTrailerTag.size() + kQueueIdLength + 1;
  EXPECT_FALSE(parse_trailer(mutate(0, 'M')));                   // tag
  EXPECT_FALSE(parse_trailer(mutate(kTrailerTag.size(), 'g')));  // id
  EXPECT_FALSE(parse_trailer(mutate(hex, 'G')));                 // not hex
  EXPECT_FALSE(parse_trailer(mutate(hex + 15, 'A')));            // upper case
  EXPECT_FALSE(parse_trailer(mutate(hex - 1, '-')));             // separator
  EXPECT_FALSE(parse_trailer(mutate(kTrailerSize - 1, '\r')));   // no LF
  EXPECT_FALSE(parse_trailer(good.substr(1)));                   // size
  // The envelope must sit right before the trailer, and its size be the offset.
  envelope e = make_env();
  e.id = t.id;
  e.size = 5;
  std::string file = "hello" + format_message_tail(e);
  EXPECT_TRUE(parse_message_file(file));
  e.size = 4;  // the envelope says 4, the trailer 4, but 5 bytes precede it
  std::string shifted = "hello" + format_message_tail(e);
  EXPECT_FALSE(parse_message_file(shifted));
  e.size = 5;
  e.id = queue_id::from_parts(1, 3);  // envelope id differs from the trailer's
  std::string ctl = format_control(e);
  std::string other =
      "hello" + ctl + format_trailer({t.id, 5, static_cast<std::uint32_t>(ctl.size())});
  auto r = parse_message_file(other);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("end marker"), std::string::npos) << r.error().message;
}

TEST(SingleFormat, StreamingWriterIsInvisibleUntilCommitted) {
  temp_dir t;
  auto q = open_queue(t.path());
  auto w = q->begin();
  ASSERT_TRUE(w);
  std::string big(3 * kWriterBuffer + 17, 'x');
  ASSERT_TRUE(w->append(big));
  EXPECT_TRUE(entries(t.path() / "messages").empty());
  EXPECT_TRUE(q->ids()->empty());
  queue_id id = w->id();
  auto r = q->store(std::move(*w), make_env());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, id);
  EXPECT_EQ(*q->read_data(id), big);
  EXPECT_EQ(q->load(id)->size, big.size());
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
}

// The commit protocol of format B (queue_dir.hpp): the whole file (message, envelope,
// end marker) is renamed into messages/, then its fsync and the directory's run at
// the same time (one journal commit instead of two in a row), and the callback comes
// only after both have returned.
TEST(SingleFormat, RenameThenFileAndDirectoryFsyncTogetherThenCallback) {
  temp_dir t;
  std::mutex mu;
  std::condition_variable cv;
  bool dir_sync_started = false;
  bool overlapped = false;
  strings events;
  auto record = [&](std::string e) {
    std::lock_guard lk(mu);
    events.push_back(std::move(e));
  };
  file_ops ops = file_ops::system();
  ops.fsync = [&](int fd) {
    struct stat st {};
    ::fstat(fd, &st);
    if (S_ISDIR(st.st_mode)) {
      {
        std::lock_guard lk(mu);
        dir_sync_started = true;
        events.push_back("fsync-dir:" + std::to_string(entries(t.path() / "messages").size()));
      }
      cv.notify_all();
      int r = ::fsync(fd);
      record("fsync-dir-done");
      return r;
    }
    // The file's fsync waits for the directory's to start: a protocol that fsynced the
    // directory only after the file would never let it start (the wait then gives up).
    {
      std::unique_lock lk(mu);
      events.push_back("fsync-file:" + std::to_string(st.st_size));
      overlapped = cv.wait_for(lk, std::chrono::seconds(20), [&] { return dir_sync_started; });
    }
    int r = ::fsync(fd);
    record("fsync-file-done");
    return r;
  };
  ops.rename = [&, sys = file_ops::system().rename](const char* from, const char* to, bool nr) {
    struct stat st {};
    ::stat(from, &st);
    record(std::string("rename:") + fs::path(to).extension().string() + ":" +
           std::to_string(st.st_size));
    return sys(from, to, nr);
  };
  auto q = open_queue(t.path(), queue_format::single, ops);
  std::promise<queue_id> done;
  q->commit(make_env(), kMessage, [&](result<queue_id> r) {
    EXPECT_TRUE(r);
    record("callback");
    done.set_value(*r);
  });
  queue_id id = done.get_future().get();
  EXPECT_TRUE(overlapped) << "the directory fsync did not start while the file fsync ran";
  const std::string size = std::to_string(fs::file_size(q->message_path(id)));
  std::lock_guard lk(mu);
  ASSERT_EQ(events.size(), 6u) << ::testing::PrintToString(events);
  EXPECT_EQ(events[0], "rename:.msg:" + size);  // complete before it is visible
  // Then both fsyncs, in either order (the directory's may even end before the
  // file's begins), each started before it ended; the file's of the whole file.
  const strings middle(events.begin() + 1, events.begin() + 5);
  auto at = [&](const std::string& e) {
    return std::find(middle.begin(), middle.end(), e) - middle.begin();
  };
  EXPECT_LT(at("fsync-file:" + size), at("fsync-file-done")) << ::testing::PrintToString(events);
  EXPECT_LT(at("fsync-dir:1"), at("fsync-dir-done")) << ::testing::PrintToString(events);
  EXPECT_LT(at("fsync-file-done"), 4) << ::testing::PrintToString(events);
  EXPECT_LT(at("fsync-dir-done"), 4) << ::testing::PrintToString(events);
  EXPECT_EQ(events[5], "callback");  // after both returned
  EXPECT_EQ(q->stats().messages, 1u);
  EXPECT_EQ(q->stats().file_syncs, 1u);
  EXPECT_EQ(q->stats().dir_syncs, 1u);
  EXPECT_EQ(q->stats().rounds, 1u);
  EXPECT_EQ(q->stats().max_batch, 1u);
}

// Disk full and other failures at each step: an error (ENOSPC: no_space, the server
// answers 452), nothing visible, nothing left in tmp/.
TEST(SingleFormat, FailuresLeaveNothingVisible) {
  struct tc {
    const char* name;
    std::function<void(file_ops&)> inject;
    errc code = errc::io_error;
  };
  const tc cases[] = {
      {"write ENOSPC", [](file_ops& o) { write_fails(o, ENOSPC); }, errc::no_space},
      {"short writes then ENOSPC (inside the envelope)",
       [](file_ops& o) { short_writes_then(o, 20, ENOSPC); }, errc::no_space},
      {"file fsync EIO", [](file_ops& o) { fsync_fails(o, EIO); }},
      {"directory fsync EIO", [](file_ops& o) { dir_fsync_fails(o, EIO); }},
      {"rename ENOSPC", [](file_ops& o) { rename_fails(o, ENOSPC); }, errc::no_space},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (bool streaming : {false, true}) {
      SCOPED_TRACE(streaming ? "streaming" : "in memory");
      temp_dir t;
      file_ops ops = file_ops::system();
      c.inject(ops);
      auto q = open_queue(t.path(), queue_format::single, ops);
      result<queue_id> r;
      if (streaming) {
        auto w = q->begin();
        ASSERT_TRUE(w);
        (void)w->append(kMessage);
        r = q->store(std::move(*w), make_env());
      } else {
        r = q->store(make_env(), kMessage);
      }
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, c.code) << r.error().message;
      EXPECT_TRUE(entries(t.path() / "messages").empty());
      EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
      EXPECT_EQ(q->stats().failures, 1u);
      EXPECT_TRUE(q->list()->empty());
    }
  }
}

TEST(SingleFormat, RecoveryResumesOnlyFilesWithAValidEndMarker) {
  temp_dir t;
  auto q = open_queue(t.path());
  ASSERT_TRUE(q->lock());
  auto good1 = q->store(make_env("a@x.test"), kMessage);
  auto good2 = q->store(make_env("b@x.test"), kMessage);
  auto cut = q->store(make_env("c@x.test"), kMessage);
  auto grown = q->store(make_env("d@x.test"), kMessage);
  auto renamed = q->store(make_env("e@x.test"), kMessage);
  auto badstate = q->store(make_env("f@x.test"), kMessage);
  ASSERT_TRUE(good1 && good2 && cut && grown && renamed && badstate);
  const fs::path m = t.path() / "messages";
  // A file cut inside its end marker; one with bytes after it.
  std::string f = slurp(q->message_path(*cut));
  write_file(q->message_path(*cut), f.substr(0, f.size() - 3));
  write_file(q->message_path(*grown), slurp(q->message_path(*grown)) + "x");
  // A file under another message's name.
  queue_id other = queue_id::from_parts(1, 2);
  fs::rename(q->message_path(*renamed), q->message_path(other));
  // A state file that does not parse: the message is not resumed with a guessed state.
  write_file(q->state_path(*badstate), "mxguard-queue: 1\n");
  // good2 has a valid state file: it wins over the envelope in the .msg file.
  ASSERT_TRUE(q->hold(*good2));
  envelope g2 = *q->load(*good2);
  g2.recipients[0].status = rcpt_status::delivered;
  g2.recipients[0].reply = "250 2.0.0 Ok";
  ASSERT_TRUE(q->update(g2));
  // Leftovers: an unfinished file in tmp/, a state file whose message is gone.
  write_file(t.path() / "tmp" / (queue_id::from_parts(5, 5).str() + ".data"), "partial");
  queue_id gone = queue_id::from_parts(7, 7);
  write_file(q->state_path(gone), "anything");

  auto rep = q->recover();
  ASSERT_TRUE(rep) << rep.error().message;
  ASSERT_EQ(rep->messages.size(), 2u);
  EXPECT_EQ(rep->messages[0].id, *good1);
  EXPECT_EQ(rep->messages[1], g2);
  EXPECT_EQ(rep->single_messages, 2u);
  EXPECT_EQ(rep->split_messages, 0u);
  EXPECT_EQ(rep->tmp_removed, 1u);
  EXPECT_EQ(rep->orphan_data_removed, 1u);
  ASSERT_EQ(rep->corrupt.size(), 4u);
  std::string all;
  for (const auto& c : rep->corrupt) all += c + "\n";
  EXPECT_NE(all.find(cut->str() + ".msg: " + m.string() + "/" + cut->str() + ".msg: no end marker"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("not its name"), std::string::npos) << all;
  EXPECT_NE(all.find(".st: line"), std::string::npos) << all;
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty());
  EXPECT_EQ(entries(m),
            (strings{good1->str() + ".msg", good2->str() + ".msg", good2->str() + ".st"}));
  EXPECT_EQ(entries(t.path() / "corrupt"),
            (strings{other.str() + ".msg", cut->str() + ".msg", grown->str() + ".msg",
                     badstate->str() + ".msg", badstate->str() + ".st"}));
  auto again = q->recover();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->messages.size(), 2u);
  EXPECT_TRUE(again->corrupt.empty());
}

TEST(SingleFormat, StateFileHoldsChangesTheMessageFileNeverChanges) {
  temp_dir t;
  auto q = open_queue(t.path());
  envelope e = make_env();
  e.mode = delivery_mode::deliver;
  e.recipients.push_back({"later@y.test", rcpt_status::pending, "", std::nullopt});
  auto id = q->store(e, kMessage);
  ASSERT_TRUE(id);
  const std::string original = slurp(q->message_path(*id));
  EXPECT_FALSE(fs::exists(q->state_path(*id)));  // written only when something changes

  ASSERT_TRUE(q->hold(*id));
  EXPECT_EQ(q->load(*id)->mode, delivery_mode::hold);
  EXPECT_EQ(entries(t.path() / "messages"), (strings{id->str() + ".msg", id->str() + ".st"}));

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
  EXPECT_EQ(parse_control(slurp(q->state_path(*id))).value(), u);  // a readable envelope
  EXPECT_TRUE(unfinished(t.path() / "tmp").empty());

  auto rel = q->release(*id);
  ASSERT_TRUE(rel);
  envelope r = *q->load(*id);
  EXPECT_EQ(r.mode, delivery_mode::deliver);
  EXPECT_EQ(r.recipients[0].status, rcpt_status::delivered);
  EXPECT_EQ(r.recipients[1].status, rcpt_status::pending);
  EXPECT_EQ(slurp(q->message_path(*id)), original);  // never rewritten
  EXPECT_EQ(*q->read_data(*id), kMessage);

  ASSERT_TRUE(q->remove(*id));
  EXPECT_TRUE(entries(t.path() / "messages").empty());
  EXPECT_EQ(q->remove(*id).error().code, errc::not_found);
  EXPECT_EQ(q->load(*id).error().code, errc::not_found);
  EXPECT_EQ(q->update(u).error().code, errc::not_found);
  EXPECT_TRUE(entries(t.path() / "messages").empty());  // update did not resurrect it
  EXPECT_FALSE(q->contains(*id));
}

// Upgrade: a queue written in one format is read, listed, changed and removed by a
// queue that writes the other; new messages take the configured format.
TEST(SingleFormat, BothFormatsAreReadSideBySide) {
  for (auto [old_format, new_format] : {std::pair{queue_format::split, queue_format::single},
                                        std::pair{queue_format::single, queue_format::split}}) {
    SCOPED_TRACE(to_string(new_format));
    temp_dir t;
    std::vector<queue_id> old_ids;
    {
      auto old_q = open_queue(t.path(), old_format);
      for (const char* r : {"a@x.test", "b@x.test"}) {
        auto id = old_q->store(make_env(r), kMessage + r);
        ASSERT_TRUE(id);
        old_ids.push_back(*id);
      }
    }
    auto q = open_queue(t.path(), new_format);
    ASSERT_TRUE(q->lock());
    auto fresh = q->store(make_env("c@x.test"), kMessage);
    ASSERT_TRUE(fresh);
    const fs::path m = t.path() / "messages";
    if (new_format == queue_format::single)
      EXPECT_TRUE(fs::exists(q->message_path(*fresh)));
    else
      EXPECT_TRUE(fs::exists(q->control_path(*fresh)) && fs::exists(q->data_path(*fresh)));
    auto rep = q->recover();
    ASSERT_TRUE(rep) << rep.error().message;
    EXPECT_TRUE(rep->corrupt.empty());
    ASSERT_EQ(rep->messages.size(), 3u);
    EXPECT_EQ(rep->messages[0].id, old_ids[0]);
    EXPECT_EQ(rep->messages[1].id, old_ids[1]);
    EXPECT_EQ(rep->messages[2].id, *fresh);
    EXPECT_EQ(rep->split_messages, old_format == queue_format::split ? 2u : 1u);
    EXPECT_EQ(rep->single_messages, old_format == queue_format::single ? 2u : 1u);
    auto ids = q->ids();
    ASSERT_TRUE(ids);
    ASSERT_EQ(ids->size(), 3u);
    EXPECT_EQ(view((*ids)[0]), old_ids[0].str());
    auto l = q->list();
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 3u);
    for (const auto& e : *l) EXPECT_TRUE(e.env) << e.id.str();
    EXPECT_EQ(*q->read_data(old_ids[0]), kMessage + "a@x.test");
    EXPECT_TRUE(q->contains(old_ids[1]));
    ASSERT_TRUE(q->hold(old_ids[0]));
    ASSERT_TRUE(q->release(old_ids[0]));
    EXPECT_EQ(q->load(old_ids[0])->mode, delivery_mode::deliver);
    // The old message stays in its format (no file of the other format appears).
    if (old_format == queue_format::split)
      EXPECT_FALSE(fs::exists(q->message_path(old_ids[0])) ||
                   fs::exists(q->state_path(old_ids[0])));
    else
      EXPECT_FALSE(fs::exists(q->control_path(old_ids[0])));
    for (const auto& id : old_ids) ASSERT_TRUE(q->remove(id));
    ASSERT_TRUE(q->remove(*fresh));
    EXPECT_TRUE(entries(m).empty());
  }
}

}  // namespace
}  // namespace mxg::queue
