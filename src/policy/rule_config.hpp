// rule_config.hpp: what the [spf], [dmarc] and [dnsbl] sections share (issue 9 section 2, issue
// 10 section 4): the TOML reader with `FILE:LINE: message` errors (unknown keys,
// strings, booleans, actions, reply texts, networks), the per-domain rule head (name,
// domains "d" / ".d", monitor) and its matching. One place, so both sections accept the
// same syntax and report the same errors.
// Include with TOML_EXCEPTIONS 1, like every user of toml++ in this program.
// Security: the file is the administrator's, but every value is still validated; a
// broken section is refused whole (never half-applied).
#pragma once

#ifndef TOML_EXCEPTIONS
#define TOML_EXCEPTIONS 1
#endif
#include <toml++/toml.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "net/ip_address.hpp"
#include "policy/decision.hpp"

namespace mxg::policy {

// RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with the code and CRLF; leave
// room for the code, the enhanced status and a substituted domain.
inline constexpr std::size_t kReplyTextMax = 200;

// True when `domain` matches one of `patterns`: "d" matches d exactly, ".d" any proper
// subdomain of d (not d itself). Case-insensitive, a final dot ignored.
bool domain_matches(const std::vector<std::string>& patterns, std::string_view domain);

// A rule's domain as the config accepts it: "d" (a valid RFC 7208 4.3 domain: two
// labels at least) or ".d" (subdomains; one label allowed), lower-cased, final dot
// removed; nullopt if invalid.
std::optional<std::string> normalize_rule_domain(std::string_view d);

// The TOML reader of a policy section: every problem appended as "SOURCE:LINE: message".
class config_reader {
 public:
  config_reader(const std::string& source, std::vector<std::string>& errors)
      : source_(source), errors_(errors) {}

  void error(const toml::source_region& where, const std::string& msg);
  std::size_t error_count() const { return errors_.size(); }
  // Unknown keys are errors (a typo never leaves a default silently in place).
  void check_keys(const toml::table& t, std::string_view where,
                  const std::vector<std::string_view>& allowed);
  bool str(const toml::table& t, std::string_view key, std::string& out);
  void boolean(const toml::table& t, std::string_view key, bool& out);
  std::optional<verdict> action(const toml::node& n, std::string_view key);
  // One line of printable text, at most kReplyTextMax bytes.
  void reply_text(const toml::table& t, std::string_view key, std::string& out);
  void networks(const toml::table& t, std::string_view key, std::vector<net::cidr>& out, bool* set);
  // RFC 8601 2.5 authserv-id written as a token: a host name, lower-cased.
  void authserv_id(const toml::table& t, std::string& out);

  // The head of a [[SECTION.rule]]: name (required, unique within `names`), domains
  // (required, non-empty, each "d" or ".d") and monitor. false when something is wrong
  // (already reported).
  bool rule_head(const toml::table& t, const std::string& where, std::set<std::string>& names,
                 std::string& name, std::vector<std::string>& domains, bool& monitor);

 private:
  const std::string& source_;
  std::vector<std::string>& errors_;
};

// Reads the table `section` of a parsed document with `read`, which appends every
// problem it finds: errc::parse_error with "SOURCE: no [section] section", "'section'
// must be a table", or the problems joined by newlines. Shared by the stand-alone loaders
// of [spf], [dmarc] and [dnsbl] (policy simulate, dnsbl check).
using section_reader = std::function<void(const toml::table&, std::vector<std::string>&)>;
result<void> read_section(const toml::table& doc, std::string_view section,
                          const std::string& source, const section_reader& read);
// The same on the TOML file at `path` (a syntax error is "PATH:LINE: why").
result<void> load_section_file(const std::string& path, std::string_view section,
                               const section_reader& read);

}  // namespace mxg::policy
