// open.cpp: store::open, the [store] backend choice (issue 14), and the schema version
// of a database without migrating it (`mxguard store migrate --check`).
#include <sqlite3.h>

#include <filesystem>

#include "store/history.hpp"
#include "store/migrations.hpp"

namespace mxg::store {

namespace pg_detail {
result<int> read_version(const std::string& dsn);  // postgres_history.cpp
}

result<std::unique_ptr<history>> open(const options& o) {
  if (o.backend == "postgresql") return open_postgresql(o.dsn);
  if (o.backend == "sqlite") return open_sqlite(o.path);
  return fail(errc::invalid_argument, "store: unknown backend '" + o.backend + "'");
}

bool is_dsn(const std::string& where) {
  return where.starts_with("postgresql://") || where.starts_with("postgres://");
}

result<std::unique_ptr<history>> open_location(const std::string& where) {
  return is_dsn(where) ? open_postgresql(where) : open_sqlite(where);
}

result<schema_state> read_schema_state(const options& o) {
  schema_state s;
  s.target = schema_version();
  if (o.backend == "postgresql") {
    auto v = pg_detail::read_version(o.dsn);
    if (!v) return std::unexpected(v.error());
    s.current = *v;
    return s;
  }
  if (o.backend != "sqlite")
    return fail(errc::invalid_argument, "store: unknown backend '" + o.backend + "'");
  std::error_code ec;
  if (!std::filesystem::exists(o.path, ec)) return s;  // version 0: created at first open
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(o.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(errc::io_error, "history: cannot open " + o.path + ": " + m);
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    s.current = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return s;
}

}  // namespace mxg::store
