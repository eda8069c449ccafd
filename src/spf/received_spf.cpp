// received_spf.cpp: Received-SPF field formatting (RFC 7208 9.1, RFC 5322 3.2.3 atoms,
// 3.2.4 quoted-strings, 3.2.2 comments). See received_spf.hpp for the security notes.
#include "spf/received_spf.hpp"
#include "base/ascii.hpp"

namespace mxg::spf {

namespace {

using ascii::is_atext;

bool is_dot_atom(std::string_view v) {
  if (v.empty() || v.front() == '.' || v.back() == '.') return false;
  char prev = 0;
  for (unsigned char c : v) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
    prev = static_cast<char>(c);
  }
  return true;
}

char safe(unsigned char c) {
  return (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
}

void value(std::string& out, std::string_view v) {
  if (is_dot_atom(v)) {
    out += v;
    return;
  }
  out += '"';
  for (unsigned char c : v) {
    char s = safe(c);
    if (s == '"' || s == '\\') out += '\\';
    out += s;
  }
  out += '"';
}

void comment_text(std::string& out, std::string_view v) {
  for (unsigned char c : v) {
    char s = safe(c);
    if (s == '(' || s == ')' || s == '\\') out += '\\';
    out += s;
  }
}

void kv(std::string& out, std::string_view key, std::string_view v) {
  out += ' ';
  out += key;
  out += '=';
  value(out, v);
  out += ';';
}

}  // namespace

std::string received_spf_value(const outcome& o, const request& req, std::string_view receiver) {
  std::string ip = req.ip.unmapped().to_string();
  std::string who = o.sender.empty() ? o.domain : o.sender;
  std::string c;
  c += receiver;
  c += ": ";
  switch (o.result) {
    case result::pass:
      c += "domain of " + who + " designates " + ip + " as permitted sender";
      break;
    case result::fail:
      c += "domain of " + who + " does not designate " + ip + " as permitted sender";
      break;
    case result::softfail:
      c += "domain of transitioning " + who + " does not designate " + ip + " as permitted sender";
      break;
    case result::neutral:
      c += ip + " is neither permitted nor denied by domain of " + who;
      break;
    case result::none:
      c += "domain of " + who + " does not designate permitted sender hosts";
      break;
    case result::temperror:
      c += "error in processing during lookup of " + who;
      break;
    case result::permerror:
      c += "permanent error in processing domain of " + who;
      break;
  }
  std::string out = to_string(o.result);
  out += " (";
  comment_text(out, c);
  out += ")";
  kv(out, "receiver", receiver);
  kv(out, "client-ip", ip);
  if (o.identity == identity::mailfrom)
    kv(out, "envelope-from", req.sender);
  else
    kv(out, "envelope-from", o.sender);
  if (!req.helo.empty()) kv(out, "helo", req.helo);
  if ((o.result == result::permerror || o.result == result::temperror) && !o.problem.empty())
    kv(out, "problem", o.problem);
  if (!o.mechanism.empty() && o.mechanism != "default") kv(out, "mechanism", o.mechanism);
  kv(out, "identity", to_string(o.identity));
  return out;
}

std::string received_spf_header(const outcome& o, const request& req, std::string_view receiver) {
  return "Received-SPF: " + received_spf_value(o, req, receiver);
}

}  // namespace mxg::spf
