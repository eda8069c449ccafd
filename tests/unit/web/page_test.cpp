// page_test.cpp: the console's embedded assets (web/page.hpp, src/web/assets/): each is
// served once with its content type, and the script keeps the page's safety rules in
// its text: no HTML parsing of data (innerHTML and friends), no eval, no inline script
// or style in the page, nothing loaded from another origin.
#include "web/page.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mxg::web {
namespace {

// The text without // comments (whole-line ones and " // " after code), so that a
// comment that names a forbidden call does not count.
std::string code_of(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    std::size_t first = line.find_first_not_of(" \t");
    if (first != std::string_view::npos && line.substr(first, 2) == "//") line = {};
    if (auto c = line.find(" // "); c != std::string_view::npos) line = line.substr(0, c);
    out.append(line);
    out.push_back('\n');
    pos = eol + 1;
  }
  return out;
}

TEST(WebPage, EveryAssetOnceWithItsType) {
  std::set<std::string_view> paths;
  for (const asset& a : assets()) {
    EXPECT_TRUE(paths.insert(a.path).second) << a.path;
    EXPECT_FALSE(a.data.empty()) << a.path;
    EXPECT_FALSE(a.type.empty()) << a.path;
  }
  for (auto [path, type] : {std::pair{"/", "text/html; charset=utf-8"},
                            {"/app.js", "text/javascript; charset=utf-8"},
                            {"/console.css", "text/css; charset=utf-8"},
                            {"/favicon.svg", "image/svg+xml"}}) {
    auto a = find_asset(path);
    ASSERT_TRUE(a) << path;
    EXPECT_EQ(a->type, type) << path;
  }
  EXPECT_FALSE(find_asset("/nope.js"));
  EXPECT_FALSE(find_asset("/index.html"));  // the page is served at "/" only
}

TEST(WebPage, ThePageHasNoInlineScriptOrStyle) {
  auto page = find_asset("/");
  ASSERT_TRUE(page);
  std::string html(page->data);
  EXPECT_NE(html.find(R"(<script src="/app.js"></script>)"), std::string::npos);
  EXPECT_NE(html.find(R"(href="/console.css")"), std::string::npos);
  // One script element, with src; no style element, no style or on* attribute.
  std::size_t scripts = 0;
  for (auto p = html.find("<script"); p != std::string::npos; p = html.find("<script", p + 1))
    ++scripts;
  EXPECT_EQ(scripts, 1u);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  EXPECT_EQ(html.find(" style="), std::string::npos);
  EXPECT_EQ(html.find(" onclick="), std::string::npos);
  EXPECT_EQ(html.find(" onload="), std::string::npos);
}

TEST(WebPage, TheScriptNeverParsesDataAsHtml) {
  auto js = find_asset("/app.js");
  ASSERT_TRUE(js);
  const std::string code = code_of(js->data);
  for (const char* bad :
       {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
        "createContextualFragment", "DOMParser", "srcdoc", "window.confirm", "alert("}) {
    EXPECT_EQ(code.find(bad), std::string::npos) << bad;
  }
  // Every state-changing request goes through api(), which sends the CSRF token.
  EXPECT_NE(code.find("opt.headers['X-CSRF-Token'] = state.csrf"), std::string::npos);
  const std::size_t first = code.find("fetch(");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(code.find("fetch(", first + 1), std::string::npos) << "fetch is called only in api()";
}

TEST(WebPage, NothingIsLoadedFromElsewhere) {
  for (const asset& a : assets()) {
    std::string text(a.data);
    // The only absolute URL is the SVG namespace name (an identifier, never fetched).
    const std::string ns = "http://www.w3.org/2000/svg";
    for (auto p = text.find("http"); p != std::string::npos; p = text.find("http", p + 1)) {
      if (text.compare(p, 7, "http://") != 0 && text.compare(p, 8, "https://") != 0) continue;
      EXPECT_EQ(text.compare(p, ns.size(), ns), 0) << a.path << ": " << text.substr(p, 60);
    }
    EXPECT_EQ(text.find("//cdn"), std::string::npos) << a.path;
  }
}

}  // namespace
}  // namespace mxg::web
