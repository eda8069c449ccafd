// postgres_history.cpp: the PostgreSQL backend of store::history (issue 14), on libpq.
// Several gateways share one database: the history and the quarantine index of all of
// them, the remote release work list. Synchronous libpq calls: the gateway calls this
// only on the history writer's thread (gateway/history_writer.hpp), the CLI directly.
// Statements are prepared once per connection (named s0, s1, ...; prepared again after
// a reconnect). A message with its recipients, decisions and DKIM results is one
// statement (data-modifying CTEs over arrays): one round trip per record, atomic alone,
// and idempotent by its uid (ON CONFLICT (uid) DO NOTHING).
// Errors: a lost or unreachable server is errc::temporary (the writer spools and
// replays); anything else errc::io_error. Migrations (migrations.hpp) run at open under
// an advisory lock, in one transaction (PostgreSQL's DDL is transactional).
// Security: every value is a bound parameter (text format); only fixed fragments are
// composed into SQL (quarantine_find). The DSN may hold a password: never logged.
#include <libpq-fe.h>

#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "base/ascii.hpp"
#include "base/time.hpp"
#include "store/history.hpp"
#include "store/list_column.hpp"
#include "store/migrations.hpp"
#include "store/postgres.hpp"

namespace mxg::store {

namespace {

// Any fixed number: the migration lock of pg_advisory_xact_lock ("mxg" + 14).
constexpr std::int64_t kMigrationLock = 0x6d786714;

using param = std::optional<std::string>;  // nullopt = NULL

// A PGresult owned.
class pg_result {
 public:
  explicit pg_result(PGresult* r = nullptr) : r_(r) {}
  ~pg_result() { PQclear(r_); }
  pg_result(pg_result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  pg_result& operator=(pg_result&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  int rows() const { return PQntuples(r_); }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col),
                       static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }
  std::int64_t integer(int row, int col) const {
    return is_null(row, col) ? 0 : std::stoll(PQgetvalue(r_, row, col));
  }
  bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::int64_t affected() const {
    const char* n = PQcmdTuples(r_);
    return n && *n ? std::stoll(n) : 0;
  }

 private:
  PGresult* r_;
};

std::string int_text(std::int64_t v) {
  return std::to_string(v);
}

// A PostgreSQL array literal of text values: {"a","b\"c"} (every element quoted, so
// NULL and empty strings are never confused).
std::string text_array(const std::vector<std::string>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string int_array(const std::vector<std::int64_t>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "}";
}

// PostgreSQL refuses text that is not UTF-8 (the whole record would be lost); mail
// carries any bytes (8-bit subjects, addresses). Invalid sequences become U+FFFD, as the
// JSON output does; SQLite keeps the bytes as they are.
std::string valid_utf8(const std::string& s) {
  std::string out;
  std::size_t i = 0;
  auto cont = [&](std::size_t k) {
    return k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80;
  };
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    bool ok = n > 0 && (n != 2 || c >= 0xC2) && (n != 4 || c <= 0xF4);
    for (std::size_t k = 1; ok && k < n; ++k) ok = cont(i + k);
    if (ok && n == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    }
    if (ok && n == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// The C strings of the parameters, made valid UTF-8 where needed (kept in `fixed`).
std::vector<const char*> param_values(const std::vector<param>& params,
                                      std::vector<std::string>& fixed) {
  std::vector<const char*> values;
  values.reserve(params.size());
  fixed.reserve(params.size());
  for (const auto& p : params) {
    if (!p) {
      values.push_back(nullptr);
      continue;
    }
    bool ascii = true;
    for (char ch : *p) ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
    if (ascii) {
      values.push_back(p->c_str());
    } else {
      fixed.push_back(valid_utf8(*p));
      values.push_back(fixed.back().c_str());
    }
  }
  return values;
}

void quiet_notices(void*, const char*) {}  // "relation ... already exists, skipping"

constexpr const char* kQuarantineColumns =
    "queue_id,time,sender,recipients,subject,reason,released_at,released_by,\"check\",rule,"
    "spf_result,spf_identity,spf_domain,client_ip,helo,listener,queue_dir,size,deleted_at,"
    "deleted_by,host";

#define MXG_PG_MESSAGE_COLUMNS                                                                 \
  "id,time,direction,queue_id,listener,client_ip,helo,sender,recipients,message_id,subject,"   \
  "spf_result,decision,reason,spf_identity,spf_domain,spf_mechanism,rule,reply,size,"          \
  "header_from,dmarc_result,dmarc_policy,dmarc_policy_domain,dmarc_record,dmarc_dkim_aligned," \
  "dmarc_spf_aligned,arc_result,uid,host"

// query(): "" matches everything; lower() under the C collation folds ASCII only, like
// ascii::lower on the needles. One prepared statement per order.
#define MXG_PG_QUERY_SQL(order)                                                         \
  "SELECT " MXG_PG_MESSAGE_COLUMNS                                                      \
  " FROM messages WHERE time>=$1::bigint AND ($2::bigint=0 OR time<$2::bigint) AND "    \
  "($3::text='' OR direction=$3::text) AND ($5::text='' OR queue_id=$5::text) AND "     \
  "($6::text='' OR client_ip=$6::text) AND "                                            \
  "($7::text='' OR strpos(lower(sender COLLATE \"C\"),$7::text)>0) AND "                \
  "($8::text='' OR EXISTS (SELECT 1 FROM recipients r WHERE r.message=messages.id AND " \
  "strpos(r.address,$8::text)>0)) AND "                                                 \
  "($9::text='' OR decision=$9::text OR spf_result=$9::text OR dmarc_result=$9::text) " \
  "ORDER BY " order " LIMIT $4::bigint"

// One message with its rows, one statement: nothing is inserted when the uid is there.
constexpr const char* kRecordSql =
    "WITH m AS (INSERT INTO messages(time,direction,queue_id,listener,client_ip,helo,sender,"
    "recipients,message_id,subject,spf_result,decision,reason,spf_identity,spf_domain,"
    "spf_mechanism,rule,reply,size,header_from,dmarc_result,dmarc_policy,dmarc_policy_domain,"
    "dmarc_record,dmarc_dkim_aligned,dmarc_spf_aligned,arc_result,uid,host) VALUES("
    "$1::bigint,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19::bigint,$20,$21,"
    "$22,$23,$24,$25::int,$26::int,$27,$28,$29) ON CONFLICT (uid) DO NOTHING RETURNING id), "
    "r AS (INSERT INTO recipients(message,address,time,direction) "
    "SELECT m.id, x.a, $1::bigint, $2 FROM m, unnest($30::text[]) AS x(a)), "
    "d AS (INSERT INTO decisions(message,seq,\"check\",action,rule,monitor,would,reason) "
    "SELECT m.id, x.o - 1, x.c, x.a, x.r, x.mo, x.w, x.re FROM m, "
    "unnest($31::text[],$32::text[],$33::text[],$34::int[],$35::text[],$36::text[]) "
    "WITH ORDINALITY AS x(c,a,r,mo,w,re,o)), "
    "k AS (INSERT INTO dkim_results(message,seq,domain,selector,result,reason) "
    "SELECT m.id, x.o - 1, x.d, x.s, x.res, x.re FROM m, "
    "unnest($37::text[],$38::text[],$39::text[],$40::text[]) WITH ORDINALITY AS x(d,s,res,re,o)) "
    "SELECT id FROM m";

class pg_history final : public history {
 public:
  explicit pg_history(std::string dsn) : dsn_(std::move(dsn)) {}
  ~pg_history() override {
    if (conn_) PQfinish(conn_);
  }

  // lazy: an unreachable server is not an error; the first connection migrates.
  result<void> init(bool lazy) {
    std::lock_guard lock(mu_);
    auto r = connect();
    if (!r && lazy && r.error().code == errc::temporary) return {};
    return r;
  }

  result<void> record(const message_record& m) override {
    std::vector<std::string> rcpts, dc, da, dr, dw, dre, kd, ks, kr, kre;
    std::vector<std::int64_t> dm;
    for (const auto& r : m.recipients) rcpts.push_back(ascii::lower(r));
    for (const auto& d : m.decisions) {
      dc.push_back(d.check);
      da.push_back(d.action);
      dr.push_back(d.rule);
      dm.push_back(d.monitor ? 1 : 0);
      dw.push_back(d.would);
      dre.push_back(d.reason);
    }
    for (const auto& k : m.dkim) {
      kd.push_back(k.domain);
      ks.push_back(k.selector);
      kr.push_back(k.result);
      kre.push_back(k.reason);
    }
    std::vector<param> p = {int_text(m.time),
                            std::string(to_string(m.dir)),
                            m.queue_id,
                            m.listener,
                            m.client_ip,
                            m.helo,
                            m.sender,
                            join_list(m.recipients),
                            m.message_id,
                            m.subject,
                            m.spf_result,
                            m.decision,
                            m.reason,
                            m.spf_identity,
                            m.spf_domain,
                            m.spf_mechanism,
                            m.rule,
                            m.reply,
                            int_text(static_cast<std::int64_t>(m.size)),
                            m.header_from,
                            m.dmarc_result,
                            m.dmarc_policy,
                            m.dmarc_policy_domain,
                            m.dmarc_record,
                            int_text(m.dmarc_dkim_aligned ? 1 : 0),
                            int_text(m.dmarc_spf_aligned ? 1 : 0),
                            m.arc_result,
                            m.uid.empty() ? param() : param(m.uid),
                            m.host,
                            text_array(rcpts),
                            text_array(dc),
                            text_array(da),
                            text_array(dr),
                            int_array(dm),
                            text_array(dw),
                            text_array(dre),
                            text_array(kd),
                            text_array(ks),
                            text_array(kr),
                            text_array(kre)};
    std::lock_guard lock(mu_);
    if (in_batch_) return send_pipelined(kRecordSql, p);
    auto r = run(kRecordSql, p, "record");
    if (!r) return std::unexpected(r.error());
    return {};
  }

  result<void> begin_batch() override {
    std::lock_guard lock(mu_);
    if (auto r = ensure_connected(); !r) return r;
    auto r = run_plain("BEGIN", "begin");
    if (!r) return std::unexpected(r.error());
    in_batch_ = true;
    return {};
  }

  result<void> commit_batch() override {
    std::lock_guard lock(mu_);
    auto drained = drain_pipeline();
    in_batch_ = false;
    if (!drained && drained.error().code == errc::temporary) return drained;
    if (conn_ && PQtransactionStatus(conn_) == PQTRANS_INERROR) {
      (void)run_plain("ROLLBACK", "rollback");
      // A statement prepared inside the failed pipeline may not exist: prepare again.
      PQclear(PQexec(conn_, "DEALLOCATE ALL"));
      prepared_.clear();
      return fail(errc::io_error, "history: batch rolled back after an error: " + batch_error_);
    }
    auto r = run_plain("COMMIT", "commit");
    if (!r) return std::unexpected(r.error());
    return {};
  }

  result<std::vector<message_record>> list(std::int64_t since, std::int64_t until,
                                           std::size_t limit) const override {
    std::lock_guard lock(mu_);
    auto r = self().run(
        "SELECT " MXG_PG_MESSAGE_COLUMNS
        " FROM messages WHERE time>=$1::bigint AND time<$2::bigint "
        "ORDER BY time DESC, id DESC LIMIT $3::bigint",
        {int_text(since), int_text(until), int_text(static_cast<std::int64_t>(limit))}, "list");
    if (!r) return std::unexpected(r.error());
    return self().read_messages(*r);
  }

  result<std::vector<message_record>> query(const history_query& q) const override {
    std::lock_guard lock(mu_);
    auto r = self().run(
        q.newest_first ? MXG_PG_QUERY_SQL("time DESC, id DESC") : MXG_PG_QUERY_SQL("time, id"),
        {int_text(q.since), int_text(q.until),
         q.dir ? std::string(to_string(*q.dir)) : std::string(),
         q.limit ? param(int_text(static_cast<std::int64_t>(q.limit))) : param(), q.queue_id,
         q.client_ip, ascii::lower(q.sender), ascii::lower(q.recipient), ascii::lower(q.result)},
        q.newest_first ? "query_newest" : "query");
    if (!r) return std::unexpected(r.error());
    return self().read_messages(*r);
  }

  result<std::size_t> prune(std::int64_t before) override {
    std::lock_guard lock(mu_);
    const bool own = !in_batch_;
    if (auto b = run_plain(own ? "BEGIN" : "SAVEPOINT prune", "prune"); !b)
      return std::unexpected(b.error());
    auto undo = [&](const error& e) -> std::unexpected<error> {
      (void)run_plain(own ? "ROLLBACK" : "ROLLBACK TO prune", "prune");
      return std::unexpected(e);
    };
    const std::vector<param> p{int_text(before)};
    for (const char* sql :
         {"DELETE FROM dkim_results WHERE message IN (SELECT id FROM messages WHERE "
          "time<$1::bigint)",
          "DELETE FROM decisions WHERE message IN (SELECT id FROM messages WHERE time<$1::bigint)",
          "DELETE FROM recipients WHERE message IN (SELECT id FROM messages WHERE "
          "time<$1::bigint)"})
      if (auto r = run(sql, p, "prune"); !r) return undo(r.error());
    auto m = run("DELETE FROM messages WHERE time<$1::bigint", p, "prune");
    if (!m) return undo(m.error());
    if (auto c = run_plain(own ? "COMMIT" : "RELEASE prune", "prune"); !c)
      return std::unexpected(c.error());
    return static_cast<std::size_t>(m->affected());
  }

  result<bool> sent_message_id(const std::string& message_id) const override {
    std::lock_guard lock(mu_);
    auto r =
        self().run("SELECT 1 FROM messages WHERE direction='outbound' AND message_id=$1 LIMIT 1",
                   {message_id}, "lookup");
    if (!r) return std::unexpected(r.error());
    return r->rows() > 0;
  }

  result<bool> sent_to(const std::string& recipient, std::int64_t since) const override {
    std::lock_guard lock(mu_);
    auto r = self().run(
        "SELECT 1 FROM recipients WHERE address=$1 AND direction='outbound' AND "
        "time>=$2::bigint LIMIT 1",
        {ascii::lower(recipient), int_text(since)}, "lookup");
    if (!r) return std::unexpected(r.error());
    return r->rows() > 0;
  }

  result<void> quarantine_add(const quarantine_entry& q) override {
    std::lock_guard lock(mu_);
    // As SQLite's INSERT OR REPLACE: the entry of a queue id is the last one added.
    auto r = run(
        "INSERT INTO quarantine(queue_id,time,sender,recipients,subject,reason,released_at,"
        "released_by,\"check\",rule,spf_result,spf_identity,spf_domain,client_ip,helo,listener,"
        "queue_dir,size,deleted_at,deleted_by,sender_domain,host) VALUES($1,$2::bigint,$3,$4,$5,"
        "$6,$7::bigint,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18::bigint,$19::bigint,$20,$21,$22) "
        "ON CONFLICT (queue_id) DO UPDATE SET time=EXCLUDED.time,sender=EXCLUDED.sender,"
        "recipients=EXCLUDED.recipients,subject=EXCLUDED.subject,reason=EXCLUDED.reason,"
        "released_at=EXCLUDED.released_at,released_by=EXCLUDED.released_by,"
        "\"check\"=EXCLUDED.\"check\",rule=EXCLUDED.rule,spf_result=EXCLUDED.spf_result,"
        "spf_identity=EXCLUDED.spf_identity,spf_domain=EXCLUDED.spf_domain,"
        "client_ip=EXCLUDED.client_ip,helo=EXCLUDED.helo,listener=EXCLUDED.listener,"
        "queue_dir=EXCLUDED.queue_dir,size=EXCLUDED.size,deleted_at=EXCLUDED.deleted_at,"
        "deleted_by=EXCLUDED.deleted_by,sender_domain=EXCLUDED.sender_domain,host=EXCLUDED.host",
        {q.queue_id,
         int_text(q.time),
         q.sender,
         q.recipients,
         q.subject,
         q.reason,
         q.released_at ? param(int_text(*q.released_at)) : param(),
         q.released_by,
         q.check,
         q.rule,
         q.spf_result,
         q.spf_identity,
         q.spf_domain,
         q.client_ip,
         q.helo,
         q.listener,
         q.queue_dir,
         int_text(static_cast<std::int64_t>(q.size)),
         q.deleted_at ? param(int_text(*q.deleted_at)) : param(),
         q.deleted_by,
         sender_domain(q.sender),
         q.host},
        "quarantine add");
    if (!r) return std::unexpected(r.error());
    return {};
  }

  result<std::vector<quarantine_entry>> quarantine_list(bool include_released) const override {
    quarantine_query q;
    q.include_released = q.include_deleted = include_released;
    return quarantine_find(q);
  }

  result<std::vector<quarantine_entry>> quarantine_find(const quarantine_query& q) const override {
    // Only the filters that are set: at most 2^8 statement texts, each prepared once.
    std::vector<param> p{int_text(q.since)};
    std::string sql =
        std::string("SELECT ") + kQuarantineColumns + " FROM quarantine WHERE time>=$1::bigint";
    auto add = [&](const char* cond, std::string v) {
      p.push_back(std::move(v));
      sql += std::string(" AND ") + cond + "$" + std::to_string(p.size());
    };
    if (q.until) add("time<", int_text(q.until));
    if (!q.domain.empty()) add("sender_domain=", ascii::lower(q.domain));
    if (!q.check.empty()) add("\"check\"=", q.check);
    if (!q.rule.empty()) add("rule=", q.rule);
    if (!q.host.empty()) {
      p.push_back(q.host);
      sql += " AND host IN ($" + std::to_string(p.size()) + ",'')";
    }
    if (!q.include_released) sql += " AND released_at IS NULL";
    if (!q.include_deleted) sql += " AND deleted_at IS NULL";
    p.push_back(q.limit ? param(int_text(static_cast<std::int64_t>(q.limit))) : param());
    sql += " ORDER BY time DESC, queue_id LIMIT $" + std::to_string(p.size()) + "::bigint";
    std::lock_guard lock(mu_);
    auto r = self().run(sql, p, "quarantine find");
    if (!r) return std::unexpected(r.error());
    std::vector<quarantine_entry> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(read_quarantine(*r, i));
    return out;
  }

  result<std::optional<quarantine_entry>> quarantine_get(
      const std::string& queue_id) const override {
    std::lock_guard lock(mu_);
    return self().get_locked(queue_id);
  }

  result<void> quarantine_release(const std::string& queue_id, const std::string& by,
                                  std::int64_t when) override {
    return close_entry("released", queue_id, by, when);
  }

  result<void> quarantine_delete(const std::string& queue_id, const std::string& by,
                                 std::int64_t when) override {
    return close_entry("deleted", queue_id, by, when);
  }

  result<std::int64_t> remote_release_request(const std::string& queue_id, const std::string& host,
                                              const std::string& by, std::int64_t when) override {
    std::lock_guard lock(mu_);
    // The insert, or the pending request already there (the CTE's snapshot does not
    // see its own insert: the UNION covers both).
    auto r =
        run("WITH i AS (INSERT INTO remote_releases(queue_id,host,requested_by,requested_at) "
            "VALUES($1,$2,$3,$4::bigint) ON CONFLICT (queue_id) WHERE done_at IS NULL DO NOTHING "
            "RETURNING id) SELECT id FROM i UNION ALL SELECT id FROM remote_releases WHERE "
            "queue_id=$1 AND done_at IS NULL",
            {queue_id, host, by, int_text(when)}, "remote release");
    if (!r) return std::unexpected(r.error());
    if (r->rows() == 0) return fail(errc::io_error, "history: remote release: no row");
    // Tell the owner now (LISTEN mxguard_release); it also polls.
    (void)run("SELECT pg_notify('mxguard_release', $1)", {host}, "notify");
    return r->integer(0, 0);
  }

  result<std::vector<remote_release>> remote_release_pending(
      const std::string& host) const override {
    std::lock_guard lock(mu_);
    auto r = self().run(
        "SELECT id,queue_id,host,requested_by,requested_at FROM remote_releases WHERE "
        "done_at IS NULL AND ($1::text='' OR host=$1::text) ORDER BY id",
        {host}, "remote release");
    if (!r) return std::unexpected(r.error());
    std::vector<remote_release> out;
    for (int i = 0; i < r->rows(); ++i)
      out.push_back({r->integer(i, 0),
                     r->text(i, 1),
                     r->text(i, 2),
                     r->text(i, 3),
                     r->integer(i, 4),
                     {},
                     {}});
    return out;
  }

  result<void> remote_release_done(std::int64_t id, const std::string& what,
                                   std::int64_t when) override {
    std::lock_guard lock(mu_);
    auto r =
        run("UPDATE remote_releases SET done_at=$1::bigint, result=$2 WHERE id=$3::bigint AND "
            "done_at IS NULL",
            {int_text(when), what, int_text(id)}, "remote release");
    if (!r) return std::unexpected(r.error());
    if (r->affected() == 0)
      return fail(errc::not_found, "remote release " + std::to_string(id) + " is done already");
    return {};
  }

  // Issue 11: policy exceptions (see history.hpp).
  result<std::int64_t> exception_add(const policy_exception& e) override {
    std::lock_guard lock(mu_);
    param exp = e.expires_at ? param(int_text(*e.expires_at)) : std::nullopt;
    auto r =
        run("INSERT INTO policy_exceptions(kind,sender,domain,net,created_by,created_at,expires_at,"
            "note,queue_id) VALUES($1,$2,$3,$4,$5,$6::bigint,$7::bigint,$8,$9) RETURNING id",
            {e.kind, e.sender, e.domain, e.net, e.created_by, int_text(e.created_at), exp, e.note,
             e.queue_id},
            "exception");
    if (!r) return std::unexpected(r.error());
    if (r->rows() == 0) return fail(errc::io_error, "history: exception: no row");
    return r->integer(0, 0);
  }

  result<std::vector<policy_exception>> exception_list(bool all) const override {
    std::lock_guard lock(mu_);
    auto r = self().run(
        "SELECT id,kind,sender,domain,net,created_by,created_at,expires_at,note,queue_id,"
        "deleted_at,deleted_by FROM policy_exceptions WHERE $1::boolean OR deleted_at IS NULL "
        "ORDER BY id",
        {std::string(all ? "true" : "false")}, "exception");
    if (!r) return std::unexpected(r.error());
    std::vector<policy_exception> out;
    for (int i = 0; i < r->rows(); ++i) {
      policy_exception e;
      e.id = r->integer(i, 0), e.kind = r->text(i, 1), e.sender = r->text(i, 2);
      e.domain = r->text(i, 3), e.net = r->text(i, 4), e.created_by = r->text(i, 5);
      e.created_at = r->integer(i, 6);
      if (!r->is_null(i, 7)) e.expires_at = r->integer(i, 7);
      e.note = r->text(i, 8), e.queue_id = r->text(i, 9);
      if (!r->is_null(i, 10)) e.deleted_at = r->integer(i, 10);
      e.deleted_by = r->text(i, 11);
      out.push_back(std::move(e));
    }
    return out;
  }

  result<void> exception_delete(std::int64_t id, const std::string& by,
                                std::int64_t when) override {
    std::lock_guard lock(mu_);
    auto r =
        run("UPDATE policy_exceptions SET deleted_at=$1::bigint, deleted_by=$2 WHERE id=$3::bigint "
            "AND deleted_at IS NULL",
            {int_text(when), by, int_text(id)}, "exception");
    if (!r) return std::unexpected(r.error());
    if (r->affected() == 0)
      return fail(errc::not_found,
                  "exception " + std::to_string(id) + ": none, or deleted already");
    return {};
  }

  // Issue 11: release requests (see history.hpp).
  result<request_added> request_add(const release_request& q) override {
    std::lock_guard lock(mu_);
    // The insert, or the pending request already there (as remote_release_request).
    auto r =
        run("WITH i AS (INSERT INTO release_requests(queue_id,host,requested_by,requested_at,"
            "comment) VALUES($1,$2,$3,$4::bigint,$5) ON CONFLICT (queue_id) WHERE "
            "state='pending' DO NOTHING RETURNING id) SELECT id, true FROM i UNION ALL SELECT "
            "id, false FROM release_requests WHERE queue_id=$1 AND state='pending'",
            {q.queue_id, q.host, q.requested_by, int_text(q.requested_at), q.comment},
            "release request");
    if (!r) return std::unexpected(r.error());
    if (r->rows() == 0) return fail(errc::io_error, "history: release request: no row");
    return request_added{r->integer(0, 0), r->text(0, 1) == "t"};
  }

  result<std::vector<release_request>> request_list(const std::string& state,
                                                    std::size_t limit) const override {
    std::lock_guard lock(mu_);
    auto r = self().run(
        "SELECT id,queue_id,host,requested_by,requested_at,comment,state,decided_by,decided_at,"
        "note FROM release_requests WHERE ($1::text='' OR state=$1::text) ORDER BY id DESC "
        "LIMIT $2::bigint",
        {state, limit ? param(int_text(static_cast<std::int64_t>(limit))) : param()},
        "release request");
    if (!r) return std::unexpected(r.error());
    std::vector<release_request> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(read_request(*r, i));
    return out;
  }

  result<std::optional<release_request>> request_get(std::int64_t id) const override {
    std::lock_guard lock(mu_);
    auto r = self().run(
        "SELECT id,queue_id,host,requested_by,requested_at,comment,state,decided_by,decided_at,"
        "note FROM release_requests WHERE id=$1::bigint",
        {int_text(id)}, "release request");
    if (!r) return std::unexpected(r.error());
    if (r->rows() == 0) return std::optional<release_request>();
    return std::optional<release_request>(read_request(*r, 0));
  }

  result<void> request_decide(std::int64_t id, const std::string& from, const std::string& to,
                              const std::string& by, std::int64_t when,
                              const std::string& note) override {
    std::lock_guard lock(mu_);
    auto r =
        run("UPDATE release_requests SET state=$1, decided_by=$2, decided_at=$3::bigint, note=$4 "
            "WHERE id=$5::bigint AND state=$6",
            {to, by, int_text(when), note, int_text(id), from}, "release request");
    if (!r) return std::unexpected(r.error());
    if (r->affected() == 0)
      return fail(errc::not_found, "request " + std::to_string(id) + " is not " + from);
    return {};
  }

 private:
  // const readers use the connection too (reconnect, statement cache).
  pg_history& self() const { return const_cast<pg_history&>(*this); }

  std::unexpected<error> lost(const std::string& what) {
    std::string m = conn_ ? PQerrorMessage(conn_) : "no connection";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return fail(errc::temporary, "history: " + what + ": database unreachable: " + m);
  }

  result<void> connect() {
    if (conn_) PQfinish(conn_);
    prepared_.clear();
    pipelining_ = false;
    conn_ = PQconnectdb(dsn_.c_str());
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return lost("connect");
    PQsetNoticeProcessor(conn_, quiet_notices, nullptr);
    if (migrated_) return {};
    auto m = migrate();  // before the first statement this object sends
    if (!m) {
      PQfinish(conn_);  // not used unmigrated: the next call connects and tries again
      conn_ = nullptr;
      return m;
    }
    migrated_ = true;
    return {};
  }

  // Outside a transaction a broken connection is opened again; inside one the
  // transaction is gone with it and the caller hears so.
  result<void> ensure_connected() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return {};
    if (in_batch_) return lost("batch");
    return connect();
  }

  std::unexpected<error> failed(PGresult* res, const std::string& what) {
    pg_result owned(res);
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return lost(what);
    std::string m = PQresultErrorMessage(res);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    if (in_batch_ && batch_error_.empty()) batch_error_ = m;
    return fail(errc::io_error, "history: " + what + ": " + m);
  }

  // Inside a batch, records are sent without waiting for each answer (libpq pipeline
  // mode: one round trip per batch instead of one per record); the answers are read
  // before anything else runs on the connection (drain_pipeline), at the latest at
  // commit. A refused record then fails the commit and the history writer writes the
  // batch again record by record (uids make that safe).
  // XXX: blocking sends; a batch's answers (kHistoryBatchMax short rows) fit in the
  // socket buffers, a much larger batch could stall both ends (non-blocking mode and
  // reading while sending would fix it).
  result<void> send_pipelined(const std::string& sql, const std::vector<param>& params) {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return lost("record");
    if (PQtransactionStatus(conn_) == PQTRANS_INERROR)
      return fail(errc::io_error, "history: record: skipped: the batch failed already");
    if (!pipelining_) {
      if (PQenterPipelineMode(conn_) != 1) return pipe_failed("record");
      pipelining_ = true;
    }
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      std::string name = "s" + std::to_string(next_stmt_++);
      if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr) != 1)
        return pipe_failed("record");
      it = prepared_.emplace(sql, name).first;
    }
    std::vector<std::string> fixed;
    const auto values = param_values(params, fixed);
    if (PQsendQueryPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                            values.data(), nullptr, nullptr, 0) != 1)
      return pipe_failed("record");
    return {};
  }

  std::unexpected<error> pipe_failed(const std::string& what) {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return lost(what);
    std::string m = PQerrorMessage(conn_);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    if (batch_error_.empty()) batch_error_ = m;
    return fail(errc::io_error, "history: " + what + ": " + m);
  }

  // Reads every answer of the pipeline and leaves pipeline mode.
  result<void> drain_pipeline() {
    if (!pipelining_) return {};
    pipelining_ = false;
    if (PQpipelineSync(conn_) != 1) return lost("pipeline");
    std::string first_error;
    for (;;) {
      PGresult* r = PQgetResult(conn_);
      if (!r) {  // between two statements' answers, or the connection is gone
        if (PQstatus(conn_) != CONNECTION_OK) return lost("pipeline");
        continue;
      }
      const auto st = PQresultStatus(r);
      if (st == PGRES_FATAL_ERROR && first_error.empty()) first_error = PQresultErrorMessage(r);
      PQclear(r);
      if (st == PGRES_PIPELINE_SYNC) break;
    }
    PQexitPipelineMode(conn_);
    if (first_error.empty()) return {};
    while (!first_error.empty() && (first_error.back() == '\n' || first_error.back() == ' '))
      first_error.pop_back();
    if (batch_error_.empty()) batch_error_ = first_error;
    return fail(errc::io_error, "history: record: " + first_error);
  }

  // A statement without parameters. One that ends a transaction never reconnects: on a
  // new connection a COMMIT would "succeed" with nothing to commit.
  result<pg_result> run_plain(const char* sql, const std::string& what) {
    if (pipelining_)
      if (auto d = drain_pipeline(); !d && d.error().code == errc::temporary)
        return std::unexpected(d.error());
    const std::string_view s(sql);
    const bool ending = s == "COMMIT" || s.starts_with("ROLLBACK") || s.starts_with("RELEASE");
    if (!ending)
      if (auto c = ensure_connected(); !c) return std::unexpected(c.error());
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return lost(what);
    if (s == "BEGIN") batch_error_.clear();
    PGresult* res = PQexec(conn_, sql);
    auto st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failed(res, what);
    return pg_result(res);
  }

  // Runs a parameterized statement, preparing it on first use on this connection.
  result<pg_result> run(const std::string& sql, const std::vector<param>& params,
                        const std::string& what) {
    if (pipelining_)
      if (auto d = drain_pipeline(); !d && d.error().code == errc::temporary)
        return std::unexpected(d.error());
    if (auto c = ensure_connected(); !c) return std::unexpected(c.error());
    if (PQtransactionStatus(conn_) == PQTRANS_INERROR)
      return fail(errc::io_error, "history: " + what + ": skipped: the batch failed already");
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      std::string name = "s" + std::to_string(next_stmt_++);
      PGresult* res = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
      if (PQresultStatus(res) != PGRES_COMMAND_OK) return failed(res, what);
      PQclear(res);
      it = prepared_.emplace(sql, name).first;
    }
    std::vector<std::string> fixed;
    const auto values = param_values(params, fixed);
    PGresult* res = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                                   values.data(), nullptr, nullptr, 0);
    auto st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failed(res, what);
    return pg_result(res);
  }

  result<void> migrate() {
    if (auto b = run_plain("BEGIN", "migrate"); !b) return std::unexpected(b.error());
    auto undo = [&](const error& e) -> result<void> {
      (void)run_plain("ROLLBACK", "migrate");
      return std::unexpected(e);
    };
    auto lock =
        run("SELECT pg_advisory_xact_lock($1::bigint)", {int_text(kMigrationLock)}, "migrate lock");
    if (!lock) return undo(lock.error());
    auto t = run_plain(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
        "applied_at BIGINT NOT NULL, what TEXT NOT NULL)",
        "migrate");
    if (!t) return undo(t.error());
    auto v = run_plain("SELECT coalesce(max(version), 0) FROM schema_version", "migrate");
    if (!v) return undo(v.error());
    const auto version = v->integer(0, 0);
    if (version > schema_version())
      return undo(error(errc::unsupported, "history: database schema version " +
                                               std::to_string(version) +
                                               " is newer than this mxguard (" +
                                               std::to_string(schema_version()) + ")"));
    for (const auto& m : migrations()) {
      if (m.version <= version) continue;
      auto step = run_plain(m.postgresql, "migrate to version " + std::to_string(m.version));
      if (!step) return undo(step.error());
      auto mark = run("INSERT INTO schema_version VALUES($1::int, $2::bigint, $3)",
                      {int_text(m.version), int_text(static_cast<std::int64_t>(std::time(nullptr))),
                       std::string(m.what)},
                      "migrate");
      if (!mark) return undo(mark.error());
    }
    if (auto c = run_plain("COMMIT", "migrate"); !c) return std::unexpected(c.error());
    return {};
  }

  result<std::vector<message_record>> read_messages(const pg_result& r) {
    std::vector<message_record> out;
    std::map<std::int64_t, std::size_t> at;
    std::vector<std::int64_t> ids;
    for (int i = 0; i < r.rows(); ++i) {
      message_record m;
      m.id = r.integer(i, 0);
      m.time = r.integer(i, 1);
      m.dir = r.text(i, 2) == "outbound" ? direction::outbound : direction::inbound;
      m.queue_id = r.text(i, 3);
      m.listener = r.text(i, 4);
      m.client_ip = r.text(i, 5);
      m.helo = r.text(i, 6);
      m.sender = r.text(i, 7);
      m.recipients = split_list(r.text(i, 8));
      m.message_id = r.text(i, 9);
      m.subject = r.text(i, 10);
      m.spf_result = r.text(i, 11);
      m.decision = r.text(i, 12);
      m.reason = r.text(i, 13);
      m.spf_identity = r.text(i, 14);
      m.spf_domain = r.text(i, 15);
      m.spf_mechanism = r.text(i, 16);
      m.rule = r.text(i, 17);
      m.reply = r.text(i, 18);
      m.size = static_cast<std::uint64_t>(r.integer(i, 19));
      m.header_from = r.text(i, 20);
      m.dmarc_result = r.text(i, 21);
      m.dmarc_policy = r.text(i, 22);
      m.dmarc_policy_domain = r.text(i, 23);
      m.dmarc_record = r.text(i, 24);
      m.dmarc_dkim_aligned = r.integer(i, 25) != 0;
      m.dmarc_spf_aligned = r.integer(i, 26) != 0;
      m.arc_result = r.text(i, 27);
      m.uid = r.text(i, 28);
      m.host = r.text(i, 29);
      at[m.id] = out.size();
      ids.push_back(m.id);
      out.push_back(std::move(m));
    }
    if (ids.empty()) return out;
    auto d =
        run("SELECT message,\"check\",action,rule,monitor,would,reason FROM decisions WHERE "
            "message = ANY($1::bigint[]) ORDER BY message, seq",
            {int_array(ids)}, "decisions");
    if (!d) return std::unexpected(d.error());
    for (int i = 0; i < d->rows(); ++i)
      out[at[d->integer(i, 0)]].decisions.push_back({d->text(i, 1), d->text(i, 2), d->text(i, 3),
                                                     d->integer(i, 4) != 0, d->text(i, 5),
                                                     d->text(i, 6)});
    auto k =
        run("SELECT message,domain,selector,result,reason FROM dkim_results WHERE "
            "message = ANY($1::bigint[]) ORDER BY message, seq",
            {int_array(ids)}, "dkim results");
    if (!k) return std::unexpected(k.error());
    for (int i = 0; i < k->rows(); ++i)
      out[at[k->integer(i, 0)]].dkim.push_back(
          {k->text(i, 1), k->text(i, 2), k->text(i, 3), k->text(i, 4)});
    return out;
  }

  static release_request read_request(const pg_result& r, int i) {
    release_request q;
    q.id = r.integer(i, 0), q.queue_id = r.text(i, 1), q.host = r.text(i, 2);
    q.requested_by = r.text(i, 3), q.requested_at = r.integer(i, 4), q.comment = r.text(i, 5);
    q.state = r.text(i, 6), q.decided_by = r.text(i, 7);
    if (!r.is_null(i, 8)) q.decided_at = r.integer(i, 8);
    q.note = r.text(i, 9);
    return q;
  }

  static quarantine_entry read_quarantine(const pg_result& r, int i) {
    quarantine_entry q;
    q.queue_id = r.text(i, 0);
    q.time = r.integer(i, 1);
    q.sender = r.text(i, 2);
    q.recipients = r.text(i, 3);
    q.subject = r.text(i, 4);
    q.reason = r.text(i, 5);
    if (!r.is_null(i, 6)) q.released_at = r.integer(i, 6);
    q.released_by = r.text(i, 7);
    q.check = r.text(i, 8);
    q.rule = r.text(i, 9);
    q.spf_result = r.text(i, 10);
    q.spf_identity = r.text(i, 11);
    q.spf_domain = r.text(i, 12);
    q.client_ip = r.text(i, 13);
    q.helo = r.text(i, 14);
    q.listener = r.text(i, 15);
    q.queue_dir = r.text(i, 16);
    q.size = static_cast<std::uint64_t>(r.integer(i, 17));
    if (!r.is_null(i, 18)) q.deleted_at = r.integer(i, 18);
    q.deleted_by = r.text(i, 19);
    q.host = r.text(i, 20);
    return q;
  }

  result<std::optional<quarantine_entry>> get_locked(const std::string& queue_id) {
    auto r = run(std::string("SELECT ") + kQuarantineColumns + " FROM quarantine WHERE queue_id=$1",
                 {queue_id}, "quarantine get");
    if (!r) return std::unexpected(r.error());
    if (r->rows() == 0) return std::optional<quarantine_entry>();
    return std::optional<quarantine_entry>(read_quarantine(*r, 0));
  }

  // Marks an open entry released or deleted, exactly once.
  result<void> close_entry(const char* how, const std::string& queue_id, const std::string& by,
                           std::int64_t when) {
    std::lock_guard lock(mu_);
    const bool release = std::string_view(how) == "released";
    auto r = run(release ? "UPDATE quarantine SET released_at=$1::bigint, released_by=$2 WHERE "
                           "queue_id=$3 AND released_at IS NULL AND deleted_at IS NULL"
                         : "UPDATE quarantine SET deleted_at=$1::bigint, deleted_by=$2 WHERE "
                           "queue_id=$3 AND released_at IS NULL AND deleted_at IS NULL",
                 {int_text(when), by, queue_id}, "quarantine");
    if (!r) return std::unexpected(r.error());
    if (r->affected() > 0) return {};
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

  std::string dsn_;
  PGconn* conn_ = nullptr;
  bool in_batch_ = false;
  bool pipelining_ = false;
  bool migrated_ = false;  // the schema was checked on a connection of this object  // records
                           // sent, answers not read yet (send_pipelined)
  std::string batch_error_;
  std::map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::uint64_t next_stmt_ = 0;
  mutable std::recursive_mutex mu_;
};

}  // namespace

result<std::unique_ptr<history>> open_postgresql(const std::string& dsn) {
  auto h = std::make_unique<pg_history>(dsn);
  if (auto r = h->init(false); !r) return std::unexpected(r.error());
  return std::unique_ptr<history>(std::move(h));
}

result<std::unique_ptr<history>> open_postgresql_lazy(const std::string& dsn) {
  auto h = std::make_unique<pg_history>(dsn);
  if (auto r = h->init(true); !r) return std::unexpected(r.error());
  return std::unique_ptr<history>(std::move(h));
}

namespace pg_detail {
// The schema version of the database at `dsn` (0: never migrated).
result<int> read_version(const std::string& dsn) {
  PGconn* c = PQconnectdb(dsn.c_str());
  auto done = [&] { PQfinish(c); };
  if (!c || PQstatus(c) != CONNECTION_OK) {
    std::string m = c ? PQerrorMessage(c) : "out of memory";
    done();
    while (!m.empty() && m.back() == '\n') m.pop_back();
    return fail(errc::temporary, "history: database unreachable: " + m);
  }
  pg_result t(PQexec(c, "SELECT to_regclass('schema_version') IS NOT NULL"));
  if (t.rows() != 1) {
    std::string m = PQerrorMessage(c);
    done();
    return fail(errc::io_error, "history: " + m);
  }
  if (t.text(0, 0) != "t") {
    done();
    return 0;
  }
  pg_result r(PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version"));
  if (r.rows() != 1) {
    std::string m = PQerrorMessage(c);
    done();
    return fail(errc::io_error, "history: " + m);
  }
  int v = static_cast<int>(r.integer(0, 0));
  done();
  return v;
}
}  // namespace pg_detail

}  // namespace mxg::store
