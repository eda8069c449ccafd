// dnsbl.cpp: the pure part of the DNS list check (issue 12 section 2): query names
// (RFC 5782 2.1 IPv4, 2.4 IPv6 nibbles), the reading of one list's answer (RFC 5782
// 2.1 return codes in 127.0.0.0/8, 2.3 / 5 test points, the lists' "blocked from
// querying" codes as errors), the score, the decision and its reply (RFC 5321 4.2,
// RFC 3463 X.7.1 / X.4.3), and our header field. The lookups are in dnsbl_eval.cpp.
// Security: DNS answers are outside input. Only their addresses (formatted by us) reach
// replies, logs and the header; a TXT reason is sanitized (printable ASCII) and capped
// at kDnsblTxtMax before it is kept; smtp::reply::format() sanitizes again.
#include "policy/dnsbl.hpp"

#include <algorithm>
#include <set>

namespace mxg::policy {

namespace {

const net::cidr kLoopback8 = *net::cidr::parse("127.0.0.0/8");

bool in_any(const std::vector<net::cidr>& nets, const net::ip_address& ip) {
  return std::any_of(nets.begin(), nets.end(), [&](const net::cidr& n) { return n.contains(ip); });
}

// The lists named in a reply or reason: "bl.example, other.example".
std::string listed_labels(const dnsbl_evaluation& e) {
  std::string out;
  for (const auto& z : e.zones)
    if (z.status == dnsbl_status::listed && z.type == dnsbl_zone_type::block && z.weight > 0)
      out += (out.empty() ? "" : ", ") + z.label;
  return out;
}

std::string substitute(std::string_view text, const dnsbl_evaluation& e) {
  const std::string lists = listed_labels(e);
  const std::pair<std::string_view, std::string> vars[] = {
      {"{ip}", e.ip},
      {"{lists}", lists.empty() ? std::string("none") : lists},
      {"{score}", std::to_string(e.score)},
  };
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '{')
      for (const auto& [name, value] : vars)
        if (text.substr(i).starts_with(name)) {
          out += value;
          i += name.size();
          replaced = true;
          break;
        }
    if (!replaced) out += text[i++];
  }
  return out;
}

// The first listed block list's TXT reason, for the reply (Postfix style "; TXT").
std::string first_txt(const dnsbl_evaluation& e) {
  for (const auto& z : e.zones)
    if (z.status == dnsbl_status::listed && z.type == dnsbl_zone_type::block && !z.txt.empty())
      return z.txt;
  return {};
}

smtp::reply reply_for(verdict v, const dnsbl_config& c, const dnsbl_evaluation& e, bool by_error) {
  using namespace smtp::status;
  const std::string lists = listed_labels(e);
  if (v == verdict::reject) {
    // RFC 5321 3.1 / 4.2.3: 554 at the greeting or for the transaction; RFC 3463 3.8
    // X.7.1 "delivery not authorized, message refused".
    std::string text;
    if (!c.reject_text.empty()) {
      text = substitute(c.reject_text, e);
    } else if (!lists.empty()) {
      text = "Service unavailable; client [" + e.ip + "] blocked using " + lists;
      if (std::string t = first_txt(e); !t.empty()) text += "; " + t;
    } else {
      text = "Service unavailable; client [" + e.ip + "] refused by DNS list policy (score " +
             std::to_string(e.score) + ")";
    }
    return smtp::reply(554, k_5_7_1, text);
  }
  if (v == verdict::tempfail) {
    if (!c.tempfail_text.empty()) return smtp::reply(451, k_4_7_1, substitute(c.tempfail_text, e));
    if (by_error)  // RFC 3463 3.5 X.4.3 "directory server failure"
      return smtp::reply(451, k_4_4_3,
                         "DNS list lookup failed for client [" + e.ip + "], try again later");
    return smtp::reply(451, k_4_7_1,
                       "Service temporarily unavailable; client [" + e.ip + "] listed by " +
                           (lists.empty() ? std::string("DNS list policy") : lists) +
                           ", try again later");
  }
  return {};
}

verdict by_score(const dnsbl_thresholds& t, const dnsbl_thresholds& fallback, int score) {
  auto pick = [](const std::optional<int>& a, const std::optional<int>& b) { return a ? a : b; };
  // Strongest first: reject > tempfail > quarantine > tag (decision.hpp order).
  if (auto r = pick(t.reject, fallback.reject); r && score >= *r) return verdict::reject;
  if (auto r = pick(t.tempfail, fallback.tempfail); r && score >= *r) return verdict::tempfail;
  if (auto r = pick(t.quarantine, fallback.quarantine); r && score >= *r)
    return verdict::quarantine;
  if (auto r = pick(t.tag, fallback.tag); r && score >= *r) return verdict::tag;
  return verdict::accept;
}

}  // namespace

const char* to_string(dnsbl_stage s) {
  return s == dnsbl_stage::rcpt ? "rcpt" : "connect";
}

const char* to_string(dnsbl_status s) {
  switch (s) {
    case dnsbl_status::not_listed:
      return "not-listed";
    case dnsbl_status::listed:
      return "listed";
    case dnsbl_status::error:
      return "error";
    case dnsbl_status::skipped:
      return "skipped";
  }
  return "error";
}

const dnsbl_rule* dnsbl_config::rule_for(const net::ip_address& ip) const {
  for (const auto& r : rules)
    if (in_any(r.networks, ip)) return &r;
  return nullptr;
}

std::string dnsbl_query_name(const net::ip_address& ip, std::string_view zone) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const auto& b = ip.bytes();
  if (ip.is_v4()) {
    // RFC 5782 2.1: "the IPv4 address is reversed ... 192.0.2.99 -> 99.2.0.192".
    for (int i = 3; i >= 0; --i) out += std::to_string(b[static_cast<std::size_t>(i)]) + ".";
  } else {
    // RFC 5782 2.4: 32 nibbles, least significant first, each a label.
    for (int i = 15; i >= 0; --i) {
      out += kHex[b[static_cast<std::size_t>(i)] & 0x0f];
      out += '.';
      out += kHex[b[static_cast<std::size_t>(i)] >> 4];
      out += '.';
    }
  }
  return out + std::string(zone);
}

dnsbl_zone_result interpret(const dnsbl_zone& z, const dns::answer& a) {
  dnsbl_zone_result r;
  r.zone = z.name;
  r.label = z.label.empty() ? z.name : z.label;
  r.type = z.type;
  r.ttl = a.ttl;
  switch (a.st) {
    case dns::status::nxdomain:
    case dns::status::nodata:
      r.status = dnsbl_status::not_listed;  // RFC 5782 2.1: no A record = not listed
      return r;
    case dns::status::timeout:
      r.status = dnsbl_status::error;
      r.error = "timeout";
      return r;
    case dns::status::servfail:
      r.status = dnsbl_status::error;
      r.error = "servfail";
      return r;
    case dns::status::ok:
      break;
  }
  std::set<std::string> seen;
  std::size_t n = 0;
  for (const auto& rr : a.records) {
    if (rr.type != dns::rrtype::a || ++n > kDnsblAnswersMax) continue;
    const net::ip_address v = rr.addr.unmapped();
    const std::string code = v.to_string();
    // A list's error codes first (Spamhaus 127.255.255.252/254/255, configurable), then
    // RFC 5782 5: 127.0.0.1 is never a listing, and RFC 5782 2.1: codes are 127.0.0.0/8
    // (anything else is a resolver that rewrites NXDOMAIN, or a dead list's parking).
    const bool blocked = in_any(z.errors, v);
    if (blocked || !v.is_v4() || !kLoopback8.contains(v) || code == "127.0.0.1") {
      r.status = dnsbl_status::error;
      r.error = blocked ? "blocked from querying " + code
                        : (code == "127.0.0.1" ? "invalid answer 127.0.0.1 (RFC 5782 5)"
                                               : "answer outside 127.0.0.0/8: " + code);
      r.hits.clear();
      r.weight = 0;
      return r;  // one error code spoils the answer: never count part of it
    }
    if (!seen.insert(code).second) continue;
    if (z.bitmask) {
      // Each configured bit set in the last octet counts (127.0.0.x only).
      const std::uint8_t last = v.bytes()[3];
      bool any = false;
      if (v.bytes()[1] == 0 && v.bytes()[2] == 0)
        for (const auto& c : z.codes)
          if (const std::uint8_t bit = c.value.bytes()[3]; bit && (last & bit) == bit) {
            r.hits.push_back({code, c.weight, c.meaning});
            any = true;
          }
      if (!any) r.hits.push_back({code, z.weight, ""});
    } else {
      auto it = std::find_if(z.codes.begin(), z.codes.end(),
                             [&](const dnsbl_code& c) { return c.value == v; });
      if (it != z.codes.end())
        r.hits.push_back({code, it->weight, it->meaning});
      else
        r.hits.push_back({code, z.weight, ""});
    }
  }
  if (r.hits.empty()) {
    r.status = dnsbl_status::not_listed;
    return r;
  }
  r.status = dnsbl_status::listed;
  for (const auto& h : r.hits) r.weight += h.weight;
  return r;
}

decision decide(const dnsbl_config& c, dnsbl_evaluation& e) {
  e.score = 0;
  e.errors = 0;
  for (const auto& z : e.zones) {
    if (z.status == dnsbl_status::listed) e.score += z.weight;
    if (z.status == dnsbl_status::error) ++e.errors;
  }
  decision d;
  d.check = "dnsbl";
  if (e.skipped) {
    d.reason = "dnsbl skipped: " + e.skip_reason;
    return d;
  }
  const auto ip = net::ip_address::parse(e.ip);
  const dnsbl_rule* rule = ip ? c.rule_for(*ip) : nullptr;
  verdict v = by_score(rule ? rule->thresholds : dnsbl_thresholds{}, c.actions, e.score);
  bool by_error = false;
  if (e.errors > 0 && c.error_action > v) {
    v = c.error_action;
    by_error = true;
  }
  if (rule) d.rule = rule->name;
  if ((rule && rule->monitor) || c.monitor) {
    d.monitor = true;
    d.would = v;
    d.action = verdict::accept;
  } else {
    d.action = v;
  }
  d.reply = reply_for(d.action, c, e, by_error);

  d.reason = "dnsbl score=" + std::to_string(e.score);
  for (const auto& z : e.zones) {
    if (z.status == dnsbl_status::listed) {
      d.reason += (z.type == dnsbl_zone_type::allow ? " allowed=" : " listed=") + z.label + "(";
      for (std::size_t i = 0; i < z.hits.size(); ++i) d.reason += (i ? "," : "") + z.hits[i].code;
      d.reason += ")";
    } else if (z.status == dnsbl_status::error) {
      d.reason += " error=" + z.label + "(" + z.error + ")";
    }
  }
  if (!d.rule.empty()) d.reason += " rule=" + d.rule;
  if (d.monitor) d.reason += std::string(" monitor would=") + to_string(*d.would);
  return d;
}

std::string dnsbl_header_field(const dnsbl_evaluation& e) {
  if (e.skipped) return {};
  std::string h =
      "X-Mxguard-DNSBL: score=" + std::to_string(e.score) + " action=" + to_string(e.dec.action);
  if (e.dec.monitor && e.dec.would) h += std::string(" would=") + to_string(*e.dec.would);
  for (const auto& z : e.zones) {
    if (z.status == dnsbl_status::listed) {
      h += std::string(z.type == dnsbl_zone_type::allow ? "; allowed=" : "; listed=") + z.label +
           " (";
      for (std::size_t i = 0; i < z.hits.size(); ++i) h += (i ? "," : "") + z.hits[i].code;
      h += (z.weight >= 0 ? " +" : " ") + std::to_string(z.weight) + ")";
    } else if (z.status == dnsbl_status::error) {
      h += "; error=" + z.label + " (" + z.error + ")";
    }
  }
  return h;
}

}  // namespace mxg::policy
