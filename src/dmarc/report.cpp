// report.cpp: writing DMARC aggregate reports (RFC 9990): the XML document in the
// element order of RFC 9990 appendix A, the report file name (RFC 9990 "Email"
// transport) and gzip (RFC 1952, through zlib) for both directions.
// Never writes bytes XML 1.0 cannot carry: values from mail (DKIM d=, envelope domains)
// may hold anything, so invalid UTF-8 and control characters become U+FFFD.
#include <zlib.h>

#include <cstdio>

#include "base/ascii.hpp"
#include "dmarc/report.hpp"

namespace mxg::dmarc {

namespace {

// Length of the valid UTF-8 sequence at s[i] (RFC 3629 4), 0 if invalid.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 0;
    if (c == 0xF4 && c1 > 0x8F) return 0;
    return 4;
  }
  return 0;
}

// Character data for an element (XML 1.0 2.2 Char, 2.4 escaping).
std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    auto n = utf8_len(s, i);
    // U+FFFE and U+FFFF are UTF-8 but not XML 1.0 characters (XML 1.0 2.2 Char).
    bool non_char = n == 3 && c == 0xEF && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
                    (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xBE;
    if (n == 0 || non_char || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += n ? n : 1;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

struct writer {
  std::string out;
  int depth = 0;
  void indent() { out.append(static_cast<std::size_t>(depth) * 2, ' '); }
  void open(std::string_view name, std::string_view attrs = {}) {
    indent();
    out += '<';
    out += name;
    out += attrs;
    out += ">\n";
    ++depth;
  }
  void close(std::string_view name) {
    --depth;
    indent();
    out += "</";
    out += name;
    out += ">\n";
  }
  void leaf(std::string_view name, std::string_view value) {
    indent();
    out += '<';
    out += name;
    out += '>';
    out += escape(value);
    out += "</";
    out += name;
    out += ">\n";
  }
  void optional(std::string_view name, std::string_view value) {
    if (!value.empty()) leaf(name, value);
  }
};

}  // namespace

std::string to_xml(const feedback& f) {
  writer w;
  w.out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  w.open("feedback", std::string(" xmlns=\"") + std::string(kReportNamespace) + "\"");
  w.leaf("version", f.version.empty() ? "1.0" : f.version);

  const auto& m = f.metadata;
  w.open("report_metadata");
  w.leaf("org_name", m.org_name);
  w.leaf("email", m.email);
  w.optional("extra_contact_info", m.extra_contact_info);
  w.leaf("report_id", m.report_id);
  w.open("date_range");
  w.leaf("begin", std::to_string(m.date_range.begin));
  w.leaf("end", std::to_string(m.date_range.end));
  w.close("date_range");
  for (const auto& e : m.errors) w.leaf("error", e);
  w.optional("generator", m.generator);
  w.close("report_metadata");

  // RFC 9990 appendix A PolicyPublishedType: domain, p and sp required; the others
  // optional. An absent sp= means "as p" (RFC 9989 4.7), so sp is written as p then.
  const auto& p = f.policy;
  w.open("policy_published");
  w.leaf("domain", p.domain);
  w.optional("discovery_method", p.discovery_method);
  w.optional("adkim", p.adkim);
  w.optional("aspf", p.aspf);
  w.leaf("p", p.p.empty() ? "none" : p.p);
  w.leaf("sp", p.sp.empty() ? (p.p.empty() ? "none" : p.p) : p.sp);
  w.optional("np", p.np);
  w.optional("testing", p.testing);
  w.optional("fo", p.fo);
  w.close("policy_published");

  for (const auto& r : f.records) {
    w.open("record");
    w.open("row");
    w.leaf("source_ip", r.row.source_ip);
    w.leaf("count", std::to_string(r.row.count));
    w.open("policy_evaluated");
    w.leaf("disposition", r.row.evaluated.disposition);
    w.leaf("dkim", r.row.evaluated.dkim);
    w.leaf("spf", r.row.evaluated.spf);
    for (const auto& why : r.row.evaluated.reasons) {
      w.open("reason");
      w.leaf("type", why.type);
      w.optional("comment", why.comment);
      w.close("reason");
    }
    w.close("policy_evaluated");
    w.close("row");
    w.open("identifiers");
    w.optional("envelope_to", r.identifiers.envelope_to);
    // RFC 9990: envelope_from MAY exist but be empty for a null reverse-path.
    w.leaf("envelope_from", r.identifiers.envelope_from);
    w.leaf("header_from", r.identifiers.header_from);
    w.close("identifiers");
    w.open("auth_results");
    std::size_t n = 0;
    for (const auto& d : r.dkim) {
      if (n++ == kReportDkimPerRowMax) break;
      w.open("dkim");
      w.leaf("domain", d.domain);
      w.leaf("selector", d.selector);
      w.leaf("result", d.result);
      w.optional("human_result", d.human_result);
      w.close("dkim");
    }
    for (const auto& s : r.spf) {
      w.open("spf");
      w.leaf("domain", s.domain);
      w.optional("scope", s.scope);
      w.leaf("result", s.result);
      w.optional("human_result", s.human_result);
      w.close("spf");
    }
    w.close("auth_results");
    w.close("record");
  }
  w.close("feedback");
  return std::move(w.out);
}

std::string report_filename(std::string_view receiver, std::string_view policy_domain,
                            std::int64_t begin, std::int64_t end, std::string_view unique_id,
                            bool gzip) {
  std::string name = ascii::lower(receiver) + "!" + ascii::lower(policy_domain) + "!" +
                     std::to_string(begin) + "!" + std::to_string(end);
  std::string uid;
  for (char c : unique_id)
    if (ascii::is_alpha(static_cast<unsigned char>(c)) ||
        ascii::is_digit(static_cast<unsigned char>(c)))
      uid += c;
  if (!uid.empty()) name += "!" + uid;
  name += gzip ? ".xml.gz" : ".xml";
  return name;
}

std::optional<report_filename_parts> parse_report_filename(std::string_view name) {
  auto slash = name.find_last_of('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  // The extension starts at the first '.' after the last '!' (domains hold dots).
  auto bang = name.rfind('!');
  if (bang == std::string_view::npos) return std::nullopt;
  auto dot = name.find('.', bang);
  if (dot == std::string_view::npos) return std::nullopt;
  report_filename_parts p;
  p.extension = ascii::lower(name.substr(dot + 1));
  std::vector<std::string_view> parts;
  std::string_view stem = name.substr(0, dot);
  std::size_t start = 0;
  while (true) {
    auto e = stem.find('!', start);
    parts.push_back(stem.substr(start, e == std::string_view::npos ? e : e - start));
    if (e == std::string_view::npos) break;
    start = e + 1;
  }
  if (parts.size() != 4 && parts.size() != 5) return std::nullopt;
  auto number = [](std::string_view s, std::int64_t& out) {
    if (s.empty() || s.size() > 18) return false;
    out = 0;
    for (char c : s) {
      if (!ascii::is_digit(static_cast<unsigned char>(c))) return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  if (parts[0].empty() || parts[1].empty()) return std::nullopt;
  if (!number(parts[2], p.begin) || !number(parts[3], p.end)) return std::nullopt;
  p.receiver = parts[0];
  p.policy_domain = parts[1];
  if (parts.size() == 5) p.unique_id = parts[4];
  return p;
}

mxg::result<std::string> gzip_compress(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper (RFC 1952) instead of zlib's.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return fail(errc::internal, "gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return fail(errc::internal, "gzip: deflate did not finish");
  return out;
}

mxg::result<std::string> gzip_decompress(std::string_view data, std::size_t max_out) {
  z_stream z{};
  // 15 + 32: zlib or gzip header, detected.
  if (inflateInit2(&z, 15 + 32) != Z_OK) return fail(errc::internal, "gzip: inflateInit2 failed");
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return fail(errc::parse_error,
                  std::string("gzip: corrupt data (") + (z.msg ? z.msg : "truncated") + ")");
    }
    auto produced = sizeof buf - z.avail_out;
    if (out.size() + produced > max_out) {
      inflateEnd(&z);
      return fail(errc::limit_exceeded,
                  "gzip: decompresses to more than " + std::to_string(max_out) + " bytes");
    }
    out.append(buf, produced);
    if (rc == Z_OK && produced == 0 && z.avail_in == 0) {
      inflateEnd(&z);
      return fail(errc::parse_error, "gzip: truncated stream");
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace mxg::dmarc
