// verifier.cpp: RFC 6376 6.1 (verifier actions: validate, get key, compute), 5.4.2 (the
// instances a repeated h= name selects, bottom-up; a name listed more often than present
// selects nothing, which is how over-signing forbids added fields), 3.7 (hash input: the
// selected fields, then the DKIM-Signature field without its b= value and final CRLF);
// RFC 8301 3.1/3.2; RFC 8463.
#include "dkim/verifier.hpp"

#include <fmt/format.h>
#include <asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <unordered_map>

#include "base/ascii.hpp"
#include "base/result.hpp"
#include "dkim/crypto.hpp"
#include "dkim/key_record.hpp"
#include "dns/memory_zone.hpp"

namespace mxg::dkim {

namespace {

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

signature_result base_result(const signature& s, std::size_t index) {
  signature_result r;
  r.index = index;
  r.domain = s.domain;
  r.selector = s.selector;
  r.identity = s.identity;
  r.algorithm = s.algorithm_text;
  r.b = s.b_text;
  r.body_length = s.length;
  return r;
}

}  // namespace

std::string key_name(std::string_view selector, std::string_view domain) {
  return ascii::lower(fmt::format("{}._domainkey.{}", selector, domain));
}

verifier::verifier(options o) : opt_(std::move(o)) {
  now_ = opt_.clock ? opt_.clock() : system_now();
}

void verifier::feed(std::string_view chunk) {
  MXG_ASSERT(!ended_);
  if (header_done_) {
    body_bytes_ += chunk.size();
    for (auto& h : hashers_) h.update(chunk);
    return;
  }
  if (header_overflow_) return;
  // Byte by byte until the empty line: the header is small, the body goes by in bulk.
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    char c = chunk[i];
    if (c == '\n' && (header_.empty() || header_.back() != '\r')) header_ += '\r';
    header_ += c;
    if (c == '\n' &&
        (header_ == "\r\n" || (header_.size() >= 4 && header_.ends_with("\r\n\r\n")))) {
      end_header();
      feed(chunk.substr(i + 1));
      return;
    }
    if (header_.size() > opt_.max_header_bytes) {
      header_overflow_ = true;
      return;
    }
  }
}

void verifier::end_header() {
  header_done_ = true;
  fields_ = mail::read_header(header_);
  std::size_t n = 0;
  for (std::size_t i = 0; i < fields_.fields.size(); ++i) {
    const auto& f = fields_.fields[i];
    if (!mail::name_is(f, "DKIM-Signature")) continue;
    sig_state st;
    st.field = i;
    // Over the cap the field is still parsed, for d=/s= in the report only.
    st.over_cap = header_overflow_ || n >= opt_.max_signatures;
    st.sig = parse_signature(f.value, now_, opt_.accept_draft_versions);
    ++n;
    if (!st.over_cap && !st.sig.error) {
      // One hasher per distinct (canonicalization, hash, l=).
      for (std::size_t h = 0; h < hashers_.size(); ++h) {
        if (hashers_[h].method() == st.sig.body_canon &&
            hashers_[h].hash() == hash_of(st.sig.alg) && hashers_[h].limit() == st.sig.length) {
          st.hasher = static_cast<int>(h);
          break;
        }
      }
      if (st.hasher < 0) {
        hashers_.emplace_back(st.sig.body_canon, hash_of(st.sig.alg), st.sig.length);
        st.hasher = static_cast<int>(hashers_.size() - 1);
      }
    }
    sigs_.push_back(std::move(st));
  }
}

void verifier::end_message() {
  if (ended_) return;
  if (!header_done_) {
    // No empty line: the whole message is header (RFC 5322 3.5 makes the body optional),
    // or the header block was over the cap.
    end_header();
  }
  ended_ = true;
  body_digests_.clear();
  for (auto& h : hashers_) body_digests_.push_back(h.finish());
}

std::vector<std::string> verifier::key_names() {
  end_message();
  std::vector<std::string> out;
  for (const auto& s : sigs_) {
    if (s.over_cap || s.sig.error) continue;
    std::string n = key_name(s.sig.selector, s.sig.domain);
    bool seen = false;
    for (const auto& o : out) seen = seen || o == n;
    if (!seen) out.push_back(std::move(n));
  }
  return out;
}

std::vector<signature_result> verifier::finish(const std::map<std::string, dns::answer>& keys) {
  end_message();
  // Field name -> indices of its instances, top to bottom (for bottom-up selection).
  std::unordered_map<std::string, std::vector<std::size_t>> by_name;
  for (std::size_t i = 0; i < fields_.fields.size(); ++i)
    by_name[ascii::lower(fields_.fields[i].name)].push_back(i);

  std::vector<signature_result> out;
  for (std::size_t idx = 0; idx < sigs_.size(); ++idx) {
    const sig_state& st = sigs_[idx];
    const signature& s = st.sig;
    signature_result r = base_result(s, idx);
    auto done = [&](result res, std::string why) {
      r.res = res;
      r.reason = std::move(why);
      out.push_back(std::move(r));
    };
    if (st.over_cap || fields_.truncated) {
      // A field cap hit means the bottom-up selection (5.4.2) cannot be trusted.
      if (fields_.truncated)
        done(result::policy,
             fmt::format("more than {} header fields; not verified", mail::kHeaderFieldsMax));
      else if (header_overflow_)
        done(result::policy,
             fmt::format("header block larger than {} bytes; not verified", opt_.max_header_bytes));
      else
        done(result::policy,
             fmt::format("more than {} DKIM signatures; not verified", opt_.max_signatures));
      continue;
    }
    if (s.error) {
      done(s.error->res, s.error->reason);
      continue;
    }
    // 6.1.2: get the public key.
    std::string name = key_name(s.selector, s.domain);
    if (name.size() > 253) {
      done(result::permerror, "public key name " + name + " is longer than 253 bytes");
      continue;
    }
    auto it = keys.find(name);
    if (it == keys.end()) {
      done(result::temperror, "public key " + name + " was not looked up");
      continue;
    }
    const dns::answer& a = it->second;
    if (a.st == dns::status::nxdomain || a.st == dns::status::nodata ||
        (a.ok() && a.records.empty())) {
      done(result::permerror, fmt::format("no public key record at {} (DNS {}; RFC 6376 6.1.2)",
                                          name, dns::to_string(a.st)));
      continue;
    }
    if (a.st == dns::status::timeout) {
      done(result::temperror, "public key lookup " + name + ": DNS query timed out");
      continue;
    }
    if (a.st == dns::status::servfail) {
      done(result::temperror, "public key lookup " + name + ": DNS SERVFAIL" +
                                  (a.detail.empty() ? "" : " (" + a.detail + ")"));
      continue;
    }
    // Several TXT records at the name (3.6.2.2 lets the verifier choose): the first that
    // parses as a key record; none: the first one's problem.
    std::optional<key_record> key;
    std::optional<problem> key_problem;
    for (const auto& rec : a.records) {
      auto k = parse_key_record(rec.joined_text());
      if (k) {
        key = std::move(*k);
        break;
      }
      if (!key_problem) key_problem = k.error();
    }
    if (!key) {
      done(key_problem->res, key_problem->reason);
      continue;
    }
    if (auto p = check_key_for(*key, s)) {
      done(p->res, p->reason);
      continue;
    }
    auto pk = load_key(*key);
    if (!pk) {
      done(pk.error().res, pk.error().reason);
      continue;
    }
    r.testing = key->testing;
    r.key_bits = pk->bits();

    // 6.1.3: the body hash first, then the header hash and signature.
    std::string why_not;
    const body_hasher& bh = hashers_[static_cast<std::size_t>(st.hasher)];
    if (s.length && *s.length > bh.canonical_length()) {
      why_not = fmt::format("l={} is beyond the canonical body of {} bytes (RFC 6376 3.5)",
                            *s.length, bh.canonical_length());
    } else if (body_digests_[static_cast<std::size_t>(st.hasher)] != s.bh) {
      why_not = "body hash does not match (the body was altered; RFC 6376 6.1.3)";
    } else {
      std::string input;
      std::unordered_map<std::string, std::size_t> used;
      for (const auto& hname : s.headers) {
        auto f = by_name.find(hname);
        std::size_t& u = used[hname];
        if (f == by_name.end() || u >= f->second.size()) continue;  // over-signed: nothing
        const auto& fld = fields_.fields[f->second[f->second.size() - 1 - u]];
        ++u;
        canon_header(s.header_canon, fld.raw, fld.name, fld.value, input);
      }
      // The signature field itself, b= value removed (3.7), no final CRLF.
      const auto& self = fields_.fields[st.field];
      std::size_t voff = static_cast<std::size_t>(self.value.data() - self.raw.data());
      std::string raw(self.raw);
      raw.erase(voff + s.b_begin, s.b_end - s.b_begin);
      std::string value(self.value);
      value.erase(s.b_begin, s.b_end - s.b_begin);
      canon_header(s.header_canon, raw, self.name, value, input, false);
      hasher hh(hash_of(s.alg));
      hh.update(input);
      std::string digest = hh.final();
      std::string err = verify_digest(*pk, s.alg, digest, s.b);
      if (!err.empty())
        why_not = err + " (the signed header fields were altered, or the key is not the signer's)";
    }
    std::string testing = key->testing ? "; key in testing mode (t=y)" : "";
    if (opt_.rfc8301 && s.alg == algorithm::rsa_sha1) {
      done(result::fail, "rsa-sha1 is not acceptable (RFC 8301 3.1); " +
                             (why_not.empty() ? std::string("the signature itself verifies")
                                              : "also: " + why_not) +
                             testing);
      continue;
    }
    if (opt_.rfc8301 && pk->type() == key_type::rsa && pk->bits() < kRsaBitsMin) {
      done(result::fail,
           fmt::format(
               "{}-bit RSA key is under {} bits (RFC 8301 3.2); {}{}", pk->bits(), kRsaBitsMin,
               why_not.empty() ? std::string("the signature itself verifies") : "also: " + why_not,
               testing));
      continue;
    }
    if (!why_not.empty()) {
      done(result::fail, why_not + testing);
      continue;
    }
    done(result::pass, key->testing ? "key in testing mode (t=y)" : "");
  }
  return out;
}

namespace {

// Queries names[lo, hi) at once: split in halves joined by awaitable_operators' &&, which
// runs both halves concurrently and resumes when both are done, so every query of the
// range is in flight before the first answer is awaited. Each answer goes to its own slot
// (answers[i] for names[i]), so the order of completion does not matter.
asio::awaitable<void> query_range(dns::resolver& r, const std::vector<std::string>& names,
                                  std::vector<dns::answer>& answers, std::size_t lo,
                                  std::size_t hi) {
  using namespace asio::experimental::awaitable_operators;
  if (hi - lo == 1) {
    std::string q = names[lo];
    answers[lo] = co_await r.query(std::move(q), dns::rrtype::txt);
    co_return;
  }
  std::size_t mid = lo + (hi - lo) / 2;
  co_await (query_range(r, names, answers, lo, mid) && query_range(r, names, answers, mid, hi));
}

}  // namespace

asio::awaitable<std::vector<signature_result>> verifier::finish(dns::resolver& r) {
  // RFC 6376 6.1.2: one TXT query per distinct key name; all are sent at once (at most
  // max_signatures of them) and awaited together, so a message with several selectors
  // waits for the slowest lookup, not for their sum. Results stay in header order:
  // finish(keys) below walks the signatures, not the answers.
  std::vector<std::string> names = key_names();
  std::vector<dns::answer> answers(names.size());
  if (!names.empty()) co_await query_range(r, names, answers, 0, names.size());
  std::map<std::string, dns::answer> keys;
  for (std::size_t i = 0; i < names.size(); ++i)
    keys.emplace(std::move(names[i]), std::move(answers[i]));
  co_return finish(keys);
}

asio::awaitable<std::vector<signature_result>> verify(std::string_view message, dns::resolver& r,
                                                      options o) {
  verifier v(std::move(o));
  v.feed(message);
  co_return co_await v.finish(r);
}

std::vector<signature_result> verify(std::string_view message, const dns::memory_zone& zone,
                                     options o) {
  verifier v(std::move(o));
  v.feed(message);
  std::map<std::string, dns::answer> keys;
  for (auto& n : v.key_names()) keys.emplace(n, zone.lookup(n, dns::rrtype::txt));
  return v.finish(keys);
}

std::string authres_entry(const signature_result& r) {
  // RFC 8601 2.2: a comment may not hold unbalanced parentheses or a backslash.
  auto comment = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      unsigned char u = static_cast<unsigned char>(c);
      if (c == '(' || c == ')' || c == '\\') out += '\\';
      out += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    return out;
  };
  // Property values are tokens or quoted strings; DKIM tag values never hold ';' or WSP
  // after our parser, but quote when they hold anything outside a plain token.
  auto value = [](std::string_view v) {
    bool plain = !v.empty();
    for (char c : v)
      plain = plain && (ascii::is_alpha(static_cast<unsigned char>(c)) ||
                        ascii::is_digit(static_cast<unsigned char>(c)) ||
                        std::string_view("!#$%&'*+-.^_`{|}~@").find(c) != std::string_view::npos);
    if (plain) return std::string(v);
    std::string q = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q + "\"";
  };
  std::string s = std::string("dkim=") + to_string(r.res);
  if (!r.reason.empty()) s += " (" + comment(r.reason) + ")";
  if (!r.domain.empty()) s += " header.d=" + value(r.domain);
  if (!r.identity.empty()) s += " header.i=" + value(r.identity);
  if (!r.selector.empty()) s += " header.s=" + value(r.selector);
  if (!r.algorithm.empty()) s += " header.a=" + value(r.algorithm);
  if (!r.b.empty()) s += " header.b=" + value(r.b.substr(0, 8));
  return s;
}

}  // namespace mxg::dkim
