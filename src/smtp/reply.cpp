// reply.cpp: the one formatter of SMTP replies (RFC 5321 4.2, 4.2.1; RFC 2034 3).
// Security: reply text can echo peer bytes; control bytes are replaced here.
#include "smtp/reply.hpp"

#include <charconv>

namespace mxg::smtp {

namespace {

// Reply text is printable US-ASCII plus UTF-8 (RFC 6531 3.7.4 allows UTF-8 in
// replies with SMTPUTF8); CR, LF, NUL and other controls would split the stream.
std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back((c < 0x20 || c == 0x7f) ? '?' : ch);
  }
  return out;
}

}  // namespace

std::string enhanced_status::to_string() const {
  if (empty()) return {};
  return std::to_string(cls) + "." + std::to_string(subject) + "." + std::to_string(detail);
}

reply::reply(int c, enhanced_status s, std::string text) : code(c), status(s) {
  lines.push_back(std::move(text));
}

reply::reply(int c, enhanced_status s, std::vector<std::string> text)
    : code(c), status(s), lines(std::move(text)) {
  if (lines.empty()) lines.emplace_back();
}

std::string reply::format() const {
  if (code == 0) return {};
  std::string out;
  const std::string code_text = std::to_string(code);
  const std::string st = status.to_string();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += code_text;
    out += (i + 1 < lines.size()) ? '-' : ' ';
    if (!st.empty()) {
      out += st;
      if (!lines[i].empty()) out += ' ';
    }
    out += sanitize(lines[i]);
    out += "\r\n";
  }
  return out;
}

std::string reply::summary() const {
  if (code == 0) return {};
  std::string out = std::to_string(code);
  if (!status.empty()) out += " " + status.to_string();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += (i == 0) ? " " : " / ";
    out += sanitize(lines[i]);
  }
  return out;
}

namespace replies {

using namespace status;

reply greeting(std::string_view host, std::string_view text) {
  return reply(220, none, std::string(host) + " " + std::string(text));
}
reply refused_greeting(std::string_view host) {
  return reply(554, none, std::string(host) + " Service unavailable; no SMTP service here");
}
reply ehlo(std::string_view host, const std::vector<std::string>& keywords) {
  std::vector<std::string> lines{std::string(host)};
  lines.insert(lines.end(), keywords.begin(), keywords.end());
  return reply(250, none, std::move(lines));
}
reply helo(std::string_view host) {
  return reply(250, none, std::string(host));
}
reply ok() {
  return reply(250, k_2_0_0, "Ok");
}
reply sender_ok() {
  return reply(250, k_2_1_0, "Sender ok");
}
reply recipient_ok() {
  return reply(250, k_2_1_5, "Recipient ok");
}
reply start_data() {
  return reply(354, none, "End data with <CR><LF>.<CR><LF>");
}
reply chunk_ok(std::uint64_t bytes) {
  return reply(250, k_2_0_0, std::to_string(bytes) + " octets received");
}
reply queued(std::string_view queue_id) {
  return reply(250, k_2_0_0, std::string(queue_id) + " Message accepted for delivery");
}
reply queue_failure() {
  return reply(451, k_4_3_0, "Requested action aborted: local error in processing");
}
reply insufficient_storage() {
  return reply(452, k_4_3_1, "Insufficient system storage");
}
reply bye(std::string_view host) {
  return reply(221, k_2_0_0, std::string(host) + " Service closing transmission channel");
}
reply vrfy() {
  return reply(252, k_2_5_0, "Cannot VRFY user, but will accept message and attempt delivery");
}
reply help() {
  return reply(214, k_2_0_0,
               std::vector<std::string>{
                   "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS",
                   "See RFC 5321; mail from: <address>, rcpt to: <address>"});
}
reply tls_ready() {
  return reply(220, k_2_0_0, "Ready to start TLS");
}
reply tls_required() {
  return reply(530, k_5_7_0, "Must issue a STARTTLS command first");
}
reply unrecognized() {
  return reply(500, k_5_5_2, "Error: command not recognized");
}
reply not_implemented() {
  return reply(502, k_5_5_1, "Error: command not implemented");
}
reply line_too_long() {
  return reply(500, k_5_5_2, "Error: line too long");
}
reply bare_lf_command() {
  return reply(500, k_5_5_2, "Error: bare <LF> received; commands must end with <CR><LF>");
}
reply bad_sequence(std::string_view what) {
  return reply(503, k_5_5_1, "Error: " + std::string(what));
}
reply syntax(std::string_view usage) {
  return reply(501, k_5_5_4, "Syntax: " + std::string(usage));
}
reply message_too_big() {
  return reply(552, k_5_3_4, "Message size exceeds fixed maximum message size");
}
reply too_many_recipients() {
  return reply(452, k_4_5_3, "Error: too many recipients");
}
reply no_valid_recipients() {
  return reply(554, k_5_5_1, "Error: no valid recipients");
}
reply relay_denied() {
  return reply(554, k_5_7_1, "Relay access denied");
}
reply too_many_errors(std::string_view host) {
  return reply(421, k_4_7_0, std::string(host) + " Error: too many errors");
}
reply non_smtp(std::string_view host) {
  return reply(421, k_4_7_0, std::string(host) + " Error: non-SMTP command; closing");
}
reply timeout(std::string_view host) {
  return reply(421, k_4_4_2, std::string(host) + " Error: timeout exceeded");
}
reply chunk_too_big(std::string_view host) {
  return reply(
      552, k_5_3_4,
      std::string(host) + " BDAT chunk exceeds fixed maximum message size; closing connection");
}
reply shutting_down(std::string_view host) {
  return reply(421, k_4_3_2, std::string(host) + " Service shutting down; try again later");
}
reply early_talker() {
  return reply(554, k_5_5_1, "Error: SMTP protocol violation, talking before the greeting");
}

}  // namespace replies

reply parse_reply_text(std::string_view text) {
  // "DDD[ X.Y.Z][ text]" with D in 2,4,5 for the first digit.
  if (text.size() < 3) return {};
  int code = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + 3, code);
  if (ec != std::errc{} || p != text.data() + 3) return {};
  int first = code / 100;
  if ((first != 2 && first != 4 && first != 5) || (code / 10) % 10 > 5) return {};
  std::string_view rest = text.substr(3);
  if (!rest.empty() && rest.front() != ' ') return {};
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  enhanced_status st;
  // Enhanced status: class "." 1*3digit "." 1*3digit (RFC 3463 2), class must match the code.
  std::size_t sp = rest.find(' ');
  std::string_view tok = rest.substr(0, sp);
  unsigned a = 0, b = 0, c = 0;
  const char* q = tok.data();
  const char* e = tok.data() + tok.size();
  auto r1 = std::from_chars(q, e, a);
  if (r1.ec == std::errc{} && r1.ptr < e && *r1.ptr == '.') {
    auto r2 = std::from_chars(r1.ptr + 1, e, b);
    if (r2.ec == std::errc{} && r2.ptr < e && *r2.ptr == '.') {
      auto r3 = std::from_chars(r2.ptr + 1, e, c);
      if (r3.ec == std::errc{} && r3.ptr == e && static_cast<int>(a) == first && b <= 999 &&
          c <= 999) {
        st = enhanced_status{static_cast<std::uint8_t>(a), static_cast<std::uint16_t>(b),
                             static_cast<std::uint16_t>(c)};
        rest = (sp == std::string_view::npos) ? std::string_view{} : rest.substr(sp + 1);
      }
    }
  }
  return reply(code, st, std::string(rest));
}

}  // namespace mxg::smtp
