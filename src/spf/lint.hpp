// lint.hpp: the SPF linter. Explains what is wrong with a domain's SPF set-up and how to
// fix it, as a checklist of findings with severity and a suggested fix.
//
// It reuses the parser (record.hpp) for syntax, then walks the include/redirect tree
// through the resolver, counting exactly as RFC 7208 4.6.4 counts during an evaluation
// that reaches every term (the worst case: no earlier mechanism matched):
//   - include, a, mx, ptr, exists and redirect each count one DNS term; terms after an
//     `all` are never reached and a redirect is ignored when `all` exists (6.1);
//   - void lookups (NXDOMAIN or no records) are counted separately for an IPv4 client
//     (A queries) and an IPv6 client (AAAA queries);
//   - terms whose domain-spec holds macros cannot be resolved without a message: they
//     are counted once and reported as "depends on the message".
// Findings carry a stable `code` (for --json and tests), the record domain, the term
// and its offset when one applies.
// Security: record text and DNS answers are untrusted; the walk is bounded by depth,
// by the number of records visited, and by loop detection.
#pragma once

#include <asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"
#include "spf/record.hpp"

namespace mxg::spf {

enum class severity : std::uint8_t { error, warning, info };
const char* to_string(severity s);

struct finding {
  severity sev = severity::info;
  std::string code;    // e.g. "syntax", "too-many-dns-terms", "plus-all"
  std::string domain;  // the record's domain ("" for --record text)
  std::string term;    // the term concerned, if any
  std::optional<std::size_t> offset;
  std::string message;  // what is wrong
  std::string fix;      // how to fix it
};

// One record visited in the include/redirect tree.
struct lint_node {
  std::string domain;
  std::string record;  // the v=spf1 text ("" when none was found)
  std::string via;     // "top", "include", "redirect"
  int depth = 0;
  int dns_terms = 0;  // terms of this record that count (own terms only)
};

struct lint_report {
  std::string domain;
  std::string record;  // the top record
  std::vector<finding> findings;
  std::vector<lint_node> tree;  // depth-first order
  int dns_terms = 0;            // whole tree, as 4.6.4 counts
  int void_lookups_v4 = 0;
  int void_lookups_v6 = 0;

  int count(severity s) const;
  bool ok() const { return count(severity::error) == 0; }
};

struct lint_options {
  int max_records = 50;  // records visited before the walk stops (safety bound)
  int max_depth = 12;
};

// Lints the SPF set-up of `domain` as published in DNS.
asio::awaitable<lint_report> lint_domain(dns::resolver& res, std::string domain,
                                         lint_options opt = {});
// Lints a record given as text. With a resolver, include/redirect targets are looked up;
// `res` may be null for a purely offline check (syntax and record-level findings).
asio::awaitable<lint_report> lint_record(dns::resolver* res, std::string record,
                                         lint_options opt = {});

// Human-readable checklist (the CLI's default output).
std::string format_report(const lint_report& r);

}  // namespace mxg::spf
