// command.cpp: one SMTP command line -> command value or the reply to send
// (RFC 5321 4.1.1 commands, 4.1.2 grammar, 4.1.1.11 parameters; RFC 1870 SIZE;
// RFC 6152 / RFC 3030 BODY; RFC 6531 SMTPUTF8; RFC 3030 BDAT).
// Security: input is one untrusted line; control bytes are refused, numbers
// are range-checked, nothing hostile is echoed into replies.
#include "smtp/command.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "base/ascii.hpp"

namespace mxg::smtp {

namespace {

using namespace status;

constexpr std::size_t kEsmtpParamsMax = 16;  // more on one MAIL line is garbage

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}
std::string to_upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), upper);
  return out;
}
using ascii::iequals;
bool is_ws(char c) {
  return c == ' ' || c == '\t';
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view skip_ws(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  return s;
}
bool is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::unexpected<reply> fail(reply r) {
  return std::unexpected<reply>(std::move(r));
}

struct verb_name {
  std::string_view name;
  verb v;
};
constexpr std::array kVerbs{
    verb_name{"EHLO", verb::ehlo},
    verb_name{"HELO", verb::helo},
    verb_name{"MAIL", verb::mail},
    verb_name{"RCPT", verb::rcpt},
    verb_name{"DATA", verb::data},
    verb_name{"BDAT", verb::bdat},
    verb_name{"RSET", verb::rset},
    verb_name{"NOOP", verb::noop},
    verb_name{"QUIT", verb::quit},
    verb_name{"VRFY", verb::vrfy},
    verb_name{"HELP", verb::help},
    verb_name{"STARTTLS", verb::starttls},
    // Known SMTP verbs we do not offer (RFC 5321 4.2.4: 502).
    verb_name{"EXPN", verb::not_implemented},
    verb_name{"TURN", verb::not_implemented},
    verb_name{"ETRN", verb::not_implemented},
    verb_name{"ATRN", verb::not_implemented},
    verb_name{"AUTH", verb::not_implemented},
    verb_name{"SEND", verb::not_implemented},
    verb_name{"SOML", verb::not_implemented},
    verb_name{"SAML", verb::not_implemented},
    verb_name{"VERB", verb::not_implemented},
    verb_name{"XCLIENT", verb::xclient},
    verb_name{"XFORWARD", verb::not_implemented},
    // HTTP through an open proxy or a browser pointed at port 25 (Postfix:
    // smtpd_forbidden_commands): close at once.
    verb_name{"GET", verb::non_smtp},
    verb_name{"POST", verb::non_smtp},
    verb_name{"HEAD", verb::non_smtp},
    verb_name{"PUT", verb::non_smtp},
    verb_name{"CONNECT", verb::non_smtp},
    verb_name{"OPTIONS", verb::non_smtp},
    verb_name{"DELETE", verb::non_smtp},
};

verb lookup(std::string_view name) {
  for (const auto& e : kVerbs) {
    if (iequals(e.name, name)) return e.v;
  }
  return verb::unknown;
}

// "FROM" / "TO" then optional spaces, ':' and optional spaces (lenient, RFC 5321
// 4.1.1.2 has no spaces). Returns the rest after the colon, or nullopt.
std::optional<std::string_view> after_keyword(std::string_view rest, std::string_view kw) {
  if (rest.size() < kw.size() || !iequals(rest.substr(0, kw.size()), kw)) return std::nullopt;
  rest = skip_ws(rest.substr(kw.size()));
  if (rest.empty() || rest.front() != ':') return std::nullopt;
  return skip_ws(rest.substr(1));
}

reply path_error_reply(const path_error& e, path_kind kind) {
  const bool sender = kind == path_kind::reverse;
  if (e.code == path_errc::non_ascii) return reply(553, k_5_6_7, e.message);
  const enhanced_status st = sender ? k_5_1_7 : k_5_1_3;
  const std::string who = sender ? "Bad sender address syntax: " : "Bad recipient address syntax: ";
  if (e.code == path_errc::web_obfuscation) {
    return reply(501, st,
                 std::vector<std::string>{
                     who + e.message,
                     std::string("Write the real address, e.g. ") +
                         (sender ? "MAIL FROM:<you@example.com>" : "RCPT TO:<them@example.com>")});
  }
  return reply(501, st, who + e.message);
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool valid_keyword(std::string_view k) {
  if (k.empty() || !is_alnum(static_cast<unsigned char>(k.front()))) return false;
  return std::all_of(k.begin(), k.end(),
                     [](char c) { return is_alnum(static_cast<unsigned char>(c)) || c == '-'; });
}
// esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 (RFC 6531 3.3)
bool valid_value(std::string_view v) {
  if (v.empty()) return false;
  return std::all_of(v.begin(), v.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c >= 33 && c <= 126 && c != '=') || c >= 0x80;
  });
}

std::expected<mail_params, reply> parse_mail_params(std::string_view s) {
  mail_params p;
  bool seen_size = false, seen_body = false;
  std::size_t count = 0;
  while (!(s = skip_ws(s)).empty()) {
    std::size_t sp = 0;
    while (sp < s.size() && !is_ws(s[sp])) ++sp;
    std::string_view tok = s.substr(0, sp);
    s.remove_prefix(sp);
    if (++count > kEsmtpParamsMax) return fail(reply(501, k_5_5_4, "Error: too many parameters"));
    std::size_t eq = tok.find('=');
    std::string_view key = tok.substr(0, eq);
    std::optional<std::string_view> val;
    if (eq != std::string_view::npos) val = tok.substr(eq + 1);
    if (!valid_keyword(key) || (val && !valid_value(*val)))
      return fail(reply(501, k_5_5_4, "Error: bad parameter syntax"));
    if (iequals(key, "SIZE")) {  // RFC 1870 6: size-value = 1*20DIGIT
      if (seen_size || !val || val->size() > 20 ||
          !std::all_of(val->begin(), val->end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fail(reply(501, k_5_5_4, "Error: bad SIZE parameter"));
      std::uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(val->data(), val->data() + val->size(), n);
      (void)ptr;
      // 20 digits may overflow 64 bits: that is "too big" anyway.
      p.size = (ec == std::errc{}) ? n : std::numeric_limits<std::uint64_t>::max();
      seen_size = true;
    } else if (iequals(key, "BODY")) {
      if (seen_body || !val) return fail(reply(501, k_5_5_4, "Error: bad BODY parameter"));
      if (iequals(*val, "7BIT")) {
        p.body = body_param::seven_bit;
      } else if (iequals(*val, "8BITMIME")) {
        p.body = body_param::eight_bit_mime;
      } else if (iequals(*val, "BINARYMIME")) {
        p.body = body_param::binary_mime;
      } else {
        return fail(reply(501, k_5_5_4, "Error: BODY must be 7BIT, 8BITMIME or BINARYMIME"));
      }
      seen_body = true;
    } else if (iequals(key, "SMTPUTF8")) {
      if (p.smtputf8 || val) return fail(reply(501, k_5_5_4, "Error: bad SMTPUTF8 parameter"));
      p.smtputf8 = true;
    } else {
      return fail(reply(555, k_5_5_4, "Error: unsupported MAIL parameter"));
    }
  }
  return p;
}

std::expected<command, reply> parse_mail_rcpt(command c, std::string_view rest) {
  const bool mail = c.v == verb::mail;
  const path_kind kind = mail ? path_kind::reverse : path_kind::forward;
  auto arg = after_keyword(rest, mail ? "FROM" : "TO");
  if (!arg) return fail(replies::syntax(mail ? "MAIL FROM:<address>" : "RCPT TO:<address>"));
  // The path may be UTF-8 only with SMTPUTF8, which follows the path: parse
  // permissively first, check once the parameters are known.
  auto pp = parse_path_prefix(*arg, kind, path_options{.smtputf8 = true});
  if (!pp) return fail(path_error_reply(pp.error(), kind));
  std::string_view after = arg->substr(pp->consumed);
  if (!after.empty() && !is_ws(after.front())) {
    return fail(path_error_reply(
        path_error{path_errc::syntax, "unexpected characters after the address"}, kind));
  }
  if (mail) {
    auto params = parse_mail_params(after);
    if (!params) return fail(params.error());
    c.params = *params;
  } else if (!trim(after).empty()) {
    // We offer no RCPT parameters (no DSN): RFC 5321 4.1.1.11.
    return fail(reply(555, k_5_5_4, "Error: unsupported RCPT parameter"));
  }
  if (pp->value.is_utf8() && !(mail ? c.params.smtputf8 : true)) {
    return fail(
        path_error_reply(path_error{path_errc::non_ascii,
                                    "non-ASCII address without the SMTPUTF8 parameter (RFC 6531)"},
                         kind));
  }
  c.address = std::move(pp->value);
  return c;
}

}  // namespace

const char* to_string(verb v) noexcept {
  switch (v) {
    case verb::ehlo:
      return "EHLO";
    case verb::helo:
      return "HELO";
    case verb::mail:
      return "MAIL";
    case verb::rcpt:
      return "RCPT";
    case verb::data:
      return "DATA";
    case verb::bdat:
      return "BDAT";
    case verb::rset:
      return "RSET";
    case verb::noop:
      return "NOOP";
    case verb::quit:
      return "QUIT";
    case verb::vrfy:
      return "VRFY";
    case verb::help:
      return "HELP";
    case verb::starttls:
      return "STARTTLS";
    case verb::xclient:
      return "XCLIENT";
    case verb::not_implemented:
      return "not-implemented";
    case verb::non_smtp:
      return "non-smtp";
    case verb::unknown:
      return "unknown";
  }
  return "unknown";
}

const char* to_string(body_param b) noexcept {
  switch (b) {
    case body_param::none:
      return "none";
    case body_param::seven_bit:
      return "7BIT";
    case body_param::eight_bit_mime:
      return "8BITMIME";
    case body_param::binary_mime:
      return "BINARYMIME";
  }
  return "none";
}

verb peek_verb(std::string_view line) {
  line = skip_ws(line);
  std::size_t sp = 0;
  while (sp < line.size() && !is_ws(line[sp])) ++sp;
  return lookup(line.substr(0, sp));
}

std::expected<command, reply> parse_command(std::string_view line) {
  // RFC 5321 4.1.1: commands are US-ASCII text; a control byte (NUL, a CR inside
  // the line, ESC, DEL) is never legitimate. HT is tolerated as a space.
  for (char ch : line) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return fail(reply(500, k_5_5_2, "Error: control character in command"));
  }
  line = trim(line);
  if (line.empty()) return fail(reply(500, k_5_5_2, "Error: bad syntax (empty command)"));
  std::size_t sp = 0;
  while (sp < line.size() && !is_ws(line[sp])) ++sp;
  std::string_view name = line.substr(0, sp);
  std::string_view rest = skip_ws(line.substr(sp));

  command c;
  c.v = lookup(name);
  c.name = to_upper(name.substr(0, 16));  // bounded: it may be echoed in logs
  switch (c.v) {
    case verb::ehlo:
    case verb::helo:
      // RFC 5321 4.1.1.1: EHLO SP ( Domain / address-literal ). Checked leniently:
      // one printable token is enough (policy may judge it).
      if (rest.empty())
        return fail(replies::syntax(c.v == verb::ehlo ? "EHLO hostname" : "HELO hostname"));
      c.argument = std::string(rest);
      return c;
    case verb::mail:
    case verb::rcpt:
      return parse_mail_rcpt(std::move(c), rest);
    case verb::data:
    case verb::rset:
    case verb::starttls:
      if (!rest.empty()) return fail(replies::syntax(to_string(c.v)));
      return c;
    case verb::quit:  // RFC says no argument; a client that wants to leave may leave
    case verb::noop:  // RFC 5321 4.1.1.9: the argument is ignored
    case verb::help:
      c.argument = std::string(rest);
      return c;
    case verb::xclient:  // XCLIENT attribute=value ... (Postfix XCLIENT_README)
      if (rest.empty()) return fail(replies::syntax("XCLIENT attribute=value ..."));
      c.argument = std::string(rest);
      return c;
    case verb::vrfy:
      if (rest.empty()) return fail(replies::syntax("VRFY address"));
      c.argument = std::string(rest);
      return c;
    case verb::bdat: {
      // RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF
      std::size_t k = 0;
      while (k < rest.size() && rest[k] >= '0' && rest[k] <= '9') ++k;
      if (k == 0 || k > 19) return fail(replies::syntax("BDAT count [LAST]"));
      std::uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + k, n);
      if (ec != std::errc{} || ptr != rest.data() + k)
        return fail(replies::syntax("BDAT count [LAST]"));
      std::string_view tail = skip_ws(rest.substr(k));
      if (k < rest.size() && !is_ws(rest[k])) return fail(replies::syntax("BDAT count [LAST]"));
      if (!tail.empty()) {
        if (!iequals(tail, "LAST")) return fail(replies::syntax("BDAT count [LAST]"));
        c.last_chunk = true;
      }
      c.chunk_size = n;
      return c;
    }
    case verb::not_implemented:
    case verb::non_smtp:
    case verb::unknown:
      c.argument = std::string(rest.substr(0, 64));
      return c;
  }
  return c;
}

}  // namespace mxg::smtp
