// delivery_hook.cpp: see delivery_hook.hpp. Wraps delivery::scheduler (src/delivery)
// with the server's c-ares resolver and the routing table of the config ([routing] table).
// Hold-mode messages are skipped by the scheduler itself; queueonly ones wait for a
// queue run. If the resolver or the routing table cannot be set up, the gateway
// still accepts and queues mail (nothing is lost) and logs why delivery is off.
#include "gateway/delivery_hook.hpp"
#include <ctime>

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

#include "delivery/routing.hpp"
#include "delivery/scheduler.hpp"
#include "dns/cares_resolver.hpp"
#include "gateway/server.hpp"

namespace mxg::gateway {

struct delivery_hook::impl {
  server& srv;
  dns::resolver* resolver = nullptr;  // the server's ([dns])
  std::unique_ptr<delivery::scheduler> sched;
  std::string off_reason;
};

delivery_hook::delivery_hook(server& srv)
    : p_(std::make_unique<impl>(impl{srv, nullptr, {}, {}})) {}
delivery_hook::~delivery_hook() = default;

void delivery_hook::start() {
  const config& c = p_->srv.cfg();
  auto routes = std::make_shared<delivery::routing_table>();
  if (!c.routing_table.empty()) {
    auto t = delivery::routing_table::load(c.routing_table);
    if (!t) {
      p_->off_reason = t.error().message;
      spdlog::error("delivery off: routing table: {}", t.error().message);
      return;
    }
    *routes = std::move(*t);
  }
  // The server's resolver ([dns]); uncached: the scheduler keeps its own retry state.
  p_->resolver = p_->srv.delivery_resolver();
  if (!p_->resolver) {
    p_->off_reason = "no DNS resolver (see the dns line at start)";
    spdlog::error("delivery off: {}", p_->off_reason);
    return;
  }
  delivery::delivery_options o;
  o.hostname = c.listeners.empty() ? "localhost" : c.listeners.front().hostname;
  if (c.queue_run_interval.count() > 0)
    o.queue_run_interval = std::chrono::duration_cast<std::chrono::seconds>(c.queue_run_interval);
  // Issue 4 section 3: sign our envelope senders so bounces to them can be verified.
  // The filter in force is asked each time, so a reload changes the secret at once.
  server* srv = &p_->srv;
  o.outbound_sender = [srv](const std::string& sender) {
    auto f = srv->backscatter();
    if (!f) return sender;
    return f->outbound_sender(sender,
                              policy::batv::day_of(static_cast<std::int64_t>(std::time(nullptr))));
  };
  p_->sched =
      std::make_unique<delivery::scheduler>(p_->srv.io().get_executor(), *p_->resolver, routes, o);
  for (auto& [path, q] : p_->srv.queues()) p_->sched->add_queue(*q);
  p_->sched->start();
}

void delivery_hook::stop() {
  if (p_->sched) p_->sched->stop();
}

void delivery_hook::deliver_now(queue::queue_dir& q, const std::string& qid) {
  auto id = queue::queue_id::parse(qid);
  if (!p_->sched || !id) {
    spdlog::info("delivery deferred qid={} reason=\"delivery off: {}\"", qid, p_->off_reason);
    return;
  }
  p_->sched->deliver_now(q, *id);
}

asio::awaitable<std::string> delivery_hook::run(queue::queue_dir& q, std::vector<std::string> ids) {
  if (!p_->sched) co_return "queue run: delivery is off: " + p_->off_reason + "\n";
  std::vector<queue::queue_id> qids;
  for (auto& s : ids)
    if (auto id = queue::queue_id::parse(s)) qids.push_back(*id);
  auto out = co_await p_->sched->run(q, std::move(qids));
  co_return delivery::format_outcomes(out);
}

}  // namespace mxg::gateway
