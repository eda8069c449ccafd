// console.cpp: see console.hpp. The endpoints are listed in docs/console.md.
#include "web/console.hpp"

#include <unistd.h>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "gateway/admin.hpp"
#include "gateway/config.hpp"
#include "gateway/server.hpp"
#include "queue/report.hpp"
#include "store/history.hpp"
#include "web/page.hpp"
#include "web/password.hpp"
#include "web/request.hpp"
#include "web/request_token.hpp"
#include "web/session.hpp"

namespace mxg::web {

using json = nlohmann::json;
using gateway::console_role;
using gateway::console_user;
namespace admin = gateway::admin;

namespace {

inline constexpr std::size_t kBodyShowMax = 256 * 1024;  // message body shown by the API
inline constexpr int kHttpThreads = 4;
inline constexpr std::chrono::seconds kIoWaitMax{60};  // then 503

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void send_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(dump(j), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& msg) {
  send_json(res, status, json{{"error", msg}});
}

std::string when(std::int64_t t) {
  return queue::format_time(queue::time_point(std::chrono::seconds(t)));
}

json opt_time(const std::optional<std::int64_t>& t) {
  return t ? json(*t) : json(nullptr);
}

std::string entry_status(const store::quarantine_entry& e) {
  if (e.released_at) return "released";
  if (e.deleted_at) return e.deleted_by == "expiry" ? "expired" : "deleted";
  return "held";
}

json split_list(const std::string& csv) {
  json out = json::array();
  std::size_t start = 0;
  while (start < csv.size()) {
    auto comma = csv.find(',', start);
    if (comma == std::string::npos) comma = csv.size();
    out.push_back(csv.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

json entry_json(const store::quarantine_entry& e) {
  return json{{"id", e.queue_id},
              {"time", e.time},
              {"time_text", when(e.time)},
              {"check", e.check},
              {"rule", e.rule},
              {"reason", e.reason},
              {"spf_result", e.spf_result},
              {"spf_identity", e.spf_identity},
              {"spf_domain", e.spf_domain},
              {"sender", e.sender},
              {"sender_domain", store::sender_domain(e.sender)},
              {"recipients", split_list(e.recipients)},
              {"subject", e.subject},
              {"client_ip", e.client_ip},
              {"helo", e.helo},
              {"listener", e.listener},
              {"size", e.size},
              {"status", entry_status(e)},
              {"released_at", opt_time(e.released_at)},
              {"released_by", e.released_by},
              {"deleted_at", opt_time(e.deleted_at)},
              {"deleted_by", e.deleted_by}};
}

json record_json(const store::message_record& m) {
  json decisions = json::array();
  for (const auto& d : m.decisions)
    decisions.push_back({{"check", d.check},
                         {"action", d.action},
                         {"rule", d.rule},
                         {"monitor", d.monitor},
                         {"would", d.would},
                         {"reason", d.reason}});
  return json{{"time", m.time},
              {"time_text", when(m.time)},
              {"direction", store::to_string(m.dir)},
              {"queue_id", m.queue_id},
              {"listener", m.listener},
              {"client_ip", m.client_ip},
              {"helo", m.helo},
              {"sender", m.sender},
              {"recipients", m.recipients},
              {"message_id", m.message_id},
              {"subject", m.subject},
              {"decision", m.decision},
              {"reason", m.reason},
              {"rule", m.rule},
              {"reply", m.reply},
              {"spf_result", m.spf_result},
              {"spf_domain", m.spf_domain},
              {"dmarc_result", m.dmarc_result},
              {"header_from", m.header_from},
              {"size", m.size},
              {"decisions", decisions}};
}

json items_json(const std::vector<admin::item_result>& items, int& status) {
  json out = json::array();
  bool all_ok = true;
  for (const auto& i : items) {
    json j{{"id", i.id}, {"ok", i.ok}};
    if (!i.mode.empty()) j["mode"] = i.mode;
    if (!i.pending_host.empty()) j["pending_host"] = i.pending_host;
    if (i.request) j["request"] = i.request;  // filed as a release request (issue 11)
    if (!i.ok) j["error"] = i.error;
    all_ok = all_ok && i.ok;
    out.push_back(std::move(j));
  }
  status = all_ok ? 200 : 409;
  return out;
}

int status_of(const error& e) {
  switch (e.code) {
    case errc::not_found:
      return 404;
    case errc::invalid_argument:
    case errc::parse_error:
      return 400;
    case errc::unsupported:
      return 501;
    case errc::temporary:
      return 503;
    default:
      return 500;
  }
}

// Query parameter `name` ("" when absent), capped.
std::string param(const httplib::Request& req, const char* name) {
  std::string v = req.has_param(name) ? req.get_param_value(name) : "";
  if (v.size() > kFieldMax) v.resize(kFieldMax);
  return v;
}

std::size_t param_count(const httplib::Request& req, const char* name, std::size_t def,
                        std::size_t max) {
  std::string v = param(req, name);
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size()) return def;
  return std::min(n, max);
}

std::int64_t now_s() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// "since" as an age ("7d", "12h", "90m", seconds) before now; `def` when absent or bad.
std::int64_t since_param(const httplib::Request& req, std::int64_t def_age) {
  auto age = parse_age(param(req, "since"));
  return now_s() - (age ? *age : def_age);
}

// "until" as an age before now (entries older than it); nullopt when absent or bad.
std::optional<std::int64_t> until_param(const httplib::Request& req) {
  auto age = parse_age(param(req, "until"));
  if (!age) return std::nullopt;
  return now_s() - *age;
}

// The first-run admin (no [console.users]): its password is read from, or made and
// written to, <state_dir>/console-admin.txt (0600).
result<console_user> first_run_admin(const std::string& state_dir) {
  const std::string path = state_dir + "/" + kFirstRunFile;
  std::string password;
  if (std::ifstream in(path); in) {
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("password: ", 0) == 0) password = line.substr(10);
  }
  if (password.empty()) {
    password = random_password();
    std::string text =
        "# mxguard console first-run admin (no [console.users] configured).\n"
        "# Set users with `mxguard console passwd NAME`, then delete this file.\n"
        "user: admin\npassword: " +
        password + "\n";
    if (auto w = write_secret_file(path, text); !w) return std::unexpected(w.error());
  }
  auto h = hash_password(password);
  if (!h) return std::unexpected(h.error());
  console_user u;
  u.name = "admin";
  u.role = console_role::admin;
  u.password_hash = *h;
  return u;
}

}  // namespace

struct console::impl {
  impl(gateway::server& s, const gateway::console_config& c)
      : srv(s), cfg(c), sessions(c.idle_timeout) {}

  gateway::server& srv;
  gateway::console_config cfg;  // as started (listen and TLS do not reload)
  using user_map = std::map<std::string, console_user>;
  // The users in force: swapped whole by a reload (reload()), read by the handlers.
  std::shared_ptr<const user_map> users() const {
    std::lock_guard lk(users_mu);
    return users_now;
  }
  // [console] approval_domains in force: swapped by a reload like the users.
  std::shared_ptr<const gateway::console_config> approvals() const {
    std::lock_guard lk(users_mu);
    return approvals_now;
  }
  mutable std::mutex users_mu;
  std::shared_ptr<const user_map> users_now = std::make_shared<const user_map>();
  std::shared_ptr<const gateway::console_config> approvals_now =
      std::make_shared<const gateway::console_config>(cfg);
  session_store sessions;
  login_limiter limiter;
  login_limiter link_limiter;  // issue 11: bad release-request link tokens
  std::string request_key;     // issue 11: <state_dir>/console-request.key
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> listen_returned{false};
  bool tls = false;
  std::string url;

  struct who {
    session s;
    const console_user* u = nullptr;
    std::shared_ptr<const user_map> map;  // keeps *u alive across a reload
  };

  // Runs the awaitable that f() returns on the io thread and waits for its value;
  // nullopt when the console stops meanwhile (the io thread may be gone) or after
  // kIoWaitMax.
  template <typename F>
  auto on_io(F f) -> std::optional<typename std::invoke_result_t<F&>::value_type> {
    using T = typename std::invoke_result_t<F&>::value_type;
    std::future<T> fut = asio::co_spawn(srv.io(), std::move(f), asio::use_future);
    // A stuck operation (a history writer behind a dead disk) must not hold a console
    // thread for ever: after kIoWaitMax the request is answered 503; the operation
    // still completes on the io thread (it owns copies of everything it uses).
    const auto give_up = std::chrono::steady_clock::now() + kIoWaitMax;
    while (fut.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready)
      if (stopping || std::chrono::steady_clock::now() > give_up) return std::nullopt;
    return fut.get();
  }

  // The signed-in user of the request, or nullopt with the answer sent (401, 403).
  std::optional<who> auth(const httplib::Request& req, httplib::Response& res,
                          bool admin_only = false) {
    auto id = cookie_value(req.get_header_value("Cookie"), kSessionCookie);
    std::optional<session> s = id ? sessions.find(*id) : std::nullopt;
    if (!s) {
      send_error(res, 401, "sign in first");
      return std::nullopt;
    }
    auto map = users();
    auto it = map->find(s->user);
    if (it == map->end()) {
      sessions.erase(s->id);
      send_error(res, 401, "sign in first");
      return std::nullopt;
    }
    if (!csrf_ok(req.method, req.get_header_value(kCsrfHeader), s->csrf)) {
      spdlog::warn("console csrf refused user={} ip={} {} {}", s->user, req.remote_addr, req.method,
                   req.path);
      send_error(res, 403, "missing or wrong CSRF token (X-CSRF-Token)");
      return std::nullopt;
    }
    if (admin_only && it->second.role != console_role::admin) {
      send_error(res, 403, "for admin users only");
      return std::nullopt;
    }
    return who{*s, &it->second, map};
  }

  // What a user may see of the quarantine (empty: everything).
  static admin::visibility visibility_of(const console_user& u) {
    if (u.role == console_role::admin) return {};
    return [domains = u.domains](const store::quarantine_entry& e) {
      return visible_to(domains, e.recipients);
    };
  }

  std::string by(const who& w) const { return "console:" + w.u->name; }

  // A browser-session cookie: the server ends idle sessions (a Max-Age fixed at login
  // would end an active one); logout sends Max-Age=0 to drop it at once.
  std::string cookie(const std::string& value, bool drop = false) const {
    return std::string(kSessionCookie) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict" +
           (drop ? "; Max-Age=0" : "") + (tls ? "; Secure" : "");
  }

  json me(const who& w) const {
    return json{{"user", w.u->name},
                {"role", gateway::to_string(w.u->role)},
                {"domains", w.u->domains},
                {"approval_domains", approvals()->approval_domains},
                {"csrf", w.s.csrf}};
  }

  void routes();
  void quarantine_routes();
  void admin_routes();
  void insight_routes();    // /api/policy, /api/backscatter
  void exception_routes();  // issue 11: "release and allow", policy exceptions
  void request_routes();    // issue 11: release requests, the recipient's link
  // The helpdesk release: through approval where [console] approval_domains says so.
  admin::approval_rule approval_of(const console_user& u) const {
    auto c = approvals();
    if (u.role == console_role::admin || c->approval_domains.empty()) return {};
    return [c](const store::quarantine_entry& e) { return c->needs_approval(e.recipients); };
  }
};

void console::impl::routes() {
  auto& h = *http;
  h.set_default_headers({{"Content-Security-Policy",
                          "default-src 'self'; img-src 'self'; object-src 'none'; "
                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
                         {"X-Content-Type-Options", "nosniff"},
                         {"X-Frame-Options", "DENY"},
                         {"Referrer-Policy", "no-referrer"},
                         {"Cache-Control", "no-store"}});
  h.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("console {} {}: {}", req.method, req.path, what);
        send_error(res, 500, "internal error");
      });

  for (const asset& a : assets())  // the page and its files (page.hpp)
    h.Get(std::string(a.path), [a](const httplib::Request&, httplib::Response& res) {
      res.set_content(a.data.data(), a.data.size(), std::string(a.type).c_str());
    });

  h.Post("/api/login", [this](const httplib::Request& req, httplib::Response& res) {
    auto l = parse_login(req.body);
    if (!l) return send_error(res, 400, l.error().message);
    const std::string& ip = req.remote_addr;
    if (!limiter.allowed(ip, l->user)) {
      spdlog::warn("console login rate-limited user={} ip={}", l->user, ip);
      res.set_header("Retry-After", "900");
      return send_error(res, 429, "too many failed logins: try again later");
    }
    auto map = users();
    auto it = map->find(l->user);
    bool ok = false;
    if (it == map->end())
      verify_dummy(l->password);
    else
      ok = verify_password(it->second.password_hash, l->password);
    if (!ok) {
      limiter.failed(ip, l->user);
      spdlog::warn("console login failed user={} ip={}", l->user, ip);
      return send_error(res, 401, "wrong user or password");
    }
    limiter.succeeded(ip, l->user);
    session s = sessions.create(l->user);
    spdlog::info("console login user={} role={} ip={}", l->user,
                 gateway::to_string(it->second.role), ip);
    res.set_header("Set-Cookie", cookie(s.id));
    send_json(res, 200, me(who{s, &it->second, map}));
  });

  h.Post("/api/logout", [this](const httplib::Request& req, httplib::Response& res) {
    auto w = auth(req, res);
    if (!w) return;
    sessions.erase(w->s.id);
    spdlog::info("console logout user={} ip={}", w->u->name, req.remote_addr);
    res.set_header("Set-Cookie", cookie("", true));
    send_json(res, 200, json{{"ok", true}});
  });

  h.Get("/api/me", [this](const httplib::Request& req, httplib::Response& res) {
    if (auto w = auth(req, res)) send_json(res, 200, me(*w));
  });

  quarantine_routes();
  admin_routes();
  insight_routes();
  exception_routes();
  request_routes();
}

void console::impl::quarantine_routes() {
  auto& h = *http;
  gateway::server* s = &srv;

  h.Get("/api/quarantine", [this, s](const httplib::Request& req, httplib::Response& res) {
    auto w = auth(req, res);
    if (!w) return;
    store::quarantine_query q;
    q.domain = address_domain("@" + param(req, "domain"));
    q.check = param(req, "reason");
    q.rule = param(req, "rule");
    q.include_released = q.include_deleted = param(req, "all") == "1";
    if (req.has_param("since")) q.since = since_param(req, 0);
    if (auto u = until_param(req)) q.until = *u;
    q.limit = param_count(req, "limit", 500, admin::kQuarantineListMax);
    const std::string result = param(req, "result"), rcpt = param(req, "recipient");
    admin::visibility user_vis = visibility_of(*w->u);
    admin::visibility vis;
    if (user_vis || !result.empty() || !rcpt.empty())
      vis = [user_vis, result, rcpt](const store::quarantine_entry& e) {
        if (user_vis && !user_vis(e)) return false;
        if (!result.empty() && e.spf_result != result) return false;
        return rcpt.empty() || contains_ci(e.recipients, rcpt);
      };
    auto r = on_io([s, q, vis] { return admin::quarantine_find(*s, q, vis); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    json list = json::array();
    for (const auto& e : **r) list.push_back(entry_json(e));
    send_json(res, 200, json{{"messages", list}, {"count", list.size()}});
  });

  h.Get(R"(/api/quarantine/([A-Za-z0-9]+))",
        [this, s](const httplib::Request& req, httplib::Response& res) {
          auto w = auth(req, res);
          if (!w) return;
          std::string id = req.matches[1];
          auto vis = visibility_of(*w->u);
          auto r = on_io([s, id, vis] { return admin::quarantine_show(*s, id, true, vis); });
          if (!r) return send_error(res, 503, "the gateway is stopping or busy");
          if (!*r) return send_error(res, status_of(r->error()), r->error().message);
          const auto& m = **r;
          json j{{"entry", entry_json(m.entry)}, {"queue", m.queue}};
          j["message"] = m.env ? queue::to_json(*m.env) : json(nullptr);
          if (!m.env) j["message_error"] = m.env.error().message;
          if (m.text) {
            // Text only: the page puts it in textContent, never innerHTML.
            message_parts p = split_message(*m.text, kBodyShowMax);
            j["headers"] = p.headers;
            j["body_text"] = p.body;
            j["body_truncated"] = p.truncated;
          }
          send_json(res, 200, j);
        });

  auto act = [this, s](gateway::quarantine_op op) {
    return [this, s, op](const httplib::Request& req, httplib::Response& res) {
      auto w = auth(req, res);
      if (!w) return;
      std::vector<std::string> ids;
      if (req.method == "DELETE") {
        ids.push_back(req.matches[1]);
      } else {
        auto p = parse_ids(req.body);
        if (!p) return send_error(res, 400, p.error().message);
        ids = std::move(*p);
      }
      auto vis = visibility_of(*w->u);
      std::string who_by = by(*w);
      auto approval = op == gateway::quarantine_op::release ? approval_of(*w->u) : nullptr;
      auto r = on_io([s, op, ids, who_by, vis, approval] {
        if (approval) return admin::release_or_request(*s, ids, who_by, "console", vis, approval);
        return admin::quarantine_act(*s, op, ids, who_by, "console", vis);
      });
      if (!r) return send_error(res, 503, "the gateway is stopping or busy");
      if (!*r) return send_error(res, status_of(r->error()), r->error().message);
      int status = 200;
      json items = items_json(**r, status);
      send_json(res, status, json{{"results", items}});
    };
  };
  h.Post("/api/quarantine/release", act(gateway::quarantine_op::release));
  h.Post("/api/quarantine/delete", act(gateway::quarantine_op::remove));
  h.Delete(R"(/api/quarantine/([A-Za-z0-9]+))", act(gateway::quarantine_op::remove));

  h.Post("/api/quarantine/release-domain",
         [this, s](const httplib::Request& req, httplib::Response& res) {
           auto w = auth(req, res);
           if (!w) return;
           auto d = parse_field(req.body, "domain", 255);
           if (!d) return send_error(res, 400, d.error().message);
           std::string domain = address_domain("@" + *d);
           if (domain.empty()) return send_error(res, 400, "domain: a sender domain is needed");
           auto vis = visibility_of(*w->u);
           std::string who_by = by(*w);
           auto approval = approval_of(*w->u);
           using R = result<std::vector<admin::item_result>>;
           auto r = on_io([s, domain, vis, who_by, approval]() -> asio::awaitable<R> {
             store::quarantine_query q;
             q.domain = domain;
             auto found = co_await admin::quarantine_find(*s, q, vis);
             if (!found) co_return std::unexpected(found.error());
             std::vector<std::string> ids;
             for (const auto& e : *found) ids.push_back(e.queue_id);
             if (ids.empty()) co_return std::vector<admin::item_result>{};
             if (approval) {
               auto asking =
                   admin::release_or_request(*s, std::move(ids), who_by, "console", vis, approval);
               co_return co_await std::move(asking);
             }
             auto acted = co_await admin::quarantine_act(*s, gateway::quarantine_op::release,
                                                         std::move(ids), who_by, "console", vis);
             co_return acted;
           });
           if (!r) return send_error(res, 503, "the gateway is stopping or busy");
           if (!*r) return send_error(res, status_of(r->error()), r->error().message);
           int status = 200;
           json items = items_json(**r, status);
           send_json(res, status, json{{"domain", domain}, {"results", items}});
         });
}

void console::impl::admin_routes() {
  auto& h = *http;
  gateway::server* s = &srv;

  h.Get("/api/status", [this, s](const httplib::Request& req, httplib::Response& res) {
    if (!auth(req, res, true)) return;
    auto r = on_io([s]() -> asio::awaitable<json> { co_return admin::to_json(admin::status(*s)); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    send_json(res, 200, *r);
  });

  h.Get("/api/history", [this, s](const httplib::Request& req, httplib::Response& res) {
    if (!auth(req, res, true)) return;
    admin::history_filter f;
    f.since = since_param(req, 7 * 86400);
    if (auto u = until_param(req)) f.until = *u;
    f.sender = param(req, "sender");
    f.recipient = param(req, "recipient");
    f.client_ip = param(req, "client_ip");
    f.queue_id = param(req, "queue_id");
    f.result = param(req, "result");
    f.limit = param_count(req, "limit", 200, admin::kHistorySearchMax);
    auto r = on_io([s, f] { return admin::history_search(*s, f); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    json list = json::array();
    for (const auto& m : **r) list.push_back(record_json(m));
    send_json(res, 200, json{{"messages", list}, {"count", list.size()}});
  });

  h.Get("/api/dashboard", [this, s](const httplib::Request& req, httplib::Response& res) {
    if (!auth(req, res, true)) return;
    std::size_t hours = param_count(req, "hours", 24, 24 * 31);
    auto r = on_io([s, hours] { return admin::dashboard(*s, hours); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    const auto& d = **r;
    send_json(res, 200,
              json{{"start", d.start},
                   {"hours", d.hours},
                   {"series", d.series},
                   {"quarantine_open", d.quarantine_open}});
  });

  h.Post("/api/policy/simulate", [this, s](const httplib::Request& req, httplib::Response& res) {
    if (!auth(req, res, true)) return;
    auto cand = parse_field(req.body, "candidate", kCandidateMax);
    if (!cand) return send_error(res, 400, cand.error().message);
    if (cand->empty()) return send_error(res, 400, "candidate: paste an [spf] section");
    auto since_text = parse_field(req.body, "since", 32);
    auto age = parse_age(since_text ? *since_text : "");
    std::int64_t since = now_s() - (age ? *age : 30 * 86400);
    std::string c = *cand;
    // {"no_exceptions": true}: the raw rules, without the policy exceptions.
    const json body = json::parse(req.body, nullptr, false);
    const bool exc = !(body.is_object() && body.contains("no_exceptions") &&
                       body["no_exceptions"].is_boolean() && body["no_exceptions"].get<bool>());
    auto r = on_io([s, c, since, exc] { return admin::simulate_spf(*s, c, since, exc); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    const auto& sim = **r;
    json domains = json::array();
    for (const auto& d : sim.domains)
      domains.push_back({{"domain", d.domain},
                         {"messages", d.messages},
                         {"from", d.from},
                         {"to", d.to},
                         {"released", d.released}});
    send_json(res, 200,
              json{{"since", since},
                   {"records", sim.records},
                   {"skipped", sim.skipped},
                   {"trusted", sim.trusted},
                   {"would_reject", sim.would_reject},
                   {"would_reject_released", sim.would_reject_released},
                   {"transitions", sim.transitions},
                   {"excepted", sim.excepted},
                   {"exceptions_applied", exc},
                   {"domains", domains}});
  });

  h.Post("/api/spf/lint", [this, s](const httplib::Request& req, httplib::Response& res) {
    if (!auth(req, res, true)) return;
    auto d = parse_field(req.body, "domain", 255);
    auto rec = parse_field(req.body, "record", kFieldMax);
    if (!d || !rec) return send_error(res, 400, (!d ? d : rec).error().message);
    std::string domain = *d, record = *rec;
    auto r = on_io([s, domain, record] { return admin::spf_lint(*s, domain, record); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    send_json(res, 200, json{{"report", **r}});
  });

  h.Get("/api/queue", [this, s](const httplib::Request& req, httplib::Response& res) {
    if (!auth(req, res, true)) return;
    std::string which = param(req, "queue");
    std::size_t limit = param_count(req, "limit", 500, admin::kQueueListMax);
    auto r = on_io([s, which, limit] { return admin::queue_list(*s, which, limit); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    send_json(res, 200, queue::to_json(**r));  // {"messages": [...], "count": N}
  });

  auto queue_act = [this, s](admin::queue_op op) {
    return [this, s, op](const httplib::Request& req, httplib::Response& res) {
      auto w = auth(req, res, true);
      if (!w) return;
      auto ids = parse_ids(req.body);
      if (!ids) return send_error(res, 400, ids.error().message);
      std::string which = param(req, "queue"), who_by = by(*w);
      std::vector<std::string> v = std::move(*ids);
      using R = result<std::vector<admin::item_result>>;
      auto r = on_io([s, op, v, which, who_by]() -> asio::awaitable<R> {
        co_return admin::queue_act(*s, op, v, which, who_by, "console");
      });
      if (!r) return send_error(res, 503, "the gateway is stopping or busy");
      if (!*r) return send_error(res, status_of(r->error()), r->error().message);
      int status = 200;
      json items = items_json(**r, status);
      send_json(res, status, json{{"results", items}});
    };
  };
  h.Post("/api/queue/hold", queue_act(admin::queue_op::hold));
  h.Post("/api/queue/release", queue_act(admin::queue_op::release));
  h.Post("/api/queue/delete", queue_act(admin::queue_op::remove));

  h.Post("/api/queue/run", [this, s](const httplib::Request& req, httplib::Response& res) {
    if (!auth(req, res, true)) return;
    auto ids = parse_ids(req.body.empty() ? std::string_view("{}") : req.body, true);
    if (!ids) return send_error(res, 400, ids.error().message);
    std::string which = param(req, "queue");
    std::vector<std::string> v = std::move(*ids);
    auto r = on_io([s, which, v] { return admin::queue_run(*s, which, v); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    send_json(res, 200, json{{"summary", **r}});
  });
}

// The rules in force and the backscatter sources (issue 11 section 3, admin only).
void console::impl::insight_routes() {
  auto& h = *http;
  gateway::server* s = &srv;

  h.Get("/api/policy", [this, s](const httplib::Request& req, httplib::Response& res) {
    if (!auth(req, res, true)) return;
    auto r = on_io(
        [s]() -> asio::awaitable<json> { co_return admin::to_json(admin::policy_in_force(*s)); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    send_json(res, 200, *r);
  });

  h.Get("/api/backscatter", [this, s](const httplib::Request& req, httplib::Response& res) {
    if (!auth(req, res, true)) return;
    std::int64_t since = since_param(req, 7 * 86400);
    auto r = on_io([s, since]() -> asio::awaitable<result<json>> {
      auto rep = co_await admin::backscatter_sources(*s, since);
      if (!rep) co_return std::unexpected(rep.error());
      co_return admin::to_json(*rep);
    });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    send_json(res, 200, **r);
  });
}

console::console(std::unique_ptr<impl> p) : p_(std::move(p)) {}

console::~console() {
  stop();
}

const std::string& console::url() const {
  return p_->url;
}

void console::stop() {
  if (!p_ || !p_->http) return;
  p_->stopping = true;
  p_->http->stop();
  if (p_->thread.joinable()) p_->thread.join();
}

namespace {

// The users of [console.users], or the first-run admin when there is none.
result<console::impl::user_map> users_of(const gateway::console_config& cfg,
                                         const std::string& state_dir) {
  console::impl::user_map m;
  for (const auto& u : cfg.users) m[u.name] = u;
  if (m.empty()) {
    auto u = first_run_admin(state_dir);
    if (!u) return fail(errc::io_error, "console first-run admin: " + u.error().message);
    m[u->name] = *u;
    spdlog::warn("console: no [console.users]; first-run user admin, password in {}/{}", state_dir,
                 kFirstRunFile);
  }
  return m;
}

}  // namespace

void console::reload(const gateway::console_config& cfg, const std::string& state_dir) {
  impl& p = *p_;
  if (cfg.listen != p.cfg.listen)
    spdlog::warn("reload: [console] listen changed ({} -> {}); restart to move the console",
                 p.cfg.listen, cfg.listen.empty() ? "off" : cfg.listen);
  if (cfg.tls_cert != p.cfg.tls_cert || cfg.tls_key != p.cfg.tls_key)
    spdlog::warn("reload: [console] tls_cert/tls_key changed; restart to use them");
  auto users = users_of(cfg, state_dir);
  if (!users) {
    spdlog::error("reload: [console] users not changed: {}", users.error().message);
    return;
  }
  auto next = std::make_shared<const impl::user_map>(std::move(*users));
  std::shared_ptr<const impl::user_map> before;
  auto approvals = std::make_shared<const gateway::console_config>(cfg);
  {
    std::lock_guard lk(p.users_mu);
    before = std::exchange(p.users_now, next);
    p.approvals_now = std::move(approvals);
  }
  // A removed user, or one whose password changed, is signed out at once; a role or
  // domains change applies to its next request (auth() reads the users in force).
  std::size_t added = 0, removed = 0, changed = 0;
  for (const auto& [name, u] : *before) {
    auto it = next->find(name);
    if (it != next->end() && it->second.password_hash == u.password_hash) {
      if (it->second.role != u.role || it->second.domains != u.domains) ++changed;
      continue;
    }
    std::size_t ended = p.sessions.erase_user(name);
    ++(it == next->end() ? removed : changed);
    spdlog::info("console user {} user={} sessions_ended={}",
                 it == next->end() ? "removed" : "password changed", name, ended);
  }
  for (const auto& [name, u] : *next) added += before->contains(name) ? 0 : 1;
  p.sessions.set_idle(cfg.idle_timeout);
  spdlog::info("console reloaded users={} added={} removed={} changed={}", next->size(), added,
               removed, changed);
}

result<std::unique_ptr<console>> console::start(gateway::server& srv,
                                                const gateway::console_config& cfg,
                                                const std::string& state_dir) {
  auto ep = gateway::parse_endpoint(cfg.listen);
  if (!ep) return fail(errc::invalid_argument, "console.listen: " + ep.error().message);
  auto p = std::make_unique<impl>(srv, cfg);
  auto key = load_or_create_request_key(state_dir);
  if (!key) return fail(errc::io_error, "console: " + key.error().message);
  p->request_key = *key;
  auto users = users_of(cfg, state_dir);
  if (!users) return std::unexpected(users.error());
  p->users_now = std::make_shared<const impl::user_map>(std::move(*users));
  if (!cfg.tls_cert.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(cfg.tls_cert.c_str(), cfg.tls_key.c_str());
    if (!tls->is_valid())
      return fail(errc::invalid_argument,
                  "console: cannot use tls_cert " + cfg.tls_cert + " / tls_key " + cfg.tls_key);
    p->http = std::move(tls);
    p->tls = true;
  } else {
    p->http = std::make_unique<httplib::Server>();
  }
  p->http->new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  p->http->set_payload_max_length(kBodyMax);
  p->http->set_read_timeout(10, 0);
  p->http->set_write_timeout(10, 0);
  p->routes();
  const std::string host = ep->first.to_string();
  if (!p->http->bind_to_port(host, ep->second))
    return fail(errc::io_error,
                "console: cannot listen on " + cfg.listen + ": " + std::strerror(errno));
  const bool v6 = host.find(':') != std::string::npos;
  p->url = std::string(p->tls ? "https" : "http") + "://" + (v6 ? "[" + host + "]" : host) + ":" +
           std::to_string(ep->second);
  impl* raw = p.get();
  p->thread = std::thread([raw] {
    raw->http->listen_after_bind();
    raw->listen_returned = true;
  });
  // stop() only stops a server that runs: wait until the thread got there (the socket
  // is bound already, so this is a thread start, not a network wait).
  while (!p->http->is_running() && !p->listen_returned) std::this_thread::yield();
  spdlog::info("console listening on {}", p->url);
  return std::unique_ptr<console>(new console(std::move(p)));
}

}  // namespace mxg::web

namespace mxg::web {

// Issue 11: "release and allow" and the policy exceptions (admin only: an exception
// changes the policy for every recipient, not only a helpdesk user's domains).
void console::impl::exception_routes() {
  auto& h = *http;
  gateway::server* s = &srv;
  auto exception_json = [](const store::policy_exception& e) {
    json j{{"id", e.id},
           {"scope", e.kind},
           {"sender", e.sender},
           {"domain", e.domain},
           {"net", e.net},
           {"created_by", e.created_by},
           {"created_at", e.created_at},
           {"created_text", when(e.created_at)},
           {"expires_at", e.expires_at ? json(*e.expires_at) : json(nullptr)},
           {"expired", policy::expired(e, now_s())},
           {"note", e.note},
           {"queue_id", e.queue_id}};
    return j;
  };
  h.Get("/api/exceptions",
        [this, s, exception_json](const httplib::Request& req, httplib::Response& res) {
          if (!auth(req, res, true)) return;
          auto r = on_io([s] { return admin::exceptions_list(*s, false); });
          if (!r) return send_error(res, 503, "the gateway is stopping or busy");
          if (!*r) return send_error(res, status_of(r->error()), r->error().message);
          json list = json::array();
          for (const auto& e : **r) list.push_back(exception_json(e));
          send_json(res, 200, json{{"exceptions", list}, {"count", list.size()}});
        });
  h.Delete(R"(/api/exceptions/([0-9]{1,18}))", [this, s](const httplib::Request& req,
                                                         httplib::Response& res) {
    auto w = auth(req, res, true);
    if (!w) return;
    std::int64_t id = std::stoll(req.matches[1]);
    std::string who_by = by(*w);
    auto r = on_io([s, id, who_by] { return admin::exception_delete(*s, id, who_by, "console"); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    send_json(res, 200, json{{"id", id}, {"deleted", true}});
  });
  h.Post("/api/quarantine/release-allow", [this, s, exception_json](const httplib::Request& req,
                                                                    httplib::Response& res) {
    auto w = auth(req, res, true);
    if (!w) return;
    auto id = parse_field(req.body, "id", 64);
    auto scope = parse_field(req.body, "scope", 32);
    auto net = parse_field(req.body, "net", 64);
    auto note = parse_field(req.body, "note", 500);
    auto expires = parse_field(req.body, "expires", 32);  // "30d" (default), "never"
    for (const auto* f : {&id, &scope, &net, &note, &expires})
      if (!*f) return send_error(res, 400, f->error().message);
    if (*scope != "sender" && *scope != "domain_net")
      return send_error(res, 400, "scope: \"sender\" or \"domain_net\"");
    std::optional<std::int64_t> until;
    if (*expires != "never") {
      auto age = expires->empty() ? std::optional<std::int64_t>(policy::kDefaultExpiry)
                                  : parse_age(*expires);
      if (!age || *age <= 0 || *age > policy::kMaxExpiry)
        return send_error(res, 400, "expires: a duration (30d, 12h) up to 3650d, or \"never\"");
      until = now_s() + *age;
    }
    std::string who_by = by(*w), i = *id, sc = *scope, n = *net, no = *note;
    auto r = on_io([s, i, sc, n, no, until, who_by] {
      return admin::release_allow(*s, i, sc, n, no, until, who_by, "console");
    });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    int status = 200;
    json items = items_json({(*r)->release}, status);
    json j{{"results", items}};
    j["exception"] = (*r)->exception ? exception_json(*(*r)->exception) : json(nullptr);
    send_json(res, status, j);
  });
}

}  // namespace mxg::web

namespace mxg::web {

namespace {

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters (a folded subject's CR LF included) are shown as a space.
        out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
    }
  }
  return out;
}

// The recipient's page: the console's stylesheet, no script, only the given body.
std::string request_page(const std::string& title, const std::string& body) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         html_escape(title) +
         "</title><link rel=\"stylesheet\" href=\"/console.css\"></head>"
         "<body class=\"request-page\"><main><h1>" +
         html_escape(title) + "</h1>\n" + body + "\n</main></body></html>\n";
}

json request_json(const admin::request_info& r) {
  const auto& q = r.req;
  return json{{"id", q.id},
              {"queue_id", q.queue_id},
              {"host", q.host},
              {"requested_by", q.requested_by},
              {"requested_at", q.requested_at},
              {"requested_text", when(q.requested_at)},
              {"comment", q.comment},
              {"state", q.state},
              {"decided_by", q.decided_by},
              {"decided_at", opt_time(q.decided_at)},
              {"note", q.note},
              {"message", r.entry ? entry_json(*r.entry) : json(nullptr)}};
}

std::optional<std::int64_t> request_id(const std::string& text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

}  // namespace

// Issue 11: release requests. The JSON API (signed in) and the recipient's link page
// (no sign-in: the HMAC token of the digest's link is the only capability).
void console::impl::request_routes() {
  auto& h = *http;
  gateway::server* s = &srv;

  // The requests: an admin sees all, a helpdesk user the ones it filed.
  h.Get("/api/requests", [this, s](const httplib::Request& req, httplib::Response& res) {
    auto w = auth(req, res);
    if (!w) return;
    std::string state = param(req, "state");
    if (state == "all") state.clear();
    if (!state.empty() && state != "pending" && state != "approved" && state != "denied" &&
        state != "cancelled")
      return send_error(res, 400, "state: pending, approved, denied, cancelled or all");
    std::size_t limit = param_count(req, "limit", 200, admin::kRequestListMax);
    auto r = on_io([s, state, limit] { return admin::requests_list(*s, state, limit); });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    const bool is_admin = w->u->role == console_role::admin;
    const std::string mine = by(*w);
    json list = json::array();
    for (const auto& x : **r)
      if (is_admin || x.req.requested_by == mine) list.push_back(request_json(x));
    send_json(res, 200, json{{"requests", list}, {"count", list.size()}});
  });

  // Files requests explicitly (any signed-in user, for what it sees).
  h.Post("/api/requests", [this, s](const httplib::Request& req, httplib::Response& res) {
    auto w = auth(req, res);
    if (!w) return;
    auto ids = parse_ids(req.body);
    if (!ids) return send_error(res, 400, ids.error().message);
    auto comment = parse_field(req.body, "comment", 500);
    if (!comment) return send_error(res, 400, comment.error().message);
    auto vis = visibility_of(*w->u);
    std::string who_by = by(*w), c = *comment;
    std::vector<std::string> v = std::move(*ids);
    auto r = on_io([s, v, who_by, c, vis] {
      return admin::request_release(*s, v, who_by, c, "console", vis);
    });
    if (!r) return send_error(res, 503, "the gateway is stopping or busy");
    if (!*r) return send_error(res, status_of(r->error()), r->error().message);
    int status = 200;
    json items = items_json(**r, status);
    send_json(res, status, json{{"results", items}});
  });

  auto decide = [this, s](bool approve) {
    return [this, s, approve](const httplib::Request& req, httplib::Response& res) {
      auto w = auth(req, res, true);
      if (!w) return;
      auto id = request_id(req.matches[1]);
      if (!id) return send_error(res, 404, "no such request");
      auto note = parse_field(req.body.empty() ? std::string_view("{}") : req.body, "note", 500);
      if (!note) return send_error(res, 400, note.error().message);
      std::string who_by = by(*w), n = *note;
      std::int64_t i = *id;
      auto r = on_io([s, i, who_by, n, approve] {
        return approve ? admin::request_approve(*s, i, who_by, "console")
                       : admin::request_deny(*s, i, who_by, n, "console");
      });
      if (!r) return send_error(res, 503, "the gateway is stopping or busy");
      if (!*r) return send_error(res, status_of(r->error()), r->error().message);
      const auto& d = **r;
      json j{{"ok", d.ok}, {"request", request_json({d.req, std::nullopt})}};
      if (!d.ok) j["error"] = d.error;
      if (!d.release.id.empty()) {
        int ignored = 200;
        j["release"] = items_json({d.release}, ignored).front();
      }
      send_json(res, d.ok ? 200 : 409, j);
    };
  };
  h.Post(R"(/api/requests/([0-9]{1,18})/approve)", decide(true));
  h.Post(R"(/api/requests/([0-9]{1,18})/deny)", decide(false));

  // The recipient's link (docs/console.md "Release requests"): GET shows the one
  // message's sender, subject and date with a form; POST files the request.
  auto link = [this, s](bool file) {
    return [this, s, file](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.matches[1];
      std::string rcpt = req.has_param("rcpt") ? req.get_param_value("rcpt") : "";
      std::string token = req.has_param("t") ? req.get_param_value("t") : "";
      const std::string& ip = req.remote_addr;
      auto page = [&res](int status, const std::string& title, const std::string& body) {
        res.status = status;
        res.set_content(request_page(title, body), "text/html; charset=utf-8");
      };
      if (!link_limiter.allowed(ip, "link:" + id)) {
        spdlog::warn("console request link rate-limited qid={} ip={}", id, ip);
        res.set_header("Retry-After", "900");
        return page(429, "Too many attempts", "<p>Too many wrong links: try again later.</p>");
      }
      if (!request_token_ok(request_key, id, rcpt, token)) {
        link_limiter.failed(ip, "link:" + id);
        spdlog::warn("console request link refused qid={} ip={}", id, ip);
        return page(403, "Link not valid",
                    "<p>This link is not valid. Use the link of your quarantine digest as it "
                    "came.</p>");
      }
      for (auto& c : rcpt) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      admin::visibility vis = [rcpt](const store::quarantine_entry& e) {
        return is_recipient(e.recipients, rcpt);
      };
      if (!file) {
        auto r = on_io([s, id, vis] { return admin::quarantine_show(*s, id, false, vis); });
        if (!r) return page(503, "Try again", "<p>The server is busy: try again later.</p>");
        if (!*r)
          return page((*r).error().code == errc::not_found ? 404 : 503, "Not found",
                      "<p>This message is not in the quarantine (any more).</p>");
        const auto& e = (*r)->entry;
        std::string body = "<p>A message to <b>" + html_escape(rcpt) +
                           "</b> is held in quarantine.</p>\n<dl class=\"request-message\">"
                           "<dt>From</dt><dd>" +
                           html_escape(e.sender.empty() ? "<>" : e.sender) +
                           "</dd><dt>Subject</dt><dd>" + html_escape(e.subject) +
                           "</dd><dt>Date</dt><dd>" + html_escape(when(e.time)) + "</dd></dl>\n";
        if (e.released_at || e.deleted_at) {
          body += "<p>It is no longer held (" + html_escape(entry_status(e)) + ").</p>";
          return page(200, "Release request", body);
        }
        body += "<form method=\"post\" action=\"/request/" + html_escape(id) +
                "\"><input type=\"hidden\" name=\"rcpt\" value=\"" + html_escape(rcpt) +
                "\"><input type=\"hidden\" name=\"t\" value=\"" + html_escape(token) +
                "\"><label>Why you need it (optional)<br><textarea name=\"comment\" "
                "maxlength=\"500\" rows=\"3\"></textarea></label><p><button type=\"submit\">"
                "Ask for release</button></p></form>\n<p>An administrator decides; if the "
                "release is approved, the message is delivered to you.</p>";
        return page(200, "Release request", body);
      }
      std::string comment = req.has_param("comment") ? req.get_param_value("comment") : "";
      if (comment.size() > 500) comment.resize(500);
      std::vector<std::string> ids{id};
      const std::string who_by = "recipient:" + rcpt;
      auto r = on_io([s, ids, who_by, comment, vis] {
        return admin::request_release(*s, ids, who_by, comment, "request-link", vis);
      });
      if (!r || !*r) return page(503, "Try again", "<p>The server is busy: try again later.</p>");
      const auto& items = **r;
      if (items.empty() || !items.front().ok)
        return page(409, "Not filed",
                    "<p>No request was filed: " +
                        html_escape(items.empty() ? "no result" : items.front().error) + "</p>");
      return page(200, "Request filed",
                  "<p>Your request (number " + std::to_string(items.front().request) +
                      ") is filed. An administrator decides; if the release is approved, the "
                      "message is delivered to you.</p>");
    };
  };
  h.Get(R"(/request/([A-Za-z0-9]{1,64}))", link(false));
  h.Post(R"(/request/([A-Za-z0-9]{1,64}))", link(true));
}

}  // namespace mxg::web
