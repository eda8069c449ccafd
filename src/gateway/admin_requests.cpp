// admin_requests.cpp: release requests (issue 11), see admin.hpp "release requests".
// A request is a row of the store's release_requests (store/history.hpp); approving it
// is the ordinary release of quarantine_act, so exactly-once, the index record
// (released_by = the approving admin) and the remote release of a message another
// gateway holds (docs/scaling.md) all apply unchanged.
// Exactly once: approval first claims the row (pending -> approved, a conditional
// update): of two admins approving at once one wins, the other is told "approved
// already", and only the winner releases.
// Threads: called on the io thread; the store is read and written on the history
// writer's thread (async_write: a request is said filed or decided only once committed).
#include <spdlog/spdlog.h>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <ctime>

#include "gateway/admin.hpp"
#include "gateway/history_writer.hpp"
#include "gateway/quarantine_expiry.hpp"
#include "gateway/server.hpp"

namespace mxg::gateway::admin {

namespace {

std::int64_t now_s() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

result<history_writer*> writer_of(server& srv) {
  history_writer* hw = srv.history();
  if (!hw) return fail(errc::unsupported, "requests: the history is disabled in this daemon");
  return hw;
}

// Why a message is no longer held ("" while it is): the request's cancel note.
std::string gone_reason(const std::optional<store::quarantine_entry>& e) {
  if (!e) return "the message is not in the quarantine index";
  if (auto open = quarantine_entry_open(*e); !open) return open.error().message;
  return "";
}

// One decision on a pending request (approve's claim, deny), on the writer thread: a
// conditional update, so of two admins deciding at once one wins and the other is told
// the state it found; the row as it is afterwards.
result<request_decision> decide_pending(store::history& db, std::int64_t id, const char* to,
                                        const std::string& by, std::int64_t now,
                                        const std::string& note) {
  request_decision d;
  auto got = db.request_get(id);
  if (!got) return std::unexpected(got.error());
  if (!*got) return fail(errc::not_found, "request " + std::to_string(id) + ": no such request");
  if (auto r = db.request_decide(id, "pending", to, by, now, note); r) {
    d.ok = true;
    if (auto again = db.request_get(id); again && *again) got = std::move(again);
  } else {
    d.error = "request " + std::to_string(id) + " is " + (*got)->state + " already";
  }
  d.req = std::move(**got);
  return d;
}

}  // namespace

asio::awaitable<result<std::vector<item_result>>> request_release(
    server& srv, std::vector<std::string> ids, std::string by, std::string comment, std::string via,
    visibility visible) {
  for (const auto& a : ids)
    if (!queue::queue_id::valid(a)) co_return fail(errc::invalid_argument, "bad queue id");
  auto hw = writer_of(srv);
  if (!hw) co_return std::unexpected(hw.error());
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  // One write on the writer thread: read each entry, refuse the ones not visible or not
  // held, file the others (committed before the answer).
  const std::int64_t now = now_s();
  auto file = [ids, by, comment, visible, now](store::history& db) {
    std::vector<item_result> out;
    for (const auto& id : ids) {
      item_result it;
      it.id = id;
      auto e = db.quarantine_get(id);
      if (!e) {
        it.error = e.error().message;
      } else if (!*e || (visible && !visible(**e))) {
        it.error = id + ": not in the quarantine";
      } else if (auto open = quarantine_entry_open(**e); !open) {
        it.error = open.error().message;
      } else {
        store::release_request r;
        r.queue_id = id;
        r.host = (*e)->host;
        r.requested_by = by;
        r.requested_at = now;
        r.comment = comment;
        if (auto added = db.request_add(r)) {
          it.ok = true;
          it.request = added->id;
        } else {
          it.error = id + ": " + added.error().message;
        }
      }
      out.push_back(std::move(it));
    }
    return out;
  };
  auto pending = (*hw)->async_write(file, ex, asio::use_awaitable);
  result<std::vector<item_result>> r = co_await std::move(pending);
  if (!r) co_return std::unexpected(r.error());
  for (const auto& it : *r)
    if (it.ok)
      spdlog::info("quarantine release requested qid={} request={} by={} via={}", it.id, it.request,
                   by, via);
  co_return r;
}

asio::awaitable<result<std::vector<item_result>>> release_or_request(
    server& srv, std::vector<std::string> ids, std::string by, std::string via, visibility visible,
    approval_rule needs_approval) {
  for (const auto& a : ids)
    if (!queue::queue_id::valid(a)) co_return fail(errc::invalid_argument, "bad queue id");
  auto hw = writer_of(srv);
  if (!hw) co_return std::unexpected(hw.error());
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto read = [ids](store::history& db) { return read_entries(db, ids); };
  found_entries fallback;
  for (std::size_t i = 0; i < ids.size(); ++i)
    fallback.push_back(fail(errc::temporary, "history queue full: try again"));
  auto reading = (*hw)->async_call(read, std::move(fallback), ex, asio::use_awaitable);
  found_entries found = co_await std::move(reading);
  std::vector<std::string> to_request, to_release;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const bool approval = i < found.size() && found[i] && *found[i] &&
                          (!visible || visible(**found[i])) && needs_approval &&
                          needs_approval(**found[i]);
    (approval ? to_request : to_release).push_back(ids[i]);
  }
  std::vector<item_result> requested, released;
  if (!to_request.empty()) {
    auto filing = request_release(srv, to_request, by, "", via, visible);
    auto r = co_await std::move(filing);
    if (!r) co_return std::unexpected(r.error());
    requested = std::move(*r);
  }
  if (!to_release.empty()) {
    auto releasing = quarantine_act(srv, quarantine_op::release, to_release, by, via, visible);
    auto r = co_await std::move(releasing);
    if (!r) co_return std::unexpected(r.error());
    released = std::move(*r);
  }
  // Back in the order of ids.
  std::vector<item_result> out;
  std::size_t a = 0, b = 0;
  for (const auto& id : ids) {
    if (a < to_request.size() && to_request[a] == id && a < requested.size())
      out.push_back(requested[a++]);
    else if (b < released.size())
      out.push_back(released[b++]);
  }
  co_return out;
}

asio::awaitable<result<std::vector<request_info>>> requests_list(server& srv, std::string state,
                                                                 std::size_t limit) {
  auto hw = writer_of(srv);
  if (!hw) co_return std::unexpected(hw.error());
  if (limit == 0 || limit > kRequestListMax) limit = kRequestListMax;
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  const std::int64_t now = now_s();
  using R = result<std::vector<request_info>>;
  auto list = [state, limit, now](store::history& db) -> R {
    // Pending requests whose message left the quarantine: resolved as cancelled first,
    // so every listed pending request can still be approved.
    auto pending = db.request_list("pending", kRequestListMax);
    if (!pending) return std::unexpected(pending.error());
    for (const auto& p : *pending) {
      auto e = db.quarantine_get(p.queue_id);
      if (!e) return std::unexpected(e.error());
      if (std::string why = gone_reason(*e); !why.empty()) {
        if (db.request_decide(p.id, "pending", "cancelled", "", now, why))
          spdlog::info("quarantine request cancelled request={} qid={}: {}", p.id, p.queue_id, why);
      }
    }
    auto reqs = db.request_list(state, limit);
    if (!reqs) return std::unexpected(reqs.error());
    std::vector<request_info> out;
    for (auto& r : *reqs) {
      auto e = db.quarantine_get(r.queue_id);
      if (!e) return std::unexpected(e.error());
      out.push_back({std::move(r), std::move(*e)});
    }
    return out;
  };
  auto listing = (*hw)->async_write(list, ex, asio::use_awaitable);
  result<R> r = co_await std::move(listing);
  if (!r) co_return std::unexpected(r.error());
  co_return std::move(*r);
}

asio::awaitable<result<request_decision>> request_approve(server& srv, std::int64_t id,
                                                          std::string by, std::string via) {
  auto hw = writer_of(srv);
  if (!hw) co_return std::unexpected(hw.error());
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  const std::int64_t now = now_s();
  // The claim: pending -> approved by this admin; the row as it is afterwards.
  using C = result<request_decision>;
  auto claim = [id, by, now](store::history& db) -> C {
    return decide_pending(db, id, "approved", by, now, "");
  };
  auto claiming = (*hw)->async_write(claim, ex, asio::use_awaitable);
  result<C> claimed = co_await std::move(claiming);
  if (!claimed) co_return std::unexpected(claimed.error());
  if (!*claimed) co_return std::unexpected(claimed->error());
  request_decision d = std::move(**claimed);
  if (!d.ok) co_return d;
  const std::string qid = d.req.queue_id;
  std::vector<std::string> ids{qid};
  auto releasing = quarantine_act(srv, quarantine_op::release, std::move(ids), by,
                                  via + " request=" + std::to_string(id));
  auto rel = co_await std::move(releasing);
  d.release = !rel           ? item_result{qid, false, "", rel.error().message, "", 0}
              : rel->empty() ? item_result{qid, false, "", "no result", "", 0}
                             : rel->front();
  if (d.release.ok) {
    spdlog::info("quarantine request approved request={} qid={} by={} via={}{}", id, qid, by, via,
                 d.release.pending_host.empty() ? "" : " pending_host=" + d.release.pending_host);
    co_return d;
  }
  // Not released: cancelled when the message is no longer held, else pending again.
  d.ok = false;
  d.error = d.release.error;
  const std::string err = d.release.error;
  using U = result<store::release_request>;
  auto undo = [id, qid, by, err, now](store::history& db) -> U {
    auto e = db.quarantine_get(qid);
    std::string why = e ? gone_reason(*e) : "";
    auto r = why.empty() ? db.request_decide(id, "approved", "pending", "", now,
                                             "approval failed, try again: " + err)
                         : db.request_decide(id, "approved", "cancelled", by, now, why);
    if (!r) return std::unexpected(r.error());
    auto got = db.request_get(id);
    if (!got) return std::unexpected(got.error());
    if (!*got) return fail(errc::not_found, "request " + std::to_string(id) + " vanished");
    return std::move(**got);
  };
  auto undoing = (*hw)->async_write(undo, ex, asio::use_awaitable);
  result<U> undone = co_await std::move(undoing);
  if (undone && *undone) d.req = std::move(**undone);
  spdlog::info("quarantine request not approved request={} qid={} by={} via={} state={}: {}", id,
               qid, by, via, d.req.state, err);
  co_return d;
}

asio::awaitable<result<request_decision>> request_deny(server& srv, std::int64_t id, std::string by,
                                                       std::string note, std::string via) {
  auto hw = writer_of(srv);
  if (!hw) co_return std::unexpected(hw.error());
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  const std::int64_t now = now_s();
  using C = result<request_decision>;
  auto deny = [id, by, note, now](store::history& db) -> C {
    return decide_pending(db, id, "denied", by, now, note);
  };
  auto denying = (*hw)->async_write(deny, ex, asio::use_awaitable);
  result<C> r = co_await std::move(denying);
  if (!r) co_return std::unexpected(r.error());
  if (*r && (*r)->ok)
    spdlog::info("quarantine request denied request={} qid={} by={} via={}", id, (*r)->req.queue_id,
                 by, via);
  co_return std::move(*r);
}

}  // namespace mxg::gateway::admin
