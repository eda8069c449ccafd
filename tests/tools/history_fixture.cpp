// history_fixture.cpp: `mxg_history_fixture DB < records.jsonl`: writes history records
// through the real store (store::open_sqlite + history::record, the gateway's own write
// path) for integration tests that need a history with known content (issue 10: DMARC
// aggregate reports). One JSON object per line with message_record's field names; "time"
// may be negative, meaning that many seconds before now. Exit 0 ok, 1 bad input or store
// error (the message says which line).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>

#include "store/history.hpp"

using nlohmann::json;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mxg_history_fixture DB < records.jsonl\n");
    return 1;
  }
  auto h = mxg::store::open_sqlite(argv[1]);
  if (!h) {
    std::fprintf(stderr, "%s\n", h.error().message.c_str());
    return 1;
  }
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::string line;
  int n = 0;
  while (std::getline(std::cin, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      auto j = json::parse(line);
      mxg::store::message_record m;
      m.time = j.value("time", std::int64_t{0});
      if (m.time <= 0) m.time += now;
      m.dir = j.value("direction", std::string("inbound")) == "outbound"
                  ? mxg::store::direction::outbound
                  : mxg::store::direction::inbound;
      m.queue_id = j.value("queue_id", "");
      m.client_ip = j.value("client_ip", "");
      m.helo = j.value("helo", "");
      m.sender = j.value("sender", "");
      m.recipients = j.value("recipients", std::vector<std::string>{});
      m.spf_result = j.value("spf_result", "");
      m.spf_identity = j.value("spf_identity", "");
      m.spf_domain = j.value("spf_domain", "");
      m.decision = j.value("decision", "accept");
      m.header_from = j.value("header_from", "");
      m.dmarc_result = j.value("dmarc_result", "");
      m.dmarc_policy = j.value("dmarc_policy", "");
      m.dmarc_policy_domain = j.value("dmarc_policy_domain", "");
      m.dmarc_record = j.value("dmarc_record", "");
      m.dmarc_dkim_aligned = j.value("dmarc_dkim_aligned", false);
      m.dmarc_spf_aligned = j.value("dmarc_spf_aligned", false);
      m.arc_result = j.value("arc_result", "");
      for (const auto& d : j.value("dkim", json::array()))
        m.dkim.push_back({d.value("domain", ""), d.value("selector", ""), d.value("result", ""),
                          d.value("reason", "")});
      for (const auto& d : j.value("decisions", json::array()))
        m.decisions.push_back({d.value("check", ""), d.value("action", ""), d.value("rule", ""),
                               d.value("monitor", false), d.value("would", ""),
                               d.value("reason", "")});
      if (auto r = (*h)->record(m); !r) {
        std::fprintf(stderr, "line %d: %s\n", n, r.error().message.c_str());
        return 1;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "line %d: %s\n", n, e.what());
      return 1;
    }
  }
  return 0;
}
