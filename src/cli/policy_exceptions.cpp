// policy_exceptions.cpp: `mxguard policy exceptions list|add|delete` (issue 11): the
// policy exceptions ("release and allow", policy/exception.hpp), read from, added to and
// marked deleted in the store directly. A running gateway sees a change at its next
// snapshot refresh (at most a minute, or at once on SIGHUP; the console's
// DELETE /api/exceptions/ID refreshes it at once). Every addition and deletion is
// recorded with its user (cli:$USER). An exception expires after --expires (default
// kDefaultExpiry, as the console's); list marks expired ones, which no longer apply.
#include <pwd.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/age.hpp"
#include "cli/printable.hpp"
#include "cli/registry.hpp"
#include "policy/exception.hpp"
#include "store/history.hpp"

namespace mxg::cli {
namespace {

constexpr int kExitOk = 0, kExitError = 1, kExitUsage = 2;

struct exc_args {
  std::string history = "var/history.db";
  bool all = false, json = false;
  std::int64_t id = 0;
  std::string by;
  // add
  std::string scope, sender, domain, net, note;
  std::string expires = policy::kDefaultExpiryText;
  std::string expires_at;  // seconds since the epoch ("" = use `expires`)
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
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
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
                     {"expired", policy::expired(e, now)},
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
        e.expires_at
            ? ((policy::expired(e, now) ? " EXPIRED " : " expires ") + utc(*e.expires_at)).c_str()
            : "",
        e.deleted_at
            ? (" DELETED by " + printable(e.deleted_by) + " at " + utc(*e.deleted_at)).c_str()
            : "",
        e.note.empty() ? "" : ("  note: " + printable(e.note)).c_str());
  }
  return kExitOk;
}

int run_add(const exc_args& a) {
  store::policy_exception e;
  e.kind = a.scope;
  e.sender = a.sender;
  e.domain = a.domain;
  e.net = a.net;
  e.note = a.note;
  e.created_by = "cli:" + (a.by.empty() ? user_name() : a.by);
  e.created_at = static_cast<std::int64_t>(std::time(nullptr));
  if (!a.expires_at.empty()) {
    std::int64_t t = 0;
    auto [end, ec] =
        std::from_chars(a.expires_at.data(), a.expires_at.data() + a.expires_at.size(), t);
    if (ec != std::errc() || end != a.expires_at.data() + a.expires_at.size() || t <= 0) {
      std::fprintf(stderr, "mxguard: --expires-at: want seconds since the epoch\n");
      return kExitUsage;
    }
    e.expires_at = t;
  } else if (a.expires != "never") {
    auto age = parse_age(a.expires);
    if (!age || *age <= 0 || *age > policy::kMaxExpiry) {
      std::fprintf(stderr,
                   "mxguard: --expires: want a duration (30d, 12h) up to 3650d, or never\n");
      return kExitUsage;
    }
    e.expires_at = e.created_at + *age;
  }
  if (auto ok = policy::normalize_scope(e); !ok) {
    std::fprintf(stderr, "mxguard: %s\n", ok.error().message.c_str());
    return kExitUsage;
  }
  auto db = open_db(a.history);
  if (!db) {
    std::fprintf(stderr, "mxguard: %s\n", db.error().message.c_str());
    return kExitError;
  }
  auto id = (*db)->exception_add(e);
  if (!id) {
    std::fprintf(stderr, "mxguard: %s\n", id.error().message.c_str());
    return kExitError;
  }
  std::string scope =
      e.kind == "sender" ? "sender " + e.sender : "domain " + e.domain + " from " + e.net;
  std::printf(
      "exception %lld added: %s by %s%s (a running gateway applies it at its next "
      "refresh, or at once on SIGHUP)\n",
      static_cast<long long>(*id), printable(scope).c_str(), e.created_by.c_str(),
      e.expires_at
          ? ((policy::expired(e, e.created_at) ? ", EXPIRED " : ", expires ") + utc(*e.expires_at))
                .c_str()
          : ", never expires");
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
      "exceptions", "Policy exceptions (the console's \"release and allow\"): list, add, delete");
  exc->require_subcommand(1);
  auto la = std::make_shared<exc_args>();
  auto* list = exc->add_subcommand("list", "The live exceptions (--all: deleted ones too)");
  list->add_option("--history", la->history,
                   "History database, or a postgresql:// URI (default var/history.db)");
  list->add_flag("--all", la->all, "Deleted exceptions too");
  list->add_flag("--json", la->json, "Machine-readable output");
  list->callback([la, &exit_code] { exit_code = run_list(*la); });
  auto aa = std::make_shared<exc_args>();
  auto* add = exc->add_subcommand(
      "add",
      "Add an exception: SPF (and DMARC, when the From domain is the scope's) quarantine or\n"
      "reject of mail in its scope becomes accept-with-a-tag. Examples:\n"
      "  mxguard policy exceptions add --scope sender --sender news@partner.example\n"
      "  mxguard policy exceptions add --scope domain_net --domain partner.example \\\n"
      "      --net 192.0.2.0/24 --expires 90d --note \"their new relay\"");
  add->add_option("--scope", aa->scope, "sender | domain_net")
      ->required()
      ->check(CLI::IsMember({"sender", "domain_net"}));
  add->add_option("--sender", aa->sender, "sender scope: the envelope sender address");
  add->add_option("--domain", aa->domain, "domain_net scope: the sender domain");
  add->add_option("--net", aa->net, "domain_net scope: the client network (CIDR, >= /8, /16)");
  add->add_option("--expires", aa->expires,
                  std::string("Lifetime: 30d, 12h, ... or never (default ") +
                      policy::kDefaultExpiryText + ")")
      ->type_name("AGE");
  add->add_option("--expires-at", aa->expires_at,
                  "Absolute expiry, seconds since the epoch (instead of --expires)")
      ->type_name("UNIX");
  add->add_option("--note", aa->note, "Why (shown in the lists)");
  add->add_option("--history", aa->history,
                  "History database, or a postgresql:// URI (default var/history.db)");
  add->add_option("--by", aa->by, "Who adds it (default: the login name)");
  add->callback([aa, &exit_code] { exit_code = run_add(*aa); });
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
