// server.cpp: listeners, session limits, reload and drain of `mxguard serve`.
// RFC 5321 3.8 / 4.2.5: a server that refuses a connection answers 421 and closes;
// RFC 3463: 4.7.0 for the per-IP policy limit, 4.3.2 for shutdown.
// Security: the session counters are checked before a byte is read from the client;
// the refusal is one write with a short deadline, so refused clients cost nothing.
#include "gateway/server.hpp"
#include "base/spawn.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <csignal>
#include <ctime>
#include <filesystem>

#include "base/log.hpp"
#include "dns/cache.hpp"
#include "dns/cares_resolver.hpp"
#include "gateway/control.hpp"
#include "gateway/delivery_hook.hpp"
#include "gateway/dnsbl_step.hpp"
#include "gateway/fd_limit.hpp"
#include "gateway/history_writer.hpp"
#include "gateway/policy_service.hpp"
#include "gateway/preflight.hpp"
#include "gateway/quarantine_expiry.hpp"
#include "gateway/remote_release.hpp"
#include "gateway/session.hpp"
#include "gateway/transport.hpp"

namespace mxg::gateway {

using asio::ip::tcp;

inline constexpr int kListenBacklog = 4096;
inline constexpr std::chrono::seconds kRefusalWriteTimeout{5};

struct server::listener_rt {
  std::shared_ptr<listener_state> state;
  std::unique_ptr<tcp::acceptor> acceptor;
};

server::server(asio::io_context& io)
    : io_(io), signals_(io), drain_timer_(io), housekeeping_timer_(io), exceptions_timer_(io) {}

server::~server() {
  // The delivery side, the policy service and the sessions' lookups use the resolver:
  // stop them first.
  policy_.reset();
  delivery_.reset();
  control_.reset();
  remote_releases_.reset();
  if (history_) history_->flush();
}

dns::resolver* server::delivery_resolver() {
  return cares_.get();
}

result<void> server::start(config c) {
  // Signals first (issue 16 item 8): a SIGTERM that arrives while the queues recover or
  // the history opens is handled (a drain once io runs), never the default death.
  signals_.add(SIGHUP);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  watch_signals();
  // A routing table that does not load refuses the start (issue 16 item 1): never a
  // server that accepts mail it will not deliver.
  auto routes = load_routing_table(c);
  if (!routes) return std::unexpected(routes.error());
  auto r = apply(std::move(c), true);
  if (!r) return r;
  std::size_t sessions = 0;  // at EMFILE nobody is accepted: lift the soft limit (logged)
  for (const auto& l : cfg_.listeners) sessions += l.limits.sessions_total;
  raise_open_file_limit(sessions);
  dns::cares_options dopt;
  dopt.servers = cfg_.dns.servers;
  dopt.timeout = cfg_.dns.timeout;
  dopt.tries = cfg_.dns.tries;
  if (auto res = dns::cares_resolver::create(io_.get_executor(), dopt); res) {
    cares_ = std::move(*res);
    resolver_ = std::make_unique<dns::caching_resolver>(*cares_);
    std::string list;
    for (const auto& sv : cfg_.dns.servers) list += (list.empty() ? "" : ",") + sv;
    spdlog::info("dns servers={} timeout_ms={} tries={}", list.empty() ? "resolv.conf" : list,
                 cfg_.dns.timeout.count(), cfg_.dns.tries);
  } else {
    spdlog::error("dns off (no rDNS, no SPF evidence, no delivery): {}", res.error().message);
  }
  if (cfg_.history.enabled) {
    std::error_code fec;
    auto parent = std::filesystem::path(cfg_.history.path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, fec);
    // Issue 14: a shared database may be away for a while; records wait in the spool.
    const bool shared = cfg_.store.backend == "postgresql";
    auto h =
        history_writer::open(store_options(cfg_), cfg_.store.host_id,
                             shared ? cfg_.state_dir + "/history-spool" : "", cfg_.store.spool_max);
    if (!h) return std::unexpected(h.error());
    history_ = std::move(*h);
    spdlog::info("history backend={} path={} host={}", cfg_.store.backend, history_->path(),
                 cfg_.store.host_id);
    if (shared) {
      remote_releases_ = std::make_unique<remote_release_worker>(*this, *history_, cfg_.store.dsn,
                                                                 cfg_.store.release_poll);
      remote_releases_->start();
    }
  } else {
    spdlog::info("history off");
  }
  control_ = std::make_unique<control_server>(io_, *this);
  if (auto cr = control_->start(cfg_.control_socket); !cr) return cr;
  delivery_ = std::make_unique<delivery_hook>(*this);
  delivery_->start(std::move(*routes));
  // SPF enforcement needs the resolver: never run "enabled" without it (silently).
  if (cfg_.dnsbl.enabled && !resolver_)
    return fail(errc::io_error,
                "[dnsbl] is enabled but the DNS resolver could not be set up (see [dns])");
  for (auto& l : listeners_)
    if (l->state->auth->active() && !resolver_)
      return fail(errc::io_error, "listener " + l->state->cfg->name +
                                      ": [dkim]/[dmarc] is enabled but the DNS resolver could not "
                                      "be set up (see [dns])");
  for (auto& l : listeners_)
    if (l->state->spf->enabled && !resolver_)
      return fail(errc::io_error, "listener " + l->state->cfg->name +
                                      ": [spf] is enabled but the DNS resolver could not be set "
                                      "up (see [dns])");
  if (!cfg_.policy_service.listen.empty()) {
    if (!resolver_)
      return fail(errc::io_error,
                  "[policy_service] listen is set but the DNS resolver could not be set up "
                  "(see [dns])");
    policy_ = std::make_unique<policy_service>(
        io_, *resolver_, std::make_shared<const policy::spf_policy_config>(cfg_.spf));
    if (!listeners_.empty() && !listeners_.front()->state->cfg->hostname.empty())
      policy_->set_receiver(listeners_.front()->state->cfg->hostname);
    policy_->set_exceptions([this] { return exceptions_; });
    if (auto pr = policy_->start(cfg_.policy_service.listen); !pr) return pr;
    spdlog::info("policy service listen={}", cfg_.policy_service.listen);
  }
  housekeeping_timer_.expires_after(std::chrono::minutes(1));
  housekeeping_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) housekeeping();
  });
  refresh_exceptions("start");
  return {};
}

void server::log_ready() const {
  spdlog::info("ready listeners={} delivery={}", listeners_.size(),
               delivery_->state().on ? "on" : "off");
}

result<void> server::apply(config c, bool initial) {
  auto relay = std::make_shared<const relay_config>(c.relay);
  auto filter = std::make_shared<const backscatter_filter>(c.backscatter);
  std::shared_ptr<const dmarc::public_suffix_list> psl;  // loaded once per configuration
  // 1. queues (opened once per directory; kept across reloads)
  std::map<std::string, std::unique_ptr<queue::queue_dir>> fresh;
  auto queue_for = [&](const listener_config& l) -> result<queue::queue_dir*> {
    std::string key = std::filesystem::absolute(l.queue_dir).lexically_normal().string();
    if (auto it = queues_.find(key); it != queues_.end()) return it->second.get();
    if (auto it = fresh.find(key); it != fresh.end()) return it->second.get();
    std::error_code fec;
    std::filesystem::create_directories(key, fec);  // queue_dir::open makes only the last level
    queue::options o;
    o.dir = key;
    o.fsync = l.fsync;
    o.format = c.queue_format;
    auto q = queue::queue_dir::open(o);
    if (!q) return std::unexpected(q.error());
    if (auto lk = (*q)->lock(); !lk)
      return fail(lk.error().code, "queue " + key + ": " + lk.error().message);
    auto rec = (*q)->recover();
    if (!rec) return std::unexpected(rec.error());
    spdlog::info(
        "queue dir={} format={} messages={} split={} single={} tmp_removed={} orphans_removed={} "
        "corrupt={}",
        key, queue::to_string(o.format), rec->messages.size(), rec->split_messages,
        rec->single_messages, rec->tmp_removed, rec->orphan_data_removed, rec->corrupt.size());
    auto* p = q->get();
    fresh.emplace(key, std::move(*q));
    return p;
  };
  // 2. listeners: keep the socket of an unchanged endpoint, bind new ones
  std::vector<std::shared_ptr<listener_rt>> next;
  for (auto& lc : c.listeners) {
    auto tls = make_tls_context(c, lc);
    if (!tls) return std::unexpected(tls.error());
    auto q = queue_for(lc);
    if (!q) return std::unexpected(q.error());
    std::shared_ptr<listener_rt> rt;
    for (auto& old : listeners_)
      if (old->state->cfg->endpoint() == lc.endpoint()) rt = old;
    auto st = std::make_shared<listener_state>();
    st->cfg = std::make_shared<const listener_config>(lc);
    st->relay = relay;
    st->tls = *tls;
    st->queue = *q;
    st->filter = filter;
    {
      auto sp = std::make_shared<spf_setup>();
      sp->enabled = lc.spf_enabled.value_or(c.spf.enabled);
      sp->cfg = c.spf;
      if (lc.spf_trusted_networks) {
        sp->cfg.trusted_networks = *lc.spf_trusted_networks;
        sp->cfg.trusted_networks_set = true;
      }
      if (lc.spf_trusted_forwarders) sp->cfg.trusted_forwarders = *lc.spf_trusted_forwarders;
      if (!sp->cfg.trusted_networks_set) sp->trusted = c.relay.trusted_networks;
      st->spf = std::move(sp);
    }
    if (c.dnsbl.enabled) {
      auto db = std::make_shared<dnsbl_setup>();
      db->cfg = c.dnsbl;
      db->trusted =
          c.dnsbl.trusted_networks_set ? c.dnsbl.trusted_networks : c.relay.trusted_networks;
      st->dnsbl = std::move(db);
    }
    {
      auto au = std::make_shared<auth_setup>();
      au->dmarc = lc.dmarc_enabled.value_or(c.dmarc.enabled);
      au->dkim = au->dmarc || lc.dkim_enabled.value_or(c.dkim.enabled);
      au->cfg = c.dmarc;
      if (au->dmarc && c.dmarc.mode == dmarc::discovery_mode::psl) {
        if (!psl) {
          auto loaded = dmarc::public_suffix_list::load_file(c.dmarc.psl_file);
          if (!loaded)
            return fail(errc::io_error, c.where("dmarc.psl_file") +
                                            ": [dmarc] psl_file: " + loaded.error().message);
          psl = std::make_shared<const dmarc::public_suffix_list>(std::move(*loaded));
        }
        au->psl = psl;
      }
      st->auth = std::move(au);
    }
    if (rt) {
      // counters carry over (sessions of the old state still decrement the old one)
      rt = std::make_shared<listener_rt>(listener_rt{st, std::move(rt->acceptor)});
    } else {
      rt = std::make_shared<listener_rt>();
      rt->state = st;
      rt->acceptor = std::make_unique<tcp::acceptor>(io_);
      tcp::endpoint ep(asio::ip::make_address(lc.address.to_string()), lc.port);
      asio::error_code ec;
      rt->acceptor->open(ep.protocol(), ec);
      if (!ec) rt->acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec && lc.address.is_v6()) rt->acceptor->set_option(asio::ip::v6_only(lc.v6only), ec);
      if (!ec) rt->acceptor->bind(ep, ec);
      if (!ec) rt->acceptor->listen(kListenBacklog, ec);
      if (ec)
        return fail(errc::io_error, "listener " + lc.name + ": cannot listen on " + lc.endpoint() +
                                        ": " + ec.message());
    }
    next.push_back(rt);
  }
  // Everything is ready: commit the new state.
  for (auto& [k, q] : fresh) queues_.emplace(k, std::move(q));
  for (auto& old : listeners_) {
    bool kept = false;
    for (auto& n : next) kept |= n->acceptor.get() == old->acceptor.get() || !old->acceptor;
    if (!kept && old->acceptor) {
      asio::error_code ec;
      old->acceptor->close(ec);
      spdlog::info("listener stop name={} addr={}", old->state->cfg->name,
                   old->state->cfg->endpoint());
    }
  }
  if (!initial && (c.dns.servers != cfg_.dns.servers || c.dns.timeout != cfg_.dns.timeout ||
                   c.dns.tries != cfg_.dns.tries))
    spdlog::warn("reload: [dns] changes take effect at the next start");
  if (!initial &&
      (c.history.enabled != cfg_.history.enabled || c.history.path != cfg_.history.path))
    spdlog::warn("reload: [history] changes take effect at the next start");
  bool changed_log = initial || c.log_file != cfg_.log_file || c.log_format != cfg_.log_format ||
                     c.log_level != cfg_.log_level;
  std::vector<std::shared_ptr<listener_rt>> started;
  for (auto& n : next) {
    bool existed = false;
    for (auto& old : listeners_)
      existed |= old->acceptor.get() == n->acceptor.get() && old->acceptor;
    if (!existed) started.push_back(n);
  }
  listeners_ = std::move(next);
  cfg_ = std::move(c);
  if (changed_log)
    mxg::log::init(cfg_.log_level,
                   cfg_.log_format == "json" ? mxg::log::format::json : mxg::log::format::text,
                   cfg_.log_file);
  for (auto& l : listeners_) {
    spdlog::info("listener {} name={} addr={} mode={} queue={} tls={}",
                 initial ? "start" : "config", l->state->cfg->name, l->state->cfg->endpoint(),
                 to_string(l->state->cfg->mode), l->state->queue->path().string(),
                 l->state->tls ? "yes" : "no");
  }
  for (auto& l : started)
    asio::co_spawn(io_, accept_loop(l), log_escape("accept loop " + l->state->cfg->name));
  filter_ = filter;
  for (auto& l : listeners_)
    if (l->state->auth->active())
      spdlog::info("auth: listener {} verifies DKIM{} (authserv-id {})", l->state->cfg->name,
                   l->state->auth->dmarc
                       ? fmt::format(", enforces DMARC (mode {}, {} rules, {} trusted ARC sealers)",
                                     dmarc::to_string(l->state->auth->cfg.mode),
                                     l->state->auth->cfg.rules.size(),
                                     l->state->auth->cfg.trusted_arc_sealers.size())
                       : std::string(),
                   l->state->auth->cfg.authserv_id);
  for (auto& l : listeners_)
    if (l->state->spf->enabled)
      spdlog::info("spf: listener {} checks SPF (reject at {}, {} rules, authserv-id {})",
                   l->state->cfg->name, policy::to_string(l->state->spf->cfg.reject_stage),
                   l->state->spf->cfg.rules.size(), l->state->spf->cfg.authserv_id);
  if (cfg_.dnsbl.enabled)
    spdlog::info("dnsbl: {} lists, answered at {}, timeout {} ms", cfg_.dnsbl.zones.size(),
                 policy::to_string(cfg_.dnsbl.stage), cfg_.dnsbl.timeout.count());
  hosts_ = dns::hosts_file::load(cfg_.dns.hosts_file);  // at start and on every reload
  const auto& b = cfg_.backscatter;
  if (!b.enabled)
    spdlog::info("backscatter: filter off");
  else if (b.batv)
    spdlog::info("backscatter: BATV check of bounces at RCPT time on, unsigned bounces {}",
                 to_string(b.unsigned_bounce));
  else
    spdlog::info("backscatter: no BATV; bounces judged after DATA, backscatter {}",
                 to_string(b.ndr_backscatter));
  return {};
}

queue::queue_dir* server::find_queue(const std::string& which) {
  if (which.empty()) return listeners_.empty() ? nullptr : listeners_.front()->state->queue;
  for (auto& l : listeners_)
    if (l->state->cfg->name == which) return l->state->queue;
  std::string key = std::filesystem::absolute(which).lexically_normal().string();
  if (auto it = queues_.find(key); it != queues_.end()) return it->second.get();
  return nullptr;
}

asio::awaitable<void> server::accept_loop(std::shared_ptr<listener_rt> l) {
  tcp::acceptor* acc = l->acceptor.get();
  for (;;) {
    asio::error_code ec;
    // The peer's address comes with accept(2): no getpeername per connection.
    tcp::endpoint remote;
    tcp::socket s =
        co_await acc->async_accept(remote, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acc->is_open() || draining_) co_return;
      if (ec == asio::error::no_descriptors) {
        // EMFILE: back off briefly instead of spinning
        spdlog::warn("accept listener={} error={}", l->state->cfg->name, ec.message());
        asio::steady_timer t(io_, std::chrono::milliseconds(100));
        co_await t.async_wait(asio::use_awaitable);
      }
      continue;
    }
    if (draining_) co_return;
    // The listener of this acceptor now (a reload may have replaced the state).
    std::shared_ptr<listener_state> st;
    for (auto& cur : listeners_)
      if (cur->acceptor.get() == acc) st = cur->state;
    if (!st) co_return;
    asio::error_code rec;
    auto ip = net::ip_address::parse(remote.address().to_string());
    net::ip_address client = ip ? ip->unmapped() : net::ip_address{};
    const auto& lim = st->cfg->limits;
    std::string why;
    if (st->sessions >= lim.sessions_total)
      why = "421 4.3.2 Too many connections, try again later\r\n";  // RFC 3463 4.3.2
    else if (st->per_ip[client] >= lim.sessions_per_ip)
      why = "421 4.7.0 Too many connections from your address\r\n";
    if (!why.empty()) {
      if (st->per_ip[client] == 0) st->per_ip.erase(client);
      ++stats_.refused_sessions;
      spdlog::info("refuse listener={} client={} reason=\"{}\"", st->cfg->name, client.to_string(),
                   why.substr(0, why.size() - 2));
      // One write, non-blocking; the reply fits in the socket buffer.
      s.non_blocking(true, rec);
      s.write_some(asio::buffer(why), rec);
      s.shutdown(tcp::socket::shutdown_both, rec);
      s.close(rec);
      continue;
    }
    ++st->sessions;
    ++st->per_ip[client];
    ++stats_.sessions;
    ++open_sessions_;
    std::string sid = new_session_id();
    asio::co_spawn(
        io_,
        [this, st, client, sid, remote, sock = std::move(s)]() mutable -> asio::awaitable<void> {
          co_await run_session(*this, st, std::move(sock), remote, sid);
        },
        [this, st, client](std::exception_ptr e) {
          if (e) {
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              spdlog::error("session crashed: {}", ex.what());
            }
          }
          --st->sessions;
          if (--st->per_ip[client] == 0) st->per_ip.erase(client);
          --open_sessions_;
          if (draining_ && open_sessions_ == 0) io_.stop();
        });
  }
}

void server::watch_signals() {
  signals_.async_wait([this](const asio::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      spdlog::info("signal HUP received: reloading {}",
                   config_path.empty() ? "<embedded>" : config_path);
      reload();
      watch_signals();
    } else {
      spdlog::info("signal {} received: draining", sig == SIGTERM ? "TERM" : "INT");
      drain();
    }
  });
}

void server::set_idle(const std::string& sid, std::weak_ptr<transport> t) {
  idle_[sid] = std::move(t);
}

void server::clear_idle(const std::string& sid) {
  idle_.erase(sid);
}

void server::reload() {
  result<config> c = config_path.empty() ? parse_config(embedded_default_config(), "<embedded>")
                                         : load_config_file(config_path);
  if (c) {
    if (auto o = apply_overrides(*c, listen_override, mode_override); !o)
      c = std::unexpected(o.error());
  }
  // One log record per line of the error (FILE:LINE: message each), each with its
  // timestamp and level, so that line-based log readers see them all.
  auto failed = [](const std::string& message) {
    std::string_view rest = message;
    while (!rest.empty()) {
      auto nl = rest.find('\n');
      spdlog::error("reload failed, keeping the running configuration: {}", rest.substr(0, nl));
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    }
  };
  if (!c) {
    failed(c.error().message);
    return;
  }
  // Everything start-up checks (routing table, TLS, directories, addresses): a reload
  // either applies all of it or reports why and changes nothing (issue 16 items 1, 6).
  if (auto problems = preflight(*c); !problems.empty()) {
    for (const auto& p : problems)
      spdlog::error("reload failed, keeping the running configuration: {}", p);
    return;
  }
  auto routes = load_routing_table(*c);
  if (!routes) {
    spdlog::error("reload failed, keeping the running configuration: {}", routes.error().message);
    return;
  }
  if (auto r = apply(std::move(*c), false); !r) {
    failed(r.error().message);
    return;
  }
  if (policy_) {
    policy_->reconfigure(std::make_shared<const policy::spf_policy_config>(cfg_.spf));
    if (cfg_.policy_service.listen.empty())
      spdlog::warn("reload: [policy_service] listen removed; restart to stop the service");
  } else if (!cfg_.policy_service.listen.empty()) {
    spdlog::warn("reload: [policy_service] listen added; restart to start the service");
  }
  if (delivery_) delivery_->set_routes(std::move(*routes));
  refresh_exceptions("reload");  // e.g. after `mxguard policy exceptions add`
  if (on_reload) on_reload(cfg_);
  const bool delivering = delivery_ && delivery_->state().on;
  spdlog::info("reload done listeners={} delivery={}", listeners_.size(),
               delivering ? "on" : "off");
}

void server::housekeeping() {
  if (draining_) return;
  if (cfg_.quarantine.retention.count() > 0) expire_quarantine(*this, cfg_.quarantine.retention);
  if (history_ && cfg_.history.retention.count() > 0) {
    const std::int64_t before =
        static_cast<std::int64_t>(std::time(nullptr)) - cfg_.history.retention.count();
    history_->async_call(
        [before](store::history& db) -> std::int64_t {
          auto n = db.prune(before);
          return n ? static_cast<std::int64_t>(*n) : -1;
        },
        std::int64_t{-1}, io_.get_executor(),
        [](std::int64_t n) {
          if (n > 0) spdlog::info("history pruned messages={}", n);
          if (n < 0) spdlog::warn("history prune failed or skipped (queue full)");
        });
  }
  housekeeping_timer_.expires_after(std::chrono::hours(1));
  housekeeping_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) housekeeping();
  });
}

void server::refresh_exceptions(const char* why) {
  if (!history_ || draining_) return;
  using R = std::optional<std::vector<store::policy_exception>>;
  history_->async_call(
      [](store::history& db) -> R {
        auto v = db.exception_list(false);
        if (!v) spdlog::warn("policy exceptions: cannot read: {}", v.error().message);
        return v ? R(std::move(*v)) : R();
      },
      R(), io_.get_executor(),
      [this, why](R v) {
        if (!v) return;
        if (why) {
          const auto now = static_cast<std::int64_t>(std::time(nullptr));
          std::size_t live = 0;
          for (const auto& e : *v) live += policy::live(e, now) ? 1 : 0;
          spdlog::info("policy exceptions loaded live={} expired={} ({})", live, v->size() - live,
                       why);
        }
        exceptions_ = std::make_shared<const policy::exception_set>(std::move(*v));
      });
  exceptions_timer_.expires_after(kExceptionRefresh);
  exceptions_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) refresh_exceptions(nullptr);
  });
}

void server::drain() {
  if (draining_) return;
  draining_ = true;
  housekeeping_timer_.cancel();
  exceptions_timer_.cancel();
  if (remote_releases_) remote_releases_->stop();
  if (policy_) policy_->stop();
  for (auto& l : listeners_) {
    asio::error_code ec;
    if (l->acceptor) l->acceptor->close(ec);
    l->state->accepting = false;
  }
  if (control_) control_->stop();
  if (delivery_) delivery_->stop();
  spdlog::info("drain open_sessions={} timeout_ms={}", open_sessions_, cfg_.drain_timeout.count());
  // Sessions waiting for a command outside a transaction stop now (they answer 421);
  // sessions inside a transaction finish it first (session.cpp checks draining()).
  auto idle = std::move(idle_);
  for (auto& [sid, w] : idle)
    if (auto t = w.lock()) {
      asio::error_code ec;
      t->socket().cancel(ec);
    }
  if (open_sessions_ == 0) {
    io_.stop();
    return;
  }
  drain_timer_.expires_after(cfg_.drain_timeout);
  drain_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    spdlog::warn("drain timeout: {} sessions still open, exiting", open_sessions_);
    io_.stop();
  });
}

void server::message_queued(const listener_state& l, const std::string& qid) {
  ++stats_.messages;
  if (l.cfg->mode == delivery_mode::deliver && delivery_) delivery_->deliver_now(*l.queue, qid);
}

void server::message_released(queue::queue_dir& q, const std::string& qid) {
  if (delivery_) delivery_->deliver_now(q, qid);
}

delivery_state server::delivery_status() const {
  if (!delivery_) return delivery_state{false, "not started", cfg_.routing_table, 0};
  return delivery_->state();
}

asio::awaitable<std::string> server::queue_run(queue::queue_dir& q, std::vector<std::string> ids) {
  if (!delivery_) co_return "delivery is not running\n";
  co_return co_await delivery_->run(q, std::move(ids));
}

}  // namespace mxg::gateway
