// path.hpp: parser of SMTP reverse-paths and forward-paths (RFC 5321 4.1.2),
// SMTPUTF8 addresses (RFC 6531 3.3) and length limits (RFC 5321 4.5.3.1.1-3).
//
//   Path      = "<" [ A-d-l ":" ] Mailbox ">"
//   Mailbox   = Local-part "@" ( Domain / address-literal )
//   Local-part = Dot-string / Quoted-string
// plus the null reverse-path "<>" and the forward-path "<Postmaster>" (4.1.1.3).
//
// Leniency (what real clients send, accepted on purpose):
//   - the path without angle brackets (`mail from: user@example.com`); it then
//     ends at the first space;
//   - one trailing dot on the domain (`user@example.com.`); domain() is
//     normalized without it, so it can never bypass a domain comparison;
//   - a source route `<@a,@b:user@d>` is parsed and ignored (4.1.2 / appendix C).
// Not accepted: consecutive or leading/trailing dots in a Dot-string, '@' or
// other specials outside quotes, control bytes anywhere, non-ASCII without
// SMTPUTF8, invalid UTF-8 even with it.
//
// Security: the input is a peer's command line. The parser never reads beyond
// the view, never allocates more than the input size, and is fuzzed
// (fuzz/smtp_path.cpp). The text `[email protected]` (a web page's address
// obfuscation) gets its own error so the sender learns what went wrong.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace mxg::smtp {

enum class path_kind { reverse, forward };  // MAIL FROM / RCPT TO

struct path_options {
  bool smtputf8 = false;  // SMTPUTF8 given on MAIL: UTF-8 local parts and domains allowed
};

class path {
 public:
  path() = default;  // the null path <>

  bool is_null() const { return null_; }
  // RCPT TO:<Postmaster> without a domain (RFC 5321 4.1.1.3), any case.
  bool is_postmaster_only() const { return postmaster_; }
  // Local part exactly as on the wire: quoted form keeps its quotes and escapes.
  const std::string& local_part() const { return local_; }
  // The local part with quotes and quoted-pairs removed ("a\"b" -> a"b).
  std::string local_part_unquoted() const;
  bool local_part_quoted() const { return quoted_; }
  // Domain without a trailing dot, ASCII lower-cased; an address literal keeps
  // its brackets ("[127.0.0.1]", "[ipv6:::1]"). Empty for <> and <Postmaster>.
  const std::string& domain() const { return domain_; }
  bool domain_is_literal() const { return literal_; }
  bool had_source_route() const { return source_route_; }
  bool is_utf8() const { return utf8_; }  // contains bytes >= 0x80

  // local@domain (domain normalized), "Postmaster", or "" for the null path:
  // the form stored in the queue and shown in replies and logs.
  std::string address() const;

  bool operator==(const path&) const = default;

 private:
  friend struct path_parser;
  std::string local_;
  std::string domain_;
  bool null_ = true;
  bool postmaster_ = false;
  bool quoted_ = false;
  bool literal_ = false;
  bool source_route_ = false;
  bool utf8_ = false;
};

enum class path_errc {
  syntax,            // not a path at all, or garbage after it
  web_obfuscation,   // the text "[email protected]"
  null_not_allowed,  // <> as a forward-path
  local_too_long,    // > 64 octets (4.5.3.1.1)
  domain_too_long,   // > 255 octets or a label > 63 (4.5.3.1.2)
  path_too_long,     // > 256 octets with brackets (4.5.3.1.3)
  non_ascii,         // UTF-8 without SMTPUTF8 (RFC 6531 3.5: 553 5.6.7)
  bad_utf8,          // not well-formed UTF-8
};

struct path_error {
  path_errc code = path_errc::syntax;
  std::string message;  // for the reply text: what is wrong, without the echo of hostile bytes
};

struct parsed_path {
  path value;
  std::size_t consumed = 0;  // bytes of the input used (through '>' or the end of the token)
  bool bracketed = false;
};

// Parses a path at the start of `text` (after "FROM:"/"TO:" and optional
// spaces). Stops after '>' or, without brackets, at the first space; the
// caller checks what follows (ESMTP parameters).
std::expected<parsed_path, path_error> parse_path_prefix(std::string_view text, path_kind kind,
                                                         path_options opts = {});

// Parses a whole string as one path ("<a@b>" or "a@b"); anything left over is an error.
std::expected<path, path_error> parse_path(std::string_view text, path_kind kind,
                                           path_options opts = {});

// RFC 5321 4.1.2 Domain (sub-domain labels, LDH), with U-labels when utf8 is set.
bool is_valid_domain(std::string_view d, bool utf8 = false);
// RFC 5321 4.1.3 address-literal including brackets: [IPv4], [IPv6:...], [tag:text].
bool is_valid_address_literal(std::string_view lit);
// Well-formed UTF-8 (RFC 3629): no overlongs, no surrogates, <= U+10FFFF.
bool is_valid_utf8(std::string_view s);

}  // namespace mxg::smtp
