// record.cpp: the DMARC policy record parser (RFC 9989 4.7 tags, 4.8 formal definition,
// 4.10.1 invalid policies; RFC 7489 6.3 for the historic pct/rf/ri).
//   dmarc-record  = dmarc-version *(dmarc-sep dmarc-tag) [dmarc-sep]
//   dmarc-sep     = *WSP ";" *WSP          equals = *WSP "=" *WSP
//   dmarc-tag     = 1*ALPHA equals 1*dmarc-value   (dmarc-value = %x20-3A / %x3C-7E)
//   dmarc-version = "v" equals %s"DMARC1"
// Choices, each from the text:
//   - v= must be the first tag and its value exactly "DMARC1" (case-sensitive), else the
//     whole TXT record is not a DMARC record (4.7 "v"): errc::not_found.
//   - Tag names and the keyword values (none/quarantine/reject, y/n/u, r/s) are
//     case-insensitive: RFC 5234 2.3 quoted strings, used by 4.8 without %s.
//   - Unknown tags are ignored (4.7, 4.8). pct=, rf=, ri= are historic (9.3, C.5.2):
//     ignored for evaluation; pct= is kept for aggregate reports (RFC 9990 policy_published).
//   - A syntax error in a tag (bad name, empty value, bytes outside dmarc-value, a value
//     that is not one the tag allows) is "discarded in favor of default values (if any)
//     or ignored outright" (4.8): adkim/aspf -> r, t -> n, psd -> u, fo -> 0.
//   - A second occurrence of a tag is a syntax error: ignored, the first one stays
//     (4.8; RFC 6376 3.2 would void the whole list, which 4.8 does not ask for).
//   - p=, sp=, np= with an invalid value are the exception: 4.10.1 decides (see
//     record::usable). p= absent is p=none (4.7 "p").
//   - Leading/trailing WSP around the whole record is tolerated (as around tags).
// Security: the input is DNS data from anyone. The size is capped (kRecordMax), the parser
// is one pass over views, it never throws and never fetches a URI.
#include "dmarc/record.hpp"

#include "base/ascii.hpp"

namespace mxg::dmarc {

namespace {

constexpr std::size_t kUrisMax = 16;  // our cap on URIs kept per rua=/ruf=

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

// 4.8: dmarc-value = %x20-3A / %x3C-7E (the ';' is the separator, never in a value).
bool valid_value(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v)
    if (c < 0x20 || c > 0x7e || c == ';') return false;
  return true;
}

bool valid_name(std::string_view n) {
  if (n.empty()) return false;
  for (unsigned char c : n)
    if (!ascii::is_alpha(c)) return false;
  return true;
}

// RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":" and a
// non-empty rest with no WSP. 4.8 obs-dmarc-report-size ("!" 1*DIGIT [k/m/g/t]) is
// accepted and ignored (reporters should ignore it).
bool valid_uri(std::string_view u) {
  auto colon = u.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= u.size()) return false;
  if (!ascii::is_alpha(static_cast<unsigned char>(u[0]))) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    unsigned char c = static_cast<unsigned char>(u[i]);
    if (!ascii::is_alpha(c) && !ascii::is_digit(c) && c != '+' && c != '-' && c != '.')
      return false;
  }
  std::string_view rest = u.substr(colon + 1);
  auto bang = rest.find('!');
  if (bang != std::string_view::npos) {
    std::string_view size = rest.substr(bang + 1);
    rest = rest.substr(0, bang);
    if (!size.empty() && std::string_view("kmgtKMGT").find(size.back()) != std::string_view::npos)
      size.remove_suffix(1);
    if (size.empty()) return false;
    for (unsigned char c : size)
      if (!ascii::is_digit(c)) return false;
  }
  if (rest.empty()) return false;
  for (unsigned char c : rest)
    if (c <= 0x20 || c > 0x7e) return false;
  return true;
}

// dmarc-urilist: URIs separated by *WSP "," *WSP. Keeps each as written; says whether
// at least one is valid.
bool parse_uris(std::string_view v, std::vector<std::string>& out) {
  bool any_valid = false;
  while (!v.empty()) {
    auto comma = v.find(',');
    std::string_view one = trim(v.substr(0, comma));
    if (!one.empty() && out.size() < kUrisMax) {
      out.emplace_back(one);
      any_valid = any_valid || valid_uri(one);
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return any_valid;
}

// dmarc-fo: "0"/"1" and "d"/"s" joined by ':', each at most once, 0 and 1 exclusive.
bool valid_fo(std::string_view v) {
  bool seen0 = false, seen1 = false, seen_d = false, seen_s = false;
  while (true) {
    auto colon = v.find(':');
    std::string_view one = trim(v.substr(0, colon));
    if (one.size() != 1) return false;
    bool* seen = nullptr;
    switch (ascii::to_lower(one[0])) {
      case '0':
        seen = &seen0;
        break;
      case '1':
        seen = &seen1;
        break;
      case 'd':
        seen = &seen_d;
        break;
      case 's':
        seen = &seen_s;
        break;
      default:
        return false;
    }
    if (*seen) return false;
    *seen = true;
    if (colon == std::string_view::npos) break;
    v.remove_prefix(colon + 1);
  }
  return !(seen0 && seen1);
}

}  // namespace

bool record::usable() const {
  // 4.10.1: an invalid p=, sp= or np= without a valid rua= means no DMARC processing.
  if (p_invalid || sp_invalid || np_invalid) return rua_valid;
  return true;
}

disposition record::effective_p() const {
  if (as_p_none()) return disposition::none;
  return p.value_or(disposition::none);  // 4.7 "p": absent -> as if p=none
}

disposition record::effective_sp() const {
  if (as_p_none()) return disposition::none;
  return sp ? *sp : effective_p();  // 4.7 "sp": absent -> p
}

disposition record::effective_np() const {
  if (as_p_none()) return disposition::none;
  return np ? *np : effective_sp();  // 4.7 "np": absent -> sp, else p
}

mxg::result<record> parse_record(std::string_view txt) {
  if (txt.size() > kRecordMax)
    return fail(errc::limit_exceeded, "DMARC record of " + std::to_string(txt.size()) +
                                          " bytes is over the cap of " +
                                          std::to_string(kRecordMax));
  record r;
  std::string_view rest = trim(txt);
  bool first = true;
  bool seen_p = false, seen_sp = false, seen_np = false, seen_adkim = false, seen_aspf = false,
       seen_t = false, seen_psd = false, seen_rua = false, seen_ruf = false, seen_fo = false,
       seen_pct = false;
  while (!rest.empty() || first) {
    auto semi = rest.find(';');
    std::string_view spec = trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    auto eq = spec.find('=');
    std::string_view name = eq == std::string_view::npos ? spec : trim(spec.substr(0, eq));
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : trim(spec.substr(eq + 1));
    if (first) {
      // 4.7 "v": the first tag, value %s"DMARC1"; otherwise not a DMARC record at all.
      if (eq == std::string_view::npos || !ascii::iequals(name, "v") || value != "DMARC1")
        return fail(errc::not_found, "not a DMARC record (does not start with v=DMARC1)");
      first = false;
      continue;
    }
    if (spec.empty()) continue;  // the optional final dmarc-sep, or ";;"
    if (eq == std::string_view::npos || !valid_name(name) || !valid_value(value)) {
      // 4.8: a syntax error is ignored. A p/sp/np whose value bytes are invalid is an
      // invalid policy tag all the same (4.10.1).
      if (eq != std::string_view::npos) {
        if (ascii::iequals(name, "p") && !seen_p) seen_p = r.p_invalid = true;
        if (ascii::iequals(name, "sp") && !seen_sp) seen_sp = r.sp_invalid = true;
        if (ascii::iequals(name, "np") && !seen_np) seen_np = r.np_invalid = true;
      }
      continue;
    }
    std::string lname = ascii::lower(name);
    std::string lvalue = ascii::lower(value);
    auto policy_tag = [&](bool& seen, std::optional<disposition>& slot, bool& invalid) {
      if (seen) return;  // a repeated tag is ignored (see the header)
      seen = true;
      slot = disposition_from_string(lvalue);
      invalid = !slot;
    };
    if (lname == "p") {
      policy_tag(seen_p, r.p, r.p_invalid);
    } else if (lname == "sp") {
      policy_tag(seen_sp, r.sp, r.sp_invalid);
    } else if (lname == "np") {
      policy_tag(seen_np, r.np, r.np_invalid);
    } else if (lname == "adkim" || lname == "aspf") {
      bool& seen = lname == "adkim" ? seen_adkim : seen_aspf;
      if (seen) continue;
      seen = true;
      alignment_mode& m = lname == "adkim" ? r.adkim : r.aspf;
      if (lvalue == "s")
        m = alignment_mode::strict;
      else
        m = alignment_mode::relaxed;  // "r", or a syntax error -> the default r (4.8)
    } else if (lname == "t") {
      if (seen_t) continue;
      seen_t = true;
      r.testing = lvalue == "y";  // anything but y: the default n (4.7 "t", 4.8)
    } else if (lname == "psd") {
      if (seen_psd) continue;
      seen_psd = true;
      if (lvalue == "y")
        r.psd = psd_flag::yes;
      else if (lvalue == "n")
        r.psd = psd_flag::no;
      else
        r.psd = psd_flag::unset;  // "u" or invalid: the default u (4.7 "psd")
    } else if (lname == "rua") {
      if (seen_rua) continue;
      seen_rua = true;
      r.rua_valid = parse_uris(value, r.rua);
    } else if (lname == "ruf") {
      if (seen_ruf) continue;
      seen_ruf = true;
      parse_uris(value, r.ruf);
    } else if (lname == "fo") {
      if (seen_fo) continue;
      seen_fo = true;
      if (valid_fo(value)) r.fo = lvalue;  // invalid: absent, i.e. the default "0"
    } else if (lname == "pct") {
      // RFC 7489 6.3: 0..100; historic in RFC 9989 (9.3): kept for reports only.
      if (seen_pct) continue;
      seen_pct = true;
      if (value.size() <= 3) {
        int n = 0;
        bool digits = true;
        for (unsigned char c : value) {
          if (!ascii::is_digit(c))
            digits = false;
          else
            n = n * 10 + (c - '0');
        }
        if (digits && n <= 100) r.pct = n;
      }
    }
    // rf=, ri= (historic) and unknown tags: ignored (4.7, 4.8, C.5.2).
  }
  r.raw = std::string(txt);
  return r;
}

}  // namespace mxg::dmarc
