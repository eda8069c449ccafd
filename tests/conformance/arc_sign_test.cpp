// arc_sign_test.cpp: ARC sealing conformance (RFC 8617 5.1) on ValiMail's signing suite,
// ../shared/conformance/arc/arc-draft-sign-tests.yml, kept untouched: 17 tests in two
// scenarios, each with a message, t=, sig-headers (AMS h=), srv-id (our authserv-id), the
// scenario's domain, selector, private key and TXT records, and the expected AS, AMS and
// AAR in the suite's standard form (README.md: tags alphabetical, lower case, one space
// after ';'; expected values are folded for display). RSA PKCS#1 v1.5 is deterministic,
// so b= must match byte for byte. Comparison: AS and AMS with every whitespace removed,
// AAR with whitespace runs made one space. An empty expectation means "add nothing"
// (no_additional_sig: the incoming chain is already terminated with cv=fail).
// The cv of the new set is our own validation of the incoming chain (with the scenario's
// TXT records, clock pinned), not the suite's stamped Authentication-Results arc=.
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "arc/seal.hpp"
#include "arc/validate.hpp"
#include "base/ascii.hpp"
#include "dns/memory_zone.hpp"

namespace {

using namespace mxg;

std::string no_ws(const std::string& s) {
  std::string o;
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') o += c;
  return o;
}

std::string one_ws(const std::string& s) {
  std::string o;
  bool ws = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ws = true;
      continue;
    }
    if (ws && !o.empty()) o += ' ';
    ws = false;
    o += c;
  }
  return o;
}

std::string str(const YAML::Node& n) {
  return n && !n.IsNull() ? n.as<std::string>() : "";
}

}  // namespace

int main() {
  std::string suite = std::string(MXG_SHARED_DIR) + "/conformance/arc/arc-draft-sign-tests.yml";
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAllFromFile(suite);
  } catch (const std::exception& e) {
    std::printf("cannot read %s: %s\n", suite.c_str(), e.what());
    return 1;
  }
  int total = 0, ok = 0;
  for (const auto& doc : docs) {
    if (!doc.IsMap() || !doc["tests"]) continue;
    dns::memory_zone zone;
    for (const auto& kv : doc["txt-records"]) {
      dns::record r;
      r.type = dns::rrtype::txt;
      r.name = dns::normalize_name(kv.first.as<std::string>());
      r.ttl = 300;
      r.strings.push_back(kv.second.as<std::string>());
      zone.add(std::move(r));
    }
    for (const auto& kv : doc["tests"]) {
      std::string name = kv.first.as<std::string>();
      const YAML::Node& t = kv.second;
      ++total;
      std::string message = str(t["message"]);
      arc::options vo;
      vo.clock = [] { return std::int64_t{20000}; };
      auto incoming = arc::validate(message, zone, vo);
      arc::seal_options so;
      so.domain = str(doc["domain"]);
      so.selector = str(doc["sel"]);
      so.private_key = str(doc["privatekey"]);
      so.authserv_id = str(t["srv-id"]);
      so.timestamp = t["t"].as<std::int64_t>();
      so.headers.clear();
      std::string h = str(t["sig-headers"]);
      for (std::size_t p = 0; p <= h.size();) {
        auto e = h.find(':', p);
        if (e == std::string::npos) e = h.size();
        if (e > p) so.headers.push_back(h.substr(p, e - p));
        p = e + 1;
      }
      auto sealed = arc::seal(message, incoming, so);
      if (!sealed) {
        std::printf("FAIL %s: %s\n", name.c_str(), sealed.error().message.c_str());
        continue;
      }
      std::string want_as = no_ws(str(t["AS"])), want_ams = no_ws(str(t["AMS"])),
                  want_aar = one_ws(str(t["AAR"]));
      std::string got_as, got_ams, got_aar;
      if (*sealed) {
        got_as = no_ws((*sealed)->seal);
        got_ams = no_ws((*sealed)->ams);
        got_aar = one_ws((*sealed)->aar);
      }
      if (got_as == want_as && got_ams == want_ams && got_aar == want_aar) {
        ++ok;
        continue;
      }
      std::printf("FAIL %s (incoming cv=%s: %s)\n", name.c_str(), arc::to_string(incoming.cv),
                  incoming.reason.c_str());
      if (got_aar != want_aar)
        std::printf("  AAR want %s\n      got  %s\n", want_aar.c_str(), got_aar.c_str());
      if (got_ams != want_ams)
        std::printf("  AMS want %s\n      got  %s\n", want_ams.c_str(), got_ams.c_str());
      if (got_as != want_as)
        std::printf("  AS  want %s\n      got  %s\n", want_as.c_str(), got_as.c_str());
    }
  }
  std::printf("arc signing suite: %d tests, %d as expected\n", total, ok);
  if (total != 17) {
    std::printf("FAIL expected 17 signing tests, read %d\n", total);
    return 1;
  }
  return ok == total ? 0 : 1;
}
