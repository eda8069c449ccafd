// command.hpp: parser of one SMTP command line (RFC 5321 4.1.1, grammar 4.1.2;
// ESMTP parameters RFC 5321 4.1.2 Mail-parameters; SIZE RFC 1870; BODY RFC 6152
// and RFC 3030; SMTPUTF8 RFC 6531; BDAT RFC 3030).
//
// Input is one line WITHOUT its CRLF (the line reader removed it). The verb is
// case-insensitive, MAIL/RCPT accept spaces around the colon and a path without
// angle brackets (`mail from: user@example.com`), trailing spaces are ignored.
// Errors come back as the reply to send (501/555/553/500), never an exception.
//
// Security: the line comes from the network. Control bytes (a CR inside the
// line, NUL, ...) make the command a syntax error; every number is range-checked
// before conversion. Fuzzed by fuzz/smtp_command.cpp.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/path.hpp"
#include "smtp/reply.hpp"

namespace mxg::smtp {

enum class verb {
  ehlo,
  helo,
  mail,
  rcpt,
  data,
  bdat,
  rset,
  noop,
  quit,
  vrfy,
  help,
  starttls,
  xclient,          // Postfix XCLIENT (XCLIENT_README): the session decides who may use it
  not_implemented,  // known SMTP verbs we do not offer: EXPN, TURN, ETRN, AUTH, ATRN, ... -> 502
  non_smtp,         // GET, POST, CONNECT, ... (an HTTP client or proxy abuse) -> 421 and close
  unknown,          // anything else -> 500
};
const char* to_string(verb v) noexcept;  // "EHLO", ...

// BODY= (RFC 6152 8BITMIME, RFC 3030 BINARYMIME); none when not given.
enum class body_param { none, seven_bit, eight_bit_mime, binary_mime };
const char* to_string(body_param b) noexcept;

// MAIL FROM parameters we implement. Anything else is a 555 at parse time.
struct mail_params {
  std::optional<std::uint64_t> size;  // SIZE=n (RFC 1870 6)
  body_param body = body_param::none;
  bool smtputf8 = false;  // SMTPUTF8 (RFC 6531 3.4), no value
  bool operator==(const mail_params&) const = default;
};

struct command {
  verb v = verb::unknown;
  std::string name;              // the verb as sent, upper-cased (for logs and 500/502 texts)
  std::string argument;          // EHLO/HELO domain, VRFY/HELP/NOOP text (trimmed)
  path address;                  // MAIL (reverse-path) / RCPT (forward-path)
  mail_params params;            // MAIL only
  std::uint64_t chunk_size = 0;  // BDAT
  bool last_chunk = false;       // BDAT ... LAST
};

// Parses one command line. On error the reply says what to send: 500 5.5.2
// (unrecognized/garbage), 501 5.5.4 (bad arguments), 501 5.1.7 / 501 5.1.3
// (bad sender / recipient syntax), 553 5.6.7 (non-ASCII without SMTPUTF8),
// 555 5.5.4 (unknown MAIL/RCPT parameter, RFC 5321 4.1.1.11).
// Verbs non_smtp/not_implemented/unknown parse successfully; the session replies.
// A BDAT line whose size cannot be read is an error: the caller cannot know how
// many bytes follow and must close (session does).
std::expected<command, reply> parse_command(std::string_view line);

// The verb of a line without parsing the rest (to know that a failed line was a
// BDAT, whose chunk bytes follow it on the wire).
verb peek_verb(std::string_view line);

}  // namespace mxg::smtp
