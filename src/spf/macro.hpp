// macro.hpp: the SPF macro language of RFC 7208 section 7 (macro-string syntax check
// and expansion). Used by the parser (syntax of domain-specs and unknown modifiers,
// section 7.1) and by the evaluator (expansion of domain-specs, section 7.3, and of
// explanation strings, section 6.2 / 7.1).
//
//   macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
//   macro-letter = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
//   transformers = *DIGIT [ "r" ]        delimiter = "." / "-" / "+" / "," / "/" / "_" / "="
//
// Letters c, r, t are allowed only in explanation strings (7.3). An upper-case letter
// expands like its lower-case form and is then URL-escaped (7.3, RFC 3986 unreserved
// characters stay). The `p` letter needs DNS: the evaluator resolves it first
// (validated_ptr_name, RFC 7208 7.3 / 5.5) and passes the value in macro_env.
//
// Security: the input is untrusted DNS data. Expansion output is bounded by
// kMacroExpansionMax; a digit transformer is clamped; no recursion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/ip_address.hpp"

namespace mxg::spf {

// An expansion may not grow beyond this many bytes (a defence against records built to
// blow up memory; real domains are at most 253 bytes and explanations short).
inline constexpr std::size_t kMacroExpansionMax = 8192;
// Digit transformers above this are clamped (RFC 7208 7.3 gives no bound; a domain has
// at most 127 labels).
inline constexpr unsigned kMacroDigitsMax = 128;

enum class macro_context : std::uint8_t {
  domain,       // domain-spec or unknown-modifier value: letters s l o d i p h v
  explanation,  // explanation string (exp= TXT): also c r t, and SP is a literal (6.2)
};

// A syntax error in a macro-string, at `offset` bytes into the string checked.
struct macro_error {
  std::size_t offset = 0;
  std::string reason;
};

struct macro_check {
  bool ends_with_macro = false;  // the last token is a macro-expand (domain-end, 7.1)
  bool uses_p = false;           // %{p} appears: the evaluator must resolve it first
};

// Checks a macro-string (RFC 7208 7.1). On success returns facts the callers need.
std::optional<macro_error> check_macro_string(std::string_view s, macro_context ctx,
                                              macro_check* facts = nullptr);

// The values the macro letters expand to (RFC 7208 7.3). Views must outlive expand().
struct macro_env {
  std::string_view sender;                     // s: <sender> (with postmaster@ substituted, 4.3)
  std::string_view local_part;                 // l
  std::string_view sender_domain;              // o
  std::string_view domain;                     // d: the current <domain>
  std::string_view helo;                       // h: HELO/EHLO as given
  std::string_view receiver = "unknown";       // r (explanation only)
  std::string_view validated_ptr = "unknown";  // p: from validated_ptr_name()
  net::ip_address ip;                          // i, c, v: the client, IPv4-mapped already unmapped
  std::int64_t now = 0;                        // t: seconds since the epoch (explanation only)
};

// Expands `s` into `out` (appended). Returns an error for a syntax error or when the
// result would exceed kMacroExpansionMax.
std::optional<macro_error> expand(std::string_view s, macro_context ctx, const macro_env& env,
                                  std::string& out);

// RFC 7208 7.3: the text of %{i}: dotted quad, or 32 dot-separated lower-case nibbles.
void append_ip_macro(const net::ip_address& ip, std::string& out);

// RFC 3986 2.3 unreserved characters (what upper-case macros leave unescaped).
bool is_unreserved(unsigned char c);

}  // namespace mxg::spf
