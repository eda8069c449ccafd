// store.cpp: `mxguard store migrate [--check] [--config FILE]` (issue 14): brings the
// history database of the configuration ([store] backend, [history] path or [store]
// dsn) to this program's schema version, the same migration steps on SQLite and
// PostgreSQL (store/migrations.hpp). The gateway migrates at start too; this is for an
// operator who wants to do it (or check it) before the gateways are upgraded.
// --check changes nothing: exit 0 when the schema is current, 1 when migrations are due.
// Exit: 0 ok, 1 migrations due (--check), 2 usage or bad config, 74 database error,
// 75 database unreachable. The DSN may hold a password: never printed.
#include <cstdio>
#include <memory>

#include "cli/registry.hpp"
#include "gateway/config.hpp"
#include "store/history.hpp"
#include "store/migrations.hpp"

namespace {

constexpr int kExitOk = 0, kExitDue = 1, kExitUsage = 2, kExitDb = 74, kExitUnreachable = 75;

struct store_args {
  std::string config;
  bool check = false;
};

int db_exit(const mxg::error& e) {
  return e.code == mxg::errc::temporary ? kExitUnreachable : kExitDb;
}

int run_migrate(const store_args& a) {
  mxg::result<mxg::gateway::config> c =
      a.config.empty()
          ? mxg::gateway::parse_config(mxg::gateway::embedded_default_config(), "<embedded>")
          : mxg::gateway::load_config_file(a.config);
  if (!c) {
    std::fprintf(stderr, "%s\n", c.error().message.c_str());
    return kExitUsage;
  }
  const auto o = mxg::gateway::store_options(*c);
  const std::string where = o.backend == "sqlite" ? o.path : "the [store] database";
  auto s = mxg::store::read_schema_state(o);
  if (!s) {
    std::fprintf(stderr, "mxguard store migrate: %s\n", s.error().message.c_str());
    return db_exit(s.error());
  }
  std::printf("store: %s, %s: schema version %d, this mxguard %d\n", o.backend.c_str(),
              where.c_str(), s->current, s->target);
  if (s->current > s->target) {
    std::fprintf(stderr, "mxguard store migrate: the database is newer than this mxguard\n");
    return kExitDb;
  }
  for (const auto& m : mxg::store::migrations())
    if (m.version > s->current)
      std::printf("%s %d: %s\n", a.check ? "due" : "applying", m.version, m.what);
  if (a.check) return s->current == s->target ? kExitOk : kExitDue;
  if (s->current == s->target) {
    std::printf("up to date\n");
    return kExitOk;
  }
  auto h = mxg::store::open(o);  // migrates (PostgreSQL: under an advisory lock)
  if (!h) {
    std::fprintf(stderr, "mxguard store migrate: %s\n", h.error().message.c_str());
    return db_exit(h.error());
  }
  std::printf("migrated to version %d\n", mxg::store::schema_version());
  return kExitOk;
}

mxg::cli::registration reg(220, [](CLI::App& root, int& exit_code) {
  auto a = std::make_shared<store_args>();
  auto* store = root.add_subcommand("store", "The history database ([store]): schema migrations");
  store->require_subcommand(1);
  auto* mig = store->add_subcommand(
      "migrate", "Bring the database to this mxguard's schema version (SQLite or PostgreSQL)");
  mig->add_option("--config,-c", a->config, "Configuration (default: the embedded one)")
      ->type_name("FILE");
  mig->add_flag("--check", a->check, "Change nothing: exit 1 when migrations are due");
  mig->footer(
      "Exit status: 0 done or current, 1 migrations due (--check), 2 bad configuration,\n"
      "74 database error, 75 database unreachable.");
  mig->callback([a, &exit_code] { exit_code = run_migrate(*a); });
});

}  // namespace
