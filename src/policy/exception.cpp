// exception.cpp: see exception.hpp.
#include "policy/exception.hpp"

#include "base/ascii.hpp"
#include "net/ip_address.hpp"

namespace mxg::policy {

namespace {

// The narrowest scope a network may have: never "everyone".
constexpr unsigned kMinPrefixV4 = 8;
constexpr unsigned kMinPrefixV6 = 16;

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  return ascii::lower(address.substr(at + 1));
}

}  // namespace

bool live(const store::policy_exception& e, std::int64_t now) {
  if (e.deleted_at) return false;
  return !e.expires_at || now < *e.expires_at;
}

bool expired(const store::policy_exception& e, std::int64_t now) {
  return !e.deleted_at && e.expires_at && now >= *e.expires_at;
}

result<void> normalize_scope(store::policy_exception& e) {
  if (e.kind == "sender") {
    std::string s = ascii::lower(e.sender);
    std::string d = domain_of(s);
    if (d.empty() || s.front() == '@' || s.find_first_of(" \t\r\n<>") != std::string::npos)
      return fail(errc::invalid_argument, "sender scope: an envelope sender address is needed");
    e.sender = std::move(s);
    e.domain = std::move(d);
    e.net.clear();
    return {};
  }
  if (e.kind == "domain_net") {
    std::string d = ascii::lower(e.domain);
    if (d.empty() || d.find_first_of("@ \t\r\n<>/") != std::string::npos)
      return fail(errc::invalid_argument, "domain_net scope: a sender domain is needed");
    auto c = net::cidr::parse(e.net);
    if (!c || e.net.find('/') == std::string::npos)
      return fail(errc::invalid_argument, "domain_net scope: a network in CIDR form is needed");
    unsigned min = c->addr.is_v4() ? kMinPrefixV4 : kMinPrefixV6;
    if (c->prefix < min)
      return fail(errc::invalid_argument,
                  "domain_net scope: the network must be at least /" + std::to_string(min));
    net::cidr n{c->network(), c->prefix};
    e.domain = std::move(d);
    e.net = n.to_string();
    e.sender.clear();
    return {};
  }
  return fail(errc::invalid_argument, "scope must be \"sender\" or \"domain_net\"");
}

std::string default_net(std::string_view client_ip) {
  auto ip = net::ip_address::parse(client_ip);
  if (!ip) return {};
  net::ip_address a = ip->unmapped();
  net::cidr c{a, a.is_v4() ? 24u : 64u};
  return net::cidr{c.network(), c.prefix}.to_string();
}

bool scope_matches(const store::policy_exception& e, std::string_view sender,
                   std::string_view client_ip, std::int64_t now) {
  if (!live(e, now) || sender.empty()) return false;
  if (e.kind == "sender") return !e.sender.empty() && ascii::iequals(sender, e.sender);
  if (e.kind != "domain_net" || e.domain.empty()) return false;
  if (domain_of(sender) != e.domain) return false;
  auto c = net::cidr::parse(e.net);
  auto ip = net::ip_address::parse(client_ip);
  if (!c || !ip) return false;
  net::ip_address a = ip->unmapped();
  return a.fam() == c->addr.fam() && c->contains(a);
}

bool dmarc_matches(const store::policy_exception& e, std::string_view sender,
                   std::string_view client_ip, std::string_view from_domain, std::int64_t now) {
  return !from_domain.empty() && ascii::iequals(from_domain, e.domain) &&
         scope_matches(e, sender, client_ip, now);
}

bool apply(decision& d, const store::policy_exception& e) {
  if (d.monitor || (d.action != verdict::quarantine && d.action != verdict::reject)) return false;
  std::string was = to_string(d.action);
  d.action = verdict::tag;
  d.reply = smtp::reply{};
  d.rule = "exception:" + std::to_string(e.id);
  d.reason = "excepted (would " + was + ": " + d.reason + ")";
  d.header = "X-Mxguard-Policy: " + d.check + " " + d.reason;
  return true;
}

const store::policy_exception* except_spf(decision& d, const exception_set& s,
                                          std::string_view sender, std::string_view client_ip,
                                          std::int64_t now) {
  if (s.empty()) return nullptr;
  const auto* e = s.find_spf(sender, client_ip, now);
  return e && apply(d, *e) ? e : nullptr;
}

const store::policy_exception* except_dmarc(decision& d, const exception_set& s,
                                            std::string_view sender, std::string_view client_ip,
                                            std::string_view from_domain, std::int64_t now) {
  if (s.empty()) return nullptr;
  const auto* e = s.find_dmarc(sender, client_ip, from_domain, now);
  return e && apply(d, *e) ? e : nullptr;
}

const store::policy_exception* exception_set::find_spf(std::string_view sender,
                                                       std::string_view client_ip,
                                                       std::int64_t now) const {
  for (const auto& e : all_)
    if (scope_matches(e, sender, client_ip, now)) return &e;
  return nullptr;
}

const store::policy_exception* exception_set::find_dmarc(std::string_view sender,
                                                         std::string_view client_ip,
                                                         std::string_view from_domain,
                                                         std::int64_t now) const {
  for (const auto& e : all_)
    if (dmarc_matches(e, sender, client_ip, from_domain, now)) return &e;
  return nullptr;
}

}  // namespace mxg::policy
