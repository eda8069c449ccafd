// trace_headers_test.cpp: the header fields the gateway writes and the one it removes
// (src/gateway/trace_headers.hpp).
//   - auth_results_filter: RFC 8601 5 (remove arriving Authentication-Results fields that
//     claim our authserv-id; RFC 8601 2.2 syntax: CFWS, version, value), RFC 5322 2.2.3
//     folding (a field is its first line and every following line starting with WSP),
//     2.1 (the header section ends at the first empty line; the body is never touched),
//     4.5.3 obs-optional (WSP before the colon); the output must not depend on how the
//     message is split into feed() calls (every split point is tried).
//   - received_header(): RFC 5321 4.4 Time-stamp-line, RFC 3848 "with" keywords, RFC 5322
//     folding (every line CRLF-terminated, continuation lines start with WSP), no peer
//     text able to add a line.
//   - clean(): printable, no CR/LF/controls, capped.
#include "gateway/trace_headers.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace mxg::gateway {
namespace {

constexpr const char* kId = "mx.example.com";

struct filtered {
  std::string out;
  std::size_t removed = 0;
};

// Feeds `m` in the pieces given by the split points `cuts` (ascending offsets).
filtered run(std::string_view m, const std::vector<std::size_t>& cuts = {},
             std::string_view id = kId) {
  auth_results_filter f{std::string(id)};
  filtered r;
  std::size_t at = 0;
  for (std::size_t c : cuts) {
    f.feed(m.substr(at, c - at), r.out);
    at = c;
  }
  f.feed(m.substr(at), r.out);
  f.finish(r.out);
  r.removed = f.removed();
  return r;
}

// A message with every case of the table below; `kept` is what must come out.
struct field_case {
  const char* field;  // one header field, folded as written, CRLF-terminated
  bool removed;
  const char* why;
};

const field_case kFields[] = {
    {"Received: from a.example by mx.example.com; Sat, 5 Dec 2026 10:00:00 +0000\r\n", false,
     "another field"},
    // RFC 8601 2.2: authserv-id first.
    {"Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=example.net\r\n", true,
     "ours"},
    // RFC 5322 1.2.2 / 3.6.8: field names are case-insensitive; the id too (a host name).
    {"authentication-results: MX.Example.COM; none\r\n", true, "case"},
    {"AUTHENTICATION-RESULTS: mx.example.com; none\r\n", true, "upper-case name"},
    // RFC 5322 2.2.3: a folded field is removed with all its continuation lines.
    {"Authentication-Results: mx.example.com;\r\n"
     "\tauth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
     " spf=pass smtp.mailfrom=example.net\r\n",
     true, "folded (RFC 8601 B.4)"},
    // RFC 8601 2.2: [ CFWS authres-version ].
    {"Authentication-Results: mx.example.com 1; none\r\n", true, "version"},
    {"Authentication-Results: mx.example.com (comment) 1 ; none\r\n", true, "version, comment"},
    // CFWS before the id: comments (nested, quoted-pair) and folding.
    {"Authentication-Results: (forged (by \\) someone)) mx.example.com; dkim=pass\r\n", true,
     "comment before the id"},
    {"Authentication-Results:\r\n mx.example.com; spf=pass smtp.mailfrom=a.example\r\n", true,
     "folded before the id"},
    {"Authentication-Results:mx.example.com;none\r\n", true, "no space"},
    {"Authentication-Results: mx.example.com(c); none\r\n", true, "comment right after the id"},
    // RFC 5322 4.5.3 obs-optional: WSP between the name and the colon.
    {"Authentication-Results \t: mx.example.com; none\r\n", true, "obs WSP before colon"},
    // authserv-id = value (RFC 2045 token / quoted-string).
    {"Authentication-Results: \"mx.example.com\"; none\r\n", true, "quoted-string id"},
    // Other ids are kept (RFC 8601 5 concerns our own id only).
    {"Authentication-Results: example.org 1; none\r\n", false, "other id (RFC 8601 B.2)"},
    {"Authentication-Results: mx.example.co; none\r\n", false, "a prefix of ours"},
    {"Authentication-Results: mx.example.comm; none\r\n", false, "ours is a prefix"},
    {"Authentication-Results: sub.mx.example.com; none\r\n", false, "a subdomain"},
    {"Authentication-Results: other.example; spf=pass smtp.mailfrom=mx.example.com\r\n", false,
     "our name later in the value"},
    {"Authentication-Results: (mx.example.com) other.example; none\r\n", false,
     "our name in a comment"},
    // Other field names are kept.
    {"X-Authentication-Results: mx.example.com; none\r\n", false, "X- prefix"},
    {"Authentication-Results-Original: mx.example.com; none\r\n", false, "longer name"},
    {"ARC-Authentication-Results: i=1; mx.example.com; none\r\n", false, "ARC (RFC 8617)"},
    {"Subject: Authentication-Results: mx.example.com; none\r\n", false, "in another value"},
    {"Comments: folded\r\n Authentication-Results: mx.example.com; none\r\n", false,
     "continuation line of another field"},
};

const char* kBody =
    "Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=a.example\r\n"
    "\r\n"
    "Authentication-Results: mx.example.com; none\r\n"
    "last line without CRLF";

struct sample {
  std::string in, out;
  std::size_t removed = 0;
};

sample sample_message() {
  sample s;
  for (const auto& f : kFields) {
    s.in += f.field;
    if (f.removed)
      ++s.removed;
    else
      s.out += f.field;
  }
  s.in += "\r\n";
  s.out += "\r\n";
  s.in += kBody;
  s.out += kBody;
  return s;
}

TEST(AuthResultsFilter, EachFieldAlone) {
  for (const auto& f : kFields) {
    SCOPED_TRACE(f.why);
    const std::string m = std::string(f.field) + "Subject: x\r\n\r\nbody\r\n";
    auto r = run(m);
    EXPECT_EQ(r.removed, f.removed ? 1u : 0u);
    EXPECT_EQ(r.out, f.removed ? std::string("Subject: x\r\n\r\nbody\r\n") : m);
  }
}

TEST(AuthResultsFilter, SampleMessageWholeBodyUntouched) {
  const auto s = sample_message();
  auto r = run(s.in);
  EXPECT_EQ(r.out, s.out);
  EXPECT_EQ(r.removed, s.removed);
  EXPECT_GE(s.removed, 10u);  // the table really exercises removal
}

TEST(AuthResultsFilter, EverySplitPointGivesTheSameOutput) {
  const auto s = sample_message();
  for (std::size_t i = 0; i <= s.in.size(); ++i) {
    auto r = run(s.in, {i});
    ASSERT_EQ(r.out, s.out) << "split at " << i;
    ASSERT_EQ(r.removed, s.removed) << "split at " << i;
  }
}

TEST(AuthResultsFilter, EveryPairOfSplitPointsAndByteByByte) {
  // A shorter message (ours folded, another id, a body line that looks like ours) so
  // all pairs stay cheap; empty pieces included (i == j).
  const std::string in =
      "Authentication-Results: mx.example.com;\r\n spf=fail\r\n"
      "Authentication-Results: other.example; none\r\n"
      "Authentication-Results: mx.example.com 1; none\r\n"
      "\r\n"
      "Authentication-Results: mx.example.com; none\r\n";
  const std::string want =
      "Authentication-Results: other.example; none\r\n"
      "\r\n"
      "Authentication-Results: mx.example.com; none\r\n";
  for (std::size_t i = 0; i <= in.size(); ++i)
    for (std::size_t j = i; j <= in.size(); ++j) {
      auto r = run(in, {i, j});
      ASSERT_EQ(r.out, want) << "splits at " << i << ", " << j;
      ASSERT_EQ(r.removed, 2u);
    }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < in.size(); ++i) every.push_back(i);
  auto r = run(in, every);
  EXPECT_EQ(r.out, want);
  EXPECT_EQ(r.removed, 2u);
}

TEST(AuthResultsFilter, BareLfLines) {
  auto r =
      run("Authentication-Results: mx.example.com; none\n"
          " (continued)\n"
          "Subject: hi\n"
          "\n"
          "Authentication-Results: mx.example.com; none\n");
  EXPECT_EQ(r.out, "Subject: hi\n\nAuthentication-Results: mx.example.com; none\n");
  EXPECT_EQ(r.removed, 1u);
}

TEST(AuthResultsFilter, HeaderWithoutBody) {
  // No empty line: every line is header (RFC 5322 2.1: the body is optional).
  auto r = run("Subject: x\r\nAuthentication-Results: mx.example.com; none\r\n");
  EXPECT_EQ(r.out, "Subject: x\r\n");
  EXPECT_EQ(r.removed, 1u);
  // The last field without its CRLF, and folded.
  r = run("Subject: x\r\nAuthentication-Results: mx.example.com;\r\n none");
  EXPECT_EQ(r.out, "Subject: x\r\n");
  EXPECT_EQ(r.removed, 1u);
  r = run("Authentication-Results: other.example; none\r\n\tfolded");
  EXPECT_EQ(r.out, "Authentication-Results: other.example; none\r\n\tfolded");
  EXPECT_EQ(r.removed, 0u);
  r = run("Subject: x");
  EXPECT_EQ(r.out, "Subject: x");
  r = run("");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.removed, 0u);
}

TEST(AuthResultsFilter, ALineThatIsNoFieldEndsTheHeader) {
  // RFC 5322 2.2: a field line has a colon; a line without one is not header (a message
  // without the empty line): what follows is passed untouched.
  auto r =
      run("Subject: x\r\n"
          "this is body text\r\n"
          "Authentication-Results: mx.example.com; none\r\n");
  EXPECT_EQ(r.out,
            "Subject: x\r\nthis is body text\r\nAuthentication-Results: mx.example.com; none\r\n");
  EXPECT_EQ(r.removed, 0u);
}

TEST(AuthResultsFilter, OtherAuthservIdConfigured) {
  const std::string m = "Authentication-Results: mx.example.com; none\r\n\r\n";
  EXPECT_EQ(run(m, {}, "other.example").out, m);
  EXPECT_EQ(run(m, {}, "MX.EXAMPLE.COM").out, "\r\n");
}

// kFilterFieldMax: the filter holds at most one field. A folded field that grows beyond
// it cannot be read whole: an Authentication-Results field is then dropped whatever its
// id (RFC 8601 5 allows removing every instance at the trust boundary; keeping it could
// keep a forged one of ours), any other field is passed on byte-exact; the fields after
// it are filtered as usual.
std::string folded_field(std::string_view first, std::size_t min_size) {
  std::string f(first);
  f += "\r\n";
  while (f.size() <= min_size) f += " " + std::string(76, 'x') + "\r\n";
  return f;
}

TEST(AuthResultsFilter, OversizedFoldedFields) {
  const std::string big_other = folded_field("X-Big: start", kFilterFieldMax + 10);
  const std::string big_ar =
      folded_field("Authentication-Results: other.example;", kFilterFieldMax);
  const std::string big_ours =
      folded_field("Authentication-Results: mx.example.com;", kFilterFieldMax);
  const std::string ours = "Authentication-Results: mx.example.com; none\r\n";
  const std::string m = "Subject: a\r\n" + big_other + ours + big_ar + "Subject: b\r\n" + big_ours +
                        ours + "\r\n" + ours;
  const std::string want = "Subject: a\r\n" + big_other + "Subject: b\r\n\r\n" + ours;
  for (std::size_t piece : {m.size(), std::size_t{1000}, std::size_t{77}, std::size_t{4096}}) {
    SCOPED_TRACE(piece);
    std::vector<std::size_t> cuts;
    for (std::size_t at = piece; at < m.size(); at += piece) cuts.push_back(at);
    auto r = run(m, cuts);
    EXPECT_EQ(r.out.size(), want.size());
    EXPECT_TRUE(r.out == want);
    EXPECT_EQ(r.removed, 4u);
  }
}

TEST(AuthResultsFilter, OversizedLinesDoNotDependOnTheSplit) {
  // One line longer than kFilterFieldMax (RFC 5322 2.1.1 allows 998): whatever the
  // filter does with it, it must do it for every split of the input, and a field of
  // ours after it must not survive in one split and not in another.
  const std::string ours = "Authentication-Results: mx.example.com; none\r\n";
  const std::string cases[] = {
      "X-Long: " + std::string(2 * kFilterFieldMax, 'a') + "\r\n" + ours + "\r\nbody\r\n",
      ours + " " + std::string(2 * kFilterFieldMax, 'c') + "\r\n" + ours + "\r\nbody\r\n",
      "Authentication-Results: other.example; " + std::string(2 * kFilterFieldMax, 'o') + "\r\n" +
          ours + "\r\nbody\r\n",
      std::string(2 * kFilterFieldMax, 'n') + "\r\n" + ours + "\r\nbody\r\n",
      std::string(2 * kFilterFieldMax, 'n') + ":\r\n" + ours + "\r\nbody\r\n",
  };
  int n = 0;
  for (const auto& m : cases) {
    SCOPED_TRACE(n++);
    const auto whole = run(m);
    for (std::size_t piece : {std::size_t{7}, std::size_t{1000}, kFilterFieldMax}) {
      std::vector<std::size_t> cuts;
      for (std::size_t at = piece; at < m.size(); at += piece) cuts.push_back(at);
      auto r = run(m, cuts);
      EXPECT_TRUE(r.out == whole.out)
          << "piece " << piece << ": " << r.out.size() << " vs " << whole.out.size();
      EXPECT_EQ(r.removed, whole.removed) << "piece " << piece;
    }
    // A field of ours after a long field line is removed (cases 0-2).
    if (n <= 3) {
      EXPECT_EQ(whole.out.find(ours), std::string::npos);
    }
    EXPECT_TRUE(whole.out.ends_with("\r\nbody\r\n"));
  }
}

TEST(AuthResultsFilter, RemovedCountsFieldsNotLines) {
  auto r =
      run("Authentication-Results: mx.example.com;\r\n a=b;\r\n c=d\r\n"
          "Authentication-Results: mx.example.com; none\r\n"
          "Authentication-Results: other.example; none\r\n\r\n");
  EXPECT_EQ(r.removed, 2u);
  EXPECT_EQ(r.out, "Authentication-Results: other.example; none\r\n\r\n");
}

// --- clean() and received_header() ---

TEST(Clean, PrintableOnlyAndCapped) {
  EXPECT_EQ(clean("mail.example.com"), "mail.example.com");
  EXPECT_EQ(clean("a b\tc\r\nd\x01(e)\\\"\x7f"), "a?b?c??d??e????");
  EXPECT_EQ(clean(std::string(1000, 'a')).size(), 255u);
  EXPECT_EQ(clean("abcdef", 3), "abc");
  EXPECT_EQ(clean(""), "");
}

void expect_well_formed_field(const std::string& h) {
  // RFC 5322 2.2 / 2.2.3: CRLF-terminated lines only, continuation lines start with WSP,
  // no other control characters, at most 998 characters a line (2.1.1).
  ASSERT_TRUE(h.ends_with("\r\n")) << h;
  std::size_t start = 0;
  bool first = true;
  while (start < h.size()) {
    std::size_t end = h.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    std::string_view line(h.data() + start, end - start);
    EXPECT_LE(line.size(), 998u);
    EXPECT_FALSE(line.empty());
    if (!first) {
      EXPECT_TRUE(line[0] == ' ' || line[0] == '\t') << line;
    }
    for (unsigned char c : line) {
      EXPECT_TRUE(c == '\t' || (c >= 0x20 && c != 0x7f)) << int(c);
    }
    first = false;
    start = end + 2;
  }
}

received_info sample_info() {
  received_info r;
  r.helo = "client.example.org";
  r.rdns_name = "host.example.org";
  r.client_ip = "192.0.2.1";
  r.hostname = "mx.example.com";
  r.queue_id = "Q123";
  r.esmtp = true;
  return r;
}

TEST(ReceivedHeader, Rfc5321TimeStampLine) {
  const std::string h = received_header(sample_info());
  expect_well_formed_field(h);
  EXPECT_TRUE(h.starts_with("Received: from client.example.org (host.example.org [192.0.2.1])"))
      << h;
  EXPECT_NE(h.find("by mx.example.com"), std::string::npos) << h;
  EXPECT_NE(h.find(" with ESMTP"), std::string::npos) << h;  // RFC 3848
  EXPECT_NE(h.find("id Q123"), std::string::npos) << h;
  EXPECT_EQ(h.find(" for "), std::string::npos) << h;
  // RFC 5321 4.4: ";" date-time (RFC 5322 3.3) at the end.
  static const std::regex date(
      R"(; (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n$)");
  EXPECT_TRUE(std::regex_search(h, date)) << h;
}

TEST(ReceivedHeader, WithKeywordsAndFor) {
  auto r = sample_info();
  r.esmtp = false;
  EXPECT_NE(received_header(r).find(" with SMTP"), std::string::npos);
  r.esmtp = true;
  r.tls = true;
  r.tls_version = "TLSv1.3";
  r.tls_cipher = "TLS_AES_256_GCM_SHA384";
  r.tls_bits = 256;
  r.for_recipient = "user@example.com";
  const std::string h = received_header(r);
  expect_well_formed_field(h);
  EXPECT_NE(h.find(" with ESMTPS"), std::string::npos) << h;  // RFC 3848
  EXPECT_NE(h.find("(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256)"), std::string::npos)
      << h;
  EXPECT_NE(h.find("for <user@example.com>;"), std::string::npos) << h;
}

TEST(ReceivedHeader, UnknownNamesAndHostileText) {
  auto r = sample_info();
  r.helo = "";
  r.rdns_name = "";
  EXPECT_TRUE(received_header(r).starts_with("Received: from unknown (unknown [192.0.2.1])"));
  r.helo = "evil\r\nAuthentication-Results: mx.example.com; spf=pass\r\n";
  r.rdns_name = "x)\r\n(y";
  r.for_recipient = "a@b\r\nX-Injected: 1";
  const std::string h = received_header(r);
  expect_well_formed_field(h);
  EXPECT_EQ(h.find("\r\nAuthentication-Results"), std::string::npos) << h;
  EXPECT_EQ(h.find("\r\nX-Injected"), std::string::npos) << h;
  // The comment "(rdns [ip])" stays one comment: no parenthesis from the peer.
  auto open = h.find('(');
  auto close = h.find(')');
  ASSERT_NE(open, std::string::npos);
  EXPECT_EQ(h.substr(open, close - open + 1), "(x????y [192.0.2.1])");
  // A very long HELO is capped (the line limit of RFC 5322 2.1.1 holds).
  r.helo = std::string(5000, 'h');
  expect_well_formed_field(received_header(r));
}

}  // namespace
}  // namespace mxg::gateway
