// reply.hpp: an SMTP reply as a value {code, enhanced status, text lines} and
// its one formatter (RFC 5321 4.2, multi-line replies 4.2.1; enhanced status
// codes RFC 2034 / RFC 3463, registry RFC 5248).
//
// Every reply mxguard sends is built from the named constants below and the
// reply factories in namespace `replies`; handlers never spell status strings.
//
// Security: reply text may carry peer-supplied bytes (a HELO name, an address).
// The formatter replaces CR, LF and every other control byte by '?', so a
// reply can never inject a line into the protocol stream.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mxg::smtp {

// RFC 3463 2: class.subject.detail. {0,0,0} means "no enhanced status" (used
// for the greeting and EHLO/HELO replies, RFC 2034 3).
struct enhanced_status {
  std::uint8_t cls = 0;
  std::uint16_t subject = 0;
  std::uint16_t detail = 0;

  constexpr bool empty() const { return cls == 0; }
  std::string to_string() const;  // "2.1.5"; empty string when empty()
  constexpr bool operator==(const enhanced_status&) const = default;
};

// Named enhanced status codes (RFC 3463 section 3, RFC 5248 registry).
namespace status {
inline constexpr enhanced_status none{};
inline constexpr enhanced_status k_2_0_0{2, 0, 0};  // other undefined status: success
inline constexpr enhanced_status k_2_1_0{2, 1, 0};  // originator address valid
inline constexpr enhanced_status k_2_1_5{2, 1, 5};  // destination address valid
inline constexpr enhanced_status k_2_5_0{2, 5, 0};  // other or undefined protocol status
inline constexpr enhanced_status k_2_6_0{2, 6, 0};  // other or undefined media status (data)
inline constexpr enhanced_status k_2_7_0{2, 7, 0};  // other security status
inline constexpr enhanced_status k_4_3_0{4, 3, 0};  // mail system: other (local error)
inline constexpr enhanced_status k_4_3_2{4, 3, 2};  // system not accepting network messages
inline constexpr enhanced_status k_4_4_2{4, 4, 2};  // bad connection / timeout
inline constexpr enhanced_status k_4_5_3{4, 5, 3};  // too many recipients (RFC 5321 4.5.3.1.10)
inline constexpr enhanced_status k_4_7_0{4, 7, 0};  // other security or policy status
inline constexpr enhanced_status k_5_1_1{5, 1, 1};  // bad destination mailbox address
inline constexpr enhanced_status k_5_1_3{5, 1, 3};  // bad destination mailbox address syntax
inline constexpr enhanced_status k_5_1_7{5, 1, 7};  // bad sender's mailbox address syntax
inline constexpr enhanced_status k_5_3_4{5, 3, 4};  // message too big for system (RFC 1870)
inline constexpr enhanced_status k_5_5_0{5, 5, 0};  // other or undefined protocol status
inline constexpr enhanced_status k_5_5_1{5, 5, 1};  // invalid command (sequence)
inline constexpr enhanced_status k_5_5_2{5, 5, 2};  // syntax error
inline constexpr enhanced_status k_5_5_3{5, 5, 3};  // too many recipients
inline constexpr enhanced_status k_5_5_4{5, 5, 4};  // invalid command arguments
inline constexpr enhanced_status k_5_6_0{5, 6, 0};  // other or undefined media error
inline constexpr enhanced_status k_5_6_7{5, 6,
                                         7};  // non-ASCII address not permitted (RFC 6531 3.5)
inline constexpr enhanced_status k_5_7_0{5, 7, 0};  // other security or policy status
inline constexpr enhanced_status k_5_7_1{5, 7, 1};  // delivery not authorized (relay denied)
}  // namespace status

struct reply {
  int code = 0;  // 0: no reply to send (e.g. the session waits for BDAT bytes)
  enhanced_status status;
  std::vector<std::string> lines;  // at least one line when code != 0

  reply() = default;
  reply(int c, enhanced_status s, std::string text);
  reply(int c, enhanced_status s, std::vector<std::string> text);

  bool empty() const { return code == 0; }
  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  bool failure() const { return code >= 400; }

  // Wire form, CRLF after each line: "250-first\r\n250-...\r\n250 last\r\n"
  // (RFC 5321 4.2.1), each line prefixed by the enhanced status when present
  // (RFC 2034 3). Control bytes in the text become '?'.
  std::string format() const;
  // One-line form for logs: "250 2.0.0 first / second".
  std::string summary() const;

  bool operator==(const reply&) const = default;
};

// Parses "550 5.7.1 text" (an operator-configured override) into a reply.
// Returns an empty reply when the code is not a valid 2yz/4yz/5yz.
reply parse_reply_text(std::string_view text);

}  // namespace mxg::smtp
