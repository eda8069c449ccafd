// auth_step.cpp: see auth_step.hpp. RFC 6376 6 (DKIM), RFC 8617 5.2 (ARC), RFC 9989 4
// (DMARC: the RFC5322.From domain, the SPF identity of RFC 9989 4.4.1, alignment).
#include "gateway/auth_step.hpp"

#include <spdlog/spdlog.h>
#include <asio/experimental/awaitable_operators.hpp>

#include "dmarc/from.hpp"
#include "policy/auth_results.hpp"
#include "policy/dmarc_policy.hpp"

namespace mxg::gateway {

namespace {

// A log field value: quoted when it has spaces; controls and quotes replaced.
std::string field(std::string_view s) {
  std::string v;
  for (unsigned char c : s.substr(0, 512))
    v += (c < 0x20 || c == 0x7f || c == '"') ? '?' : static_cast<char>(c);
  if (v.empty() || v.find(' ') != std::string::npos) return "\"" + v + "\"";
  return v;
}

}  // namespace

void auth_step::begin(std::shared_ptr<const auth_setup> setup) {
  reset();
  if (!setup || !setup->active()) return;
  setup_ = std::move(setup);
  dkim_ = std::make_unique<dkim::verifier>();
  if (setup_->dmarc) arc_ = std::make_unique<arc::validator>();
}

void auth_step::reset() {
  setup_.reset();
  dkim_.reset();
  arc_.reset();
  out_ = outcome{};
  done_ = false;
}

void auth_step::feed(std::string_view chunk) {
  if (!dkim_ || done_ || chunk.empty()) return;
  dkim_->feed(chunk);
  if (arc_) arc_->feed(chunk);
}

asio::awaitable<const auth_step::outcome*> auth_step::finish(dns::resolver& res,
                                                             const policy::spf_evaluation* spf,
                                                             std::string sid) {
  using namespace asio::experimental::awaitable_operators;
  if (!dkim_) co_return nullptr;
  if (done_) co_return &out_;
  auto setup = setup_;  // a reset() while waiting must not free what we use
  try {
    if (arc_) {
      auto dk = dkim_->finish(res);
      auto ac = arc_->finish(res);
      auto both = co_await (std::move(dk) && std::move(ac));
      out_.dkim = std::move(std::get<0>(both));
      out_.arc = std::move(std::get<1>(both));
    } else {
      out_.dkim = co_await dkim_->finish(res);
    }
    if (setup->dmarc) {
      dmarc::from_domain from = dmarc::extract_from_domain(dkim_->header());
      // RFC 9989 4.4.1: the SPF identity is MAIL FROM, or HELO for the null sender;
      // spf_evaluation::outcome is exactly that identity's (a HELO fail of a non-null
      // sender decides SPF but is not DMARC's identity).
      dmarc::spf_input si;
      if (spf && !spf->skipped) {
        si.result = spf::to_string(spf->outcome.result);
        si.domain = spf->outcome.domain;
        if (si.domain.empty()) si.domain = spf->facts.domain;
      }
      std::vector<dmarc::dkim_input> di;
      for (const auto& r : out_.dkim) di.push_back({dkim::to_string(r.res), r.domain, r.selector});
      dmarc::options o;
      o.mode = setup->cfg.mode;
      o.psl = setup->psl.get();
      out_.dmarc = co_await dmarc::evaluate(from, si, di, res, o);
    }
  } catch (const std::exception& e) {
    spdlog::error("auth sid={} internal error: {}", sid, e.what());
    if (setup->dmarc) {
      out_.dmarc = dmarc::evaluation{};
      out_.dmarc->res = dmarc::result::temperror;
      out_.dmarc->reason = std::string("internal error: ") + e.what();
    }
  }
  if (out_.dmarc) {
    policy::dmarc_facts f = policy::facts_of(*out_.dmarc, out_.arc ? &*out_.arc : nullptr);
    out_.dec = policy::decide(setup->cfg, f);
    if (out_.dec->action == policy::verdict::tag)
      out_.dec->header = "X-Mxguard-Policy: " + out_.dec->reason;
  }
  done_ = true;
  std::string sigs;
  for (const auto& r : out_.dkim)
    sigs += (sigs.empty() ? "" : ",") + std::string(dkim::to_string(r.res)) + ":" +
            (r.domain.empty() ? "-" : r.domain);
  if (out_.dmarc)
    spdlog::info("auth sid={} dkim={} arc={} dmarc={} from={} policy={} action={} rule={}{}", sid,
                 sigs.empty() ? "none" : field(sigs), out_.arc ? arc::to_string(out_.arc->cv) : "-",
                 dmarc::to_string(out_.dmarc->res),
                 out_.dmarc->from_domain.empty() ? "-" : field(out_.dmarc->from_domain),
                 out_.dmarc->policy ? dmarc::to_string(*out_.dmarc->policy) : "-",
                 policy::to_string(out_.dec->action), field(out_.dec->rule),
                 out_.dec->monitor && out_.dec->would
                     ? std::string(" monitor=yes would=") + policy::to_string(*out_.dec->would)
                     : std::string());
  else
    spdlog::info("auth sid={} dkim={}", sid, sigs.empty() ? "none" : field(sigs));
  co_return &out_;
}

std::string auth_step::header_field(const policy::spf_evaluation* spf,
                                    std::string_view client_ip) const {
  policy::auth_results_input in;
  in.authserv_id = setup_ ? std::string_view(setup_->cfg.authserv_id) : std::string_view();
  in.spf = spf;
  if (done_) {
    in.dkim = &out_.dkim;
    if (out_.dmarc) in.dmarc = &*out_.dmarc;
    if (out_.arc) in.arc = &*out_.arc;
  }
  in.client_ip = client_ip;
  return policy::authentication_results(in, true) + "\r\n";
}

void auth_step::fill(store::message_record& m) const {
  if (!done_) return;
  for (const auto& r : out_.dkim)
    m.dkim.push_back({r.domain, r.selector, dkim::to_string(r.res), r.reason});
  if (out_.arc) m.arc_result = arc::to_string(out_.arc->cv);
  if (const auto& e = out_.dmarc) {
    m.header_from = e->from_domain;
    m.dmarc_result = dmarc::to_string(e->res);
    m.dmarc_policy = e->policy ? dmarc::to_string(*e->policy) : "";
    m.dmarc_policy_domain = e->policy_domain;
    m.dmarc_record = e->rec ? e->rec->raw : "";
    m.dmarc_dkim_aligned = e->dkim_aligned;
    m.dmarc_spf_aligned = e->spf_aligned;
  }
}

}  // namespace mxg::gateway
