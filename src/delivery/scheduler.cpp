// scheduler.cpp: delivery attempts of queued messages, queue runs, the periodic loop
// and DSN generation (see scheduler.hpp).
#include "delivery/scheduler.hpp"
#include "base/spawn.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "delivery/dsn.hpp"
#include "net/offload.hpp"

namespace mxg::delivery {

namespace {

using sys_clock = std::chrono::system_clock;

queue::time_point to_queue_time(sys_clock::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

sys_clock::time_point now_of(const delivery_options& o) {
  return o.clock ? o.clock() : sys_clock::now();
}

// Log-safe one-line text (replies come from peers).
std::string log_text(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += (c < 0x20 || c == 0x7f || c == '"') ? '?' : static_cast<char>(c);
  return out;
}

const char* status_word(queue::rcpt_status s) {
  switch (s) {
    case queue::rcpt_status::delivered:
      return "sent";
    case queue::rcpt_status::failed:
      return "bounced";
    case queue::rcpt_status::deferred:
      return "deferred";
    case queue::rcpt_status::pending:
      return "pending";
  }
  return "?";
}

}  // namespace

bool recipient_due(const queue::recipient& r, trigger t, sys_clock::time_point now) {
  if (r.status == queue::rcpt_status::pending) return true;
  if (r.status != queue::rcpt_status::deferred) return false;
  if (t == trigger::manual_run) return true;  // a queue run ignores the backoff (postqueue -f)
  return !r.next_attempt || *r.next_attempt <= to_queue_time(now);
}

std::vector<std::size_t> apply_results(
    queue::envelope& env, const std::vector<std::pair<std::size_t, rcpt_result>>& results,
    sys_clock::time_point now, const retry_policy& policy) {
  std::vector<std::size_t> failed;
  ++env.attempts;
  const auto next = to_queue_time(now) + policy.delay_after(env.attempts);
  for (const auto& [i, r] : results) {
    auto& rc = env.recipients.at(i);
    rc.reply = r.reply;
    if (r.delivered()) {
      rc.status = queue::rcpt_status::delivered;
      rc.next_attempt.reset();
    } else if (r.permanent()) {
      rc.status = queue::rcpt_status::failed;
      rc.next_attempt.reset();
      failed.push_back(i);
    } else {  // 4yz, or no reply at all: try again later (RFC 5321 4.2.1, 4.5.4.1)
      rc.status = queue::rcpt_status::deferred;
      rc.next_attempt = next;
    }
  }
  // RFC 5321 4.5.4.1: give up after the maximum queue lifetime.
  if (policy.expired(env.created, to_queue_time(now))) {
    for (std::size_t i = 0; i < env.recipients.size(); ++i) {
      auto& rc = env.recipients[i];
      if (rc.status != queue::rcpt_status::deferred) continue;
      rc.status = queue::rcpt_status::failed;
      rc.next_attempt.reset();
      rc.reply =
          (rc.reply.empty() ? std::string("451 4.4.7 no delivery attempt succeeded") : rc.reply) +
          " (gave up: message older than " + std::to_string(policy.lifetime.count() / 3600) +
          " hours, RFC 5321 4.5.4.1)";
      failed.push_back(i);
    }
  }
  env.next_attempt.reset();
  for (const auto& rc : env.recipients)
    if (rc.status == queue::rcpt_status::deferred && rc.next_attempt &&
        (!env.next_attempt || *rc.next_attempt < *env.next_attempt))
      env.next_attempt = rc.next_attempt;
  return failed;
}

asio::awaitable<message_outcome> attempt_message(queue::queue_dir& q, const queue::queue_id& id,
                                                 trigger t, dns::resolver& resolver,
                                                 const routing_table& routes,
                                                 const delivery_options& opts,
                                                 asio::ssl::context* tls) {
  message_outcome out;
  out.id = id;
  auto env = q.load(id);
  if (!env) {
    out.error = env.error().message;
    spdlog::error("delivery qid={} error=\"{}\"", id.str(), log_text(out.error));
    co_return out;
  }
  if (env->mode == queue::delivery_mode::hold) {
    out.skipped = "held";
    co_return out;
  }
  if (t == trigger::immediate && env->mode != queue::delivery_mode::deliver) {
    out.skipped = "queueonly (delivered on queue runs)";
    co_return out;
  }
  const auto now = now_of(opts);
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < env->recipients.size(); ++i)
    if (recipient_due(env->recipients[i], t, now)) todo.push_back(i);
  if (todo.empty()) {
    out.skipped = env->done() ? "nothing to deliver" : "not due";
    co_return out;
  }
  auto data = q.read_data(id);
  if (!data) {
    out.error = data.error().message;
    spdlog::error("delivery qid={} error=\"{}\"", id.str(), log_text(out.error));
    co_return out;
  }
  *data = queue::message_text(*env, std::move(*data));  // our late header fields on top

  // Group the recipients by next hop (one SMTP transaction each).
  std::map<next_hop, std::vector<std::size_t>> groups;
  std::map<std::size_t, std::string> route_of;
  bool held = false;
  for (auto i : todo) {
    const auto& addr = env->recipients[i].address;
    auto d = routes.route(env->sender, addr);
    route_of[i] = d.action.to_string();
    auto hop = hop_for(d.action, addr);
    if (!hop) {
      held = true;  // routed to `hold`
      out.recipients.push_back({addr, env->recipients[i].status,
                                "held by routing rule " + (d.rule ? d.rule->origin : ""), "",
                                route_of[i]});
      spdlog::info("delivery qid={} to=<{}> route=hold status=held rule={}", id.str(),
                   log_text(addr), d.rule ? d.rule->origin : "");
      continue;
    }
    groups[*hop].push_back(i);
  }

  client_options copts = opts.client;
  copts.helo_name = opts.hostname;
  std::vector<std::pair<std::size_t, rcpt_result>> results;
  std::map<std::size_t, std::string> remote_of, remote_name_of;
  std::map<std::size_t, bool> tls_of;
  for (const auto& [hop, idx] : groups) {
    outgoing_message m;
    m.sender = opts.outbound_sender ? opts.outbound_sender(env->sender) : env->sender;
    m.data = *data;
    m.smtputf8 = env->smtputf8;
    for (auto i : idx) m.recipients.push_back(env->recipients[i].address);
    auto r = co_await deliver(resolver, hop, m, copts, tls);
    for (std::size_t k = 0; k < idx.size(); ++k) {
      results.emplace_back(idx[k], r.recipients[k]);
      remote_of[idx[k]] = r.remote;
      remote_name_of[idx[k]] = r.remote_name;
      tls_of[idx[k]] = r.tls;
    }
  }

  // Nothing was attempted when every due recipient is held by a route.
  const auto failed =
      results.empty() ? std::vector<std::size_t>{} : apply_results(*env, results, now, opts.retry);
  if (held) env->mode = queue::delivery_mode::hold;
  for (const auto& [i, r] : results) {
    const auto& rc = env->recipients[i];
    out.recipients.push_back({rc.address, rc.status, rc.reply, remote_of[i], route_of[i]});
    spdlog::info(
        "delivery qid={} to=<{}> relay={} route={} attempt={} tls={} status={} reply=\"{}\"{}",
        id.str(), log_text(rc.address), remote_of[i].empty() ? "none" : remote_of[i], route_of[i],
        env->attempts, tls_of[i] ? "yes" : "no", status_word(rc.status), log_text(rc.reply),
        rc.next_attempt ? " next=" + queue::format_time(*rc.next_attempt) : "");
  }
  // Recipients failed by expiry that were not attempted now appear in the outcome too.
  for (auto i : failed)
    if (!remote_of.count(i))
      out.recipients.push_back({env->recipients[i].address, env->recipients[i].status,
                                env->recipients[i].reply, "", "expired"});

  // RFC 3464 DSN for the recipients that failed now; never to <> (RFC 5321 4.5.5).
  if (!failed.empty()) {
    if (env->sender.empty()) {
      spdlog::info("dsn qid={} skipped=\"null sender (RFC 5321 4.5.5)\"", id.str());
    } else if (!opts.dsn) {
      spdlog::info("dsn qid={} skipped=\"DSNs disabled by configuration\"", id.str());
    } else {
      dsn_input in;
      in.reporting_mta = opts.hostname;
      in.queue_id = id.str();
      if (auto* e = env->find_extra("envid")) in.envelope_id = *e;
      in.original_sender = env->sender;
      in.arrival = env->created;
      in.now = now;
      for (auto i : failed) {
        const auto& rc = env->recipients[i];
        in.recipients.push_back({rc.address, "failed", "", remote_name_of[i], rc.reply, now});
      }
      in.original_message = *data;
      auto dsn = build_dsn(in);
      if (!dsn) {
        spdlog::error("dsn qid={} error=\"{}\"", id.str(), log_text(dsn.error().message));
      } else {
        queue::envelope de;
        de.created = to_queue_time(now);
        de.sender = "";  // RFC 5321 4.5.5: DSNs are sent with the null reverse-path
        de.recipients.push_back({dsn->recipient, queue::rcpt_status::pending, "", std::nullopt});
        de.client_ip = "127.0.0.1";
        de.helo = opts.hostname;
        de.listener = env->listener;
        de.mode = queue::delivery_mode::deliver;
        de.set_extra("dsn-for", id.str());
        // Blocking calls (a commit round, fsyncs) run off the event loop.
        std::string dsn_data = std::move(dsn->data);
        auto store_dsn = [&q, &de, &dsn_data] { return q.store(std::move(de), dsn_data); };
        auto stored = co_await net::offload(store_dsn);
        if (stored) {
          out.dsn = *stored;
          spdlog::info("dsn qid={} dsn_qid={} to=<{}> recipients={}", id.str(), stored->str(),
                       log_text(dsn->recipient), failed.size());
        } else {
          spdlog::error("dsn qid={} error=\"{}\"", id.str(), log_text(stored.error().message));
        }
      }
    }
  }

  if (env->done()) {
    auto remove_it = [&q, &id] { return q.remove(id); };
    auto removed = co_await net::offload(remove_it);
    if (auto& r = removed; !r) {
      out.error = r.error().message;
      spdlog::error("delivery qid={} error=\"{}\"", id.str(), log_text(out.error));
    } else {
      out.removed = true;
      spdlog::info("delivery qid={} status=removed reason=\"all recipients done\"", id.str());
    }
  } else {
    auto update_it = [&q, &env] { return q.update(*env); };
    auto updated = co_await net::offload(update_it);
    if (!updated) {
      out.error = updated.error().message;
      spdlog::error("delivery qid={} error=\"{}\"", id.str(), log_text(out.error));
    }
  }
  co_return out;
}

asio::awaitable<std::vector<message_outcome>> run_queue(
    queue::queue_dir& q, std::vector<queue::queue_id> ids, dns::resolver& resolver,
    const routing_table& routes, const delivery_options& opts, asio::ssl::context* tls) {
  std::vector<message_outcome> out;
  if (ids.empty()) {
    auto l = q.list();
    if (!l) {
      message_outcome m;
      m.error = l.error().message;
      out.push_back(std::move(m));
      co_return out;
    }
    for (const auto& m : *l) ids.push_back(m.id);
  }
  for (const auto& id : ids)
    out.push_back(
        co_await attempt_message(q, id, trigger::manual_run, resolver, routes, opts, tls));
  co_return out;
}

std::string format_outcomes(const std::vector<message_outcome>& out) {
  std::string s;
  for (const auto& m : out) {
    const std::string id = m.id.empty() ? "-" : m.id.str();
    if (!m.error.empty() && m.recipients.empty()) {
      s += id + " error: " + m.error + "\n";
      continue;
    }
    if (!m.skipped.empty()) {
      s += id + " skipped: " + m.skipped + "\n";
      continue;
    }
    for (const auto& r : m.recipients) {
      s += id + " to=<" + r.address + "> " +
           (r.route == "hold" ? std::string("held") : status_word(r.status));
      if (!r.remote.empty()) s += " relay=" + r.remote;
      s += ": " + r.reply + "\n";
    }
    if (m.dsn) s += id + " dsn queued as " + m.dsn->str() + "\n";
    if (!m.error.empty()) s += id + " error: " + m.error + "\n";
    if (m.removed) s += id + " removed from the queue (all recipients done)\n";
  }
  return s;
}

std::string outcomes_json(const std::vector<message_outcome>& out) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& m : out) {
    nlohmann::json mj{{"id", m.id.empty() ? "" : m.id.str()}, {"removed", m.removed}};
    if (!m.skipped.empty()) mj["skipped"] = m.skipped;
    if (!m.error.empty()) mj["error"] = m.error;
    if (m.dsn) mj["dsn"] = m.dsn->str();
    nlohmann::json rs = nlohmann::json::array();
    for (const auto& r : m.recipients)
      rs.push_back({{"address", r.address},
                    {"status", r.route == "hold" ? "held" : status_word(r.status)},
                    {"reply", r.reply},
                    {"relay", r.remote},
                    {"route", r.route}});
    mj["recipients"] = rs;
    j.push_back(std::move(mj));
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// ---- scheduler ----

scheduler::scheduler(asio::any_io_executor ex, dns::resolver& resolver,
                     std::shared_ptr<const routing_table> routes, delivery_options opts)
    : ex_(ex),
      resolver_(resolver),
      routes_(routes ? std::move(routes) : std::make_shared<const routing_table>()),
      opts_(std::move(opts)),
      tls_(make_client_tls_context(opts_.client)),
      timer_(ex),
      alive_(std::make_shared<bool>(true)) {}

scheduler::~scheduler() {
  *alive_ = false;
  timer_.cancel();
}

void scheduler::add_queue(queue::queue_dir& q) {
  queues_.push_back(&q);
}

void scheduler::set_routes(std::shared_ptr<const routing_table> routes) {
  if (routes) routes_ = std::move(routes);
}

void scheduler::start() {
  if (running_) return;
  running_ = true;
  last_run_ = std::chrono::steady_clock::now();
  asio::co_spawn(ex_, loop(), log_escape("delivery scheduler loop"));
}

void scheduler::stop() {
  running_ = false;
  timer_.cancel();
}

bool scheduler::spawn(queue::queue_dir& q, const queue::queue_id& id, trigger t) {
  const std::string key = q.path().string() + "/" + id.str();
  if (in_flight_.count(key) || in_flight_.size() >= opts_.concurrency) return false;
  in_flight_.insert(key);
  auto alive = alive_;
  auto routes = routes_;  // keeps this table alive for the attempt, even across set_routes
  asio::co_spawn(
      ex_,
      [this, &q, id, t, key, alive, routes]() -> asio::awaitable<void> {
        auto outcome = co_await attempt_message(q, id, t, resolver_, *routes, opts_, &tls_);
        if (!outcome.error.empty())
          spdlog::debug("delivery qid={} attempt ended with an error", id.str());
        if (*alive) in_flight_.erase(key);
      },
      [this, id, key, alive](std::exception_ptr e) {
        if (!e) return;
        log_escape("delivery attempt qid=" + id.str())(e);
        if (*alive) in_flight_.erase(key);  // retried at the next scan
      });
  return true;
}

void scheduler::deliver_now(queue::queue_dir& q, const queue::queue_id& id) {
  // When the limit is reached the message stays pending; the next scan takes it.
  spawn(q, id, trigger::immediate);
}

asio::awaitable<std::vector<message_outcome>> scheduler::run(queue::queue_dir& q,
                                                             std::vector<queue::queue_id> ids) {
  auto routes = routes_;
  auto alive = alive_;
  std::vector<message_outcome> out;
  if (ids.empty()) {
    auto l = q.list();
    if (!l) {
      message_outcome m;
      m.error = l.error().message;
      out.push_back(std::move(m));
      co_return out;
    }
    for (const auto& m : *l) ids.push_back(m.id);
  }
  // One message at a time, and never one that an immediate or periodic attempt is
  // delivering right now (that would send it twice).
  for (const auto& id : ids) {
    const std::string key = q.path().string() + "/" + id.str();
    if (in_flight_.count(key)) {
      message_outcome m;
      m.id = id;
      m.skipped = "being delivered right now";
      out.push_back(std::move(m));
      continue;
    }
    in_flight_.insert(key);
    auto m = co_await attempt_message(q, id, trigger::manual_run, resolver_, *routes, opts_, &tls_);
    if (!*alive) co_return out;
    in_flight_.erase(key);
    out.push_back(std::move(m));
  }
  co_return out;
}

// The due messages are found on the blocking pool (net::offload), ids only and one
// envelope at a time: reading a large queue on the event loop stalled SMTP for seconds
// every tick (issue 16 item 5; 100k held messages: ~2 s each 30 s) and held every
// envelope at once.
// XXX: still rereads every control file each tick (1M held messages: 0.38 s of CPU per
// second, docs/benchmarks.md "Queue listing at scale"); an in-memory index of due times,
// kept by commit/update/hold/release, would make a tick cost what is due.
asio::awaitable<void> scheduler::scan(trigger t) {
  const auto now = now_of(opts_);
  auto alive = alive_;
  for (auto* q : queues_) {
    auto find_due = [q, t, now]() -> result<std::vector<queue::id_key>> {
      auto ids = q->ids();
      if (!ids) return std::unexpected(ids.error());
      std::vector<queue::id_key> due;
      for (const auto& k : *ids) {
        auto id = queue::queue_id::parse(queue::view(k));
        if (!id) continue;
        auto env = q->load(*id);
        if (!env) continue;  // unreadable: the scanner of the server reports it
        if (env->mode == queue::delivery_mode::hold) continue;
        if (env->mode == queue::delivery_mode::queueonly && t != trigger::periodic_run) continue;
        bool is_due = false;
        for (const auto& r : env->recipients) is_due = is_due || recipient_due(r, t, now);
        if (is_due) due.push_back(k);
      }
      return due;
    };
    auto due = co_await net::offload(find_due);
    if (!*alive) co_return;
    if (!due) {
      spdlog::error("delivery scan of {} failed: {}", q->path().string(), due.error().message);
      continue;
    }
    for (const auto& k : *due) {
      auto id = queue::queue_id::parse(queue::view(k));
      if (id && !spawn(*q, *id, t) && in_flight_.size() >= opts_.concurrency) co_return;
    }
  }
}

asio::awaitable<void> scheduler::loop() {
  auto alive = alive_;
  while (running_ && *alive) {
    trigger t = trigger::immediate;
    if (opts_.queue_run_interval &&
        std::chrono::steady_clock::now() - last_run_ >= *opts_.queue_run_interval) {
      t = trigger::periodic_run;
      last_run_ = std::chrono::steady_clock::now();
    }
    co_await scan(t);
    if (!*alive || !running_) co_return;
    timer_.expires_after(opts_.tick);
    std::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
  }
}

}  // namespace mxg::delivery
