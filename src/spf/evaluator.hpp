// evaluator.hpp: check_host() of RFC 7208 (sections 2.4-2.6, 4, 5, 6, 7, 8) as a
// coroutine over the injected mxg::dns::resolver. No global state: one evaluator may
// serve many concurrent checks (each check keeps its own counters and trace).
//
//   spf::evaluator ev(resolver, {.default_explanation = "DEFAULT"});
//   spf::outcome o = co_await ev.check({ip, "user@example.com", "mail.example.com"});
//   o.result, o.mechanism (deciding term), o.explanation, o.problem, o.trace
//
// Rules implemented, with their sections: identity selection and postmaster@ for the
// null sender / empty local part (2.4, 4.3); domain validity -> none (4.3); record
// selection: exactly one "v=spf1" TXT record, strings joined (3.3, 4.4, 4.5); the whole
// record parsed before evaluation (4.6); the 10 DNS-term limit over include, a, mx, ptr,
// exists and redirect (4.6.4), at most 10 MX names (permerror) and 10 PTR names (rest
// ignored), at most 2 void lookups (4.6.4); include result mapping (5.2); redirect
// semantics, none -> permerror (6.1); exp= and a configurable default explanation
// (6.2), never taken from an include; IPv4-mapped IPv6 clients treated as IPv4 (5);
// DNS errors -> temperror (2.6.6, 5); macros with the validated %{p} (7).
//
// Evaluation in passes: check_host() itself is plain synchronous code that takes each
// answer from dns::resolver::query_now() (a cache hit). When an answer is not ready the
// pass stops; check() sends that one query (query_shared, co_await) and runs the next
// pass, which replays the answers of the previous pass in order (so the result is the
// one a straight run would give, time limit included) and goes on from there. A check
// whose answers are all cached, the common case, is one pass with no suspension and no
// coroutine frame per term; check_now() is that pass alone.
#pragma once

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/limits.hpp"
#include "dns/resolver.hpp"
#include "net/ip_address.hpp"
#include "spf/record.hpp"

namespace mxg::spf {

// RFC 7208 2.6.
enum class result : std::uint8_t { none, neutral, pass, fail, softfail, temperror, permerror };
const char* to_string(result r);
std::optional<result> result_from_string(std::string_view s);

enum class identity : std::uint8_t { mailfrom, helo };  // RFC 7208 2.3, 2.4
const char* to_string(identity i);

struct request {
  net::ip_address ip;  // the SMTP client (IPv4-mapped IPv6 is treated as IPv4)
  std::string sender;  // MAIL FROM address without <>; empty: the HELO identity is checked
  std::string helo;    // HELO/EHLO argument as given
};

struct options {
  // RFC 7208 6.2: explanation used when a fail has no usable exp=. A macro-string in
  // explanation context (expanded; used literally if it does not parse).
  std::string default_explanation =
      "%{o} does not authorize %{c} to send mail as %{s} (SPF fail, RFC 7208)";
  std::string receiver = "unknown";  // %{r} (7.3) and Received-SPF receiver=
  int dns_term_limit = limits::kSpfDnsTerms;
  int void_lookup_limit = limits::kSpfVoidLookups;
  int mx_name_limit = limits::kSpfMxNames;
  int ptr_name_limit = limits::kSpfPtrNames;
  // RFC 7208 4.6.4: a bound on the whole evaluation ("at least 20 seconds"); once it has
  // passed, further DNS queries are not sent and count as timeouts (-> temperror).
  std::chrono::milliseconds time_limit = limits::kSpfEvaluationTimeout;
  bool trace = false;    // record every query and term in outcome::trace
  std::int64_t now = 0;  // %{t}; 0: the current time
};

// One line of --trace: a record fetched, a term evaluated, a DNS query and its answer.
struct trace_event {
  enum class kind : std::uint8_t { record, term, query, note };
  kind what = kind::note;
  int depth = 0;                         // include/redirect nesting
  std::string domain;                    // the <domain> being evaluated
  std::string text;                      // record text, term text, or query name
  std::string detail;                    // query: "TXT NOERROR"; term: "match -> fail"
  dns::rrtype type = dns::rrtype::txt;   // query only
  dns::status status = dns::status::ok;  // query only
  std::vector<std::string> answers;      // query only: records in master-file form
};

struct outcome {
  spf::result result = result::none;
  spf::identity identity = identity::mailfrom;
  std::string domain;              // the domain checked (after identity selection)
  std::string sender;              // <sender> with postmaster@ substituted
  std::string mechanism;           // deciding term: "-all", "include:x", "default", or "" (none)
  std::string explanation;         // for fail: exp= text or the default explanation
  std::string problem;             // for permerror/temperror/none: why (a diagnostic's text)
  std::optional<diagnostic> diag;  // a syntax error, when that caused the permerror
  int dns_terms = 0;               // terms counted against the limit of 10
  int void_lookups = 0;
  int dns_queries = 0;  // every query made, including exp= and %{p}
  std::vector<trace_event> trace;
};

class evaluator {
 public:
  explicit evaluator(dns::resolver& r, options o = {}) : res_(r), opt_(std::move(o)) {}

  // Selects the identity (MAIL FROM, or HELO for the null sender) and runs check_host().
  // Takes the request by value: the coroutine may start after the caller's temporaries die.
  asio::awaitable<outcome> check(request req) const;

  // The same check when every answer it needs is ready at once (resolver::query_now, a
  // cache hit): the outcome, without suspending; std::nullopt when one is not, and then
  // check() gives it (nothing is sent to the DNS here).
  std::optional<outcome> check_now(const request& req) const;

  // check_host(<ip>, <domain>, <sender>) of RFC 7208 4 with an explicit domain.
  asio::awaitable<outcome> check_host(net::ip_address ip, std::string domain, std::string sender,
                                      std::string helo) const;

  const options& opts() const { return opt_; }

 private:
  dns::resolver& res_;
  options opt_;
};

// RFC 7208 4.3: a valid <domain>: at most 253 bytes, labels of 1-63 bytes, at least two
// labels, no domain literal. A final dot is allowed.
bool valid_domain(std::string_view d);

}  // namespace mxg::spf
