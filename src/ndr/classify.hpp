// classify.hpp: bounce reason classifier. Maps what a bounce says (RFC 3463
// enhanced status code, RFC 5321 reply code, the SMTP command that failed, the
// diagnostic text) to one reason of the Sisimai vocabulary (userunknown,
// mailboxfull, filtered, blocked, ...; ../shared/conformance/bounces/SOURCE.md).
// The rules are tables (status -> reason, phrase patterns per reason); the
// decision order follows Sisimai's (status first, then phrases, then fallbacks)
// so our results are comparable with its corpus.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mxg::ndr {

struct failure_facts {
  std::string_view status;           // "5.1.1" or ""
  std::string_view reply_code;       // "550" or ""
  std::string_view diagnostic;       // any case
  std::string_view diagnostic_type;  // "SMTP", "X-Unix", ... or ""
  std::string_view action;           // "failed", "delayed", ...
  std::string_view command;          // "RCPT", "MAIL", "DATA", "HELO", "EHLO", "CONN" or ""
  std::string_view preset_reason;    // a reason a producer rule already decided, or ""
  std::string_view producer = {};    // decoder that produced the record (for the rule trace)
};

// The reason class of one failed recipient; never empty ("undefined" at worst).
std::string classify(const failure_facts& f);
// The same, and which rule decided it in `rule`: "producer:NAME",
// "status:CODE" (RFC 3463 table), "phrase:REASON:PATTERN" (the vocabulary),
// "status-class:x.S", "reply:CODE", "command:CMD", "action:ACTION", "default".
std::string classify(const failure_facts& f, std::string* rule);

// RFC 3463 status code -> the reason it implies alone ("" when it implies none).
std::string_view reason_for_status(std::string_view status);

// The reason whose phrase table matches `diagnostic` first, in the fallback
// order; "" when none does. Exposed for tests.
std::string_view reason_for_text(std::string_view diagnostic);

// Does `diagnostic` contain a phrase of `reason`'s table? (tests, producers)
bool text_matches(std::string_view reason, std::string_view diagnostic);

// Every pattern of `reason`'s phrase table that `diagnostic` contains (tests,
// the conformance runner's rule accounting).
std::vector<std::string_view> matching_phrases(std::string_view reason,
                                               std::string_view diagnostic);

// Measurement hook (leave-one-family-out in tests/conformance/ndr_corpus.cpp):
// rules named here ("phrase:REASON:PATTERN", "producer:NAME:REASON",
// "text:..." recipient shapes, "diagnostic:..." status preferences) are not
// used by the parser on this thread while set. nullptr (the default) = none.
void set_disabled_rules(const std::set<std::string>* rules);
bool rule_disabled(std::string_view rule);

// Sisimai-compatible pseudo status for a reason when the message carried no
// code: "5.0.9xx" / "4.0.9xx" (x.0.9xx is outside RFC 3463's registry).
std::string pseudo_status(std::string_view reason, bool temporary);

// Does lower-case `lower_text` match one vocabulary pattern? Syntax: '*' any
// gap, '~' a short gap within one clause, '{a|b}' alternatives (classify.cpp).
bool phrase_matches(std::string_view lower_text, std::string_view pattern);

// Is `s` a syntactically valid RFC 3463 code: class "." subject "." detail?
bool is_status_code(std::string_view s);

}  // namespace mxg::ndr
