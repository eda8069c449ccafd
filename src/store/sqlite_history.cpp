// sqlite_history.cpp: the SQLite backend of store::history (WAL mode, prepared
// statements, schema versioned with PRAGMA user_version).
#include <sqlite3.h>

#include <mutex>
#include <unordered_map>

#include "base/ascii.hpp"
#include "store/history.hpp"

namespace mxg::store {

const char* to_string(direction d) {
  return d == direction::inbound ? "inbound" : "outbound";
}

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  direction TEXT NOT NULL,
  queue_id TEXT, listener TEXT, client_ip TEXT, helo TEXT,
  sender TEXT, recipients TEXT, message_id TEXT, subject TEXT,
  spf_result TEXT, decision TEXT, reason TEXT);
CREATE INDEX IF NOT EXISTS messages_time ON messages(time);
CREATE INDEX IF NOT EXISTS messages_msgid ON messages(message_id);
CREATE TABLE IF NOT EXISTS recipients (
  message INTEGER NOT NULL REFERENCES messages(id), address TEXT NOT NULL, time INTEGER NOT NULL,
  direction TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recipients_address ON recipients(address, direction, time);
CREATE TABLE IF NOT EXISTS quarantine (
  queue_id TEXT PRIMARY KEY, time INTEGER NOT NULL, sender TEXT, recipients TEXT,
  subject TEXT, reason TEXT, released_at INTEGER, released_by TEXT);
)sql";

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    auto comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

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

class sqlite_history final : public history {
 public:
  explicit sqlite_history(sqlite3* db) : db_(db) {}
  ~sqlite_history() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close(db_);
  }

  result<void> init() {
    char* err = nullptr;
    if (sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr,
                     &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown";
      sqlite3_free(err);
      return fail(errc::io_error, "history: cannot set WAL mode: " + m);
    }
    sqlite3_busy_timeout(db_, 5000);
    if (sqlite3_exec(db_, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown";
      sqlite3_free(err);
      return fail(errc::io_error, "history: cannot create schema: " + m);
    }
    std::string pragma = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
    sqlite3_exec(db_, pragma.c_str(), nullptr, nullptr, nullptr);
    return {};
  }

  result<void> record(const message_record& m) override {
    std::lock_guard lock(mu_);
    // A savepoint: its own transaction alone, nested inside a batch (begin_batch).
    run("SAVEPOINT record");
    stmt s = prepared(
        "INSERT INTO messages(time,direction,queue_id,listener,client_ip,helo,sender,"
        "recipients,message_id,subject,spf_result,decision,reason) "
        "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!s.ok()) return rollback("prepare insert");
    s.bind(1, m.time).bind(2, std::string(to_string(m.dir))).bind(3, m.queue_id);
    s.bind(4, m.listener).bind(5, m.client_ip).bind(6, m.helo).bind(7, m.sender);
    s.bind(8, join(m.recipients)).bind(9, m.message_id).bind(10, m.subject);
    s.bind(11, m.spf_result).bind(12, m.decision).bind(13, m.reason);
    if (s.step() != SQLITE_DONE) return rollback("insert message");
    auto id = sqlite3_last_insert_rowid(db_);
    for (const auto& r : m.recipients) {
      stmt rs = prepared("INSERT INTO recipients(message,address,time,direction) VALUES(?,?,?,?)");
      rs.bind(1, id)
          .bind(2, ascii::lower(r))
          .bind(3, m.time)
          .bind(4, std::string(to_string(m.dir)));
      if (rs.step() != SQLITE_DONE) return rollback("insert recipient");
    }
    run("RELEASE record");
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
    stmt s = prepared(
        "SELECT time,direction,queue_id,listener,client_ip,helo,sender,recipients,message_id,"
        "subject,spf_result,decision,reason FROM messages WHERE time>=? AND time<? "
        "ORDER BY time DESC, id DESC LIMIT ?");
    if (!s.ok()) return fail(errc::io_error, "history: " + s.error());
    s.bind(1, since).bind(2, until).bind(3, static_cast<std::int64_t>(limit));
    std::vector<message_record> out;
    while (s.step() == SQLITE_ROW) {
      message_record m;
      m.time = s.integer(0);
      m.dir = s.text(1) == "outbound" ? direction::outbound : direction::inbound;
      m.queue_id = s.text(2);
      m.listener = s.text(3);
      m.client_ip = s.text(4);
      m.helo = s.text(5);
      m.sender = s.text(6);
      m.recipients = split(s.text(7));
      m.message_id = s.text(8);
      m.subject = s.text(9);
      m.spf_result = s.text(10);
      m.decision = s.text(11);
      m.reason = s.text(12);
      out.push_back(std::move(m));
    }
    return out;
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
        "INSERT OR REPLACE INTO quarantine(queue_id,time,sender,recipients,subject,reason) "
        "VALUES(?,?,?,?,?,?)");
    s.bind(1, q.queue_id).bind(2, q.time).bind(3, q.sender).bind(4, q.recipients);
    s.bind(5, q.subject).bind(6, q.reason);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    return {};
  }

  result<std::vector<quarantine_entry>> quarantine_list(bool include_released) const override {
    std::lock_guard lock(mu_);
    stmt s =
        prepared(include_released
                     ? "SELECT queue_id,time,sender,recipients,subject,reason,released_at,"
                       "released_by FROM quarantine ORDER BY time DESC"
                     : "SELECT queue_id,time,sender,recipients,subject,reason,released_at,"
                       "released_by FROM quarantine WHERE released_at IS NULL ORDER BY time DESC");
    std::vector<quarantine_entry> out;
    while (s.step() == SQLITE_ROW) {
      quarantine_entry q;
      q.queue_id = s.text(0);
      q.time = s.integer(1);
      q.sender = s.text(2);
      q.recipients = s.text(3);
      q.subject = s.text(4);
      q.reason = s.text(5);
      if (!s.is_null(6)) q.released_at = s.integer(6);
      q.released_by = s.text(7);
      out.push_back(std::move(q));
    }
    return out;
  }

  result<void> quarantine_release(const std::string& queue_id, const std::string& by,
                                  std::int64_t when) override {
    std::lock_guard lock(mu_);
    stmt s = prepared(
        "UPDATE quarantine SET released_at=?, released_by=? WHERE queue_id=? AND "
        "released_at IS NULL");
    s.bind(1, when).bind(2, by).bind(3, queue_id);
    if (s.step() != SQLITE_DONE) return fail(errc::io_error, "history: " + s.error());
    if (sqlite3_changes(db_) == 0)
      return fail(errc::not_found, "quarantine: no unreleased message " + queue_id);
    return {};
  }

 private:
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
  // One step of a cached statement without results (SAVEPOINT, RELEASE).
  void run(const char* sql) { (void)prepared(sql).step(); }
  std::unexpected<error> rollback(const char* what) {
    std::string m = sqlite3_errmsg(db_);
    exec("ROLLBACK TO record");
    exec("RELEASE record");
    return fail(errc::io_error, std::string("history: ") + what + ": " + m);
  }

  sqlite3* db_;
  mutable std::mutex mu_;
  mutable std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace

result<std::unique_ptr<history>> open_sqlite(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
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
