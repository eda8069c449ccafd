// session.hpp: signed-in console sessions (issue 11 section 2) and the login rate
// limit. A session is a random 256-bit id (the cookie) with its own random CSRF token,
// ended by logout or after `idle` without a request. The clock is injected so tests
// move time instead of sleeping.
// Security: ids and tokens come from libsodium's CSPRNG; lookups are by the whole id;
// the number of sessions and of rate-limit keys is capped (oldest evicted) so a flood of
// logins cannot grow memory without bound.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace mxg::web {

using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

inline constexpr std::size_t kSessionsMax = 10000;
inline constexpr std::size_t kRateKeysMax = 20000;

struct session {
  std::string id;    // cookie value (64 hex digits)
  std::string csrf;  // X-CSRF-Token value (64 hex digits)
  std::string user;
  std::chrono::steady_clock::time_point last;
};

class session_store {
 public:
  explicit session_store(std::chrono::seconds idle, clock_fn now = std::chrono::steady_clock::now);
  session create(const std::string& user);
  // The session of `id`, touched (its idle time starts again); nullopt when unknown or
  // idle too long (then it is removed).
  std::optional<session> find(const std::string& id);
  void erase(const std::string& id);
  // Ends every session of `user` (a user removed, or its password changed, by a reload);
  // answers how many.
  std::size_t erase_user(const std::string& user);
  // A new idle limit for the sessions from now on (a reload of idle_timeout).
  void set_idle(std::chrono::seconds idle);
  std::size_t size() const;

 private:
  std::chrono::seconds idle_;
  clock_fn now_;
  mutable std::mutex mu_;
  std::map<std::string, session> by_id_;
};

// Failed logins per client IP and per user name in a sliding window; beyond the limit a
// login is refused without checking the password (429), until old failures leave the
// window. A successful login clears the user's and the IP's failures.
struct rate_limits {
  std::size_t per_ip = 20;
  std::size_t per_user = 5;
  std::chrono::seconds window{std::chrono::minutes(15)};
};

class login_limiter {
 public:
  explicit login_limiter(rate_limits l = {}, clock_fn now = std::chrono::steady_clock::now);
  bool allowed(const std::string& ip, const std::string& user);
  void failed(const std::string& ip, const std::string& user);
  void succeeded(const std::string& ip, const std::string& user);

 private:
  using stamps = std::deque<std::chrono::steady_clock::time_point>;
  std::size_t recent(std::map<std::string, stamps>& m, const std::string& key);
  void add(std::map<std::string, stamps>& m, const std::string& key);
  rate_limits lim_;
  clock_fn now_;
  std::mutex mu_;
  std::map<std::string, stamps> ip_, user_;
};

}  // namespace mxg::web
