// policy_service.cpp: see policy_service.hpp (Postfix SMTPD_POLICY_README; replies with
// postfix-policyd-spf-python's conventions, policy/policy_protocol.hpp).
// Security: the connection count is checked before a byte is read; reads have the idle
// deadline, writes a short one; a malformed request or an internal error closes the
// connection without a reply. Values from the request reach the log only through
// field(), which replaces control bytes.
#include "gateway/policy_service.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <ctime>

#include "gateway/transport.hpp"
#include "net/ip_address.hpp"

namespace mxg::gateway {

using asio::ip::tcp;

namespace {

// Log field value: quoted when it has spaces; controls and quotes replaced.
std::string field(std::string_view s) {
  std::string v;
  for (unsigned char c : s.substr(0, 512))
    v += (c < 0x20 || c == 0x7f || c == '"') ? '?' : static_cast<char>(c);
  if (v.empty() || v.find(' ') != std::string::npos) return "\"" + v + "\"";
  return v;
}

std::string local_hostname() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf.data();
}

}  // namespace

policy_service::policy_service(asio::io_context& io, dns::resolver& res,
                               std::shared_ptr<const policy::spf_policy_config> cfg)
    : io_(io), res_(res), cfg_(std::move(cfg)), receiver_(local_hostname()) {
  MXG_ASSERT(cfg_ != nullptr);
}

policy_service::~policy_service() {
  stop();
}

result<void> policy_service::start(std::string_view listen) {
  auto a = policy::parse_listen_address(listen);
  if (!a) return std::unexpected(a.error());
  return start(a->first, a->second);
}

result<void> policy_service::start(const std::string& ip, std::uint16_t port) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(ip, ec);
  if (ec) return fail(errc::invalid_argument, "policy_service: bad address " + ip);
  tcp::endpoint ep(addr, port);
  auto acc = std::make_unique<tcp::acceptor>(io_);
  std::string where = (addr.is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(errc::io_error, "policy_service: cannot listen on " + where + ": " + ec.message());
  port_ = acc->local_endpoint(ec).port();
  acceptor_ = std::move(acc);
  stopped_ = false;
  asio::co_spawn(io_, accept_loop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      spdlog::error("policy-service accept loop died: {}", x.what());
    }
  });
  spdlog::info("policy-service listening on {}:{} (Postfix check_policy_service, SPF {}, {} rules)",
               addr.is_v6() ? "[" + ip + "]" : ip, port_, cfg_->enabled ? "on" : "off (DUNNO)",
               cfg_->rules.size());
  return {};
}

void policy_service::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ec;
  if (acceptor_) acceptor_->close(ec);
  for (auto& [id, w] : conns_)
    if (auto t = w.lock()) t->close();
  conns_.clear();
}

void policy_service::reconfigure(std::shared_ptr<const policy::spf_policy_config> cfg) {
  MXG_ASSERT(cfg != nullptr);
  cfg_ = std::move(cfg);
  cache_.clear();
  spdlog::info("policy-service reconfigured (SPF {}, {} rules)", cfg_->enabled ? "on" : "off",
               cfg_->rules.size());
}

asio::awaitable<void> policy_service::accept_loop() {
  tcp::acceptor* acc = acceptor_.get();
  for (;;) {
    asio::error_code ec;
    tcp::socket s = co_await acc->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_ || !acc->is_open()) co_return;
    if (ec) {
      if (ec == asio::error::no_descriptors) {
        spdlog::warn("policy-service accept error={}", ec.message());
        asio::steady_timer t(io_, std::chrono::milliseconds(100));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    asio::error_code rec;
    auto remote = s.remote_endpoint(rec);
    if (rec) continue;
    std::string peer = remote.address().to_string() + ":" + std::to_string(remote.port());
    if (conns_.size() >= kPolicyMaxClients) {
      ++stats_.refused;
      spdlog::warn("policy-service refuse peer={} reason=\"{} connections open\"", peer,
                   conns_.size());
      s.close(rec);
      continue;
    }
    ++stats_.connections;
    auto t = std::make_shared<transport>(std::move(s));
    std::uint64_t id = ++next_id_;
    conns_[id] = t;
    asio::co_spawn(io_, serve(t, peer, id), [this, id, peer](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          spdlog::error("policy-service peer={} connection died: {}", peer, x.what());
        }
      }
      conns_.erase(id);
    });
  }
}

asio::awaitable<void> policy_service::serve(std::shared_ptr<transport> t, std::string peer,
                                            std::uint64_t id) {
  (void)id;
  policy::policy_request_reader reader;
  spdlog::debug("policy-service connect peer={}", peer);
  std::string why = "closed by client";
  for (;;) {
    bool broken = false;
    while (auto a = reader.next()) {
      ++stats_.requests;
      auto r = co_await answer(*a, peer);
      if (!r) {
        ++stats_.errors;
        why = r.error().message;
        broken = true;
        break;
      }
      t->queue_output(policy::format_policy_reply(*r));
    }
    if (broken) break;
    if (t->output_pending()) {
      bool ok = co_await t->flush(kPolicyWriteTimeout);
      if (!ok) {
        why = "write failed";
        break;
      }
    }
    if (stopped_) {
      why = "service stopped";
      break;
    }
    read_status st = co_await t->fill(kPolicyIdleTimeout);
    if (st == read_status::timeout) {
      why = "idle timeout";
      break;
    }
    if (st != read_status::ok) {
      if (reader.partial()) why = "closed by client inside a request";
      break;
    }
    auto fed = reader.feed(t->buffered());
    t->consume(t->buffered().size());
    if (!fed) {
      ++stats_.errors;
      why = fed.error().message;
      spdlog::warn("policy-service peer={} error={}: closing without a reply", peer, field(why));
      break;
    }
  }
  if (why != "closed by client")
    spdlog::info("policy-service close peer={} reason={}", peer, field(why));
  t->close();
}

asio::awaitable<result<std::string>> policy_service::answer(const policy::policy_attributes& a,
                                                            const std::string& peer) {
  auto req = policy::read_policy_request(a);
  if (!req) {
    spdlog::warn("policy-service peer={} error={}: closing without a reply", peer,
                 field(req.error().message));
    co_return std::unexpected(req.error());
  }
  // Only RCPT is judged (policyd-spf's default): the recipient is known and a refusal
  // is per recipient, like the gateway's reject_stage = "rcpt".
  if (req->protocol_state != "RCPT") co_return std::string("DUNNO");
  auto cfg = cfg_;  // a reconfigure() while we wait must not change this request
  if (!cfg->enabled) co_return std::string("DUNNO");
  auto ip = net::ip_address::parse(req->client_address);
  if (!ip) {
    spdlog::warn("policy-service peer={} client={} instance={}: not an IP address, DUNNO", peer,
                 field(req->client_address), field(req->instance));
    co_return std::string("DUNNO");
  }
  std::string fp = policy::policy_instance_cache::fingerprint(*req);
  if (!req->instance.empty()) {
    if (const auto* hit =
            cache_.find(req->instance, fp, policy::policy_instance_cache::clock::now())) {
      ++stats_.cached;
      std::string act = policy::later_recipient_action(hit->action);
      spdlog::info(
          "policy-service client={} helo={} sender=<{}> rcpt=<{}> instance={} result={} "
          "cached=yes action={}",
          field(req->client_address), field(req->helo_name), field(req->sender),
          field(req->recipient), field(req->instance), hit->result, field(act));
      co_return act;
    }
  }
  ++stats_.evaluations;
  policy::spf_request sreq;
  sreq.ip = ip->unmapped();
  const std::string sreq_ip = sreq.ip.to_string();
  sreq.sender = req->sender;
  sreq.helo = req->helo_name;
  std::string receiver = receiver_;
  static const std::vector<net::cidr> kNoTrusted;  // [spf] trusted_* are in cfg
  policy::spf_evaluation e;
  try {
    e = co_await policy::evaluate_spf(*cfg, kNoTrusted, res_, std::move(sreq), receiver);
  } catch (const std::exception& x) {
    // policyd-spf on an internal error: no reply, Postfix defers (451 4.3.5).
    spdlog::error("policy-service client={} instance={} internal error: {}",
                  field(req->client_address), field(req->instance), x.what());
    co_return fail(errc::internal, std::string("internal error: ") + x.what());
  }
  if (!e.skipped && exceptions_)
    if (auto exc = exceptions_()) {
      const auto now = static_cast<std::int64_t>(std::time(nullptr));
      if (const auto* x = policy::except_spf(e.dec, *exc, req->sender, sreq_ip, now))
        spdlog::info("policy-service client={} sender=<{}> exception={} scope={} action=tag",
                     field(req->client_address), field(req->sender), x->id, x->kind);
    }
  std::string rspf = e.skipped ? std::string() : policy::received_spf_field(e, receiver);
  std::string act = policy::spf_policy_action(e, rspf);
  std::string res_name = e.skipped ? "skipped" : spf::to_string(e.facts.result);
  cache_.put(req->instance, {fp, act, res_name}, policy::policy_instance_cache::clock::now());
  spdlog::info(
      "policy-service client={} helo={} sender=<{}> rcpt=<{}> instance={} identity={} "
      "domain={} result={} decision={} rule={} monitor={} cached=no action={}",
      field(req->client_address), field(req->helo_name), field(req->sender), field(req->recipient),
      field(req->instance), spf::to_string(e.facts.identity), field(e.facts.domain), res_name,
      policy::to_string(e.dec.action), field(e.dec.rule), e.dec.monitor ? "yes" : "no", field(act));
  co_return act;
}

}  // namespace mxg::gateway
