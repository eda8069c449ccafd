// SQLite history, schema version 2 (issue 9 sections 3 and 4): migration of a
// version-1 database made with the first release's SQL, decisions round trip, query()
// and prune(), and the quarantine index: find filters, get, release and delete once.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "store/history.hpp"

using namespace mxg::store;

namespace {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("mxg-hist2-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

// The first release's schema, verbatim, with rows, at user_version 1.
constexpr const char* kV1 = R"sql(
CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  direction TEXT NOT NULL,
  queue_id TEXT, listener TEXT, client_ip TEXT, helo TEXT,
  sender TEXT, recipients TEXT, message_id TEXT, subject TEXT,
  spf_result TEXT, decision TEXT, reason TEXT);
CREATE INDEX messages_time ON messages(time);
CREATE INDEX messages_msgid ON messages(message_id);
CREATE TABLE recipients (
  message INTEGER NOT NULL REFERENCES messages(id), address TEXT NOT NULL, time INTEGER NOT NULL,
  direction TEXT NOT NULL);
CREATE INDEX recipients_address ON recipients(address, direction, time);
CREATE TABLE quarantine (
  queue_id TEXT PRIMARY KEY, time INTEGER NOT NULL, sender TEXT, recipients TEXT,
  subject TEXT, reason TEXT, released_at INTEGER, released_by TEXT);
INSERT INTO messages VALUES(1, 100, 'outbound', 'QA', 'mx', '127.0.0.1', 'h', 'a@our.test',
  'b@ext.test', 'old@our.test', 's', '', 'accept', '');
INSERT INTO recipients VALUES(1, 'b@ext.test', 100, 'outbound');
INSERT INTO quarantine VALUES('QOLD', 50, 'Spam@Old.TEST', 'a@our.test', 'subj', 'why', NULL, NULL);
INSERT INTO quarantine VALUES('QREL', 60, 'x@old.test', 'a@our.test', 'subj', 'why', 70, 'bob');
PRAGMA user_version=1;
)sql";

quarantine_entry entry(std::string id, std::int64_t t, std::string sender, std::string check,
                       std::string rule) {
  quarantine_entry q;
  q.queue_id = std::move(id);
  q.time = t;
  q.sender = std::move(sender);
  q.recipients = "a@our.test,b@our.test";
  q.subject = "hi";
  q.reason = check + " says no";
  q.check = std::move(check);
  q.rule = std::move(rule);
  q.spf_result = "softfail";
  q.spf_identity = "mailfrom";
  q.spf_domain = "ext.test";
  q.client_ip = "192.0.2.7";
  q.helo = "mail.ext.test";
  q.listener = "mx";
  q.queue_dir = "/var/q";
  q.size = 1234;
  return q;
}

std::vector<std::string> ids(const std::vector<quarantine_entry>& v) {
  std::vector<std::string> out;
  for (const auto& q : v) out.push_back(q.queue_id);
  return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST(HistoryV2, MigratesVersionOneAndKeepsRows) {
  temp_dir d;
  auto path = (d.path / "history.db").string();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, kV1, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }
  for (int round = 0; round < 2; ++round) {  // the second open finds the current version
    auto h = open_sqlite(path);
    ASSERT_TRUE(h) << h.error().message;
    auto& db = **h;
    EXPECT_TRUE(*db.sent_message_id("old@our.test"));
    EXPECT_TRUE(*db.sent_to("B@ext.test", 0));
    auto msgs = db.list(0, 1000, 10);
    ASSERT_TRUE(msgs);
    ASSERT_EQ(msgs->size(), 1u);
    EXPECT_EQ(msgs->front().queue_id, "QA");
    EXPECT_EQ(msgs->front().id, 1);
    EXPECT_EQ(msgs->front().spf_identity, "");
    EXPECT_EQ(msgs->front().size, 0u);
    auto old = db.quarantine_get("QOLD");
    ASSERT_TRUE(old && *old);
    EXPECT_EQ((*old)->sender, "Spam@Old.TEST");
    EXPECT_FALSE((*old)->released_at);
    EXPECT_FALSE((*old)->deleted_at);
    // sender_domain was filled from the old rows' senders, lower case
    quarantine_query q;
    q.domain = "old.test";
    q.include_released = true;
    EXPECT_EQ(ids(*db.quarantine_find(q)), (V{"QREL", "QOLD"}));
    auto rel = db.quarantine_get("QREL");
    ASSERT_TRUE(rel && *rel);
    EXPECT_EQ((*rel)->released_at.value_or(0), 70);
    EXPECT_EQ((*rel)->released_by, "bob");
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 6);  // migrated on through version 6 (issue 11)
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(HistoryV2, RefusesANewerSchema) {
  temp_dir d;
  auto path = (d.path / "history.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto h = open_sqlite(path);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("newer"), std::string::npos);
}

TEST(HistoryV2, DecisionsAndNewFieldsRoundTrip) {
  auto h = open_sqlite(":memory:");
  ASSERT_TRUE(h) << h.error().message;
  auto& db = **h;
  message_record m;
  m.time = 500;
  m.queue_id = "Q500";
  m.sender = "s@ext.test";
  m.recipients = {"a@our.test"};
  m.spf_result = "softfail";
  m.decision = "quarantine";
  m.spf_identity = "mailfrom";
  m.spf_domain = "ext.test";
  m.spf_mechanism = "~all";
  m.rule = "strict brands";
  m.reply = "";
  m.size = 4321;
  m.decisions = {{"spf", "quarantine", "strict brands", false, "", "softfail"},
                 {"spf", "accept", "monitor me", true, "reject", "would reject"},
                 {"backscatter", "accept", "", false, "", "not a bounce"}};
  ASSERT_TRUE(db.record(m));
  message_record refused;
  refused.time = 400;
  refused.sender = "f@forged.test";
  refused.decision = "reject";
  refused.reply = "550 5.7.23 SPF fail";
  ASSERT_TRUE(db.record(refused));
  message_record out;
  out.time = 450;
  out.dir = direction::outbound;
  out.decision = "accept";
  ASSERT_TRUE(db.record(out));

  auto all = db.query({});
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].time, 400);  // oldest first
  EXPECT_EQ((*all)[0].reply, "550 5.7.23 SPF fail");
  EXPECT_TRUE((*all)[0].decisions.empty());
  const auto& got = (*all)[2];
  EXPECT_GT(got.id, 0);
  EXPECT_EQ(got.spf_identity, "mailfrom");
  EXPECT_EQ(got.spf_domain, "ext.test");
  EXPECT_EQ(got.spf_mechanism, "~all");
  EXPECT_EQ(got.rule, "strict brands");
  EXPECT_EQ(got.size, 4321u);
  ASSERT_EQ(got.decisions.size(), 3u);
  EXPECT_EQ(got.decisions[1].check, "spf");
  EXPECT_EQ(got.decisions[1].action, "accept");
  EXPECT_EQ(got.decisions[1].rule, "monitor me");
  EXPECT_TRUE(got.decisions[1].monitor);
  EXPECT_EQ(got.decisions[1].would, "reject");
  EXPECT_EQ(got.decisions[1].reason, "would reject");
  EXPECT_FALSE(got.decisions[0].monitor);
  EXPECT_EQ(got.decisions[2].check, "backscatter");

  // list() (newest first) carries the same fields
  auto listed = db.list(0, 1000, 10);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ(listed->front().decisions.size(), 3u);
  EXPECT_EQ(listed->front().id, got.id);

  history_query q;
  q.since = 400;
  q.until = 500;  // exclusive
  EXPECT_EQ(db.query(q)->size(), 2u);
  q.dir = direction::outbound;
  ASSERT_EQ(db.query(q)->size(), 1u);
  EXPECT_EQ(db.query(q)->front().time, 450);
  history_query lim;
  lim.limit = 1;
  ASSERT_EQ(db.query(lim)->size(), 1u);
  EXPECT_EQ(db.query(lim)->front().time, 400);
}

TEST(HistoryV2, PruneRemovesOldMessagesWithTheirRowsAndKeepsQuarantine) {
  auto h = open_sqlite(":memory:");
  ASSERT_TRUE(h);
  auto& db = **h;
  for (std::int64_t t : {100, 200, 300}) {
    message_record m;
    m.time = t;
    m.dir = direction::outbound;
    m.message_id = "m" + std::to_string(t);
    m.recipients = {"r" + std::to_string(t) + "@ext.test"};
    m.decisions = {{"spf", "accept", "", false, "", ""}};
    ASSERT_TRUE(db.record(m));
  }
  ASSERT_TRUE(db.quarantine_add(entry("Q1", 50, "a@b.test", "spf", "")));
  auto n = db.prune(250);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_FALSE(*db.sent_message_id("m100"));
  EXPECT_FALSE(*db.sent_to("r200@ext.test", 0));
  EXPECT_TRUE(*db.sent_to("r300@ext.test", 0));
  auto left = db.query({});
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().decisions.size(), 1u);
  EXPECT_EQ(*db.prune(250), 0u);
  EXPECT_TRUE(*db.quarantine_get("Q1"));  // the quarantine index has its own expiry
  // A message recorded after the prune gets the decisions of its own, none left over.
  message_record fresh;
  fresh.time = 400;
  ASSERT_TRUE(db.record(fresh));
  EXPECT_TRUE(db.query({})->back().decisions.empty());
}

TEST(HistoryV2, QuarantineRoundTripAndGet) {
  auto h = open_sqlite(":memory:");
  ASSERT_TRUE(h);
  auto& db = **h;
  auto e = entry("Q1", 10, "Bob@Ext.TEST", "spf", "strict brands");
  ASSERT_TRUE(db.quarantine_add(e));
  auto got = db.quarantine_get("Q1");
  ASSERT_TRUE(got && *got);
  const auto& q = **got;
  EXPECT_EQ(q.sender, "Bob@Ext.TEST");
  EXPECT_EQ(q.check, "spf");
  EXPECT_EQ(q.rule, "strict brands");
  EXPECT_EQ(q.spf_result, "softfail");
  EXPECT_EQ(q.spf_identity, "mailfrom");
  EXPECT_EQ(q.spf_domain, "ext.test");
  EXPECT_EQ(q.client_ip, "192.0.2.7");
  EXPECT_EQ(q.helo, "mail.ext.test");
  EXPECT_EQ(q.listener, "mx");
  EXPECT_EQ(q.queue_dir, "/var/q");
  EXPECT_EQ(q.size, 1234u);
  EXPECT_EQ(q.recipients, "a@our.test,b@our.test");
  EXPECT_FALSE(q.released_at);
  EXPECT_FALSE(q.deleted_at);
  auto none = db.quarantine_get("NOPE");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_EQ(sender_domain("Bob@Ext.TEST"), "ext.test");
  EXPECT_EQ(sender_domain("\"a@b\"@Quoted.Test"), "quoted.test");
  EXPECT_EQ(sender_domain(""), "");
  EXPECT_EQ(sender_domain("postmaster"), "");
}

TEST(HistoryV2, QuarantineFindFilters) {
  auto h = open_sqlite(":memory:");
  ASSERT_TRUE(h);
  auto& db = **h;
  ASSERT_TRUE(db.quarantine_add(entry("A", 100, "x@Ups.com", "spf", "strict brands")));
  ASSERT_TRUE(db.quarantine_add(entry("B", 200, "y@ups.com", "spf", "")));
  ASSERT_TRUE(db.quarantine_add(entry("C", 300, "", "backscatter", "")));
  ASSERT_TRUE(db.quarantine_add(entry("D", 400, "z@fedex.com", "spf", "strict brands")));
  ASSERT_TRUE(db.quarantine_add(entry("E", 500, "w@ups.com", "spf", "strict brands")));
  ASSERT_TRUE(db.quarantine_release("D", "alice", 450));
  ASSERT_TRUE(db.quarantine_delete("E", "expiry", 550));

  auto find = [&](quarantine_query q) {
    auto r = db.quarantine_find(q);
    EXPECT_TRUE(r) << r.error().message;
    return r ? ids(*r) : V{};
  };
  quarantine_query q;
  EXPECT_EQ(find(q), (V{"C", "B", "A"}));  // open only, newest first
  q.include_released = true;
  EXPECT_EQ(find(q), (V{"D", "C", "B", "A"}));
  q.include_deleted = true;
  EXPECT_EQ(find(q), (V{"E", "D", "C", "B", "A"}));
  q.include_released = false;
  EXPECT_EQ(find(q), (V{"E", "C", "B", "A"}));

  quarantine_query dom;
  dom.domain = "UPS.com";  // compared in lower case
  EXPECT_EQ(find(dom), (V{"B", "A"}));
  dom.include_deleted = dom.include_released = true;
  EXPECT_EQ(find(dom), (V{"E", "B", "A"}));

  quarantine_query chk;
  chk.check = "backscatter";
  EXPECT_EQ(find(chk), (V{"C"}));
  chk.check = "spf";
  EXPECT_EQ(find(chk), (V{"B", "A"}));

  quarantine_query rule;
  rule.rule = "strict brands";
  rule.include_released = true;
  EXPECT_EQ(find(rule), (V{"D", "A"}));

  quarantine_query since;
  since.since = 200;
  since.until = 300;
  EXPECT_EQ(find(since), (V{"B"}));
  since.until = 0;
  EXPECT_EQ(find(since), (V{"C", "B"}));

  quarantine_query combo;
  combo.domain = "ups.com";
  combo.rule = "strict brands";
  combo.since = 50;
  EXPECT_EQ(find(combo), (V{"A"}));

  quarantine_query lim;
  lim.limit = 2;
  EXPECT_EQ(find(lim), (V{"C", "B"}));

  // quarantine_list keeps its meaning: open ones, or everything
  EXPECT_EQ(ids(*db.quarantine_list(false)), (V{"C", "B", "A"}));
  EXPECT_EQ(db.quarantine_list(true)->size(), 5u);
}

TEST(HistoryV2, ReleaseAndDeleteHappenOnce) {
  auto h = open_sqlite(":memory:");
  ASSERT_TRUE(h);
  auto& db = **h;
  ASSERT_TRUE(db.quarantine_add(entry("R", 10, "a@b.test", "spf", "")));
  ASSERT_TRUE(db.quarantine_add(entry("X", 10, "a@b.test", "spf", "")));
  ASSERT_TRUE(db.quarantine_release("R", "alice", 20));
  auto again = db.quarantine_release("R", "bob", 30);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, mxg::errc::not_found);
  EXPECT_NE(again.error().message.find("already released by alice"), std::string::npos);
  auto del_released = db.quarantine_delete("R", "bob", 30);
  ASSERT_FALSE(del_released);
  auto r = db.quarantine_get("R");
  EXPECT_EQ((*r)->released_by, "alice");
  EXPECT_EQ((*r)->released_at.value_or(0), 20);
  EXPECT_FALSE((*r)->deleted_at);

  ASSERT_TRUE(db.quarantine_delete("X", "carol", 40));
  auto x = db.quarantine_get("X");
  EXPECT_EQ((*x)->deleted_by, "carol");
  EXPECT_EQ((*x)->deleted_at.value_or(0), 40);
  auto rel_deleted = db.quarantine_release("X", "bob", 50);
  ASSERT_FALSE(rel_deleted);
  EXPECT_NE(rel_deleted.error().message.find("already deleted by carol"), std::string::npos);
  EXPECT_FALSE(db.quarantine_delete("X", "bob", 50));
  auto missing = db.quarantine_delete("NOPE", "bob", 50);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, mxg::errc::not_found);
}
