// report_parse.cpp: the tolerant reader of DMARC aggregate report XML (RFC 9990
// appendix A; RFC 7489 appendix C and the pre-RFC "draft" layout still sent by large
// receivers). Elements are matched by local name, case-insensitively, in any namespace
// (RFC 7489 reports have none, RFC 9990 ones urn:ietf:params:xml:ns:dmarc-2.0, a few
// senders invent their own); unknown elements and <extension(s)> are skipped (RFC 9990
// "Extensions": their absence or presence SHOULD NOT create an error).
// Security: libxml2 with XML_PARSE_NONET, without XML_PARSE_NOENT/DTDLOAD/HUGE (no
// entity substitution, no external subset, libxml2's default depth and text caps); a
// document with a DOCTYPE is refused before parsing, so no entity is ever declared.
// Sizes: kReportXmlMax input, kReportRecordsMax records, kReportFieldMax per value,
// kReportListMax list items.
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "base/ascii.hpp"
#include "dmarc/report.hpp"

namespace mxg::dmarc {

namespace {

struct doc_deleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

void quiet_errors(void*, const char*, ...) {}

bool named(const xmlNode* n, std::string_view name) {
  return n->type == XML_ELEMENT_NODE && n->name &&
         ascii::iequals(reinterpret_cast<const char*>(n->name), name);
}

// Text content of an element (descendant text and CDATA), trimmed, capped.
std::string text(const xmlNode* n) {
  std::string out;
  auto walk = [&](auto&& self, const xmlNode* c) -> void {
    for (; c && out.size() <= kReportFieldMax; c = c->next) {
      if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
        out += reinterpret_cast<const char*>(c->content);
      else if (c->type == XML_ELEMENT_NODE)
        self(self, c->children);
    }
  };
  walk(walk, n->children);
  auto t = ascii::trim_space(out);
  if (t.size() > kReportFieldMax) t = t.substr(0, kReportFieldMax);
  return std::string(t);
}
std::string token(const xmlNode* n) {
  return ascii::lower(text(n));
}

template <typename F>
void each_child(const xmlNode* n, F&& f) {
  for (const xmlNode* c = n->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE) f(c);
}

std::int64_t integer(const std::string& s, bool& ok) {
  // Some senders write "1669507200.0" or surround digits with blanks: digits before a
  // '.' are taken; anything else is not a number.
  std::int64_t v = 0;
  std::size_t i = 0;
  bool neg = !s.empty() && s[0] == '-';
  if (neg) ++i;
  std::size_t digits = 0;
  for (; i < s.size() && ascii::is_digit(static_cast<unsigned char>(s[i])); ++i, ++digits) {
    if (digits == 18) {
      ok = false;
      return 0;
    }
    v = v * 10 + (s[i] - '0');
  }
  if (digits == 0 || (i < s.size() && s[i] != '.')) {
    ok = false;
    return 0;
  }
  for (++i; i < s.size(); ++i)
    if (!ascii::is_digit(static_cast<unsigned char>(s[i]))) {
      ok = false;
      return 0;
    }
  return neg ? -v : v;
}

void read_metadata(const xmlNode* n, report_metadata& m) {
  each_child(n, [&](const xmlNode* c) {
    if (named(c, "org_name"))
      m.org_name = text(c);
    else if (named(c, "email"))
      m.email = text(c);
    else if (named(c, "extra_contact_info"))
      m.extra_contact_info = text(c);
    else if (named(c, "report_id"))
      m.report_id = text(c);
    else if (named(c, "generator"))
      m.generator = text(c);
    else if (named(c, "error")) {
      if (m.errors.size() < kReportListMax) m.errors.push_back(text(c));
    } else if (named(c, "date_range")) {
      each_child(c, [&](const xmlNode* d) {
        bool ok = true;
        if (named(d, "begin"))
          m.date_range.begin = integer(text(d), ok);
        else if (named(d, "end"))
          m.date_range.end = integer(text(d), ok);
      });
    }
  });
}

void read_policy(const xmlNode* n, policy_published& p) {
  each_child(n, [&](const xmlNode* c) {
    if (named(c, "domain"))
      p.domain = ascii::lower(text(c));
    else if (named(c, "adkim"))
      p.adkim = token(c);
    else if (named(c, "aspf"))
      p.aspf = token(c);
    else if (named(c, "p"))
      p.p = token(c);
    else if (named(c, "sp"))
      p.sp = token(c);
    else if (named(c, "np"))
      p.np = token(c);
    else if (named(c, "testing"))
      p.testing = token(c);
    else if (named(c, "discovery_method"))
      p.discovery_method = token(c);
    else if (named(c, "fo"))
      p.fo = text(c);
    else if (named(c, "pct"))
      p.pct = text(c);
  });
}

void read_row(const xmlNode* n, report_row& r) {
  each_child(n, [&](const xmlNode* c) {
    if (named(c, "source_ip"))
      r.source_ip = ascii::lower(text(c));
    else if (named(c, "count")) {
      bool ok = true;
      auto v = integer(text(c), ok);
      r.count = ok && v > 0 ? static_cast<std::uint64_t>(v) : 0;
    } else if (named(c, "policy_evaluated")) {
      each_child(c, [&](const xmlNode* e) {
        if (named(e, "disposition"))
          r.evaluated.disposition = token(e);
        else if (named(e, "dkim"))
          r.evaluated.dkim = token(e);
        else if (named(e, "spf"))
          r.evaluated.spf = token(e);
        else if (named(e, "reason") && r.evaluated.reasons.size() < kReportListMax) {
          policy_override_reason why;
          each_child(e, [&](const xmlNode* t) {
            if (named(t, "type"))
              why.type = token(t);
            else if (named(t, "comment"))
              why.comment = text(t);
          });
          r.evaluated.reasons.push_back(std::move(why));
        }
      });
    }
  });
}

void read_auth(const xmlNode* n, report_record& r) {
  each_child(n, [&](const xmlNode* c) {
    if (named(c, "dkim") && r.dkim.size() < kReportListMax) {
      dkim_auth_result d;
      each_child(c, [&](const xmlNode* e) {
        if (named(e, "domain"))
          d.domain = ascii::lower(text(e));
        else if (named(e, "selector"))
          d.selector = text(e);
        else if (named(e, "result"))
          d.result = token(e);
        else if (named(e, "human_result"))
          d.human_result = text(e);
      });
      r.dkim.push_back(std::move(d));
    } else if (named(c, "spf") && r.spf.size() < kReportListMax) {
      spf_auth_result s;
      each_child(c, [&](const xmlNode* e) {
        if (named(e, "domain"))
          s.domain = ascii::lower(text(e));
        else if (named(e, "scope"))
          s.scope = token(e);
        else if (named(e, "result"))
          s.result = token(e);
        else if (named(e, "human_result"))
          s.human_result = text(e);
      });
      r.spf.push_back(std::move(s));
    }
  });
}

report_record read_record(const xmlNode* n) {
  report_record r;
  each_child(n, [&](const xmlNode* c) {
    if (named(c, "row"))
      read_row(c, r.row);
    else if (named(c, "identifiers")) {
      each_child(c, [&](const xmlNode* e) {
        if (named(e, "envelope_to"))
          r.identifiers.envelope_to = ascii::lower(text(e));
        else if (named(e, "envelope_from"))
          r.identifiers.envelope_from = ascii::lower(text(e));
        else if (named(e, "header_from"))
          r.identifiers.header_from = ascii::lower(text(e));
      });
    } else if (named(c, "auth_results"))
      read_auth(c, r);
  });
  return r;
}

// A DOCTYPE anywhere before the root element (XML 1.0 2.8 prolog): refused, so no
// entity can be declared (billion laughs, external entities).
bool has_doctype(std::string_view xml) {
  return xml.find("<!DOCTYPE") != std::string_view::npos ||
         xml.find("<!doctype") != std::string_view::npos;
}

}  // namespace

mxg::result<feedback> parse_xml(std::string_view xml) {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
  if (xml.size() > kReportXmlMax)
    return fail(errc::limit_exceeded,
                "report XML larger than " + std::to_string(kReportXmlMax) + " bytes");
  if (has_doctype(xml))
    return fail(errc::unsupported, "report XML has a DOCTYPE (refused: no DTDs or entities)");
  // Errors go to a no-op handler instead of stderr (thread-local in libxml2 2.9).
  xmlSetGenericErrorFunc(nullptr, quiet_errors);
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                      XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA;
  std::unique_ptr<xmlDoc, doc_deleter> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "report.xml", nullptr, options));
  if (!doc) {
    const xmlError* e = xmlGetLastError();
    std::string why = e && e->message ? e->message : "not well-formed";
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return fail(errc::parse_error,
                "report XML: " + why + (e ? " (line " + std::to_string(e->line) + ")" : ""));
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || !named(root, "feedback"))
    return fail(errc::parse_error,
                std::string("report XML: the root element is <") +
                    (root && root->name ? reinterpret_cast<const char*>(root->name) : "") +
                    ">, not <feedback>");
  feedback f;
  if (root->ns && root->ns->href) f.xml_namespace = reinterpret_cast<const char*>(root->ns->href);
  bool over = false;
  each_child(root, [&](const xmlNode* c) {
    if (named(c, "version"))
      f.version = text(c);
    else if (named(c, "report_metadata"))
      read_metadata(c, f.metadata);
    else if (named(c, "policy_published"))
      read_policy(c, f.policy);
    else if (named(c, "record")) {
      if (f.records.size() >= kReportRecordsMax) {
        over = true;
        return;
      }
      f.records.push_back(read_record(c));
    }
  });
  if (over)
    return fail(errc::limit_exceeded,
                "report XML: more than " + std::to_string(kReportRecordsMax) + " records");
  return f;
}

}  // namespace mxg::dmarc
