// remote_release.cpp: see remote_release.hpp.
#include "gateway/remote_release.hpp"

#include <spdlog/spdlog.h>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <ctime>
#include <utility>
#include <vector>

#include "gateway/history_writer.hpp"
#include "gateway/quarantine_expiry.hpp"
#include "gateway/server.hpp"

namespace mxg::gateway {

namespace {
using pending_t =
    std::vector<std::pair<store::remote_release, std::optional<store::quarantine_entry>>>;
}

remote_release_worker::remote_release_worker(server& srv, history_writer& hw)
    : srv_(srv), hw_(hw), timer_(srv.io()) {}

void remote_release_worker::start() {
  poll();
}

void remote_release_worker::stop() {
  *alive_ = false;
  timer_.cancel();
}

void remote_release_worker::poll() {
  if (!*alive_) return;
  const std::string host = hw_.host_id();
  auto read = [host](store::history& db) {
    pending_t out;
    auto p = db.remote_release_pending(host);
    if (!p) return out;
    for (auto& r : *p) {
      auto e = db.quarantine_get(r.queue_id);
      out.emplace_back(r, e && *e ? std::optional<store::quarantine_entry>(**e) : std::nullopt);
    }
    return out;
  };
  hw_.async_call(read, pending_t{}, srv_.io().get_executor(),
                 [this, alive = alive_](pending_t pending) {
                   if (!*alive) return;
                   for (const auto& [rr, e] : pending) carry_out(rr, e);
                   timer_.expires_after(kRemoteReleasePoll);
                   timer_.async_wait([this, alive](const asio::error_code& ec) {
                     if (!ec && *alive) poll();
                   });
                 });
}

void remote_release_worker::carry_out(const store::remote_release& rr,
                                      const std::optional<store::quarantine_entry>& e) {
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::string outcome;
  if (!e) {
    outcome = rr.queue_id + ": not in the quarantine";
  } else {
    std::vector<queue::queue_dir*> all;
    for (auto& [path, q] : srv_.queues()) all.push_back(q.get());
    queue::queue_dir* q = quarantine_queue(
        *e, [&](const std::string& w) { return srv_.find_queue(w); }, all);
    result<void> r = quarantine_entry_open(*e);
    if (r && !q)
      r = fail(errc::not_found, rr.queue_id + ": no queue of this daemon holds it");
    else if (r)
      r = quarantine_queue_op(*q, *e, quarantine_op::release);
    if (r) {
      hw_.quarantine_release(rr.queue_id, rr.requested_by, now);
      srv_.message_released(*q, rr.queue_id);
      outcome = "released";
      spdlog::info("quarantine released qid={} by={} via=remote-release request={}", rr.queue_id,
                   rr.requested_by, rr.id);
    } else {
      outcome = r.error().message;
      spdlog::warn("remote release qid={} request={} failed: {}", rr.queue_id, rr.id, outcome);
    }
  }
  auto done = [id = rr.id, outcome, now](store::history& db) {
    return static_cast<bool>(db.remote_release_done(id, outcome, now));
  };
  hw_.async_call(done, false, srv_.io().get_executor(), [](bool) {});
}

bool held_elsewhere(const history_writer& hw, const store::quarantine_entry& e) {
  return !e.host.empty() && !hw.host_id().empty() && e.host != hw.host_id();
}

std::string request_remote_release_now(store::history& db, const store::quarantine_entry& e,
                                       const std::string& by, std::int64_t when) {
  auto r = db.remote_release_request(e.queue_id, e.host, by, when);
  return r ? std::string() : r.error().message;
}

namespace {
void log_requests(const std::vector<store::quarantine_entry>& entries,
                  const std::vector<std::string>& errors) {
  for (std::size_t i = 0; i < entries.size() && i < errors.size(); ++i)
    if (errors[i].empty())
      spdlog::info("quarantine remote release requested qid={} host={}", entries[i].queue_id,
                   entries[i].host);
    else
      spdlog::error("quarantine remote release qid={} host={} not requested: {}",
                    entries[i].queue_id, entries[i].host, errors[i]);
}
}  // namespace

asio::awaitable<std::vector<std::string>> request_remote_releases(
    history_writer& hw, std::vector<store::quarantine_entry> entries, std::string by,
    std::int64_t when) {
  if (entries.empty()) co_return std::vector<std::string>{};
  auto ask = [entries, by, when](store::history& db) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(request_remote_release_now(db, e, by, when));
    return out;
  };
  // Named steps: g++ 12 mishandles temporaries in a co_await's argument list.
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = hw.async_write(ask, ex, asio::use_awaitable);
  result<std::vector<std::string>> written = co_await std::move(pending);
  // Not committed: none of them is requested, whatever each statement answered.
  std::vector<std::string> out =
      written ? std::move(*written)
              : std::vector<std::string>(entries.size(), written.error().message);
  out.resize(entries.size());
  log_requests(entries, out);
  co_return out;
}

}  // namespace mxg::gateway
