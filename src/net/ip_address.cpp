// ip_address.cpp: parsing and formatting of IP addresses and CIDR networks.
#include "net/ip_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace mxg::net {

ip_address ip_address::v4(std::array<std::uint8_t, 4> b) {
  ip_address a;
  a.fam_ = family::v4;
  for (int i = 0; i < 4; ++i) a.bytes_[i] = b[i];
  return a;
}

ip_address ip_address::v6(std::array<std::uint8_t, 16> b) {
  ip_address a;
  a.fam_ = family::v6;
  a.bytes_ = b;
  return a;
}

std::optional<ip_address> ip_address::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  // inet_pton stops at a NUL: "192.0.2.1\0junk" must not parse (found by fuzz/probe_reply).
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string s(text);
  if (s.find(':') == std::string::npos) {
    std::array<std::uint8_t, 4> b{};
    if (inet_pton(AF_INET, s.c_str(), b.data()) != 1) return std::nullopt;
    return v4(b);
  }
  std::array<std::uint8_t, 16> b{};
  if (inet_pton(AF_INET6, s.c_str(), b.data()) != 1) return std::nullopt;
  return v6(b);
}

bool ip_address::is_v4_mapped() const {
  if (!is_v6()) return false;
  for (int i = 0; i < 10; ++i)
    if (bytes_[i] != 0) return false;
  return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

ip_address ip_address::unmapped() const {
  if (!is_v4_mapped()) return *this;
  return v4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

bool ip_address::is_loopback() const {
  if (is_v4()) return bytes_[0] == 127;
  if (is_v4_mapped()) return unmapped().is_loopback();
  for (int i = 0; i < 15; ++i)
    if (bytes_[i] != 0) return false;
  return bytes_[15] == 1;
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::string ip_address::reverse_name() const {
  std::string out;
  if (is_v4()) {
    for (int i = 3; i >= 0; --i) {
      out += std::to_string(bytes_[i]);
      out += '.';
    }
    return out + "in-addr.arpa";
  }
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out += hex[bytes_[i] & 0xf];
    out += '.';
    out += hex[bytes_[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

bool ip_address::same_prefix(const ip_address& other, unsigned prefix) const {
  if (fam_ != other.fam_) return false;
  unsigned bits = static_cast<unsigned>(size()) * 8;
  if (prefix > bits) prefix = bits;
  unsigned full = prefix / 8;
  for (unsigned i = 0; i < full; ++i)
    if (bytes_[i] != other.bytes_[i]) return false;
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes_[full] & mask) == (other.bytes_[full] & mask);
}

std::optional<cidr> cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto ip = ip_address::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  unsigned max = ip->is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return std::nullopt;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc{} || end != p.data() + p.size() || prefix > max) return std::nullopt;
  }
  return cidr{*ip, prefix};
}

bool cidr::contains(const ip_address& ip) const {
  return addr.same_prefix(ip, prefix);
}

ip_address cidr::network() const {
  auto b = addr.bytes();
  unsigned bits = static_cast<unsigned>(addr.size()) * 8;
  for (unsigned i = prefix; i < bits; ++i)
    b[i / 8] &= static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
  if (addr.is_v4()) return ip_address::v4({b[0], b[1], b[2], b[3]});
  return ip_address::v6(b);
}

bool cidr::host_bits_set() const {
  return network() != addr;
}

std::string cidr::to_string() const {
  return addr.to_string() + "/" + std::to_string(prefix);
}

}  // namespace mxg::net
