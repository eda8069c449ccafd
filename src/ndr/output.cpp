// output.cpp: JSON/CSV/table rendering of bounce records; see output.hpp.
// Security: CSV fields are quoted (RFC 4180 section 2) and a leading = + - @
// is prefixed with ' so spreadsheet programs do not evaluate attacker text.
#include "ndr/output.hpp"

#include <algorithm>

namespace mxg::ndr {

namespace {
struct column {
  const char* name;
  std::string record::*field;
};
// clang-format off
const column kColumns[] = {
  {"recipient", &record::recipient}, {"status", &record::status}, {"reason", &record::reason},
  {"reply_code", &record::reply_code}, {"action", &record::action},
  {"diagnostic", &record::diagnostic}, {"diagnostic_type", &record::diagnostic_type},
  {"smtp_command", &record::smtp_command}, {"reporting_mta", &record::reporting_mta},
  {"remote_mta", &record::remote_mta}, {"arrival_date", &record::arrival_date},
  {"last_attempt_date", &record::last_attempt_date}, {"feedback_type", &record::feedback_type},
  {"original_recipient", &record::original_recipient},
  {"original_sender", &record::original_sender}, {"original_to", &record::original_to},
  {"original_subject", &record::original_subject}, {"original_message_id", &record::original_message_id},
  {"original_date", &record::original_date}, {"original_client_host", &record::original_client_host},
  {"original_client_ip", &record::original_client_ip}, {"producer", &record::producer},
  {"file", &record::file},
};
// clang-format on

std::string csv_field(const std::string& v) {
  std::string s = v;
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) s.insert(0, "'");
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += "\"\"";
    else
      out.push_back(c);
  }
  out += "\"";
  return out;
}

std::string valid_utf8(const std::string& s) {
  // nlohmann::json throws on invalid UTF-8 when dumping; replace bad bytes.
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}
}  // namespace

nlohmann::json to_json(const record& r) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& c : kColumns) j[c.name] = valid_utf8(r.*(c.field));
  j["status_pseudo"] = r.status_pseudo;
  return j;
}

std::string to_string_field(const record& r, std::string_view name) {
  for (const auto& c : kColumns)
    if (name == c.name) return r.*(c.field);
  return {};
}

std::string csv_header() {
  std::string out;
  for (const auto& c : kColumns) {
    if (!out.empty()) out += ",";
    out += c.name;
  }
  return out;
}

std::string to_csv(const record& r) {
  std::string out;
  bool first = true;
  for (const auto& c : kColumns) {
    if (!first) out += ",";
    first = false;
    out += csv_field(valid_utf8(r.*(c.field)));
  }
  return out;
}

std::string to_table(const std::vector<record>& records) {
  // recipient | status | reason | remote MTA | diagnostic (cut) | file
  auto cut = [](std::string s, std::size_t n) {
    if (s.size() > n) s = s.substr(0, n - 1) + "~";
    return s;
  };
  std::size_t w_rcpt = 9, w_status = 6, w_reason = 6, w_remote = 10;
  for (const auto& r : records) {
    w_rcpt = std::max(w_rcpt, std::min<std::size_t>(r.recipient.size(), 40));
    w_status = std::max(w_status, r.status.size());
    w_reason = std::max(w_reason, r.reason.size());
    w_remote = std::max(w_remote, std::min<std::size_t>(r.remote_mta.size(), 30));
  }
  auto pad = [](const std::string& s, std::size_t w) {
    return s + std::string(w > s.size() ? w - s.size() : 0, ' ');
  };
  std::string out = pad("RECIPIENT", w_rcpt) + "  " + pad("STATUS", w_status) + "  " +
                    pad("REASON", w_reason) + "  " + pad("REMOTE-MTA", w_remote) + "  DIAGNOSTIC\n";
  for (const auto& r : records) {
    out += pad(cut(r.recipient, 40), w_rcpt) + "  " + pad(r.status, w_status) + "  " +
           pad(r.reason, w_reason) + "  " + pad(cut(r.remote_mta, 30), w_remote) + "  " +
           cut(valid_utf8(r.diagnostic), 70) + "\n";
  }
  return out;
}

}  // namespace mxg::ndr
