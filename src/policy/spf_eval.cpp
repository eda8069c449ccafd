// spf_eval.cpp: the SPF check of one SMTP client under the SPF policy (issue 9 section
// 2): trusted networks and forwarders skip it; the HELO identity (RFC 7208 2.3) and the
// MAIL FROM identity (2.4; postmaster@HELO for the null sender) are evaluated on the
// injected resolver; a HELO fail decides, else MAIL FROM does; decide() maps the result
// to an action. Also the header fields a receiver adds: Received-SPF (RFC 7208 9.1) and
// Authentication-Results (RFC 8601), and the test of an arriving Authentication-Results
// field that claims our authserv-id (RFC 8601 5: such fields are removed).
// Security: sender and HELO come from the client; they reach headers only through
// received_spf.cpp's quoting or sanitize_value() here (no CR/LF, no controls).
#include <asio/experimental/awaitable_operators.hpp>

#include <algorithm>

#include "base/ascii.hpp"
#include "policy/auth_results.hpp"
#include "policy/spf_policy.hpp"
#include "spf/received_spf.hpp"

namespace mxg::policy {

namespace {

bool in_any(const std::vector<net::cidr>& nets, const net::ip_address& ip) {
  return std::any_of(nets.begin(), nets.end(), [&](const net::cidr& n) { return n.contains(ip); });
}

spf_facts facts_of(const spf::outcome& o, const net::ip_address& ip) {
  spf_facts f;
  f.result = o.result;
  f.identity = o.identity;
  f.domain = ascii::lower(o.domain);
  if (!f.domain.empty() && f.domain.back() == '.') f.domain.pop_back();
  f.ip = ip.to_string();
  f.mechanism = o.mechanism;
  f.problem = o.problem;
  // The evaluator words DNS failures "DNS <status> ..." (spf/evaluator.cpp).
  f.dns_timeout = o.result == spf::result::temperror &&
                  o.problem.starts_with(std::string("DNS ") + dns::to_string(dns::status::timeout));
  return f;
}

}  // namespace

asio::awaitable<spf_evaluation> evaluate_spf(const spf_policy_config& c,
                                             const std::vector<net::cidr>& trusted,
                                             dns::resolver& res, spf_request req,
                                             std::string receiver) {
  using namespace asio::experimental::awaitable_operators;
  spf_evaluation e;
  const net::ip_address ip = req.ip.unmapped();
  e.request = spf::request{ip, req.sender, req.helo};
  if (in_any(trusted, ip) || in_any(c.trusted_networks, ip)) {
    e.skipped = true;
    e.skip_reason = "trusted network";
  } else if (in_any(c.trusted_forwarders, ip)) {
    e.skipped = true;
    e.skip_reason = "trusted forwarder";
  }
  if (e.skipped) {
    e.dec.check = "spf";
    e.dec.reason = "spf skipped: " + e.skip_reason;
    co_return e;
  }
  spf::options opt;
  opt.receiver = receiver.empty() ? "unknown" : receiver;
  spf::evaluator ev(res, opt);
  // RFC 7208 2.3: the HELO identity is checked on its own when the MAIL FROM identity is
  // a different one (a non-null sender) and the HELO is a domain that can have a record.
  std::string helo = req.helo;
  if (!helo.empty() && helo.back() == '.') helo.pop_back();
  const bool helo_check = c.check_helo && !req.sender.empty() && spf::valid_domain(helo);
  if (helo_check) {
    spf::request hreq{ip, "", req.helo};
    spf::request mreq = e.request;
    auto [h, m] = co_await (ev.check(std::move(hreq)) && ev.check(std::move(mreq)));
    e.outcome = std::move(m);
    e.helo_outcome = std::move(h);
  } else {
    spf::request mreq = e.request;
    e.outcome = co_await ev.check(std::move(mreq));
  }
  if (e.helo_outcome && e.helo_outcome->result == spf::result::fail)
    e.facts = facts_of(*e.helo_outcome, ip);
  else
    e.facts = facts_of(e.outcome, ip);
  e.dec = decide(c, e.facts);
  // The tag action marks the message (decide() builds the reason from sanitized text).
  if (e.dec.action == verdict::tag) e.dec.header = "X-Mxguard-Policy: " + e.dec.reason;
  co_return e;
}

std::string received_spf_field(const spf_evaluation& e, std::string_view receiver) {
  if (e.skipped) return {};
  if (e.helo_outcome && e.helo_outcome->result == spf::result::fail) {
    spf::request hreq{e.request.ip, "", e.request.helo};
    return spf::received_spf_header(*e.helo_outcome, hreq, receiver);
  }
  return spf::received_spf_header(e.outcome, e.request, receiver);
}

std::string authentication_results_field(std::string_view authserv_id, const spf_evaluation& e) {
  auth_results_input in;
  in.authserv_id = authserv_id;
  in.spf = &e;
  return authentication_results(in);
}

bool claims_authserv_id(std::string_view v, std::string_view id) {
  // RFC 8601 2.2: authres-header-field = "Authentication-Results:" authserv-id
  //   [ CFWS authres-version ] ( no-result / 1*resinfo ); authserv-id = value.
  std::size_t i = 0;
  auto skip_cfws = [&] {
    for (;;) {
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')) ++i;
      if (i < v.size() && v[i] == '(') {
        int depth = 0;
        for (; i < v.size(); ++i) {
          if (v[i] == '\\') {
            ++i;
            continue;
          }
          if (v[i] == '(') ++depth;
          if (v[i] == ')' && --depth == 0) {
            ++i;
            break;
          }
        }
        continue;
      }
      return;
    }
  };
  skip_cfws();
  std::string got;
  if (i < v.size() && v[i] == '"') {
    for (++i; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      got += v[i];
    }
  } else {
    while (i < v.size() && v[i] != ';' && v[i] != '(' && v[i] != ' ' && v[i] != '\t' &&
           v[i] != '\r' && v[i] != '\n')
      got += v[i++];
  }
  if (!got.empty() && got.back() == '.') got.pop_back();
  std::string_view want = id;
  if (!want.empty() && want.back() == '.') want.remove_suffix(1);
  return !got.empty() && ascii::iequals(got, want);
}

}  // namespace mxg::policy
