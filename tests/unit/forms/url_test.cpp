// url_test.cpp: RFC 3986 5.4 reference resolution examples (verbatim from the RFC, base
// "http://a/b/c/d;p?q"), and the loopback-only URL gate of the fetcher.
#include <gtest/gtest.h>

#include "forms/http_fetch.hpp"
#include "forms/url.hpp"

namespace {

TEST(FormsUrl, Rfc3986NormalAndAbnormalExamples) {
  const char* base = "http://a/b/c/d;p?q";
  const std::pair<const char*, const char*> rows[] = {
      // 5.4.1 normal examples
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
      // 5.4.2 abnormal examples
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g#s/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      {"http:g", "http:g"},  // strict parser
  };
  for (auto [ref, want] : rows) {
    SCOPED_TRACE(ref);
    EXPECT_EQ(mxg::forms::resolve_uri(base, ref), want);
  }
}

TEST(FormsUrl, LoopbackOnly) {
  struct row {
    const char* url;
    bool ok;
    const char* address;
    int port;
    const char* target;
  };
  const row rows[] = {
      {"http://127.0.0.1:8080/index.html", true, "127.0.0.1", 8080, "/index.html"},
      {"http://localhost/", true, "127.0.0.1", 80, "/"},
      {"http://LOCALHOST:81", true, "127.0.0.1", 81, "/"},
      {"http://127.1.2.3:9/a/../b?x=1#f", true, "127.1.2.3", 9, "/b?x=1"},
      {"http://[::1]:8000/x", true, "::1", 8000, "/x"},
      {"http://example.com/", false, "", 0, ""},
      {"http://10.0.0.1/", false, "", 0, ""},
      {"http://128.0.0.1/", false, "", 0, ""},
      {"http://[::2]/", false, "", 0, ""},
      {"http://localhost.example.com/", false, "", 0, ""},
      {"http://127.0.0.1.nip.io/", false, "", 0, ""},
      {"http://user@127.0.0.1/", false, "", 0, ""},
      {"https://127.0.0.1/", false, "", 0, ""},
      {"ftp://127.0.0.1/", false, "", 0, ""},
      {"http://127.0.0.1:0/", false, "", 0, ""},
      {"http://127.0.0.1:65536/", false, "", 0, ""},
      {"http://127.0.0.1:8x/", false, "", 0, ""},
      {"/index.html", false, "", 0, ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.url);
    auto u = mxg::forms::parse_loopback_url(r.url);
    ASSERT_EQ(u.has_value(), r.ok) << (u ? "" : u.error().message);
    if (!r.ok) {
      EXPECT_EQ(u.error().code, mxg::errc::invalid_argument);
      continue;
    }
    EXPECT_EQ(u->address, r.address);
    EXPECT_EQ(u->port, r.port);
    EXPECT_EQ(u->target, r.target);
  }
  auto refused = mxg::forms::parse_loopback_url("http://example.com/");
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("example.com"), std::string::npos);
  EXPECT_NE(refused.error().message.find("not loopback"), std::string::npos);
}

// RFC 9112: status line (4), fields (5), Content-Length (6.3), chunked (7.1).
TEST(FormsHttp, ParseResponse) {
  struct row {
    const char* raw;
    bool ok;
    int status;
    const char* body;
  };
  const row rows[] = {
      {"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<p>hi", true, 200, "<p>hi"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", true, 200, "abc"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
       true, 200, "abcde"},
      {"HTTP/1.1 404 Not Found\r\n\r\n", true, 404, ""},
      {"HTTP/1.1 301 Moved\nLocation: /x\n\n", true, 301, ""},  // bare LF tolerated
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, 0, ""},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, 0, ""},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 0, ""},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", false, 0, ""},
      {"SSH-2.0-OpenSSH\r\n\r\n", false, 0, ""},
      {"HTTP/1.1 2x0 OK\r\n\r\n", false, 0, ""},
      {"HTTP/1.1 200 OK\r\n", false, 0, ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.raw);
    auto got = mxg::forms::parse_http_response(r.raw, 1024);
    ASSERT_EQ(got.has_value(), r.ok);
    if (!r.ok) continue;
    EXPECT_EQ(got->status, r.status);
    EXPECT_EQ(got->body, r.body);
  }
  auto loc = mxg::forms::parse_http_response("HTTP/1.1 302 Found\r\nLOCATION:  /next \r\n\r\n", 10);
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(loc->header("location"), "/next");
  // Bodies over the cap are refused, whatever the framing.
  EXPECT_FALSE(mxg::forms::parse_http_response("HTTP/1.1 200 OK\r\n\r\n0123456789X", 10));
  EXPECT_FALSE(mxg::forms::parse_http_response(
      "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789X", 10));
}

}  // namespace
