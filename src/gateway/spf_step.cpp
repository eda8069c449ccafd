// spf_step.cpp: see spf_step.hpp.
#include "gateway/spf_step.hpp"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <ctime>

namespace mxg::gateway {

void spf_step::start(std::shared_ptr<const spf_setup> setup, dns::resolver& res,
                     policy::spf_request req, std::string receiver, std::string sid,
                     policy::exception_snapshot exc) {
  st_ = std::make_shared<state>(ex_);
  asio::co_spawn(ex_,
                 run(st_, std::move(setup), res, std::move(req), std::move(receiver),
                     std::move(sid), std::move(exc)),
                 [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& x) {
                     spdlog::error("spf check died: {}", x.what());
                   }
                 });
}

asio::awaitable<void> spf_step::run(std::shared_ptr<state> st,
                                    std::shared_ptr<const spf_setup> setup, dns::resolver& res,
                                    policy::spf_request req, std::string receiver, std::string sid,
                                    policy::exception_snapshot exc) {
  const std::string sender = req.sender, client_ip = req.ip.unmapped().to_string();
  try {
    st->eval = co_await policy::evaluate_spf(setup->cfg, setup->trusted, res, std::move(req),
                                             std::move(receiver));
  } catch (const std::exception& e) {
    // Never a stuck session: an internal failure is a temperror (RFC 7208 2.6.6).
    st->eval = policy::spf_evaluation{};
    st->eval.facts.result = spf::result::temperror;
    st->eval.facts.problem = std::string("internal error: ") + e.what();
    st->eval.outcome.result = spf::result::temperror;
    st->eval.dec = policy::decide(setup->cfg, st->eval.facts);
    spdlog::error("spf sid={} internal error: {}", sid, e.what());
  }
  if (exc && !st->eval.skipped) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    if (const auto* e = policy::except_spf(st->eval.dec, *exc, sender, client_ip, now))
      spdlog::info("spf sid={} exception={} scope={} action=tag", sid, e->id, e->kind);
  }
  st->done = true;
  st->timer.cancel();
}

asio::awaitable<const policy::spf_evaluation*> spf_step::wait() {
  auto st = st_;  // a reset() while waiting must not free what we wait on
  if (!st) co_return nullptr;
  while (!st->done) {
    st->timer.expires_at(asio::steady_timer::time_point::max());
    asio::error_code ec;
    co_await st->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return st_ == st ? &st->eval : nullptr;
}

}  // namespace mxg::gateway
