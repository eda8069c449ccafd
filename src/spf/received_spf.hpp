// received_spf.hpp: the Received-SPF header field (RFC 7208 section 9.1) for any result.
//
//   Received-SPF: pass (mybox.example.org: domain of myname@example.com designates
//       192.0.2.1 as permitted sender) receiver=mybox.example.org; client-ip=192.0.2.1;
//       envelope-from="myname@example.com"; helo=foo.example.com; identity=mailfrom;
//
// Security: sender, HELO and problem text are attacker-controlled. Values are emitted as
// RFC 5322 dot-atoms or quoted-strings with '"' and '\' escaped; comment text escapes
// '(' ')' '\'; any byte outside printable ASCII becomes '?' so no CR/LF can be injected.
#pragma once

#include <string>
#include <string_view>

#include "spf/evaluator.hpp"

namespace mxg::spf {

// The field value (everything after "Received-SPF: "), on one line.
std::string received_spf_value(const outcome& o, const request& req, std::string_view receiver);
// "Received-SPF: " + value.
std::string received_spf_header(const outcome& o, const request& req, std::string_view receiver);

}  // namespace mxg::spf
