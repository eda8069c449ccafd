// remote_release.cpp: see remote_release.hpp.
#include "gateway/remote_release.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <cerrno>
#include <cstring>
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

remote_release_worker::remote_release_worker(server& srv, history_writer& hw, std::string dsn,
                                             std::chrono::milliseconds poll)
    : srv_(srv), hw_(hw), dsn_(std::move(dsn)), poll_every_(poll), timer_(srv.io()) {}

remote_release_worker::~remote_release_worker() {
  stop();
}

void remote_release_worker::start() {
  listen();
  poll();
}

void remote_release_worker::stop() {
  *alive_ = false;
  timer_.cancel();
  if (sock_) {
    std::error_code ec;
    sock_->close(ec);
    sock_.reset();
  }
  conn_.reset();
}

void remote_release_worker::arm_timer() {
  timer_.expires_after(poll_every_);
  timer_.async_wait([this, alive = alive_](const asio::error_code& ec) {
    if (ec || !*alive) return;
    listen();  // a lost LISTEN connection is opened again at the fallback's pace
    poll();
  });
}

void remote_release_worker::poll() {
  if (!*alive_) return;
  if (polling_) {  // a read is in flight: one more right after it
    again_ = true;
    return;
  }
  polling_ = true;
  timer_.cancel();
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
                   polling_ = false;
                   for (const auto& [rr, e] : pending) carry_out(rr, e);
                   if (std::exchange(again_, false))
                     poll();
                   else
                     arm_timer();
                 });
}

void remote_release_worker::listen() {
  if (!*alive_ || dsn_.empty() || conn_ || connecting_) return;
  connecting_ = true;
  // Connecting blocks (up to the DSN's connect_timeout): on the writer thread, never
  // the io thread. The connection comes back owned, so it is closed whatever happens.
  auto open = [dsn = dsn_](store::history&) -> std::pair<std::shared_ptr<void>, std::string> {
    std::shared_ptr<void> c(PQconnectdb(dsn.c_str()),
                            [](void* p) { PQfinish(static_cast<PGconn*>(p)); });
    auto* pc = static_cast<PGconn*>(c.get());
    auto why = [&] {
      std::string m = pc ? PQerrorMessage(pc) : "out of memory";
      while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
      return m;
    };
    if (!pc || PQstatus(pc) != CONNECTION_OK) return {nullptr, why()};
    PGresult* r = PQexec(pc, "LISTEN mxguard_release");
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || PQsetnonblocking(pc, 1) != 0) return {nullptr, why()};
    return {std::move(c), std::string()};
  };
  using opened = std::pair<std::shared_ptr<void>, std::string>;
  hw_.async_call(open, opened{nullptr, "history queue full"}, srv_.io().get_executor(),
                 [this, alive = alive_](opened o) {
                   if (!*alive) return;
                   connecting_ = false;
                   auto* pc = static_cast<PGconn*>(o.first.get());
                   int fd = pc ? ::dup(PQsocket(pc)) : -1;
                   if (!pc || fd < 0) {
                     if (!listen_failed_)
                       spdlog::warn("remote releases: LISTEN failed ({}): polling every {}ms",
                                    pc ? std::strerror(errno) : o.second, poll_every_.count());
                     listen_failed_ = true;
                     return;
                   }
                   conn_ = std::move(o.first);
                   sock_ = std::make_unique<asio::posix::stream_descriptor>(srv_.io(), fd);
                   listen_failed_ = false;
                   spdlog::info(
                       "remote releases: LISTEN mxguard_release host={} (fallback poll every "
                       "{}ms)",
                       hw_.host_id(), poll_every_.count());
                   watch();
                   poll();  // what was asked while not listening
                 });
}

void remote_release_worker::watch() {
  if (!sock_) return;
  sock_->async_wait(asio::posix::stream_descriptor::wait_read,
                    [this, alive = alive_](const asio::error_code& ec) {
                      if (ec || !*alive || !conn_) return;
                      auto* pc = static_cast<PGconn*>(conn_.get());
                      // Reads what the socket has (non-blocking); notifications queue up.
                      if (PQconsumeInput(pc) == 0 || PQstatus(pc) != CONNECTION_OK) {
                        std::string m = PQerrorMessage(pc);
                        while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
                        return drop_listener(m);
                      }
                      bool mine = false;
                      while (PGnotify* n = PQnotifies(pc)) {
                        if (n->extra && hw_.host_id() == n->extra) mine = true;
                        PQfreemem(n);
                      }
                      if (mine) {
                        spdlog::debug("remote releases: notified");
                        poll();
                      }
                      watch();
                    });
}

void remote_release_worker::drop_listener(const std::string& why) {
  spdlog::warn("remote releases: LISTEN connection lost ({}): polling every {}ms, reconnecting",
               why, poll_every_.count());
  if (sock_) {
    std::error_code ec;
    sock_->close(ec);
    sock_.reset();
  }
  conn_.reset();
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
