// spf_yaml_zone.cpp: openspf YAML zonedata -> memory_zone (rules in spf_yaml_zone.hpp,
// from ../shared/conformance/spf/SOURCE.md).
#include "support/spf_yaml_zone.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace mxg::test {

namespace {

constexpr std::uint32_t kTestTtl = 300;

std::vector<std::string> txt_strings(const YAML::Node& v) {
  std::vector<std::string> out;
  if (v.IsSequence()) {
    for (const auto& s : v) out.push_back(s.as<std::string>());
  } else if (v.IsScalar()) {
    out.push_back(v.as<std::string>());
  } else if (!v.IsNull()) {
    throw std::runtime_error("TXT/SPF value must be a string or a list of strings");
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return s;
}

}  // namespace

void load_spf_zonedata(const YAML::Node& zonedata, dns::memory_zone& zone) {
  if (!zonedata || zonedata.IsNull()) return;
  for (const auto& owner_node : zonedata) {
    const std::string owner = lower(owner_node.first.as<std::string>());
    zone.add_name(owner);  // the owner exists even with only markers
    bool has_txt = false;
    std::vector<std::vector<std::string>> spf_copies;
    for (const auto& entry : owner_node.second) {
      if (entry.IsScalar()) {
        if (entry.as<std::string>() != "TIMEOUT")
          throw std::runtime_error("unknown zonedata marker " + entry.as<std::string>());
        zone.add_timeout(owner);
        continue;
      }
      if (!entry.IsMap() || entry.size() != 1)
        throw std::runtime_error("zonedata entry of " + owner + " is not a single-key map");
      auto kv = *entry.begin();
      const std::string type = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      dns::record r;
      r.name = owner;
      r.ttl = kTestTtl;
      if (type == "A" || type == "AAAA") {
        auto ip = net::ip_address::parse(v.as<std::string>());
        if (!ip) throw std::runtime_error("bad address " + v.as<std::string>());
        r.type = type == "A" ? dns::rrtype::a : dns::rrtype::aaaa;
        r.addr = *ip;
      } else if (type == "PTR" || type == "CNAME") {
        r.type = type == "PTR" ? dns::rrtype::ptr : dns::rrtype::cname;
        r.target = v.IsNull() ? std::string() : v.as<std::string>();
      } else if (type == "MX") {
        if (!v.IsSequence() || v.size() != 2) throw std::runtime_error("MX needs [pref, name]");
        r.type = dns::rrtype::mx;
        r.preference = static_cast<std::uint16_t>(v[0].as<int>());
        r.target = v[1].IsNull() ? std::string() : v[1].as<std::string>();
      } else if (type == "TXT") {
        has_txt = true;
        if (v.IsScalar() && v.as<std::string>() == "NONE") continue;  // marker, no record
        r.type = dns::rrtype::txt;
        r.strings = txt_strings(v);
      } else if (type == "SPF") {
        r.type = dns::rrtype::spf;
        r.strings = txt_strings(v);
        spf_copies.push_back(r.strings);
      } else {
        throw std::runtime_error("unknown zonedata type " + type);
      }
      zone.add(std::move(r));
    }
    if (!has_txt) {
      for (auto& s : spf_copies) {
        dns::record r;
        r.name = owner;
        r.ttl = kTestTtl;
        r.type = dns::rrtype::txt;
        r.strings = std::move(s);
        zone.add(std::move(r));
      }
    }
  }
}

}  // namespace mxg::test
