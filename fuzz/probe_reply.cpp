// probe_reply.cpp: libFuzzer target for what `mxguard probe` reads from a remote server
// and its operator (src/delivery/probe.hpp, connection.hpp): the Domain of a greeting or
// EHLO reply (greeting_name), the reply code of a line (reply_code), EHLO keywords
// (parse_ehlo) and the HOST[:PORT] argument (parse_target). Invariants: never crashes; a
// greeting name is empty or the first word of the input, without spaces or control
// bytes; a reply code is its three digits (0..999) or 0; a parsed target prints back to
// a target that parses the same; relay test paths built from a parsed name never hold
// CR or LF.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/connection.hpp"
#include "delivery/probe.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace mxg::delivery;
  auto name = greeting_name(in);
  if (!name.empty()) {
    if (in.substr(0, name.size()) != name) __builtin_trap();  // the first word, as sent
    for (unsigned char c : name)
      if (c <= 0x20 || c >= 0x7f) __builtin_trap();
  }
  int code = reply_code(in);
  if (code < 0 || code > 999) __builtin_trap();  // three digits or 0
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < in.size() && lines.size() < 64) {
    auto nl = in.find('\n', pos);
    lines.emplace_back(in.substr(pos, nl == std::string_view::npos ? in.size() - pos : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  (void)parse_ehlo(lines);
  if (auto t = parse_target(in)) {
    std::string back = t->is_ip && t->host.find(':') != std::string::npos
                           ? "[" + t->host + "]:" + std::to_string(t->port)
                           : t->host + ":" + std::to_string(t->port);
    auto again = parse_target(back);
    if (!again || again->host != t->host || again->port != t->port) __builtin_trap();
    relay_names n{"relaytest", "", "u", "d.example", name, t->is_ip ? t->host : "192.0.2.1"};
    for (const auto& rc : relay_cases(n))
      if (rc.rcpt_to.find_first_of("\r\n") != std::string::npos ||
          rc.mail_from.find_first_of("\r\n") != std::string::npos)
        __builtin_trap();
  }
  return 0;
}
