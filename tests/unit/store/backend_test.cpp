// backend_test.cpp: the same cases on both store backends (issue 14): SQLite on a temp
// file and PostgreSQL on a private server. ctest runs the PostgreSQL cases as the one
// test store.postgresql (tests/support/private_postgres.py starts the server and sets
// MXG_PG_DSN; each case starts from an empty schema); without MXG_PG_DSN they skip.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "store/history.hpp"
#include "store/migrations.hpp"

using namespace mxg::store;

namespace {

class Backend : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    opts_.backend = GetParam();
    if (GetParam() == "postgresql") {
      const char* dsn = std::getenv("MXG_PG_DSN");
      if (!dsn || !*dsn) GTEST_SKIP() << "MXG_PG_DSN not set: run as ctest's store.postgresql";
      opts_.dsn = dsn;
      PGconn* c = PQconnectdb(dsn);
      ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
      PQclear(PQexec(c, "SET client_min_messages = warning"));
      PGresult* r = PQexec(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
      ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(c);
      PQclear(r);
      PQfinish(c);
    } else {
      std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      for (auto& ch : name)
        if (ch == '/') ch = '_';
      dir_ = std::filesystem::temp_directory_path() /
             ("mxg-backend-" + std::to_string(::getpid()) + "-" + name);
      std::filesystem::remove_all(dir_);
      std::filesystem::create_directories(dir_);
      opts_.path = (dir_ / "history.db").string();
    }
    auto h = open(opts_);
    ASSERT_TRUE(h) << h.error().message;
    db_ = std::move(*h);
  }
  void TearDown() override {
    db_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<history> second() {
    auto h = open(opts_);
    EXPECT_TRUE(h) << h.error().message;
    return h ? std::move(*h) : nullptr;
  }

  options opts_;
  std::filesystem::path dir_;
  std::unique_ptr<history> db_;
};

std::string name_of(const ::testing::TestParamInfo<std::string>& p) {
  return p.param;
}

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

quarantine_entry entry(std::string id, std::int64_t t, std::string sender, std::string check,
                       std::string rule) {
  quarantine_entry q;
  q.queue_id = std::move(id);
  q.time = t;
  q.sender = std::move(sender);
  q.recipients = "a@our.test,b@our.test";
  q.subject = "subj";
  q.reason = "why";
  q.check = std::move(check);
  q.rule = std::move(rule);
  q.client_ip = "192.0.2.1";
  q.listener = "mx";
  q.queue_dir = "/q";
  q.size = 1234;
  return q;
}

TEST_P(Backend, RecordListAndOutboundLookups) {
  auto& db = *db_;
  ASSERT_TRUE(db.record(outbound(100, "abc@our.test", {"Bob@Ext.test", "carol@ext.test"})));
  message_record in;
  in.time = 200;
  in.recipients = {"alice@our.test"};
  in.message_id = "zzz@spam.test";
  in.spf_result = "softfail";
  in.decision = "quarantine";
  ASSERT_TRUE(db.record(in));
  auto all = db.list(0, 1000, 10);
  ASSERT_TRUE(all) << all.error().message;
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

TEST_P(Backend, EveryFieldRoundTripsThroughListAndQuery) {
  message_record m = outbound(50, "id\"1\\@x", {"a@b.test", "q\"uote@x.test"});
  m.dir = direction::inbound;
  m.listener = "mx";
  m.client_ip = "2001:db8::1";
  m.helo = "helo.test";
  m.subject = "Grüße, \"quoted\" \\ {braces}";
  m.spf_result = "pass";
  m.reason = "r";
  m.spf_identity = "mailfrom";
  m.spf_domain = "b.test";
  m.spf_mechanism = "ip6:2001:db8::/32";
  m.rule = "strict";
  m.reply = "550 5.7.23 no";
  m.size = 4321;
  m.decisions = {{"spf", "accept", "", false, "", "ok"},
                 {"dmarc", "accept", "brands", true, "reject", "p=reject, \"fail\""}};
  m.header_from = "b.test";
  m.dmarc_result = "fail";
  m.dmarc_policy = "reject";
  m.dmarc_policy_domain = "b.test";
  m.dmarc_record = "v=DMARC1; p=reject";
  m.dmarc_dkim_aligned = true;
  m.dmarc_spf_aligned = false;
  m.arc_result = "none";
  m.dkim = {{"b.test", "s1", "pass", ""}, {"c.test", "s,2", "fail", "body hash"}};
  m.uid = "u-1";
  m.host = "mx-a";
  ASSERT_TRUE(db_->record(m));
  ASSERT_TRUE(db_->record(outbound(60, "other", {})));
  auto check = [&](const message_record& r) {
    EXPECT_EQ(r.message_id, m.message_id);
    EXPECT_EQ(r.recipients, m.recipients);
    EXPECT_EQ(r.subject, m.subject);
    EXPECT_EQ(r.client_ip, m.client_ip);
    EXPECT_EQ(r.spf_mechanism, m.spf_mechanism);
    EXPECT_EQ(r.size, 4321u);
    ASSERT_EQ(r.decisions.size(), 2u);
    EXPECT_EQ(r.decisions[1].reason, "p=reject, \"fail\"");
    EXPECT_TRUE(r.decisions[1].monitor);
    EXPECT_EQ(r.decisions[1].would, "reject");
    ASSERT_EQ(r.dkim.size(), 2u);
    EXPECT_EQ(r.dkim[1].selector, "s,2");
    EXPECT_EQ(r.dkim[1].reason, "body hash");
    EXPECT_TRUE(r.dmarc_dkim_aligned);
    EXPECT_FALSE(r.dmarc_spf_aligned);
    EXPECT_EQ(r.dmarc_record, m.dmarc_record);
    EXPECT_EQ(r.uid, "u-1");
    EXPECT_EQ(r.host, "mx-a");
  };
  auto l = db_->list(0, 100, 10);
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(l->size(), 2u);
  check((*l)[1]);
  EXPECT_TRUE((*l)[0].decisions.empty());
  history_query q;
  q.dir = direction::inbound;
  auto r = db_->query(q);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  check((*r)[0]);
  q = {};
  q.until = 55;
  EXPECT_EQ(db_->query(q)->size(), 1u);
  q = {};
  q.limit = 1;
  EXPECT_EQ(db_->query(q)->front().time, 50);  // oldest first
}

// The console's history search (gateway/admin.hpp history_search) runs these filters in
// SQL: every given field must match, "" matches anything.
TEST_P(Backend, QueryFiltersMatchEveryGivenField) {
  message_record m;
  m.time = 100;
  m.queue_id = "00661A2B3C4D5A3F9C";
  m.client_ip = "192.0.2.7";
  m.sender = "Carol@Soft.test";
  m.recipients = {"u1@local.test", "U2@Local.test"};
  m.decision = "quarantine";
  m.spf_result = "softfail";
  m.dmarc_result = "fail";
  ASSERT_TRUE(db_->record(m));
  message_record other = outbound(90, "x@our.test", {"b@ext.test"});  // matches none below
  other.client_ip = "192.0.2.70";
  ASSERT_TRUE(db_->record(other));
  auto with = [](std::string history_query::*field, const char* value) {
    history_query q;
    q.*field = value;
    return q;
  };
  using Q = history_query;
  const std::string mine = m.queue_id, theirs = other.queue_id;
  struct row {
    history_query q;
    std::vector<std::string> want;  // queue ids found, newest first
    const char* what;
  } rows[] = {
      {Q{}, {mine, theirs}, "no filter"},
      {with(&Q::sender, "carol@soft"), {mine}, "sender substring, any case"},
      {with(&Q::sender, "OL@SOFT.T"), {mine}, "sender substring, upper case needle"},
      {with(&Q::sender, "dave"), {}, "other sender"},
      {with(&Q::recipient, "u2@local"), {mine}, "any recipient, any case"},
      {with(&Q::recipient, "u3@"), {}, "no such recipient"},
      {with(&Q::client_ip, "192.0.2.7"), {mine}, "client ip exact"},
      {with(&Q::client_ip, "192.0.2.70"), {theirs}, "client ip is not a prefix match"},
      {with(&Q::client_ip, "192.0.2."), {}, "client ip is not a substring match"},
      {with(&Q::queue_id, "00661A2B3C4D5A3F9C"), {mine}, "queue id"},
      {with(&Q::queue_id, "00661A2B3C4D5A3F9"), {}, "queue id exact"},
      {with(&Q::result, "quarantine"), {mine}, "decision"},
      {with(&Q::result, "softfail"), {mine}, "spf result"},
      {with(&Q::result, "FAIL"), {mine}, "dmarc result, any case"},
      {with(&Q::result, "accept"), {theirs}, "the other record's decision"},
      {with(&Q::result, "reject"), {}, "other result"},
  };
  for (auto& r : rows) {
    r.q.newest_first = true;
    auto got = db_->query(r.q);
    ASSERT_TRUE(got) << r.what << ": " << got.error().message;
    std::vector<std::string> ids;
    for (const auto& g : *got) ids.push_back(g.queue_id);
    EXPECT_EQ(ids, r.want) << r.what;
  }
  // Filters combine; the record comes back whole (recipients as recorded).
  history_query both = with(&Q::sender, "carol");
  both.result = "softfail";
  both.client_ip = "192.0.2.7";
  auto got = db_->query(both);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().recipients.size(), 2u);
  both.client_ip = "192.0.2.70";
  EXPECT_EQ(db_->query(both)->size(), 0u);
}

TEST_P(Backend, QueryNewestFirstReachesPastTheNewestRecords) {
  // 300 records; the one the search wants is the oldest: a search in SQL finds it
  // whatever the number of newer records (the console once filtered only the newest).
  ASSERT_TRUE(db_->begin_batch());
  for (int i = 0; i < 300; ++i) {
    message_record r = outbound(1000 + i, "", {"r@x.test"});
    if (i == 0) r.sender = "needle@far.test";
    ASSERT_TRUE(db_->record(r));
  }
  ASSERT_TRUE(db_->commit_batch());
  history_query q;
  q.sender = "needle@";
  q.newest_first = true;
  q.limit = 10;
  auto got = db_->query(q);
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().time, 1000);
  q = {};
  q.newest_first = true;
  q.limit = 3;
  got = db_->query(q);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].time, 1299);  // newest first
  EXPECT_EQ((*got)[2].time, 1297);
  q.newest_first = false;
  EXPECT_EQ(db_->query(q)->front().time, 1000);  // oldest first
  q.until = 1100;
  q.since = 1050;
  q.newest_first = true;
  EXPECT_EQ(db_->query(q)->front().time, 1099);  // [since, until)
}

TEST_P(Backend, EightBitTextIsRecorded) {
  // Mail carries any bytes; PostgreSQL takes only UTF-8 (invalid bytes become U+FFFD),
  // SQLite keeps them. Either way the record is there, in a batch or alone.
  message_record m = outbound(10, "id@x", {"b@ext.test"});
  m.subject = "caf\xe9 \xff\xfe ok \xc3\xa9";
  ASSERT_TRUE(db_->record(m));
  ASSERT_TRUE(db_->begin_batch());
  m.time = 11;
  ASSERT_TRUE(db_->record(m));
  ASSERT_TRUE(db_->commit_batch());
  auto l = db_->list(0, 100, 10);
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(l->size(), 2u);
  const std::string got = l->front().subject;
  if (GetParam() == "postgresql")
    EXPECT_EQ(got, "caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
  else
    EXPECT_EQ(got, m.subject);
}

TEST_P(Backend, ARecordWithAStoredUidIsNotRecordedAgain) {
  message_record m = outbound(10, "x@our.test", {"b@ext.test"});
  m.uid = "same";
  ASSERT_TRUE(db_->record(m));
  ASSERT_TRUE(db_->begin_batch());
  ASSERT_TRUE(db_->record(m));  // a replay inside a batch
  ASSERT_TRUE(db_->commit_batch());
  auto other = second();
  ASSERT_TRUE(other);
  ASSERT_TRUE(other->record(m));  // another connection (another gateway)
  message_record keyless = outbound(11, "y@our.test", {});
  ASSERT_TRUE(db_->record(keyless));
  ASSERT_TRUE(db_->record(keyless));  // no uid: no key, recorded twice
  auto all = db_->list(0, 100, 100);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);
  history_query q;
  auto rows = db_->query(q);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].recipients.size(), 1u);  // its recipient rows once too
  EXPECT_TRUE(*db_->sent_to("b@ext.test", 0));
}

TEST_P(Backend, BatchGroupsWritesAndOtherConnectionsSeeThemAfterCommit) {
  auto other = second();
  ASSERT_TRUE(other);
  ASSERT_TRUE(db_->begin_batch());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(db_->record(outbound(100 + i, "", {"r@x.test"})));
  ASSERT_TRUE(db_->quarantine_add(entry("QB", 5, "s@x.test", "spf", "")));
  ASSERT_TRUE(db_->commit_batch());
  EXPECT_EQ(other->list(0, 1000, 100)->size(), 20u);
  EXPECT_TRUE(*other->quarantine_get("QB"));
}

TEST_P(Backend, QuarantineFindFiltersAndGet) {
  auto& db = *db_;
  ASSERT_TRUE(db.quarantine_add(entry("Q1", 10, "Bob@Ext.TEST", "spf", "strict brands")));
  ASSERT_TRUE(db.quarantine_add(entry("Q2", 20, "x@other.test", "backscatter", "")));
  ASSERT_TRUE(db.quarantine_add(entry("Q3", 30, "y@ext.test", "spf", "")));
  auto q1 = db.quarantine_get("Q1");
  ASSERT_TRUE(q1 && *q1);
  EXPECT_EQ((*q1)->sender, "Bob@Ext.TEST");
  EXPECT_EQ((*q1)->recipients, "a@our.test,b@our.test");
  EXPECT_EQ((*q1)->rule, "strict brands");
  EXPECT_EQ((*q1)->size, 1234u);
  EXPECT_FALSE((*q1)->released_at);
  EXPECT_FALSE(*db.quarantine_get("NOPE"));
  quarantine_query q;
  auto all = db.quarantine_find(q);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(all->front().queue_id, "Q3");  // newest first
  q.domain = "EXT.test";
  EXPECT_EQ(db.quarantine_find(q)->size(), 2u);
  q.check = "spf";
  q.rule = "strict brands";
  EXPECT_EQ(db.quarantine_find(q)->size(), 1u);
  q = {};
  q.since = 15;
  q.until = 30;
  EXPECT_EQ(db.quarantine_find(q)->size(), 1u);
  q = {};
  q.limit = 2;
  EXPECT_EQ(db.quarantine_find(q)->size(), 2u);
  ASSERT_TRUE(db.quarantine_release("Q1", "alice", 40));
  EXPECT_EQ(db.quarantine_list(false)->size(), 2u);
  EXPECT_EQ(db.quarantine_list(true)->size(), 3u);
  // Adding a queue id again replaces its entry (as SQLite's INSERT OR REPLACE).
  auto again = entry("Q2", 25, "z@other.test", "spf", "r");
  again.host = "mx-b";
  ASSERT_TRUE(db.quarantine_add(again));
  auto q2 = db.quarantine_get("Q2");
  EXPECT_EQ((*q2)->sender, "z@other.test");
  EXPECT_EQ((*q2)->host, "mx-b");
}

// Issue 14: quarantine expiry asks for its own entries only (gateway/quarantine_expiry.cpp),
// so the batch limit counts this host's entries: another host's older ones (a host down
// for good) do not starve it.
TEST_P(Backend, QuarantineFindByHostCountsOnlyThatHostsEntriesAgainstTheLimit) {
  auto& db = *db_;
  for (int i = 0; i < 5; ++i) {
    auto e = entry("B" + std::to_string(i), 80 + i, "a@b.test", "spf", "");
    e.host = "mx-b";  // the host that is gone: the most, and first in the query's order
    ASSERT_TRUE(db.quarantine_add(e));
  }
  auto a1 = entry("A1", 50, "a@b.test", "spf", "");
  a1.host = "mx-a";
  ASSERT_TRUE(db.quarantine_add(a1));
  ASSERT_TRUE(db.quarantine_add(entry("A0", 40, "a@b.test", "spf", "")));  // no host: ours
  auto a2 = entry("A2", 60, "a@b.test", "spf", "");
  a2.host = "mx-a";
  ASSERT_TRUE(db.quarantine_add(a2));
  ASSERT_TRUE(db.quarantine_release("A2", "alice", 70));
  quarantine_query q;
  q.until = 100;
  q.limit = 2;
  q.host = "mx-a";
  auto mine = db.quarantine_find(q);
  ASSERT_TRUE(mine) << mine.error().message;
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].queue_id, "A1");
  EXPECT_EQ((*mine)[1].queue_id, "A0");
  q.limit = 0;
  q.include_released = true;
  EXPECT_EQ(db.quarantine_find(q)->size(), 3u);
  q.host = "mx-b";
  q.include_released = false;
  auto theirs = db.quarantine_find(q);
  ASSERT_TRUE(theirs);
  EXPECT_EQ(theirs->size(), 6u);  // mx-b's five and the one without a host
  q.host.clear();
  EXPECT_EQ(db.quarantine_find(q)->size(), 7u);
  q.host = "mx-c";
  q.domain = "b.test";
  q.check = "spf";
  ASSERT_EQ(db.quarantine_find(q)->size(), 1u);  // with the other filters too
  EXPECT_EQ(db.quarantine_find(q)->front().queue_id, "A0");
}

TEST_P(Backend, ReleaseAndDeleteHappenOnce) {
  auto& db = *db_;
  ASSERT_TRUE(db.quarantine_add(entry("R", 10, "a@b.test", "spf", "")));
  ASSERT_TRUE(db.quarantine_add(entry("X", 10, "a@b.test", "spf", "")));
  ASSERT_TRUE(db.quarantine_release("R", "alice", 20));
  auto again = second()->quarantine_release("R", "bob", 30);  // from another gateway
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, mxg::errc::not_found);
  EXPECT_NE(again.error().message.find("already released by alice"), std::string::npos);
  EXPECT_FALSE(db.quarantine_delete("R", "bob", 30));
  auto r = db.quarantine_get("R");
  EXPECT_EQ((*r)->released_at.value_or(0), 20);
  ASSERT_TRUE(db.quarantine_delete("X", "carol", 40));
  auto rel_deleted = db.quarantine_release("X", "bob", 50);
  ASSERT_FALSE(rel_deleted);
  EXPECT_NE(rel_deleted.error().message.find("already deleted by carol"), std::string::npos);
  auto missing = db.quarantine_delete("NOPE", "bob", 50);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, mxg::errc::not_found);
}

TEST_P(Backend, PruneRemovesOldMessagesWithTheirRowsAndKeepsQuarantine) {
  for (int t : {10, 20, 30}) {
    auto m = outbound(t, "m" + std::to_string(t), {"r@x.test"});
    m.decisions = {{"spf", "accept", "", false, "", ""}};
    m.dkim = {{"x.test", "s", "pass", ""}};
    ASSERT_TRUE(db_->record(m));
  }
  ASSERT_TRUE(db_->quarantine_add(entry("Q", 1, "a@b.test", "spf", "")));
  auto n = db_->prune(25);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(db_->list(0, 100, 10)->size(), 1u);
  EXPECT_FALSE(*db_->sent_to("r@x.test", 0) && *db_->sent_message_id("m10"));
  EXPECT_TRUE(*db_->quarantine_get("Q"));
  ASSERT_TRUE(db_->begin_batch());  // inside the writer's batch too
  EXPECT_EQ(*db_->prune(100), 1u);
  ASSERT_TRUE(db_->commit_batch());
  EXPECT_EQ(db_->list(0, 100, 10)->size(), 0u);
}

TEST_P(Backend, RemoteReleaseWorkList) {
  auto& db = *db_;
  auto a = db.remote_release_request("QR", "mx-a", "alice", 10);
  ASSERT_TRUE(a) << a.error().message;
  auto b = second()->remote_release_request("QR", "mx-a", "bob", 11);  // asked twice
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);  // one pending request per message
  ASSERT_TRUE(db.remote_release_request("QS", "mx-b", "carol", 12));
  auto mine = db.remote_release_pending("mx-a");
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->front().queue_id, "QR");
  EXPECT_EQ(mine->front().requested_by, "alice");
  EXPECT_EQ(db.remote_release_pending("")->size(), 2u);
  ASSERT_TRUE(db.remote_release_done(*a, "released", 20));
  auto twice = db.remote_release_done(*a, "released", 21);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, mxg::errc::not_found);
  EXPECT_TRUE(db.remote_release_pending("mx-a")->empty());
  auto c = db.remote_release_request("QR", "mx-a", "dave", 30);  // a new one after done
  ASSERT_TRUE(c);
  EXPECT_NE(*c, *a);
}

TEST_P(Backend, PolicyExceptionsAddListDeleteWithTheirUsers) {
  auto& db = *db_;
  policy_exception a;
  a.kind = "sender", a.sender = "bob@ext.test", a.domain = "ext.test";
  a.created_by = "console:admin", a.created_at = 100, a.note = "vendor invoices";
  a.queue_id = "QA";
  policy_exception b;
  b.kind = "domain_net", b.domain = "ext.test", b.net = "2001:db8::/64";
  b.created_by = "cli:root", b.created_at = 101, b.expires_at = 5000;
  auto ia = db.exception_add(a);
  ASSERT_TRUE(ia) << ia.error().message;
  auto ib = second()->exception_add(b);
  ASSERT_TRUE(ib) << ib.error().message;
  EXPECT_NE(*ia, *ib);
  auto all = db.exception_list(false);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  const auto& x = (*all)[0];
  EXPECT_EQ(x.id, *ia);
  EXPECT_EQ(x.kind, "sender");
  EXPECT_EQ(x.sender, "bob@ext.test");
  EXPECT_EQ(x.created_by, "console:admin");
  EXPECT_EQ(x.created_at, 100);
  EXPECT_FALSE(x.expires_at);
  EXPECT_EQ(x.note, "vendor invoices");
  EXPECT_EQ(x.queue_id, "QA");
  EXPECT_EQ((*all)[1].net, "2001:db8::/64");
  EXPECT_EQ((*all)[1].expires_at, std::optional<std::int64_t>(5000));
  ASSERT_TRUE(db.exception_delete(*ia, "console:helpdesk", 200));
  auto twice = db.exception_delete(*ia, "console:admin", 201);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, mxg::errc::not_found);
  auto live = db.exception_list(false);
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ(live->front().id, *ib);
  auto kept = db.exception_list(true);
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ(kept->front().deleted_by, "console:helpdesk");
  EXPECT_EQ(kept->front().deleted_at, std::optional<std::int64_t>(200));
}

// Issue 11: release requests: one pending per message, listed by state, decided once.
TEST_P(Backend, ReleaseRequestsOnePendingPerMessageDecidedOnce) {
  auto& db = *db_;
  release_request a;
  a.queue_id = "QA", a.host = "mx-a", a.requested_by = "console:helpdesk";
  a.requested_at = 100, a.comment = "my invoice";
  auto ia = db.request_add(a);
  ASSERT_TRUE(ia) << ia.error().message;
  EXPECT_TRUE(ia->created);
  // A second request of the same message while it is pending: the pending one.
  release_request again = a;
  again.requested_by = "recipient:bob@example.com", again.requested_at = 101;
  auto dup = second()->request_add(again);
  ASSERT_TRUE(dup) << dup.error().message;
  EXPECT_FALSE(dup->created);
  EXPECT_EQ(dup->id, ia->id);
  release_request b;
  b.queue_id = "QB", b.requested_by = "recipient:bob@example.com", b.requested_at = 102;
  auto ib = db.request_add(b);
  ASSERT_TRUE(ib);
  EXPECT_TRUE(ib->created);
  EXPECT_NE(ib->id, ia->id);

  auto pending = db.request_list("pending", 0);
  ASSERT_TRUE(pending) << pending.error().message;
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, ib->id);  // newest first
  const auto& x = (*pending)[1];
  EXPECT_EQ(x.queue_id, "QA");
  EXPECT_EQ(x.host, "mx-a");
  EXPECT_EQ(x.requested_by, "console:helpdesk");
  EXPECT_EQ(x.requested_at, 100);
  EXPECT_EQ(x.comment, "my invoice");
  EXPECT_EQ(x.state, "pending");
  EXPECT_FALSE(x.decided_at);

  // Approved once; a second approval (another admin, another connection) is refused.
  ASSERT_TRUE(db.request_decide(ia->id, "pending", "approved", "console:admin", 200, ""));
  auto twice = second()->request_decide(ia->id, "pending", "approved", "console:other", 201, "");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, mxg::errc::not_found);
  auto denied = db.request_decide(ia->id, "pending", "denied", "console:other", 201, "no");
  ASSERT_FALSE(denied);
  ASSERT_TRUE(db.request_decide(ib->id, "pending", "denied", "console:admin", 202, "phishing"));
  auto got = db.request_get(ia->id);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->state, "approved");
  EXPECT_EQ((*got)->decided_by, "console:admin");
  EXPECT_EQ((*got)->decided_at, std::optional<std::int64_t>(200));
  auto none = db.request_get(999999);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto d = db.request_list("denied", 10);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ(d->front().note, "phishing");
  EXPECT_EQ(db.request_list("pending", 0)->size(), 0u);
  EXPECT_EQ(db.request_list("", 1)->size(), 1u);  // the limit
  EXPECT_EQ(db.request_list("", 0)->size(), 2u);
  // Decided, the message may be asked for again.
  auto ic = db.request_add(a);
  ASSERT_TRUE(ic);
  EXPECT_TRUE(ic->created);
  EXPECT_NE(ic->id, ia->id);
}

TEST_P(Backend, SchemaIsCurrentAfterOpen) {
  auto s = read_schema_state(opts_);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->current, schema_version());
  EXPECT_EQ(s->target, schema_version());
  EXPECT_TRUE(second());  // a second open finds nothing to do
}

INSTANTIATE_TEST_SUITE_P(Backends, Backend, ::testing::Values("sqlite", "postgresql"), name_of);

TEST(Postgres, AnUnreachableServerIsATemporaryError) {
  // A port nobody listens on (connection refused at once).
  auto h = open_postgresql("postgresql://mxguard@127.0.0.1:1/postgres?connect_timeout=2");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, mxg::errc::temporary);
  options o;
  o.backend = "postgresql";
  o.dsn = "postgresql://mxguard@127.0.0.1:1/postgres?connect_timeout=2";
  auto s = read_schema_state(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, mxg::errc::temporary);
}

TEST(Migrations, StepsAreNumberedInOrderWithBothDialects) {
  int v = 0;
  for (const auto& m : migrations()) {
    EXPECT_EQ(m.version, ++v);
    EXPECT_NE(std::string(m.sqlite), "");
    EXPECT_NE(std::string(m.postgresql), "");
  }
  EXPECT_EQ(schema_version(), v);
}

}  // namespace
