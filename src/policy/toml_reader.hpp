// toml_reader.hpp: the small TOML reader shared by the policy sections' config readers
// ([spf] in spf_config.cpp, [dnsbl] in dnsbl_config.cpp): every problem is collected as
// `SOURCE:LINE: message` with the node's line; unknown keys are errors; reply texts are
// one line of printable text (RFC 5321 4.2, 4.5.3.1.5); networks parse with
// net::cidr::parse. Include with TOML_EXCEPTIONS 1, like every user of toml++ here.
#pragma once

#ifndef TOML_EXCEPTIONS
#define TOML_EXCEPTIONS 1
#endif
#include <toml++/toml.h>

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/ip_address.hpp"
#include "policy/decision.hpp"

namespace mxg::policy::detail {

// RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with the code and CRLF; leave
// room for the code, the enhanced status and a substituted domain.
inline constexpr std::size_t kReplyTextMax = 200;

// A small reader in the style of gateway/config.cpp's: errors with the node's line.
class reader {
 public:
  reader(const std::string& source, std::vector<std::string>& errors)
      : source_(source), errors_(errors) {}

  void error(const toml::source_region& where, const std::string& msg) {
    errors_.push_back(fmt::format("{}:{}: {}", source_, where.begin.line, msg));
  }

  std::size_t error_count() const { return errors_.size(); }

  void check_keys(const toml::table& t, std::string_view where,
                  const std::vector<std::string_view>& allowed) {
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      error(k.source(), fmt::format("unknown key '{}' in {} (known: {})", k.str(), where, list));
    }
  }

  bool str(const toml::table& t, std::string_view key, std::string& out) {
    const toml::node* n = t.get(key);
    if (!n) return false;
    if (auto v = n->value<std::string>()) {
      out = *v;
      return true;
    }
    error(n->source(), fmt::format("'{}' must be a string", key));
    return false;
  }

  void boolean(const toml::table& t, std::string_view key, bool& out) {
    if (const toml::node* n = t.get(key)) {
      if (auto v = n->value<bool>())
        out = *v;
      else
        error(n->source(), fmt::format("'{}' must be true or false", key));
    }
  }

  std::optional<verdict> action(const toml::node& n, std::string_view key) {
    if (auto v = n.value<std::string>()) {
      if (auto a = verdict_from_string(*v)) return a;
      error(n.source(), fmt::format("'{}' = \"{}\": the action must be one of accept, tag, "
                                    "quarantine, reject, tempfail",
                                    key, *v));
    } else {
      error(n.source(), fmt::format("'{}' must be an action string (accept, tag, quarantine, "
                                    "reject, tempfail)",
                                    key));
    }
    return std::nullopt;
  }

  // One line of printable text (control bytes would be sent as '?'), bounded.
  void reply_text(const toml::table& t, std::string_view key, std::string& out) {
    std::string v;
    if (!str(t, key, v)) return;
    const bool controls = std::any_of(v.begin(), v.end(), [](char ch) {
      auto c = static_cast<unsigned char>(ch);
      return c < 0x20 || c == 0x7f;
    });
    if (controls)
      error(t.get(key)->source(),
            fmt::format("'{}' must be one line without control characters", key));
    else if (v.size() > kReplyTextMax)
      error(t.get(key)->source(),
            fmt::format("'{}' is longer than {} bytes (RFC 5321 4.5.3.1.5)", key, kReplyTextMax));
    else
      out = std::move(v);
  }

  void networks(const toml::table& t, std::string_view key, std::vector<net::cidr>& out,
                bool* set) {
    const toml::node* n = t.get(key);
    if (!n) return;
    const toml::array* arr = n->as_array();
    if (!arr) {
      error(n->source(), fmt::format("'{}' must be an array of networks (\"192.0.2.0/24\")", key));
      return;
    }
    std::vector<net::cidr> nets;
    bool ok = true;
    for (const toml::node& e : *arr) {
      auto s = e.value<std::string>();
      std::optional<net::cidr> c = s ? net::cidr::parse(*s) : std::nullopt;
      if (!c) {
        ok = false;
        error(e.source(), fmt::format("'{}': {} is not a network (\"192.0.2.0/24\", "
                                      "\"2001:db8::/32\" or an address)",
                                      key, s ? "\"" + *s + "\"" : std::string("the value")));
        continue;
      }
      nets.push_back(*c);
    }
    if (ok) {
      out = std::move(nets);
      if (set) *set = true;
    }
  }

 private:
  const std::string& source_;
  std::vector<std::string>& errors_;
};

}  // namespace mxg::policy::detail
