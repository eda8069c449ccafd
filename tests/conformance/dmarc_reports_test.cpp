// dmarc_reports_test.cpp: conformance of the DMARC report readers against
// ../shared/conformance/dmarc-reports (stalwartlabs/mail-auth's test data, untouched):
// every aggregate/*.xml and *.eml through dmarc::parse_report_data (RFC 9990 / RFC 7489
// reports, zip/gzip/plain attachments) and every arf/*.eml through dmarc::parse_arf
// (RFC 5965 / RFC 6591, RFC 9991), compared with the .json beside it field by field.
// SOURCE.md: "Field names are upstream's; compare values, not layout": upstream's enum
// names are compared as tokens (case and punctuation dropped: "TrustedForwarder" =
// trusted_forwarder, "AuthFailure" = auth-failure; "Unspecified" and null = absent;
// "MailFrom" = mfrom); reason types outside RFC 9990's list count as "other" (upstream
// folds them so); the version is compared as a number (absent = 0); folded header values
// are compared with runs of white space as one space. Fields we do not compare are in
// tests/conformance/dmarc-reports-skips.txt with the reason.
// Run with -v to print every comparison that failed.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/ascii.hpp"
#include "dmarc/report.hpp"
#include "dmarc/report_arf.hpp"

namespace {

using nlohmann::json;
using namespace mxg;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Upstream enum name or string -> comparable token.
std::string tok(const json& v) {
  if (v.is_null()) return "";
  if (!v.is_string()) return v.dump();
  std::string out;
  for (char c : ascii::lower(v.get<std::string>()))
    if (ascii::is_alpha(static_cast<unsigned char>(c)) ||
        ascii::is_digit(static_cast<unsigned char>(c)))
      out += c;
  if (out == "unspecified") return "";
  if (out == "mailfrom") return "mfrom";
  return out;
}
std::string tok(const std::string& s) {
  return tok(json(s));
}
std::string str(const json& v) {
  return v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump();
}
std::string ws(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

struct skip_list {
  std::map<std::string, std::string> entries;  // "aggregate/*:extensions" -> reason
  std::set<std::string> used;
  bool skipped(const std::string& kase, const std::string& field) {
    auto folder = kase.substr(0, kase.find('/'));
    for (const auto& key : {kase + ":" + field, folder + "/*:" + field})
      if (entries.count(key)) {
        used.insert(key);
        return true;
      }
    return false;
  }
};

skip_list load_skips() {
  skip_list s;
  std::ifstream in(std::string(MXG_SOURCE_DIR) + "/tests/conformance/dmarc-reports-skips.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    s.entries[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return s;
}

struct checker {
  std::string kase;
  skip_list& skips;
  bool verbose;
  int compared = 0, failed = 0;
  void eq(const std::string& field, const std::string& want, const std::string& got) {
    if (skips.skipped(kase, field)) return;
    ++compared;
    if (want == got) return;
    ++failed;
    if (verbose)
      std::printf("  %s %s: expected \"%s\", got \"%s\"\n", kase.c_str(), field.c_str(),
                  want.c_str(), got.c_str());
  }
};

bool rfc9990_reason(const std::string& t) {
  return t == "local_policy" || t == "mailing_list" || t == "other" || t == "policy_test_mode" ||
         t == "trusted_forwarder";
}

void compare_feedback(checker& c, const json& want, const dmarc::feedback& got) {
  char v[32];
  std::snprintf(v, sizeof v, "%.1f", got.version.empty() ? 0.0 : std::stod(got.version));
  char w[32];
  std::snprintf(w, sizeof w, "%.1f", want.value("version", 0.0));
  c.eq("version", w, v);
  const auto& m = want["report_metadata"];
  c.eq("report_metadata.org_name", str(m["org_name"]), got.metadata.org_name);
  c.eq("report_metadata.email", str(m["email"]), got.metadata.email);
  c.eq("report_metadata.extra_contact_info", str(m["extra_contact_info"]),
       got.metadata.extra_contact_info);
  c.eq("report_metadata.report_id", str(m["report_id"]), got.metadata.report_id);
  c.eq("report_metadata.date_range.begin", str(m["date_range"]["begin"]),
       std::to_string(got.metadata.date_range.begin));
  c.eq("report_metadata.date_range.end", str(m["date_range"]["end"]),
       std::to_string(got.metadata.date_range.end));
  c.eq("report_metadata.error", m["error"].dump(), json(got.metadata.errors).dump());
  const auto& p = want["policy_published"];
  c.eq("policy_published.domain", str(p["domain"]), got.policy.domain);
  c.eq("policy_published.version_published", str(p["version_published"]), "");
  // upstream: Relaxed / Strict / Unspecified
  auto align = [](const std::string& t) { return t == "relaxed" ? "r" : t == "strict" ? "s" : t; };
  c.eq("policy_published.adkim", align(tok(p["adkim"])), got.policy.adkim);
  c.eq("policy_published.aspf", align(tok(p["aspf"])), got.policy.aspf);
  c.eq("policy_published.p", tok(p["p"]), tok(got.policy.p));
  c.eq("policy_published.sp", tok(p["sp"]), tok(got.policy.sp));
  if (p.contains("np")) c.eq("policy_published.np", tok(p["np"]), tok(got.policy.np));
  c.eq("policy_published.testing", p.value("testing", false) ? "y" : "n",
       got.policy.testing == "y" ? "y" : "n");
  if (p.contains("discovery_method"))
    c.eq("policy_published.discovery_method", tok(p["discovery_method"]),
         tok(got.policy.discovery_method));
  c.eq("policy_published.fo", str(p["fo"]), got.policy.fo);
  const auto& recs = want["record"];
  c.eq("record.size", std::to_string(recs.size()), std::to_string(got.records.size()));
  for (std::size_t i = 0; i < recs.size() && i < got.records.size(); ++i) {
    const auto& wr = recs[i];
    const auto& gr = got.records[i];
    std::string at = "record[" + std::to_string(i) + "].";
    const auto& row = wr["row"];
    c.eq(at + "row.source_ip", str(row["source_ip"]), gr.row.source_ip);
    c.eq(at + "row.count", str(row["count"]), std::to_string(gr.row.count));
    const auto& pe = row["policy_evaluated"];
    c.eq(at + "row.policy_evaluated.disposition", tok(pe["disposition"]),
         tok(gr.row.evaluated.disposition));
    c.eq(at + "row.policy_evaluated.dkim", tok(pe["dkim"]), tok(gr.row.evaluated.dkim));
    c.eq(at + "row.policy_evaluated.spf", tok(pe["spf"]), tok(gr.row.evaluated.spf));
    const auto& reasons = pe["reason"];
    c.eq(at + "row.policy_evaluated.reason.size", std::to_string(reasons.size()),
         std::to_string(gr.row.evaluated.reasons.size()));
    for (std::size_t j = 0; j < reasons.size() && j < gr.row.evaluated.reasons.size(); ++j) {
      const auto& g = gr.row.evaluated.reasons[j];
      c.eq(at + "reason.type", tok(reasons[j]["type_"]),
           tok(rfc9990_reason(g.type) ? g.type : "other"));
      c.eq(at + "reason.comment", str(reasons[j]["comment"]), g.comment);
    }
    const auto& id = wr["identifiers"];
    c.eq(at + "identifiers.envelope_to", str(id["envelope_to"]), gr.identifiers.envelope_to);
    c.eq(at + "identifiers.envelope_from", str(id["envelope_from"]), gr.identifiers.envelope_from);
    c.eq(at + "identifiers.header_from", str(id["header_from"]), gr.identifiers.header_from);
    const auto& dk = wr["auth_results"]["dkim"];
    c.eq(at + "auth_results.dkim.size", std::to_string(dk.size()), std::to_string(gr.dkim.size()));
    for (std::size_t j = 0; j < dk.size() && j < gr.dkim.size(); ++j) {
      c.eq(at + "dkim.domain", str(dk[j]["domain"]), gr.dkim[j].domain);
      c.eq(at + "dkim.selector", str(dk[j]["selector"]), gr.dkim[j].selector);
      c.eq(at + "dkim.result", tok(dk[j]["result"]), tok(gr.dkim[j].result));
      c.eq(at + "dkim.human_result", str(dk[j]["human_result"]), gr.dkim[j].human_result);
    }
    const auto& sp = wr["auth_results"]["spf"];
    c.eq(at + "auth_results.spf.size", std::to_string(sp.size()), std::to_string(gr.spf.size()));
    for (std::size_t j = 0; j < sp.size() && j < gr.spf.size(); ++j) {
      c.eq(at + "spf.domain", str(sp[j]["domain"]), gr.spf[j].domain);
      c.eq(at + "spf.scope", tok(sp[j]["scope"]), tok(gr.spf[j].scope));
      c.eq(at + "spf.result", tok(sp[j]["result"]), tok(gr.spf[j].result));
      c.eq(at + "spf.human_result", str(sp[j]["human_result"]), gr.spf[j].human_result);
    }
    if (!wr["extensions"].empty()) c.eq("extensions", wr["extensions"].dump(), "");
  }
  if (!want["extensions"].empty()) c.eq("extensions", want["extensions"].dump(), "");
}

void compare_arf(checker& c, const json& w, const dmarc::arf_report& g) {
  c.eq("feedback_type", tok(w["feedback_type"]), tok(g.feedback_type));
  c.eq("arrival_date", str(w["arrival_date"]),
       g.arrival_date ? std::to_string(*g.arrival_date) : "");
  std::vector<std::string> want_ar, got_ar;
  for (const auto& a : w["authentication_results"]) want_ar.push_back(ws(str(a)));
  for (const auto& a : g.authentication_results) got_ar.push_back(ws(a));
  c.eq("authentication_results", json(want_ar).dump(), json(got_ar).dump());
  c.eq("incidents", str(w["incidents"]), std::to_string(g.incidents));
  c.eq("original_envelope_id", str(w["original_envelope_id"]), g.original_envelope_id);
  c.eq("original_mail_from", str(w["original_mail_from"]), g.original_mail_from);
  c.eq("original_rcpt_to", str(w["original_rcpt_to"]),
       g.original_rcpt_to.empty() ? "" : g.original_rcpt_to.front());
  c.eq("reported_domain", w["reported_domain"].dump(), json(g.reported_domain).dump());
  c.eq("reported_uri", w["reported_uri"].dump(), json(g.reported_uri).dump());
  c.eq("reporting_mta", str(w["reporting_mta"]), g.reporting_mta);
  c.eq("source_ip", str(w["source_ip"]), g.source_ip);
  c.eq("user_agent", str(w["user_agent"]), g.user_agent);
  c.eq("version", str(w["version"]), g.version);
  c.eq("source_port", str(w["source_port"]), "");
  c.eq("auth_failure", tok(w["auth_failure"]), tok(g.auth_failure));
  c.eq("delivery_result", tok(w["delivery_result"]), tok(g.delivery_result));
  c.eq("dkim_adsp_dns", str(w["dkim_adsp_dns"]), "");
  c.eq("dkim_canonicalized_body", ws(str(w["dkim_canonicalized_body"])),
       ws(g.dkim_canonicalized_body));
  c.eq("dkim_canonicalized_header", ws(str(w["dkim_canonicalized_header"])),
       ws(g.dkim_canonicalized_header));
  c.eq("dkim_domain", str(w["dkim_domain"]), g.dkim_domain);
  c.eq("dkim_identity", str(w["dkim_identity"]), g.dkim_identity);
  c.eq("dkim_selector", str(w["dkim_selector"]), g.dkim_selector);
  c.eq("dkim_selector_dns", str(w["dkim_selector_dns"]), g.dkim_selector_dns);
  c.eq("spf_dns", str(w["spf_dns"]), g.spf_dns);
  c.eq("identity_alignment", tok(w["identity_alignment"]), tok(g.identity_alignment));
  c.eq("message", str(w["message"]), "");
  // upstream's "headers" is the text/rfc822-headers part
  c.eq("headers", ws(str(w["headers"])), g.original_message ? "" : ws(g.original_headers));
}

}  // namespace

int main(int argc, char** argv) {
  bool verbose = argc > 1 && std::string(argv[1]) == "-v";
  auto skips = load_skips();
  const std::filesystem::path root =
      std::filesystem::path(MXG_SHARED_DIR) / "conformance" / "dmarc-reports";
  int cases = 0, cases_ok = 0, fields = 0, fields_failed = 0, unreadable = 0;
  int aggregate = 0, arf = 0;
  for (const char* folder : {"aggregate", "arf"}) {
    std::vector<std::filesystem::path> inputs;
    for (const auto& e : std::filesystem::directory_iterator(root / folder))
      if (e.path().extension() != ".json") inputs.push_back(e.path());
    std::sort(inputs.begin(), inputs.end());
    for (const auto& in : inputs) {
      auto expected_path = in;
      expected_path.replace_extension(".json");
      std::string kase = std::string(folder) + "/" + in.stem().string();
      ++cases;
      (std::string(folder) == "arf" ? arf : aggregate)++;
      json want;
      try {
        want = json::parse(slurp(expected_path));
      } catch (const std::exception& e) {
        std::printf("  %s: cannot read %s: %s\n", kase.c_str(), expected_path.c_str(), e.what());
        ++unreadable;
        continue;
      }
      checker c{kase, skips, verbose};
      auto data = slurp(in);
      if (std::string(folder) == "aggregate") {
        auto pf = dmarc::parse_report_data(data, in.filename().string());
        if (!pf || pf->reports.size() != 1 || !pf->errors.empty()) {
          std::printf("  %s: %s\n", kase.c_str(),
                      !pf ? pf.error().message.c_str() : "not exactly one report");
          ++unreadable;
          continue;
        }
        compare_feedback(c, want, pf->reports[0]);
      } else {
        auto r = dmarc::parse_arf(data);
        if (!r) {
          std::printf("  %s: %s\n", kase.c_str(), r.error().message.c_str());
          ++unreadable;
          continue;
        }
        compare_arf(c, want, *r);
      }
      fields += c.compared;
      fields_failed += c.failed;
      if (c.failed == 0)
        ++cases_ok;
      else if (!verbose)
        std::printf("  %s: %d field(s) differ (run with -v)\n", kase.c_str(), c.failed);
    }
  }
  int status = 0;
  for (const auto& [key, reason] : skips.entries)
    if (!skips.used.count(key)) {
      std::printf("  skip entry never used (remove it): %s\n", key.c_str());
      status = 1;
    }
  std::printf("DMARC reports conformance (../shared/conformance/dmarc-reports):\n");
  std::printf(
      "  %d cases (%d aggregate, %d ARF): %d match in every field; %d fields compared, "
      "%d differ; %d unreadable; %zu field skips (tests/conformance/"
      "dmarc-reports-skips.txt)\n",
      cases, aggregate, arf, cases_ok, fields, fields_failed, unreadable, skips.entries.size());
  if (cases != 15 || aggregate != 10 || arf != 5 || cases_ok != cases || unreadable) status = 1;
  std::printf(status == 0 ? "DMARC reports conformance: OK\n"
                          : "DMARC reports conformance: FAILED\n");
  return status;
}
