// sqlite_history.cpp: the SQLite backend of store::history (WAL mode, prepared
// statements, schema versioned with PRAGMA user_version; version 2 = issue 9 sections
// 3 and 4: decisions per message, one quarantine index for every reason; version 3 =
// issue 10: DMARC/ARC results per message and one row per DKIM signature; version 4 =
// issue 14: record uids, hosts, remote releases). The steps are migrations.hpp's,
// shared with the PostgreSQL backend.
// Security: every value (addresses, subjects, rule names from mail and CLI) is bound
// as a parameter; only fixed fragments are composed into SQL (quarantine_find).
#include <sqlite3.h>

#include <mutex>
#include <unordered_map>

#include "base/ascii.hpp"
#include "base/time.hpp"
#include "store/history.hpp"
#include "store/list_column.hpp"
#include "store/migrations.hpp"

namespace mxg::store {

const char* to_string(direction d) {
  return d == direction::inbound ? "inbound" : "outbound";
}

namespace {

// Columns of a quarantine row, in the order read_quarantine() reads them.
constexpr const char* kQuarantineColumns =
    "queue_id,time,sender,recipients,subject,reason,released_at,released_by,\"check\",rule,"
    "spf_result,spf_identity,spf_domain,client_ip,helo,listener,queue_dir,size,deleted_at,"
    "deleted_by,host";

// Columns of a message row, in the order read_message() reads them.
#define MXG_MESSAGE_COLUMNS                                                                    \
  "id,time,direction,queue_id,listener,client_ip,helo,sender,recipients,message_id,subject,"   \
  "spf_result,decision,reason,spf_identity,spf_domain,spf_mechanism,rule,reply,size,"          \
  "header_from,dmarc_result,dmarc_policy,dmarc_policy_domain,dmarc_record,dmarc_dkim_aligned," \
  "dmarc_spf_aligned,arc_result,uid,host"

// query(): fixed SQL, two cached statements (one per order): an unset bound, direction
// or filter matches everything; the time range still uses messages_time. lower() and
// instr() are ASCII-only, as are the needles (ascii::lower).
#define MXG_QUERY_SQL(order)                                                               \
  "SELECT " MXG_MESSAGE_COLUMNS                                                            \
  " FROM messages WHERE time>=?1 AND (?2=0 OR time<?2) AND (?3='' OR direction=?3) AND "   \
  "(?5='' OR queue_id=?5) AND (?6='' OR client_ip=?6) AND "                                \
  "(?7='' OR instr(lower(sender),?7)>0) AND (?8='' OR EXISTS (SELECT 1 FROM recipients r " \
  "WHERE r.message=messages.id AND instr(r.address,?8)>0)) AND "                           \
  "(?9='' OR decision=?9 OR spf_result=?9 OR dmarc_result=?9) ORDER BY " order " LIMIT ?4"

// A prepared statement, borrowed from the connection's cache (sqlite_history::
// prepared): reset and unbound when it goes out of scope, ready for the next use.
// Compiling the SQL again for every record cost about half of the history thread's
// time under load (sqlite3Parser at the top of its profile).
class stmt {
 public:
  stmt(sqlite3* db, sqlite3_stmt* cached) : db_(db), s_(cached) {}
  ~stmt() {
    if (!s_) return;
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  stmt(const stmt&) = delete;
  stmt& operator=(const stmt&) = delete;
  bool ok() const { return s_ != nullptr; }
  stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : "";
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

// A release_requests row in request_list()'s column order.
release_request read_request(const stmt& s) {
  release_request r;
  r.id = s.integer(0), r.queue_id = s.text(1), r.host = s.text(2), r.requested_by = s.text(3);
  r.requested_at = s.integer(4), r.comment = s.text(5), r.state = s.text(6);
  r.decided_by = s.text(7);
  if (!s.is_null(8)) r.decided_at = s.integer(8);
  r.note = s.text(9);
  return r;
}

std::string error_text(sqlite3* db) {
  return sqlite3_errmsg(db);
}

class sqlite_history final : public history {
 public:
  explicit sqlite_history(sqlite3* db) : db_(db) {}
  ~sqlite_history() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    for (auto& [sql, st] : composed_) sqlite3_finalize(st);
    sqlite3_close(db_);
  }

  result<void> init() {
    if (auto r = exec_checked("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                              "cannot set WAL mode");
        !r)
      return r;
    sqlite3_busy_timeout(db_, 5000);
    // BEGIN IMMEDIATE: two processes opening an old database at once (the gateway and
    // the CLI) migrate it once; the second sees the new user_version.
    if (auto r = exec_checked("BEGIN IMMEDIATE", "cannot lock for the schema"); !r) return r;
    auto r = migrate();
    if (!r) {
      exec("ROLLBACK");
      return r;
    }
    return exec_checked("COMMIT", "cannot commit the schema");
  }

  result<void> record(const message_record& m) override {
    std::lock_guard lock(mu_);
    // A savepoint: its own transaction alone, nested inside a batch (begin_batch).
    run("SAVEPOINT record");
    stmt s = prepared(
        "INSERT INTO messages(time,direction,queue_id,listener,client_ip,helo,sender,"
        "recipients,message_id,subject,spf_result,decision,reason,spf_identity,spf_domain,"
        "spf_mechanism,rule,reply,size,header_from,dmarc_result,dmarc_policy,dmarc_policy_domain,"
        "dmarc_record,dmarc_dkim_aligned,dmarc_spf_aligned,arc_result,uid,host) "
        "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(uid) DO NOTHING");
    if (!s.ok()) return rollback("prepare insert");
    s.bind(1, m.time).bind(2, std::string(to_string(m.dir))).bind(3, m.queue_id);
    s.bind(4, m.listener).bind(5, m.client_ip).bind(6, m.helo).bind(7, m.sender);
    s.bind(8, join_list(m.recipients)).bind(9, m.message_id).bind(10, m.subject);
    s.bind(11, m.spf_result).bind(12, m.decision).bind(13, m.reason);
    s.bind(14, m.spf_identity).bind(15, m.spf_domain).bind(16, m.spf_mechanism);
    s.bind(17, m.rule).bind(18, m.reply).bind(19, static_cast<std::int64_t>(m.size));
    s.bind(20, m.header_from).bind(21, m.dmarc_result).bind(22, m.dmarc_policy);
    s.bind(23, m.dmarc_policy_domain).bind(24, m.dmarc_record);
    s.bind(25, std::int64_t{m.dmarc_dkim_aligned}).bind(26, std::int64_t{m.dmarc_spf_aligned});
    s.bind(27, m.arc_result);
    if (!m.uid.empty()) s.bind(28, m.uid);  // else NULL: no key
    s.bind(29, m.host);
    if (s.step() != SQLITE_DONE) return rollback("insert message");
    if (sqlite3_changes(db_) == 0) {  // this uid is recorded already (a replay)
      run("RELEASE record");
      return {};
    }
    auto id = sqlite3_last_insert_rowid(db_);
    for (const auto& r : m.recipients) {
      stmt rs = prepared("INSERT INTO recipients(message,address,time,direction) VALUES(?,?,?,?)");
      rs.bind(1, id)
          .bind(2, ascii::lower(r))
          .bind(3, m.time)
          .bind(4, std::string(to_string(m.dir)));
      if (rs.step() != SQLITE_DONE) return rollback("insert recipient");
    }
    std::int64_t seq = 0;
    for (const auto& d : m.decisions) {
      stmt ds = prepared(
          "INSERT INTO decisions(message,seq,\"check\",action,rule,monitor,would,reason) "
          "VALUES(?,?,?,?,?,?,?,?)");
      ds.bind(1, id).bind(2, seq++).bind(3, d.check).bind(4, d.action).bind(5, d.rule);
      ds.bind(6, std::int64_t{d.monitor}).bind(7, d.would).bind(8, d.reason);
      if (ds.step() != SQLITE_DONE) return rollback("insert decision");
    }
    seq = 0;
    for (const auto& k : m.dkim) {
      stmt ks = prepared(
          "INSERT INTO dkim_results(message,seq,domain,selector,result,reason) "
          "VALUES(?,?,?,?,?,?)");
      ks.bind(1, id).bind(2, seq++).bind(3, k.domain).bind(4, k.selector);
      ks.bind(5, k.result).bind(6, k.reason);
      if (ks.step() != SQLITE_DONE) return rollback("insert dkim result");
    }
    run("RELEASE record");
    return {};
  }

  result<std::int64_t> remote_release_request(const std::string& queue_id, const std::string& host,
                                              const std::string& by, std::int64_t when) override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "INSERT INTO remote_releases(queue_id,host,requested_by,requested_at) VALUES(?,?,?,?) "
        "ON CONFLICT(queue_id) WHERE done_at IS NULL DO NOTHING");
    s.bind(1, queue_id).bind(2, host).bind(3, by).bind(4, when);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    stmt p = prepared("SELECT id FROM remote_releases WHERE queue_id=? AND done_at IS NULL");
    p.bind(1, queue_id);
    if (p.step() != SQLITE_ROW) return fail(errc::io_error, "history: " + p.error());
    return p.integer(0);
  }

  result<std::vector<remote_release>> remote_release_pending(
      const std::string& host) const override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "SELECT id,queue_id,host,requested_by,requested_at FROM remote_releases WHERE "
        "done_at IS NULL AND (?1='' OR host=?1) ORDER BY id");
    s.bind(1, host);
    std::vector<remote_release> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
      out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.integer(4), {}, {}});
    if (rc != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    return out;
  }

  result<void> remote_release_done(std::int64_t id, const std::string& what,
                                   std::int64_t when) override {
    std::lock_guard lock(mu_);
    stmt s =
        prepared("UPDATE remote_releases SET done_at=?, result=? WHERE id=? AND done_at IS NULL");
    s.bind(1, when).bind(2, what).bind(3, id);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    if (sqlite3_changes(db_) == 0)
      return fail(errc::not_found, "remote release " + std::to_string(id) + " is done already");
    return {};
  }

  result<std::int64_t> exception_add(const policy_exception& e) override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "INSERT INTO policy_exceptions(kind,sender,domain,net,created_by,created_at,expires_at,"
        "note,queue_id) VALUES(?,?,?,?,?,?,?,?,?)");
    s.bind(1, e.kind).bind(2, e.sender).bind(3, e.domain).bind(4, e.net).bind(5, e.created_by);
    s.bind(6, e.created_at).bind(8, e.note).bind(9, e.queue_id);
    if (e.expires_at) s.bind(7, *e.expires_at);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    return sqlite3_last_insert_rowid(db_);
  }

  result<std::vector<policy_exception>> exception_list(bool all) const override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "SELECT id,kind,sender,domain,net,created_by,created_at,expires_at,note,queue_id,"
        "deleted_at,deleted_by FROM policy_exceptions WHERE ?1 OR deleted_at IS NULL ORDER BY id");
    s.bind(1, std::int64_t{all});
    std::vector<policy_exception> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      policy_exception e;
      e.id = s.integer(0), e.kind = s.text(1), e.sender = s.text(2), e.domain = s.text(3);
      e.net = s.text(4), e.created_by = s.text(5), e.created_at = s.integer(6);
      if (!s.is_null(7)) e.expires_at = s.integer(7);
      e.note = s.text(8), e.queue_id = s.text(9);
      if (!s.is_null(10)) e.deleted_at = s.integer(10);
      e.deleted_by = s.text(11);
      out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    return out;
  }

  result<void> exception_delete(std::int64_t id, const std::string& by,
                                std::int64_t when) override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "UPDATE policy_exceptions SET deleted_at=?, deleted_by=? WHERE id=? AND deleted_at IS "
        "NULL");
    s.bind(1, when).bind(2, by).bind(3, id);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    if (sqlite3_changes(db_) == 0)
      return fail(errc::not_found,
                  "exception " + std::to_string(id) + ": none, or deleted already");
    return {};
  }

  // Issue 11: release requests (see history.hpp).
  result<request_added> request_add(const release_request& r) override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "INSERT INTO release_requests(queue_id,host,requested_by,requested_at,comment) "
        "VALUES(?,?,?,?,?) ON CONFLICT(queue_id) WHERE state='pending' DO NOTHING");
    s.bind(1, r.queue_id).bind(2, r.host).bind(3, r.requested_by).bind(4, r.requested_at);
    s.bind(5, r.comment);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    const bool created = sqlite3_changes(db_) > 0;
    stmt p = prepared("SELECT id FROM release_requests WHERE queue_id=? AND state='pending'");
    p.bind(1, r.queue_id);
    if (p.step() != SQLITE_ROW) return fail(errc::io_error, "history: " + p.error());
    return request_added{p.integer(0), created};
  }

  result<std::vector<release_request>> request_list(const std::string& state,
                                                    std::size_t limit) const override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "SELECT id,queue_id,host,requested_by,requested_at,comment,state,decided_by,decided_at,"
        "note FROM release_requests WHERE (?1='' OR state=?1) ORDER BY id DESC LIMIT ?2");
    s.bind(1, state).bind(2, limit ? static_cast<std::int64_t>(limit) : std::int64_t{-1});
    std::vector<release_request> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_request(s));
    if (rc != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    return out;
  }

  result<std::optional<release_request>> request_get(std::int64_t id) const override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "SELECT id,queue_id,host,requested_by,requested_at,comment,state,decided_by,decided_at,"
        "note FROM release_requests WHERE id=?");
    s.bind(1, id);
    int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<release_request>();
    if (rc != SQLITE_ROW) return fail(errc::io_error, "history: " + s.error());
    return std::optional<release_request>(read_request(s));
  }

  result<void> request_decide(std::int64_t id, const std::string& from, const std::string& to,
                              const std::string& by, std::int64_t when,
                              const std::string& note) override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "UPDATE release_requests SET state=?, decided_by=?, decided_at=?, note=? WHERE id=? AND "
        "state=?");
    s.bind(1, to).bind(2, by).bind(3, when).bind(4, note).bind(5, id).bind(6, from);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    if (sqlite3_changes(db_) == 0)
      return fail(errc::not_found, "request " + std::to_string(id) + " is not " + from);
    return {};
  }

  result<void> begin_batch() override {
    std::lock_guard lock(mu_);
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
      return fail(errc::io_error, std::string("history: begin: ") + sqlite3_errmsg(db_));
    return {};
  }

  result<void> commit_batch() override {
    std::lock_guard lock(mu_);
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::string m = sqlite3_errmsg(db_);
      exec("ROLLBACK");
      return fail(errc::io_error, "history: commit: " + m);
    }
    return {};
  }

  result<std::vector<message_record>> list(std::int64_t since, std::int64_t until,
                                           std::size_t limit) const override {
    std::lock_guard lock(mu_);
    stmt s = prepared("SELECT " MXG_MESSAGE_COLUMNS
                      " FROM messages WHERE time>=? AND time<? "
                      "ORDER BY time DESC, id DESC LIMIT ?");
    if (!s.ok()) return fail(errc::io_error, "history: " + s.error());
    s.bind(1, since).bind(2, until).bind(3, static_cast<std::int64_t>(limit));
    return read_messages(s);
  }

  result<std::vector<message_record>> query(const history_query& q) const override {
    std::lock_guard lock(mu_);
    stmt s =
        prepared(q.newest_first ? MXG_QUERY_SQL("time DESC, id DESC") : MXG_QUERY_SQL("time, id"));
    if (!s.ok()) return fail(errc::io_error, "history: " + s.error());
    s.bind(1, q.since).bind(2, q.until);
    s.bind(3, q.dir ? std::string(to_string(*q.dir)) : std::string());
    s.bind(4, q.limit ? static_cast<std::int64_t>(q.limit) : std::int64_t{-1});
    s.bind(5, q.queue_id).bind(6, q.client_ip).bind(7, ascii::lower(q.sender));
    s.bind(8, ascii::lower(q.recipient)).bind(9, ascii::lower(q.result));
    return read_messages(s);
  }

  result<std::size_t> prune(std::int64_t before) override {
    std::lock_guard lock(mu_);
    run("SAVEPOINT prune");
    stmt k = prepared(
        "DELETE FROM dkim_results WHERE message IN (SELECT id FROM messages WHERE time<?)");
    k.bind(1, before);
    if (k.step() != SQLITE_DONE) return rollback_to("prune", "prune dkim results");
    stmt d =
        prepared("DELETE FROM decisions WHERE message IN (SELECT id FROM messages WHERE time<?)");
    d.bind(1, before);
    if (d.step() != SQLITE_DONE) return rollback_to("prune", "prune decisions");
    stmt r =
        prepared("DELETE FROM recipients WHERE message IN (SELECT id FROM messages WHERE time<?)");
    r.bind(1, before);
    if (r.step() != SQLITE_DONE) return rollback_to("prune", "prune recipients");
    stmt m = prepared("DELETE FROM messages WHERE time<?");
    m.bind(1, before);
    if (m.step() != SQLITE_DONE) return rollback_to("prune", "prune messages");
    auto n = static_cast<std::size_t>(sqlite3_changes(db_));
    run("RELEASE prune");
    return n;
  }

  result<bool> sent_message_id(const std::string& message_id) const override {
    std::lock_guard lock(mu_);
    stmt s = prepared("SELECT 1 FROM messages WHERE direction='outbound' AND message_id=? LIMIT 1");
    s.bind(1, message_id);
    return s.step() == SQLITE_ROW;
  }

  result<bool> sent_to(const std::string& recipient, std::int64_t since) const override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "SELECT 1 FROM recipients WHERE address=? AND direction='outbound' AND time>=? LIMIT 1");
    s.bind(1, ascii::lower(recipient)).bind(2, since);
    return s.step() == SQLITE_ROW;
  }

  result<void> quarantine_add(const quarantine_entry& q) override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "INSERT OR REPLACE INTO quarantine(queue_id,time,sender,recipients,subject,reason,"
        "released_at,released_by,\"check\",rule,spf_result,spf_identity,spf_domain,client_ip,"
        "helo,listener,queue_dir,size,deleted_at,deleted_by,sender_domain,host) "
        "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!s.ok()) return fail(errc::io_error, "history: " + s.error());
    s.bind(1, q.queue_id).bind(2, q.time).bind(3, q.sender).bind(4, q.recipients);
    s.bind(5, q.subject).bind(6, q.reason);
    if (q.released_at) s.bind(7, *q.released_at);  // else stays NULL
    s.bind(8, q.released_by).bind(9, q.check).bind(10, q.rule).bind(11, q.spf_result);
    s.bind(12, q.spf_identity).bind(13, q.spf_domain).bind(14, q.client_ip).bind(15, q.helo);
    s.bind(16, q.listener).bind(17, q.queue_dir).bind(18, static_cast<std::int64_t>(q.size));
    if (q.deleted_at) s.bind(19, *q.deleted_at);
    s.bind(20, q.deleted_by).bind(21, sender_domain(q.sender)).bind(22, q.host);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    return {};
  }

  result<std::vector<quarantine_entry>> quarantine_list(bool include_released) const override {
    quarantine_query q;
    q.include_released = q.include_deleted = include_released;
    return quarantine_find(q);
  }

  result<std::vector<quarantine_entry>> quarantine_find(const quarantine_query& q) const override {
    // The WHERE clause names only the filters that are set, so SQLite can pick the
    // index of the one that is (quarantine_domain, quarantine_rule, quarantine_time).
    // The SQL text depends only on which filters are set: at most 2^8 statements.
    std::string sql =
        std::string("SELECT ") + kQuarantineColumns + " FROM quarantine WHERE time>=?";
    if (q.until) sql += " AND time<?";
    if (!q.domain.empty()) sql += " AND sender_domain=?";
    if (!q.check.empty()) sql += " AND \"check\"=?";
    if (!q.rule.empty()) sql += " AND rule=?";
    if (!q.host.empty()) sql += " AND host IN (?,'')";
    if (!q.include_released) sql += " AND released_at IS NULL";
    if (!q.include_deleted) sql += " AND deleted_at IS NULL";
    sql += " ORDER BY time DESC, queue_id LIMIT ?";
    std::lock_guard lock(mu_);
    stmt s = composed(sql);
    if (!s.ok()) return fail(errc::io_error, "history: " + error_text(db_));
    int i = 1;
    s.bind(i++, q.since);
    if (q.until) s.bind(i++, q.until);
    if (!q.domain.empty()) s.bind(i++, ascii::lower(q.domain));
    if (!q.check.empty()) s.bind(i++, q.check);
    if (!q.rule.empty()) s.bind(i++, q.rule);
    if (!q.host.empty()) s.bind(i++, q.host);
    s.bind(i, q.limit ? static_cast<std::int64_t>(q.limit) : std::int64_t{-1});
    std::vector<quarantine_entry> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_quarantine(s));
    if (rc != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    return out;
  }

  result<std::optional<quarantine_entry>> quarantine_get(
      const std::string& queue_id) const override {
    std::lock_guard lock(mu_);
    return get_locked(queue_id);
  }

  result<void> quarantine_release(const std::string& queue_id, const std::string& by,
                                  std::int64_t when) override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "UPDATE quarantine SET released_at=?, released_by=? WHERE queue_id=? AND "
        "released_at IS NULL AND deleted_at IS NULL");
    s.bind(1, when).bind(2, by).bind(3, queue_id);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    if (sqlite3_changes(db_) == 0) return why_not_open(queue_id);
    return {};
  }

  result<void> quarantine_delete(const std::string& queue_id, const std::string& by,
                                 std::int64_t when) override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "UPDATE quarantine SET deleted_at=?, deleted_by=? WHERE queue_id=? AND "
        "released_at IS NULL AND deleted_at IS NULL");
    s.bind(1, when).bind(2, by).bind(3, queue_id);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    if (sqlite3_changes(db_) == 0) return why_not_open(queue_id);
    return {};
  }

 private:
  result<void> migrate() {
    std::int64_t version = 0;
    {
      stmt v = prepared("PRAGMA user_version");
      if (v.step() == SQLITE_ROW) version = v.integer(0);
    }
    if (version > schema_version())
      return fail(errc::unsupported, "history: database schema version " + std::to_string(version) +
                                         " is newer than this mxguard (" +
                                         std::to_string(schema_version()) + ")");
    const std::int64_t before = version;
    for (const auto& m : migrations()) {
      if (m.version <= version) continue;
      if (auto r = exec_checked(
              m.sqlite, ("cannot migrate schema to version " + std::to_string(m.version)).c_str());
          !r)
        return r;
      version = m.version;
    }
    if (version == before) return {};
    std::string pragma = "PRAGMA user_version=" + std::to_string(version);
    return exec_checked(pragma.c_str(), "cannot set schema version");
  }

  result<void> exec_checked(const char* sql, const char* what) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown";
      sqlite3_free(err);
      return fail(errc::io_error, std::string("history: ") + what + ": " + m);
    }
    return {};
  }

  // Reads the rows of a MXG_MESSAGE_COLUMNS select, with their decisions. Callers hold mu_.
  result<std::vector<message_record>> read_messages(stmt& s) const {
    std::vector<message_record> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      message_record m;
      m.id = s.integer(0);
      m.time = s.integer(1);
      m.dir = s.text(2) == "outbound" ? direction::outbound : direction::inbound;
      m.queue_id = s.text(3);
      m.listener = s.text(4);
      m.client_ip = s.text(5);
      m.helo = s.text(6);
      m.sender = s.text(7);
      m.recipients = split_list(s.text(8));
      m.message_id = s.text(9);
      m.subject = s.text(10);
      m.spf_result = s.text(11);
      m.decision = s.text(12);
      m.reason = s.text(13);
      m.spf_identity = s.text(14);
      m.spf_domain = s.text(15);
      m.spf_mechanism = s.text(16);
      m.rule = s.text(17);
      m.reply = s.text(18);
      m.size = static_cast<std::uint64_t>(s.integer(19));
      m.header_from = s.text(20);
      m.dmarc_result = s.text(21);
      m.dmarc_policy = s.text(22);
      m.dmarc_policy_domain = s.text(23);
      m.dmarc_record = s.text(24);
      m.dmarc_dkim_aligned = s.integer(25) != 0;
      m.dmarc_spf_aligned = s.integer(26) != 0;
      m.arc_result = s.text(27);
      m.uid = s.text(28);
      m.host = s.text(29);
      out.push_back(std::move(m));
    }
    if (rc != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    for (auto& m : out) {
      stmt d = prepared(
          "SELECT \"check\",action,rule,monitor,would,reason FROM decisions WHERE message=? "
          "ORDER BY seq");
      d.bind(1, m.id);
      while ((rc = d.step()) == SQLITE_ROW)
        m.decisions.push_back(
            {d.text(0), d.text(1), d.text(2), d.integer(3) != 0, d.text(4), d.text(5)});
      if (rc != SQLITE_DONE) return fail(errc::io_error, "history: " + d.error());
      stmt k = prepared(
          "SELECT domain,selector,result,reason FROM dkim_results WHERE message=? ORDER BY seq");
      k.bind(1, m.id);
      while ((rc = k.step()) == SQLITE_ROW)
        m.dkim.push_back({k.text(0), k.text(1), k.text(2), k.text(3)});
      if (rc != SQLITE_DONE) return fail(errc::io_error, "history: " + k.error());
    }
    return out;
  }

  static quarantine_entry read_quarantine(const stmt& s) {
    quarantine_entry q;
    q.queue_id = s.text(0);
    q.time = s.integer(1);
    q.sender = s.text(2);
    q.recipients = s.text(3);
    q.subject = s.text(4);
    q.reason = s.text(5);
    if (!s.is_null(6)) q.released_at = s.integer(6);
    q.released_by = s.text(7);
    q.check = s.text(8);
    q.rule = s.text(9);
    q.spf_result = s.text(10);
    q.spf_identity = s.text(11);
    q.spf_domain = s.text(12);
    q.client_ip = s.text(13);
    q.helo = s.text(14);
    q.listener = s.text(15);
    q.queue_dir = s.text(16);
    q.size = static_cast<std::uint64_t>(s.integer(17));
    if (!s.is_null(18)) q.deleted_at = s.integer(18);
    q.deleted_by = s.text(19);
    q.host = s.text(20);
    return q;
  }

  // Callers hold mu_.
  result<std::optional<quarantine_entry>> get_locked(const std::string& queue_id) const {
    stmt s = prepared(
        "SELECT queue_id,time,sender,recipients,subject,reason,released_at,released_by,"
        "\"check\",rule,spf_result,spf_identity,spf_domain,client_ip,helo,listener,queue_dir,"
        "size,deleted_at,deleted_by,host FROM quarantine WHERE queue_id=?");
    if (!s.ok()) return fail(errc::io_error, "history: " + s.error());
    s.bind(1, queue_id);
    int rc = s.step();
    if (rc == SQLITE_ROW) return std::optional<quarantine_entry>(read_quarantine(s));
    if (rc != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    return std::optional<quarantine_entry>();
  }

  // Why an update of an open entry changed nothing. Callers hold mu_.
  std::unexpected<error> why_not_open(const std::string& queue_id) const {
    auto e = get_locked(queue_id);
    if (!e) return std::unexpected(e.error());
    if (!*e) return fail(errc::not_found, "quarantine: no message " + queue_id);
    if ((*e)->released_at)
      return fail(errc::not_found, "quarantine: " + queue_id + " already released by " +
                                       (*e)->released_by + " at " +
                                       base::iso8601_utc(*(*e)->released_at));
    return fail(errc::not_found, "quarantine: " + queue_id + " already deleted by " +
                                     (*e)->deleted_by + " at " +
                                     base::iso8601_utc((*e)->deleted_at.value_or(0)));
  }

  void exec(const char* sql) { sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }
  // The cached statement of this SQL text (a string literal: its address is the key),
  // compiled on first use. Callers hold mu_.
  stmt prepared(const char* sql) const {
    sqlite3_stmt*& st = cache_[sql];
    if (!st &&
        sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      st = nullptr;
    }
    return stmt(db_, st);
  }
  // The same for SQL composed at run time from a bounded set of fragments
  // (quarantine_find): keyed by the text. Callers hold mu_.
  stmt composed(const std::string& sql) const {
    sqlite3_stmt*& st = composed_[sql];
    if (!st && sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) !=
                   SQLITE_OK) {
      sqlite3_finalize(st);
      st = nullptr;
    }
    return stmt(db_, st);
  }
  // One step of a cached statement without results (SAVEPOINT, RELEASE).
  void run(const char* sql) { (void)prepared(sql).step(); }
  std::unexpected<error> rollback(const char* what) { return rollback_to("record", what); }
  std::unexpected<error> rollback_to(const std::string& savepoint, const char* what) {
    std::string m = sqlite3_errmsg(db_);
    exec(("ROLLBACK TO " + savepoint).c_str());
    exec(("RELEASE " + savepoint).c_str());
    return fail(errc::io_error, std::string("history: ") + what + ": " + m);
  }

  sqlite3* db_;
  mutable std::mutex mu_;
  mutable std::unordered_map<const char*, sqlite3_stmt*> cache_;
  mutable std::unordered_map<std::string, sqlite3_stmt*> composed_;
};

}  // namespace

std::string sender_domain(const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return "";
  std::string d = address.substr(at + 1);
  if (!d.empty() && d.back() == '>') d.pop_back();
  return ascii::lower(d);
}

result<std::unique_ptr<history>> open_sqlite(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: every use of the connection holds sqlite_history::mu_ already; SQLite's own
  // per-call connection mutex (FULLMUTEX) was a second lock around each of the ~100 API
  // calls of a record.
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(errc::io_error, "history: cannot open " + path + ": " + m);
  }
  auto h = std::make_unique<sqlite_history>(db);
  if (auto r = h->init(); !r) return std::unexpected(r.error());
  return std::unique_ptr<history>(std::move(h));
}

}  // namespace mxg::store
