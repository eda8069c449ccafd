// limits.hpp: every protocol limit mxguard enforces, as a named constant with
// the RFC section that defines it. Configurable limits take these as defaults.
#pragma once

#include <chrono>
#include <cstddef>

namespace mxg::limits {

// ---- SPF, RFC 7208 ----
inline constexpr int kSpfDnsTerms = 10;          // 4.6.4: include, a, mx, ptr, exists, redirect
inline constexpr int kSpfMxNames = 10;           // 4.6.4: MX records looked up for one mx term
inline constexpr int kSpfPtrNames = 10;          // 4.6.4: PTR names checked for ptr / %{p}
inline constexpr int kSpfVoidLookups = 2;        // 4.6.4: lookups answering NXDOMAIN or no data
inline constexpr std::size_t kDnsNameMax = 253;  // RFC 1035 2.3.4 (text form, no final dot)
inline constexpr std::size_t kDnsLabelMax = 63;  // RFC 1035 2.3.4
inline constexpr std::size_t kDnsTxtStringMax = 255;  // RFC 1035 3.3.14 character-string
inline constexpr std::size_t kDnsUdpAnswerMax = 512;  // RFC 1035 2.3.4, beyond it: TCP (7208 3.4)
inline constexpr std::chrono::seconds kSpfEvaluationTimeout{20};  // RFC 7208 4.6.4 "at least 20 s"

// ---- SMTP, RFC 5321 ----
inline constexpr std::size_t kSmtpCommandLineMax = 512;  // 4.5.3.1.4 (incl. CRLF)
inline constexpr std::size_t kSmtpTextLineMax = 1000;    // 4.5.3.1.6 (incl. CRLF)
inline constexpr std::size_t kSmtpLocalPartMax = 64;     // 4.5.3.1.1
inline constexpr std::size_t kSmtpDomainMax = 255;       // 4.5.3.1.2
inline constexpr std::size_t kSmtpPathMax = 256;         // 4.5.3.1.3
inline constexpr std::size_t kSmtpRecipientsMin = 100;   // 4.5.3.1.8: must accept at least 100
inline constexpr std::chrono::minutes kSmtpInitialTimeout{5};    // 4.5.3.2.1 greeting wait
inline constexpr std::chrono::minutes kSmtpMailTimeout{5};       // 4.5.3.2.2
inline constexpr std::chrono::minutes kSmtpRcptTimeout{5};       // 4.5.3.2.3
inline constexpr std::chrono::minutes kSmtpDataInitTimeout{2};   // 4.5.3.2.4
inline constexpr std::chrono::minutes kSmtpDataBlockTimeout{3};  // 4.5.3.2.5
inline constexpr std::chrono::minutes kSmtpDataTermTimeout{10};  // 4.5.3.2.6
inline constexpr std::chrono::minutes kSmtpServerTimeout{5};     // 4.5.3.2.7

}  // namespace mxg::limits
