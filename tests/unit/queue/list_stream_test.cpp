// list_stream_test.cpp: `queue list` produced in pieces (issue 16 item 5) prints exactly
// what the whole-queue renderings print (format_list over queue_dir::list(), the JSON
// document laid out by nlohmann's dump(2)), over several queues, with unreadable
// messages, with tiny pieces, and leaves out a message deleted while it lists.
// Also queue_dir::ids(): committed ids only, in id order.
#include <gtest/gtest.h>

#include <fstream>

#include "queue/queue_dir.hpp"
#include "queue/report.hpp"
#include "temp_dir.hpp"

namespace mxg::queue {
namespace {

namespace fs = std::filesystem;
using test::temp_dir;

envelope make_env(int i) {
  envelope e;
  e.created = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  e.sender = i % 3 == 0 ? "" : "s" + std::to_string(i) + "@drj.test";
  e.recipients.push_back(
      {"r" + std::to_string(i) + "@drj.test", rcpt_status::pending, "", std::nullopt});
  if (i % 2) e.recipients.push_back({"x@drj.test", rcpt_status::deferred, "451 busy", {}});
  e.client_ip = "127.0.0.1";
  e.helo = "localhost";
  e.listener = "test";
  e.mode = i % 4 == 0 ? delivery_mode::deliver : delivery_mode::hold;
  return e;
}

std::unique_ptr<queue_dir> open_queue(const fs::path& dir) {
  options o;
  o.dir = dir;
  o.fsync = false;
  o.sync_threads = 2;
  o.spare_files = 0;
  auto q = queue_dir::open(std::move(o));
  EXPECT_TRUE(q) << (q ? "" : q.error().message);
  return q ? std::move(*q) : nullptr;
}

std::vector<queue_id> fill(queue_dir& q, int n, int first) {
  std::vector<queue_id> ids;
  for (int i = 0; i < n; ++i) {
    auto id = q.store(make_env(first + i), "subject: x\r\n\r\nbody\r\n");
    EXPECT_TRUE(id);
    if (id) ids.push_back(*id);
  }
  return ids;
}

// A control file without its end marker (docs/queue.md): listed as unreadable.
void put_unreadable(const queue_dir& q, const std::string& id) {
  std::ofstream(q.path() / "messages" / (id + ".ctl")) << "mxguard-queue: 1\nid: " << id << "\n";
}

std::string drain(list_stream& ls, std::size_t piece, std::size_t* pieces = nullptr) {
  std::string out;
  std::size_t n = 0;
  while (!ls.done()) {
    auto p = ls.next(piece);
    EXPECT_TRUE(p) << (p ? "" : p.error().message);
    if (!p) break;
    out += *p;
    ++n;
  }
  if (pieces) *pieces = n;
  return out;
}

// The whole document as nlohmann lays it out, from the whole-queue listing.
std::string whole_json(const std::vector<const queue_dir*>& qs) {
  nlohmann::ordered_json doc;
  doc["messages"] = nlohmann::json::array();
  doc["unreadable"] = nlohmann::json::array();
  std::size_t count = 0;
  for (const auto* q : qs) {
    auto l = q->list();
    EXPECT_TRUE(l);
    for (const auto& m : *l) {
      if (m.env) {
        auto j = to_json(*m.env);
        j["queue"] = q->path().string();
        doc["messages"].push_back(nlohmann::ordered_json(j));
        ++count;
      } else {
        nlohmann::json u{
            {"id", m.id.str()}, {"error", m.env.error().message}, {"queue", q->path().string()}};
        doc["unreadable"].push_back(nlohmann::ordered_json(u));
      }
    }
  }
  doc["count"] = count;
  return doc.dump(2) + "\n";
}

TEST(ListStream, TextOverTwoQueuesIsFormatListOfEach) {
  temp_dir t;
  auto a = open_queue(t.path() / "a");
  auto b = open_queue(t.path() / "b");
  fill(*a, 7, 0);
  fill(*b, 5, 100);
  put_unreadable(*b, "00661A2B3C4D5A3FA0");
  std::string want = "queue " + a->path().string() + ":\n" + format_list(*a->list()) + "queue " +
                     b->path().string() + ":\n" + format_list(*b->list());
  for (std::size_t piece : {std::size_t{1}, std::size_t{300}, kListPiece}) {
    list_stream ls({a.get(), b.get()}, false);
    std::size_t pieces = 0;
    EXPECT_EQ(drain(ls, piece, &pieces), want) << "piece " << piece;
    EXPECT_EQ(ls.messages(), 12u);
    EXPECT_EQ(ls.unreadable(), 1u);
    if (piece == 1) {
      EXPECT_GT(pieces, 12u);  // one message at most per piece
    }
  }
  // One queue: no "queue PATH:" line, as the offline CLI prints one queue.
  list_stream one({a.get()}, false);
  EXPECT_EQ(drain(one, 1), format_list(*a->list()));
  EXPECT_TRUE(one.next()->empty());  // done stays done
}

TEST(ListStream, JsonIsTheWholeDocumentLaidOutAlike) {
  temp_dir t;
  auto a = open_queue(t.path() / "a");
  auto b = open_queue(t.path() / "b");
  fill(*a, 3, 0);
  fill(*b, 4, 10);
  put_unreadable(*a, "00661A2B3C4D5A3FA0");
  for (std::size_t piece : {std::size_t{1}, kListPiece}) {
    list_stream ls({a.get(), b.get()}, true);
    std::string got = drain(ls, piece);
    EXPECT_EQ(got, whole_json({a.get(), b.get()})) << "piece " << piece;
    auto j = nlohmann::json::parse(got);
    EXPECT_EQ(j["count"], 7);
    EXPECT_EQ(j["messages"].size(), 7u);
    EXPECT_EQ(j["unreadable"].size(), 1u);
  }
}

TEST(ListStream, EmptyQueues) {
  temp_dir t;
  auto a = open_queue(t.path() / "a");
  list_stream js({a.get()}, true);
  EXPECT_EQ(drain(js, kListPiece), whole_json({a.get()}));
  EXPECT_EQ(nlohmann::json::parse(whole_json({a.get()}))["count"], 0);
  list_stream tx({a.get()}, false);
  EXPECT_EQ(drain(tx, kListPiece), format_list({}));
}

TEST(ListStream, MessageDeletedWhileListingIsLeftOut) {
  temp_dir t;
  auto a = open_queue(t.path() / "a");
  auto ids = fill(*a, 3, 0);
  list_stream ls({a.get()}, false);
  auto first = ls.next(1);  // reads the ids: the header only
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, format_list_header());
  ASSERT_TRUE(a->remove(ids[1]));
  std::string rest = drain(ls, 1);
  EXPECT_NE(rest.find(ids[0].str()), std::string::npos);
  EXPECT_EQ(rest.find(ids[1].str()), std::string::npos);
  EXPECT_NE(rest.find(ids[2].str()), std::string::npos);
  EXPECT_NE(rest.find("-- 2 messages\n"), std::string::npos) << rest;
  EXPECT_EQ(ls.unreadable(), 0u);
}

TEST(QueueDirIds, CommittedIdsInOrderWithoutOtherNames) {
  temp_dir t;
  auto a = open_queue(t.path() / "a");
  auto ids = fill(*a, 20, 0);
  // Not ids of committed messages: a data file alone, names of another form.
  std::ofstream(a->path() / "messages" / "00661A2B3C4D5A3FA1.data") << "x";
  std::ofstream(a->path() / "messages" / "00661a2b3c4d5a3fa2.ctl") << "x";
  std::ofstream(a->path() / "messages" / "00661A2B3C4D5A3FA3.ctl.tmp") << "x";
  std::ofstream(a->path() / "messages" / "notes.ctl") << "x";
  auto got = a->ids();
  ASSERT_TRUE(got);
  std::vector<std::string> g, w;
  for (const auto& k : *got) g.emplace_back(view(k));
  for (const auto& id : ids) w.push_back(id.str());
  EXPECT_EQ(g, w);  // ids are made in time order, so `w` is sorted already
  EXPECT_TRUE(std::is_sorted(g.begin(), g.end()));
}

}  // namespace
}  // namespace mxg::queue
