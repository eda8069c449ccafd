// migrations.hpp: the one versioned schema history of the store, shared by the SQLite
// and PostgreSQL backends (issue 14). Step N is the same change on both; only the
// dialect differs (INTEGER PRIMARY KEY vs BIGSERIAL, WITHOUT ROWID, instr vs strpos).
// A new database is created at version 0 and migrated step by step like an old one,
// so every step runs on every test database.
// SQLite records the version in PRAGMA user_version, PostgreSQL in schema_version
// (one row per applied step). Never edit a released step: add one.
#pragma once

#include <span>

namespace mxg::store {

struct migration {
  int version;             // the schema version after this step
  const char* what;        // one line for `mxguard store migrate`
  const char* sqlite;      // SQL for SQLite (sqlite3_exec, several statements)
  const char* postgresql;  // SQL for PostgreSQL (PQexec, several statements)
};

// Every step, in order; migrations().back().version is the current schema version.
std::span<const migration> migrations();
int schema_version();

}  // namespace mxg::store
