// session.cpp: see session.hpp.
#include "web/session.hpp"

#include <algorithm>

#include "web/password.hpp"

namespace mxg::web {

session_store::session_store(std::chrono::seconds idle, clock_fn now)
    : idle_(idle), now_(std::move(now)) {}

session session_store::create(const std::string& user) {
  session s{random_token(), random_token(), user, now_()};
  std::lock_guard lk(mu_);
  if (by_id_.size() >= kSessionsMax) {
    auto oldest = std::min_element(by_id_.begin(), by_id_.end(), [](const auto& a, const auto& b) {
      return a.second.last < b.second.last;
    });
    by_id_.erase(oldest);
  }
  by_id_[s.id] = s;
  return s;
}

std::optional<session> session_store::find(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  const auto now = now_();
  if (now - it->second.last >= idle_) {
    by_id_.erase(it);
    return std::nullopt;
  }
  it->second.last = now;
  return it->second;
}

void session_store::erase(const std::string& id) {
  std::lock_guard lk(mu_);
  by_id_.erase(id);
}

std::size_t session_store::erase_user(const std::string& user) {
  std::lock_guard lk(mu_);
  return std::erase_if(by_id_, [&](const auto& kv) { return kv.second.user == user; });
}

void session_store::set_idle(std::chrono::seconds idle) {
  std::lock_guard lk(mu_);
  idle_ = idle;
}

std::size_t session_store::size() const {
  std::lock_guard lk(mu_);
  return by_id_.size();
}

login_limiter::login_limiter(rate_limits l, clock_fn now) : lim_(l), now_(std::move(now)) {}

std::size_t login_limiter::recent(std::map<std::string, stamps>& m, const std::string& key) {
  auto it = m.find(key);
  if (it == m.end()) return 0;
  const auto cut = now_() - lim_.window;
  while (!it->second.empty() && it->second.front() <= cut) it->second.pop_front();
  if (it->second.empty()) {
    m.erase(it);
    return 0;
  }
  return it->second.size();
}

void login_limiter::add(std::map<std::string, stamps>& m, const std::string& key) {
  if (!m.contains(key) && m.size() >= kRateKeysMax) {
    // Drop the keys whose failures all left the window, else the stalest one.
    const auto cut = now_() - lim_.window;
    std::erase_if(m, [&](const auto& kv) { return kv.second.empty() || kv.second.back() <= cut; });
    if (m.size() >= kRateKeysMax) {
      auto stalest = std::min_element(m.begin(), m.end(), [](const auto& a, const auto& b) {
        return a.second.back() < b.second.back();
      });
      m.erase(stalest);
    }
  }
  auto& s = m[key];
  s.push_back(now_());
  // Only the count inside the window matters; keep no more than can count.
  while (s.size() > std::max(lim_.per_ip, lim_.per_user) + 1) s.pop_front();
}

bool login_limiter::allowed(const std::string& ip, const std::string& user) {
  std::lock_guard lk(mu_);
  return recent(ip_, ip) < lim_.per_ip && recent(user_, user) < lim_.per_user;
}

void login_limiter::failed(const std::string& ip, const std::string& user) {
  std::lock_guard lk(mu_);
  add(ip_, ip);
  add(user_, user);
}

void login_limiter::succeeded(const std::string& ip, const std::string& user) {
  std::lock_guard lk(mu_);
  ip_.erase(ip);
  user_.erase(user);
}

}  // namespace mxg::web
