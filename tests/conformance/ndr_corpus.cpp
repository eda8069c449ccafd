// ndr_corpus.cpp: conformance of the bounce parser on the shared corpora.
//   ../shared/conformance/bounces/        (Sisimai set-of-emails, expected.jsonl)
//   ../shared/conformance/bounces-flufl/  (flufl.bounce test data)
// Prints a per-field accuracy table and FAILS when, on the Sisimai corpus,
// recipient < 98 %, status < 95 %, reason < 85 %, or a not-bounce file yields
// a record. A crash fails the test by itself.
//
// Scoring (also in docs/ndr.md):
// - Scored files: every row of expected.jsonl except category "not-bounce"
//   (bounces and the mbox pieces, whose values are the reference decoder's).
// - Each expected record is paired with one of our records: first the unpaired
//   record with the same recipient (case-insensitive), else the unpaired record
//   at the same position. An expected record left without a partner counts as
//   wrong for every field.
// - recipient: the paired record has the expected recipient
//   (records[].reference.recipient, else recipients[i]); records whose
//   expected recipient is empty (Sisimai found none) are not counted here.
// - status: exact match; when the expected code is a Sisimai pseudo code
//   (status_pseudo) the class digit and the reason must match instead; an
//   expected empty status matches our empty or pseudo status.
// - reason: exact match.
// - reference fields (original_sender, original_subject, original_message_id,
//   reporting_mta, remote_mta, action, diagnostic_type): case-insensitive
//   equality, counted over the records whose reference value is not empty.
// - flufl: a file is right when our set of recipients equals the expected set
//   (case-insensitive); the recall of expected addresses is printed as well.
// Set MXG_NDR_VERBOSE=1 to list every mismatch.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ndr/ndr.hpp"
#include "ndr/output.hpp"

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct counter {
  int ok = 0, total = 0;
  void add(bool good) {
    ++total;
    ok += good ? 1 : 0;
  }
  double pct() const { return total ? 100.0 * ok / total : 100.0; }
};

std::string str(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return {};
  return j[key].get<std::string>();
}

}  // namespace

int main() {
  const bool verbose = std::getenv("MXG_NDR_VERBOSE") != nullptr;
  const std::filesystem::path shared = MXG_SHARED_DIR;
  const auto base = shared / "conformance" / "bounces";
  const auto flufl = shared / "conformance" / "bounces-flufl";
  std::ifstream exp(base / "expected.jsonl");
  if (!exp) {
    std::printf("ndr_corpus: %s not found\n", (base / "expected.jsonl").c_str());
    return 1;
  }
  counter recipient, status, reason, files_all_right, not_bounce;
  std::map<std::string, counter> ref_fields;
  std::map<std::string, counter> by_variant_reason;
  int extra_records = 0, files = 0;
  static const char* kRefFields[] = {"original_sender", "original_subject", "original_message_id",
                                     "reporting_mta",   "remote_mta",       "action",
                                     "diagnostic_type"};
  std::string line;
  while (std::getline(exp, line)) {
    if (line.empty()) continue;
    auto row = nlohmann::json::parse(line);
    const std::string file = row["file"];
    const std::string category = row["category"];
    // A file is read as `mxguard ndr parse` reads it: an mbox is split first.
    std::vector<mxg::ndr::record> recs;
    for (const auto& m : mxg::ndr::split_messages(slurp(base / file)))
      for (auto& r : mxg::ndr::parse_message(m)) recs.push_back(std::move(r));
    ++files;
    if (category == "not-bounce") {
      not_bounce.add(recs.empty());
      if (verbose && !recs.empty())
        std::printf("NOT-BOUNCE %s yields %zu records\n", file.c_str(), recs.size());
      continue;
    }
    const auto& erecs = row["records"];
    std::vector<bool> used(recs.size(), false);
    bool all_right = true;
    for (std::size_t i = 0; i < erecs.size(); ++i) {
      const auto& e = erecs[i];
      const auto ref = e.contains("reference") ? e["reference"] : nlohmann::json();
      std::string want_rcpt = lower(str(ref, "recipient"));
      if (want_rcpt.empty() && row["recipients"].is_array() && i < row["recipients"].size())
        want_rcpt = lower(row["recipients"][i].get<std::string>());
      // pair
      int pick = -1;
      for (std::size_t k = 0; k < recs.size(); ++k)
        if (!used[k] && lower(recs[k].recipient) == want_rcpt) {
          pick = static_cast<int>(k);
          break;
        }
      if (pick < 0 && i < recs.size() && !used[i]) pick = static_cast<int>(i);
      if (pick < 0)
        for (std::size_t k = 0; k < recs.size(); ++k)
          if (!used[k]) {
            pick = static_cast<int>(k);
            break;
          }
      const mxg::ndr::record* got = pick >= 0 ? &recs[pick] : nullptr;
      if (pick >= 0) used[pick] = true;
      const std::string want_status = str(e, "status");
      const std::string want_reason = str(e, "reason");
      const bool pseudo = e.value("status_pseudo", false);
      bool r_ok = got && lower(got->recipient) == want_rcpt;
      bool s_ok = false;
      if (got) {
        if (want_status.empty())
          s_ok = got->status.empty() || got->status_pseudo;
        else if (pseudo)
          s_ok = !got->status.empty() && got->status[0] == want_status[0] &&
                 got->reason == want_reason;
        else
          s_ok = got->status == want_status;
      }
      bool re_ok = got && got->reason == want_reason;
      // Sisimai decoded no recipient for a few records: nothing to compare.
      if (!want_rcpt.empty()) recipient.add(r_ok);
      status.add(s_ok);
      reason.add(re_ok);
      by_variant_reason[str(row, "variant")].add(re_ok);
      all_right = all_right && r_ok && s_ok && re_ok;
      if (verbose && !(r_ok && s_ok && re_ok)) {
        std::printf("MISS %s #%zu want [%s %s %s] got [%s %s %s] diag=%s\n", file.c_str(), i + 1,
                    want_rcpt.c_str(), want_status.c_str(), want_reason.c_str(),
                    got ? got->recipient.c_str() : "-", got ? got->status.c_str() : "-",
                    got ? got->reason.c_str() : "-",
                    got ? got->diagnostic.substr(0, 160).c_str() : "-");
      }
      if (!ref.is_object()) continue;
      for (const char* f : kRefFields) {
        std::string want = lower(str(ref, f));
        if (want.empty()) continue;
        std::string have;
        if (got) {
          auto j = mxg::ndr::to_string_field(*got, f);
          have = lower(j);
        }
        bool ok = have == want;
        ref_fields[f].add(ok);
        if (verbose && !ok && std::getenv("MXG_NDR_VERBOSE_REF"))
          std::printf("REF %s %s want [%s] got [%s]\n", file.c_str(), f, want.c_str(),
                      have.c_str());
      }
    }
    for (bool u : used) extra_records += u ? 0 : 1;
    files_all_right.add(all_right);
  }

  // flufl.bounce corpus: recipient sets.
  counter flufl_files, flufl_recall;
  std::ifstream fexp(flufl / "expected.jsonl");
  while (std::getline(fexp, line)) {
    if (line.empty()) continue;
    auto row = nlohmann::json::parse(line);
    std::vector<mxg::ndr::record> recs;
    for (const auto& m : mxg::ndr::split_messages(slurp(flufl / row["file"].get<std::string>())))
      for (auto& r : mxg::ndr::parse_message(m)) recs.push_back(std::move(r));
    if (!row["recipients"].is_array()) continue;
    std::set<std::string> want, have;
    for (const auto& a : row["recipients"]) want.insert(lower(a.get<std::string>()));
    for (const auto& r : recs) have.insert(lower(r.recipient));
    flufl_files.add(want == have);
    for (const auto& a : want) flufl_recall.add(have.count(a) > 0);
    if (verbose && want != have) {
      std::string w, h;
      for (const auto& a : want) w += a + " ";
      for (const auto& a : have) h += a + " ";
      std::printf("FLUFL %s want [%s] got [%s]\n", row["file"].get<std::string>().c_str(),
                  w.c_str(), h.c_str());
    }
  }

  std::printf("\n== Bounce parsing conformance (%d files of the Sisimai corpus) ==\n", files);
  std::printf("%-28s %8s %8s %9s\n", "field", "right", "total", "accuracy");
  auto row = [](const char* name, const counter& c) {
    std::printf("%-28s %8d %8d %8.2f%%\n", name, c.ok, c.total, c.pct());
  };
  row("recipient", recipient);
  row("status", status);
  row("reason", reason);
  row("files fully right", files_all_right);
  row("not-bounce -> no record", not_bounce);
  for (const auto& [k, c] : ref_fields) row(("ref: " + k).c_str(), c);
  for (const auto& [k, c] : by_variant_reason) row(("reason, line ends " + k).c_str(), c);
  std::printf("%-28s %8d\n", "records beyond expected", extra_records);
  std::printf("\n== flufl.bounce corpus ==\n");
  row("files: same recipient set", flufl_files);
  row("expected addresses found", flufl_recall);

  bool pass = recipient.pct() >= 98.0 && status.pct() >= 95.0 && reason.pct() >= 85.0 &&
              not_bounce.ok == not_bounce.total;
  std::printf(
      "\nthresholds: recipient >= 98%%, status >= 95%%, reason >= 85%%, not-bounce clean: %s\n",
      pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
