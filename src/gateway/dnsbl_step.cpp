// dnsbl_step.cpp: see dnsbl_step.hpp. Logs one "dnsbl" line per check: the client, the
// score, the action (and monitor's would), each list's listing or error.
#include "gateway/dnsbl_step.hpp"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "base/spawn.hpp"

namespace mxg::gateway {

void dnsbl_step::start(std::shared_ptr<const dnsbl_setup> setup, dns::resolver& res,
                       net::ip_address ip, std::string sid) {
  st_ = std::make_shared<state>(ex_);
  asio::co_spawn(ex_, run(st_, std::move(setup), res, ip, sid), log_escape("dnsbl sid=" + sid));
}

asio::awaitable<void> dnsbl_step::run(std::shared_ptr<state> st,
                                      std::shared_ptr<const dnsbl_setup> setup, dns::resolver& res,
                                      net::ip_address ip, std::string sid) {
  try {
    st->eval = co_await policy::evaluate_dnsbl(setup->cfg, setup->trusted, res, ip);
  } catch (const std::exception& e) {
    // Never a stuck session: an internal failure is an error of every list.
    st->eval = policy::dnsbl_evaluation{};
    st->eval.ip = ip.unmapped().to_string();
    for (const auto& z : setup->cfg.zones) {
      policy::dnsbl_zone_result r;
      r.zone = z.name;
      r.label = z.label.empty() ? z.name : z.label;
      r.status = policy::dnsbl_status::error;
      r.error = "internal error";
      st->eval.zones.push_back(std::move(r));
    }
    st->eval.dec = policy::decide(setup->cfg, st->eval);
    spdlog::error("dnsbl sid={} internal error: {}", sid, e.what());
  }
  const auto& e = st->eval;
  if (e.skipped) {
    spdlog::info("dnsbl sid={} client={} result=skipped why=\"{}\"", sid, e.ip, e.skip_reason);
  } else {
    std::string lists;
    for (const auto& z : e.zones) {
      if (z.status == policy::dnsbl_status::not_listed) continue;
      std::string tok = z.label + "=";
      if (z.status == policy::dnsbl_status::listed) {
        for (std::size_t i = 0; i < z.hits.size(); ++i) tok += (i ? "," : "") + z.hits[i].code;
      } else {
        std::string why = z.error;
        for (auto& c : why)
          if (c == ' ') c = '_';  // one token per list
        tok += "error(" + why + ")";
      }
      lists += " " + tok;
    }
    spdlog::info("dnsbl sid={} client={} score={} action={}{}{} lists={}{}", sid, e.ip, e.score,
                 policy::to_string(e.dec.action),
                 e.dec.monitor && e.dec.would
                     ? std::string(" monitor=yes would=") + policy::to_string(*e.dec.would)
                     : std::string(),
                 e.dec.rule.empty() ? std::string() : " rule=" + e.dec.rule, e.zones.size(), lists);
  }
  st->done = true;
  st->timer.cancel();
}

asio::awaitable<const policy::dnsbl_evaluation*> dnsbl_step::wait() {
  auto st = st_;  // a reset() while waiting must not free what we wait on
  if (!st) co_return nullptr;
  while (!st->done) {
    st->timer.expires_at(asio::steady_timer::time_point::max());
    asio::error_code ec;
    co_await st->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return st_ == st ? &st->eval : nullptr;
}

std::optional<smtp::reply> dnsbl_step::connect_refusal(const policy::decision& d) {
  if (d.action == policy::verdict::reject) return d.reply;
  if (d.action == policy::verdict::tempfail) {
    smtp::reply r = d.reply;
    r.code = 421;  // RFC 5321 3.8 / 4.2.3: at connection opening a 4yz is 421, then close
    return r;
  }
  return std::nullopt;
}

}  // namespace mxg::gateway
