// auth_results.cpp: see auth_results.hpp (RFC 8601 2.2 field syntax, 2.7 methods).
#include "policy/auth_results.hpp"

#include "base/ascii.hpp"

namespace mxg::policy {

namespace {

// An RFC 8601 pvalue: a token when it is one, else a quoted-string; bytes outside
// printable ASCII become '?'.
std::string pvalue(std::string_view v) {
  std::string clean;
  bool token = !v.empty();
  for (unsigned char c : v.substr(0, 320)) {
    char ch = (c < 0x21 || c > 0x7e) ? '?' : static_cast<char>(c);
    // RFC 2045 tspecials (plus '@', which RFC 8601 2.2 allows in a pvalue's local-part@domain).
    if (std::string_view("()<>,;:\\\"/[]?=").find(ch) != std::string_view::npos) token = false;
    clean += ch;
  }
  if (token) return clean;
  std::string q = "\"";
  for (char c : clean) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

// The last line of defence: nothing but printable ASCII and space in an entry.
std::string header_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    out += (c < 0x20 || c > 0x7e) ? '?' : ch;
  }
  return out;
}

}  // namespace

std::string spf_authres_entry(const spf_evaluation& e) {
  if (e.skipped) return {};
  // RFC 8601 2.7.2: smtp.mailfrom (the MAIL FROM identity; postmaster@HELO for the null
  // sender, RFC 7208 2.4) or smtp.helo (the HELO identity decided).
  if (e.helo_outcome && e.helo_outcome->result == spf::result::fail)
    return "spf=fail smtp.helo=" + pvalue(e.request.helo);
  std::string h = std::string("spf=") + spf::to_string(e.outcome.result);
  if (e.outcome.identity == spf::identity::helo)
    h += " smtp.helo=" + pvalue(e.request.helo);
  else
    h += " smtp.mailfrom=" + pvalue(e.outcome.sender.empty() ? e.request.sender : e.outcome.sender);
  return h;
}

std::string authentication_results(const auth_results_input& in, bool folded) {
  std::vector<std::string> entries;
  if (in.spf) {
    std::string s = spf_authres_entry(*in.spf);
    if (!s.empty()) entries.push_back(std::move(s));
  }
  if (in.dkim) {
    if (in.dkim->empty()) entries.emplace_back("dkim=none");
    for (const auto& r : *in.dkim) entries.push_back(dkim::authres_entry(r));
  }
  if (in.dmarc) entries.push_back(dmarc::authres_entry(*in.dmarc));
  if (in.arc) {
    entries.push_back(arc::authres_entry(*in.arc, in.client_ip));  // RFC 8617 7.2
  }
  std::string h = "Authentication-Results: " + pvalue(in.authserv_id) + ";";
  if (entries.empty()) return h + " none";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) h += ";";
    h += folded ? "\r\n\t" : " ";
    h += header_safe(entries[i]);
  }
  return h;
}

}  // namespace mxg::policy
