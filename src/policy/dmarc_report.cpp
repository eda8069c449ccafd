// dmarc_report.cpp: see dmarc_report.hpp (RFC 9990 aggregate reports from the history).
#include "policy/dmarc_report.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "base/ascii.hpp"
#include "dmarc/record.hpp"
#include "net/ip_address.hpp"

namespace mxg::policy {

namespace {

int strength(const std::string& disposition) {
  if (disposition == "reject") return 2;
  if (disposition == "quarantine") return 1;
  return 0;
}

std::string domain_of(const std::string& address) {
  return store::sender_domain(address);
}

// RFC 9990 "DKIM Signatures in Aggregate Reports": strictly aligned passes, relaxed
// aligned passes, other passes, then the rest. Relaxed alignment is approximated by the
// subdomain relation here (order only; the evaluation itself decided alignment).
int dkim_rank(const store::dkim_record& d, const std::string& from) {
  auto dom = ascii::lower(d.domain);
  bool pass = d.result == "pass";
  if (!pass) return 3;
  if (dom == from) return 0;
  if ((!from.empty() && dom.ends_with("." + from)) || from.ends_with("." + dom)) return 1;
  return 2;
}

struct row_key {
  std::string ip, disposition, dkim, spf;
  std::vector<std::pair<std::string, std::string>> reasons;
  std::string envelope_from, header_from;
  std::vector<std::tuple<std::string, std::string, std::string>> dkim_results;
  std::string spf_domain, spf_scope, spf_result;
  auto tie() const {
    return std::tie(ip, disposition, dkim, spf, reasons, envelope_from, header_from, dkim_results,
                    spf_domain, spf_scope, spf_result);
  }
  bool operator<(const row_key& o) const { return tie() < o.tie(); }
};

struct domain_acc {
  std::map<row_key, std::uint64_t> rows;
  std::int64_t newest = -1;
  std::string record;
  std::uint64_t messages = 0;
};

}  // namespace

// From the record as parse_record reads it (the same parser the evaluation used), so the
// report can never disagree with what was enforced. An unparseable record (never stored
// by the gateway, but the history is a file) reports the RFC 9989 4.7 defaults.
dmarc::policy_published published_policy(const std::string& domain, const std::string& record) {
  dmarc::policy_published p;
  p.domain = ascii::lower(domain);
  auto rec = dmarc::parse_record(record);
  if (!rec) {
    p.p = p.sp = "none";
    p.adkim = p.aspf = "r";
    p.testing = "n";
    return p;
  }
  p.p = dmarc::to_string(rec->effective_p());
  p.sp = dmarc::to_string(rec->effective_sp());
  if (rec->np && !rec->as_p_none()) p.np = dmarc::to_string(*rec->np);  // only when published
  p.adkim = dmarc::to_string(rec->adkim);
  p.aspf = dmarc::to_string(rec->aspf);
  p.testing = rec->testing ? "y" : "n";
  if (!rec->fo.empty()) p.fo = rec->fo;
  return p;
}

std::vector<aggregate_report> build_aggregate_reports(
    const std::vector<store::message_record>& records, const aggregate_options& o) {
  std::map<std::string, domain_acc> by_domain;
  for (const auto& m : records) {
    if (m.dir != store::direction::inbound) continue;
    if (m.time < o.since || (o.until && m.time >= o.until)) continue;
    if (m.dmarc_result.empty() || m.dmarc_policy_domain.empty()) continue;
    if (m.decision == "tempfail") continue;
    // RFC 9990 appendix A: source_ip is required and must be an address.
    auto ip = net::ip_address::parse(m.client_ip);
    if (!ip) continue;
    auto domain = ascii::lower(m.dmarc_policy_domain);
    auto& acc = by_domain[domain];
    if (m.time >= acc.newest) {
      acc.newest = m.time;
      acc.record = m.dmarc_record;
    }
    ++acc.messages;

    row_key k;
    k.ip = ip->to_string();  // one spelling per address, so rows group
    k.header_from = ascii::lower(m.header_from);
    bool pass = m.dmarc_result == "pass";
    const std::string& policy = m.dmarc_policy;
    if (m.decision == "reject")
      k.disposition = "reject";
    else if (m.decision == "quarantine")
      k.disposition = "quarantine";
    else
      k.disposition = pass && strength(policy) > 0 ? "pass" : "none";
    k.dkim = m.dmarc_dkim_aligned ? "pass" : "fail";
    k.spf = m.dmarc_spf_aligned ? "pass" : "fail";
    // RFC 9990 "Policy Override Reason": say why less was done than the policy asked.
    if (!pass && strength(k.disposition) < strength(policy)) {
      auto rec = dmarc::parse_record(m.dmarc_record);
      bool testing = rec && rec->testing;
      if (testing) {
        k.reasons.push_back({"policy_test_mode", ""});
      } else {
        std::string comment;
        for (const auto& d : m.decisions)
          if (d.check == "dmarc") {
            comment = d.monitor ? "monitor rule" : "local rule";
            if (!d.rule.empty()) comment += " \"" + d.rule + "\"";
            if (!d.reason.empty()) comment += ": " + d.reason;
          }
        if (comment.empty() && m.arc_result == "pass") comment = "ARC chain pass (RFC 8617)";
        k.reasons.push_back({"local_policy", comment});
      }
    }
    // envelope_from: the RFC5321.MailFrom domain, or the HELO domain for a null
    // reverse-path (RFC 9990 appendix A IdentifierType).
    k.envelope_from = domain_of(m.sender);
    if (k.envelope_from.empty()) k.envelope_from = ascii::lower(m.helo);
    std::vector<std::pair<int, std::size_t>> order;
    for (std::size_t i = 0; i < m.dkim.size(); ++i)
      order.push_back({dkim_rank(m.dkim[i], k.header_from), i});
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [rank, i] : order) {
      if (k.dkim_results.size() == dmarc::kReportDkimPerRowMax) break;
      const auto& d = m.dkim[i];
      k.dkim_results.emplace_back(ascii::lower(d.domain), d.selector,
                                  d.result.empty() ? "none" : ascii::lower(d.result));
    }
    k.spf_domain = ascii::lower(m.spf_domain.empty() ? k.envelope_from : m.spf_domain);
    k.spf_scope = m.spf_identity == "mailfrom" ? "mfrom" : m.spf_identity == "helo" ? "helo" : "";
    k.spf_result = m.spf_result.empty() ? "none" : ascii::lower(m.spf_result);
    ++acc.rows[k];
  }

  std::string receiver = ascii::lower(o.receiver.empty() ? domain_of(o.email) : o.receiver);
  std::int64_t end = o.until > o.since ? o.until - 1 : o.since;  // date_range is inclusive
  std::vector<aggregate_report> out;
  for (auto& [domain, acc] : by_domain) {
    aggregate_report r;
    r.policy_domain = domain;
    r.messages = acc.messages;
    auto& f = r.report;
    f.version = "1.0";
    f.metadata.org_name = o.org_name;
    f.metadata.email = o.email;
    f.metadata.extra_contact_info = o.extra_contact_info;
    // RFC 9990 "Definition of Report-ID": unique per report to a domain; the same on a
    // re-send of the same window (so it is derived, not random).
    f.metadata.report_id = std::to_string(o.since) + "." + std::to_string(end) + "." + domain +
                           (receiver.empty() ? "" : "@" + receiver);
    f.metadata.date_range = {o.since, end};
    f.policy = published_policy(domain, acc.record);
    for (const auto& [k, count] : acc.rows) {
      dmarc::report_record rec;
      rec.row.source_ip = k.ip;
      rec.row.count = count;
      rec.row.evaluated.disposition = k.disposition;
      rec.row.evaluated.dkim = k.dkim;
      rec.row.evaluated.spf = k.spf;
      for (const auto& [type, comment] : k.reasons)
        rec.row.evaluated.reasons.push_back({type, comment});
      rec.identifiers.envelope_from = k.envelope_from;
      rec.identifiers.header_from = k.header_from;
      for (const auto& [d, s, res] : k.dkim_results) rec.dkim.push_back({d, s, res, ""});
      rec.spf.push_back({k.spf_domain, k.spf_scope, k.spf_result, ""});
      f.records.push_back(std::move(rec));
    }
    std::stable_sort(f.records.begin(), f.records.end(), [](const auto& a, const auto& b) {
      if (a.row.source_ip != b.row.source_ip) return a.row.source_ip < b.row.source_ip;
      return a.row.count > b.row.count;
    });
    r.filename = dmarc::report_filename(receiver.empty() ? "localhost" : receiver, domain, o.since,
                                        end, "", true);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace mxg::policy
