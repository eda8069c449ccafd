// spf_suite.cpp: runs the openspf conformance suites (../shared/conformance/spf, kept
// untouched) against mxg::spf::evaluator over an in-memory zone built by
// tests/support/spf_yaml_zone (pyspf harness rules, SOURCE.md). The default explanation
// is the literal text DEFAULT, as in the harness.
//   rfc7208-tests.yml  must pass 203 of 203 (no skips allowed): the exit status fails otherwise
//   rfc4408-tests.yml  and pyspf-test.yml: counted; cases where RFC 7208 or pyspf differ on
//                      purpose are listed with reasons in tests/conformance/spf-skips.txt;
//                      any other failure fails the test.
// Judging (SOURCE.md "Judging"): exact result, or any item of a list; the explanation,
// when given, must match exactly. One documented exception: v-macro-ip6's explanation is
// compared case-insensitively, because RFC 7208 7.4 writes %{ir} nibbles in lower case
// and pyspf (which wrote the expectation) emits upper case.
#include <yaml-cpp/yaml.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dns/memory_zone.hpp"
#include "spf/evaluator.hpp"
#include "support/spf_yaml_zone.hpp"

namespace {

using namespace mxg;

struct file_count {
  int total = 0, passed = 0, skipped = 0, failed = 0;
};

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return s;
}

// spf-skips.txt: "FILE TEST-ID reason..." per line; '#' comments.
std::map<std::string, std::string> load_skips(const std::string& path) {
  std::map<std::string, std::string> skips;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string file, id, reason;
    ls >> file >> id;
    std::getline(ls, reason);
    if (!file.empty() && !id.empty()) skips[file + " " + id] = reason;
  }
  return skips;
}

spf::outcome run_one(const dns::memory_zone& zone, const spf::request& req) {
  asio::io_context io;
  spf::options opt;
  opt.default_explanation = "DEFAULT";
  opt.receiver = "receiver.example";
  spf::evaluator ev(const_cast<dns::memory_zone&>(zone), opt);
  spf::outcome out;
  asio::co_spawn(io, ev.check(req), [&](std::exception_ptr e, spf::outcome o) {
    if (e) std::rethrow_exception(e);
    out = std::move(o);
  });
  io.run();
  return out;
}

file_count run_file(const std::string& name, const std::map<std::string, std::string>& skips,
                    bool verbose) {
  file_count fc;
  std::string path = std::string(MXG_SHARED_DIR) + "/conformance/spf/" + name;
  std::vector<YAML::Node> docs = YAML::LoadAllFromFile(path);
  for (const auto& doc : docs) {
    if (!doc || !doc.IsMap() || !doc["tests"]) continue;
    dns::memory_zone zone;
    test::load_spf_zonedata(doc["zonedata"], zone);
    for (const auto& t : doc["tests"]) {
      const std::string id = t.first.as<std::string>();
      const YAML::Node& tc = t.second;
      ++fc.total;
      auto skip = skips.find(name + " " + id);
      if (skip != skips.end()) {
        ++fc.skipped;
        if (verbose)
          std::printf("  skip %s:%s (%s)\n", name.c_str(), id.c_str(), skip->second.c_str());
        continue;
      }
      std::set<std::string> want;
      if (tc["result"].IsSequence()) {
        for (const auto& r : tc["result"]) want.insert(r.as<std::string>());
      } else {
        want.insert(tc["result"].as<std::string>());
      }
      spf::request req;
      auto ip = net::ip_address::parse(tc["host"].as<std::string>());
      if (!ip) {
        std::printf("FAIL %s:%s: bad host in test data\n", name.c_str(), id.c_str());
        ++fc.failed;
        continue;
      }
      req.ip = *ip;
      req.sender = tc["mailfrom"] ? tc["mailfrom"].as<std::string>() : "";
      req.helo = tc["helo"] ? tc["helo"].as<std::string>() : "";
      spf::outcome o = run_one(zone, req);
      std::string got = spf::to_string(o.result);
      bool ok = want.count(got) > 0;
      std::string why;
      if (!ok) why = "result " + got;
      if (ok && tc["explanation"]) {
        std::string exp = tc["explanation"].as<std::string>();
        bool same = id == "v-macro-ip6" ? lower(exp) == lower(o.explanation) : exp == o.explanation;
        if (!same) {
          ok = false;
          why = "explanation \"" + o.explanation + "\", expected \"" + exp + "\"";
        }
      }
      if (ok) {
        ++fc.passed;
      } else {
        ++fc.failed;
        std::string w;
        for (const auto& x : want) w += (w.empty() ? "" : "|") + x;
        std::printf("FAIL %s:%s: %s (want %s) mechanism=%s problem=%s\n", name.c_str(), id.c_str(),
                    why.c_str(), w.c_str(), o.mechanism.c_str(), o.problem.c_str());
      }
    }
  }
  return fc;
}

}  // namespace

int main(int argc, char** argv) {
  bool verbose = argc > 1 && std::string(argv[1]) == "-v";
  auto skips = load_skips(std::string(MXG_SOURCE_DIR) + "/tests/conformance/spf-skips.txt");
  int status = 0;
  const char* files[] = {"rfc7208-tests.yml", "rfc4408-tests.yml", "pyspf-test.yml"};
  std::vector<std::pair<std::string, file_count>> counts;
  for (const char* f : files) {
    file_count fc;
    try {
      fc = run_file(f, skips, verbose);
    } catch (const std::exception& e) {
      std::printf("ERROR %s: %s\n", f, e.what());
      status = 1;
    }
    counts.emplace_back(f, fc);
    if (fc.failed) status = 1;
  }
  std::printf("SPF conformance (openspf suites, ../shared/conformance/spf):\n");
  for (const auto& [f, fc] : counts) {
    std::printf("  %-18s passed %3d of %3d", f.c_str(), fc.passed, fc.total);
    if (fc.skipped) std::printf(", %d skipped (tests/conformance/spf-skips.txt)", fc.skipped);
    if (fc.failed) std::printf(", %d FAILED", fc.failed);
    std::printf("\n");
  }
  const auto& r7208 = counts[0].second;
  if (r7208.passed != 203 || r7208.total != 203) {
    std::printf("rfc7208-tests.yml: %d of 203 passed; all 203 must pass\n", r7208.passed);
    status = 1;
  }
  std::printf(status == 0 ? "SPF conformance: OK\n" : "SPF conformance: FAILED\n");
  return status;
}
