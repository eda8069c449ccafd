// canon_test.cpp: RFC 6376 3.4 canonicalization, with the example of 3.4.5 as the table,
// the empty-body hashes every DKIM implementation agrees on, l= (3.5), and the streaming
// property: any split of the body into chunks, and LF instead of CRLF, hash the same.
#include <gtest/gtest.h>

#include "dkim/canon.hpp"
#include "dkim/crypto.hpp"
#include "dkim/signature.hpp"
#include "mail/header.hpp"

namespace {

using namespace mxg::dkim;

std::string sha256(std::string_view s) {
  hasher h(hash_alg::sha256);
  h.update(s);
  return h.final();
}

std::string body_hash(canon c, std::string_view body, std::optional<std::uint64_t> l = {},
                      std::size_t chunk = 0) {
  body_hasher b(c, hash_alg::sha256, l);
  if (chunk == 0) {
    b.update(body);
  } else {
    for (std::size_t i = 0; i < body.size(); i += chunk) b.update(body.substr(i, chunk));
  }
  return b.finish();
}

std::string canon_headers(canon c, const std::string& header) {
  auto hb = mxg::mail::read_header(header);
  std::string out;
  for (const auto& f : hb.fields) canon_header(c, f.raw, f.name, f.value, out);
  return out;
}

// RFC 6376 3.4.5.
const std::string kHeader = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n";
const std::string kBody = " C \r\nD \t E\r\n\r\n\r\n";

TEST(Canon, Rfc6376Example345Relaxed) {
  EXPECT_EQ(canon_headers(canon::relaxed, kHeader), "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(body_hash(canon::relaxed, kBody), sha256(" C\r\nD E\r\n"));
}

TEST(Canon, Rfc6376Example345Simple) {
  EXPECT_EQ(canon_headers(canon::simple, kHeader), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(body_hash(canon::simple, kBody), sha256(" C \r\nD \t E\r\n"));
}

TEST(Canon, RelaxedHeaderRules) {
  // RFC 6376 3.4.2, one rule per row: lower-case name, WSP runs -> SP, trailing WSP and WSP
  // around the colon removed, continuation lines unfolded (WSP across the fold counts).
  const std::pair<std::string, std::string> rows[] = {
      {"Subject:   hello \t  world  \r\n", "subject:hello world\r\n"},
      {"SUBJECT :\tx\r\n", "subject:x\r\n"},
      {"X: a \r\n   b\r\n", "x:a b\r\n"},
      {"X:\r\n", "x:\r\n"},
      {"X: \r\n \r\n\r\n", "x:\r\n"},
      {"Mixed-Case: A B\r\n", "mixed-case:A B\r\n"},  // the value keeps its case
  };
  for (const auto& [in, want] : rows) EXPECT_EQ(canon_headers(canon::relaxed, in), want) << in;
}

TEST(Canon, EmptyBodies) {
  // 3.4.3: an empty body is one CRLF under simple; 3.4.4: empty under relaxed.
  auto b64 = [](std::string_view x) { return *decode_base64(x); };
  EXPECT_EQ(body_hash(canon::simple, ""), b64("frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="));
  EXPECT_EQ(body_hash(canon::relaxed, ""), b64("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
  EXPECT_EQ(body_hash(canon::simple, "\r\n\r\n\r\n"), sha256("\r\n"));
  EXPECT_EQ(body_hash(canon::relaxed, " \r\n\t\r\n"), sha256(""));  // whitespace-only lines
}

TEST(Canon, MissingFinalCrlfIsAdded) {
  EXPECT_EQ(body_hash(canon::simple, "abc"), sha256("abc\r\n"));
  EXPECT_EQ(body_hash(canon::relaxed, "abc  "), sha256("abc\r\n"));
}

TEST(Canon, EmptyLinesInsideTheBodyStay) {
  EXPECT_EQ(body_hash(canon::simple, "a\r\n\r\n\r\nb\r\n\r\n"), sha256("a\r\n\r\n\r\nb\r\n"));
  EXPECT_EQ(body_hash(canon::relaxed, "a\r\n \r\nb"), sha256("a\r\n\r\nb\r\n"));
}

TEST(Canon, BareCrIsContent) {
  EXPECT_EQ(body_hash(canon::simple, "a\rb\r\n"), sha256("a\rb\r\n"));
}

TEST(Canon, BodyLengthLimit) {
  EXPECT_EQ(body_hash(canon::relaxed, kBody, 5), sha256(" C\r\nD"));
  EXPECT_EQ(body_hash(canon::simple, "abc\r\n", 0), sha256(""));
  body_hasher b(canon::relaxed, hash_alg::sha256, 3);
  b.update(kBody);
  b.finish();
  EXPECT_EQ(b.canonical_length(), 9u);  // " C\r\nD E\r\n": the whole body is still counted
}

TEST(Canon, StreamingAndLineEndsDoNotChangeTheHash) {
  const std::string body =
      "Hi.\r\n\r\nWe lost  the game.\t \r\nAre you hungry yet?\r\n\r\nJoe.\r\n\r\n";
  std::string lf = body;
  for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  for (canon c : {canon::simple, canon::relaxed}) {
    std::string whole = body_hash(c, body);
    for (std::size_t chunk = 1; chunk <= body.size(); ++chunk) {
      ASSERT_EQ(body_hash(c, body, {}, chunk), whole) << to_string(c) << " chunk " << chunk;
      ASSERT_EQ(body_hash(c, lf, {}, chunk), whole) << to_string(c) << " LF chunk " << chunk;
    }
  }
}

TEST(Canon, RelaxedSingleSpacesInsideWordsRuns) {
  // RFC 6376 3.4.4 b: every WSP run inside a line becomes one SP, WSP at the end of a line
  // goes. Single SPs between words (kept as they are by the fast path), doubled SPs, tabs,
  // an SP before the line end and at the start of a line, each against the text written
  // out by hand, whole and in every chunk size (an SP may end a chunk).
  const std::string body = "a b  c\td e \r\n x y\t\r\nlast line here\r\n";
  const std::string expected = "a b c d e\r\n x y\r\nlast line here\r\n";
  for (std::size_t chunk = 0; chunk <= body.size(); ++chunk)
    ASSERT_EQ(body_hash(canon::relaxed, body, {}, chunk), sha256(expected)) << "chunk " << chunk;
}

// RFC 6376 3.4.4 written out plainly, for bodies of CRLF-terminated lines: a) WSP at the
// end of a line removed, b) each WSP run inside a line reduced to one SP, c) empty lines
// at the end removed.
std::string relaxed_by_the_rfc(std::string_view body) {
  std::string out;
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t end = body.find("\r\n", at);
    std::string_view line = body.substr(at, end - at);
    std::string l;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == ' ' || line[i] == '\t') {
        while (i + 1 < line.size() && (line[i + 1] == ' ' || line[i + 1] == '\t')) ++i;
        l += ' ';
      } else {
        l += line[i];
      }
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\r\n";
    at = end + 2;
  }
  while (out.size() >= 4 && out.ends_with("\r\n\r\n")) out.resize(out.size() - 2);
  if (out == "\r\n") out.clear();
  return out;
}

TEST(Canon, LongLinesWithWhitespaceAtEveryPosition) {
  // Lines longer than the 16-byte blocks the fast path may scan at once, with each kind
  // of WSP (one SP between words, two SPs, a TAB, SP+TAB, an SP before the line end) at
  // every position, in several chunk sizes: the hash must be the RFC's (3.4.4 relaxed;
  // 3.4.3 simple keeps the body as it is).
  const std::string word = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
  for (std::string_view ws : {" ", "  ", "\t", " \t", "\t ", "   "}) {
    std::string body;
    for (std::size_t p = 0; p <= word.size(); ++p) {
      body += word.substr(0, p) + std::string(ws) + word.substr(p) + "\r\n";
      body += word.substr(0, p) + std::string(ws) + "\r\n";  // WSP at the line end
    }
    const std::string relaxed = relaxed_by_the_rfc(body);
    for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{16},
                              std::size_t{17}, std::size_t{31}, std::size_t{64}}) {
      ASSERT_EQ(body_hash(canon::relaxed, body, {}, chunk), sha256(relaxed))
          << "ws '" << ws << "' chunk " << chunk;
      ASSERT_EQ(body_hash(canon::simple, body, {}, chunk), sha256(body))
          << "ws '" << ws << "' chunk " << chunk;
    }
  }
}

TEST(Canon, SignatureFieldWithoutFinalCrlf) {
  std::string out;
  canon_header(canon::relaxed, "DKIM-Signature: a=1; b=\r\n", "DKIM-Signature", " a=1; b=", out,
               false);
  EXPECT_EQ(out, "dkim-signature:a=1; b=");
}

}  // namespace
