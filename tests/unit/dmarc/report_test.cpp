// DMARC aggregate reports (RFC 9990): what dmarc::to_xml writes validates against the
// working group's schema (tests/data/dmarc/rfc9990-draft.xsd, see its README) with
// libxml2's xmlSchemaValidateDoc, and reads back equal; the RFC's file name example; the
// reader's tolerance (RFC 7489-era layout, no namespace) and its refusals (DOCTYPE,
// not XML, wrong root); the containers (gzip, zip, mail) and their caps.
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <zip.h>

#include "dmarc/report.hpp"
#include "dmarc/report_arf.hpp"

using namespace mxg;
using namespace mxg::dmarc;

namespace {

const std::string kXsd = std::string(MXG_SOURCE_DIR) + "/tests/data/dmarc/rfc9990-draft.xsd";

// 0 = valid; otherwise the number of schema errors (libxml2's return value).
int validate(const std::string& xml, std::string* errors = nullptr) {
  xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(kXsd.c_str());
  if (!pctx) return -100;
  xmlSchemaPtr schema = xmlSchemaParse(pctx);
  xmlSchemaFreeParserCtxt(pctx);
  if (!schema) return -101;
  xmlDocPtr doc =
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "r.xml", nullptr, XML_PARSE_NONET);
  if (!doc) {
    xmlSchemaFree(schema);
    return -102;
  }
  xmlSchemaValidCtxtPtr vctx = xmlSchemaNewValidCtxt(schema);
  std::string errs;
  xmlSchemaSetValidStructuredErrors(
      vctx,
      [](void* ctx, xmlErrorPtr e) {
        if (e && e->message) *static_cast<std::string*>(ctx) += e->message;
      },
      &errs);
  int rc = xmlSchemaValidateDoc(vctx, doc);
  if (errors) *errors = errs;
  xmlSchemaFreeValidCtxt(vctx);
  xmlFreeDoc(doc);
  xmlSchemaFree(schema);
  return rc;
}

feedback sample() {
  feedback f;
  f.version = "1.0";
  f.metadata.org_name = "Receiver Org";
  f.metadata.email = "dmarc-reports@mx.receiver.example";
  f.metadata.extra_contact_info = "https://receiver.example/dmarc";
  f.metadata.report_id = "1700000000.1700086399.example.com@mx.receiver.example";
  f.metadata.date_range = {1700000000, 1700086399};
  f.policy.domain = "example.com";
  f.policy.adkim = "r";
  f.policy.aspf = "s";
  f.policy.p = "quarantine";
  f.policy.sp = "reject";
  f.policy.testing = "n";
  f.policy.fo = "1";
  report_record a;
  a.row = {"192.0.2.10", 12, {"none", "pass", "fail", {}}};
  a.identifiers = {"", "bounce.example.com", "example.com"};
  a.dkim = {{"example.com", "s2024", "pass", ""}, {"esp.example", "k1", "fail", ""}};
  a.spf = {{"bounce.example.com", "mfrom", "softfail", ""}};
  report_record b;
  b.row = {
      "2001:db8::25", 3, {"none", "fail", "fail", {{"local_policy", "monitor rule \"lists\""}}}};
  b.identifiers = {"", "", "news.example.com"};  // null reverse-path: empty envelope_from
  b.spf = {{"mail.lists.example", "helo", "pass", ""}};
  f.records = {a, b};
  return f;
}

void expect_same(const feedback& got, const feedback& want) {
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.metadata.org_name, want.metadata.org_name);
  EXPECT_EQ(got.metadata.email, want.metadata.email);
  EXPECT_EQ(got.metadata.extra_contact_info, want.metadata.extra_contact_info);
  EXPECT_EQ(got.metadata.report_id, want.metadata.report_id);
  EXPECT_EQ(got.metadata.date_range.begin, want.metadata.date_range.begin);
  EXPECT_EQ(got.metadata.date_range.end, want.metadata.date_range.end);
  EXPECT_EQ(got.policy.domain, want.policy.domain);
  EXPECT_EQ(got.policy.adkim, want.policy.adkim);
  EXPECT_EQ(got.policy.aspf, want.policy.aspf);
  EXPECT_EQ(got.policy.p, want.policy.p);
  EXPECT_EQ(got.policy.sp, want.policy.sp);
  EXPECT_EQ(got.policy.np, want.policy.np);
  EXPECT_EQ(got.policy.testing, want.policy.testing);
  EXPECT_EQ(got.policy.fo, want.policy.fo);
  ASSERT_EQ(got.records.size(), want.records.size());
  for (std::size_t i = 0; i < want.records.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& g = got.records[i];
    const auto& w = want.records[i];
    EXPECT_EQ(g.row.source_ip, w.row.source_ip);
    EXPECT_EQ(g.row.count, w.row.count);
    EXPECT_EQ(g.row.evaluated.disposition, w.row.evaluated.disposition);
    EXPECT_EQ(g.row.evaluated.dkim, w.row.evaluated.dkim);
    EXPECT_EQ(g.row.evaluated.spf, w.row.evaluated.spf);
    ASSERT_EQ(g.row.evaluated.reasons.size(), w.row.evaluated.reasons.size());
    for (std::size_t j = 0; j < w.row.evaluated.reasons.size(); ++j) {
      EXPECT_EQ(g.row.evaluated.reasons[j].type, w.row.evaluated.reasons[j].type);
      EXPECT_EQ(g.row.evaluated.reasons[j].comment, w.row.evaluated.reasons[j].comment);
    }
    EXPECT_EQ(g.identifiers.envelope_to, w.identifiers.envelope_to);
    EXPECT_EQ(g.identifiers.envelope_from, w.identifiers.envelope_from);
    EXPECT_EQ(g.identifiers.header_from, w.identifiers.header_from);
    ASSERT_EQ(g.dkim.size(), w.dkim.size());
    for (std::size_t j = 0; j < w.dkim.size(); ++j) {
      EXPECT_EQ(g.dkim[j].domain, w.dkim[j].domain);
      EXPECT_EQ(g.dkim[j].selector, w.dkim[j].selector);
      EXPECT_EQ(g.dkim[j].result, w.dkim[j].result);
    }
    ASSERT_EQ(g.spf.size(), w.spf.size());
    for (std::size_t j = 0; j < w.spf.size(); ++j) {
      EXPECT_EQ(g.spf[j].domain, w.spf[j].domain);
      EXPECT_EQ(g.spf[j].scope, w.spf[j].scope);
      EXPECT_EQ(g.spf[j].result, w.spf[j].result);
    }
  }
}

std::string zip_of(const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(nullptr, 0, 0, &err);
  zip_t* z = zip_open_from_source(src, ZIP_TRUNCATE, &err);
  EXPECT_NE(z, nullptr);
  zip_source_keep(src);
  for (const auto& [name, data] : entries) {
    // libzip copies on zip_close; the strings outlive it.
    zip_source_t* s = zip_source_buffer(z, data.data(), data.size(), 0);
    zip_file_add(z, name.c_str(), s, ZIP_FL_OVERWRITE);
  }
  zip_close(z);
  zip_source_open(src);
  zip_source_seek(src, 0, SEEK_END);
  auto size = zip_source_tell(src);
  zip_source_seek(src, 0, SEEK_SET);
  std::string out(static_cast<std::size_t>(size), '\0');
  zip_source_read(src, out.data(), static_cast<zip_uint64_t>(size));
  zip_source_close(src);
  zip_source_free(src);
  zip_error_fini(&err);
  return out;
}

std::string base64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0, line = 0;
  for (; i + 2 < in.size(); i += 3) {
    auto n = (static_cast<unsigned char>(in[i]) << 16) |
             (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += t[(n >> 6) & 63];
    out += t[n & 63];
    if ((line += 4) >= 76) {
      out += "\r\n";
      line = 0;
    }
  }
  if (i + 1 == in.size()) {
    auto n = static_cast<unsigned char>(in[i]) << 16;
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    auto n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += t[(n >> 6) & 63];
    out += '=';
  }
  return out + "\r\n";
}

}  // namespace

TEST(DmarcReportXml, WrittenReportValidatesAgainstTheSchema) {
  auto xml = to_xml(sample());
  std::string errs;
  EXPECT_EQ(validate(xml, &errs), 0) << errs << "\n" << xml;
  // RFC 9990 IANA: the report's namespace.
  EXPECT_NE(xml.find("<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"), std::string::npos);
}

TEST(DmarcReportXml, TheValidatorRejectsWhatTheSchemaForbids) {
  // Negative controls, so a green validation means something: a record without
  // header_from, a disposition outside ActionDispositionType, a bad IP.
  auto xml = to_xml(sample());
  auto no_from = xml;
  auto p = no_from.find("<header_from>example.com</header_from>");
  ASSERT_NE(p, std::string::npos);
  no_from.erase(p, std::string("<header_from>example.com</header_from>").size());
  EXPECT_GT(validate(no_from), 0);
  auto f = sample();
  f.records[0].row.evaluated.disposition = "discard";
  EXPECT_GT(validate(to_xml(f)), 0);
  f = sample();
  f.records[0].row.source_ip = "not-an-ip";
  EXPECT_GT(validate(to_xml(f)), 0);
}

TEST(DmarcReportXml, RoundTripsThroughTheReader) {
  auto f = sample();
  auto back = parse_xml(to_xml(f));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->xml_namespace, kReportNamespace);
  expect_same(*back, f);
}

TEST(DmarcReportXml, HostileValuesAreEscapedAndStayValid) {
  auto f = sample();
  f.records[0].dkim[1].domain = "a<b>&c\"d'\x01\xff.example";  // from a DKIM-Signature d=
  f.records[0].dkim[1].selector = "s]]>x\xEF\xBF\xBE";         // U+FFFE: UTF-8, not an XML Char
  f.metadata.org_name = "Org & <Co>";
  auto xml = to_xml(f);
  std::string errs;
  EXPECT_EQ(validate(xml, &errs), 0) << errs;
  auto back = parse_xml(xml);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->metadata.org_name, "Org & <Co>");
  // The control byte and the invalid byte became U+FFFD; the markup characters survived.
  EXPECT_EQ(back->records[0].dkim[1].domain, "a<b>&c\"d'\xEF\xBF\xBD\xEF\xBF\xBD.example");
  EXPECT_EQ(back->records[0].dkim[1].selector, "s]]>x\xEF\xBF\xBD");
}

TEST(DmarcReportXml, NpIsWrittenWhenPublished) {
  // The working-group schema predates np= (see tests/data/dmarc/README.md): checked
  // field by field.
  auto f = sample();
  f.policy.np = "reject";
  auto xml = to_xml(f);
  EXPECT_NE(xml.find("<np>reject</np>"), std::string::npos);
  auto back = parse_xml(xml);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->policy.np, "reject");
}

TEST(DmarcReportXml, AtMostOneHundredDkimResultsPerRow) {
  // RFC 9990 "DKIM Signatures in Aggregate Reports": no more than 100 per row.
  auto f = sample();
  f.records[0].dkim.assign(150, {"example.com", "s", "pass", ""});
  auto back = parse_xml(to_xml(f));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->records[0].dkim.size(), 100u);
}

TEST(DmarcReportName, FollowsTheRfcExample) {
  // RFC 9990 "Email" transport: the example file name.
  EXPECT_EQ(
      report_filename("mail.receiver.example", "example.com", 1013662812, 1013749130, "", true),
      "mail.receiver.example!example.com!1013662812!1013749130.xml.gz");
  EXPECT_EQ(report_filename("Mx.Receiver.Example", "Example.COM", 1, 2, "ab-9/c", false),
            "mx.receiver.example!example.com!1!2!ab9c.xml");
  auto p =
      parse_report_filename("/tmp/mail.receiver.example!example.com!1013662812!1013749130.xml.gz");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->receiver, "mail.receiver.example");
  EXPECT_EQ(p->policy_domain, "example.com");
  EXPECT_EQ(p->begin, 1013662812);
  EXPECT_EQ(p->end, 1013749130);
  EXPECT_EQ(p->unique_id, "");
  EXPECT_EQ(p->extension, "xml.gz");
  auto z = parse_report_filename("google.com!stalw.art!1669507200!1669593599.zip");
  ASSERT_TRUE(z);
  EXPECT_EQ(z->extension, "zip");
  auto u = parse_report_filename("r.example!d.example!1!2!u1.xml");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->unique_id, "u1");
  EXPECT_FALSE(parse_report_filename("report.xml"));
  EXPECT_FALSE(parse_report_filename("a!b!x!2.xml"));
  EXPECT_FALSE(parse_report_filename("a!b!1.xml"));
}

TEST(DmarcReportParse, ReadsAnRfc7489EraReport) {
  // RFC 7489 appendix C layout: no namespace, no version, pct, multiple spf results,
  // tokens in odd case, a "draft" sampled_out reason, unknown elements and extensions.
  std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>acme.com</org_name><email>noreply-dmarc-support@acme.com</email>
    <report_id>9391651994964116463</report_id>
    <date_range><begin>1335571200</begin><end>1335657599</end></date_range>
    <error>first</error><error>second</error>
  </report_metadata>
  <policy_published>
    <domain>Example.COM</domain><adkim>r</adkim><aspf>r</aspf><p>None</p><sp>none</sp>
    <pct>100</pct><fo>1:d</fo><future_tag>x</future_tag>
  </policy_published>
  <record>
    <row><source_ip>72.150.241.94</source_ip><count>2</count>
      <policy_evaluated><disposition>none</disposition><dkim>FAIL</dkim><spf>pass</spf>
        <reason><type>sampled_out</type><comment><![CDATA[pct < 100]]></comment></reason>
      </policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results>
      <dkim><domain>example.com</domain><result>fail</result><human_result></human_result></dkim>
      <spf><domain>example.com</domain><result>pass</result></spf>
      <spf><domain>helo.example.com</domain><scope>helo</scope><result>none</result></spf>
    </auth_results>
    <extensions><x:thing xmlns:x="urn:x">1</x:thing></extensions>
  </record>
</feedback>)";
  auto f = parse_xml(xml);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->version, "");
  EXPECT_EQ(f->xml_namespace, "");
  EXPECT_EQ(f->metadata.errors, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(f->metadata.date_range.end, 1335657599);
  EXPECT_EQ(f->policy.domain, "example.com");
  EXPECT_EQ(f->policy.p, "none");
  EXPECT_EQ(f->policy.pct, "100");
  EXPECT_EQ(f->policy.fo, "1:d");
  ASSERT_EQ(f->records.size(), 1u);
  const auto& r = f->records[0];
  EXPECT_EQ(r.row.count, 2u);
  EXPECT_EQ(r.row.evaluated.dkim, "fail");
  ASSERT_EQ(r.row.evaluated.reasons.size(), 1u);
  EXPECT_EQ(r.row.evaluated.reasons[0].type, "sampled_out");
  EXPECT_EQ(r.row.evaluated.reasons[0].comment, "pct < 100");
  EXPECT_EQ(r.dkim.size(), 1u);
  EXPECT_EQ(r.dkim[0].selector, "");
  ASSERT_EQ(r.spf.size(), 2u);
  EXPECT_EQ(r.spf[1].scope, "helo");
}

TEST(DmarcReportParse, RefusesDoctypesAndNonReports) {
  // A billion-laughs document never reaches the parser.
  std::string laughs = R"(<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<feedback><report_metadata><org_name>&lol2;</org_name></report_metadata></feedback>)";
  auto a = parse_xml(laughs);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, errc::unsupported);
  auto b = parse_xml("<feedback><unclosed></feedback>");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, errc::parse_error);
  auto c = parse_xml("<rss><channel/></rss>");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("<rss>"), std::string::npos);
  EXPECT_FALSE(parse_xml(""));
  // An external entity reference without a DTD is not resolved (and not fetched).
  auto d = parse_xml(
      "<feedback><report_metadata><org_name>&ext;</org_name></report_metadata></feedback>");
  if (d) {
    EXPECT_EQ(d->metadata.org_name.find("root:"), std::string::npos);
  }
}

TEST(DmarcReportParse, LongValuesAreCut) {
  std::string xml = "<feedback><report_metadata><org_name>" + std::string(100000, 'a') +
                    "</org_name></report_metadata></feedback>";
  auto f = parse_xml(xml);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->metadata.org_name.size(), kReportFieldMax);
}

TEST(DmarcReportContainer, GzipRoundTripAndBombCap) {
  auto xml = to_xml(sample());
  auto gz = gzip_compress(xml);
  ASSERT_TRUE(gz);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);  // RFC 1952 2.3.1 ID1, ID2
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  auto blobs = extract_reports(*gz, "r.xml.gz");
  ASSERT_TRUE(blobs) << blobs.error().message;
  ASSERT_EQ(blobs->size(), 1u);
  EXPECT_EQ((*blobs)[0].xml, xml);
  // 4 MiB of zeros compresses to a few KiB; inflating past the cap stops with an error.
  auto bomb = gzip_compress(std::string(4u << 20, '\0'));
  ASSERT_TRUE(bomb);
  auto capped = gzip_decompress(*bomb, 1u << 20);
  ASSERT_FALSE(capped);
  EXPECT_EQ(capped.error().code, errc::limit_exceeded);
  auto truncated = gzip_decompress(gz->substr(0, gz->size() / 2));
  EXPECT_FALSE(truncated);
}

TEST(DmarcReportContainer, ZipTakesTheXmlEntries) {
  auto xml = to_xml(sample());
  auto z = zip_of({{"readme.txt", "hello"}, {"r!example.com!1!2.xml", xml}});
  auto pf = parse_report_data(z, "r.zip");
  ASSERT_TRUE(pf) << pf.error().message;
  ASSERT_EQ(pf->reports.size(), 1u);
  EXPECT_EQ(pf->names[0], "r.zip:r!example.com!1!2.xml");
  expect_same(pf->reports[0], sample());
  // A zip whose only entry has an odd name is still read.
  auto odd = zip_of({{"report", xml}});
  EXPECT_TRUE(parse_report_data(odd, "odd.zip"));
  auto none = zip_of({{"a.txt", "x"}, {"b.txt", "y"}});
  EXPECT_FALSE(parse_report_data(none, "none.zip"));
}

TEST(DmarcReportContainer, MailWithAGzipAttachment) {
  auto gz = gzip_compress(to_xml(sample()));
  ASSERT_TRUE(gz);
  std::string eml =
      "From: dmarc@mx.receiver.example\r\nTo: rua@example.com\r\n"
      "Subject: Report Domain: example.com Submitter: mx.receiver.example\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
      "--B\r\nContent-Type: text/plain\r\n\r\nThis is a DMARC aggregate report.\r\n"
      "--B\r\nContent-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment;\r\n "
      "filename=\"mx.receiver.example!example.com!1700000000!1700086399.xml.gz\"\r\n\r\n" +
      base64(*gz) + "--B--\r\n";
  auto pf = parse_report_data(eml, "r.eml");
  ASSERT_TRUE(pf) << pf.error().message;
  ASSERT_EQ(pf->reports.size(), 1u);
  expect_same(pf->reports[0], sample());
  // octet-stream with a report name is taken too (odd senders).
  auto octet = eml;
  octet.replace(octet.find("application/gzip"), 16, "application/octet-stream");
  EXPECT_TRUE(parse_report_data(octet, "o.eml"));
  // A message without a report says so.
  auto none = parse_report_data("From: a@b\r\nSubject: hi\r\n\r\nno report here\r\n", "n.eml");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("no report"), std::string::npos);
}

TEST(DmarcReportContainer, OversizedInputIsRefused) {
  std::string big(kReportFileMax + 1, '<');
  auto r = extract_reports(big, "big.xml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::limit_exceeded);
}

TEST(DmarcArf, ReadsTheRfc6591Example) {
  // RFC 6591 appendix B.1 style: a DKIM auth-failure report with text/rfc822-headers.
  std::string eml =
      "From: arf-failure@example.net\r\nTo: arf-failures@example.com\r\nSubject: FW: You have a "
      "bill\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report;\r\n"
      " boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nA report.\r\n"
      "--X\r\nContent-Type: message/feedback-report\r\n\r\n"
      "Feedback-Type: auth-failure\r\nUser-Agent: Someisp!Mail-Feedback/1.0\r\nVersion: 1\r\n"
      "Original-Mail-From: anexample.reply@a.sender.example\r\n"
      "Arrival-Date: 8 Oct 2011 20:15:58 +0000 (GMT)\r\n"
      "Source-IP: 192.0.2.1 (mail.sender.example)\r\nReporting-MTA: dns; mx.receiver.example\r\n"
      "Authentication-Results: mx.receiver.example;\r\n dkim=fail (bodyhash) "
      "header.d=sender.example\r\n"
      "Auth-Failure: bodyhash\r\nDKIM-Domain: sender.example\r\nDKIM-Selector: testkey\r\n"
      "Reported-Domain: a.sender.example\r\n\r\n"
      "--X\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: anexample@a.sender.example\r\n"
      "Subject: You have a bill\r\n\r\n--X--\r\n";
  auto r = parse_arf(eml);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->feedback_type, "auth-failure");
  EXPECT_EQ(r->version, "1");
  EXPECT_EQ(r->arrival_date.value_or(0), 1318104958);
  EXPECT_EQ(r->source_ip, "192.0.2.1");
  EXPECT_EQ(r->reporting_mta, "mx.receiver.example");
  EXPECT_EQ(r->auth_failure, "bodyhash");
  EXPECT_EQ(r->dkim_domain, "sender.example");
  EXPECT_EQ(r->dkim_selector, "testkey");
  EXPECT_EQ(r->incidents, 1);
  ASSERT_EQ(r->authentication_results.size(), 1u);
  EXPECT_EQ(r->reported_domain, (std::vector<std::string>{"a.sender.example"}));
  EXPECT_NE(r->original_headers.find("Subject: You have a bill"), std::string::npos);
  EXPECT_FALSE(parse_arf("From: a@b\r\n\r\nplain\r\n"));
}
