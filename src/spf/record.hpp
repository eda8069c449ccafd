// record.hpp: the SPF record AST and its parser (RFC 7208 sections 4.5, 4.6, 5, 6, 12).
// "Parse whole, then evaluate": parse() checks the complete record before any term is
// evaluated, so a syntax error after a matching term is still a permerror (4.6).
//
// Public API (used by the evaluator, the linter and the CLI):
//
//   bool is_spf_record(std::string_view txt);       // 4.5: "v=spf1" then SP or end
//   parse_result parse(std::string_view text);       // record or first diagnostic
//   parse_result parse(std::string_view text, std::vector<diagnostic>& all);
//                                                    // collects EVERY syntax error
//   record r = *parse("v=spf1 ip4:192.0.2.0/24 -all");
//   for (const mechanism& m : r.mechanisms()) ...    // in record order
//   r.redirect(), r.exp(), r.modifiers()             // modifiers (incl. unknown ones)
//   diagnostic d = parse(bad).error();
//   d.to_string() == R"(unknown mechanism "ipv4:64.8.71.111" at offset 62 (did you mean ip4:?))"
//
// Every term keeps its text (a view into the record's own copy of the text, so a record
// is self-contained; copies and moves keep the views valid) and its byte offset in the
// record (0-based, counted from the "v" of "v=spf1"). A diagnostic is a value
// {term, offset, reason, suggestion}; the linter lists them as findings.
//
// Security: the input is untrusted DNS text. The parser never allocates per byte, has
// no recursion, accepts only 7-bit printable ASCII in terms (3.1, 4.6.1) and bounds
// CIDR lengths and macro syntax strictly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/ip_address.hpp"

namespace mxg::spf {

// RFC 7208 4.6.2.
enum class qualifier : std::uint8_t { pass, fail, softfail, neutral };
char to_char(qualifier q);  // + - ~ ?

// RFC 7208 5.
enum class mechanism_kind : std::uint8_t { all, include, a, mx, ptr, ip4, ip6, exists };
const char* to_string(mechanism_kind k);

// RFC 7208 6 (redirect, exp); anything else with name=value is an unknown modifier (6).
enum class modifier_kind : std::uint8_t { redirect, exp, unknown };

struct mechanism {
  qualifier qual = qualifier::pass;
  bool explicit_qualifier = false;  // the qualifier was written ("+a" vs "a")
  mechanism_kind kind = mechanism_kind::all;
  std::string_view text;                      // the whole term as written, e.g. "-ip4:192.0.2.0/24"
  std::size_t offset = 0;                     // byte offset of the term in the record
  std::string_view domain_spec;               // unexpanded; empty when none was given (a, mx, ptr)
  std::uint8_t cidr4 = 32;                    // a, mx: ip4-cidr-length; ip4: the prefix
  std::uint8_t cidr6 = 128;                   // a, mx: ip6-cidr-length; ip6: the prefix
  bool has_cidr4 = false, has_cidr6 = false;  // written explicitly
  net::ip_address network;                    // ip4/ip6: the address as written (host bits kept)
  bool uses_p_macro = false;                  // the domain-spec contains %{p}

  // include, a, mx, ptr, exists count against the 10-term limit (4.6.4).
  bool counts_dns() const {
    return kind == mechanism_kind::include || kind == mechanism_kind::a ||
           kind == mechanism_kind::mx || kind == mechanism_kind::ptr ||
           kind == mechanism_kind::exists;
  }
};

struct modifier {
  modifier_kind kind = modifier_kind::unknown;
  std::string_view name;   // as written (case kept)
  std::string_view value;  // after "=": a domain-spec (redirect, exp) or macro-string
  std::string_view text;   // the whole term
  std::size_t offset = 0;
  bool uses_p_macro = false;
};

// A precise syntax finding: which term, where, why, and what to do.
struct diagnostic {
  std::string term;        // the offending term as written (may be empty: whole record)
  std::size_t offset = 0;  // byte offset of the term in the record
  std::string reason;      // e.g. "unknown mechanism"
  std::string suggestion;  // e.g. "did you mean ip4:?"; empty when none is obvious

  // `unknown mechanism "ipv4:64.8.71.111" at offset 62 (did you mean ip4:?)`
  std::string to_string() const;
};

class record {
 public:
  record() = default;
  record(const record& o);
  record& operator=(const record& o);
  record(record&&) noexcept = default;
  record& operator=(record&&) noexcept = default;

  std::string_view text() const { return {buf_.get(), size_}; }
  const std::vector<mechanism>& mechanisms() const { return mechs_; }
  // All modifiers in record order (redirect, exp and unknown ones).
  const std::vector<modifier>& modifiers() const { return mods_; }
  const modifier* redirect() const { return redirect_ < 0 ? nullptr : &mods_[redirect_]; }
  const modifier* exp() const { return exp_ < 0 ? nullptr : &mods_[exp_]; }

 private:
  friend class parser;
  void rebase_from(const record& o);
  std::unique_ptr<char[]> buf_;
  std::size_t size_ = 0;
  std::vector<mechanism> mechs_;
  std::vector<modifier> mods_;
  int redirect_ = -1, exp_ = -1;
};

using parse_result = std::expected<record, diagnostic>;

// RFC 7208 4.5: a record begins with "v=spf1" (case-insensitive) followed by SP or end.
bool is_spf_record(std::string_view txt);

// Parses a complete record (including "v=spf1"). The error is the first syntax error.
parse_result parse(std::string_view text);
// Same, and appends every syntax error to `all` (parsing continues after an error).
parse_result parse(std::string_view text, std::vector<diagnostic>& all);

// RFC 7208 7.1 domain-spec = macro-string domain-end. Returns the reason it is invalid,
// or empty when valid. Exposed for the linter and tests.
std::string check_domain_spec(std::string_view spec);

}  // namespace mxg::spf
