// hosts_file.hpp: the static host table (/etc/hosts, hosts(5)) for the gateway's
// reverse lookup of clients, consulted before DNS as the system resolver does
// ("hosts: files dns" in nsswitch.conf), so 127.0.0.1 is "localhost" without a query,
// as Postfix's smtpd sees it through getnameinfo().
// Format: per line an address, then a canonical name and aliases; '#' starts a
// comment. Lines that do not parse are skipped (the system resolver does the same).
// Security: the file is local and trusted, but read with caps (size, names per line).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "net/ip_address.hpp"

namespace mxg::dns {

inline constexpr std::size_t kHostsFileMax = 4 * 1024 * 1024;  // bytes read at most
inline constexpr const char* kHostsFilePath = "/etc/hosts";

class hosts_file {
 public:
  static hosts_file parse(std::string_view text);
  // A missing or unreadable file, or an empty path, is an empty table.
  static hosts_file load(const std::string& path = kHostsFilePath);

  // The canonical name of the first line that lists `ip` (lower case), if any. It is
  // forward-confirmed by construction: that same line maps the name back to `ip`.
  std::optional<std::string> name_of(const net::ip_address& ip) const;
  std::size_t size() const { return by_ip_.size(); }

 private:
  std::map<net::ip_address, std::string> by_ip_;  // first line wins
};

}  // namespace mxg::dns
