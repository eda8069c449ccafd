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
inline constexpr enhanced_status k_4_3_1{4, 3, 1};  // mail system full (RFC 3463 3.4)
inline constexpr enhanced_status k_4_3_2{4, 3, 2};  // system not accepting network messages
inline constexpr enhanced_status k_4_4_2{4, 4, 2};  // bad connection / timeout
inline constexpr enhanced_status k_4_4_3{4, 4, 3};  // directory server failure (DNS; RFC 3463 3.5)
inline constexpr enhanced_status k_4_5_3{4, 5, 3};  // too many recipients (RFC 5321 4.5.3.1.10)
inline constexpr enhanced_status k_4_7_0{4, 7, 0};  // other security or policy status
inline constexpr enhanced_status k_4_7_1{4, 7, 1};  // delivery not authorized (transient)
inline constexpr enhanced_status k_4_7_24{4, 7, 24};  // SPF validation error (RFC 7372 3.2)
inline constexpr enhanced_status k_5_1_1{5, 1, 1};    // bad destination mailbox address
inline constexpr enhanced_status k_5_1_3{5, 1, 3};    // bad destination mailbox address syntax
inline constexpr enhanced_status k_5_1_7{5, 1, 7};    // bad sender's mailbox address syntax
inline constexpr enhanced_status k_5_3_4{5, 3, 4};    // message too big for system (RFC 1870)
inline constexpr enhanced_status k_5_5_0{5, 5, 0};    // other or undefined protocol status
inline constexpr enhanced_status k_5_5_1{5, 5, 1};    // invalid command (sequence)
inline constexpr enhanced_status k_5_5_2{5, 5, 2};    // syntax error
inline constexpr enhanced_status k_5_5_3{5, 5, 3};    // too many recipients
inline constexpr enhanced_status k_5_5_4{5, 5, 4};    // invalid command arguments
inline constexpr enhanced_status k_5_6_0{5, 6, 0};    // other or undefined media error
inline constexpr enhanced_status k_5_6_7{5, 6,
                                         7};  // non-ASCII address not permitted (RFC 6531 3.5)
inline constexpr enhanced_status k_5_7_0{5, 7, 0};    // other security or policy status
inline constexpr enhanced_status k_5_7_1{5, 7, 1};    // delivery not authorized (relay denied)
inline constexpr enhanced_status k_5_7_23{5, 7, 23};  // SPF validation failed (RFC 7372 3.2)
inline constexpr enhanced_status k_5_7_24{5, 7, 24};  // SPF validation error (RFC 7372 3.2)
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

// The replies of the protocol core, one factory each, texts in one place
// (reply.cpp). The gateway uses the same factories (queue failure, relay denied).
namespace replies {
reply greeting(std::string_view host, std::string_view text);  // 220 host text (no status)
reply refused_greeting(std::string_view host);                 // 554 host ... (RFC 5321 3.1)
reply ehlo(std::string_view host, const std::vector<std::string>& keywords);  // 250-host / 250 KW
reply helo(std::string_view host);                                            // 250 host
reply ok();                                                                   // 250 2.0.0 Ok
reply sender_ok();                                                            // 250 2.1.0 Sender ok
reply recipient_ok();                          // 250 2.1.5 Recipient ok
reply start_data();                            // 354 End data with ...
reply chunk_ok(std::uint64_t bytes);           // 250 2.0.0 n octets received
reply queued(std::string_view queue_id);       // 250 2.0.0 <id> Message accepted for delivery
reply queue_failure();                         // 451 4.3.0 local error in processing
reply insufficient_storage();                  // 452 4.3.1 (RFC 5321 4.2.2 / RFC 1870 6.1)
reply bye(std::string_view host);              // 221 2.0.0 host closing connection
reply vrfy();                                  // 252 2.5.0 (RFC 5321 3.5.3)
reply help();                                  // 214 2.0.0
reply tls_ready();                             // 220 2.0.0 Ready to start TLS
reply tls_required();                          // 530 5.7.0 Must issue a STARTTLS command first
reply unrecognized();                          // 500 5.5.2 command not recognized
reply not_implemented();                       // 502 5.5.1 command not implemented
reply line_too_long();                         // 500 5.5.2 line too long (RFC 5321 4.5.3.1.10)
reply bare_lf_command();                       // 500 5.5.2 bare LF in command (strict mode)
reply bad_sequence(std::string_view what);     // 503 5.5.1 Error: <what>
reply syntax(std::string_view usage);          // 501 5.5.4 Syntax: <usage>
reply message_too_big();                       // 552 5.3.4 (RFC 1870)
reply too_many_recipients();                   // 452 4.5.3 (RFC 5321 4.5.3.1.10)
reply no_valid_recipients();                   // 554 5.5.1 (RFC 5321 3.3 / 4.1.1.4)
reply relay_denied();                          // 554 5.7.1 Relay access denied
reply too_many_errors(std::string_view host);  // 421 4.7.0 (then close)
reply non_smtp(std::string_view host);         // 421 4.7.0 (an HTTP request; then close)
reply timeout(std::string_view host);          // 421 4.4.2 (RFC 5321 4.5.3.2)
reply chunk_too_big(std::string_view host);    // 552 5.3.4, then close (RFC 3030 2, RFC 1870)
reply shutting_down(std::string_view host);    // 421 4.3.2
reply early_talker();                          // 554 5.5.1 talking before the greeting
}  // namespace replies

// Parses "550 5.7.1 text" (an operator-configured override) into a reply.
// Returns an empty reply when the code is not a valid 2yz/4yz/5yz.
reply parse_reply_text(std::string_view text);

}  // namespace mxg::smtp
