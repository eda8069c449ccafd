// delivery_hook.cpp: see delivery_hook.hpp. Wraps delivery::scheduler (src/delivery)
// with the server's c-ares resolver and the routing table of the config ([routing] table,
// loaded and checked by the server: preflight.hpp). Hold-mode messages are skipped by the
// scheduler itself; queueonly ones wait for a queue run. If the resolver cannot be set
// up, the gateway still accepts and queues mail (nothing is lost) and says at error
// level, for every message it keeps, that delivery is off and why.
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
  std::shared_ptr<const delivery::routing_table> routes;
  std::string routes_file;
};

delivery_hook::delivery_hook(server& srv)
    : p_(std::make_unique<impl>(impl{srv, nullptr, {}, {}, {}, {}})) {}
delivery_hook::~delivery_hook() = default;

delivery_state delivery_hook::state() const {
  delivery_state s;
  s.on = p_->sched != nullptr;
  s.reason = s.on ? "" : p_->off_reason;
  s.routing_table = p_->routes_file;
  s.rules = p_->routes ? p_->routes->rules().size() : 0;
  return s;
}

void delivery_hook::set_routes(std::shared_ptr<const delivery::routing_table> routes) {
  if (!p_->sched) {
    start(std::move(routes));
    return;
  }
  p_->routes = routes;
  p_->routes_file = p_->srv.cfg().routing_table;
  p_->sched->set_routes(std::move(routes));
}

void delivery_hook::start(std::shared_ptr<const delivery::routing_table> routes) {
  const config& c = p_->srv.cfg();
  if (!routes) routes = std::make_shared<const delivery::routing_table>();
  p_->routes = routes;
  p_->routes_file = c.routing_table;
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
  p_->off_reason.clear();
  spdlog::info("delivery on routing_table={} rules={}",
               c.routing_table.empty() ? "none" : c.routing_table, routes->rules().size());
}

void delivery_hook::stop() {
  if (p_->sched) p_->sched->stop();
}

void delivery_hook::deliver_now(queue::queue_dir& q, const std::string& qid) {
  auto id = queue::queue_id::parse(qid);
  if (!p_->sched || !id) {
    spdlog::error("delivery off: qid={} stays in the queue: {}", qid,
                  p_->off_reason.empty() ? "bad queue id" : p_->off_reason);
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
