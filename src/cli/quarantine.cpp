// quarantine.cpp: `mxguard quarantine list|show|release|delete|report` (issue 9
// section 3): the quarantine index (store/history.hpp, SQLite) with the queued
// messages it points to; and the release requests of issue 11 (`requests`, `approve`,
// `deny`): approve and deny go through the running server (approve is its release).
// Reads (list, show, report) use the index and the queue files directly (SQLite WAL
// and atomic control-file renames make that safe while the server runs). release and
// delete go through the running server's control socket when it answers (it owns the
// queue lock), else work offline: take the queue lock, act, record in the index.
// Either way a message goes to delivery at most once (gateway/quarantine_expiry.hpp):
// a second release of the same id says "already released" and exits 1.
// Exit: 0 ok, 1 not found / already released or deleted, 2 usage, 74 I/O error,
// 75 queue locked by a server that does not answer.
// Security: ids are validated by queue_id::parse before they become paths; peer text
// (addresses, HELO, subjects) is printed escaped (queue/envelope.hpp escape_value);
// index values reach SQLite only as bound parameters.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/age.hpp"
#include "cli/registry.hpp"
#include "gateway/config.hpp"
#include "gateway/control.hpp"
#include "gateway/quarantine_expiry.hpp"
#include "queue/queue_dir.hpp"
#include "queue/report.hpp"
#include "store/history.hpp"

namespace {

namespace fs = std::filesystem;
using mxg::store::quarantine_entry;
using nlohmann::json;

constexpr int kExitOk = 0, kExitNotFound = 1, kExitUsage = 2, kExitIo = 74, kExitLocked = 75;

struct q_args {
  std::string cmd;
  std::vector<std::string> ids;
  std::string domain, reason, rule, since;
  std::string history = "var/history.db";
  std::string socket = "var/control.sock";
  std::string queue_dir = mxg::queue::kDefaultQueueDir.string();
  std::string by;
  std::string state = "pending", note;  // requests --state, deny --note
  std::string config;  // issue 14: --config FILE gives the store, socket, queues, host
  mxg::store::options store;
  std::string host_id;
  bool all = false, json = false, body = false, offline = false;
};

// --config: everything the other options name, from the gateway's configuration.
mxg::result<void> apply_config(q_args& a) {
  auto c = mxg::gateway::load_config_file(a.config);
  if (!c) return std::unexpected(c.error());
  a.store = mxg::gateway::store_options(*c);
  a.history = c->history.path;
  a.socket = c->control_socket;
  a.queue_dir = c->state_dir + "/queue";
  a.host_id = c->store.host_id;
  return {};
}

int exit_of(const mxg::error& e) {
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

void complain(const q_args& a, const std::string& msg) {
  std::fprintf(stderr, "mxguard quarantine %s: %s\n", a.cmd.c_str(), msg.c_str());
}

std::string default_by() {
  for (const char* v : {"SUDO_USER", "USER"})
    if (const char* s = std::getenv(v); s && *s) return s;
  return "cli";
}

std::string when(std::int64_t t) {
  return mxg::queue::format_time(mxg::queue::time_point(std::chrono::seconds(t)));
}

std::string esc(const std::string& s) {
  return mxg::queue::escape_value(s);
}

// Queue ids with a pending remote release -> the host that is to carry it out.
using pending_map = std::map<std::string, std::string>;

std::string status(const quarantine_entry& e, const pending_map& pending = {}) {
  if (e.released_at) return "released";
  if (auto it = pending.find(e.queue_id); it != pending.end())
    return "release pending on " + it->second;
  if (e.deleted_at) return e.deleted_by == "expiry" ? "expired" : "deleted";
  return "held";
}

json to_json(const quarantine_entry& e, const pending_map& pending = {}) {
  json j{{"id", e.queue_id},
         {"time", when(e.time)},
         {"check", e.check},
         {"rule", e.rule},
         {"reason", e.reason},
         {"spf_result", e.spf_result},
         {"spf_identity", e.spf_identity},
         {"spf_domain", e.spf_domain},
         {"sender", e.sender},
         {"sender_domain", mxg::store::sender_domain(e.sender)},
         {"recipients", json::array()},
         {"subject", e.subject},
         {"client_ip", e.client_ip},
         {"helo", e.helo},
         {"listener", e.listener},
         {"queue_dir", e.queue_dir},
         {"size", e.size},
         {"status", status(e, pending)},
         {"host", e.host},
         {"released_at", e.released_at ? json(when(*e.released_at)) : json(nullptr)},
         {"released_by", e.released_by},
         {"deleted_at", e.deleted_at ? json(when(*e.deleted_at)) : json(nullptr)},
         {"deleted_by", e.deleted_by}};
  std::size_t start = 0;
  while (start < e.recipients.size()) {
    auto comma = e.recipients.find(',', start);
    if (comma == std::string::npos) comma = e.recipients.size();
    j["recipients"].push_back(e.recipients.substr(start, comma - start));
    start = comma + 1;
  }
  return j;
}

// The index. Reads refuse to create a database that is not there (a wrong path).
mxg::result<std::unique_ptr<mxg::store::history>> open_index(const q_args& a) {
  if (a.store.backend == "postgresql") return mxg::store::open(a.store);
  std::error_code ec;
  if (!fs::exists(a.history, ec))
    return mxg::fail(mxg::errc::not_found,
                     "no history database at " + a.history + " (--history PATH)");
  return mxg::store::open_sqlite(a.history);
}

mxg::result<mxg::store::quarantine_query> make_query(const q_args& a, bool everything) {
  mxg::store::quarantine_query q;
  q.domain = a.domain;
  q.check = a.reason;
  q.rule = a.rule;
  q.include_released = q.include_deleted = everything || a.all;
  if (!a.since.empty()) {
    auto age = mxg::cli::parse_age(a.since);
    if (!age) return mxg::fail(mxg::errc::invalid_argument, "--since: " + age.error().message);
    q.since = static_cast<std::int64_t>(std::time(nullptr)) - *age;
  }
  return q;
}

int cmd_list(const q_args& a, mxg::store::history& h) {
  auto q = make_query(a, false);
  if (!q) return complain(a, q.error().message), kExitUsage;
  auto found = h.quarantine_find(*q);
  if (!found) return complain(a, found.error().message), exit_of(found.error());
  pending_map pending;
  if (auto p = h.remote_release_pending(""))
    for (const auto& r : *p) pending[r.queue_id] = r.host;
  if (a.json) {
    json j{{"messages", json::array()}, {"count", found->size()}};
    for (const auto& e : *found) j["messages"].push_back(to_json(e, pending));
    std::fputs(mxg::queue::json_text(j).c_str(), stdout);
    return kExitOk;
  }
  std::printf("%-20s %-20s %-11s %-16s %-9s %-28s %-28s %-15s %8s %s\n", "ID", "TIME", "CHECK",
              "RULE", "SPF", "SENDER", "RECIPIENTS", "CLIENT IP", "SIZE", "STATUS");
  for (const auto& e : *found) {
    std::printf(
        "%-20s %-20s %-11s %-16s %-9s %-28s %-28s %-15s %8llu %s\n", e.queue_id.c_str(),
        when(e.time).c_str(), esc(e.check).c_str(), esc(e.rule.empty() ? "-" : e.rule).c_str(),
        esc(e.spf_result.empty() ? "-" : e.spf_result).c_str(), esc("<" + e.sender + ">").c_str(),
        esc(e.recipients).c_str(), esc(e.client_ip).c_str(),
        static_cast<unsigned long long>(e.size), status(e, pending).c_str());
  }
  std::printf("-- %zu messages\n", found->size());
  return kExitOk;
}

// Queues the offline commands open, by directory; locked before a change.
class queues {
 public:
  explicit queues(const q_args& a) : a_(a) {}

  // The queue at `listener_or_dir`: a queue directory, or <--queue-dir>/<listener>,
  // or --queue-dir itself when it is a queue.
  mxg::queue::queue_dir* find(const std::string& listener_or_dir) {
    std::error_code ec;
    for (fs::path p : {fs::path(listener_or_dir), fs::path(a_.queue_dir) / listener_or_dir}) {
      if (!listener_or_dir.empty() && fs::is_directory(p / "messages", ec)) return open(p);
    }
    return nullptr;
  }
  // Every queue under --queue-dir (for entries that name none that exists).
  std::vector<mxg::queue::queue_dir*> all() {
    std::vector<mxg::queue::queue_dir*> out;
    std::error_code ec;
    fs::path base = a_.queue_dir;
    if (fs::is_directory(base / "messages", ec)) {
      if (auto* q = open(base)) out.push_back(q);
      return out;
    }
    if (fs::is_directory(base, ec))
      for (const auto& e : fs::directory_iterator(base, ec))
        if (fs::is_directory(e.path() / "messages", ec))
          if (auto* q = open(e.path())) out.push_back(q);
    return out;
  }
  mxg::queue::queue_dir* of(const quarantine_entry& e) {
    return mxg::gateway::quarantine_queue(
        e, [&](const std::string& w) { return find(w); }, all());
  }
  // Takes the queue lock once (the server's, when it runs without answering).
  mxg::result<void> lock(mxg::queue::queue_dir& q) {
    auto key = q.path().string();
    if (locked_.contains(key)) return {};
    if (auto r = q.lock(); !r) return r;
    locked_.insert(key);
    return {};
  }
  std::string error;  // the last open failure

 private:
  mxg::queue::queue_dir* open(const fs::path& p) {
    std::error_code ec;
    auto key = fs::absolute(p, ec).lexically_normal().string();
    if (auto it = open_.find(key); it != open_.end()) return it->second.get();
    mxg::queue::options opt;
    opt.dir = key;
    opt.sync_threads = 1;
    opt.spare_files = 0;
    auto q = mxg::queue::queue_dir::open(opt);
    if (!q) {
      error = q.error().message;
      return nullptr;
    }
    return (open_[key] = std::move(*q)).get();
  }
  const q_args& a_;
  std::map<std::string, std::unique_ptr<mxg::queue::queue_dir>> open_;
  std::set<std::string> locked_;
};

int cmd_show(const q_args& a, mxg::store::history& h) {
  const std::string& id = a.ids.front();
  if (!mxg::queue::queue_id::valid(id)) return complain(a, "bad queue id " + id), kExitUsage;
  auto e = h.quarantine_get(id);
  if (!e) return complain(a, e.error().message), exit_of(e.error());
  if (!*e) return complain(a, id + ": not in the quarantine"), kExitNotFound;
  queues qs(a);
  auto* q = qs.of(**e);
  auto qid = *mxg::queue::queue_id::parse(id);
  mxg::result<mxg::queue::envelope> env =
      q ? q->load(qid) : mxg::fail(mxg::errc::not_found, "the queued message is gone");
  mxg::result<std::string> body = mxg::fail(mxg::errc::not_found, "no body");
  if (a.body && q && env) {
    body = q->read_data(qid);
    if (body) body = mxg::queue::message_text(*env, std::move(*body));
  }
  if (a.json) {
    json j{{"entry", to_json(**e)}};
    j["message"] = env ? mxg::queue::to_json(*env) : json(nullptr);
    if (q) j["queue"] = q->path().string();
    if (a.body) j["body"] = body ? json(*body) : json(nullptr);
    std::fputs(mxg::queue::json_text(j).c_str(), stdout);
    return kExitOk;
  }
  const auto& x = **e;
  auto line = [](const char* k, const std::string& v) { std::printf("%-13s %s\n", k, v.c_str()); };
  line("id:", x.queue_id);
  line("quarantined:", when(x.time));
  line("status:", status(x));
  line("check:", esc(x.check));
  line("rule:", esc(x.rule.empty() ? "(global actions)" : x.rule));
  line("reason:", esc(x.reason));
  line("spf:", esc(x.spf_result) + (x.spf_identity.empty() ? ""
                                                           : " (" + esc(x.spf_identity) + " " +
                                                                 esc(x.spf_domain) + ")"));
  line("sender:", "<" + esc(x.sender) + ">");
  line("recipients:", esc(x.recipients));
  line("subject:", esc(x.subject));
  line("client ip:", esc(x.client_ip));
  line("helo:", esc(x.helo));
  line("size:", std::to_string(x.size));
  line("listener:", esc(x.listener));
  if (x.released_at) line("released:", when(*x.released_at) + " by " + esc(x.released_by));
  if (x.deleted_at) line("deleted:", when(*x.deleted_at) + " by " + esc(x.deleted_by));
  std::printf("\n");
  if (env) {
    std::fputs(mxg::queue::format_show(*env).c_str(), stdout);
    std::printf("%-13s %s\n", "queue:", q->path().c_str());
  } else {
    std::printf("(queued message: %s)\n", env.error().message.c_str());
  }
  if (a.body) {
    if (!body) return complain(a, body.error().message), exit_of(body.error());
    std::printf("\n%s", body->c_str());
  }
  return kExitOk;
}

// The ids a release or delete acts on: the arguments, or the open entries of --domain
// (and --since).
mxg::result<std::vector<std::string>> target_ids(const q_args& a, mxg::store::history& h) {
  if (!a.ids.empty()) {
    for (const auto& id : a.ids)
      if (!mxg::queue::queue_id::valid(id))
        return mxg::fail(mxg::errc::invalid_argument, "bad queue id " + id);
    if (!a.domain.empty())
      return mxg::fail(mxg::errc::invalid_argument, "give ids or --domain, not both");
    return a.ids;
  }
  if (a.domain.empty()) return mxg::fail(mxg::errc::invalid_argument, "give ids or --domain D");
  auto q = make_query(a, false);
  if (!q) return std::unexpected(q.error());
  auto found = h.quarantine_find(*q);
  if (!found) return std::unexpected(found.error());
  std::vector<std::string> out;
  for (const auto& e : *found) out.push_back(e.queue_id);
  return out;
}

int act_offline(const q_args& a, mxg::store::history& h, const std::vector<std::string>& ids,
                const std::string& by) {
  const bool release = a.cmd == "release";
  queues qs(a);
  int rc = kExitOk;
  for (const auto& id : ids) {
    auto e = h.quarantine_get(id);
    if (!e || !*e) {
      complain(a, e ? id + ": not in the quarantine" : e.error().message);
      rc = std::max(rc, e ? kExitNotFound : exit_of(e.error()));
      continue;
    }
    mxg::result<void> r = mxg::gateway::quarantine_entry_open(**e);
    // Issue 14: another gateway holds it: a work item for that host.
    if (r && release && !(*e)->host.empty() && !a.host_id.empty() && (*e)->host != a.host_id) {
      auto req = h.remote_release_request(id, (*e)->host, by,
                                          static_cast<std::int64_t>(std::time(nullptr)));
      if (!req) {
        complain(a, req.error().message);
        rc = std::max(rc, exit_of(req.error()));
      } else {
        std::printf("%s: release pending on host %s\n", id.c_str(), (*e)->host.c_str());
      }
      continue;
    }
    if (r && !release && !(*e)->host.empty() && !a.host_id.empty() && (*e)->host != a.host_id) {
      complain(a, id + ": held by host " + (*e)->host + ": delete it there");
      rc = std::max(rc, kExitNotFound);
      continue;
    }
    auto* q = r ? qs.of(**e) : nullptr;
    if (!r) {
      // already released or deleted: said so, whatever the queue holds now
    } else if (q) {
      if (auto l = qs.lock(*q); !l) {
        complain(a, l.error().message + "; is the server running? (--socket)");
        return std::max(rc, exit_of(l.error()));
      }
      r = mxg::gateway::quarantine_queue_op(
          *q, **e,
          release ? mxg::gateway::quarantine_op::release : mxg::gateway::quarantine_op::remove);
    } else if (release) {
      r = mxg::fail(mxg::errc::not_found,
                    id + ": no queue holds it (" +
                        (qs.error.empty() ? "--queue-dir " + a.queue_dir : qs.error) + ")");
    }
    if (!r) {
      complain(a, r.error().message);
      rc = std::max(rc, exit_of(r.error()));
      continue;
    }
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    auto rec = release ? h.quarantine_release(id, by, now) : h.quarantine_delete(id, by, now);
    if (!rec) complain(a, id + ": the queue acted but the index says: " + rec.error().message);
    std::printf("%s: %s\n", id.c_str(), release ? "released" : "deleted");
  }
  return rc;
}

int cmd_act(const q_args& a, mxg::store::history& h) {
  auto ids = target_ids(a, h);
  if (!ids) return complain(a, ids.error().message), exit_of(ids.error());
  if (ids->empty()) {
    std::printf("nothing to %s\n", a.cmd.c_str());
    return kExitOk;
  }
  const std::string by = a.by.empty() ? default_by() : a.by;
  std::error_code ec;
  if (!a.offline && fs::exists(a.socket, ec)) {
    mxg::gateway::control_request req;
    req.cmd = "quarantine-" + a.cmd;
    req.args = *ids;
    req.by = by;
    auto r = mxg::gateway::control_call(a.socket, req);
    if (r) {
      std::fputs(r->output.c_str(), stdout);
      std::string err = r->error;
      std::size_t start = 0;
      while (start < err.size()) {
        auto nl = err.find('\n', start);
        if (nl == std::string::npos) nl = err.size();
        if (nl > start) complain(a, err.substr(start, nl - start));
        start = nl + 1;
      }
      return r->exit;
    }
    if (r.error().code != mxg::errc::not_found) {
      complain(a, r.error().message);
      return kExitIo;
    }
    // A stale socket: no server; work offline.
  }
  return act_offline(a, h, *ids, by);
}

struct group {
  std::string domain, rule, check;
  std::size_t quarantined = 0, released = 0;
  std::map<std::string, std::size_t> ips;
  double rate() const { return quarantined ? double(released) / double(quarantined) : 0; }
};

int cmd_report(const q_args& a, mxg::store::history& h) {
  q_args b = a;
  if (b.since.empty()) b.since = "30d";
  auto q = make_query(b, true);
  if (!q) return complain(a, q.error().message), kExitUsage;
  auto found = h.quarantine_find(*q);
  if (!found) return complain(a, found.error().message), exit_of(found.error());
  std::map<std::pair<std::string, std::string>, group> by_key;
  for (const auto& e : *found) {
    auto d = mxg::store::sender_domain(e.sender);
    auto& g = by_key[{d, e.rule}];
    g.domain = d;
    g.rule = e.rule;
    if (g.check.empty()) g.check = e.check;
    ++g.quarantined;
    if (e.released_at) ++g.released;
    if (!e.client_ip.empty()) ++g.ips[e.client_ip];
  }
  std::vector<group> groups;
  for (auto& [k, g] : by_key) groups.push_back(std::move(g));
  // The (domain, rule) whose mail people release most comes first: that rule is
  // probably wrong for that domain.
  std::stable_sort(groups.begin(), groups.end(), [](const group& x, const group& y) {
    if (x.released != y.released) return x.released > y.released;
    if (x.rate() != y.rate()) return x.rate() > y.rate();
    return x.quarantined > y.quarantined;
  });
  auto top = [](const group& g) {
    std::vector<std::pair<std::string, std::size_t>> v(g.ips.begin(), g.ips.end());
    std::stable_sort(v.begin(), v.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    if (v.size() > 3) v.resize(3);
    return v;
  };
  if (a.json) {
    json j{{"groups", json::array()}};
    for (const auto& g : groups) {
      json ips = json::array();
      for (const auto& [ip, n] : top(g)) ips.push_back({{"ip", ip}, {"count", n}});
      j["groups"].push_back({{"domain", g.domain},
                             {"rule", g.rule},
                             {"check", g.check},
                             {"quarantined", g.quarantined},
                             {"released", g.released},
                             {"release_rate", g.rate()},
                             {"top_ips", ips}});
    }
    std::fputs(mxg::queue::json_text(j).c_str(), stdout);
    return kExitOk;
  }
  std::printf("%-30s %-20s %-11s %11s %8s %6s  %s\n", "SENDER DOMAIN", "RULE", "CHECK",
              "QUARANTINED", "RELEASED", "RATE", "TOP CLIENT IPS");
  for (const auto& g : groups) {
    std::string ips;
    for (const auto& [ip, n] : top(g))
      ips += (ips.empty() ? "" : ", ") + esc(ip) + " (" + std::to_string(n) + ")";
    std::printf("%-30s %-20s %-11s %11zu %8zu %5.0f%%  %s\n",
                esc(g.domain.empty() ? "<>" : g.domain).c_str(),
                esc(g.rule.empty() ? "-" : g.rule).c_str(), esc(g.check).c_str(), g.quarantined,
                g.released, g.rate() * 100, ips.c_str());
  }
  std::printf("-- %zu groups, %zu messages since %s\n", groups.size(), found->size(),
              when(q->since).c_str());
  return kExitOk;
}

// Issue 11: `quarantine requests [--state S]`: the release requests, newest first, read
// from the store (the server resolves a pending request whose message left the
// quarantine when it lists them; here such a one shows the message's state).
int cmd_requests(const q_args& a, mxg::store::history& h) {
  const std::string st = a.state == "all" ? "" : a.state;
  if (!st.empty() && st != "pending" && st != "approved" && st != "denied" && st != "cancelled")
    return complain(a, "--state: pending, approved, denied, cancelled or all"), kExitUsage;
  auto reqs = h.request_list(st, 1000);
  if (!reqs) return complain(a, reqs.error().message), exit_of(reqs.error());
  auto message_state = [&](const mxg::store::release_request& r) -> std::string {
    auto e = h.quarantine_get(r.queue_id);
    if (!e || !*e) return "gone";
    return status(**e);
  };
  if (a.json) {
    json j{{"requests", json::array()}, {"count", reqs->size()}};
    for (const auto& r : *reqs)
      j["requests"].push_back(
          {{"id", r.id},
           {"queue_id", r.queue_id},
           {"host", r.host},
           {"requested_by", r.requested_by},
           {"requested_at", when(r.requested_at)},
           {"comment", r.comment},
           {"state", r.state},
           {"decided_by", r.decided_by},
           {"decided_at", r.decided_at ? json(when(*r.decided_at)) : json(nullptr)},
           {"note", r.note},
           {"message", message_state(r)}});
    std::fputs(mxg::queue::json_text(j).c_str(), stdout);
    return kExitOk;
  }
  std::printf("%-6s %-20s %-20s %-30s %-9s %-9s %-20s %s\n", "REQ", "ID", "REQUESTED", "BY",
              "STATE", "MESSAGE", "DECIDED BY", "NOTE");
  for (const auto& r : *reqs)
    std::printf("%-6lld %-20s %-20s %-30s %-9s %-9s %-20s %s\n", static_cast<long long>(r.id),
                r.queue_id.c_str(), when(r.requested_at).c_str(), esc(r.requested_by).c_str(),
                r.state.c_str(), message_state(r).c_str(),
                esc(r.decided_by.empty() ? "-" : r.decided_by).c_str(),
                esc(r.note.empty() ? r.comment : r.note).c_str());
  std::printf("-- %zu requests\n", reqs->size());
  return kExitOk;
}

// `quarantine approve|deny REQUEST-ID`: through the running server (an approval is its
// release: exactly once, remote hosts included).
int cmd_decide(const q_args& a) {
  if (a.ids.size() != 1 || a.ids[0].empty() || a.ids[0].size() > 18 ||
      a.ids[0].find_first_not_of("0123456789") != std::string::npos)
    return complain(a, "one request id (a number, see `mxguard quarantine requests`)"), kExitUsage;
  mxg::gateway::control_request req;
  req.cmd = "quarantine-" + a.cmd;
  req.args = a.ids;
  req.by = a.by.empty() ? default_by() : a.by;
  req.note = a.note;
  auto r = mxg::gateway::control_call(a.socket, req);
  if (!r) {
    complain(a, r.error().message + " (approve and deny need the running server)");
    return r.error().code == mxg::errc::not_found ? kExitLocked : kExitIo;
  }
  std::fputs(r->output.c_str(), stdout);
  if (!r->error.empty()) {
    std::string err = r->error;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    complain(a, err);
  }
  return r->exit;
}

int run(q_args& a) {
  auto logger = spdlog::stderr_logger_mt("mxguard-quarantine");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  if (!a.config.empty())
    if (auto c = apply_config(a); !c) return complain(a, c.error().message), kExitUsage;
  if (a.cmd == "approve" || a.cmd == "deny") return cmd_decide(a);
  auto h = open_index(a);
  if (!h) return complain(a, h.error().message), exit_of(h.error());
  if (a.cmd == "requests") return cmd_requests(a, **h);
  if (a.cmd == "list") return cmd_list(a, **h);
  if (a.cmd == "show") return cmd_show(a, **h);
  if (a.cmd == "report") return cmd_report(a, **h);
  return cmd_act(a, **h);
}

mxg::cli::registration reg(210, [](CLI::App& root, int& exit_code) {
  auto a = std::make_shared<q_args>();
  auto* q = root.add_subcommand("quarantine",
                                "Quarantined mail: list, show, release (delivered once), delete,\n"
                                "and a report of what people release (issue 9).");
  q->require_subcommand(1);
  q->fallthrough();
  q->add_option("--history", a->history, "History database (default ./var/history.db)")
      ->type_name("PATH");
  q->add_option("--socket", a->socket, "Control socket of the running server")->type_name("PATH");
  q->add_option("--queue-dir", a->queue_dir,
                "Queue directory, or a directory of per-listener queues (default ./var/queue)")
      ->type_name("DIR");
  q->add_option("--config,-c", a->config,
                "Take the history (or [store] database), socket, queues and host id from this "
                "configuration")
      ->type_name("FILE");
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
  auto filters = [&](CLI::App* s, bool with_reason) {
    s->add_option("--domain", a->domain, "Sender domain")->type_name("D");
    if (with_reason) {
      s->add_option("--reason", a->reason, "Check that quarantined: spf, backscatter")
          ->type_name("R");
      s->add_option("--rule", a->rule, "Rule name")->type_name("NAME");
    }
    s->add_option("--since", a->since, "Only the last 7d, 12h, 90m, ...")->type_name("AGE");
  };
  auto* list = sub("list", "List quarantined messages, newest first");
  filters(list, true);
  list->add_flag("--all", a->all, "Include released and deleted messages");
  auto* show = sub("show", "Show an entry, its queued envelope and with --body the message");
  show->add_option("id", a->ids, "Queue id")->required()->expected(1);
  show->add_flag("--body", a->body, "Also print the message");
  auto* rel = sub("release", "Release messages for delivery (each exactly once)");
  rel->add_option("id", a->ids, "Queue ids");
  filters(rel, false);
  rel->add_option("--by", a->by, "Who releases (default $SUDO_USER, $USER or cli)")
      ->type_name("NAME");
  auto* del = sub("delete", "Delete quarantined messages");
  del->add_option("id", a->ids, "Queue ids")->required();
  del->add_option("--by", a->by, "Who deletes (default $SUDO_USER, $USER or cli)")
      ->type_name("NAME");
  auto* reqs = sub("requests", "Release requests (issue 11), newest first");
  reqs->add_option("--state", a->state, "pending (default), approved, denied, cancelled or all")
      ->type_name("STATE");
  auto* appr = sub("approve", "Approve a release request: the message is released (once)");
  appr->add_option("request", a->ids, "Request id (quarantine requests)")->required()->expected(1);
  appr->add_option("--by", a->by, "Who approves (default $SUDO_USER, $USER or cli)")
      ->type_name("NAME");
  auto* deny = sub("deny", "Deny a release request (the message stays held)");
  deny->add_option("request", a->ids, "Request id (quarantine requests)")->required()->expected(1);
  deny->add_option("--note", a->note, "Why (shown to whoever asked)")->type_name("TEXT");
  deny->add_option("--by", a->by, "Who denies (default $SUDO_USER, $USER or cli)")
      ->type_name("NAME");
  auto* rep = sub("report", "Per sender domain and rule: quarantined, released, top client IPs");
  rep->add_option("--since", a->since, "Period (default 30d)")->type_name("AGE");
});

}  // namespace
