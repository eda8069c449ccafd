// dnsmasq.hpp: starts a real dnsmasq (/usr/sbin/dnsmasq) on 127.0.0.1 and a free
// high port for tests that must go through the real DNS path (c-ares, UDP, TCP
// fallback). Only loopback; no resolv.conf, no hosts file, no upstream servers.
// The process is killed (SIGTERM, then SIGKILL) and reaped by the destructor.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace mxg::test {

inline constexpr const char* kDnsmasqPath = "/usr/sbin/dnsmasq";

class dnsmasq {
 public:
  // `records` are dnsmasq options, one argv element each (no shell: no quotes), e.g.
  // "--txt-record=a.test,v=spf1 -all" (one string) or "--txt-record=a.test,x,y" (two
  // character-strings; dnsmasq splits at commas, so a string cannot hold a comma).
  static result<std::unique_ptr<dnsmasq>> start(const std::vector<std::string>& records);
  static bool available();
  ~dnsmasq();
  unsigned short port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  dnsmasq() = default;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

}  // namespace mxg::test
