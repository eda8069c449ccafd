// quarantine_expiry.cpp: see quarantine_expiry.hpp (issue 9 section 3).
#include "gateway/quarantine_expiry.hpp"

#include <spdlog/spdlog.h>

#include <ctime>
#include <filesystem>

#include "base/time.hpp"
#include "gateway/history_writer.hpp"
#include "gateway/server.hpp"
#include "queue/report.hpp"

namespace mxg::gateway {

result<void> quarantine_entry_open(const store::quarantine_entry& e) {
  if (e.released_at)
    return fail(errc::not_found, e.queue_id + ": already released by " + e.released_by + " at " +
                                     base::iso8601_utc(*e.released_at));
  if (e.deleted_at)
    return fail(errc::not_found, e.queue_id + ": already deleted by " + e.deleted_by + " at " +
                                     base::iso8601_utc(*e.deleted_at));
  return {};
}

result<void> quarantine_queue_op(queue::queue_dir& q, const store::quarantine_entry& e,
                                 quarantine_op op) {
  if (auto open = quarantine_entry_open(e); !open) return open;
  auto id = queue::queue_id::parse(e.queue_id);
  if (!id) return std::unexpected(id.error());
  auto env = q.load(*id);
  if (!env) {
    if (op == quarantine_op::remove && env.error().code == errc::not_found) return {};
    return std::unexpected(env.error());
  }
  if (!queue::quarantined(*env))
    return fail(errc::not_found, e.queue_id +
                                     ": already released (the queued message is no "
                                     "longer quarantined)");
  if (op == quarantine_op::remove) return q.remove(*id);
  bool was_quarantined = false;
  auto r = q.release(*id, &was_quarantined);
  if (!r) return std::unexpected(r.error());
  // Released between load and release by someone else: their release counted.
  if (!was_quarantined) return fail(errc::not_found, e.queue_id + ": already released");
  return {};
}

queue::queue_dir* quarantine_queue(const store::quarantine_entry& e,
                                   const std::function<queue::queue_dir*(const std::string&)>& find,
                                   const std::vector<queue::queue_dir*>& all) {
  if (!e.listener.empty())
    if (auto* q = find(e.listener)) return q;
  if (!e.queue_dir.empty())
    if (auto* q = find(e.queue_dir)) return q;
  auto id = queue::queue_id::parse(e.queue_id);
  if (!id) return nullptr;
  for (auto* q : all) {
    if (q->contains(*id)) return q;
  }
  return nullptr;
}

std::size_t expire_entries(
    const std::vector<store::quarantine_entry>& entries,
    const std::function<queue::queue_dir*(const store::quarantine_entry&)>& queue_of,
    history_writer& hw, std::int64_t now) {
  std::size_t n = 0;
  for (const auto& e : entries) {
    queue::queue_dir* q = queue_of(e);
    result<void> r;
    if (q) r = quarantine_queue_op(*q, e, quarantine_op::remove);
    // No queue holds it: the message is gone; the entry is closed all the same.
    if (!r) {
      spdlog::warn("quarantine expiry qid={} error=\"{}\"", e.queue_id, r.error().message);
      continue;
    }
    hw.quarantine_delete(e.queue_id, "expiry", now);
    spdlog::info("quarantine expired qid={} age={}s", e.queue_id, now - e.time);
    ++n;
  }
  return n;
}

void expire_quarantine(server& srv, std::chrono::seconds retention) {
  history_writer* hw = srv.history();
  if (!hw) return;
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  store::quarantine_query query;
  query.until = now - retention.count();
  query.limit = kExpiryBatchMax;
  // Issue 14: with a shared index, only the entries whose body this gateway holds; their
  // owner expires the others (marking them here would leave the owner's queued body
  // forever). Filtered in the query, so the batch limit counts ours alone: a host that
  // is down for good does not keep its oldest entries ahead of ours.
  query.host = hw->host_id();
  if (query.until <= 0) return;
  auto find = [query](store::history& db) { return db.quarantine_find(query); };
  using found = result<std::vector<store::quarantine_entry>>;
  hw->async_call(find, found(fail(errc::temporary, "history queue full")), srv.io().get_executor(),
                 [&srv, now](found r) {
                   history_writer* w = srv.history();
                   if (!r || !w) {
                     if (!r) spdlog::warn("quarantine expiry error=\"{}\"", r.error().message);
                     return;
                   }
                   std::vector<queue::queue_dir*> all;
                   for (auto& [path, q] : srv.queues()) all.push_back(q.get());
                   auto queue_of = [&](const store::quarantine_entry& e) {
                     return quarantine_queue(
                         e, [&](const std::string& w) { return srv.find_queue(w); }, all);
                   };
                   auto n = expire_entries(*r, queue_of, *w, now);
                   if (n) spdlog::info("quarantine expiry expired={}", n);
                 });
}

}  // namespace mxg::gateway
