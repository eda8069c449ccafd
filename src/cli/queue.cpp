// queue.cpp: `mxguard queue list|show ID [--body]|hold ID...|release ID...|delete ID...|run`
// like mailq/postqueue/postsuper (issue 3, section 6). Thin: the work is in src/queue
// (queue_dir, report). Online mode: when the daemon's control socket answers
// (--socket, default ./var/control.sock), the request goes to the running server, which
// owns the queue lock; otherwise the command works directly on the directory (offline),
// taking the queue lock before it changes anything.
// Queue directory: --queue-dir (default ./var/queue). When that directory is not a queue
// itself but holds per-listener queues (<state_dir>/queue/<listener>, the server's
// default), list covers all of them and an ID is looked up in each; --listener NAME picks one.
// Queues are named by their absolute path in the output, as the server names them, so
// online and offline print the same. `list` prints as it reads (report.hpp list_stream):
// memory stays bounded however large the queue.
// `queue run` offline delivers through src/cli/queue_run.cpp (src/delivery).
// Exit: 0 ok, 1 some message not found or unreadable, 2 usage, 74 I/O error,
// 75 queue locked by a running server that does not answer.
// Security: IDs from the command line are validated by queue_id::parse before they
// become paths; peer-supplied fields are printed escaped (report.hpp).
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

#include "cli/queue_run.hpp"
#include "cli/registry.hpp"
#include "queue/queue_dir.hpp"
#include "queue/report.hpp"
#include "store/history.hpp"

#if __has_include("gateway/control.hpp")
#include "gateway/control.hpp"
#define MXG_QUEUE_ONLINE 1
#endif

namespace {

namespace fs = std::filesystem;
using namespace mxg::queue;

constexpr int kExitOk = 0, kExitNotFound = 1, kExitUsage = 2, kExitIo = 74, kExitLocked = 75;

struct queue_args {
  std::string cmd;
  std::vector<std::string> ids;
  std::string dir = kDefaultQueueDir.string();
  std::string listener;
  std::string socket = "var/control.sock";
  std::string history;  // quarantine index to update on release; "" = look for it
  bool json = false;
  bool body = false;
  bool offline = false;
};

std::string dump(const nlohmann::json& j) {
  return json_text(j);
}

// The queue directories the command covers: the directory itself when it is a queue
// (has messages/), else its subdirectories that are queues.
mxg::result<std::vector<fs::path>> resolve_queues(const queue_args& a) {
  fs::path base = a.dir;
  if (!a.listener.empty()) base /= a.listener;
  std::error_code ec;
  base = fs::absolute(base, ec).lexically_normal();
  if (!base.has_filename()) base = base.parent_path();  // "dir/" -> "dir"
  if (fs::is_directory(base / "messages", ec)) return std::vector<fs::path>{base};
  std::vector<fs::path> out;
  if (fs::is_directory(base, ec)) {
    for (const auto& e : fs::directory_iterator(base, ec))
      if (fs::is_directory(e.path() / "messages", ec)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  if (out.empty())
    return mxg::fail(mxg::errc::not_found,
                     "no queue at " + base.string() + " (use --queue-dir DIR; see docs/queue.md)");
  return out;
}

int io_exit(const mxg::error& e) {
  switch (e.code) {
    case mxg::errc::not_found:
    case mxg::errc::parse_error:
      return kExitNotFound;
    case mxg::errc::temporary:
      return kExitLocked;
    case mxg::errc::invalid_argument:
      return kExitUsage;
    default:
      return kExitIo;
  }
}

struct opened {
  std::vector<std::unique_ptr<queue_dir>> queues;
};

mxg::result<opened> open_all(const queue_args& a) {
  auto dirs = resolve_queues(a);
  if (!dirs) return std::unexpected(dirs.error());
  opened o;
  for (const auto& d : *dirs) {
    options opt;
    opt.dir = d;
    opt.sync_threads = 1;
    auto q = queue_dir::open(opt);
    if (!q) return std::unexpected(q.error());
    o.queues.push_back(std::move(*q));
  }
  return o;
}

// The history database whose quarantine index a release updates: --history, else
// history.db in the state directory above the queue (<state>/queue[/<listener>]).
std::string find_history(const queue_args& a, const fs::path& queue) {
  if (!a.history.empty()) return a.history;
  std::error_code ec;
  fs::path p = fs::absolute(queue, ec).lexically_normal();
  for (int up = 0; up < 3 && p.has_parent_path(); ++up) {
    p = p.parent_path();
    if (fs::exists(p / "history.db", ec)) return (p / "history.db").string();
  }
  return "";
}

// Offline release of a quarantined message (its envelope already says released):
// the quarantine index.
void release_quarantine(const queue_args& a, const queue_dir& q, const envelope& env) {
  std::string path = find_history(a, q.path());
  if (path.empty()) {
    std::fprintf(stderr, "mxguard queue release: %s: no history.db found (--history PATH)\n",
                 env.id.str().c_str());
    return;
  }
  auto h = mxg::store::open_sqlite(path);
  mxg::result<void> r = h ? (*h)->quarantine_release(env.id.str(), "offline",
                                                     static_cast<std::int64_t>(std::time(nullptr)))
                          : mxg::result<void>(std::unexpected(h.error()));
  if (!r) std::fprintf(stderr, "mxguard queue release: %s\n", r.error().message.c_str());
}

queue_dir* find_message(opened& o, const queue_id& id) {
  for (auto& q : o.queues) {
    if (q->contains(id)) return q.get();
  }
  return nullptr;
}

int offline(const queue_args& a) {
  auto o = open_all(a);
  if (!o) {
    std::fprintf(stderr, "mxguard queue: %s\n", o.error().message.c_str());
    return io_exit(o.error());
  }
  if (a.cmd == "list") {
    std::vector<const queue_dir*> qs;
    for (auto& q : o->queues) qs.push_back(q.get());
    list_stream ls(std::move(qs), a.json);
    while (!ls.done()) {
      auto piece = ls.next();
      if (!piece) {
        std::fflush(stdout);
        std::fprintf(stderr, "mxguard queue: %s\n", piece.error().message.c_str());
        return io_exit(piece.error());
      }
      std::fwrite(piece->data(), 1, piece->size(), stdout);
    }
    return ls.unreadable() ? kExitNotFound : kExitOk;
  }
  if (a.cmd == "run") {  // offline delivery: src/cli/queue_run.cpp
    std::vector<queue_dir*> qs;
    for (auto& q : o->queues) {
      if (auto r = q->lock(); !r) {
        std::fprintf(stderr, "mxguard queue run: %s\n", r.error().message.c_str());
        return io_exit(r.error());
      }
      qs.push_back(q.get());
    }
    return mxg::cli::queue_run_offline(qs, a.ids, a.json);
  }
  const bool mutating = a.cmd != "show";
  if (mutating) {
    for (auto& q : o->queues) {
      if (auto r = q->lock(); !r) {
        std::fprintf(stderr, "mxguard queue: %s; use the server's control socket (--socket)\n",
                     r.error().message.c_str());
        return io_exit(r.error());
      }
    }
  }
  int rc = kExitOk;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& text : a.ids) {
    auto id = queue_id::parse(text);
    if (!id) {
      std::fprintf(stderr, "mxguard queue %s: %s\n", a.cmd.c_str(), id.error().message.c_str());
      return kExitUsage;
    }
    queue_dir* q = find_message(*o, *id);
    if (!q) {
      std::fprintf(stderr, "mxguard queue %s: no message %s\n", a.cmd.c_str(), text.c_str());
      rc = kExitNotFound;
      continue;
    }
    mxg::result<envelope> env = mxg::fail(mxg::errc::internal, "");
    if (a.cmd == "show") {
      env = q->load(*id);
    } else if (a.cmd == "hold") {
      env = q->hold(*id);
    } else if (a.cmd == "release") {
      bool was_quarantined = false;
      env = q->release(*id, &was_quarantined);
      if (env && was_quarantined) release_quarantine(a, *q, *env);
    } else if (a.cmd == "delete") {
      auto r = q->remove(*id);
      if (r) {
        if (a.json)
          out.push_back({{"id", id->str()}, {"deleted", true}});
        else
          std::printf("%s: deleted\n", id->str().c_str());
        continue;
      }
      env = std::unexpected(r.error());
    }
    if (!env) {
      std::fprintf(stderr, "mxguard queue %s: %s\n", a.cmd.c_str(), env.error().message.c_str());
      rc = std::max(rc, io_exit(env.error()));
      continue;
    }
    if (a.cmd == "show") {
      std::string body;
      if (a.body) {
        auto d = q->read_data(*id);
        if (!d) {
          std::fprintf(stderr, "mxguard queue show: %s\n", d.error().message.c_str());
          rc = std::max(rc, io_exit(d.error()));
          continue;
        }
        body = message_text(*env, std::move(*d));
      }
      if (a.json) {
        auto j = to_json(*env);
        j["queue"] = q->path().string();
        if (a.body) j["body"] = body;
        out.push_back(std::move(j));
      } else {
        std::fputs(format_show(*env).c_str(), stdout);
        std::printf("%-13s %s\n", "queue:", q->path().c_str());
        if (a.body) std::printf("\n%s", body.c_str());
      }
    } else if (a.json) {
      out.push_back({{"id", id->str()}, {"mode", to_string(env->mode)}});
    } else {
      std::printf("%s: %s\n", id->str().c_str(), a.cmd == "hold" ? "held" : "released");
    }
  }
  if (a.json) std::fputs(dump(a.cmd == "show" && out.size() == 1 ? out[0] : out).c_str(), stdout);
  return rc;
}

int run(const queue_args& a) {
  // Log lines (warnings and worse) go to stderr; stdout carries only the report.
  auto logger = spdlog::stderr_logger_mt("mxguard-queue");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
#ifdef MXG_QUEUE_ONLINE
  std::error_code ec;
  if (!a.offline && fs::exists(a.socket, ec)) {
    mxg::gateway::control_request req;
    req.cmd = a.cmd == "delete" ? "delete" : a.cmd;
    req.args = a.ids;
    req.queue = a.listener;
    req.json = a.json;
    req.body = a.body;
    // Pieces are printed as they arrive (a long `list` streams).
    auto print = [](std::string_view piece) { std::fwrite(piece.data(), 1, piece.size(), stdout); };
    auto r = mxg::gateway::control_call(a.socket, req, print);
    if (r) {
      std::fflush(stdout);
      if (!r->error.empty())
        std::fprintf(stderr, "mxguard queue %s: %s\n", a.cmd.c_str(), r->error.c_str());
      return r->exit;
    }
    if (r.error().code != mxg::errc::not_found) {
      std::fprintf(stderr, "mxguard queue: %s\n", r.error().message.c_str());
      return kExitIo;
    }
    // Stale socket: no daemon; work offline.
  }
#endif
  return offline(a);
}

mxg::cli::registration reg(200, [](CLI::App& root, int& exit_code) {
  auto a = std::make_shared<queue_args>();
  auto* q = root.add_subcommand("queue",
                                "Inspect and manage the mail queue (like mailq/postsuper).\n"
                                "Talks to the running server through its control socket, or\n"
                                "works on the queue directory directly when none answers.");
  q->require_subcommand(1);
  q->fallthrough();
  q->add_option("--queue-dir", a->dir,
                "Queue directory, or a directory of per-listener queues (default ./var/queue)")
      ->type_name("DIR");
  q->add_option("--listener", a->listener, "Only the queue of this listener")->type_name("NAME");
  q->add_option("--socket", a->socket, "Control socket of the running server")->type_name("PATH");
  q->add_option("--history", a->history,
                "History database whose quarantine index `release` updates offline\n"
                "(default: history.db of the state directory above the queue)")
      ->type_name("PATH");
  q->add_flag("--json", a->json, "JSON output");
  q->add_flag("--offline", a->offline, "Never use the control socket");
  auto sub = [&](const char* name, const char* help) {
    auto* s = q->add_subcommand(name, help);
    s->callback([a, name, &exit_code] {
      a->cmd = name;
      exit_code = run(*a);
    });
    return s;
  };
  sub("list", "List queued messages in id (arrival) order");
  auto* show = sub("show", "Show a message's envelope (and with --body its data)");
  show->add_option("id", a->ids, "Queue id")->required()->expected(1);
  show->add_flag("--body", a->body, "Also print the message data");
  sub("hold", "Hold messages (never delivered until released)")
      ->add_option("id", a->ids, "Queue ids")
      ->required();
  sub("release", "Release held messages for delivery")
      ->add_option("id", a->ids, "Queue ids")
      ->required();
  sub("delete", "Delete messages from the queue")
      ->add_option("id", a->ids, "Queue ids")
      ->required();
  auto* run_cmd = sub("run", "Deliver now (all messages, or the given ids), like postqueue -f");
  run_cmd->add_option("id", a->ids, "Queue ids");
  mxg::cli::add_queue_run_options(run_cmd);
});

}  // namespace
