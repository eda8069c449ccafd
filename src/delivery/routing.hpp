// routing.hpp: the delivery routing table, in the style of sendmail's smarttable.
// Each rule has one key and one action; rules are tried in the order written and the
// first match wins. Keys:
//   user@aicpa.org          full envelope sender address (case-insensitive domain,
//                           exact local part)
//   @aicpa.org              sender domain
//   @.aicpa.org             sender domain and all its subdomains
//   to:@example.com         recipient domain (to:@.example.com with subdomains)
//   *  (or "default")       every message (must be the last rule)
// Actions:
//   relay:[host]:port       relay to host, no MX lookup (RFC 5321 5.1 literal style)
//   relay:[host]            same, port 25
//   relay:host[:port]       relay to host's MX hosts (falling back to A/AAAA)
//   mx                      normal delivery: MX of the recipient domain
//   hold                    keep in the queue until released
// Two file forms: a plain `KEY VALUE` text file (sendmail style; # comments, blank
// lines) and TOML ([[route]] tables). Every error names file:line.
// Security: the files are trusted admin input, but parsing is total (no crash on any
// input) and sizes are bounded by the line reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::delivery {

inline constexpr std::uint16_t kSmtpPort = 25;  // RFC 5321 4.5.4.2 (well-known port)

struct route_action {
  enum class kind : std::uint8_t { mx, relay, hold };
  kind k = kind::mx;
  std::string host;    // relay: host name or IP literal (without brackets)
  bool no_mx = false;  // relay:[host]: connect to host itself, no MX lookup
  std::uint16_t port = kSmtpPort;

  // Canonical text form: "mx", "hold", "relay:[127.0.0.1]:2525", "relay:mail.example".
  std::string to_string() const;
  bool operator==(const route_action&) const = default;
};

// Parses an action in the forms listed above.
result<route_action> parse_action(std::string_view text);

struct route_rule {
  enum class match : std::uint8_t { sender_address, sender_domain, recipient_domain, any };
  match m = match::any;
  std::string key;          // lower-cased domain, or the address (domain lower-cased)
  bool subdomains = false;  // domain matches: also match subdomains of key
  route_action action;
  std::string origin;  // "file:line", for logs and `--trace`
};

// Parses a key in the text-file forms listed above into a rule (without action).
result<route_rule> parse_key(std::string_view text);

struct route_decision {
  route_action action;
  const route_rule* rule = nullptr;  // nullptr: no rule matched, the built-in default (mx)
};

class routing_table {
 public:
  routing_table() = default;

  // KEY VALUE text form. `name` is used in error messages (file name).
  static result<routing_table> parse_text(std::string_view text, std::string_view name);
  // TOML form: [[route]] tables with one of sender / sender_domain / recipient_domain /
  // default = true, optional subdomains = true, and action = "...".
  static result<routing_table> parse_toml(std::string_view text, std::string_view name);
  // Reads a file; *.toml is TOML, anything else the text form.
  static result<routing_table> load(const std::string& path);

  void add(route_rule r) { rules_.push_back(std::move(r)); }
  const std::vector<route_rule>& rules() const { return rules_; }

  // First matching rule for an envelope. `sender` is the reverse-path without angle
  // brackets ("" for the null sender, which matches no sender rule); `recipient` is
  // the forward-path. With no match the action is `mx`.
  route_decision route(std::string_view sender, std::string_view recipient) const;

 private:
  std::vector<route_rule> rules_;
};

// The domain of an address (after the last '@'), lower-cased; "" if none.
std::string domain_of(std::string_view address);

}  // namespace mxg::delivery
