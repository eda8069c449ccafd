// SQLite history, schema version 3 (issue 10): the DKIM/DMARC/ARC fields of a message
// round-trip through record() and both readers (list(), query()); a version-2 database
// made in the test with version 2's SQL migrates with its rows kept and the new fields
// empty; prune() removes the DKIM rows with their message.
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
           ("mxg-hist3-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

// The messages and decisions tables as schema version 2 left them (version 1's SQL plus
// version 2's ALTERs), with one message and its decision, at user_version 2.
constexpr const char* kV2 = R"sql(
CREATE TABLE messages (
  id INTEGER PRIMARY KEY, time INTEGER NOT NULL, direction TEXT NOT NULL,
  queue_id TEXT, listener TEXT, client_ip TEXT, helo TEXT,
  sender TEXT, recipients TEXT, message_id TEXT, subject TEXT,
  spf_result TEXT, decision TEXT, reason TEXT,
  spf_identity TEXT NOT NULL DEFAULT '', spf_domain TEXT NOT NULL DEFAULT '',
  spf_mechanism TEXT NOT NULL DEFAULT '', rule TEXT NOT NULL DEFAULT '',
  reply TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT 0);
CREATE INDEX messages_time ON messages(time);
CREATE INDEX messages_msgid ON messages(message_id);
CREATE TABLE recipients (
  message INTEGER NOT NULL REFERENCES messages(id), address TEXT NOT NULL, time INTEGER NOT NULL,
  direction TEXT NOT NULL);
CREATE INDEX recipients_address ON recipients(address, direction, time);
CREATE INDEX recipients_message ON recipients(message);
CREATE TABLE decisions (
  message INTEGER NOT NULL REFERENCES messages(id), seq INTEGER NOT NULL,
  "check" TEXT NOT NULL, action TEXT NOT NULL, rule TEXT NOT NULL, monitor INTEGER NOT NULL,
  would TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (message, seq)) WITHOUT ROWID;
CREATE TABLE quarantine (
  queue_id TEXT PRIMARY KEY, time INTEGER NOT NULL, sender TEXT, recipients TEXT,
  subject TEXT, reason TEXT, released_at INTEGER, released_by TEXT,
  "check" TEXT NOT NULL DEFAULT '', rule TEXT NOT NULL DEFAULT '',
  spf_result TEXT NOT NULL DEFAULT '', spf_identity TEXT NOT NULL DEFAULT '',
  spf_domain TEXT NOT NULL DEFAULT '', client_ip TEXT NOT NULL DEFAULT '',
  helo TEXT NOT NULL DEFAULT '', listener TEXT NOT NULL DEFAULT '',
  queue_dir TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT 0, deleted_at INTEGER,
  deleted_by TEXT NOT NULL DEFAULT '', sender_domain TEXT NOT NULL DEFAULT '');
INSERT INTO messages VALUES(7, 100, 'inbound', 'QV2', 'mx', '192.0.2.9', 'h.ext.test',
  'a@ext.test', 'b@our.test', 'm@ext.test', 's', 'pass', 'accept', '', 'mailfrom', 'ext.test',
  'ip4', '', '', 321);
INSERT INTO recipients VALUES(7, 'b@our.test', 100, 'inbound');
INSERT INTO decisions VALUES(7, 0, 'spf', 'accept', '', 0, '', 'spf pass');
PRAGMA user_version=2;
)sql";

message_record authenticated(std::int64_t t, std::string qid) {
  message_record m;
  m.time = t;
  m.queue_id = std::move(qid);
  m.client_ip = "198.51.100.4";
  m.sender = "news@mail.example.org";
  m.recipients = {"u@our.test"};
  m.spf_result = "pass";
  m.spf_identity = "mailfrom";
  m.spf_domain = "mail.example.org";
  m.decision = "quarantine";
  m.header_from = "example.org";
  m.dmarc_result = "fail";
  m.dmarc_policy = "quarantine";
  m.dmarc_policy_domain = "example.org";
  m.dmarc_record = "v=DMARC1; p=quarantine; adkim=s; rua=mailto:d@example.org";
  m.dmarc_dkim_aligned = false;
  m.dmarc_spf_aligned = true;
  m.arc_result = "fail";
  m.dkim = {{"example.org", "s1", "fail", "body hash mismatch"},
            {"esp.example", "k2", "pass", ""},
            {"example.org", "s1", "temperror", "key lookup timed out"}};
  m.decisions = {{"dmarc", "quarantine", "", false, "", "dmarc=fail p=quarantine"}};
  return m;
}

void expect_auth_fields(const message_record& got, const message_record& want) {
  EXPECT_EQ(got.header_from, want.header_from);
  EXPECT_EQ(got.dmarc_result, want.dmarc_result);
  EXPECT_EQ(got.dmarc_policy, want.dmarc_policy);
  EXPECT_EQ(got.dmarc_policy_domain, want.dmarc_policy_domain);
  EXPECT_EQ(got.dmarc_record, want.dmarc_record);
  EXPECT_EQ(got.dmarc_dkim_aligned, want.dmarc_dkim_aligned);
  EXPECT_EQ(got.dmarc_spf_aligned, want.dmarc_spf_aligned);
  EXPECT_EQ(got.arc_result, want.arc_result);
  ASSERT_EQ(got.dkim.size(), want.dkim.size());
  for (std::size_t i = 0; i < want.dkim.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got.dkim[i].domain, want.dkim[i].domain);
    EXPECT_EQ(got.dkim[i].selector, want.dkim[i].selector);
    EXPECT_EQ(got.dkim[i].result, want.dkim[i].result);
    EXPECT_EQ(got.dkim[i].reason, want.dkim[i].reason);
  }
}

int user_version(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return -1;
  sqlite3_stmt* st = nullptr;
  int v = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

}  // namespace

TEST(HistoryV3, AuthenticationFieldsRoundTripThroughListAndQuery) {
  auto h = open_sqlite(":memory:");
  ASSERT_TRUE(h) << h.error().message;
  auto& db = **h;
  auto a = authenticated(1000, "QA");
  message_record plain;  // not evaluated: every new field empty
  plain.time = 1001;
  plain.queue_id = "QB";
  plain.decision = "accept";
  ASSERT_TRUE(db.record(a));
  ASSERT_TRUE(db.record(plain));

  auto listed = db.list(0, 2000, 10);  // newest first
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].queue_id, "QA");
  expect_auth_fields((*listed)[1], a);
  expect_auth_fields((*listed)[0], plain);
  EXPECT_EQ((*listed)[1].decisions.size(), 1u);  // decisions still read beside DKIM rows

  history_query q;
  q.since = 0;
  q.dir = direction::inbound;
  auto queried = db.query(q);  // oldest first
  ASSERT_TRUE(queried);
  ASSERT_EQ(queried->size(), 2u);
  EXPECT_EQ((*queried)[0].queue_id, "QA");
  expect_auth_fields((*queried)[0], a);
  EXPECT_TRUE((*queried)[1].dkim.empty());
  EXPECT_EQ((*queried)[1].dmarc_result, "");
}

TEST(HistoryV3, MigratesVersionTwoAndKeepsRows) {
  temp_dir d;
  auto path = (d.path / "history.db").string();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, kV2, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }
  ASSERT_EQ(user_version(path), 2);
  for (int round = 0; round < 2; ++round) {  // the second open finds version 3
    SCOPED_TRACE(round);
    auto h = open_sqlite(path);
    ASSERT_TRUE(h) << h.error().message;
    auto& db = **h;
    auto msgs = db.list(0, 1000, 10);
    ASSERT_TRUE(msgs);
    ASSERT_GE(msgs->size(), 1u);
    const auto& old = msgs->back();  // the version-2 row (time 100)
    EXPECT_EQ(old.id, 7);
    EXPECT_EQ(old.queue_id, "QV2");
    EXPECT_EQ(old.spf_domain, "ext.test");
    EXPECT_EQ(old.size, 321u);
    ASSERT_EQ(old.decisions.size(), 1u);
    EXPECT_EQ(old.decisions[0].reason, "spf pass");
    EXPECT_EQ(old.header_from, "");
    EXPECT_EQ(old.dmarc_result, "");
    EXPECT_FALSE(old.dmarc_spf_aligned);
    EXPECT_TRUE(old.dkim.empty());
    if (round == 0) {
      ASSERT_TRUE(db.record(authenticated(500, "QNEW")));  // the new table takes rows
    } else {
      ASSERT_EQ(msgs->size(), 2u);
      EXPECT_EQ(msgs->front().queue_id, "QNEW");
      expect_auth_fields(msgs->front(), authenticated(500, "QNEW"));
    }
  }
  EXPECT_EQ(user_version(path), 6);  // on through version 6 (issue 11)
}

TEST(HistoryV3, PruneRemovesDkimRowsWithTheirMessage) {
  temp_dir d;
  auto path = (d.path / "history.db").string();
  {
    auto h = open_sqlite(path);
    ASSERT_TRUE(h);
    ASSERT_TRUE((*h)->record(authenticated(10, "OLD")));
    ASSERT_TRUE((*h)->record(authenticated(20, "NEW")));
    auto n = (*h)->prune(15);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u);
    auto left = (*h)->list(0, 100, 10);
    ASSERT_TRUE(left);
    ASSERT_EQ(left->size(), 1u);
    EXPECT_EQ(left->front().dkim.size(), 3u);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM dkim_results", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 3);  // only the kept message's three signatures
  sqlite3_finalize(st);
  sqlite3_close(db);
}
