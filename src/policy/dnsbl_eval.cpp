// dnsbl_eval.cpp: the lookups of the DNS list check (issue 12 section 2): every list
// that applies to the client's family is asked at once (RFC 5782 2.1 A query, and the
// optional TXT of a listing), on the injected resolver (the gateway's is the TTL cache
// with query coalescing, so a repeated client costs no query), and the check returns at
// the deadline at the latest: a list that has not answered by then is an error
// "deadline", never a listing. Queries still running are left to finish in the
// background (each holds its own reference to the shared state), so the session never
// waits for them.
// Must never: wait beyond the deadline, count a late answer, or throw for a DNS outcome.
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>

#include "base/spawn.hpp"
#include "policy/dnsbl.hpp"

namespace mxg::policy {

namespace {

bool in_any(const std::vector<net::cidr>& nets, const net::ip_address& ip) {
  return std::any_of(nets.begin(), nets.end(), [&](const net::cidr& n) { return n.contains(ip); });
}

// A TXT reason from the list (outside input): printable ASCII, capped.
std::string clean_txt(const dns::answer& a) {
  if (!a.ok() || a.records.empty()) return {};
  std::string out;
  for (unsigned char c : a.records.front().joined_text()) {
    if (out.size() >= kDnsblTxtMax) break;
    out += (c < 0x20 || c > 0x7e) ? '?' : static_cast<char>(c);
  }
  return out;
}

struct lookup_state {
  explicit lookup_state(asio::any_io_executor ex) : timer(std::move(ex)) {}
  std::vector<dnsbl_zone> zones;  // copies: the configuration may go away first
  std::vector<dnsbl_zone_result> results;
  std::vector<bool> have_a, done;
  std::size_t pending = 0;
  bool finished = false;  // the evaluation returned: later answers are dropped
  asio::steady_timer timer;
};

asio::awaitable<void> ask(std::shared_ptr<lookup_state> s, std::size_t i, dns::resolver& res,
                          std::string qname) {
  dns::answer a = co_await res.query(qname, dns::rrtype::a);
  if (s->finished) co_return;
  dnsbl_zone_result r = interpret(s->zones[i], a);
  r.query = qname;
  const bool want_txt = r.status == dnsbl_status::listed && s->zones[i].txt;
  s->results[i] = std::move(r);
  s->have_a[i] = true;
  if (want_txt) {
    // RFC 5782 2.1: the TXT record of the same name holds the reason (optional).
    dns::answer t = co_await res.query(qname, dns::rrtype::txt);
    if (s->finished) co_return;
    s->results[i].txt = clean_txt(t);
  }
  s->done[i] = true;
  if (--s->pending == 0) s->timer.cancel();
}

}  // namespace

asio::awaitable<dnsbl_evaluation> evaluate_dnsbl(const dnsbl_config& c,
                                                 const std::vector<net::cidr>& trusted,
                                                 dns::resolver& res, net::ip_address ip) {
  dnsbl_evaluation e;
  ip = ip.unmapped();  // RFC 4291 2.5.5.2: a v4-mapped client is an IPv4 client
  e.ip = ip.to_string();
  if (in_any(trusted, ip)) {
    e.skipped = true;
    e.skip_reason = "trusted network";
    e.dec = decide(c, e);
    co_return e;
  }
  auto ex = co_await asio::this_coro::executor;
  auto s = std::make_shared<lookup_state>(ex);
  for (const auto& z : c.zones)
    if (z.applies_to(ip)) s->zones.push_back(z);
  s->results.resize(s->zones.size());
  s->have_a.assign(s->zones.size(), false);
  s->done.assign(s->zones.size(), false);
  s->pending = s->zones.size();
  const auto deadline = asio::steady_timer::clock_type::now() + c.timeout;
  for (std::size_t i = 0; i < s->zones.size(); ++i)
    asio::co_spawn(ex, ask(s, i, res, dnsbl_query_name(ip, s->zones[i].name)),
                   log_escape("dnsbl query " + s->zones[i].name));
  s->timer.expires_at(deadline);
  while (s->pending > 0 && asio::steady_timer::clock_type::now() < deadline) {
    asio::error_code ec;
    co_await s->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) break;  // the deadline passed
  }
  s->finished = true;
  for (std::size_t i = 0; i < s->zones.size(); ++i) {
    if (s->have_a[i]) {
      e.zones.push_back(s->results[i]);  // a listing stands even when its TXT came late
      continue;
    }
    dnsbl_zone_result r;
    r.zone = s->zones[i].name;
    r.label = s->zones[i].label.empty() ? s->zones[i].name : s->zones[i].label;
    r.type = s->zones[i].type;
    r.query = dnsbl_query_name(ip, s->zones[i].name);
    r.status = dnsbl_status::error;
    r.error = "deadline";  // ours; "timeout" is the resolver's own
    e.zones.push_back(std::move(r));
  }
  e.dec = decide(c, e);
  co_return e;
}

}  // namespace mxg::policy
