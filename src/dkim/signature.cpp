// signature.cpp: RFC 6376 3.5 (the tags), 6.1.1 (validation), 2.11 (dkim-quoted-printable);
// RFC 8301 3.1 (rsa-sha1 is recognised so that it can be refused with its reason, see
// verifier.cpp); RFC 8463 3 (ed25519-sha256).
#include "dkim/signature.hpp"

#include <fmt/format.h>

#include "base/ascii.hpp"
#include "dkim/tag_list.hpp"

namespace mxg::dkim {

const char* to_string(result r) {
  switch (r) {
    case result::pass:
      return "pass";
    case result::fail:
      return "fail";
    case result::neutral:
      return "neutral";
    case result::policy:
      return "policy";
    case result::temperror:
      return "temperror";
    case result::permerror:
      return "permerror";
  }
  return "permerror";
}

const char* to_string(algorithm a) {
  switch (a) {
    case algorithm::rsa_sha256:
      return "rsa-sha256";
    case algorithm::ed25519_sha256:
      return "ed25519-sha256";
    case algorithm::rsa_sha1:
      return "rsa-sha1";
  }
  return "?";
}

const char* to_string(canon c) {
  return c == canon::simple ? "simple" : "relaxed";
}

namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // RFC 2045 says upper case; be lenient
  return -1;
}

int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool is_fws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// RFC 6376 3.5 sub-domain labels (RFC 5321 4.1.2): letters, digits, hyphens; also '_'
// which real selectors and domains use (RFC 8552 underscored names).
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(d[i]);
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

// Decimal digits only (3.5 "1*12DIGIT" for t=/x=, "1*76DIGIT" for l=). Values beyond
// int64 clamp to the maximum (a far future / a length no body reaches).
std::optional<std::uint64_t> parse_number(std::string_view v) {
  if (v.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (!ascii::is_digit(static_cast<unsigned char>(c))) return std::nullopt;
    if (n > (static_cast<std::uint64_t>(INT64_MAX) - 9) / 10) {
      n = static_cast<std::uint64_t>(INT64_MAX);
      continue;
    }
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

bool ends_with_domain(std::string_view host, std::string_view d) {
  if (ascii::iequals(host, d)) return true;
  if (host.size() <= d.size()) return false;
  return host[host.size() - d.size() - 1] == '.' &&
         ascii::iequals(host.substr(host.size() - d.size()), d);
}

}  // namespace

std::optional<std::string> decode_dkim_qp(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (is_fws(c)) continue;
    if (c == '=') {
      if (i + 2 >= v.size()) return std::nullopt;
      int h = hexval(v[i + 1]), l = hexval(v[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      out += static_cast<char>(h * 16 + l);
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

std::optional<std::string> decode_base64(std::string_view v) {
  std::string out;
  out.reserve(v.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0, pad = 0, n = 0;
  for (char c : v) {
    if (is_fws(c)) continue;
    if (c == '=') {
      ++pad;
      ++n;
      continue;
    }
    if (pad) return std::nullopt;  // data after padding
    int x = b64val(c);
    if (x < 0) return std::nullopt;
    ++n;
    acc = (acc << 6) | static_cast<std::uint32_t>(x);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (n % 4 != 0 || pad > 2) return std::nullopt;
  if (pad && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical bits
  return out;
}

signature parse_signature(std::string_view value, std::int64_t now, bool accept_drafts) {
  signature s;
  auto bad = [&](result r, std::string why) {
    s.error = problem{r, std::move(why)};
    return s;
  };
  if (value.size() > kSignatureFieldMax)
    return bad(result::policy, fmt::format("DKIM-Signature field longer than {} bytes; not "
                                           "verified",
                                           kSignatureFieldMax));
  auto tl = parse_tag_list(value);
  if (!tl) return bad(result::permerror, "DKIM-Signature syntax: " + tl.error().message);
  const tag_list& t = *tl;
  // Fill what reports need first, so even a broken signature names its domain.
  if (auto* d = t.find("d")) s.domain = ascii::lower(d->value);
  if (auto* sel = t.find("s")) s.selector = ascii::lower(sel->value);
  if (auto* a = t.find("a")) s.algorithm_text = ascii::lower(a->value);
  if (auto* b = t.find("b")) {
    s.b_text = strip_fws(b->value);
    s.b_begin = b->raw_begin;
    s.b_end = b->raw_end;
  }

  auto* v = t.find("v");
  if (!v && !accept_drafts)
    return bad(result::permerror, "DKIM-Signature has no v= tag (RFC 6376 3.5)");
  if (v && v->value != "1" && !(accept_drafts && v->value == "0.5"))
    return bad(result::neutral, fmt::format("unsupported DKIM-Signature version v={} (RFC "
                                            "6376 3.5 knows v=1)",
                                            v->value));
  for (const char* req : {"a", "b", "bh", "d", "h", "s"})
    if (!t.find(req))
      return bad(result::permerror,
                 fmt::format("DKIM-Signature has no {}= tag (RFC 6376 3.5, 6.1.1)", req));

  if (s.algorithm_text == "rsa-sha256") {
    s.alg = algorithm::rsa_sha256;
  } else if (s.algorithm_text == "ed25519-sha256") {
    s.alg = algorithm::ed25519_sha256;
  } else if (s.algorithm_text == "rsa-sha1") {
    s.alg = algorithm::rsa_sha1;
  } else {
    return bad(result::neutral, fmt::format("unsupported signing algorithm a={} (RFC 8301, "
                                            "RFC 8463 know rsa-sha256, ed25519-sha256)",
                                            s.algorithm_text));
  }

  auto bdec = decode_base64(t.find("b")->value);
  if (!bdec || bdec->empty())
    return bad(result::permerror, "b= is not valid base64 (RFC 6376 3.5)");
  if (bdec->size() > kSignatureBytesMax)
    return bad(result::permerror, fmt::format("b= is longer than {} bytes", kSignatureBytesMax));
  s.b = std::move(*bdec);
  auto bh = decode_base64(t.find("bh")->value);
  if (!bh || bh->empty()) return bad(result::permerror, "bh= is not valid base64 (RFC 6376 3.5)");
  s.bh = std::move(*bh);

  if (auto* c = t.find("c")) {
    std::string cv = ascii::lower(c->value);
    std::string_view hv = cv, bv = "simple";
    if (auto slash = cv.find('/'); slash != std::string::npos) {
      hv = std::string_view(cv).substr(0, slash);
      bv = std::string_view(cv).substr(slash + 1);
    }
    auto one = [](std::string_view x) -> std::optional<canon> {
      if (x == "simple") return canon::simple;
      if (x == "relaxed") return canon::relaxed;
      return std::nullopt;
    };
    auto hc = one(hv), bc = one(bv);
    if (!hc || !bc)
      return bad(result::neutral,
                 fmt::format("unsupported canonicalization c={} (RFC 6376 3.4)", c->value));
    s.header_canon = *hc;
    s.body_canon = *bc;
  }

  if (!valid_domain(s.domain))
    return bad(result::permerror,
               fmt::format("d={} is not a domain name (RFC 6376 3.5)", t.find("d")->value));
  if (!valid_domain(s.selector))
    return bad(result::permerror,
               fmt::format("s={} is not a valid selector (RFC 6376 3.1)", t.find("s")->value));

  auto names = split_colon(t.find("h")->value);
  if (names.size() > kSignedHeadersMax)
    return bad(result::permerror,
               fmt::format("h= lists {} fields, more than {}", names.size(), kSignedHeadersMax));
  bool from = false;
  for (auto n : names) {
    if (n.empty()) return bad(result::permerror, "h= has an empty field name (RFC 6376 3.5)");
    for (char ch : n)
      if (static_cast<unsigned char>(ch) < 33 || static_cast<unsigned char>(ch) > 126 || ch == ':')
        return bad(result::permerror, "h= has an invalid field name (RFC 5322 3.6.8)");
    s.headers.push_back(ascii::lower(n));
    if (s.headers.back() == "from") from = true;
  }
  if (!from) return bad(result::permerror, "h= does not include From (RFC 6376 5.4, 6.1.1)");

  if (auto* i = t.find("i")) {
    auto dec = decode_dkim_qp(i->value);
    if (!dec)
      return bad(result::permerror, "i= is not valid dkim-quoted-printable (RFC 6376 2.11)");
    auto at = dec->rfind('@');
    if (at == std::string::npos)
      return bad(result::permerror, fmt::format("i={} has no '@' (RFC 6376 3.5)", *dec));
    std::string_view host = std::string_view(*dec).substr(at + 1);
    if (!ends_with_domain(host, s.domain))
      return bad(result::permerror,
                 fmt::format("i={} is not in d={} or a subdomain of it (RFC 6376 3.5, 6.1.1)", *dec,
                             s.domain));
    s.identity = std::move(*dec);
  } else {
    s.identity = "@" + s.domain;
  }

  if (auto* l = t.find("l")) {
    auto n = parse_number(l->value);
    if (!n)
      return bad(result::permerror, fmt::format("l={} is not a number (RFC 6376 3.5)", l->value));
    s.length = *n;
  }
  if (auto* q = t.find("q")) {
    bool dns = false;
    for (auto m : split_colon(q->value))
      if (ascii::iequals(m, "dns/txt") || (accept_drafts && ascii::iequals(m, "dns"))) dns = true;
    if (!dns)
      return bad(
          result::neutral,
          fmt::format("unsupported key query method q={} (RFC 6376 3.5 knows dns/txt)", q->value));
  }
  if (auto* ts = t.find("t")) {
    auto n = parse_number(ts->value);
    if (!n)
      return bad(result::permerror, fmt::format("t={} is not a number (RFC 6376 3.5)", ts->value));
    s.timestamp = static_cast<std::int64_t>(*n);
  }
  if (auto* x = t.find("x")) {
    auto n = parse_number(x->value);
    if (!n)
      return bad(result::permerror, fmt::format("x={} is not a number (RFC 6376 3.5)", x->value));
    s.expiration = static_cast<std::int64_t>(*n);
    if (s.timestamp && *s.expiration <= *s.timestamp)
      return bad(result::permerror,
                 fmt::format("x={} is not after t={} (RFC 6376 3.5)", *s.expiration, *s.timestamp));
    if (now > *s.expiration)
      return bad(result::permerror,
                 fmt::format("signature expired at x={} (now {}; RFC 6376 3.5, 6.1.1)",
                             *s.expiration, now));
  }
  if (auto* z = t.find("z")) {
    if (!decode_dkim_qp(z->value))
      return bad(result::permerror, "z= is not valid dkim-quoted-printable (RFC 6376 3.5)");
  }
  return s;
}

}  // namespace mxg::dkim
