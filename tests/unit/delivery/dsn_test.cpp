// DSN builder (src/delivery/dsn.hpp): the generated message is split with a small MIME
// reader and checked for the fields RFC 3464 requires (2.2 per-message: Reporting-MTA;
// 2.3 per-recipient: Final-Recipient, Action, Status), the RFC 6522 multipart/report
// structure, the null reverse-path of the DSN itself, and the refusal to bounce to <>
// (RFC 5321 4.5.5 / 6.1).
#include "delivery/dsn.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using mxg::delivery::build_dsn;
using mxg::delivery::dsn_input;
using mxg::delivery::status_of_reply;

namespace {

struct part {
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;
};

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto e = s.find("\r\n", pos);
    if (e == std::string::npos) {
      out.push_back(s.substr(pos));
      break;
    }
    out.push_back(s.substr(pos, e - pos));
    pos = e + 2;
  }
  return out;
}

// Header fields (unfolded) and the body of an entity.
part parse_entity(const std::string& text) {
  part p;
  auto ls = lines_of(text);
  std::size_t i = 0;
  std::string name, value;
  auto flush = [&] {
    if (!name.empty()) p.headers.emplace(name, value);
    name.clear();
  };
  for (; i < ls.size() && !ls[i].empty(); ++i) {
    if (ls[i][0] == ' ' || ls[i][0] == '\t') {
      value += " " + ls[i].substr(1);
      continue;
    }
    flush();
    auto c = ls[i].find(':');
    name = ls[i].substr(0, c);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    value = ls[i].substr(c + 1);
    while (!value.empty() && value[0] == ' ') value.erase(0, 1);
  }
  flush();
  for (++i; i < ls.size(); ++i) p.body += ls[i] + "\r\n";
  return p;
}

std::string param(const std::string& v, const std::string& key) {
  auto k = v.find(key + "=");
  if (k == std::string::npos) return "";
  auto s = v.substr(k + key.size() + 1);
  if (!s.empty() && s[0] == '"') return s.substr(1, s.find('"', 1) - 1);
  return s.substr(0, s.find_first_of("; "));
}

std::vector<std::string> split_parts(const std::string& body, const std::string& boundary) {
  std::vector<std::string> parts;
  auto ls = lines_of(body);
  std::string cur;
  bool in = false;
  for (const auto& l : ls) {
    if (l == "--" + boundary || l == "--" + boundary + "--") {
      if (in) parts.push_back(cur);
      cur.clear();
      in = l == "--" + boundary;
      continue;
    }
    if (in) cur += l + "\r\n";
  }
  return parts;
}

// Blank-line separated groups of "Name: value" fields (RFC 3464 2.1).
std::vector<std::map<std::string, std::string>> field_groups(const std::string& body) {
  std::vector<std::map<std::string, std::string>> out(1);
  for (const auto& l : lines_of(body)) {
    if (l.empty()) {
      if (!out.back().empty()) out.emplace_back();
      continue;
    }
    auto c = l.find(": ");
    out.back()[l.substr(0, c)] = l.substr(c + 2);
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

dsn_input sample() {
  dsn_input in;
  in.reporting_mta = "gw.example.test";
  in.queue_id = "00661A2B3C4D5A3F9C";
  in.original_sender = "drj@drj.test";
  in.arrival = std::chrono::system_clock::time_point{std::chrono::seconds{1'795'000'000}};
  in.now = in.arrival + std::chrono::hours(1);
  in.recipients.push_back({"nobody@dest.test", "failed", "", "mx.dest.test",
                           "550 5.1.1 <nobody@dest.test>: Recipient address rejected", in.now});
  in.recipients.push_back({"late@other.test", "failed", "4.4.7", "",
                           "message expired after 5 days in the queue", in.now});
  in.original_message =
      "Received: from x\r\nSubject: test of the capture-only instance\r\nFrom: drj@drj.test\r\n"
      "\r\nJust a test!\r\nSECRET BODY\r\n";
  return in;
}

}  // namespace

TEST(Dsn, HasTheRfc3464Structure) {
  auto in = sample();
  auto m = build_dsn(in);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->sender, "");  // RFC 5321 4.5.5: DSNs use the null reverse-path
  EXPECT_EQ(m->recipient, "drj@drj.test");
  // Lines end with CRLF and none is longer than 998 octets (RFC 5322 2.1.1).
  for (const auto& l : lines_of(m->data)) {
    EXPECT_LE(l.size(), 998u);
    EXPECT_EQ(l.find('\n'), std::string::npos);
  }
  auto top = parse_entity(m->data);
  ASSERT_EQ(top.headers.count("content-type"), 1u);
  auto ct = top.headers.find("content-type")->second;
  EXPECT_EQ(ct.rfind("multipart/report", 0), 0u) << ct;
  EXPECT_EQ(param(ct, "report-type"), "delivery-status");
  EXPECT_EQ(top.headers.find("to")->second, "<drj@drj.test>");
  EXPECT_EQ(top.headers.find("auto-submitted")->second, "auto-replied");  // RFC 3834 5
  EXPECT_EQ(top.headers.count("date"), 1u);
  EXPECT_EQ(top.headers.count("from"), 1u);
  auto boundary = param(ct, "boundary");
  ASSERT_FALSE(boundary.empty());

  auto parts = split_parts(top.body, boundary);
  ASSERT_EQ(parts.size(), 3u);
  auto human = parse_entity(parts[0]);
  EXPECT_EQ(human.headers.find("content-type")->second.rfind("text/plain", 0), 0u);
  EXPECT_NE(human.body.find("nobody@dest.test"), std::string::npos);

  auto report = parse_entity(parts[1]);
  EXPECT_EQ(report.headers.find("content-type")->second, "message/delivery-status");
  auto groups = field_groups(report.body);
  ASSERT_EQ(groups.size(), 3u);  // per-message, then one per recipient
  EXPECT_EQ(groups[0]["Reporting-MTA"], "dns; gw.example.test");
  EXPECT_EQ(groups[0]["Arrival-Date"],
            "Wed, 18 Nov 2026 11:06:40 +0000");  // date -u -d @1795000000 -R
  EXPECT_EQ(groups[1]["Final-Recipient"], "rfc822; nobody@dest.test");
  EXPECT_EQ(groups[1]["Action"], "failed");
  EXPECT_EQ(groups[1]["Status"], "5.1.1");
  EXPECT_EQ(groups[1]["Remote-MTA"], "dns; mx.dest.test");
  EXPECT_EQ(groups[1]["Diagnostic-Code"],
            "smtp; 550 5.1.1 <nobody@dest.test>: Recipient address rejected");
  EXPECT_EQ(groups[2]["Final-Recipient"], "rfc822; late@other.test");
  EXPECT_EQ(groups[2]["Status"], "4.4.7");
  EXPECT_EQ(groups[2].count("Remote-MTA"), 0u);

  auto returned = parse_entity(parts[2]);
  EXPECT_EQ(returned.headers.find("content-type")->second, "text/rfc822-headers");
  EXPECT_NE(returned.body.find("Subject: test of the capture-only instance"), std::string::npos);
  EXPECT_EQ(m->data.find("SECRET BODY"), std::string::npos);  // headers only (RET=HDRS)
}

TEST(Dsn, NeverToTheNullSender) {
  for (const char* s : {"", "<>"}) {
    auto in = sample();
    in.original_sender = s;
    auto m = build_dsn(in);
    ASSERT_FALSE(m) << s;
    EXPECT_EQ(m.error().code, mxg::errc::invalid_argument);
  }
  auto in = sample();
  in.recipients.clear();
  EXPECT_FALSE(build_dsn(in));
}

TEST(Dsn, HostileReplyTextCannotAddFieldsOrParts) {
  auto in = sample();
  in.recipients.resize(1);
  in.recipients[0].reply = "550 5.7.1 bad\r\nX-Injected: yes\r\n\r\n--evil\x01\xff";
  in.recipients[0].address = "a@b.test\r\nBcc: victim@c.test";
  auto m = build_dsn(in);
  ASSERT_TRUE(m);
  for (const auto& l : lines_of(m->data)) {
    EXPECT_NE(l.rfind("X-Injected", 0), 0u) << l;
    EXPECT_NE(l.rfind("Bcc:", 0), 0u) << l;
    EXPECT_NE(l.rfind("--evil", 0), 0u) << l;
    for (unsigned char c : l) EXPECT_TRUE(c == '\t' || (c >= 0x20 && c < 0x7f)) << l;
  }
}

TEST(Dsn, StatusFromReply) {
  struct Case {
    const char* reply;
    const char* status;
  } cases[] = {
      {"550 5.1.1 No such user", "5.1.1"},
      {"450 4.2.0 Mailbox busy", "4.2.0"},
      {"552 5.3.4 Message too big", "5.3.4"},
      {"550 No such user", "5.0.0"},      // no enhanced code: class.0.0 (RFC 3463 3.1)
      {"550 4.1.1 mismatched", "5.0.0"},  // class must match the reply code
      {"421 4.4.2 timeout", "4.4.2"},
      {"554 5.7.1", "5.7.1"},
      {"550-5.1.1 first line", "5.1.1"},
      {"550 5.1.1234 too long", "5.0.0"},
      {"connection refused", "4.0.0"},
      {"", "4.0.0"},
  };
  for (const auto& c : cases) EXPECT_EQ(status_of_reply(c.reply), c.status) << c.reply;
}
