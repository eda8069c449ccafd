// hosts_file.cpp: hosts(5) parser (see hosts_file.hpp).
#include "dns/hosts_file.hpp"

#include <fstream>
#include <vector>

#include "base/ascii.hpp"

namespace mxg::dns {

namespace {

std::string normalize(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return ascii::lower(name);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

}  // namespace

hosts_file hosts_file::parse(std::string_view text) {
  hosts_file h;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    // The address and the canonical name: aliases are not needed for rDNS.
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < line.size() && fields.size() < 2) {
      while (i < line.size() && is_space(line[i])) ++i;
      std::size_t start = i;
      while (i < line.size() && !is_space(line[i])) ++i;
      if (i > start) fields.push_back(line.substr(start, i - start));
    }
    if (fields.size() < 2) continue;
    auto ip = net::ip_address::parse(fields[0]);
    if (!ip) continue;
    net::ip_address addr = ip->unmapped();
    std::string canonical = normalize(fields[1]);
    if (!canonical.empty()) h.by_ip_.try_emplace(addr, std::move(canonical));
  }
  return h;
}

hosts_file hosts_file::load(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string text;
  text.resize(kHostsFileMax);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parse(text);
}

std::optional<std::string> hosts_file::name_of(const net::ip_address& ip) const {
  auto it = by_ip_.find(ip.unmapped());
  if (it == by_ip_.end()) return std::nullopt;
  return it->second;
}

}  // namespace mxg::dns
