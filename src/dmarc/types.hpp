// types.hpp: the vocabulary of DMARC (RFC 9989, "DMARCbis"; RFC 7489 as the legacy mode)
// shared by the record parser, policy discovery, evaluation, aggregate reports (RFC 9990)
// and their users (policy/, the CLI). Header-only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mxg::dmarc {

// RFC 9989 evaluation outcome for one message (RFC 8601 2.7.7 result names).
//   pass       an aligned SPF or DKIM pass (RFC 9989 4.4)
//   fail       a policy record was found and nothing aligned passed
//   none       no policy record, or one whose p=/sp=/np= is invalid with no valid rua=
//              (RFC 9989 4.10.1: no DMARC processing)
//   temperror  a DNS failure during discovery (timeout, SERVFAIL): try later
//   permerror  the message cannot be evaluated: no From, several From fields or
//              addresses with different domains, an unparseable From (see from.hpp)
enum class result : std::uint8_t { pass, fail, none, temperror, permerror };

// p=, sp=, np= values (RFC 9989 4.7).
enum class disposition : std::uint8_t { none, quarantine, reject };

// adkim=, aspf= (RFC 9989 4.7): relaxed = same organizational domain, strict = equal.
enum class alignment_mode : std::uint8_t { relaxed, strict };

// How the organizational domain and the policy record are found.
//   treewalk  RFC 9989 4.10: the DNS tree walk (at most 8 queries), psd= honoured
//   psl       RFC 7489 3.2 / 6.6.3 (legacy): the Public Suffix List gives the
//             organizational domain; the policy is at _dmarc.<from> then _dmarc.<org>
enum class discovery_mode : std::uint8_t { treewalk, psl };

constexpr const char* to_string(result r) {
  switch (r) {
    case result::pass:
      return "pass";
    case result::fail:
      return "fail";
    case result::none:
      return "none";
    case result::temperror:
      return "temperror";
    case result::permerror:
      return "permerror";
  }
  return "permerror";
}
constexpr const char* to_string(disposition d) {
  switch (d) {
    case disposition::none:
      return "none";
    case disposition::quarantine:
      return "quarantine";
    case disposition::reject:
      return "reject";
  }
  return "none";
}
constexpr const char* to_string(alignment_mode a) {
  return a == alignment_mode::strict ? "s" : "r";
}
constexpr const char* to_string(discovery_mode m) {
  return m == discovery_mode::psl ? "psl" : "treewalk";
}
inline std::optional<disposition> disposition_from_string(std::string_view s) {
  if (s == "none") return disposition::none;
  if (s == "quarantine") return disposition::quarantine;
  if (s == "reject") return disposition::reject;
  return std::nullopt;
}

}  // namespace mxg::dmarc
