// dmarc_policy.cpp: the DMARC policy's pure part (issue 10 section 4): outcome of a
// DMARC evaluation (RFC 9989 4.7 t=y), rule matching (rule_config.hpp), the ARC
// override (RFC 8617 7.2) and decide() with its SMTP reply (RFC 5321 4.2, RFC 3463
// X.7.1). See dmarc_policy.hpp for the defaults and why.
// Security: the From domain, the record text and the AAR come from peers. They reach a
// reply or a reason only through peer_text() (control bytes '?', length capped,
// RFC 5321 4.5.3.1.5), and smtp::reply::format() sanitizes again. No URL in a reply.
#include "policy/dmarc_policy.hpp"

#include <algorithm>

#include "base/ascii.hpp"
#include "policy/rule_config.hpp"

namespace mxg::policy {

namespace {

constexpr std::size_t kPeerTextMax = 255;  // a domain (RFC 1035 2.3.4) plus room
constexpr std::size_t kDetailMax = 200;    // the evaluation's reason in our reason

constexpr std::string_view kOutcomeKeys[kDmarcOutcomes] = {
    "pass", "fail_reject", "fail_quarantine", "fail_none", "none", "temperror", "permerror"};

std::string peer_text(std::string_view s, std::size_t max = kPeerTextMax) {
  std::string out;
  for (char ch : s.substr(0, max)) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back((c < 0x20 || c == 0x7f || c == '"') ? '?' : ch);
  }
  return out;
}

std::size_t index_of(dmarc_outcome o) {
  return static_cast<std::size_t>(o);
}

std::string substitute(std::string_view text, const dmarc_facts& f) {
  const std::string domain = f.from_domain.empty() ? "unknown" : peer_text(f.from_domain);
  const std::pair<std::string_view, std::string> vars[] = {
      {"{domain}", domain},
      {"{result}", dmarc::to_string(f.result)},
      {"{policy}", f.policy ? dmarc::to_string(*f.policy) : "none"},
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

std::string who(const dmarc_facts& f) {
  return f.from_domain.empty() ? std::string("unknown") : peer_text(f.from_domain);
}

std::string default_reject_text(const dmarc_facts& f) {
  if (f.result == dmarc::result::fail)
    return "DMARC fail: the message is not authenticated for " + who(f) +
           (f.policy == dmarc::disposition::reject ? ", whose policy is to reject it"
                                                   : ": rejected by local policy");
  return std::string("DMARC ") + dmarc::to_string(f.result) + " for " + who(f) +
         ": rejected by local policy";
}

std::string default_tempfail_text(const dmarc_facts& f) {
  if (f.result == dmarc::result::temperror)
    return "DMARC temperror for " + who(f) + ": DNS lookup failed, try again later";
  return std::string("DMARC ") + dmarc::to_string(f.result) + " for " + who(f) +
         ": deferred by local policy, try again later";
}

// RFC 3463 3.8 X.7.1 "delivery not authorized, message refused" (the choice:
// 550 5.7.1 for a DMARC reject; 451 4.7.1 its transient form).
smtp::reply reply_for(verdict v, const dmarc_policy_config& c, const dmarc_facts& f) {
  using namespace smtp::status;
  if (v == verdict::reject)
    return smtp::reply(
        550, k_5_7_1,
        c.reject_text.empty() ? default_reject_text(f) : substitute(c.reject_text, f));
  if (v == verdict::tempfail)
    return smtp::reply(
        451, k_4_7_1,
        c.tempfail_text.empty() ? default_tempfail_text(f) : substitute(c.tempfail_text, f));
  return {};
}

}  // namespace

const char* to_string(dmarc_outcome o) {
  const std::size_t i = index_of(o);
  return i < kDmarcOutcomes ? kOutcomeKeys[i].data() : "none";
}

std::optional<dmarc_outcome> dmarc_outcome_from_string(std::string_view s) {
  for (std::size_t i = 0; i < kDmarcOutcomes; ++i)
    if (s == kOutcomeKeys[i]) return static_cast<dmarc_outcome>(i);
  return std::nullopt;
}

bool dmarc_rule::matches(std::string_view domain) const {
  return domain_matches(domains, domain);
}

std::array<verdict, kDmarcOutcomes> default_dmarc_actions() {
  std::array<verdict, kDmarcOutcomes> a{};
  a.fill(verdict::accept);
  a[index_of(dmarc_outcome::fail_reject)] = verdict::reject;
  a[index_of(dmarc_outcome::fail_quarantine)] = verdict::quarantine;
  a[index_of(dmarc_outcome::temperror)] = verdict::tempfail;
  return a;
}

const dmarc_rule* dmarc_policy_config::rule_for(std::string_view domain) const {
  for (const auto& r : rules)
    if (r.matches(domain)) return &r;
  return nullptr;
}

bool dmarc_policy_config::sealer_trusted(std::string_view domain) const {
  return domain_matches(trusted_arc_sealers, domain);
}

dmarc_outcome outcome_of(const dmarc_facts& f) {
  switch (f.result) {
    case dmarc::result::pass:
      return dmarc_outcome::pass;
    case dmarc::result::none:
      return dmarc_outcome::none;
    case dmarc::result::temperror:
      return dmarc_outcome::temperror;
    case dmarc::result::permerror:
      return dmarc_outcome::permerror;
    case dmarc::result::fail:
      break;
  }
  dmarc::disposition p = f.policy.value_or(dmarc::disposition::none);
  // RFC 9989 4.7 t=y: the Domain Owner is testing; apply one step less.
  if (f.testing)
    p = p == dmarc::disposition::reject ? dmarc::disposition::quarantine : dmarc::disposition::none;
  switch (p) {
    case dmarc::disposition::reject:
      return dmarc_outcome::fail_reject;
    case dmarc::disposition::quarantine:
      return dmarc_outcome::fail_quarantine;
    case dmarc::disposition::none:
      break;
  }
  return dmarc_outcome::fail_none;
}

decision decide(const dmarc_policy_config& c, const dmarc_facts& f) {
  const dmarc_outcome o = outcome_of(f);
  const std::size_t i = index_of(o);
  decision d;
  d.check = "dmarc";
  d.reason = std::string("dmarc=") + dmarc::to_string(f.result) + " from=" + who(f);
  if (f.policy) d.reason += std::string(" policy=") + dmarc::to_string(*f.policy);
  if (f.testing) d.reason += " t=y";
  d.reason += std::string(" outcome=") + to_string(o);
  if (f.result == dmarc::result::fail || f.result == dmarc::result::pass)
    d.reason += std::string(" dkim_aligned=") + (f.dkim_aligned ? "yes" : "no") +
                " spf_aligned=" + (f.spf_aligned ? "yes" : "no");
  if (f.arc.cv != arc::chain_result::none) {
    d.reason += std::string(" arc=") + arc::to_string(f.arc.cv);
    if (!f.arc.sealer.empty()) d.reason += " arc_sealer=" + peer_text(f.arc.sealer);
    if (!f.arc.passed.empty()) d.reason += " arc_aar=" + f.arc.passed + "=pass";
  }

  // RFC 8617 7.2: a trusted sealer's passing chain vouches for the message's
  // authentication before it was forwarded.
  if (f.result == dmarc::result::fail && f.arc.cv == arc::chain_result::pass &&
      !f.arc.passed.empty() && !f.arc.sealer.empty() && c.sealer_trusted(f.arc.sealer)) {
    d.action = verdict::accept;
    d.rule = "arc override";
    d.reason += " rule=\"arc override\"";
    return d;
  }

  const verdict global = c.actions[i];
  d.action = global;
  if (const dmarc_rule* r = c.rule_for(f.from_domain)) {
    d.rule = r->name;
    const verdict by_rule = r->actions[i] ? *r->actions[i] : global;
    if (r->monitor) {
      d.monitor = true;
      d.would = by_rule;
    } else {
      d.action = by_rule;
    }
  }
  d.reply = reply_for(d.action, c, f);
  if (!d.rule.empty()) d.reason += " rule=\"" + peer_text(d.rule) + "\"";
  if (d.monitor) d.reason += std::string(" monitor would=") + to_string(*d.would);
  if (!f.detail.empty() &&
      (f.result == dmarc::result::permerror || f.result == dmarc::result::temperror))
    d.reason += " problem=\"" + peer_text(f.detail, kDetailMax) + "\"";
  return d;
}

std::string aar_pass(std::string_view v) {
  // RFC 8601 2.2: authserv-id [CFWS authres-version] *( ";" methodspec ... ). Walk the
  // resinfos: after each ';' (outside comments and quoted strings) read "method=result".
  bool dmarc = false, spf = false, dkim = false;
  std::size_t i = 0;
  int depth = 0;
  bool quoted = false;
  auto read_resinfo = [&](std::size_t at) {
    std::size_t j = at;
    auto skip = [&] {
      for (;;) {
        while (j < v.size() && (v[j] == ' ' || v[j] == '\t' || v[j] == '\r' || v[j] == '\n')) ++j;
        if (j < v.size() && v[j] == '(') {
          int dd = 0;
          for (; j < v.size(); ++j) {
            if (v[j] == '\\') {
              ++j;
              continue;
            }
            if (v[j] == '(') ++dd;
            if (v[j] == ')' && --dd == 0) {
              ++j;
              break;
            }
          }
          continue;
        }
        return;
      }
    };
    skip();
    std::string method;
    while (j < v.size() && (ascii::is_alpha(static_cast<unsigned char>(v[j])) ||
                            ascii::is_digit(static_cast<unsigned char>(v[j])) || v[j] == '-' ||
                            v[j] == '_' || v[j] == '/'))
      method += v[j++];
    skip();
    if (j >= v.size() || v[j] != '=') return;
    ++j;
    skip();
    std::string res;
    while (j < v.size() &&
           (ascii::is_alpha(static_cast<unsigned char>(v[j])) || v[j] == '-' || v[j] == '_'))
      res += v[j++];
    method = ascii::lower(method);
    if (!ascii::iequals(res, "pass")) return;
    if (method == "dmarc") dmarc = true;
    if (method == "spf") spf = true;
    if (method == "dkim") dkim = true;
  };
  for (; i < v.size(); ++i) {
    char ch = v[i];
    if (quoted) {
      if (ch == '\\')
        ++i;
      else if (ch == '"')
        quoted = false;
      continue;
    }
    if (depth > 0) {
      if (ch == '\\')
        ++i;
      else if (ch == '(')
        ++depth;
      else if (ch == ')')
        --depth;
      continue;
    }
    if (ch == '"')
      quoted = true;
    else if (ch == '(')
      depth = 1;
    else if (ch == ';')
      read_resinfo(i + 1);
  }
  return dmarc ? "dmarc" : spf ? "spf" : dkim ? "dkim" : "";
}

arc_facts arc_facts_of(const arc::validation& v) {
  arc_facts a;
  a.cv = v.cv;
  if (!v.hops.empty()) {
    const arc::hop& newest = *std::max_element(
        v.hops.begin(), v.hops.end(),
        [](const arc::hop& x, const arc::hop& y) { return x.instance < y.instance; });
    a.sealer = ascii::lower(newest.seal_domain);
    a.passed = aar_pass(newest.aar);
  }
  return a;
}

dmarc_facts facts_of(const dmarc::evaluation& e, const arc::validation* arc) {
  dmarc_facts f;
  f.result = e.res;
  f.policy = e.policy;
  f.testing = e.testing;
  f.from_domain = e.from_domain;
  f.dkim_aligned = e.dkim_aligned;
  f.spf_aligned = e.spf_aligned;
  f.detail = e.reason;
  if (arc) f.arc = arc_facts_of(*arc);
  return f;
}

}  // namespace mxg::policy
