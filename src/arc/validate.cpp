// validate.cpp: ARC chain validation, RFC 8617 5.2 (validator actions), 4.1 (the three
// ARC fields and their tags), 5.1.1 (the ARC-Seal hash input: every ARC set up to the
// seal's instance, AAR, AMS, AS in that order, relaxed header canonicalization, the seal's
// own b= value removed, no final CRLF), 4.1.2 (the AMS is a DKIM signature without v=,
// with i= the instance), RFC 6376 3.5/3.7/5.4.2 for the AMS (tags, hash input, bottom-up
// h= selection), RFC 8301 (rsa-sha1 and RSA keys under 1024 bits fail).
// Must never: trust a field before the whole chain's structure is checked, store the
// body, grow without a cap (header bytes, fields, instances), throw or abort on input.
#include "arc/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <unordered_map>

#include "base/ascii.hpp"
#include "dkim/canon.hpp"
#include "dkim/crypto.hpp"
#include "dkim/key_record.hpp"
#include "dkim/signature.hpp"
#include "dkim/tag_list.hpp"
#include "dkim/verifier.hpp"
#include "dns/memory_zone.hpp"
#include "mail/header.hpp"

namespace mxg::arc {

namespace {

// Our cap on ARC fields looked at: 3 per set, 50 sets (RFC 8617 4.2.1), and some slack so
// that a duplicate is still seen as a duplicate; past it the chain fails.
constexpr std::size_t kArcFieldsMax = 3 * kInstancesMax + 6;
constexpr std::size_t kHeaderBytesMax = dkim::kHeaderBytesMax;

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

enum class kind : std::uint8_t { aar, ams, seal };

const char* kind_name(kind k) {
  return k == kind::aar   ? "ARC-Authentication-Results"
         : k == kind::ams ? "ARC-Message-Signature"
                          : "ARC-Seal";
}

// RFC 6376 3.5 domain / selector syntax (sub-domain labels, plus '_' as real names use).
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t label = 0;
  for (char ch : d) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(ascii::is_alpha(c) || ascii::is_digit(c) || c == '-' || c == '_')) return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

// 1*DIGIT with an overflow cap (values past int64 clamp to the maximum).
std::optional<std::int64_t> parse_number(std::string_view v) {
  if (v.empty() || v.size() > 20) return std::nullopt;
  std::int64_t n = 0;
  for (char c : v) {
    if (!ascii::is_digit(static_cast<unsigned char>(c))) return std::nullopt;
    if (n > (INT64_MAX - 9) / 10) return INT64_MAX;
    n = n * 10 + (c - '0');
  }
  return n;
}

// RFC 8617 4.2.1: instance = 1*2DIGIT in 1..50 (leading zeros read as the number).
std::optional<int> parse_instance(std::string_view v) {
  auto n = parse_number(v);
  if (!n || *n < 1 || *n > kInstancesMax) return std::nullopt;
  return static_cast<int>(*n);
}

// One ARC field as read (any of the three).
struct arc_field {
  kind k = kind::aar;
  std::size_t field = 0;  // index in the header's fields
  int instance = 0;       // 0: unreadable (error says why)
  std::string error;      // structure problem: the chain fails
  // AMS and AS: the signature (sig_error says why it cannot verify; not a structure
  // problem: the chain fails only if this signature must verify).
  std::string sig_error;
  dkim::signature sig;  // alg, algorithm_text, domain, selector, identity, b, bh, canon,
                        // headers, length, b_begin/b_end
  std::string cv;       // AS cv=, lower case
  std::string aar;      // AAR payload after "i=N;"
  int hasher = -1;      // AMS: body hasher index
};

// RFC 8617 4.1.1: arc-info = instance [CFWS] ";" authres-payload, instance = [CFWS]
// %s"i" [CFWS] "=" [CFWS] 1*2DIGIT. Comments are not expected here; only FWS is skipped.
void read_aar(std::string_view v, arc_field& f) {
  auto fws = [&](std::size_t i) {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')) ++i;
    return i;
  };
  std::size_t i = fws(0);
  if (i >= v.size() || v[i] != 'i') {
    f.error = "ARC-Authentication-Results does not start with i= (RFC 8617 4.1.1)";
    return;
  }
  i = fws(i + 1);
  if (i >= v.size() || v[i] != '=') {
    f.error = "ARC-Authentication-Results does not start with i= (RFC 8617 4.1.1)";
    return;
  }
  i = fws(i + 1);
  std::size_t d = i;
  while (i < v.size() && ascii::is_digit(static_cast<unsigned char>(v[i]))) ++i;
  auto inst = parse_instance(v.substr(d, i - d));
  if (!inst) {
    f.error = fmt::format(
        "ARC-Authentication-Results i={} is not an instance 1..{} (RFC 8617 "
        "4.2.1)",
        v.substr(d, i - d), kInstancesMax);
    return;
  }
  i = fws(i);
  if (i >= v.size() || v[i] != ';') {
    f.error = fmt::format("ARC-Authentication-Results i={} is not followed by ';' (RFC 8617 4.1.1)",
                          *inst);
    return;
  }
  f.instance = *inst;
  f.aar = std::string(ascii::trim_space(mail::unfold(v.substr(i + 1))));
}

// Tags both signatures share: a, b, d, s, t (RFC 8617 4.1.2, 4.1.3; RFC 6376 3.5).
bool read_common(const dkim::tag_list& t, arc_field& f, std::int64_t now) {
  const char* name = kind_name(f.k);
  dkim::signature& s = f.sig;
  auto bad = [&](std::string why) {
    f.sig_error = std::move(why);
    return false;
  };
  if (auto* d = t.find("d")) s.domain = ascii::lower(d->value);
  if (auto* sel = t.find("s")) s.selector = ascii::lower(sel->value);
  if (auto* a = t.find("a")) s.algorithm_text = ascii::lower(a->value);
  if (auto* b = t.find("b")) {
    s.b_text = dkim::strip_fws(b->value);
    s.b_begin = b->raw_begin;
    s.b_end = b->raw_end;
  }
  for (const char* req : {"a", "b", "d", "s"})
    if (!t.find(req)) return bad(fmt::format("{} has no {}= tag (RFC 8617 4.1)", name, req));
  if (s.algorithm_text == "rsa-sha256")
    s.alg = dkim::algorithm::rsa_sha256;
  else if (s.algorithm_text == "ed25519-sha256")
    s.alg = dkim::algorithm::ed25519_sha256;
  else if (s.algorithm_text == "rsa-sha1")
    s.alg = dkim::algorithm::rsa_sha1;  // recognised to be refused with its reason (RFC 8301)
  else
    return bad(fmt::format("{} a={} is not a known algorithm (RFC 8617 4.1, RFC 8301)", name,
                           s.algorithm_text));
  auto b = dkim::decode_base64(t.find("b")->value);
  if (!b || b->empty()) return bad(fmt::format("{} b= is not valid base64", name));
  if (b->size() > dkim::kSignatureBytesMax)
    return bad(fmt::format("{} b= is longer than {} bytes", name, dkim::kSignatureBytesMax));
  s.b = std::move(*b);
  if (!valid_domain(s.domain))
    return bad(
        fmt::format("{} d={} is not a domain name (RFC 6376 3.5)", name, t.find("d")->value));
  if (!valid_domain(s.selector))
    return bad(
        fmt::format("{} s={} is not a valid selector (RFC 6376 3.1)", name, t.find("s")->value));
  s.identity = "@" + s.domain;
  if (auto* ts = t.find("t")) {
    auto n = parse_number(ts->value);
    if (!n) return bad(fmt::format("{} t={} is not a number (RFC 6376 3.5)", name, ts->value));
    s.timestamp = *n;
  }
  if (auto* x = t.find("x")) {
    auto n = parse_number(x->value);
    if (!n) return bad(fmt::format("{} x={} is not a number (RFC 6376 3.5)", name, x->value));
    s.expiration = *n;
    if (s.timestamp && *n <= *s.timestamp)
      return bad(fmt::format("{} x={} is not after t={} (RFC 6376 3.5)", name, *n, *s.timestamp));
    if (now > *n)
      return bad(fmt::format("{} expired at x={} (now {}; RFC 6376 3.5)", name, *n, now));
  }
  return true;
}

// RFC 8617 4.1.2: the AMS has DKIM-Signature's tags (RFC 6376 3.5) but no v=, and i= is
// the instance. c= defaults to simple/simple (RFC 6376 3.5; RFC 8617 4.1.2 changes only the
// name, v= and i=; drafts and dkimpy assumed relaxed, see tests/conformance/arc-skips.txt);
// h= may be empty (the suite's h_empty case:
// nothing but the AMS itself is signed) and may not name ARC-Seal (4.1.2).
void read_ams(const dkim::tag_list& t, arc_field& f, std::int64_t now) {
  if (!read_common(t, f, now)) return;
  dkim::signature& s = f.sig;
  auto bad = [&](std::string why) { f.sig_error = std::move(why); };
  for (const char* req : {"bh", "h"})
    if (!t.find(req))
      return bad(
          fmt::format("ARC-Message-Signature has no {}= tag (RFC 8617 "
                      "4.1.2, RFC 6376 3.5)",
                      req));
  auto bh = dkim::decode_base64(t.find("bh")->value);
  if (!bh || bh->empty()) return bad("ARC-Message-Signature bh= is not valid base64");
  s.bh = std::move(*bh);
  if (auto* c = t.find("c")) {
    std::string cv = ascii::lower(c->value);
    std::string_view hv = cv, bv = "simple";
    if (auto slash = cv.find('/'); slash != std::string::npos) {
      hv = std::string_view(cv).substr(0, slash);
      bv = std::string_view(cv).substr(slash + 1);
    }
    auto one = [](std::string_view x) -> std::optional<dkim::canon> {
      if (x == "simple") return dkim::canon::simple;
      if (x == "relaxed") return dkim::canon::relaxed;
      return std::nullopt;
    };
    auto hc = one(hv), bc = one(bv);
    if (!hc || !bc)
      return bad(
          fmt::format("ARC-Message-Signature c={} is not a known canonicalization (RFC "
                      "6376 3.4)",
                      c->value));
    s.header_canon = *hc;
    s.body_canon = *bc;
  }
  auto names = dkim::split_colon(t.find("h")->value);
  if (names.size() > dkim::kSignedHeadersMax)
    return bad(
        fmt::format("ARC-Message-Signature h= lists more than {} fields", dkim::kSignedHeadersMax));
  for (auto n : names) {
    if (n.empty()) continue;  // "a::b": an empty name selects nothing
    for (char ch : n)
      if (static_cast<unsigned char>(ch) < 33 || static_cast<unsigned char>(ch) > 126)
        return bad("ARC-Message-Signature h= has an invalid field name (RFC 5322 3.6.8)");
    s.headers.push_back(ascii::lower(n));
    if (s.headers.back() == "arc-seal")
      return bad(
          "ARC-Message-Signature h= includes ARC-Seal, which it must not sign (RFC 8617 "
          "4.1.2)");
  }
  if (auto* l = t.find("l")) {
    auto n = parse_number(l->value);
    if (!n) return bad(fmt::format("ARC-Message-Signature l={} is not a number", l->value));
    s.length = static_cast<std::uint64_t>(*n);
  }
}

// RFC 8617 4.1.3: the AS has a, b, cv, d, i, s, t; h= is not allowed (the seal's input is
// fixed by 5.1.1).
void read_seal(const dkim::tag_list& t, arc_field& f, std::int64_t now) {
  if (auto* cv = t.find("cv")) f.cv = ascii::lower(cv->value);
  if (!t.find("cv")) {
    f.error = "ARC-Seal has no cv= tag (RFC 8617 4.1.3)";
    return;
  }
  if (f.cv != "none" && f.cv != "pass" && f.cv != "fail") {
    f.error = fmt::format("ARC-Seal cv={} is not none, pass or fail (RFC 8617 4.1.3)",
                          t.find("cv")->value);
    return;
  }
  if (t.find("h")) {
    f.error = "ARC-Seal has an h= tag, which RFC 8617 4.1.3 forbids";
    return;
  }
  read_common(t, f, now);
}

}  // namespace

struct validator::impl {
  options opt;
  std::int64_t now = 0;
  std::string header;
  bool header_done = false;
  bool header_overflow = false;
  bool ended = false;
  mail::header_block fields;
  std::vector<arc_field> arc;
  bool too_many = false;
  std::vector<dkim::body_hasher> hashers;
  std::vector<std::string> digests;

  void end_header();
  void end_message();
  validation run(const std::map<std::string, dns::answer>& keys);
  std::string verify_sig(const arc_field& f, const std::string& input, std::string& input_hashed,
                         const std::map<std::string, dns::answer>& keys);
};

validator::validator(options o) : p_(std::make_unique<impl>()) {
  p_->opt = std::move(o);
  p_->now = p_->opt.clock ? p_->opt.clock() : system_now();
}

validator::~validator() = default;

void validator::feed(std::string_view chunk) {
  impl& m = *p_;
  if (m.ended) return;
  if (m.header_done) {
    for (auto& h : m.hashers) h.update(chunk);
    return;
  }
  if (m.header_overflow) return;
  // Byte by byte until the empty line (CRLF-normalized, like dkim::verifier), then the
  // body goes to the hashers in bulk.
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    char c = chunk[i];
    if (c == '\n' && (m.header.empty() || m.header.back() != '\r')) m.header += '\r';
    m.header += c;
    if (c == '\n' &&
        (m.header == "\r\n" || (m.header.size() >= 4 && m.header.ends_with("\r\n\r\n")))) {
      m.end_header();
      feed(chunk.substr(i + 1));
      return;
    }
    if (m.header.size() > kHeaderBytesMax) {
      m.header_overflow = true;
      return;
    }
  }
}

void validator::impl::end_header() {
  header_done = true;
  fields = mail::read_header(header);
  for (std::size_t i = 0; i < fields.fields.size(); ++i) {
    const auto& fl = fields.fields[i];
    arc_field f;
    if (mail::name_is(fl, "ARC-Seal"))
      f.k = kind::seal;
    else if (mail::name_is(fl, "ARC-Message-Signature"))
      f.k = kind::ams;
    else if (mail::name_is(fl, "ARC-Authentication-Results"))
      f.k = kind::aar;
    else
      continue;
    if (arc.size() >= kArcFieldsMax) {
      too_many = true;
      break;
    }
    f.field = i;
    if (f.k == kind::aar) {
      read_aar(fl.value, f);
      arc.push_back(std::move(f));
      continue;
    }
    if (fl.value.size() > dkim::kSignatureFieldMax) {
      f.error = fmt::format("{} is longer than {} bytes", kind_name(f.k), dkim::kSignatureFieldMax);
      arc.push_back(std::move(f));
      continue;
    }
    auto tl = dkim::parse_tag_list(fl.value);
    if (!tl) {
      // Without a readable tag list the set the field belongs to is unknown (5.2 step 3).
      f.error = fmt::format("{} syntax: {}", kind_name(f.k), tl.error().message);
      arc.push_back(std::move(f));
      continue;
    }
    const auto* it = tl->find("i");
    auto inst = it ? parse_instance(it->value) : std::nullopt;
    if (!inst) {
      f.error = it ? fmt::format("{} i={} is not an instance 1..{} (RFC 8617 4.2.1)",
                                 kind_name(f.k), it->value, kInstancesMax)
                   : fmt::format("{} has no i= tag (RFC 8617 4.1)", kind_name(f.k));
      arc.push_back(std::move(f));
      continue;
    }
    f.instance = *inst;
    if (f.k == kind::ams)
      read_ams(*tl, f, now);
    else
      read_seal(*tl, f, now);
    if (f.k == kind::ams && f.error.empty() && f.sig_error.empty()) {
      // One hasher per distinct (body canonicalization, hash, l=).
      for (std::size_t h = 0; h < hashers.size(); ++h)
        if (hashers[h].method() == f.sig.body_canon &&
            hashers[h].hash() == dkim::hash_of(f.sig.alg) && hashers[h].limit() == f.sig.length)
          f.hasher = static_cast<int>(h);
      if (f.hasher < 0) {
        hashers.emplace_back(f.sig.body_canon, dkim::hash_of(f.sig.alg), f.sig.length);
        f.hasher = static_cast<int>(hashers.size() - 1);
      }
    }
    arc.push_back(std::move(f));
  }
}

void validator::impl::end_message() {
  if (ended) return;
  if (!header_done) end_header();  // no empty line: all header (RFC 5322 3.5)
  ended = true;
  for (auto& h : hashers) digests.push_back(h.finish());
}

std::vector<std::string> validator::key_names() {
  p_->end_message();
  std::vector<std::string> out;
  for (const auto& f : p_->arc) {
    if (f.k == kind::aar || !f.error.empty() || !f.sig_error.empty()) continue;
    std::string n = dkim::key_name(f.sig.selector, f.sig.domain);
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  }
  return out;
}

// Checks one AMS or AS whose hash input (without the signature field itself) is `input`.
// Returns "" when it verifies, otherwise why not.
std::string validator::impl::verify_sig(const arc_field& f, const std::string& input,
                                        std::string& scratch,
                                        const std::map<std::string, dns::answer>& keys) {
  const dkim::signature& s = f.sig;
  if (!f.sig_error.empty()) return f.sig_error;
  std::string name = dkim::key_name(s.selector, s.domain);
  auto it = keys.find(name);
  if (it == keys.end()) return "public key " + name + " was not looked up";
  const dns::answer& a = it->second;
  if (a.st == dns::status::timeout || a.st == dns::status::servfail)
    return fmt::format("public key lookup {}: DNS {} (a temporary failure; ARC has no temperror)",
                       name, dns::to_string(a.st));
  if (!a.ok() || a.records.empty())
    return fmt::format("no public key record at {} (DNS {})", name, dns::to_string(a.st));
  std::optional<dkim::key_record> key;
  std::string key_problem;
  for (const auto& rec : a.records) {
    std::string txt = rec.joined_text();
    if (txt.size() > dkim::kKeyRecordMax) {
      if (key_problem.empty()) key_problem = "public key record longer than the cap";
      continue;
    }
    auto k = dkim::parse_key_record(txt);
    if (k) {
      key = std::move(*k);
      break;
    }
    if (key_problem.empty()) key_problem = k.error().reason;
  }
  if (!key) return key_problem;
  if (auto p = dkim::check_key_for(*key, s)) return p->reason;
  auto pk = dkim::load_key(*key);
  if (!pk) return pk.error().reason;
  if (opt.rfc8301 && s.alg == dkim::algorithm::rsa_sha1)
    return "rsa-sha1 is not acceptable (RFC 8301 3.1)";
  if (opt.rfc8301 && pk->type() == dkim::key_type::rsa && pk->bits() < dkim::kRsaBitsMin)
    return fmt::format("{}-bit RSA key is under {} bits (RFC 8301 3.2)", pk->bits(),
                       dkim::kRsaBitsMin);
  if (f.k == kind::ams) {
    const auto& bh = hashers[static_cast<std::size_t>(f.hasher)];
    if (s.length && *s.length > bh.canonical_length())
      return fmt::format("l={} is beyond the canonical body of {} bytes", *s.length,
                         bh.canonical_length());
    if (digests[static_cast<std::size_t>(f.hasher)] != s.bh)
      return "body hash does not match (the body was altered)";
  }
  // The signature field itself, b= value removed, no final CRLF (RFC 6376 3.7; RFC 8617
  // 5.1.1 for the seal, always relaxed).
  const auto& self = fields.fields[f.field];
  std::size_t voff = static_cast<std::size_t>(self.value.data() - self.raw.data());
  std::string raw(self.raw);
  raw.erase(voff + s.b_begin, s.b_end - s.b_begin);
  std::string value(self.value);
  value.erase(s.b_begin, s.b_end - s.b_begin);
  scratch = input;
  dkim::canon_header(f.k == kind::seal ? dkim::canon::relaxed : s.header_canon, raw, self.name,
                     value, scratch, false);
  dkim::hasher hh(dkim::hash_of(s.alg));
  hh.update(scratch);
  std::string err = dkim::verify_digest(*pk, s.alg, hh.final(), s.b);
  if (!err.empty())
    return err + (f.k == kind::ams ? " (the signed header fields were altered)"
                                   : " (the ARC sets were altered)");
  return "";
}

validation validator::impl::run(const std::map<std::string, dns::answer>& keys) {
  validation v;
  auto fail = [&](std::string why) {
    v.cv = chain_result::fail;
    v.reason = std::move(why);
    v.oldest_pass = 0;
    return v;
  };
  if (arc.empty()) {
    if (header_overflow)
      v.reason = fmt::format("header block larger than {} bytes; ARC fields past it unseen",
                             kHeaderBytesMax);
    return v;  // RFC 8617 5.2 step 1: no ARC sets, cv none
  }
  if (too_many)
    return fail(fmt::format("more than {} ARC fields (RFC 8617 4.2.1: at most {} sets)",
                            kArcFieldsMax, kInstancesMax));
  if (header_overflow)
    return fail(fmt::format("header block larger than {} bytes; the chain cannot be read whole",
                            kHeaderBytesMax));
  if (fields.truncated)
    return fail(fmt::format("more than {} header fields; the chain cannot be read whole",
                            mail::kHeaderFieldsMax));

  // Sets by instance; a field that cannot say its instance breaks the structure.
  int n = 0;
  for (const auto& f : arc) n = std::max(n, f.instance);
  struct set {
    const arc_field* aar = nullptr;
    const arc_field* ams = nullptr;
    const arc_field* seal = nullptr;
  };
  std::vector<set> sets(static_cast<std::size_t>(n) + 1);
  std::string structure;
  for (const auto& f : arc) {
    if (f.instance == 0) {
      if (structure.empty()) structure = f.error;
      continue;
    }
    auto& s = sets[static_cast<std::size_t>(f.instance)];
    const arc_field*& slot = f.k == kind::aar ? s.aar : f.k == kind::ams ? s.ams : s.seal;
    if (slot && structure.empty())
      structure =
          fmt::format("two {} fields with i={} (RFC 8617 5.2 step 3)", kind_name(f.k), f.instance);
    slot = &f;
  }
  // Hops as far as they can be read, oldest first (for reports, even on fail).
  for (int i = 1; i <= n; ++i) {
    const auto& s = sets[static_cast<std::size_t>(i)];
    hop h;
    h.instance = i;
    if (s.seal) {
      h.seal_domain = s.seal->sig.domain;
      h.seal_selector = s.seal->sig.selector;
      h.cv = s.seal->cv;
    }
    if (s.ams) {
      h.ams_domain = s.ams->sig.domain;
      h.ams_selector = s.ams->sig.selector;
    }
    if (s.aar) h.aar = s.aar->aar;
    v.hops.push_back(std::move(h));
  }
  // 5.2 step 2: the newest set says the chain already failed.
  if (n > 0 && sets[static_cast<std::size_t>(n)].seal &&
      sets[static_cast<std::size_t>(n)].seal->cv == "fail")
    return fail(fmt::format("the newest ARC-Seal (i={}) says cv=fail (RFC 8617 5.2 step 2)", n));
  if (!structure.empty()) return fail(structure);
  // 5.2 step 3: exactly one of each per instance 1..N, the cv rules.
  for (int i = 1; i <= n; ++i) {
    const auto& s = sets[static_cast<std::size_t>(i)];
    for (kind k : {kind::aar, kind::ams, kind::seal}) {
      const arc_field* f = k == kind::aar ? s.aar : k == kind::ams ? s.ams : s.seal;
      if (!f)
        return fail(fmt::format("ARC set i={} has no {} (RFC 8617 5.2 step 3)", i, kind_name(k)));
      if (!f->error.empty()) return fail(f->error);
    }
    const std::string& cv = s.seal->cv;
    if (cv == "fail")
      return fail(fmt::format("ARC-Seal i={} says cv=fail (RFC 8617 5.2 step 3)", i));
    if (i == 1 && cv != "none")
      return fail(
          fmt::format("ARC-Seal i=1 says cv={}; the first set must say none (RFC 8617 "
                      "5.2 step 3)",
                      cv));
    if (i > 1 && cv != "pass")
      return fail(
          fmt::format("ARC-Seal i={} says cv={}; sets after the first must say pass (RFC 8617 "
                      "5.2 step 3)",
                      i, cv));
  }

  // Field name -> indices of its instances, top to bottom (bottom-up selection, RFC 6376
  // 5.4.2).
  std::unordered_map<std::string, std::vector<std::size_t>> by_name;
  for (std::size_t i = 0; i < fields.fields.size(); ++i)
    by_name[ascii::lower(fields.fields[i].name)].push_back(i);
  std::string scratch;
  auto verify_ams = [&](const arc_field& f) {
    std::string input;
    std::unordered_map<std::string, std::size_t> used;
    for (const auto& hname : f.sig.headers) {
      auto it = by_name.find(hname);
      std::size_t& u = used[hname];
      if (it == by_name.end() || u >= it->second.size()) continue;  // over-signed: nothing
      const auto& fld = fields.fields[it->second[it->second.size() - 1 - u]];
      ++u;
      dkim::canon_header(f.sig.header_canon, fld.raw, fld.name, fld.value, input);
    }
    return verify_sig(f, input, scratch, keys);
  };

  // 5.2 step 4: the newest AMS must verify.
  {
    std::string err = verify_ams(*sets[static_cast<std::size_t>(n)].ams);
    v.hops.back().ams_error = err;
    v.hops.back().ams_valid = err.empty();
    if (!err.empty())
      return fail(
          fmt::format("ARC-Message-Signature i={} does not verify: {} (RFC 8617 5.2 step "
                      "4)",
                      n, err));
  }
  // 5.2 step 5: oldest-pass, from the newest down to the first AMS that fails.
  int oldest = 0;
  for (int i = n - 1; i >= 1; --i) {
    std::string err = verify_ams(*sets[static_cast<std::size_t>(i)].ams);
    auto& h = v.hops[static_cast<std::size_t>(i - 1)];
    h.ams_error = err;
    h.ams_valid = err.empty();
    if (!err.empty()) {
      oldest = i + 1;
      break;
    }
  }
  // 5.2 step 6: every AS, newest first, over the sets 1..i (5.1.1).
  for (int i = n; i >= 1; --i) {
    std::string input;
    for (int j = 1; j < i; ++j) {
      const auto& s = sets[static_cast<std::size_t>(j)];
      for (const arc_field* f : {s.aar, s.ams, s.seal}) {
        const auto& fld = fields.fields[f->field];
        dkim::canon_header(dkim::canon::relaxed, fld.raw, fld.name, fld.value, input);
      }
    }
    const auto& s = sets[static_cast<std::size_t>(i)];
    for (const arc_field* f : {s.aar, s.ams}) {
      const auto& fld = fields.fields[f->field];
      dkim::canon_header(dkim::canon::relaxed, fld.raw, fld.name, fld.value, input);
    }
    std::string err = verify_sig(*s.seal, input, scratch, keys);
    auto& h = v.hops[static_cast<std::size_t>(i - 1)];
    h.seal_error = err;
    h.seal_valid = err.empty();
    if (!err.empty())
      return fail(fmt::format("ARC-Seal i={} does not verify: {} (RFC 8617 5.2 step 6)", i, err));
  }
  v.cv = chain_result::pass;
  v.oldest_pass = oldest;
  v.reason = fmt::format("{} ARC set{} verified", n, n == 1 ? "" : "s");
  return v;
}

validation validator::finish(const std::map<std::string, dns::answer>& keys) {
  p_->end_message();
  return p_->run(keys);
}

asio::awaitable<validation> validator::finish(dns::resolver& r) {
  std::map<std::string, dns::answer> keys;
  for (auto& n : key_names()) {
    std::string q = n;
    dns::answer a = co_await r.query(std::move(q), dns::rrtype::txt);
    keys.emplace(std::move(n), std::move(a));
  }
  co_return finish(keys);
}

asio::awaitable<validation> validate(std::string_view message, dns::resolver& r, options o) {
  validator v(std::move(o));
  v.feed(message);
  co_return co_await v.finish(r);
}

validation validate(std::string_view message, const dns::memory_zone& zone, options o) {
  validator v(std::move(o));
  v.feed(message);
  std::map<std::string, dns::answer> keys;
  for (auto& n : v.key_names()) keys.emplace(n, zone.lookup(n, dns::rrtype::txt));
  return v.finish(keys);
}

std::string authres_entry(const validation& v, std::string_view remote_ip) {
  // RFC 8601 2.2: a comment holds no unbalanced parentheses, backslashes or controls.
  auto comment = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (c == '(' || c == ')' || c == '\\') out += '\\';
      out += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    return out;
  };
  std::string s = std::string("arc=") + to_string(v.cv);
  if (v.cv == chain_result::pass && !v.hops.empty()) {
    const hop& h = v.hops.back();
    s += fmt::format(" (i={} sealed by {})", h.instance, comment(h.seal_domain));
    s += fmt::format(" header.oldest-pass={}", v.oldest_pass);
  } else if (!v.reason.empty()) {
    s += " (" + comment(v.reason) + ")";
  }
  bool ip_ok = !remote_ip.empty();
  for (char c : remote_ip)
    ip_ok = ip_ok && (ascii::is_digit(static_cast<unsigned char>(c)) ||
                      ascii::is_alpha(static_cast<unsigned char>(c)) || c == '.' || c == ':');
  if (ip_ok) s += " smtp.remote-ip=" + std::string(remote_ip);
  return s;
}

}  // namespace mxg::arc
