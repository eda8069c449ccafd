// psl.hpp: the Public Suffix List (https://publicsuffix.org/list/), for DMARC's legacy
// mode (RFC 7489 3.2: the organizational domain is the public suffix plus one label).
// Rules: normal, wildcard (*.x) and exception (!x) rules, the implicit "*" rule; ICANN
// and private sections alike. The pinned copy in ../shared/conformance/psl is used by
// the tests; a gateway reads the file named by [dmarc] psl_file (Debian's package
// `publicsuffix` installs /usr/share/publicsuffix/public_suffix_list.dat).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.hpp"

namespace mxg::dmarc {

class public_suffix_list {
 public:
  static result<public_suffix_list> load_file(const std::string& path);
  static public_suffix_list parse(std::string_view text);

  // The public suffix of `domain` (lower case A-labels, no final dot).
  std::string public_suffix(std::string_view domain) const;
  // The registrable (organizational) domain: suffix plus one label; nullopt when
  // `domain` is itself a public suffix (or empty).
  std::optional<std::string> registrable_domain(std::string_view domain) const;
  std::size_t size() const { return rules_.size(); }

 private:
  enum class kind : unsigned char { normal, wildcard, exception };
  std::unordered_map<std::string, kind> rules_;  // rule text without "*." / "!"
};

}  // namespace mxg::dmarc
