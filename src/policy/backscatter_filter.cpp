// backscatter_filter.cpp: BATV at RCPT time and bounce judgement after DATA
// (see backscatter_filter.hpp).
#include "policy/backscatter_filter.hpp"

#include "base/ascii.hpp"
#include "ndr/bounce_info.hpp"
#include "policy/backscatter.hpp"

namespace mxg::policy {

namespace {
using ascii::lower;
}  // namespace

const char* to_string(bs_action a) {
  switch (a) {
    case bs_action::accept:
      return "accept";
    case bs_action::tag:
      return "tag";
    case bs_action::quarantine:
      return "quarantine";
    case bs_action::reject:
      return "reject";
  }
  return "?";
}

std::optional<bs_action> bs_action_from_string(std::string_view s) {
  for (auto a : {bs_action::accept, bs_action::tag, bs_action::quarantine, bs_action::reject})
    if (s == to_string(a)) return a;
  return std::nullopt;
}

decision bs_decision::to_decision() const {
  decision d;
  d.action = action == bs_action::reject       ? verdict::reject
             : action == bs_action::quarantine ? verdict::quarantine
             : action == bs_action::tag        ? verdict::tag
                                               : verdict::accept;
  d.check = "backscatter";
  d.reason = reason;
  d.header = header;
  if (d.action == verdict::reject)
    d.reply = reply.empty() ? smtp::reply(550, smtp::status::k_5_7_1, "bounce rejected") : reply;
  return d;
}

bool txn_decision::combine(bs_action a, std::string_view why) {
  if (a == action && reason.empty()) reason = std::string(why);
  if (static_cast<int>(a) <= static_cast<int>(action)) return false;
  action = a;
  reason = std::string(why);
  return true;
}

std::string backscatter_header(std::string_view reason) {
  // Keep the header one printable line (the reason may quote peer text).
  std::string h = "X-Mxguard-Backscatter: yes; ";
  if (reason.starts_with("backscatter: ")) reason.remove_prefix(13);  // the header says it
  for (unsigned char c : reason.substr(0, 400)) h += (c < 0x20 || c == 0x7f) ? ' ' : char(c);
  return h;
}

backscatter_filter::backscatter_filter(backscatter_config cfg) : cfg_(std::move(cfg)) {
  for (auto& d : cfg_.our_domains) d = lower(d);
  if (cfg_.batv) batv_.emplace(*cfg_.batv);
}

bool backscatter_filter::is_ours(std::string_view address) const {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  auto d = lower(address.substr(at + 1));
  if (!d.empty() && d.back() == '.') d.pop_back();
  for (const auto& o : cfg_.our_domains)
    if (d == o) return true;
  return false;
}

std::string backscatter_filter::outbound_sender(std::string_view sender, std::int64_t day) const {
  if (!cfg_.enabled || !batv_ || sender.empty() || !is_ours(sender)) return std::string(sender);
  return batv_->sign(sender, day);
}

bs_decision backscatter_filter::check_rcpt(std::string_view sender, std::string_view recipient,
                                           std::int64_t day) const {
  bs_decision d;
  d.recipient = std::string(recipient);
  if (!cfg_.enabled || !batv_) return d;
  // A signed recipient in our domains is delivered without its tag, bounce or not.
  // Someone else's prvs= address (a bounce we relay out) keeps its tag: that tag is
  // for the other side to verify.
  auto check = batv_->verify(recipient, day);
  if (check.status != batv_status::unsigned_ && check.status != batv_status::malformed &&
      is_ours(check.original))
    d.recipient = check.original;
  if (!sender.empty() || !is_ours(batv::strip(recipient))) return d;
  if (check.status == batv_status::valid) {
    d.reason = "bounce to a valid BATV address";
    return d;
  }
  d.action = cfg_.unsigned_bounce;
  d.reason = std::string("backscatter: bounce to an address without a valid BATV tag (") +
             to_string(check.status) + ")";
  if (d.action == bs_action::reject)
    d.reply = smtp::reply(550, smtp::status::k_5_7_1,
                          "<" + std::string(recipient) +
                              ">: bounce rejected: we never sent mail from this address (BATV)");
  if (d.action == bs_action::tag) d.header = backscatter_header(d.reason);
  return d;
}

asio::awaitable<bs_decision> backscatter_filter::check_bounce(std::string_view message,
                                                              const store::history* history,
                                                              dns::resolver* res) const {
  if (!cfg_.enabled) co_return bs_decision{};
  auto records = ndr::parse_message(message);
  bs_decision d = co_await judge_records(records, message, history, res);
  co_return d;
}

asio::awaitable<bs_decision> backscatter_filter::judge_records(
    const std::vector<ndr::record>& records, std::string_view message,
    const store::history* history, dns::resolver* res) const {
  bs_decision d;
  if (!cfg_.enabled || records.empty()) co_return d;  // not a bounce: nothing to say
  analysis_options opt;
  opt.our_domains = cfg_.our_domains;
  opt.history = history;
  opt.check_spf = res != nullptr;
  int backscatter = 0, legitimate = 0;
  std::string why;
  for (const auto& r : records) {
    auto j = co_await judge(ndr::describe(r, message), opt, res);
    if (j.v == bounce_verdict::backscatter) {
      ++backscatter;
      if (why.empty() && !j.evidence.empty()) why = j.evidence.front();
    } else if (j.v == bounce_verdict::legitimate) {
      ++legitimate;
    }
  }
  if (backscatter == 0 || legitimate > 0) {
    d.reason = legitimate ? "bounce about mail we sent" : "bounce, not judged backscatter";
    co_return d;
  }
  d.action = cfg_.ndr_backscatter;
  d.reason = "backscatter: " + why;
  if (d.action == bs_action::reject)
    d.reply = smtp::reply(550, smtp::status::k_5_7_1, "bounce rejected as backscatter: " + why);
  if (d.action == bs_action::tag) d.header = backscatter_header(why);
  co_return d;
}

}  // namespace mxg::policy
