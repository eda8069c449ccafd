// spf_policy.cpp: the SPF policy's pure part (issue 9 section 2): rule matching, the
// global default actions and decide(), which maps one RFC 7208 2.6 result to a policy
// decision with its SMTP reply (RFC 5321 4.2; enhanced status codes RFC 3463, SPF codes
// X.7.23 / X.7.24 of RFC 7372 3.2; 4.4.3 for a DNS that did not answer, RFC 3463 3.5).
// The SPF evaluation itself and the header fields are in spf_eval.cpp.
// Security: the checked domain comes from the client (MAIL FROM / HELO). It reaches the
// reply text and the reason only through peer_text(): control bytes become '?', the
// length is capped (RFC 5321 4.5.3.1.5: a reply line is at most 512 octets), and
// smtp::reply::format() sanitizes again. No URL is ever put in a reply.
#include <algorithm>

#include "base/ascii.hpp"
#include "policy/rule_config.hpp"
#include "policy/spf_policy.hpp"

namespace mxg::policy {

namespace {

// Peer-supplied text in a reply or a reason: longest domain (RFC 1035 2.3.4: 253
// octets in text form) plus room; control bytes replaced.
constexpr std::size_t kPeerTextMax = 255;

std::string peer_text(std::string_view s) {
  std::string out;
  out.reserve(std::min(s.size(), kPeerTextMax));
  for (char ch : s.substr(0, kPeerTextMax)) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back((c < 0x20 || c == 0x7f) ? '?' : ch);
  }
  return out;
}

std::size_t index_of(spf::result r) {
  return static_cast<std::size_t>(r);
}

// Replaces {domain}, {result}, {ip} and {identity} in an operator's text; other braces
// are kept as written.
std::string substitute(std::string_view text, const spf_facts& f) {
  const std::string domain = f.domain.empty() ? "unknown" : peer_text(f.domain);
  const std::pair<std::string_view, std::string> vars[] = {
      {"{domain}", domain},
      {"{result}", spf::to_string(f.result)},
      {"{ip}", peer_text(f.ip)},
      {"{identity}", spf::to_string(f.identity)},
  };
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '{') {
      for (const auto& [name, value] : vars) {
        if (text.substr(i).starts_with(name)) {
          out += value;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

// The default reply texts: the identity's domain and the result, a short reason, no URL.
std::string default_reject_text(const spf_facts& f) {
  const std::string who = (f.identity == spf::identity::helo ? "HELO " : "") +
                          (f.domain.empty() ? std::string("unknown") : peer_text(f.domain));
  const std::string ip = f.ip.empty() ? std::string("the client") : peer_text(f.ip);
  switch (f.result) {
    case spf::result::fail:
      return "SPF fail: " + who + " does not authorize " + ip + " to send its mail";
    case spf::result::softfail:
      return "SPF softfail: " + who + " does not authorize " + ip + " to send its mail";
    case spf::result::permerror:
      return "SPF permerror: the SPF record of " + who + " is invalid";
    default:
      return std::string("SPF ") + spf::to_string(f.result) + " for " + who +
             ": rejected by local policy";
  }
}

std::string default_tempfail_text(const spf_facts& f) {
  const std::string who = (f.identity == spf::identity::helo ? "HELO " : "") +
                          (f.domain.empty() ? std::string("unknown") : peer_text(f.domain));
  if (f.result == spf::result::temperror)
    return "SPF temperror for " + who +
           (f.dns_timeout ? ": DNS lookup timed out" : ": DNS lookup failed") + ", try again later";
  return std::string("SPF ") + spf::to_string(f.result) + " for " + who +
         ": deferred by local policy, try again later";
}

// RFC 7372 3.2: X.7.23 "SPF validation failed", X.7.24 "SPF validation error".
smtp::reply reply_for(verdict v, const spf_policy_config& c, const spf_facts& f) {
  using namespace smtp::status;
  if (v == verdict::reject) {
    smtp::enhanced_status st = k_5_7_1;
    if (f.result == spf::result::fail || f.result == spf::result::softfail)
      st = k_5_7_23;
    else if (f.result == spf::result::permerror)
      st = k_5_7_24;
    return smtp::reply(
        550, st, c.reject_text.empty() ? default_reject_text(f) : substitute(c.reject_text, f));
  }
  if (v == verdict::tempfail) {
    smtp::enhanced_status st = k_4_7_1;
    if (f.result == spf::result::temperror) st = f.dns_timeout ? k_4_4_3 : k_4_7_24;
    return smtp::reply(
        451, st,
        c.tempfail_text.empty() ? default_tempfail_text(f) : substitute(c.tempfail_text, f));
  }
  return {};
}

}  // namespace

const char* to_string(spf_stage s) {
  switch (s) {
    case spf_stage::mail:
      return "mail";
    case spf_stage::rcpt:
      return "rcpt";
  }
  return "rcpt";
}

bool spf_rule::matches(std::string_view domain) const {
  return domain_matches(domains, domain);
}

std::array<verdict, kSpfResults> default_spf_actions() {
  std::array<verdict, kSpfResults> a{};
  a.fill(verdict::accept);
  a[index_of(spf::result::fail)] = verdict::reject;
  a[index_of(spf::result::softfail)] = verdict::quarantine;
  a[index_of(spf::result::temperror)] = verdict::tempfail;
  return a;
}

const spf_rule* spf_policy_config::rule_for(std::string_view domain) const {
  for (const auto& r : rules)
    if (r.matches(domain)) return &r;
  return nullptr;
}

decision decide(const spf_policy_config& c, const spf_facts& f) {
  const std::size_t i = index_of(f.result);
  const verdict global = i < kSpfResults ? c.actions[i] : verdict::accept;
  decision d;
  d.check = "spf";
  d.action = global;
  if (const spf_rule* r = c.rule_for(f.domain)) {
    d.rule = r->name;
    const verdict by_rule = (i < kSpfResults && r->actions[i]) ? *r->actions[i] : global;
    if (r->monitor) {
      d.monitor = true;
      d.would = by_rule;
    } else {
      d.action = by_rule;
    }
  }
  d.reply = reply_for(d.action, c, f);

  d.reason = std::string("spf=") + spf::to_string(f.result) +
             " domain=" + (f.domain.empty() ? std::string("unknown") : peer_text(f.domain));
  if (f.identity == spf::identity::helo) d.reason += " identity=helo";
  if (!d.rule.empty()) d.reason += " rule=" + d.rule;
  if (d.monitor) d.reason += std::string(" monitor would=") + to_string(*d.would);
  if (!f.problem.empty() &&
      (f.result == spf::result::permerror || f.result == spf::result::temperror))
    d.reason += " problem=\"" + peer_text(f.problem) + "\"";
  return d;
}

}  // namespace mxg::policy
