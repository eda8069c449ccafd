// ip_address.hpp: IPv4/IPv6 addresses and CIDR networks as plain values.
// Parsing is strict (inet_pton rules; no leading zeros tricks, no zone ids) because
// these come from SPF records, SMTP peers and config files.
// RFC 4291 2.5.5.2: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is treated as IPv4
// by callers that ask for it (unmapped()), as RFC 7208 section 5 requires.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mxg::net {

class ip_address {
 public:
  enum class family : std::uint8_t { v4, v6 };

  ip_address() = default;  // 0.0.0.0
  static ip_address v4(std::array<std::uint8_t, 4> b);
  static ip_address v6(std::array<std::uint8_t, 16> b);
  // Parses dotted-quad IPv4 or RFC 4291 text IPv6 (any case). nullopt if invalid.
  static std::optional<ip_address> parse(std::string_view text);

  family fam() const { return fam_; }
  bool is_v4() const { return fam_ == family::v4; }
  bool is_v6() const { return fam_ == family::v6; }
  // 4 bytes used for v4, 16 for v6.
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  std::size_t size() const { return is_v4() ? 4 : 16; }

  bool is_v4_mapped() const;    // ::ffff:0:0/96
  ip_address unmapped() const;  // the IPv4 address if v4-mapped, else *this
  bool is_loopback() const;

  // 192.0.2.1 or 2001:db8::1 (RFC 5952 compressed, lower case).
  std::string to_string() const;
  // Reverse-DNS name without trailing dot: 1.2.0.192.in-addr.arpa or nibble ip6.arpa.
  std::string reverse_name() const;
  // True if the first `prefix` bits equal those of `other` (same family).
  bool same_prefix(const ip_address& other, unsigned prefix) const;

  auto operator<=>(const ip_address&) const = default;

 private:
  family fam_ = family::v4;
  std::array<std::uint8_t, 16> bytes_{};
};

// A network: address with a prefix length. Host bits may be set (as written in an
// SPF record); network() clears them.
struct cidr {
  ip_address addr;
  unsigned prefix = 32;

  // "192.0.2.0/24", "2001:db8::/32"; a bare address means a host route.
  static std::optional<cidr> parse(std::string_view text);
  bool contains(const ip_address& ip) const;
  bool host_bits_set() const;
  ip_address network() const;
  std::string to_string() const;
};

}  // namespace mxg::net
