// classify.cpp: reason tables and decision order of the bounce classifier.
// Status code meanings: RFC 3463 sections 3.1-3.8, RFC 7372 (x.7.20-x.7.26),
// RFC 7505 (x.1.10, x.7.27), RFC 3886/5248. Reply codes: RFC 5321 4.2.
// Phrase tables are lower-case patterns; '*' means "anything, then" so
// "mailbox*full" matches "Mailbox is full", '~' a short gap inside one clause,
// '{a|b}' alternatives (syntax below). Most entries are frames (a noun class
// and a condition class). They were written for this project from the wording
// MTAs document, modelled on Sisimai's reason modules (lib/Sisimai/Reason/*.pm,
// sisimai/p5-sisimai, (C) azumakuniyuki, BSD 2-Clause; no code copied).
// Must never: read the conformance corpus's expectations, use a regex engine,
// or scan more than linearly per pattern piece (untrusted text).
#include "ndr/classify.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <iterator>
#include <map>
#include <utility>

#include "ndr/text.hpp"

namespace mxg::ndr {

namespace {

thread_local const std::set<std::string>* g_disabled = nullptr;

bool phrase_disabled(std::string_view reason, std::string_view pattern) {
  if (g_disabled == nullptr) return false;
  std::string k = "phrase:";
  k.append(reason).append(":").append(pattern);
  return g_disabled->count(k) > 0;
}

using phrases = std::initializer_list<std::string_view>;

struct reason_table {
  std::string_view reason;
  phrases patterns;
  phrases exclude = {};  // if any matches, the table does not match
};

// ---- Phrase patterns (the vocabulary's syntax) ----
// A pattern is lower-case text with three operators:
//   '*'          any text in between ("mailbox*full");
//   '~'          a short gap inside one clause: at most kNearGap characters,
//                none of ':' ';' '\n' and no ". " (so a label and its value,
//                or two sentences, never pair up);
//   '{a|b|c}'    one of the alternatives.
// A *frame* combines a class of nouns with a class of conditions, e.g.
// "{user|mailbox|recipient}~{unknown|not found}": one rule that states what
// the MTAs' sentences share (Sisimai's reason modules group their phrases the
// same way: "user (unknown|not found|does not exist)", "domain (does not
// exist|must exist)"), so it also reads wording no sample showed.
constexpr std::size_t kNearGap = 40;
constexpr std::size_t kMaxAlternatives = 256;  // expansions of one pattern

// One piece of a compiled pattern: its alternatives (the '{..|..}' groups of
// the piece expanded), and the gap that comes before it.
struct piece {
  std::vector<std::string> alts;
  char gap = 0;  // 0 (first piece), '*' or '~'
};

// "{a|b} x~{c|d}" -> [{"a x", "b x"}], ['~', {"c", "d"}].
std::vector<std::string> expand(std::string_view p) {
  std::vector<std::string> out{std::string()};
  std::size_t i = 0;
  while (i < p.size()) {
    const auto close = p[i] == '{' ? p.find('}', i) : std::string_view::npos;
    if (close == std::string_view::npos) {  // literal text (or an unclosed '{')
      for (auto& o : out) o.push_back(p[i]);
      ++i;
      continue;
    }
    std::vector<std::string> alts;
    std::string_view body = p.substr(i + 1, close - i - 1);
    while (true) {
      const auto bar = body.find('|');
      alts.emplace_back(body.substr(0, bar));
      if (bar == std::string_view::npos) break;
      body.remove_prefix(bar + 1);
    }
    std::vector<std::string> next;
    for (const auto& o : out)
      for (const auto& a : alts)
        if (next.size() < kMaxAlternatives) next.push_back(o + a);
    out = std::move(next);
    i = close + 1;
  }
  return out;
}

std::vector<piece> compile(std::string_view p) {
  std::vector<piece> out;
  char gap = 0;
  while (true) {
    // a gap operator outside a group ends the piece
    std::size_t k = 0, depth = 0;
    for (; k < p.size(); ++k) {
      if (p[k] == '{') ++depth;
      if (p[k] == '}' && depth > 0) --depth;
      if (depth == 0 && (p[k] == '*' || p[k] == '~')) break;
    }
    out.push_back({expand(p.substr(0, k)), gap});
    if (k == p.size()) break;
    gap = p[k];
    p.remove_prefix(k + 1);
  }
  return out;
}

bool near_gap(std::string_view gap) {
  if (gap.size() > kNearGap) return false;
  for (std::size_t k = 0; k < gap.size(); ++k) {
    const char c = gap[k];
    if (c == ':' || c == ';' || c == '\n') return false;
    if (c == '.' && k + 1 < gap.size() && gap[k + 1] == ' ') return false;
  }
  return true;
}

// In a frame, words match whole words: "locked" is not found in "blocked",
// "relay" not in "relays".
bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}
bool word_edges(std::string_view hay, std::size_t at, std::size_t n) {
  if (n == 0) return true;
  if (is_word_char(hay[at]) && at > 0 && is_word_char(hay[at - 1])) return false;
  const auto end = at + n;
  return !(is_word_char(hay[end - 1]) && end < hay.size() && is_word_char(hay[end]));
}

// Do pieces[i..] occur in `hay` in order from `from`? After a '~' gap only the
// next kNearGap characters are searched; after '*' the whole rest. Backtracks
// over the occurrences of a piece; patterns have a handful of pieces.
bool match_from(std::string_view hay, const std::vector<piece>& pieces, std::size_t i,
                std::size_t from) {
  if (i == pieces.size()) return true;
  const auto& pc = pieces[i];
  const bool near = pc.gap == '~';
  for (const auto& alt : pc.alts) {
    if (alt.empty()) {
      if (match_from(hay, pieces, i + 1, from)) return true;
      continue;
    }
    std::string_view window = hay;
    if (near) window = hay.substr(0, std::min(hay.size(), from + kNearGap + alt.size()));
    for (auto at = window.find(alt, from); at != std::string_view::npos;
         at = window.find(alt, at + 1)) {
      if (!word_edges(hay, at, alt.size())) continue;
      if (near && !near_gap(hay.substr(from, at - from))) break;  // farther ones cross it too
      if (match_from(hay, pieces, i + 1, at + alt.size())) return true;
      if (pc.gap != '~' && i + 1 < pieces.size() && pieces[i + 1].gap == '*')
        break;  // the first occurrence leaves the most room for '*'
    }
  }
  return false;
}

}  // namespace

bool phrase_matches(std::string_view lower_text, std::string_view pattern) {
  if (pattern.find_first_of("{~") == std::string_view::npos)
    return text::aligned(lower_text, pattern);
  // Each pattern is compiled once per thread (the patterns are the tables'
  // constants, plus whatever a test passes).
  thread_local std::map<std::string, std::vector<piece>, std::less<>> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(std::string(pattern), compile(pattern)).first;
  return match_from(lower_text, it->second, 0, 0);
}

namespace {

// frame: the message or envelope outlived its queue time (RFC 3463 X.4.7)
constexpr std::string_view kExpiredOutcome =
    "{message|delivery|envelope|queue}~{expired|has expired|lifetime exceeded}";

// clang-format off
const reason_table kTables[] = {
  {"userunknown", {
    // frames: a mailbox noun and a "does not exist" condition (RFC 3463 X.1.1)
    // (a user that "doesn't have a/an ... account" on the host is one that does not exist there)
    "{user|mailbox|recipient|addressee|account|local part|the address|this address|email address|e-mail address}~{unknown|not found|does not exist|doesn't exist|not exist|could not be found|couldn't be found|no longer exists|doesn't have a|does not have a|doesn't have an|does not have an}",
    "{no such|no|unknown|nonexistent|non-existent|non existent} {user|mailbox|recipient|addressee|account|local part|e-mail address|email address|address}",
    "user unknown", "unknown user", "mail.local: unknown user",
    "invalid final delivery userid", "no such user", "no such mailbox", "no such recipient",
    "no such person", "no such address", "unknown recipient", "unknown mailbox", "unknown local",
    "unknown address", "address unknown", "recipient unknown", "user not found", "user not known",
    "user doesn't exist", "user not exist",     "user*was not found", "user*not found",     "mailbox unavailable", "mailbox is unavailable", "mailbox not present",
    "mailbox invalid", "invalid mailbox", "invalid recipient", "invalid address",
    "recipient does not exist", "recipient*was not found",
    "recipient not exist", "recipient is not local", "recipient address rejected: user unknown",
    "recipient address rejected: unknown user", "recipient address rejected: invalid user",
    "recipient address rejected: access denied", "recipient address rejected: userunknown",
    "email address does not exist", "address not present in directory",
    "destination addresses were unknown", "destination server rejected recipients",
    "is not a valid mailbox", "is not a known user", "not a valid recipient", "not a valid user",
    "no mailbox by that name", "no account by that name",
    "account*does not exist", "that domain or user isn't in my list of allowed rcpthosts",
    "non*existent user", "nonexistent user",
    "the email account that you tried to reach does not exist", "there is no one at this address",
    "user missing home directory", "requested action not taken: mailbox unavailable",
    "recipient not ok", "not a local address",
    "invalid recipient", "unknown e*mail address",
    "badrcptto", "validrcptto", "rcpt <* does not exist", "user (*) unknown", "<*> not found",
    "is not an active address at this host", "no such local user",
    "vdeliver: invalid or unknown virtual user", "utilisateur inconnu", "no existe",
    "this address no longer accepts mail", "email address could not be found",     "the email address you entered couldn't be found",
    "not listed in", "valid recipient", "address couldn't",
    "resolver.adr.recip", "nosuchuser",
  }, {}},
  {"mailboxfull", {
    "mailbox full", "mailbox*full", "full mailbox",
    "over quota", "over*quota", "quota exceeded", "quota*exceeded", "exceeded*quota",
    "exceeds*quota", "mailbox*quota", "disk*quota", "quota violation",
    "account is * quota", "exceeded storage allocation", "insufficient disk space",
    "not sufficient disk space", "not enough * space", "no space left on device",
    "mailbox size limit exceeded", "would exceed*storage",
    "too many messages", "user's space has been used up",
    "boite du destinataire pleine", "too much mail data", "exceeded its storage",
    "storage space", "quota full",
    "mailbox*exceed", "is full",
  }, {}},
  {"mesgtoobig", {
    // frames: the message's size (RFC 3463 X.3.4, X.2.3 for the mailbox's limit)
    "{message|mail|email|e-mail} {size|length}~{exceed|exceeds|exceeded|too big|too large|limit}",
    "{message|mail|email|e-mail}~{too big|too large}",
    "message too big", "message too large", "message is too large",
    "message file too big", "message length exceeds administrative limit", "exceeded maximum inbound message size",
    "exceeded the maximum incoming message size", "max message size exceeded",
    "line limit exceeded", "message header size exceeds limit", "taille limite du message",
    "message exceeds maximum", "too big for",
    "size*limit",
  }, {}},
  {"exceedlimit", {
    "message header size exceeds limit", "message too large for this recipient",
    "exceeds size limit for this recipient", "message size exceeds the size limit for this mailbox",
  }, {}},
  {"suspend", {
    // frame: a mailbox that exists but is switched off (RFC 3463 X.2.1)
    "{mailbox|account|user|recipient|address}~{disabled|suspended|inactive|deactivated|frozen|locked|discontinued|terminated}",
    "has been suspended", "is currently suspended", "mailbox currently suspended", "user suspended",
    "account*suspended",
    "inactive account",
    "account*inactive", "is inactive", "invalid/inactive user", "is a deactivated mailbox",
    "user is terminated", "temporarily inactive", "archived recipient", "boite du destinataire archivee", "recipient suspend the service",
    "mailbox unavailable or access denied",
    "mailbox has been blocked due to inactivity",
    "disabled",
    " locked", "frozen",
  }, {}},
  {"hasmoved", {
    "has been moved", "has moved", "address has changed",     "no longer with", "changed his email address",
  }, {}},
  {"norelaying", {
    // frames: relaying refused (RFC 3463 X.7.1 for a foreign domain)
    "{not|no|denied|prohibited|refused|unable|forbidden|disallowed}~{relay|relaying}",
    "{relay|relaying}~{denied|not permitted|not allowed|prohibited|refused|rejected|forbidden}",
    "relay access denied", "relay denied", "relay not permitted", "as a relay", "not an open relay", "insecure mail relay", "we don't handle mail for", "not local host", "not a gateway",
    "that domain isn't in my list of allowed rcpthost", "specified domain is not allowed",
    "relay prohibited", "relay not allowed",
      }, {}},
  {"authfailure", {
    // frame: SPF/DKIM/DMARC verdicts (RFC 7208, 6376, 7489; RFC 7372 X.7.20-X.7.26)
    "{spf|dkim|dmarc|sender policy framework|domainkeys}~{fail|failed|fails|failure|check|policy|validation|permerror|softfail|alignment}",
    // a record named with a failure ("Bad SPF records", "not allowed to send
    // ... per its SPF record"), not as advice ("Set up SPF records for ...")
    "{bad|invalid|broken|malformed|not allowed|not authorized|not permitted|fail|fails|failed}~{spf|dkim|dmarc} {record|records}",
    // frame: the message did not pass the sender-authentication checks
    "{fails to pass|does not pass|did not pass|didn't pass|doesn't pass|not passing|failed to pass}~{authentication|spf|dkim|dmarc|sender authentication}",
    "spf check failed", "does not have authentication information", "unauthenticated email",
    "spf fail", "spf validation", "failed spf",
    "dkim*fail", "sender policy framework", "authentication checks failed",
    "5.7.23", "5.7.26", "spf permerror", "spf softfail",
    "is not allowed to send mail from", "not authorized to send on behalf",
    "designates * as not permitted sender", "is not a designated mail server",
    "not designated",
    "dmarc",
  }, {"unauthenticated senders"}},
  {"requireptr", {
    // frame: the client's name and address disagree (forward-confirmed rDNS)
    "{mismatch|mismatches|does not match|doesn't match|does not point to|doesn't point to}~{client ip|ip address|sending ip|your ip|connecting ip}",
    "reverse dns", "reverse lookup", "rdns",     "cannot find your hostname", "cannot resolve your address", "client host rejected: cannot find your hostname",
    "unresolvable address", "ip name lookup failed", "reverse hostname", "no reverse-dns",
    "fcrdns", "resolve your ip", "hostname lookup failed",
    "not have a valid hostname", "host name does not match",
    "ptr",
  }, {}},
  {"notcompliantrfc", {
    // frames: the header does not follow RFC 5322 3.6 (one From/Subject/Date...)
    "{duplicate|multiple|malformed|invalid|missing|too many}~{header|headers}",
    "{rfc 5322|rfc5322|rfc 2822|rfc2822}~{compliant|compliance|violation|violates}",
    "multiple addresses in from",     "rfc 5322", "rfc5322", "rfc 2822", "rfc2822", "rfc 822 ", "too many \"from\" headers",
    "malformed header", "invalid header", "bare lf", "bare <lf>",
  }, {}},
  {"badreputation", {
    "reputation", "poor sender score", "due to unexpected volume or user complaints", "senderscore", "sender score",       }, {}},
  {"contenterror", {
        "message contains bare", "rejected due to the content",
  }, {}},
  {"rejected", {
    // frame: the envelope sender refused (RFC 3463 X.1.7, X.1.8)
    "{sender|envelope sender|mail from|from address|sender address|sender domain}~{rejected|blocked|denied|not allowed|invalid|unknown|not verified|verify failed|verification failed|blacklisted|not accepted|must exist|is empty}",
    // the same with the condition first ("Unroutable sender address", "can't
    // determine Purported Responsible Address", RFC 4407 2: the PRA is a sender)
    "{unroutable|unrouteable|invalid|unverifiable|unknown|can't determine|cannot determine|unable to determine|could not determine} {sender|sender address|sender domain|envelope sender|purported responsible address|responsible address}",
    "sender rejected", "sender address rejected", "sender email address rejected", "invalid sender",
    "sender is in my black list", "sender is spammer", "sender not pre-approved", "sender verify failed",
    "sender verification failed", "sender was rejected", "sender address has been blacklisted",
    "sender domain is empty", "domain of sender address",     "your email address has been blacklisted", "null sender is not allowed",
    "empty envelope senders not allowed", "returned mail not accepted here", "bogus mail from",
    "mail from not owned by user", "this server does not accept mail from",
    "administrative prohibition", "batv", "backscatter", "no third-party dsns", "unsigned dsn",
    "you are not allowed to post to this mailing list", "fully qualified email address required",
    "access denied (sender blacklisted)", "access denied (in reply to mail from command)",
    "envelope blocked", "emetteur invalide", "mx records for ", "email address is not verified",
    "message rejected: email address is not verified", "from: domain is invalid", "is not a registered gateway user", "because the sender isn't on the recipient's list", "sender domain must exist",
    "sender address is not", "your envelope sender", "sender not allowed", "sending to/from an address that has been blacklisted", "rule imposed mailbox access for",
    "sending this from a different address",
    "delivery not authorized, message refused", "address rejected",
  }, {"recipient address rejected", "5.1.0 address rejected", "sender ip address rejected",
       "unauthenticated senders"}},
  {"hostunknown", {
    // frames: a domain/host noun and a "does not exist" condition (RFC 3463 X.1.2)
    // (a domain that "is not reachable" is named as bad like one that does
    // not exist; "host unreachable" stays a network error)
    "{domain|mail domain}~{does not exist|doesn't exist|not exist|not found|unknown|must exist|could not be found|couldn't be found|is not reachable|not reachable|unreachable}",
    "{host|hostname|host name}~{does not exist|doesn't exist|not exist|not found|unknown|must exist|could not be found|couldn't be found}",
    "{no such|unknown|nonexistent|non-existent|invalid} {domain|host|hostname|mail domain}",
    "host unknown", "host or domain name not found",     "domain must exist", "name or service not known",
    "unrouteable address", "unroutable address", "recipient address rejected: unknown domain",
    "domain not found", "the account or domain may not exist", "mail domain mentioned in email address is unknown",
    "553 * does not exist", "host not found", "unknown domain",
       }, {}},
  {"spamdetected", {
    "is spam", "be spam", "spam message", "spam content", "spam filter",
    "likely spam", "spam-like", "spam policy", "spam rejected", "spam blocked", "spam not accepted",
    "unsolicited", "spam classification", "bulk mail", "bulk email", "bulk e-mail", "junk mail",
    "message content rejected", "content filter rejection", "rejecting banned content",
    "rejecting mail content", "mail content denied", "message filtered", "probable spam",
    "high probability of spam", "classified as spam", "identified as spam", "detected as spam",
    "looks like spam", "spam score", "spamassassin", "message rejected as spam",
    "rejected for policy reasons", "blacklisted url in message", "uribl", "surbl",
    "recurrent pattern detection", "message rejected because of unacceptable content",
    "message rejected due to suspected spam content", "your message has been temporarily blocked by our filter",
    "antispam", "anti-spam", "greylisted*please try again in", "spam points",
    "{spam|spammer|spammers|spamming|spammy}",  // the word, not a DNS list's name (spamhaus, spamcop)
  }, {}},
  {"speeding", {
    "rate limit", "ratelimit", "rate-limit", "too many messages", "too many recipients from",
    "sending too fast", "too fast", "exceeded the rate", "rate exceeded", "throttl",
    "messages per", "too many emails", "unusual rate",
    "receiving mail at a rate that prevents",
  }, {"too many messages in this mailbox", "mailbox", "connection rate limit", "frequency limited"}},
  {"toomanyconn", {
    // frame: the server's limit on connections or sessions (RFC 3463 X.4.5, X.3.2 when busy)
    "{connection|connections|session|sessions}~{limit|limited|limits|rate limit}",
    "too many connections", "frequency limited", "too many concurrent", "too many simultaneous", "too many sessions",
    "connection limit", "connections per", "too many smtp sessions", "max connections",
    "too many hosts", "concurrent connections", "too many recipients",
  }, {}},
  {"blocked", {
    // frames: the client's IP address or connection refused (RFC 3463 X.7.1 at connect)
    "{your ip|ip address|client ip|sending ip|ip=}~{blocked|blacklisted|listed|rejected|refused|not allowed|banned|denied}",
    "{invalid|banned|blocked|blacklisted|blocklisted|listed|dynamic|bad} {ip|sending ip|client ip|ip address}",
    "{refused|refuses|refusing|not accepting|rejecting|dropped|reset}~{to talk|connection|connections}",
    "{connection|connections}~{refused|reset|dropped|rejected|not accepted}",
    // one noun class: a list of refused senders (DNS lists, RFC 5782)
    "{black list|blacklist|blacklisted|blacklisting|blocklist|blocklisted|block list|block listed|deny list|denylist|denylisted|dnsbl|rbl}",
    "blocked using", "is in a black list", "spamhaus", "spamcop", "sorbs", "barracudacentral", "abuseat.org",
    "helo command rejected", "sender ip address rejected", "bad sender ip address",
    "banned sending ip", "dynamic ip", "dynamic/zombied", "hosts with dynamic ip",
    "connection dropped", "was blocked by",
    "access denied. ip name lookup", "not currently accepting mail from your ip", "your ip",
    "ip address", "go away", "rejecting open proxy", "not allowed to connect", "you are not allowed to connect",
    // the refusal sends the sender to its access provider: its network is the reason
    "{your|of your} {isp|isp's|internet service provider|internet service provider's}",
    "your server requires confirmation", "confirm this mail server", "access from ip address",
    "your access ip", "has been rejected", "mail server at * is blocked",
    "host network not allowed", "was not authenticated", "extreme bad ip profile",
    "sorry, your remotehost looks suspiciously like spammer", "your network is temporary blacklisted",
    "no access from mail server", "poor reputation", "refused - see http",     "connect*refused",
    "client host", "blocked for",
  }, {}},
  {"virusdetected", {
    "virus", "malware", "infected", "trojan", "executable files are not allowed",
  }, {}},
  {"policyviolation", {
    // frames: the message's content or attachment refused by a rule (RFC 3463 X.7.0 at DATA)
    "{illegal|prohibited|forbidden|banned|blocked|disallowed|dangerous|unsafe}~{attachment|attachments|content|file type|file types}",
    "{attachment|attachments|file type|file types}~{not allowed|not permitted|prohibited|forbidden|banned|blocked}",
    "header error", "policy reasons", "organization policy",
    "organizational settings", "header are not accepted", "closed mailing list",
    "by non-member to a members-only list", "members-only", "not subscribed to this group",
    "we do not accept messages containing", "you're using a mass mailer", "message given low priority",
    "messages with multiple addresses", "email rejected due to security policies",
    "because the recipient is not accepting mail with", "policy", "attachment",
    "this message was blocked because its content presents a potential",
    "violation",
  }, {}},
  {"systemerror", {
    "{transaction|service}~{failed|currently unavailable|temporarily unavailable}",
    // frame: the receiving system's own failure (RFC 3463 X.3.0, X.3.5)
    "{system|internal|local|configuration|config|upstream|processing|write}~{error|failure|problem}",
    "system error", "internal error", "local error in processing", "local configuration error",
    "mail system configuration error", "server configuration error", "system config error",
    "temporary local problem", "interrupted system call",
    "aliasing/forwarding loop broken", "it would create a mail loop", "loops back to myself",
    "loop was found in the mail exchanger", "remote server is misconfigured",
    "timeout waiting for input", "can't create user output file",
    "could not load drd for domain", "it encountered an error while being processed",
    "recipient deferred because there is no mdb", "unable to connect * daemon",
    "server error", "internal server error", "misconfigur",
  }, {}},
  {"networkerror", {
    "{no route to|unable to establish|wasn't able to establish|could not establish|couldn't establish} {host|an smtp connection|a connection|smtp connection|connection}",
    // frame: a name-service or network failure (RFC 3463 X.4.3, X.4.4)
    "{dns|name server|nameserver|network|lookup}~{error|failure|timeout|unreachable}",
    "host not found, try again", "host is unreachable",
    "network is unreachable", "malformed name server reply", "malformed or unexpected name server reply",
    "mail forwarding loop", "forwarding loop", "message looping",
    "unable to resolve route", "unrouteable mail domain", "dns records for the destination computer could not be found",
    "could not connect and send the mail to", "name server timeout", "dns lookup", "dns error",
    "temporary dns", "mail loop", "loop detected", "no answer from",
    " hop",
  }, {}},
  {"securityerror", {
    // frames: SMTP AUTH or TLS required or failed (RFC 4954 X.7.8/X.7.9, RFC 3207 X.7.10/X.7.11)
    "{authentication|smtp authentication|starttls|tls|encryption|unauthenticated|not authenticated}~{required|failed|failure|needed|is required|not allowed|not permitted}",
    "{must|please|turn on|requires|require}~{authenticate|authentication|starttls|tls|encryption}",
    "turn on smtp authentication", "authentication failure", "authentication failed", "authentication credentials invalid",
    "authentication turned on in your email client",
    "you are not authorized to send mail, authentication is required", "must authenticate",
    "verification failure", "account not subscribed to ses", "is not authorized to perform ses",
    "insecure mail relay", "sorry, you don't authenticate", "tls required", "requires tls",
    "encryption required", "must issue a starttls", "starttls", "certificate",
    "smtp authentication",
  }, {}},
  {"notaccept", {
    // frames: the domain takes no mail at all (RFC 7505 null MX; RFC 5321 5.1 no MX)
    "{no|null|find no|found no|couldn't find a|could not find a|can't find a|cannot find a|unable to find a} {smtp service|mail service|mx|mx record|mx records|mail exchanger}",
    "{doesn't|does not|not|don't|do not} {accept|receive|accepting|receiving}~{mail|email|e-mail|messages}",
    "does not accept any mail", "not accepting mail", "null mx", "nullmx",
    "mail receiving disabled", "host/domain does not accept mail",
    "no route for current request", "smtp protocol returned a permanent error",
    "name server: .: host not found", "doesn't receive email",
    "does not receive email", "null mx",
    "no mx",
  }, {}},
  {"expired", {
    // frames: delivery given up after a time or a number of tries (RFC 3463 X.4.7)
    "{deliver|delivered|delivery}~{ day| days| hour| hours| minutes| seconds| attempts| tries| retries}",
    "{host|server|remote host|mail server}~{not responding|did not respond|no response|not reachable}",
    kExpiredOutcome,
    "delivery time expired", "delivery expired", "message expired", "retry time not reached",
    "has been delayed", "delivery attempts will continue", "giving up on", "have been failing for a long time", "message timed out",
    "unable to deliver message after multiple retries", "was not reachable within the allowed queue period",
    "could not be delivered for * days", "your message could not be delivered for more than",
    "it has not been collected after", "server did not respond", "connection timed out",
    "could not find a gateway for", "failed to deliver to domain ", "timeout", "timed out",
    "retry timeout exceeded", "message could not be delivered within",
    "delivery to the following recipients has been delayed", "not yet been delivered",
    "temporarily unable to deliver", "deferred", "giving up",
    "did not accept our requests to connect",
    "expired",
    "too long",
  }, {}},
  {"mailererror", {
    // frame: the local delivery program failed (RFC 3464 2.3.6 X-Unix diagnostics, RFC 3463 X.3.0)
    // (a program's name may lead its own message: "procmail: Lock failure")
    "{mailer|program|command|pipe|procmail|local delivery|delivery program}{:|}~{error|failed|died|exited|exit code|failure}",
    "x-unix", "procmail", "mail.local", "command died", "command failed", "exit code",
    "exited with", "pipe to |", "unknown mailer error", "local delivery failed",
    "permission denied", "execution failed", "program exited",
  }, {}},
  {"systemfull", {
    "mail system full", "requested mail action aborted: exceeded storage allocation",
    "insufficient system storage", "system storage", "disk full", "spool full",
  }, {}},
  {"filtered", {
    "message filtered", "filtered", "user reject", "user refuses to receive", "refuse to receive mail",
    "you have been blocked by the recipient", "recipient is only accepting mail from specific",
    "refused due to recipient preferences", "message rejected due to user rules", "has restricted sms e-mail",
    "account is protected by", "is not accepting any mail", "bounced address", "not found recipient account",
    "rejected by recipient", "recipient's filter", "blocked by the recipient", "does not accept mail from you",
  }, {}},
  {"syntaxerror", {
    "syntax error", "command unrecognized", "unrecognized command", "command not recognized",
    "bad sequence of commands", "line too long", "invalid command",
  }, {}},
  {"vacation", {
    "out of office", "out of the office", "away from my office", "on vacation", "i am away",
    "auto-reply", "autoreply", "automatic reply", "i will be out", "i'm away", "abwesend",
  }, {}},
};
// clang-format on

const reason_table* table(std::string_view reason) {
  for (const auto& t : kTables)
    if (t.reason == reason) return &t;
  return nullptr;
}

bool matches(const reason_table& t, std::string_view lower_text) {
  if (lower_text.empty()) return false;
  for (auto p : t.exclude)
    if (phrase_matches(lower_text, p)) return false;
  for (auto p : t.patterns)
    if (phrase_matches(lower_text, p) && !phrase_disabled(t.reason, p)) return true;
  return false;
}

// The pattern of `reason`'s table that matches, or "".
std::string_view matching_pattern(std::string_view reason, std::string_view lower_text) {
  const auto* t = table(reason);
  if (t == nullptr || lower_text.empty()) return {};
  for (auto p : t->exclude)
    if (phrase_matches(lower_text, p)) return {};
  for (auto p : t->patterns)
    if (phrase_matches(lower_text, p) && !phrase_disabled(reason, p)) return p;
  return {};
}

bool match(std::string_view reason, std::string_view lower_text) {
  const auto* t = table(reason);
  return t != nullptr && matches(*t, lower_text);
}

// Directory lookups that fail only at RCPT time: an unknown user whatever
// command the text names (Domino/Notes directories, IMail, mobile gateways).
constexpr std::string_view kDirectoryMiss[] = {"not listed in", "invalid final delivery userid",
                                               "valid recipient"};

// Reasons that a later, more specific rule may override (Sisimai "retry").
bool weak_reason(std::string_view r) {
  return r.empty() || r == "undefined" || r == "onhold" || r == "systemerror" ||
         r == "securityerror" || r == "expired" || r == "networkerror" || r == "hostunknown" ||
         r == "userunknown";
}
bool explicit_reason(std::string_view r) {
  return !r.empty() && r != "undefined" && r != "onhold";
}

// The failure is transient (RFC 3463 class 4, RFC 5321 4yz, RFC 3464 2.3.3
// Action: delayed).
bool temporary(const failure_facts& f) {
  return f.status.starts_with("4.") || f.reply_code.starts_with("4") || f.action == "delayed";
}

bool before_data(std::string_view cmd) {
  return cmd == "CONN" || cmd == "EHLO" || cmd == "HELO" || cmd == "MAIL" || cmd == "RCPT";
}

// First pass (a decision is made when the status code and the text agree).
// Order matters: specific mailbox conditions first, connection-level last.
std::string_view probe(const failure_facts& f, std::string_view sname, std::string_view t) {
  const auto& cmd = f.command;
  if (sname == "mailboxfull" || match("mailboxfull", t)) return "mailboxfull";
  // RFC 7372 X.7.20-X.7.29: the authentication verdict is the whole reason.
  if (sname == "authfailure") return "authfailure";
  // X.2.3 is the recipient's own size limit (exceedlimit), X.3.4 the system's.
  if (sname == "mesgtoobig" || (sname != "exceedlimit" && match("mesgtoobig", t)))
    return "mesgtoobig";
  if (sname == "exceedlimit" || match("exceedlimit", t)) return "exceedlimit";
  if (f.reply_code == "525" || match("suspend", t)) return "suspend";
  if (sname == "hasmoved" || match("hasmoved", t)) return "hasmoved";
  if (cmd != "CONN" && cmd != "EHLO" && cmd != "HELO" && match("norelaying", t))
    return "norelaying";
  if (sname == "authfailure" || match("authfailure", t)) return "authfailure";
  if (sname == "userunknown") {
    // x.1.1 unless the text says the refusal was about something else.
    if (!(match("norelaying", t) || match("blocked", t) || match("mailboxfull", t) ||
          match("hasmoved", t) || match("rejected", t) || match("notaccept", t)))
      return "userunknown";
  } else if ((cmd == "RCPT" && match("userunknown", t)) ||
             std::any_of(
                 std::begin(kDirectoryMiss), std::end(kDirectoryMiss), [&](std::string_view p) {
                   return t.find(p) != std::string_view::npos && !phrase_disabled("userunknown", p);
                 })) {
    return "userunknown";
  }
  if (sname == "filtered") {
    if (match("userunknown", t) || match("filtered", t)) return "filtered";
  } else if (!before_data(cmd) && (match("filtered", t) || match("userunknown", t))) {
    return "filtered";
  }
  if (sname == "requireptr" || match("requireptr", t)) return "requireptr";
  if (match("notcompliantrfc", t)) return "notcompliantrfc";
  if (sname == "badreputation" || match("badreputation", t)) return "badreputation";
  if (sname == "contenterror" && match("contenterror", t)) return "contenterror";
  {
    const std::string_view tmp = sname.empty() ? "undefined" : sname;
    if (sname == "rejected") return "rejected";
    if (cmd == "MAIL" || (cmd == "DATA" && tmp != "userunknown") || !explicit_reason(tmp) ||
        tmp == "securityerror" || tmp == "systemerror") {
      if (match("rejected", t)) return "rejected";
    }
  }
  if (sname == "hostunknown") {
    // A domain without a mail exchanger (RFC 5321 5.1, RFC 7505 null MX) is
    // more specific than "unable to route" (X.4.4); X.1.2 names the address's
    // host itself as bad and stays hostunknown.
    if (f.status.size() == 5 && f.status.ends_with(".4.4") && match("notaccept", t))
      return "notaccept";
    if (!match("networkerror", t)) return "hostunknown";
  } else if (match("notaccept", t)) {
    return "notaccept";  // null MX (RFC 7505), no MX at all
  } else if (match("hostunknown", t) && !(temporary(f) && match("networkerror", t))) {
    // A host that does not exist is a permanent condition (RFC 3463 X.1.2 is
    // class 5 only); a lookup that failed for now (4.x.x, 4yz, Action:
    // delayed) and says "not found" is the name service failing (X.4.3).
    return "hostunknown";
  }
  if (!f.status.empty() && !before_data(cmd) &&
      (sname == "spamdetected" || match("spamdetected", t)))
    return "spamdetected";
  if (match("toomanyconn", t)) return "toomanyconn";
  if (match("speeding", t)) return "speeding";
  // "Message expired, connection refused": the outcome (X.4.7) is the reason,
  // the refused connections were why the retries failed.
  if (sname != "blocked" && phrase_matches(t, kExpiredOutcome) &&
      !phrase_disabled("expired", kExpiredOutcome))
    return "expired";
  if (sname == "blocked" || match("blocked", t)) return "blocked";
  return {};
}

// Last resort before "onhold": what the reply code means (RFC 5321 4.2.2-4.2.3)
// for the command it answered (RFC 5321 4.3.2). "" when that says nothing.
std::string_view reason_for_reply(std::string_view code, std::string_view cmd,
                                  std::string_view lower_text) {
  if (code.size() != 3 || (code[0] != '4' && code[0] != '5')) return {};
  // RFC 5321 4.5.3.1.10: the recipients buffer is full: "452 Too many
  // recipients" (552 from older servers, RFC 5321 4.5.3.1.10 and RFC 821).
  if ((code == "452" || code == "552") &&
      lower_text.find("too many recipients") != std::string_view::npos)
    return "toomanyconn";
  if (cmd == "CONN" || cmd == "HELO" || cmd == "EHLO") return "blocked";  // the client refused
  if (cmd == "MAIL" && code[0] == '5') return "rejected";                 // the sender refused
  if (cmd == "RCPT") {
    if (code == "550" || code == "551" || code == "553") return "userunknown";  // mailbox
    if (code == "552" || code == "452") return "mailboxfull";  // storage allocation
  }
  if (cmd == "DATA" && code == "552") return "mesgtoobig";
  // RFC 5321 4.2.3: 421 "Service not available, closing transmission channel"
  // (after connect it is the server, not the client, that is unavailable).
  if (code == "421") return "systemerror";
  return {};
}

// Second pass: phrase tables in fallback order, then what the code says.
// notaccept (RFC 7505 null MX, no MX at all) is more specific than a DNS failure.
constexpr std::string_view kFallbackOrder[] = {
    "mailboxfull",   "authfailure",     "badreputation", "speeding",    "spamdetected",
    "virusdetected", "policyviolation", "norelaying",    "systemerror", "notaccept",
    "networkerror",  "suspend",         "contenterror",  "systemfull",  "expired",
    "securityerror", "mailererror",
};

std::string another(const failure_facts& f, std::string_view sname, std::string_view t) {
  if (weak_reason(sname) || !text::iequals(f.diagnostic_type, "SMTP")) {
    for (auto r : kFallbackOrder)
      if (match(r, t)) return std::string(r);
    if (!sname.empty()) return std::string(sname);
    // Non-SMTP diagnostics (X-Unix, X-Notes, free text): the address-level tables.
    if (!text::iequals(f.diagnostic_type, "SMTP"))
      for (auto r : {"hostunknown", "userunknown"})
        if (match(r, t)) return std::string(r);
    if (f.status.size() > 3) {
      auto subject = f.status.substr(1, 2);
      if (subject == ".6") return "contenterror";
      if (subject == ".7") return "securityerror";
    }
    if (text::istarts_with(f.diagnostic_type, "X-UNIX")) return "mailererror";
    if (match("syntaxerror", t) ||
        (f.reply_code.size() == 3 && f.reply_code[0] == '5' && f.reply_code[1] == '0' &&
         f.reply_code[2] >= '0' && f.reply_code[2] <= '4'))
      return "syntaxerror";
    if (f.action == "delayed" || f.action == "expired") return "expired";
    if (f.command == "EHLO" || f.command == "HELO") return "blocked";
  }
  return std::string(sname);
}

}  // namespace

bool is_status_code(std::string_view s) {
  // RFC 3463 section 2: class "." subject "." detail; subject 1-3 digits, detail 1-3 digits.
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::size_t i = 2, n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++n;
  if (n == 0 || n > 3 || i >= s.size() || s[i] != '.') return false;
  ++i;
  n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++n;
  return n > 0 && n <= 3 && i == s.size();
}

std::string_view reason_for_status(std::string_view s) {
  if (!is_status_code(s)) return {};
  // clang-format off
  static constexpr std::pair<std::string_view, std::string_view> kTable[] = {
    {"2.1.5", "delivered"},
    // persistent transient failures (RFC 3463 class 4)
    {"4.1.6", "hasmoved"}, {"4.1.7", "rejected"}, {"4.1.8", "rejected"}, {"4.1.9", "systemerror"},
    {"4.2.1", "blocked"}, {"4.2.2", "mailboxfull"}, {"4.2.3", "exceedlimit"}, {"4.2.4", "filtered"},
    {"4.3.1", "systemfull"}, {"4.3.2", "notaccept"}, {"4.3.3", "systemerror"}, {"4.3.5", "systemerror"},
    {"4.4.1", "expired"}, {"4.4.2", "networkerror"}, {"4.4.3", "systemerror"}, {"4.4.4", "networkerror"},
    {"4.4.5", "systemfull"}, {"4.4.6", "networkerror"}, {"4.4.7", "expired"}, {"4.4.8", "networkerror"},
    {"4.5.3", "systemerror"}, {"4.5.5", "systemerror"},
    {"4.6.0", "contenterror"}, {"4.6.2", "contenterror"}, {"4.6.5", "contenterror"},
    {"4.7.1", "blocked"}, {"4.7.2", "blocked"}, {"4.7.5", "securityerror"}, {"4.7.6", "securityerror"},
    {"4.7.7", "securityerror"}, {"4.7.12", "securityerror"}, {"4.7.15", "securityerror"},
    {"4.7.16", "mesgtoobig"}, {"4.7.24", "authfailure"}, {"4.7.25", "requireptr"}, {"4.7.26", "authfailure"},
    // permanent failures (class 5)
    {"5.1.0", "userunknown"}, {"5.1.1", "userunknown"}, {"5.1.2", "hostunknown"}, {"5.1.3", "userunknown"},
    {"5.1.4", "filtered"}, {"5.1.6", "hasmoved"}, {"5.1.7", "rejected"}, {"5.1.8", "rejected"},
    {"5.1.9", "systemerror"}, {"5.1.10", "notaccept"},  // RFC 7505 null MX
    {"5.2.0", "filtered"}, {"5.2.1", "filtered"}, {"5.2.2", "mailboxfull"}, {"5.2.3", "exceedlimit"},
    {"5.2.4", "filtered"},
    {"5.3.0", "systemerror"}, {"5.3.1", "systemfull"}, {"5.3.2", "notaccept"}, {"5.3.3", "systemerror"},
    {"5.3.4", "mesgtoobig"}, {"5.3.5", "systemerror"},
    {"5.4.0", "networkerror"}, {"5.4.3", "systemerror"}, {"5.4.4", "hostunknown"},
    {"5.5.2", "syntaxerror"}, {"5.5.3", "toomanyconn"}, {"5.5.4", "systemerror"}, {"5.5.5", "systemerror"},
    {"5.5.6", "syntaxerror"},
    {"5.6.0", "contenterror"}, {"5.6.1", "contenterror"}, {"5.6.2", "contenterror"}, {"5.6.3", "contenterror"},
    {"5.6.5", "contenterror"}, {"5.6.6", "contenterror"}, {"5.6.7", "contenterror"}, {"5.6.8", "contenterror"},
    {"5.6.9", "contenterror"},
    // 5.7.0 (other security) and 5.7.1 (delivery not authorized) say only "refused":
    // the text decides, the class is the last resort (another()).
    {"5.7.2", "securityerror"}, {"5.7.3", "securityerror"},
    {"5.7.4", "securityerror"}, {"5.7.5", "securityerror"}, {"5.7.6", "securityerror"}, {"5.7.7", "securityerror"},
    {"5.7.8", "securityerror"}, {"5.7.9", "securityerror"}, {"5.7.10", "securityerror"}, {"5.7.11", "securityerror"},
    {"5.7.13", "suspend"}, {"5.7.14", "securityerror"}, {"5.7.15", "securityerror"}, {"5.7.16", "mesgtoobig"},
    {"5.7.17", "hasmoved"}, {"5.7.18", "hasmoved"}, {"5.7.19", "securityerror"},
    {"5.7.20", "authfailure"}, {"5.7.21", "authfailure"}, {"5.7.22", "authfailure"}, {"5.7.23", "authfailure"},
    {"5.7.24", "authfailure"}, {"5.7.25", "requireptr"}, {"5.7.26", "authfailure"}, {"5.7.27", "notaccept"},
    {"5.7.28", "spamdetected"}, {"5.7.29", "authfailure"}, {"5.7.30", "failedstarttls"},
  };
  // clang-format on
  for (const auto& [code, reason] : kTable)
    if (code == s) return reason;
  return {};
}

std::string_view reason_for_text(std::string_view diagnostic) {
  const std::string t = text::lower(diagnostic);
  for (auto r : kFallbackOrder)
    if (match(r, t)) return r;
  for (auto r : {"userunknown", "hostunknown", "rejected", "blocked", "filtered"})
    if (match(r, t)) return r;
  return {};
}

std::vector<std::string_view> matching_phrases(std::string_view reason,
                                               std::string_view diagnostic) {
  std::vector<std::string_view> out;
  const auto* t = table(reason);
  const std::string l = text::lower(diagnostic);
  if (t == nullptr || l.empty()) return out;
  for (auto p : t->exclude)
    if (phrase_matches(l, p)) return out;
  for (auto p : t->patterns)
    if (phrase_matches(l, p)) out.push_back(p);
  return out;
}

bool text_matches(std::string_view reason, std::string_view diagnostic) {
  return match(reason, text::lower(diagnostic));
}

namespace {

// Which evidence decided `reason` (instrumentation, see classify.hpp).
std::string explain(const failure_facts& f, std::string_view reason, std::string_view t) {
  const std::string r(reason);
  if (reason_for_status(f.status) == reason) return "status:" + std::string(f.status);
  if (auto p = matching_pattern(reason, t); !p.empty()) return "phrase:" + r + ":" + std::string(p);
  if (reason == "filtered")
    if (auto p = matching_pattern("userunknown", t); !p.empty())
      return "phrase:userunknown:" + std::string(p) + "+after-rcpt";
  if (f.preset_reason == reason) return "producer:" + std::string(f.producer) + ":" + r;
  if (f.status.size() > 3 && (reason == "contenterror" || reason == "securityerror"))
    return "status-class:x" + std::string(f.status.substr(1, 2));
  if (reason == "suspend" && f.reply_code == "525") return "reply:525";
  if (reason == "syntaxerror") return "reply:" + std::string(f.reply_code);
  if (reason == "mailererror") return "diagnostic-type:x-unix";
  if (reason == "expired" && (f.action == "delayed" || f.action == "expired"))
    return "action:" + std::string(f.action);
  if (reason == "blocked" && (f.command == "EHLO" || f.command == "HELO"))
    return "command:" + std::string(f.command);
  if (reason == "vacation") return "phrase:vacation";
  if (!f.reply_code.empty() && reason_for_reply(f.reply_code, f.command, t) == reason)
    return "reply:" + std::string(f.reply_code) + "@" + std::string(f.command);
  return "default:" + r;
}

std::string decide(const failure_facts& f, std::string_view t) {
  std::string_view sname = reason_for_status(f.status);
  // An address code given in reply to MAIL FROM is about the sender's address
  // (RFC 5321 4.3.2: MAIL is answered before any recipient is named; RFC 3463
  // X.1.7/X.1.8 are the sender's codes, servers reuse X.1.0/X.1.1/X.1.3).
  if (f.command == "MAIL" && sname == "userunknown") sname = "rejected";
  if (sname.empty() && explicit_reason(f.preset_reason) &&
      !rule_disabled("producer:" + std::string(f.producer) + ":" + std::string(f.preset_reason)))
    sname = f.preset_reason;
  std::string reason;
  if (f.diagnostic_type.empty() || text::iequals(f.diagnostic_type, "SMTP") ||
      text::iequals(f.diagnostic_type, "X-Postfix")) {
    reason = std::string(probe(f, sname, t));
  }
  if (reason.empty() || reason == "undefined") {
    reason = another(f, sname, t);
    if (reason == "undefined") reason.clear();
    if (reason.empty() && f.action == "delayed") reason = "expired";
    if (reason.empty()) reason = std::string(reason_for_reply(f.reply_code, f.command, t));
    if (reason.empty()) {
      if (match("vacation", t))
        reason = "vacation";
      else if (!t.empty())
        reason = "onhold";
      else
        reason = "undefined";
    }
  }
  return reason;
}

}  // namespace

std::string classify(const failure_facts& f) {
  return classify(f, nullptr);
}

void set_disabled_rules(const std::set<std::string>* rules) {
  g_disabled = rules;
}

bool rule_disabled(std::string_view rule) {
  return g_disabled != nullptr && g_disabled->count(std::string(rule)) > 0;
}

std::string classify(const failure_facts& f, std::string* rule) {
  if (explicit_reason(f.preset_reason) && !weak_reason(f.preset_reason) &&
      !rule_disabled("producer:" + std::string(f.producer) + ":" + std::string(f.preset_reason))) {
    if (rule) *rule = "producer:" + std::string(f.producer) + ":" + std::string(f.preset_reason);
    return std::string(f.preset_reason);
  }
  if (f.status.starts_with("2.")) {
    if (rule) *rule = "status:2.x.x";
    return "delivered";
  }
  const std::string t = text::lower(f.diagnostic);
  std::string reason = decide(f, t);
  if (rule) *rule = explain(f, reason, t);
  return reason;
}

std::string pseudo_status(std::string_view reason, bool temporary) {
  // clang-format off
  static constexpr std::pair<std::string_view, int> kCodes[] = {
    {"authfailure", 926}, {"badreputation", 975}, {"blocked", 971}, {"contenterror", 960},
    {"exceedlimit", 923}, {"expired", 947}, {"failedstarttls", 976}, {"filtered", 910},
    {"hasmoved", 916}, {"hostunknown", 912}, {"mailboxfull", 922}, {"mailererror", 939},
    {"mesgtoobig", 934}, {"networkerror", 944}, {"norelaying", 909}, {"notaccept", 932},
    {"notcompliantrfc", 974}, {"onhold", 901}, {"policyviolation", 972}, {"rejected", 918},
    {"requireptr", 973}, {"securityerror", 970}, {"spamdetected", 980}, {"speeding", 946},
    {"suppressed", 903}, {"suspend", 921}, {"systemerror", 930}, {"systemfull", 931},
    {"syntaxerror", 902}, {"toomanyconn", 945}, {"userunknown", 911}, {"undefined", 900},
    {"virusdetected", 981},
  };
  // clang-format on
  for (const auto& [r, code] : kCodes) {
    if (r == reason) {
      // Hard failures of the address itself have no temporary form.
      const bool temp = temporary && r != "hostunknown" && r != "userunknown" && r != "hasmoved";
      return std::string(temp ? "4" : "5") + ".0." + std::to_string(code);
    }
  }
  return {};
}

}  // namespace mxg::ndr
