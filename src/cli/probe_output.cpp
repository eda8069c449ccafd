// probe_output.cpp: see probe_output.hpp.
#include "cli/probe_output.hpp"

#include <cstdio>

#include "cli/printable.hpp"

namespace mxg::cli {

const char* yes_no(const std::optional<bool>& v) {
  return !v ? "unknown" : *v ? "yes" : "no";
}

namespace {
nlohmann::json opt(const std::optional<bool>& v) {
  return v ? nlohmann::json(*v) : nullptr;
}
nlohmann::json transcript_json(const std::vector<delivery::exchange>& t) {
  auto a = nlohmann::json::array();
  for (const auto& e : t) a.push_back({{"command", e.command}, {"reply", e.reply}});
  return a;
}
}  // namespace

nlohmann::json probe_json(const delivery::probe_report& r) {
  nlohmann::json out;
  out["target"] = r.target.host;
  out["port"] = r.target.port;
  out["mx_lookup"] = r.mx_lookup;
  out["mx"] = r.mx;
  out["dns_error"] = r.dns_error;
  out["hosts"] = nlohmann::json::array();
  for (const auto& h : r.hosts) {
    nlohmann::json j;
    j["name"] = h.name;
    j["address"] = h.address;
    j["port"] = h.port;
    j["connected"] = h.connected;
    j["error"] = h.error;
    j["banner"] = h.banner;
    j["banner_code"] = h.banner_code;
    j["banner_name"] = h.banner_name;
    j["ehlo_name"] = h.ehlo_name;
    j["esmtp"] = h.esmtp;
    j["capabilities"] = h.capabilities;
    j["size"] = h.info.size ? nlohmann::json(h.info.size_max) : nullptr;
    j["rdns"] = {{"ptr", h.rdns.ptr_names},
                 {"ptr_status", dns::to_string(h.rdns.ptr_status)},
                 {"confirmed", h.rdns.confirmed},
                 {"forward_confirmed", !h.rdns.confirmed.empty()}};
    j["names"] = {{"banner_ehlo", opt(h.names.banner_ehlo)},
                  {"banner_rdns", opt(h.names.banner_rdns)},
                  {"ehlo_rdns", opt(h.names.ehlo_rdns)},
                  {"agree", h.names.all_agree()}};
    const auto& t = h.tls;
    nlohmann::json chain = nlohmann::json::array();
    for (const auto& c : t.chain)
      chain.push_back({{"subject", c.subject},
                       {"issuer", c.issuer},
                       {"names", c.names},
                       {"not_before", c.not_before},
                       {"not_after", c.not_after},
                       {"days_left", c.days_left}});
    j["starttls"] = {{"offered", t.offered},
                     {"attempted", t.attempted},
                     {"ok", t.ok},
                     {"error", t.error},
                     {"protocol", t.protocol},
                     {"cipher", t.cipher},
                     {"checked_name", t.checked_name},
                     {"verified", t.verified},
                     {"verify_code", t.verify_code},
                     {"verify_result", t.verify_result},
                     {"handshake_ms", t.handshake_ms},
                     {"chain", chain}};
    j["timings_ms"] = {{"connect", h.connect_ms},
                       {"banner", h.banner_ms},
                       {"ehlo", h.ehlo_ms},
                       {"total", h.total_ms}};
    j["transcript"] = transcript_json(h.transcript);
    j["relay_tests"] = nlohmann::json::array();
    for (const auto& rt : h.relay)
      j["relay_tests"].push_back({{"number", rt.test.number},
                                  {"what", rt.test.what},
                                  {"mail_from", rt.test.mail_from},
                                  {"rcpt_to", rt.test.rcpt_to},
                                  {"accepted", rt.accepted},
                                  {"data_sent", rt.data_sent},
                                  {"error", rt.error},
                                  {"transcript", transcript_json(rt.transcript)}});
    out["hosts"].push_back(std::move(j));
  }
  auto acc = nlohmann::json::array();
  for (const auto* a : r.accepted()) acc.push_back(a->test.number);
  out["accepted_relay_tests"] = acc;
  out["verdict"] = !r.any_connected()     ? "could not connect"
                   : r.accepted().empty() ? "no relay found"
                                          : "open relay";
  out["exit"] = delivery::probe_exit_code(r);
  return out;
}

void print_transcript(const std::vector<delivery::exchange>& t, const char* indent) {
  auto lines = [&](const std::string& text, const char* who) {
    std::size_t pos = 0;
    while (pos <= text.size()) {
      auto nl = text.find('\n', pos);
      auto line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      std::printf("%s%s %s\n", indent, who, printable(line).c_str());
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
  };
  for (const auto& e : t) {
    if (!e.command.empty()) lines(e.command, "C:");
    lines(e.reply, "S:");
  }
}

std::string probe_summary(const delivery::probe_report& r, const std::string& in) {
  std::string s;
  if (!r.dns_error.empty()) s += in + "DNS: " + printable(r.dns_error) + "\n";
  for (const auto& h : r.hosts) {
    s += in + "host " + h.name + "[" + h.address + "]:" + std::to_string(h.port) + "\n";
    s += in + "  rDNS:    " +
         (h.rdns.confirmed.empty() ? "not forward-confirmed (PTR " +
                                         (h.rdns.first().empty() ? "none" : h.rdns.first()) + ")"
                                   : h.rdns.confirmed + " (forward-confirmed)") +
         "\n";
    if (!h.connected) {
      s += in + "  SMTP:    " + printable(h.error) + "\n";
      continue;
    }
    s += in + "  banner:  " + printable(h.banner.substr(0, h.banner.find('\n'))) + "\n";
    s += in + "  names:   banner " + (h.banner_name.empty() ? "-" : printable(h.banner_name)) +
         ", EHLO " + (h.ehlo_name.empty() ? "-" : printable(h.ehlo_name)) +
         (h.names.all_agree() ? " (agree with rDNS)" : " (do not agree with rDNS)") + "\n";
    const auto& t = h.tls;
    s += in + "  TLS:     " +
         (!t.offered ? std::string("STARTTLS not offered")
          : !t.ok    ? "STARTTLS failed: " + printable(t.error)
                     : t.protocol + " " + t.cipher + ", certificate " +
                        (t.verified ? "verified"
                                    : "NOT verified (" + printable(t.verify_result) + ")") +
                        (t.chain.empty() ? "" : ", expires " + t.chain.front().not_after)) +
         "\n";
    auto acc = 0;
    for (const auto& rt : h.relay) acc += rt.accepted ? 1 : 0;
    if (!h.relay.empty())
      s += in + "  relay:   " +
           (acc ? "OPEN RELAY (" + std::to_string(acc) + " of " + std::to_string(h.relay.size()) +
                      " tests accepted)"
                : "no relay test accepted") +
           "\n";
  }
  return s;
}

}  // namespace mxg::cli
