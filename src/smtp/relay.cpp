// relay.cpp: relay control decision (see relay.hpp for the rules and RFC 2505).
// Security: this is the check that keeps mxguard from being an open relay.
// It is deliberately conservative: anything that a downstream MTA could route
// elsewhere is refused for untrusted clients, even when its domain is ours.
#include "smtp/relay.hpp"
#include "base/ascii.hpp"

#include <algorithm>

namespace mxg::smtp {

namespace {

using ascii::lower;

std::string normalize(std::string_view d) {
  std::string out(d);
  ascii::lower_in_place(out);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

relay_decision deny(std::string why) {
  relay_decision d;
  d.verdict = relay_verdict::denied;
  d.refusal = replies::relay_denied();
  d.why = std::move(why);
  return d;
}

}  // namespace

const char* to_string(relay_verdict v) noexcept {
  switch (v) {
    case relay_verdict::local:
      return "local";
    case relay_verdict::relay_domain:
      return "relay-domain";
    case relay_verdict::trusted:
      return "trusted";
    case relay_verdict::denied:
      return "denied";
  }
  return "denied";
}

bool domain_matches(std::string_view domain, const std::vector<std::string>& list) {
  const std::string d = normalize(domain);
  if (d.empty()) return false;
  for (const auto& raw : list) {
    std::string e = normalize(raw);
    if (e.empty()) continue;
    if (e.front() == '.') {
      // ".example.com": strict subdomains only.
      if (d.size() > e.size() && d.compare(d.size() - e.size(), e.size(), e) == 0) return true;
    } else if (d == e) {
      return true;
    }
  }
  return false;
}

relay_decision check_relay(const path& rcpt, const relay_domains& domains, bool client_trusted) {
  if (rcpt.is_postmaster_only()) {
    // RFC 5321 4.5.1: the postmaster of this host, never the default route.
    if (domains.postmaster.empty()) {
      relay_decision d;
      d.verdict = relay_verdict::denied;
      d.refusal = reply(550, status::k_5_1_1,
                        "<Postmaster>: no postmaster mailbox is configured on this host; "
                        "write to postmaster@<domain>");
      d.why = "<Postmaster> without a configured postmaster address";
      return d;
    }
    return relay_decision{relay_verdict::local, {}, "postmaster", domains.postmaster};
  }
  if (rcpt.is_null()) return deny("null path as recipient");
  if (client_trusted) return relay_decision{relay_verdict::trusted, {}, "trusted client", {}};

  if (rcpt.domain_is_literal()) return deny("address literal from an untrusted client");
  const std::string local = rcpt.local_part_unquoted();
  if (rcpt.local_part_quoted()) return deny("quoted local part from an untrusted client");
  if (local.empty()) return deny("empty local part");
  // RFC 2505 2.4: '%' (percent hack), '!' (UUCP bang path) and '@' in the local
  // part can make the next hop route the message elsewhere.
  if (local.find_first_of("%!@") != std::string::npos)
    return deny("routing characters (% ! @) in local part");

  if (domain_matches(rcpt.domain(), domains.local))
    return relay_decision{relay_verdict::local, {}, "local domain", {}};
  if (domain_matches(rcpt.domain(), domains.relay))
    return relay_decision{relay_verdict::relay_domain, {}, "relay domain", {}};
  return deny("domain is not local");
}

}  // namespace mxg::smtp
