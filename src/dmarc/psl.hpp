// psl.hpp: the Public Suffix List (https://publicsuffix.org/list/), for DMARC's legacy
// mode (RFC 7489 3.2: the organizational domain is the public suffix plus one label).
// Rules: normal, wildcard (*.x) and exception (!x) rules, the implicit "*" rule; ICANN
// and private sections alike. The pinned copy in ../shared/conformance/psl is used by
// the tests; a gateway reads the file named by [dmarc] psl_file (Debian's package
// `publicsuffix` installs /usr/share/publicsuffix/public_suffix_list.dat).
// Algorithm: https://publicsuffix.org/list/ "Formal Algorithm" (exception rules win, then
// the rule with most labels, "*" when none matches). U-label rules are stored as
// A-labels (to_a_label in from.hpp), so lookups take A-labels.
// Security: the file is local configuration, capped at kPslFileMax bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"

namespace mxg::dmarc {

inline constexpr std::size_t kPslFileMax = 16 * 1024 * 1024;  // the 2023 list is 230 kB

class public_suffix_list {
 public:
  static mxg::result<public_suffix_list> load_file(const std::string& path);
  static public_suffix_list parse(std::string_view text);

  // The public suffix of `domain` (A-labels; ASCII case is ignored; no final dot).
  // "" when the domain is empty or has an empty label.
  std::string public_suffix(std::string_view domain) const;
  // The registrable (organizational) domain: suffix plus one label, lower case; nullopt
  // when `domain` is itself a public suffix, is empty or has an empty label (".com").
  std::optional<std::string> registrable_domain(std::string_view domain) const;
  std::size_t size() const { return count_; }

 private:
  // Bits per rule name (a name can carry several: "kobe.jp" and "*.kobe.jp").
  static constexpr unsigned char kNormal = 1, kWildcard = 2, kException = 4;
  std::unordered_map<std::string, unsigned char> rules_;  // rule text without "*." / "!"
  std::size_t count_ = 0;
  // Number of labels of the public suffix of `labels` (right-most last).
  std::size_t suffix_labels(const std::vector<std::string_view>& labels) const;
};

}  // namespace mxg::dmarc
