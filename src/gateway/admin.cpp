// admin.cpp: see admin.hpp. The queue and quarantine operations moved here from
// control.cpp (issue 11 section 1) unchanged in behaviour; control.cpp renders them.
#include "gateway/admin.hpp"

#include <spdlog/spdlog.h>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "gateway/history_writer.hpp"
#include "gateway/remote_release.hpp"
#include "gateway/server.hpp"
#include "net/offload.hpp"
#include "policy/exception.hpp"
#include "policy/spf_config.hpp"
#include "queue/report.hpp"
#include "spf/lint.hpp"

namespace mxg::gateway::admin {

using json = nlohmann::json;

namespace {

std::int64_t now_s() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// The queue among qs that holds the message (its control file exists), else the first
// (whose operation then reports it missing).
queue::queue_dir* queue_of(const std::vector<queue::queue_dir*>& qs, const queue::queue_id& id) {
  for (auto* q : qs) {
    if (q->contains(id)) return q;
  }
  return qs.empty() ? nullptr : qs.front();
}

std::vector<queue::queue_dir*> all_queues(server& srv) {
  std::vector<queue::queue_dir*> all;
  for (auto& [path, q] : srv.queues()) all.push_back(q.get());
  return all;
}

}  // namespace

// --- status ---

status_info status(server& srv) {
  status_info s;
  s.sessions = srv.stats().sessions;
  s.refused_sessions = srv.stats().refused_sessions;
  s.messages = srv.stats().messages;
  s.queue_errors = srv.stats().queue_errors;
  s.draining = srv.draining();
  s.delivery = srv.delivery_status();
  if (auto* h = srv.history()) {
    auto hs = h->stats();
    s.history = true;
    s.history_path = h->path();
    s.history_written = hs.written;
    s.history_failed = hs.failed;
    s.history_dropped = hs.dropped;
    s.history_batches = hs.batches;
    s.store_backend = srv.cfg().store.backend;
    s.host_id = h->host_id();
    s.db_up = hs.db_up;
    s.spool_backlog = hs.spool_backlog;
    s.spooled = hs.spooled;
    s.replayed = hs.replayed;
    s.spool_dropped = hs.spool_dropped;
  }
  return s;
}

json to_json(const status_info& s) {
  json j{{"sessions", s.sessions},
         {"refused_sessions", s.refused_sessions},
         {"messages", s.messages},
         {"queue_errors", s.queue_errors},
         {"draining", s.draining}};
  // Issue 16 item 1: "accepting but not delivering" is visible here.
  j["delivery"] = {{"state", s.delivery.on ? "on" : "off"},
                   {"routing_table", s.delivery.routing_table},
                   {"rules", s.delivery.rules}};
  if (!s.delivery.on) j["delivery"]["reason"] = s.delivery.reason;
  if (s.history)
    j["history"] = {{"path", s.history_path},
                    {"written", s.history_written},
                    {"failed", s.history_failed},
                    {"dropped", s.history_dropped},
                    {"batches", s.history_batches},
                    {"backend", s.store_backend},
                    {"host", s.host_id},
                    {"db_up", s.db_up},
                    {"spool_backlog", s.spool_backlog},
                    {"spooled", s.spooled},
                    {"replayed", s.replayed},
                    {"spool_dropped", s.spool_dropped}};
  return j;
}

// --- queue ---

const char* to_string(queue_op op) {
  switch (op) {
    case queue_op::hold:
      return "hold";
    case queue_op::release:
      return "release";
    case queue_op::remove:
      return "delete";
  }
  return "?";
}

std::vector<queue::queue_dir*> selected_queues(server& srv, const std::string& which) {
  std::vector<queue::queue_dir*> out;
  if (!which.empty()) {
    if (auto* q = srv.find_queue(which)) out.push_back(q);
    return out;
  }
  return all_queues(srv);
}

result<std::vector<item_result>> queue_act(server& srv, queue_op op,
                                           const std::vector<std::string>& ids,
                                           const std::string& which, const std::string& by,
                                           const std::string& via) {
  auto qs = selected_queues(srv, which);
  if (qs.empty()) return fail(errc::not_found, "no queue '" + which + "' in this daemon");
  std::vector<item_result> out;
  for (const auto& arg : ids) {
    item_result ir;
    ir.id = arg;
    auto id = queue::queue_id::parse(arg);
    if (!id) {
      ir.error = id.error().message;
      out.push_back(std::move(ir));
      continue;
    }
    queue::queue_dir* q = queue_of(qs, *id);
    result<void> r;
    if (op == queue_op::hold) {
      auto e = q->hold(*id);
      if (!e)
        r = std::unexpected(e.error());
      else
        ir.mode = queue::to_string(e->mode);
    } else if (op == queue_op::release) {
      bool was_quarantined = false;
      auto e = q->release(*id, &was_quarantined);
      if (!e) {
        r = std::unexpected(e.error());
      } else {
        ir.mode = queue::to_string(e->mode);
        // A quarantined message: the quarantine index says released too.
        if (was_quarantined) {
          if (auto* h = srv.history()) h->quarantine_release(id->str(), by, now_s());
          spdlog::info("quarantine released qid={}", id->str());
        }
        srv.message_released(*q, id->str());
      }
    } else {
      r = q->remove(*id);
    }
    if (!r) {
      ir.error = r.error().message;
    } else {
      ir.ok = true;
      spdlog::info("{} qid={} via={}", to_string(op), id->str(), via);
    }
    out.push_back(std::move(ir));
  }
  return out;
}

result<queued_message> queue_show(server& srv, const std::string& arg, const std::string& which,
                                  bool with_body) {
  auto qs = selected_queues(srv, which);
  if (qs.empty()) return fail(errc::not_found, "no queue '" + which + "' in this daemon");
  auto id = queue::queue_id::parse(arg);
  if (!id) return std::unexpected(id.error());
  queue::queue_dir* q = queue_of(qs, *id);
  auto env = q->load(*id);
  if (!env) return std::unexpected(env.error());
  queued_message m{std::move(*env), q->path().string(), std::nullopt};
  if (with_body) {
    auto d = q->read_data(*id);
    if (!d) return std::unexpected(d.error());
    m.text = queue::message_text(m.env, std::move(*d));
  }
  return m;
}

asio::awaitable<result<std::vector<queue::listed_message>>> queue_list(server& srv,
                                                                       std::string which,
                                                                       std::size_t limit) {
  auto qs = selected_queues(srv, which);
  if (qs.empty()) co_return fail(errc::not_found, "no queue '" + which + "' in this daemon");
  // XXX: queue_dir::list reads every control file before the limit applies; a paged
  // list_stream over the listed_message values would bound the work too.
  auto read = [qs, limit]() -> result<std::vector<queue::listed_message>> {
    std::vector<queue::listed_message> out;
    for (auto* q : qs) {
      auto l = q->list();
      if (!l) return std::unexpected(l.error());
      for (auto& m : *l) {
        if (out.size() >= limit) return out;
        out.push_back(std::move(m));
      }
    }
    return out;
  };
  co_return co_await net::offload(read);
}

asio::awaitable<result<std::string>> queue_run(server& srv, std::string which,
                                               std::vector<std::string> ids) {
  // Without a queue name: every queue, each with the given ids it holds (ids held by
  // none go to the first, whose run reports them).
  auto qs = selected_queues(srv, which);
  bool ok = !qs.empty();
  for (auto& a : ids) ok = ok && queue::queue_id::valid(a);
  if (!ok) co_return fail(errc::invalid_argument, "run: unknown queue or bad queue id");
  std::vector<std::vector<std::string>> per(qs.size());
  for (auto& a : ids) {
    auto* q = queue_of(qs, *queue::queue_id::parse(a));
    for (std::size_t i = 0; i < qs.size(); ++i)
      if (qs[i] == q) per[i].push_back(a);
  }
  std::string out;
  for (std::size_t i = 0; i < qs.size(); ++i) {
    if (!ids.empty() && per[i].empty()) continue;
    // Name the awaited value first: g++ 12 miscompiles co_await inside a braced
    // initializer (the output came back as garbage bytes).
    std::string part = co_await srv.queue_run(*qs[i], std::move(per[i]));
    out += part;
  }
  co_return out;
}

// --- quarantine ---

found_entries read_entries(const store::history& db, const std::vector<std::string>& ids) {
  found_entries out;
  for (const auto& id : ids) out.push_back(db.quarantine_get(id));
  return out;
}

std::vector<item_result> quarantine_apply(server& srv, quarantine_op op,
                                          const std::vector<std::string>& ids,
                                          const found_entries& found, const std::string& by,
                                          const std::string& via, const visibility& visible) {
  std::vector<item_result> out;
  history_writer* hw = srv.history();
  const bool release = op == quarantine_op::release;
  const auto now = now_s();
  auto all = all_queues(srv);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    item_result ir;
    ir.id = ids[i];
    const auto& e = i < found.size() ? found[i] : found_entries::value_type(std::nullopt);
    if (!e || !*e || (visible && !visible(**e))) {
      ir.error = e ? ids[i] + ": not in the quarantine" : e.error().message;
      out.push_back(std::move(ir));
      continue;
    }
    // Issue 14: another gateway holds it: a work item for that host, shown as pending once
    // the caller has written it (quarantine_act awaits it; an error item if it was not).
    if (release && hw && quarantine_entry_open(**e) && held_elsewhere(*hw, **e)) {
      ir.ok = true;
      ir.pending_host = (*e)->host;
      out.push_back(std::move(ir));
      continue;
    }
    // XXX: deletes are not carried to the owner (its queued body would stay): refused.
    if (!release && hw && !(*e)->host.empty() && (*e)->host != hw->host_id() &&
        quarantine_entry_open(**e)) {
      ir.error = ids[i] + ": held by host " + (*e)->host + ": delete it there";
      out.push_back(std::move(ir));
      continue;
    }
    queue::queue_dir* q = quarantine_queue(
        **e, [&](const std::string& w) { return srv.find_queue(w); }, all);
    // Already released or deleted: said so first, whatever the queue holds now.
    result<void> r = quarantine_entry_open(**e);
    if (r && !q && release)
      r = fail(errc::not_found, ids[i] + ": no queue of this daemon holds it");
    else if (r && q)
      r = quarantine_queue_op(*q, **e, op);
    if (!r) {
      ir.error = r.error().message;
      out.push_back(std::move(ir));
      continue;
    }
    if (release) {
      if (hw) hw->quarantine_release(ids[i], by, now);
      srv.message_released(*q, ids[i]);
    } else if (hw) {
      hw->quarantine_delete(ids[i], by, now);
    }
    spdlog::info("quarantine {} qid={} by={} via={}", release ? "released" : "deleted", ids[i], by,
                 via);
    ir.ok = true;
    out.push_back(std::move(ir));
  }
  return out;
}

void release_not_requested(item_result& it, const std::string& why) {
  it.ok = false;
  it.error = it.id + ": release not requested of host " + it.pending_host + ": " + why;
  it.pending_host.clear();
}

asio::awaitable<result<std::vector<item_result>>> quarantine_act(server& srv, quarantine_op op,
                                                                 std::vector<std::string> ids,
                                                                 std::string by, std::string via,
                                                                 visibility visible) {
  for (const auto& a : ids)
    if (!queue::queue_id::valid(a)) co_return fail(errc::invalid_argument, "bad queue id");
  history_writer* hw = srv.history();
  if (!hw) co_return fail(errc::unsupported, "quarantine: the history is disabled in this daemon");
  // The index is read on the history writer's thread, after the writes queued so far
  // (a release just recorded is seen); the queue work is back on this thread.
  auto read = [ids](store::history& db) { return read_entries(db, ids); };
  found_entries fallback;
  for (std::size_t i = 0; i < ids.size(); ++i)
    fallback.push_back(fail(errc::temporary, "history queue full: try again"));
  // Named steps: g++ 12 mishandles temporaries in a co_await's argument list.
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw->async_call(read, std::move(fallback), ex, asio::use_awaitable);
  found_entries found = co_await std::move(pending);
  auto items = quarantine_apply(srv, op, ids, found, by, via, visible);
  // Issue 14: the remote release requests, committed before the answer says pending.
  std::vector<store::quarantine_entry> remote;
  for (std::size_t i = 0; i < items.size() && i < found.size(); ++i)
    if (!items[i].pending_host.empty()) remote.push_back(**found[i]);
  if (remote.empty()) co_return items;
  auto asked = request_remote_releases(*hw, remote, by, now_s());
  std::vector<std::string> errors = co_await std::move(asked);
  for (std::size_t i = 0, k = 0; i < items.size() && k < errors.size(); ++i) {
    auto& it = items[i];
    if (it.pending_host.empty()) continue;
    if (!errors[k].empty()) release_not_requested(it, errors[k]);
    ++k;
  }
  co_return items;
}

asio::awaitable<result<std::vector<store::quarantine_entry>>> quarantine_find(
    server& srv, store::quarantine_query q, visibility visible) {
  history_writer* hw = srv.history();
  if (!hw) co_return fail(errc::unsupported, "quarantine: the history is disabled in this daemon");
  using R = result<std::vector<store::quarantine_entry>>;
  // The visibility filter runs after the query, so the limit applies after it too.
  const std::size_t limit = std::min(q.limit ? q.limit : kQuarantineListMax, kQuarantineListMax);
  q.limit = visible ? 0 : limit;
  auto read = [q](store::history& db) -> R { return db.quarantine_find(q); };
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw->async_call(read, R(fail(errc::temporary, "history queue full: try again")), ex,
                                asio::use_awaitable);
  R found = co_await std::move(pending);
  if (!found || !visible) co_return found;
  std::vector<store::quarantine_entry> out;
  for (auto& e : *found)
    if (out.size() < limit && visible(e)) out.push_back(std::move(e));
  co_return out;
}

asio::awaitable<result<quarantined_message>> quarantine_show(server& srv, std::string id,
                                                             bool with_body, visibility visible) {
  if (!queue::queue_id::valid(id)) co_return fail(errc::invalid_argument, "bad queue id");
  history_writer* hw = srv.history();
  if (!hw) co_return fail(errc::unsupported, "quarantine: the history is disabled in this daemon");
  using R = result<std::optional<store::quarantine_entry>>;
  auto read = [id](store::history& db) -> R { return db.quarantine_get(id); };
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw->async_call(read, R(fail(errc::temporary, "history queue full: try again")), ex,
                                asio::use_awaitable);
  R e = co_await std::move(pending);
  if (!e) co_return std::unexpected(e.error());
  if (!*e || (visible && !visible(**e)))
    co_return fail(errc::not_found, id + ": not in the quarantine");
  quarantined_message m;
  m.entry = std::move(**e);
  auto all = all_queues(srv);
  queue::queue_dir* q = quarantine_queue(
      m.entry, [&](const std::string& w) { return srv.find_queue(w); }, all);
  if (!q) {
    m.env = fail(errc::not_found, "the queued message is gone");
    co_return m;
  }
  m.queue = q->path().string();
  auto qid = *queue::queue_id::parse(id);
  // The control file and the message are read on a worker thread (net::offload).
  using loaded = std::pair<result<queue::envelope>, std::optional<std::string>>;
  auto load = [q, qid, with_body]() -> loaded {
    loaded out{q->load(qid), std::nullopt};
    if (with_body && out.first)
      if (auto d = q->read_data(qid)) out.second = queue::message_text(*out.first, std::move(*d));
    return out;
  };
  loaded got = co_await net::offload(load);
  m.env = std::move(got.first);
  m.text = std::move(got.second);
  co_return m;
}

// --- history ---

store::history_query search_query(const history_filter& f, std::int64_t now) {
  store::history_query q = f;  // the filters as given
  q.until = f.until ? f.until : now + 1;
  q.limit = std::min(f.limit ? f.limit : kHistorySearchMax, kHistorySearchMax);
  q.newest_first = true;
  return q;
}

asio::awaitable<result<std::vector<store::message_record>>> history_search(server& srv,
                                                                           history_filter f) {
  history_writer* hw = srv.history();
  if (!hw) co_return fail(errc::unsupported, "history: disabled in this daemon");
  using R = result<std::vector<store::message_record>>;
  // The filters run in SQL (store::history_query) over the whole range.
  auto read = [q = search_query(f, now_s())](store::history& db) -> R { return db.query(q); };
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw->async_call(read, R(fail(errc::temporary, "history queue full: try again")), ex,
                                asio::use_awaitable);
  R found = co_await std::move(pending);
  co_return found;
}

hourly_counts count_hourly(const std::vector<store::message_record>& records, std::int64_t start,
                           std::size_t hours) {
  hourly_counts h;
  h.start = start - start % 3600;
  h.hours = hours;
  auto add = [&](const std::string& key, const std::string& value, std::size_t slot) {
    auto& v = h.series[key][value.empty() ? "none" : value];
    if (v.size() != hours) v.assign(hours, 0);
    ++v[slot];
  };
  for (const auto& m : records) {
    if (m.time < h.start) continue;
    auto slot = static_cast<std::size_t>((m.time - h.start) / 3600);
    if (slot >= hours) continue;
    add("action", m.decision, slot);
    add("spf", m.spf_result, slot);
    add("dmarc", m.dmarc_result, slot);
  }
  return h;
}

asio::awaitable<result<hourly_counts>> dashboard(server& srv, std::size_t hours) {
  history_writer* hw = srv.history();
  if (!hw) co_return fail(errc::unsupported, "history: disabled in this daemon");
  hours = std::clamp<std::size_t>(hours, 1, 24 * 31);
  const std::int64_t now = now_s();
  const std::int64_t start = now - static_cast<std::int64_t>(hours - 1) * 3600;
  using R = result<hourly_counts>;
  auto read = [start, hours](store::history& db) -> R {
    store::history_query q;
    q.since = start - start % 3600;
    q.dir = store::direction::inbound;
    q.limit = kSimulateRecordsMax;
    auto l = db.query(q);
    if (!l) return std::unexpected(l.error());
    hourly_counts h = count_hourly(*l, start, hours);
    store::quarantine_query qq;
    auto open = db.quarantine_find(qq);
    if (open) h.quarantine_open = open->size();
    return h;
  };
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw->async_call(read, R(fail(errc::temporary, "history queue full: try again")), ex,
                                asio::use_awaitable);
  R out = co_await std::move(pending);
  co_return out;
}

// --- policy ---

asio::awaitable<result<policy::simulation>> simulate_spf(server& srv, std::string candidate,
                                                         std::int64_t since, bool exceptions) {
  policy::spf_policy_config cfg;
  {
    toml::table root;
    try {
      root = toml::parse(std::string_view(candidate), std::string_view("candidate"));
    } catch (const toml::parse_error& e) {
      co_return fail(errc::parse_error, "candidate:" + std::to_string(e.source().begin.line) +
                                            ": " + std::string(e.description()));
    }
    const toml::table* t = &root;
    if (auto* s = root.get_as<toml::table>("spf")) t = s;
    std::vector<std::string> errs;
    policy::read_spf_config(*t, "candidate", cfg, errs);
    if (!errs.empty()) {
      std::string msg;
      for (const auto& e : errs) msg += (msg.empty() ? "" : "\n") + e;
      co_return fail(errc::parse_error, msg);
    }
  }
  history_writer* hw = srv.history();
  if (!hw) co_return fail(errc::unsupported, "history: disabled in this daemon");
  using R = result<policy::simulation>;
  auto run = [cfg, since, exceptions](store::history& db) -> R {
    store::history_query q;
    q.since = since;
    q.dir = store::direction::inbound;
    q.limit = kSimulateRecordsMax;
    auto recs = db.query(q);
    if (!recs) return std::unexpected(recs.error());
    store::quarantine_query qq;
    qq.since = since;
    qq.include_released = qq.include_deleted = true;
    auto qs = db.quarantine_find(qq);
    if (!qs) return std::unexpected(qs.error());
    // XXX: the simulation itself runs on the history writer's thread (pure CPU over the
    // records); a large history delays the writes queued behind it.
    std::optional<policy::exception_set> exc;
    if (exceptions) {
      auto ex = db.exception_list(false);
      if (!ex) return std::unexpected(ex.error());
      exc.emplace(std::move(*ex));
    }
    return policy::simulate(cfg, *recs, *qs, nullptr, exc ? &*exc : nullptr,
                            static_cast<std::int64_t>(std::time(nullptr)));
  };
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw->async_call(run, R(fail(errc::temporary, "history queue full: try again")), ex,
                                asio::use_awaitable);
  R out = co_await std::move(pending);
  co_return out;
}

asio::awaitable<result<std::string>> spf_lint(server& srv, std::string domain, std::string record) {
  if (domain.empty() == record.empty())
    co_return fail(errc::invalid_argument, "give a domain or a record");
  if (!domain.empty()) {
    dns::resolver* res = srv.resolver();
    if (!res) co_return fail(errc::unsupported, "no resolver in this daemon");
    spf::lint_report r = co_await spf::lint_domain(*res, std::move(domain));
    co_return spf::format_report(r);
  }
  spf::lint_report r = co_await spf::lint_record(srv.resolver(), std::move(record));
  co_return spf::format_report(r);
}

// --- policy exceptions ---

asio::awaitable<result<std::vector<store::policy_exception>>> exceptions_list(server& srv,
                                                                              bool all) {
  history_writer* hw = srv.history();
  if (!hw) co_return fail(errc::unsupported, "exceptions: the history is disabled in this daemon");
  using R = result<std::vector<store::policy_exception>>;
  auto read = [all](store::history& db) -> R { return db.exception_list(all); };
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw->async_call(read, R(fail(errc::temporary, "history queue full: try again")), ex,
                                asio::use_awaitable);
  co_return co_await std::move(pending);
}

asio::awaitable<result<void>> exception_delete(server& srv, std::int64_t id, std::string by,
                                               std::string via) {
  history_writer* hw = srv.history();
  if (!hw) co_return fail(errc::unsupported, "exceptions: the history is disabled in this daemon");
  // The delete and the live list after it, so the snapshot is new before the answer.
  using L = std::optional<std::vector<store::policy_exception>>;
  using R = std::pair<result<void>, L>;
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto del = [id, by, now](store::history& db) -> R {
    auto r = db.exception_delete(id, by, now);
    L live;
    if (r)
      if (auto v = db.exception_list(false)) live = std::move(*v);
    return {r, std::move(live)};
  };
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw->async_call(del, R(fail(errc::temporary, "history queue full: try again"), L()),
                                ex, asio::use_awaitable);
  R r = co_await std::move(pending);
  if (r.first) {
    spdlog::info("policy exception deleted id={} by={} via={}", id, by, via);
    if (r.second)
      srv.set_exceptions(std::move(*r.second));
    else
      srv.refresh_exceptions();
  }
  co_return r.first;
}

asio::awaitable<result<release_allow_result>> release_allow(
    server& srv, std::string id, std::string scope, std::string net, std::string note,
    std::optional<std::int64_t> expires_at, std::string by, std::string via, visibility visible) {
  if (!queue::queue_id::valid(id)) co_return fail(errc::invalid_argument, "bad queue id");
  auto showing = quarantine_show(srv, id, false, visible);
  auto shown = co_await std::move(showing);
  if (!shown) co_return std::unexpected(shown.error());
  const store::quarantine_entry& q = shown->entry;
  store::policy_exception e;
  e.kind = scope;
  e.sender = q.sender;
  e.domain = store::sender_domain(q.sender);
  e.net = net.empty() && scope == "domain_net" ? policy::default_net(q.client_ip) : net;
  e.note = std::move(note);
  e.expires_at = expires_at;
  e.queue_id = id;
  e.created_by = by;
  if (q.sender.empty()) co_return fail(errc::invalid_argument, "the null sender cannot be allowed");
  if (auto ok = policy::normalize_scope(e); !ok) co_return std::unexpected(ok.error());
  release_allow_result out;
  // Named steps: g++ 12 mishandles temporaries in a co_await's argument list.
  std::vector<std::string> ids{id};
  auto releasing = quarantine_act(srv, quarantine_op::release, std::move(ids), by, via, visible);
  auto rel = co_await std::move(releasing);
  if (!rel) co_return std::unexpected(rel.error());
  out.release = rel->empty() ? item_result{id, false, "", "no result", ""} : rel->front();
  if (!out.release.ok) co_return out;
  history_writer* hw = srv.history();
  using L = std::optional<std::vector<store::policy_exception>>;
  using R = std::pair<result<std::int64_t>, L>;
  e.created_at = static_cast<std::int64_t>(std::time(nullptr));
  auto add = [e](store::history& db) -> R {
    auto r = db.exception_add(e);
    L live;
    if (r)
      if (auto v = db.exception_list(false)) live = std::move(*v);
    return {r, std::move(live)};
  };
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw->async_call(add, R(fail(errc::temporary, "history queue full: try again"), L()),
                                ex, asio::use_awaitable);
  R added = co_await std::move(pending);
  if (!added.first) co_return std::unexpected(added.first.error());
  e.id = *added.first;
  if (added.second) srv.set_exceptions(std::move(*added.second));
  spdlog::info(
      "policy exception added id={} scope={} sender={} domain={} net={} by={} via={} qid={}", e.id,
      e.kind, e.sender.empty() ? "-" : e.sender, e.domain, e.net.empty() ? "-" : e.net, by, via,
      id);
  if (!added.second) srv.refresh_exceptions();
  out.exception = std::move(e);
  co_return out;
}

}  // namespace mxg::gateway::admin
