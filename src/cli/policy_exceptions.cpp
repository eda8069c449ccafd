// policy_exceptions.cpp: `mxguard policy exceptions list|delete` (issue 11): the policy
// exceptions made by the console's "release and allow" (policy/exception.hpp), read
// from and marked deleted in the store directly. A running gateway sees a deletion at
// its next snapshot refresh (at most a minute; the console's DELETE /api/exceptions/ID
// refreshes it at once). Every deletion is recorded with its user (cli:$USER).
#include <pwd.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/printable.hpp"
#include "cli/registry.hpp"
#include "store/history.hpp"

namespace mxg::cli {
namespace {

constexpr int kExitOk = 0, kExitError = 1, kExitUsage = 2;

struct exc_args {
  std::string history = "var/history.db";
  bool all = false, json = false;
  std::int64_t id = 0;
  std::string by;
};

result<std::unique_ptr<store::history>> open_db(const std::string& where) {
  std::error_code ec;
  if (!store::is_dsn(where) && !std::filesystem::exists(where, ec))
    return fail(errc::not_found, "no history database at " + where + " (--history PATH)");
  return store::open_location(where);
}

std::string utc(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M UTC", &tm);
  return b;
}

std::string user_name() {
  if (const passwd* p = getpwuid(getuid())) return p->pw_name;
  return std::to_string(getuid());
}

int run_list(const exc_args& a) {
  auto db = open_db(a.history);
  if (!db) {
    std::fprintf(stderr, "mxguard: %s\n", db.error().message.c_str());
    return kExitError;
  }
  auto list = (*db)->exception_list(a.all);
  if (!list) {
    std::fprintf(stderr, "mxguard: %s\n", list.error().message.c_str());
    return kExitError;
  }
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *list)
      out.push_back({{"id", e.id},
                     {"scope", e.kind},
                     {"sender", e.sender},
                     {"domain", e.domain},
                     {"net", e.net},
                     {"created_by", e.created_by},
                     {"created_at", e.created_at},
                     {"expires_at", e.expires_at ? nlohmann::json(*e.expires_at) : nullptr},
                     {"note", e.note},
                     {"queue_id", e.queue_id},
                     {"deleted_at", e.deleted_at ? nlohmann::json(*e.deleted_at) : nullptr},
                     {"deleted_by", e.deleted_by}});
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  if (list->empty()) std::printf("no policy exceptions\n");
  for (const auto& e : *list) {
    std::string scope =
        e.kind == "sender" ? "sender " + e.sender : "domain " + e.domain + " from " + e.net;
    std::printf(
        "%-6lld %s  by %s at %s%s%s%s\n", static_cast<long long>(e.id), printable(scope).c_str(),
        printable(e.created_by).c_str(), utc(e.created_at).c_str(),
        e.expires_at ? (" expires " + utc(*e.expires_at)).c_str() : "",
        e.deleted_at
            ? (" DELETED by " + printable(e.deleted_by) + " at " + utc(*e.deleted_at)).c_str()
            : "",
        e.note.empty() ? "" : ("  note: " + printable(e.note)).c_str());
  }
  return kExitOk;
}

int run_delete(const exc_args& a) {
  auto db = open_db(a.history);
  if (!db) {
    std::fprintf(stderr, "mxguard: %s\n", db.error().message.c_str());
    return kExitError;
  }
  std::string by = "cli:" + (a.by.empty() ? user_name() : a.by);
  auto r = (*db)->exception_delete(a.id, by, static_cast<std::int64_t>(std::time(nullptr)));
  if (!r) {
    std::fprintf(stderr, "mxguard: %s\n", r.error().message.c_str());
    return r.error().code == errc::not_found ? kExitUsage : kExitError;
  }
  std::printf("exception %lld deleted by %s\n", static_cast<long long>(a.id), by.c_str());
  return kExitOk;
}

registration reg(151, [](CLI::App& root, int& exit_code) {
  auto* pol = group(root, "policy", "Policy: what a candidate policy would do, suggestions");
  auto* exc = pol->add_subcommand(
      "exceptions", "Policy exceptions made by the console's \"release and allow\": list, delete");
  exc->require_subcommand(1);
  auto la = std::make_shared<exc_args>();
  auto* list = exc->add_subcommand("list", "The live exceptions (--all: deleted ones too)");
  list->add_option("--history", la->history,
                   "History database, or a postgresql:// URI (default var/history.db)");
  list->add_flag("--all", la->all, "Deleted exceptions too");
  list->add_flag("--json", la->json, "Machine-readable output");
  list->callback([la, &exit_code] { exit_code = run_list(*la); });
  auto da = std::make_shared<exc_args>();
  auto* del = exc->add_subcommand("delete", "Delete an exception (recorded with the user)");
  del->add_option("id", da->id, "The exception's id")->required();
  del->add_option("--history", da->history,
                  "History database, or a postgresql:// URI (default var/history.db)");
  del->add_option("--by", da->by, "Who deletes it (default: the login name)");
  del->callback([da, &exit_code] { exit_code = run_delete(*da); });
});

}  // namespace
}  // namespace mxg::cli
