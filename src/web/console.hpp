// console.hpp: the web console's server (issue 11 section 2): a JSON API under /api/
// (docs/console.md) and a small page that uses it, served by cpp-httplib on its own
// threads. Every handler that needs the gateway posts a coroutine to the server's io
// thread (gateway/admin.hpp) and waits for its value; nothing here touches gateway
// state from a console thread.
//
// Access: users of [console.users.*] (gateway/console_config.hpp) sign in with
// POST /api/login; the session is a random 256-bit id in a cookie (HttpOnly,
// SameSite=Strict, Secure with TLS) that expires after idle_timeout; every POST and
// DELETE but the login must carry the session's CSRF token in X-CSRF-Token (403
// otherwise); failed logins are rate-limited per client IP and per user (429). Roles:
// admin (everything), helpdesk (the quarantine of its domains only: other entries are
// answered 404 as if absent). Every release and delete is recorded in the quarantine
// index with "console:USER" and logged.
// Release requests (issue 11): a helpdesk release in [console] approval_domains files a
// request an admin approves (/api/requests...); a recipient without an account files one
// through the digest's link GET/POST /request/ID?rcpt=&t= whose HMAC token
// (request_token.hpp) is its only capability: no session, no body shown.
// First run: with [console] on and no user, an admin user "admin" gets a random
// password written to <state_dir>/console-admin.txt (mode 0600), and the log says so.
//
// Security: the listener is meant for loopback or a management network (TLS when not
// loopback). Responses carry a strict Content-Security-Policy, nosniff and no-store;
// message bodies are returned as JSON strings and the page shows them as text, never
// as HTML.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "base/result.hpp"
#include "gateway/console_config.hpp"

namespace mxg::gateway {
class server;
}

namespace mxg::web {

inline constexpr const char* kSessionCookie = "mxg_session";
inline constexpr const char* kCsrfHeader = "X-CSRF-Token";
inline constexpr const char* kFirstRunFile = "console-admin.txt";

class console {
 public:
  // Binds [console] listen and serves on its own threads. `state_dir` holds the first-run
  // password file. A bind or TLS failure is one clear error.
  static result<std::unique_ptr<console>> start(gateway::server& srv,
                                                const gateway::console_config& cfg,
                                                const std::string& state_dir);
  ~console();
  void stop();
  // SIGHUP (issue 11): the users, their roles, domains and passwords and idle_timeout
  // of a new [console] take effect; sessions of removed users, or of users whose
  // password changed, end at once. listen and TLS changes are logged and need a
  // restart. Called on the gateway's io thread.
  void reload(const gateway::console_config& cfg, const std::string& state_dir);
  // "http://127.0.0.1:8025" (https with TLS).
  const std::string& url() const;

  struct impl;

 private:
  explicit console(std::unique_ptr<impl> p);
  std::unique_ptr<impl> p_;
};

}  // namespace mxg::web
