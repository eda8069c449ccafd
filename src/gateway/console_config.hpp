// console_config.hpp: the [console] section (issue 11 section 2): the web console's
// listener, TLS and users. Read by gateway/config.cpp with every problem reported as
// `FILE:LINE: message` (unknown keys too); served by src/web/ (which the gateway never
// includes). Off unless `listen` is set.
//
//   [console]
//   listen = "127.0.0.1:8025"
//   tls_cert = "/etc/mxguard/console.pem"   # both or none: HTTPS
//   tls_key = "/etc/mxguard/console.key"
//   idle_timeout = "30m"                    # a session unused this long is signed out
//   [console.users.alice]
//   role = "admin"                          # admin | helpdesk
//   password = "$argon2id$v=19$..."         # `mxguard console passwd alice`
//   [console.users.bob]
//   role = "helpdesk"
//   domains = ["example.com"]               # helpdesk: the recipient domains it sees
//   [console]  (continued)
//   approval_domains = ["example.com"]      # or ["*"]: a helpdesk release of mail to these
//                                           # recipient domains is a request an admin approves
//
// Security: passwords are only ever stored as argon2id hashes (a plain text password is
// refused at load); a helpdesk user without domains is refused (it would see nothing,
// or by a later mistake everything).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace mxg::gateway {

enum class console_role { admin, helpdesk };
const char* to_string(console_role r);

struct console_user {
  std::string name;
  console_role role = console_role::helpdesk;
  std::string password_hash;         // "$argon2id$..."
  std::vector<std::string> domains;  // helpdesk: recipient domains (lower case)
};

struct console_config {
  std::string listen;  // "IP:PORT"; "" = off
  std::string tls_cert, tls_key;
  std::chrono::seconds idle_timeout{std::chrono::minutes(30)};
  std::vector<console_user> users;
  // Issue 11: recipient domains (lower case; "*" = every domain) where a helpdesk user's
  // release becomes a release request that an admin approves or denies.
  std::vector<std::string> approval_domains;
  bool enabled() const { return !listen.empty(); }
  // A helpdesk release of a message with these recipients (comma separated, as the
  // quarantine index stores them) needs an admin's approval: some recipient's domain is
  // an approval domain (exact, case-insensitive), or approval_domains holds "*".
  bool needs_approval(std::string_view recipients) const;
};

// The reader (read_console_config) is in console_config_toml.hpp, so this header, which
// config.hpp includes everywhere, stays free of toml++.

}  // namespace mxg::gateway
