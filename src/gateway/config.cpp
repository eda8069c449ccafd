// config.cpp: TOML -> gateway::config with complete validation.
// Every problem is collected (not only the first) as `FILE:LINE: message`; unknown
// keys are errors so that a typo cannot silently leave a default in place.
// Security: the file is trusted (written by the administrator), but values are still
// range-checked so that a limit of 0 cannot disable a protection by accident.
#include "gateway/config.hpp"

#include <unistd.h>

#define TOML_EXCEPTIONS 1
#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <set>

#include "base/ascii.hpp"
#include "base/limits.hpp"
#include "dns/cares_resolver.hpp"
#include "gateway/console_config_toml.hpp"
#include "policy/dmarc_config.hpp"
#include "policy/dnsbl_config.hpp"
#include "policy/spf_config.hpp"
#include "smtp/path.hpp"

namespace mxg::gateway {

std::string listener_config::endpoint() const {
  if (address.is_v6()) return fmt::format("[{}]:{}", address.to_string(), port);
  return fmt::format("{}:{}", address.to_string(), port);
}

result<std::pair<net::ip_address, std::uint16_t>> parse_endpoint(std::string_view s) {
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return fail(errc::parse_error, fmt::format("'{}': expected [IPv6]:PORT", s));
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos)
      return fail(errc::parse_error, fmt::format("'{}': expected ADDRESS:PORT", s));
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fail(errc::parse_error,
                  fmt::format("'{}': write an IPv6 address in brackets: [::1]:25", s));
  }
  auto ip = net::ip_address::parse(host);
  if (!ip) return fail(errc::parse_error, fmt::format("'{}': not an IP address", host));
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || ptr != port.data() + port.size() || p > 65535 || port.empty())
    return fail(errc::parse_error, fmt::format("'{}': port must be 0..65535", port));
  return std::pair{*ip, static_cast<std::uint16_t>(p)};
}

std::string config::where(const std::string& key, const std::string& fallback) const {
  if (auto it = origin.find(key); it != origin.end()) return it->second;
  if (!fallback.empty())
    if (auto it = origin.find(fallback); it != origin.end()) return it->second;
  return source;
}

namespace {

std::string default_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "localhost";
  return buf;
}

// Duration: integer seconds, or a string "500ms", "30s", "5m", "1h".
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || ptr == s.data()) return std::nullopt;
  std::string_view unit(ptr, s.data() + s.size() - ptr);
  std::uint64_t mult = 0;
  if (unit == "ms")
    mult = 1;
  else if (unit == "s" || unit.empty())
    mult = 1000;
  else if (unit == "m")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  else
    return std::nullopt;
  return std::chrono::milliseconds(n * mult);
}

// Size: integer bytes, or a string "64k", "10M", "1G" (powers of 1024; a final B allowed).
std::optional<std::size_t> parse_size(std::string_view s) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || ptr == s.data()) return std::nullopt;
  std::string unit(ptr, s.data() + s.size() - ptr);
  unit = ascii::upper(unit);
  if (unit.size() == 2 && unit[1] == 'B') unit.pop_back();
  std::uint64_t mult = 0;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "K")
    mult = 1024;
  else if (unit == "M")
    mult = 1024 * 1024;
  else if (unit == "G")
    mult = 1024ull * 1024 * 1024;
  else
    return std::nullopt;
  return static_cast<std::size_t>(n * mult);
}

class reader {
 public:
  explicit reader(std::string source) : source_(std::move(source)) {}

  void error(const toml::source_region& where, const std::string& msg) {
    errors_.push_back(fmt::format("{}:{}: {}", source_, where.begin.line, msg));
  }
  void error_at_line(std::size_t line, const std::string& msg) {
    errors_.push_back(fmt::format("{}:{}: {}", source_, line, msg));
  }
  const std::vector<std::string>& errors() const { return errors_; }
  // "FILE:LINE" of t[key] into `origin` (when the key is there).
  void note(const toml::table& t, std::string_view key, std::map<std::string, std::string>& origin,
            const std::string& name) {
    if (const toml::node* n = t.get(key))
      origin[name] = fmt::format("{}:{}", source_, n->source().begin.line);
  }

  // Reports every key of `t` that is not in `allowed`.
  void check_keys(const toml::table& t, std::string_view where,
                  const std::vector<std::string_view>& allowed) {
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        error(k.source(), fmt::format("unknown key '{}' in {} (known: {})", k.str(), where, list));
      }
    }
  }

  const toml::table* table(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      error(n->source(), fmt::format("'{}' must be a table", key));
      return nullptr;
    }
    return n->as_table();
  }

  void str(const toml::table& t, std::string_view key, std::string& out) {
    if (const toml::node* n = t.get(key)) {
      if (auto v = n->value<std::string>())
        out = *v;
      else
        error(n->source(), fmt::format("'{}' must be a string", key));
    }
  }

  void boolean(const toml::table& t, std::string_view key, bool& out) {
    if (const toml::node* n = t.get(key)) {
      if (auto v = n->value<bool>())
        out = *v;
      else
        error(n->source(), fmt::format("'{}' must be true or false", key));
    }
  }

  void count(const toml::table& t, std::string_view key, std::size_t& out, std::size_t min,
             std::size_t max) {
    if (const toml::node* n = t.get(key)) {
      auto v = n->value<std::int64_t>();
      if (!v || *v < static_cast<std::int64_t>(min) || static_cast<std::uint64_t>(*v) > max)
        error(n->source(), fmt::format("'{}' must be an integer in {}..{}", key, min, max));
      else
        out = static_cast<std::size_t>(*v);
    }
  }

  void size(const toml::table& t, std::string_view key, std::size_t& out, std::size_t min) {
    if (const toml::node* n = t.get(key)) {
      std::optional<std::size_t> v;
      if (auto i = n->value<std::int64_t>(); i && *i >= 0)
        v = static_cast<std::size_t>(*i);
      else if (auto s = n->value<std::string>())
        v = parse_size(*s);
      if (!v || *v < min)
        error(n->source(),
              fmt::format("'{}' must be a size of at least {} bytes (e.g. 1048576 or \"10M\")", key,
                          min));
      else
        out = *v;
    }
  }

  void duration(const toml::table& t, std::string_view key, std::chrono::milliseconds& out,
                bool zero_ok) {
    if (const toml::node* n = t.get(key)) {
      std::optional<std::chrono::milliseconds> v;
      if (auto i = n->value<std::int64_t>(); i && *i >= 0)
        v = std::chrono::seconds(*i);
      else if (auto s = n->value<std::string>())
        v = parse_duration(*s);
      if (!v || (!zero_ok && v->count() == 0))
        error(n->source(),
              fmt::format("'{}' must be a duration such as 30 (seconds), \"500ms\", \"5m\"{}", key,
                          zero_ok ? "" : " (not zero)"));
      else
        out = *v;
    }
  }

  std::vector<std::string> str_list(const toml::table& t, std::string_view key) {
    std::vector<std::string> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a) {
      error(n->source(), fmt::format("'{}' must be an array of strings", key));
      return out;
    }
    for (const toml::node& e : *a) {
      if (auto v = e.value<std::string>())
        out.push_back(*v);
      else
        error(e.source(), fmt::format("'{}' must contain only strings", key));
    }
    return out;
  }

  const toml::node* node(const toml::table& t, std::string_view key) { return t.get(key); }

  void raw_error(std::string msg) { errors_.push_back(std::move(msg)); }

  // A retention period: a duration string with days allowed ("30d", "12h", "0" = forever).
  void retention(const toml::table& t, std::string_view key, std::chrono::seconds& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    std::optional<std::chrono::seconds> v;
    if (auto i = n->value<std::int64_t>(); i && *i >= 0) v = std::chrono::seconds(*i);
    if (auto s = n->value<std::string>()) {
      std::string_view sv = *s;
      if (!sv.empty() && sv.back() == 'd') {
        std::uint64_t days = 0;
        auto [p, ec] = std::from_chars(sv.data(), sv.data() + sv.size() - 1, days);
        if (ec == std::errc{} && p == sv.data() + sv.size() - 1 && days <= 36500)
          v = std::chrono::hours(24 * days);
      } else if (auto d = parse_duration(sv)) {
        v = std::chrono::duration_cast<std::chrono::seconds>(*d);
      }
    }
    if (!v)
      error(n->source(), fmt::format("'{}' must be a period such as \"30d\", \"12h\" or 0 "
                                     "(keep forever)",
                                     key));
    else
      out = *v;
  }

  std::vector<net::cidr> cidrs(const toml::table& t, std::string_view key) {
    std::vector<net::cidr> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    for (const auto& s : str_list(t, key)) {
      if (auto c = net::cidr::parse(s))
        out.push_back(*c);
      else
        error(n->source(), fmt::format("{}: '{}' is not a CIDR network", key, s));
    }
    return out;
  }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

const std::vector<std::string_view> kLimitKeys = {
    "line_length", "text_line_length", "message_size",   "recipients",
    "errors",      "sessions_total",   "sessions_per_ip"};
const std::vector<std::string_view> kTimeoutKeys = {"command", "data_block", "data_min_rate",
                                                    "data_total", "greeting_delay"};

void read_limits(reader& r, const toml::table& t, std::string_view where, listener_limits& l) {
  r.check_keys(t, where, kLimitKeys);
  // RFC 5321 4.5.3.1.4/6: these are minimums a server must accept.
  r.size(t, "line_length", l.line_length, limits::kSmtpCommandLineMax);
  r.size(t, "text_line_length", l.text_line_length, limits::kSmtpTextLineMax);
  r.size(t, "message_size", l.message_size, 1024);
  r.count(t, "recipients", l.recipients, 1, 1'000'000);
  r.count(t, "errors", l.errors, 1, 1'000'000);
  r.count(t, "sessions_total", l.sessions_total, 1, 10'000'000);
  r.count(t, "sessions_per_ip", l.sessions_per_ip, 1, 10'000'000);
}

void read_timeouts(reader& r, const toml::table& t, std::string_view where, timeouts& o) {
  r.check_keys(t, where, kTimeoutKeys);
  r.duration(t, "command", o.command, false);
  r.duration(t, "data_block", o.data_block, false);
  r.count(t, "data_min_rate", o.data_min_rate, 0, 1'000'000'000);
  r.duration(t, "data_total", o.data_total, true);
  r.duration(t, "greeting_delay", o.greeting_delay, true);
}

void normalize_domains(std::vector<std::string>& v) {
  for (auto& d : v) {
    std::transform(d.begin(), d.end(), d.begin(), [](char c) { return ascii::to_lower(c); });
    if (!d.empty() && d.back() == '.') d.pop_back();
  }
}

}  // namespace

std::vector<std::string> listener_conflicts(const config& c) {
  // A wildcard listener (0.0.0.0 or ::) takes its port on every address of its family,
  // so a second listener on that port cannot bind (EADDRINUSE once the first listens).
  // [::] listeners are IPv6-only (server.cpp sets IPV6_V6ONLY): no clash with IPv4.
  // Port 0 asks the kernel for a free port: never a clash.
  std::vector<std::string> out;
  auto wildcard = [](const net::ip_address& a) {
    return a.to_string() == "0.0.0.0" || a.to_string() == "::";
  };
  for (std::size_t i = 0; i < c.listeners.size(); ++i) {
    for (std::size_t j = i + 1; j < c.listeners.size(); ++j) {
      const auto& a = c.listeners[i];
      const auto& b = c.listeners[j];
      if (a.port == 0 || a.port != b.port || a.address.is_v6() != b.address.is_v6()) continue;
      const std::string wa = c.where("listener." + a.name + ".address", "listener." + a.name);
      const std::string wb = c.where("listener." + b.name + ".address", "listener." + b.name);
      if (a.address == b.address)
        out.push_back(fmt::format("{}: address {} is used by two listeners ({} and {} at {})", wb,
                                  b.endpoint(), b.name, a.name, wa));
      else if (wildcard(a.address) || wildcard(b.address))
        out.push_back(fmt::format(
            "{}: listener {} on {} and listener {} on {} ({}) share port {}: a wildcard "
            "address takes the port on every address, so the second cannot bind",
            wb, b.name, b.endpoint(), a.name, a.endpoint(), wa, b.port));
    }
  }
  if (!c.policy_service.listen.empty())
    if (auto ep = parse_endpoint(c.policy_service.listen); ep && ep->second != 0)
      for (const auto& l : c.listeners)
        if (l.port == ep->second && l.address.is_v6() == ep->first.is_v6() &&
            (l.address == ep->first || wildcard(l.address) || wildcard(ep->first)))
          out.push_back(fmt::format(
              "{}: policy_service.listen {} clashes with listener {} on {} "
              "({})",
              c.where("policy_service.listen"), c.policy_service.listen, l.name, l.endpoint(),
              c.where("listener." + l.name + ".address", "listener." + l.name)));
  // The web console's listener ([console] listen) against the SMTP listeners.
  if (c.console.enabled())
    if (auto ep = parse_endpoint(c.console.listen); ep && ep->second != 0)
      for (const auto& l : c.listeners)
        if (l.port == ep->second && l.address.is_v6() == ep->first.is_v6() &&
            (l.address == ep->first || wildcard(l.address) || wildcard(ep->first)))
          out.push_back(
              fmt::format("{}: console.listen {} clashes with listener {} on {} ({})",
                          c.where("console.listen"), c.console.listen, l.name, l.endpoint(),
                          c.where("listener." + l.name + ".address", "listener." + l.name)));
  return out;
}

result<config> parse_config(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return fail(errc::parse_error,
                fmt::format("{}:{}: {}", source, e.source().begin.line, e.description()));
  }
  reader r(source);
  config c;
  c.source = source;
  r.check_keys(root, "the top level",
               {"state_dir", "log",      "control_socket", "drain_timeout", "queue_run_interval",
                "relay",     "routing",  "limits",         "timeouts",      "listener",
                "tls",       "hostname", "backscatter",    "history",       "dns",
                "spf",       "dkim",     "dmarc",          "quarantine",    "policy_service",
                "dnsbl",     "console",  "store",          "queue"});
  r.str(root, "state_dir", c.state_dir);
  r.str(root, "control_socket", c.control_socket);
  r.note(root, "state_dir", c.origin, "state_dir");
  r.note(root, "control_socket", c.origin, "control_socket");
  r.duration(root, "drain_timeout", c.drain_timeout, false);
  r.duration(root, "queue_run_interval", c.queue_run_interval, true);
  std::string hostname = default_hostname();
  r.str(root, "hostname", hostname);

  if (auto* t = r.table(root, "log")) {
    r.check_keys(*t, "[log]", {"format", "file", "level"});
    r.str(*t, "format", c.log_format);
    r.str(*t, "file", c.log_file);
    r.str(*t, "level", c.log_level);
    r.note(*t, "file", c.origin, "log.file");
    if (c.log_format != "text" && c.log_format != "json")
      r.error(t->get("format")->source(), "log.format must be \"text\" or \"json\"");
    static const std::set<std::string> levels = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
    if (!levels.contains(c.log_level))
      r.error(t->get("level")->source(),
              "log.level must be one of trace, debug, info, warn, error, critical, off");
  }

  if (auto* t = r.table(root, "relay")) {
    r.check_keys(*t, "[relay]",
                 {"local_domains", "relay_domains", "trusted_networks", "postmaster"});
    if (const toml::node* n = t->get("postmaster")) {
      // RFC 5321 4.5.1: a full mailbox (local@domain) that <Postmaster> is delivered to.
      auto v = n->value<std::string>();
      auto p = v ? smtp::parse_path(*v, smtp::path_kind::forward)
                 : std::expected<smtp::path, smtp::path_error>(std::unexpected(smtp::path_error{}));
      if (!v || !p || p->domain().empty() || p->domain_is_literal())
        r.error(n->source(), "relay.postmaster must be a mailbox \"local@domain\"");
      else
        c.relay.postmaster = p->address();
    }
    c.relay.local_domains = r.str_list(*t, "local_domains");
    c.relay.relay_domains = r.str_list(*t, "relay_domains");
    normalize_domains(c.relay.local_domains);
    normalize_domains(c.relay.relay_domains);
    if (t->get("trusted_networks")) {
      const toml::array* a = t->get("trusted_networks")->as_array();
      for (auto& s : r.str_list(*t, "trusted_networks")) {
        auto n = net::cidr::parse(s);
        if (!n) {
          // find the element for its line
          std::size_t line = t->get("trusted_networks")->source().begin.line;
          if (a)
            for (const toml::node& e : *a)
              if (e.value<std::string>() == s) line = e.source().begin.line;
          r.error_at_line(line, fmt::format("trusted_networks: '{}' is not a CIDR network", s));
        } else {
          c.relay.trusted_networks.push_back(*n);
        }
      }
    }
  } else {
    c.relay.trusted_networks = {*net::cidr::parse("127.0.0.0/8"), *net::cidr::parse("::1/128")};
  }

  if (auto* t = r.table(root, "backscatter")) {
    // Issue 4 section 3: with BATV, bounces (null sender) to our users must carry a valid
    // tag (checked at RCPT); without BATV they are judged after DATA (policy/backscatter.hpp).
    r.check_keys(*t, "[backscatter]",
                 {"enabled", "our_domains", "batv_secret", "batv_old_secrets", "batv_days",
                  "unsigned_bounce", "ndr_backscatter"});
    auto& b = c.backscatter;
    r.boolean(*t, "enabled", b.enabled);
    b.our_domains = r.str_list(*t, "our_domains");
    normalize_domains(b.our_domains);
    if (b.our_domains.empty()) b.our_domains = c.relay.local_domains;
    std::string secret;
    r.str(*t, "batv_secret", secret);
    if (!secret.empty()) {
      policy::batv_config bc;
      bc.secret = secret;
      bc.old_secrets = r.str_list(*t, "batv_old_secrets");
      if (const auto* d = t->get("batv_days")) {
        auto v = d->value<std::int64_t>();
        if (!v || *v < 1 || *v > 365)
          r.error(d->source(), "backscatter.batv_days must be a number of days from 1 to 365");
        else
          bc.validity_days = static_cast<int>(*v);
      }
      b.batv = bc;
    } else if (const auto* o = t->get("batv_old_secrets")) {
      r.error(o->source(), "backscatter.batv_old_secrets needs batv_secret");
    }
    auto action = [&](std::string_view key, bs_action& out) {
      const toml::node* n = t->get(key);
      if (!n) return;
      auto s = n->value<std::string>();
      auto a = s ? bs_action_from_string(*s) : std::nullopt;
      if (!a)
        r.error(n->source(), fmt::format("backscatter.{} must be \"accept\", \"tag\", "
                                         "\"quarantine\" or \"reject\"",
                                         key));
      else
        out = *a;
    };
    action("unsigned_bounce", b.unsigned_bounce);
    action("ndr_backscatter", b.ndr_backscatter);
    if (b.enabled && b.our_domains.empty())
      r.error(t->source(), "[backscatter] needs our_domains or relay.local_domains");
  }

  if (auto* t = r.table(root, "queue")) {
    r.check_keys(*t, "[queue]", {"format"});
    if (const toml::node* f = t->get("format")) {
      auto s = f->value<std::string>();
      auto qf = s ? queue::parse_queue_format(*s)
                  : result<queue::queue_format>(fail(errc::parse_error, "type"));
      if (!qf)
        r.error(f->source(), "[queue] format must be \"split\" or \"single\"");
      else
        c.queue_format = *qf;
    }
  }
  if (auto* t = r.table(root, "history")) {
    r.check_keys(*t, "[history]", {"enabled", "path", "retention"});
    r.boolean(*t, "enabled", c.history.enabled);
    r.str(*t, "path", c.history.path);
    r.note(*t, "path", c.origin, "history.path");
    r.retention(*t, "retention", c.history.retention);
  }

  c.store.host_id = hostname;
  if (auto* t = r.table(root, "store")) {
    r.check_keys(*t, "[store]", {"backend", "dsn", "host_id", "spool_max", "release_poll"});
    r.str(*t, "backend", c.store.backend);
    r.str(*t, "dsn", c.store.dsn);
    r.str(*t, "host_id", c.store.host_id);
    r.count(*t, "spool_max", c.store.spool_max, 0, 100'000'000);
    r.duration(*t, "release_poll", c.store.release_poll, false);
    if (c.store.backend != "sqlite" && c.store.backend != "postgresql")
      r.error(t->get("backend")->source(), "store.backend must be \"sqlite\" or \"postgresql\"");
    else if (c.store.backend == "postgresql" && c.store.dsn.empty())
      r.error(t->source(), "[store] backend = \"postgresql\" needs dsn = \"postgresql://...\"");
    if (const auto* h = t->get("host_id"); h && c.store.host_id.empty())
      r.error(h->source(), "store.host_id must not be empty");
  }

  if (auto* t = r.table(root, "quarantine")) {
    r.check_keys(*t, "[quarantine]", {"retention"});
    r.retention(*t, "retention", c.quarantine.retention);
  }

  if (auto* t = r.table(root, "policy_service")) {
    r.check_keys(*t, "[policy_service]", {"listen"});
    r.str(*t, "listen", c.policy_service.listen);
    r.note(*t, "listen", c.origin, "policy_service.listen");
    if (!c.policy_service.listen.empty())
      if (auto ep = parse_endpoint(c.policy_service.listen); !ep)
        r.error(t->get("listen")->source(), "policy_service.listen: " + ep.error().message);
  }

  if (auto* t = r.table(root, "console")) {
    std::vector<std::string> errs;
    read_console_config(*t, source, c.console, errs);
    for (auto& e : errs) r.raw_error(std::move(e));
    r.note(*t, "listen", c.origin, "console.listen");
    // For preflight's TLS check (make_tls_context names "listener.<name>.tls_*").
    r.note(*t, "tls_cert", c.origin, "listener.[console].tls_cert");
    r.note(*t, "tls_key", c.origin, "listener.[console].tls_key");
  }

  if (auto* t = r.table(root, "spf")) {
    std::vector<std::string> errs;
    policy::read_spf_config(*t, source, c.spf, errs);
    for (auto& e : errs) r.raw_error(std::move(e));
  }
  if (auto* t = r.table(root, "dkim")) {
    std::vector<std::string> errs;
    policy::read_dkim_config(*t, source, c.dkim, errs);
    for (auto& e : errs) r.raw_error(std::move(e));
  }
  if (auto* t = r.table(root, "dmarc")) {
    std::vector<std::string> errs;
    policy::read_dmarc_config(*t, source, c.dmarc, errs);
    for (auto& e : errs) r.raw_error(std::move(e));
    if (!c.dmarc.authserv_id.empty() && !c.spf.authserv_id.empty() &&
        c.dmarc.authserv_id != c.spf.authserv_id)
      r.error(t->get("authserv_id")->source(),
              "[dmarc] authserv_id differs from [spf] authserv_id: we write one "
              "Authentication-Results field (RFC 8601), set one of them");
    c.origin["dmarc.psl_file"] = fmt::format(
        "{}:{}", source,
        t->get("psl_file") ? t->get("psl_file")->source().begin.line : t->source().begin.line);
  }

  if (auto* t = r.table(root, "dnsbl")) {
    std::vector<std::string> errs;
    policy::read_dnsbl_config(*t, source, c.dnsbl, errs);
    for (auto& e : errs) r.raw_error(std::move(e));
  }

  if (auto* t = r.table(root, "dns")) {
    r.check_keys(*t, "[dns]", {"servers", "timeout", "tries", "hosts_file"});
    r.str(*t, "hosts_file", c.dns.hosts_file);
    c.dns.servers = r.str_list(*t, "servers");
    if (const toml::node* n = t->get("servers")) {
      if (c.dns.servers.size() > static_cast<std::size_t>(dns::kDnsMaxServers))
        r.error(n->source(), fmt::format("dns.servers: at most {} servers", dns::kDnsMaxServers));
      for (const auto& sv : c.dns.servers)
        if (auto csv = dns::server_to_csv(sv); !csv)
          r.error(n->source(), fmt::format("dns.servers: {}", csv.error().message));
    }
    r.duration(*t, "timeout", c.dns.timeout, false);
    std::size_t tries = static_cast<std::size_t>(c.dns.tries);
    r.count(*t, "tries", tries, 1, 10);
    c.dns.tries = static_cast<int>(tries);
  }

  if (auto* t = r.table(root, "routing")) {
    r.check_keys(*t, "[routing]", {"table"});
    r.str(*t, "table", c.routing_table);
    r.note(*t, "table", c.origin, "routing.table");
  }

  // Defaults that every listener inherits.
  listener_config base;
  base.hostname = hostname;
  if (auto* t = r.table(root, "limits")) read_limits(r, *t, "[limits]", base.limits);
  if (auto* t = r.table(root, "timeouts")) read_timeouts(r, *t, "[timeouts]", base.tmo);
  if (auto* t = r.table(root, "tls")) {
    r.check_keys(*t, "[tls]", {"cert", "key"});
    r.str(*t, "cert", base.tls_cert);
    r.str(*t, "key", base.tls_key);
    r.note(*t, "cert", c.origin, "tls.cert");
    r.note(*t, "key", c.origin, "tls.key");
  }

  std::set<std::string> endpoints;
  if (auto* ls = r.table(root, "listener")) {
    for (auto&& [name, node] : *ls) {
      const toml::table* t = node.as_table();
      std::string where = fmt::format("[listener.{}]", name.str());
      if (!t) {
        r.error(name.source(), fmt::format("{} must be a table", where));
        continue;
      }
      listener_config l = base;
      l.name = std::string(name.str());
      const std::string at = "listener." + l.name;
      c.origin[at] = fmt::format("{}:{}", source, name.source().begin.line);
      for (const char* k : {"cert", "key"})
        if (auto it = c.origin.find(std::string("tls.") + k); it != c.origin.end())
          c.origin[at + ".tls_" + k] = it->second;
      for (const char* k : {"address", "queue_dir", "tls_cert", "tls_key"})
        r.note(*t, k, c.origin, at + "." + k);
      r.check_keys(
          *t, where,
          {"address", "delivery_mode", "queue_dir", "hostname", "limits", "timeouts", "tls_cert",
           "tls_key", "strict_lf", "bare_lf", "fsync", "spf", "dkim", "dmarc", "v6only"});
      if (auto* st = r.table(*t, "spf")) {
        r.check_keys(*st, where + ".spf", {"enabled", "trusted_networks", "trusted_forwarders"});
        if (st->get("enabled")) {
          bool on = false;
          r.boolean(*st, "enabled", on);
          l.spf_enabled = on;
        }
        if (st->get("trusted_networks")) l.spf_trusted_networks = r.cidrs(*st, "trusted_networks");
        if (st->get("trusted_forwarders"))
          l.spf_trusted_forwarders = r.cidrs(*st, "trusted_forwarders");
      }
      for (const char* sec : {"dkim", "dmarc"}) {
        if (auto* st = r.table(*t, sec)) {
          r.check_keys(*st, where + "." + sec, {"enabled"});
          if (st->get("enabled")) {
            bool on = false;
            r.boolean(*st, "enabled", on);
            (std::string_view(sec) == "dkim" ? l.dkim_enabled : l.dmarc_enabled) = on;
          }
        }
      }
      if (const toml::node* a = t->get("address")) {
        auto s = a->value<std::string>();
        auto ep = s ? parse_endpoint(*s) : fail(errc::parse_error, "must be a string");
        if (!ep)
          r.error(a->source(), fmt::format("address: {}", ep.error().message));
        else
          std::tie(l.address, l.port) = *ep;
        if (ep && !endpoints.insert(l.endpoint()).second)
          r.error(a->source(), fmt::format("address {} is used by two listeners", l.endpoint()));
      } else {
        r.error(name.source(), fmt::format("{} needs address = \"IP:PORT\"", where));
      }
      if (const toml::node* m = t->get("delivery_mode")) {
        auto s = m->value<std::string>();
        auto dm =
            s ? parse_delivery_mode(*s) : result<delivery_mode>(fail(errc::parse_error, "type"));
        if (!dm)
          r.error(m->source(), "delivery_mode must be \"deliver\", \"queueonly\" or \"hold\"");
        else
          l.mode = *dm;
      }
      r.str(*t, "queue_dir", l.queue_dir);
      r.str(*t, "hostname", l.hostname);
      r.str(*t, "tls_cert", l.tls_cert);
      r.str(*t, "tls_key", l.tls_key);
      r.boolean(*t, "strict_lf", l.strict_lf);
      r.boolean(*t, "fsync", l.fsync);
      r.boolean(*t, "v6only", l.v6only);
      if (const toml::node* b = t->get("bare_lf")) {
        auto s = b->value<std::string>();
        if (s == "reject")
          l.bare_lf = bare_lf_policy::reject;
        else if (s == "normalize")
          l.bare_lf = bare_lf_policy::normalize;
        else
          r.error(b->source(), "bare_lf must be \"reject\" or \"normalize\"");
      }
      if (auto* lt = r.table(*t, "limits")) read_limits(r, *lt, where + ".limits", l.limits);
      if (auto* tt = r.table(*t, "timeouts")) read_timeouts(r, *tt, where + ".timeouts", l.tmo);
      if (l.tls_cert.empty() != l.tls_key.empty())
        r.error(name.source(), fmt::format("{}: tls_cert and tls_key go together", where));
      c.listeners.push_back(std::move(l));
    }
  }
  if (c.listeners.empty() && r.errors().empty())
    r.error_at_line(1, "no [listener.NAME] table: nothing to serve");
  if (r.errors().empty())
    for (auto& e : listener_conflicts(c)) r.raw_error(std::move(e));

  if (!r.errors().empty()) {
    std::string all;
    for (auto& e : r.errors()) all += (all.empty() ? "" : "\n") + e;
    return fail(errc::parse_error, all);
  }
  if (c.control_socket.empty()) c.control_socket = c.state_dir + "/control.sock";
  if (c.history.path.empty()) c.history.path = c.state_dir + "/history.db";
  if (c.spf.authserv_id.empty()) c.spf.authserv_id = hostname;
  // One Authentication-Results field from us: [dmarc] authserv_id, else [spf]'s.
  if (c.dmarc.authserv_id.empty()) c.dmarc.authserv_id = c.spf.authserv_id;
  for (auto& l : c.listeners)
    if (l.queue_dir.empty()) l.queue_dir = c.state_dir + "/queue/" + l.name;
  return c;
}

store::options store_options(const config& c) {
  store::options o;
  o.backend = c.store.backend;
  o.path = c.history.path;
  o.dsn = c.store.dsn;
  return o;
}

result<config> load_config_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    return fail(errc::io_error, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::string text;
  char buf[8192];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return parse_config(text, path);
}

result<void> apply_overrides(config& c, const std::string& listen, const std::string& mode) {
  if (!listen.empty()) {
    auto ep = parse_endpoint(listen);
    if (!ep) return fail(errc::invalid_argument, "--listen " + ep.error().message);
    listener_config l = c.listeners.empty() ? listener_config{} : c.listeners.front();
    l.name = "cli";
    std::tie(l.address, l.port) = *ep;
    if (l.queue_dir.empty() || c.listeners.empty()) l.queue_dir = c.state_dir + "/queue/cli";
    if (!c.listeners.empty())
      for (const char* k : {".queue_dir", ".tls_cert", ".tls_key"})
        if (auto it = c.origin.find("listener." + c.listeners.front().name + k);
            it != c.origin.end())
          c.origin["listener.cli" + std::string(k)] = it->second;
    c.origin["listener.cli"] = c.origin["listener.cli.address"] = "--listen " + listen;
    c.listeners = {l};
  }
  if (!mode.empty()) {
    auto m = parse_delivery_mode(mode);
    if (!m)
      return fail(errc::invalid_argument, "--delivery-mode must be deliver, queueonly or hold");
    for (auto& l : c.listeners) l.mode = *m;
  }
  return {};
}

}  // namespace mxg::gateway
