// from.cpp: the Author Domain of a message (RFC 9989 3.2.2, 4.4, 5.3.1): the one domain
// of the RFC5322.From field (RFC 5322 3.6.2 "from = From: mailbox-list", 3.4 address
// syntax, 4.4 obsolete syntax; RFC 6532 3.2 UTF-8), as an A-label (RFC 5890 2.3).
// The address parser is recursive descent over RFC 5322 3.4:
//   mailbox-list = mailbox *("," mailbox) / obs-mbox-list
//   mailbox      = name-addr / addr-spec;  name-addr = [display-name] angle-addr
//   angle-addr   = [CFWS] "<" [obs-route] addr-spec ">" [CFWS]
//   addr-spec    = local-part "@" domain;  domain = dot-atom / domain-literal / obs-domain
//   group        = display-name ":" [group-list] ";" [CFWS]   (accepted, RFC 5322 3.4
//                  allows it in address lists; its mailboxes count like any other)
// Comments nest (3.2.2), quoted-pairs are honoured, empty list elements (obs-mbox-list)
// are skipped, bytes >= 0x80 are atext (RFC 6532 3.2). Nothing is guessed: anything
// else is an error with the offset.
// Security: peer data. The unfolded value is capped (kFromMax), comment nesting is
// capped (kCommentDepthMax), the parser never throws and allocates per address only.
#include "dmarc/from.hpp"

#include <idn2.h>

#include <cstdlib>
#include <set>

#include "base/ascii.hpp"

namespace mxg::dmarc {

namespace {

constexpr int kCommentDepthMax = 32;         // our cap on nested comments
constexpr std::size_t kAddressesMax = 1000;  // our cap on addresses in one From field
constexpr std::size_t kDomainMax = 253;      // RFC 1035 2.3.4 (presentation form)
constexpr std::size_t kLabelMax = 63;        // RFC 1035 2.3.4

bool is_atext(unsigned char c) {
  return ascii::is_atext(c) || c >= 0x80;  // RFC 6532 3.2: UTF-8 non-ASCII is atext
}

class parser {
 public:
  explicit parser(std::string_view s) : s_(s) {}

  mxg::result<std::vector<std::string>> address_list() {
    std::vector<std::string> domains;
    while (true) {
      if (auto e = cfws(); !e) return std::unexpected(e.error());
      if (at_end()) break;
      if (peek() == ',') {  // obs-mbox-list: empty elements
        ++i_;
        continue;
      }
      if (auto e = address(domains, false); !e) return std::unexpected(e.error());
      if (domains.size() > kAddressesMax)
        return fail(errc::limit_exceeded,
                    "more than " + std::to_string(kAddressesMax) + " addresses in From");
      if (auto e = cfws(); !e) return std::unexpected(e.error());
      if (at_end()) break;
      if (peek() != ',') return err("expected ',' between addresses");
      ++i_;
    }
    return domains;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;

  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }

  std::unexpected<error> err(const std::string& what) const {
    return fail(errc::parse_error, what + " at offset " + std::to_string(i_));
  }

  // CFWS (3.2.2): WSP, CR, LF (the value may still be folded) and nested comments.
  mxg::result<void> cfws() {
    while (!at_end()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i_;
      } else if (c == '(') {
        int depth = 0;
        while (!at_end()) {
          char d = s_[i_++];
          if (d == '\\') {
            if (at_end()) return err("quoted-pair at the end of a comment");
            ++i_;
          } else if (d == '(') {
            if (++depth > kCommentDepthMax) return err("comments nested too deep");
          } else if (d == ')') {
            if (--depth == 0) break;
          }
        }
        if (depth != 0) return err("unterminated comment");
      } else {
        break;
      }
    }
    return {};
  }

  // quoted-string (3.2.4); returns its content without the quotes.
  mxg::result<std::string> quoted_string() {
    std::string out;
    ++i_;  // the opening DQUOTE
    while (!at_end()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (at_end()) break;
        out += s_[i_++];
      } else {
        out += c;
      }
    }
    return err("unterminated quoted string");
  }

  std::string atom() {
    std::size_t b = i_;
    while (!at_end() && is_atext(static_cast<unsigned char>(peek()))) ++i_;
    return std::string(s_.substr(b, i_ - b));
  }

  // One address (mailbox or group) at the current position; domains appended.
  mxg::result<void> address(std::vector<std::string>& domains, bool in_group) {
    // Read words (atoms, quoted strings) and dots until a special that decides what
    // this is: '<' (name-addr), ':' (group), '@' (addr-spec).
    bool dotted_only = true;  // words so far joined by '.' only: a possible local-part
    bool last_was_word = false;
    std::size_t words = 0;
    while (true) {
      if (auto e = cfws(); !e) return e;
      if (at_end()) return err("address without '@'");
      char c = peek();
      if (c == '"') {
        if (auto q = quoted_string(); !q) return std::unexpected(q.error());
        if (last_was_word) dotted_only = false;
        last_was_word = true;
        ++words;
      } else if (c == '.') {  // obs-phrase allows '.', a local-part joins words with it
        ++i_;
        last_was_word = false;
      } else if (is_atext(static_cast<unsigned char>(c))) {
        atom();
        if (last_was_word) dotted_only = false;
        last_was_word = true;
        ++words;
      } else {
        break;
      }
    }
    char c = peek();
    if (c == '<') {
      ++i_;
      return angle_addr(domains);
    }
    if (c == ':') {
      if (in_group) return err("group inside a group");
      if (words == 0) return err("group without a name");
      ++i_;
      // group-list = mailbox-list / CFWS / obs-group-list, ended by ';'
      while (true) {
        if (auto e = cfws(); !e) return e;
        if (at_end()) return err("group without ';'");
        if (peek() == ';') {
          ++i_;
          return {};
        }
        if (peek() == ',') {
          ++i_;
          continue;
        }
        if (auto e = address(domains, true); !e) return e;
        if (auto e = cfws(); !e) return e;
        if (at_end()) return err("group without ';'");
        if (peek() == ',')
          ++i_;
        else if (peek() != ';')
          return err("expected ',' or ';' in a group");
      }
    }
    if (c == '@') {
      if (words == 0 || !dotted_only || !last_was_word) return err("invalid local-part");
      ++i_;
      return domain(domains);
    }
    return err(std::string("unexpected '") + c + "'");
  }

  // After '<': [obs-route] addr-spec '>'.
  mxg::result<void> angle_addr(std::vector<std::string>& domains) {
    if (auto e = cfws(); !e) return e;
    if (!at_end() && peek() == '@') {  // obs-route = obs-domain-list ":" (4.4)
      auto colon = s_.find(':', i_);
      auto close = s_.find('>', i_);
      if (colon == std::string_view::npos || close < colon) return err("invalid route");
      i_ = colon + 1;
      if (auto e = cfws(); !e) return e;
    }
    // local-part: words joined by '.'
    bool need_word = true;
    while (true) {
      if (auto e = cfws(); !e) return e;
      if (at_end()) return err("unterminated '<'");
      char c = peek();
      if (c == '"') {
        if (!need_word) return err("invalid local-part");
        if (auto q = quoted_string(); !q) return std::unexpected(q.error());
        need_word = false;
      } else if (is_atext(static_cast<unsigned char>(c))) {
        if (!need_word) return err("invalid local-part");
        atom();
        need_word = false;
      } else if (c == '.') {
        if (need_word) return err("invalid local-part");
        ++i_;
        need_word = true;
      } else {
        break;
      }
    }
    if (at_end() || peek() != '@' || need_word) {
      // "<>" and "<user>" have no domain
      return err("address without a domain");
    }
    ++i_;
    if (auto e = domain(domains); !e) return e;
    if (auto e = cfws(); !e) return e;
    if (at_end() || peek() != '>') return err("expected '>'");
    ++i_;
    return {};
  }

  // domain = dot-atom / domain-literal / obs-domain (atoms joined by '.', CFWS around).
  mxg::result<void> domain(std::vector<std::string>& domains) {
    if (auto e = cfws(); !e) return e;
    if (!at_end() && peek() == '[') return err("domain literal: no domain to look up");
    std::string d;
    bool need_atom = true;
    while (true) {
      if (auto e = cfws(); !e) return e;
      if (at_end()) break;
      char c = peek();
      if (is_atext(static_cast<unsigned char>(c))) {
        if (!need_atom) return err("invalid domain");
        d += atom();
        need_atom = false;
      } else if (c == '.') {
        if (need_atom) return err("invalid domain");
        ++i_;
        d += '.';
        need_atom = true;
      } else {
        break;
      }
    }
    if (d.empty() || need_atom) return err("invalid domain");
    domains.push_back(std::move(d));
    return {};
  }
};

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

}  // namespace

mxg::result<std::string> to_a_label(std::string_view domain) {
  if (domain.size() > kFromMax) return fail(errc::invalid_argument, "domain too long");
  std::string d;
  if (has_non_ascii(domain)) {
    // RFC 9989 5.3.1, RFC 5890 2.3: U-labels to A-labels (IDNA 2008 with UTS #46
    // non-transitional mapping, which also lower-cases and NFC-normalizes).
    std::string in(domain);
    uint8_t* out = nullptr;
    int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(in.c_str()), &out,
                            IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
      if (out) idn2_free(out);
      return fail(errc::invalid_argument,
                  std::string("not a valid internationalized domain: ") + idn2_strerror(rc));
    }
    d = reinterpret_cast<const char*>(out);
    idn2_free(out);
  } else {
    d = std::string(domain);
  }
  ascii::lower_in_place(d);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty()) return fail(errc::invalid_argument, "empty domain");
  if (d.size() > kDomainMax) return fail(errc::invalid_argument, "domain over 253 octets");
  std::size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return fail(errc::invalid_argument, "empty label in domain");
      label = 0;
      continue;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (!ascii::is_alpha(u) && !ascii::is_digit(u) && c != '-' && c != '_')
      return fail(errc::invalid_argument, "domain holds a character DNS names here cannot");
    if (++label > kLabelMax) return fail(errc::invalid_argument, "label over 63 octets");
  }
  if (label == 0) return fail(errc::invalid_argument, "empty label in domain");
  return d;
}

mxg::result<std::vector<std::string>> parse_from_domains(std::string_view value) {
  if (value.size() > kFromMax)
    return fail(errc::limit_exceeded, "From field over " + std::to_string(kFromMax) + " bytes");
  return parser(value).address_list();
}

from_domain extract_from_domain(const mail::header_block& h) {
  from_domain out;
  const mail::field* from = nullptr;
  std::size_t count = 0;
  for (const auto& f : h.fields) {
    if (mail::name_is(f, "From")) {
      ++count;
      if (!from) from = &f;
    }
  }
  // RFC 5322 3.6: exactly one From. RFC 9989 4.4: with an absent or repeated From there
  // is no reliable way to determine a DMARC Policy Record.
  if (count == 0) {
    out.error = "no From";
    return out;
  }
  if (count > 1) {
    out.error = "several From fields";
    return out;
  }
  if (from->value.size() > kFromMax) {
    out.error = "From field too long";
    return out;
  }
  std::string value = mail::unfold(from->value);
  auto domains = parse_from_domains(value);
  if (!domains) {
    out.error = "unparseable From: " + domains.error().message;
    return out;
  }
  std::set<std::string> distinct;
  for (const auto& d : *domains) {
    auto a = to_a_label(d);
    if (!a) {
      out.error = "invalid From domain: " + a.error().message;
      return out;
    }
    distinct.insert(*a);
  }
  // RFC 9989 5.3.1: zero or more than one domain: DMARC validation is not possible.
  if (distinct.empty()) {
    out.error = "no address in From";
    return out;
  }
  if (distinct.size() > 1) {
    out.error = "several From domains";
    return out;
  }
  out.ok = true;
  out.domain = *distinct.begin();
  return out;
}

}  // namespace mxg::dmarc
