// pages_test.cpp: the verdict of every form of the test pages in tests/data/forms/, as
// each page's opening comment states it (the pages were written for this test), with the
// roles and reasons that must lead to it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "forms/audit.hpp"

namespace {

using mxg::forms::role;
using mxg::forms::verdict;

std::string slurp(const std::string& name) {
  std::ifstream in(std::string(MXG_SOURCE_DIR) + "/tests/data/forms/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct expected_form {
  verdict v;
  std::vector<std::pair<std::string, role>> roles;  // field name -> role
  std::string reason;                               // substring of one reason ("" = any)
};
struct page_case {
  const char* file;
  std::vector<expected_form> forms;
};

const verdict E = verdict::open_relay_enabler, R = verdict::risky, K = verdict::ok;

const std::vector<page_case> kPages = {
    {"tell_a_friend.html",
     {{E,
       {{"your_email", role::sender},
        {"friend_email", role::recipient},
        {"message", role::free_text},
        {"your_name", role::other},
        {"page", role::other}},
       "no captcha"}}},
    {"tell_a_friend_fieldsets.html",
     {{E,
       {{"email1", role::sender}, {"email2", role::recipient}, {"note", role::free_text}},
       "no captcha"}}},
    {"contact_hidden_recipient.html",
     {{E,
       {{"recipient", role::recipient},
        {"email", role::sender},
        {"comments", role::free_text},
        {"redirect", role::other}},
       "anyone can send"}}},
    {"contact_server_recipient.html",
     {{R,
       {{"mail", role::sender}, {"msg", role::free_text}, {"name", role::other}},
       "no captcha"}}},
    {"contact_visible_recipient.html",
     {{E, {{"to", role::recipient}, {"from", role::sender}, {"body", role::free_text}}, ""},
      {R,
       {{"department", role::recipient}, {"email", role::sender}, {"message", role::free_text}},
       "captcha"}}},
    {"captcha_recaptcha.html",
     {{R, {{"sender", role::sender}, {"recipient_email", role::recipient}}, "recaptcha"}}},
    {"captcha_hcaptcha.html",
     {{R,
       {{"mail_to", role::recipient}, {"email", role::sender}, {"text", role::free_text}},
       "hcaptcha"}}},
    {"captcha_turnstile.html",
     {{R, {{"from_email", role::sender}, {"to_email", role::recipient}}, "turnstile"},
      {K, {{"email", role::sender}, {"message", role::free_text}}, "turnstile"}}},
    {"labels.html",
     {{E,
       {{"field_a", role::sender}, {"field_b", role::recipient}, {"field_c", role::free_text}},
       ""},
      {E, {{"q1", role::sender}, {"q2", role::free_text}}, "copy"}}},
    {"several_forms.html",
     {{K, {{"q", role::other}}, ""},
      {K, {{"email", role::sender}}, ""},
      {K, {{"username", role::other}, {"password", role::other}}, ""},
      {E,
       {{"fromEmail", role::sender},
        {"toEmail", role::recipient},
        {"personalMessage", role::free_text}},
       ""},
      {K, {{"captcha_code", role::captcha}, {"enquiry", role::free_text}}, "captcha"}}},
    {"malformed.html",
     {{E, {{"from", role::sender}, {"to", role::recipient}, {"msg", role::free_text}}, ""}}},
    {"recaptcha_v3.html", {{R, {{"friend_email", role::recipient}}, "page level"}}},
    {"mailto.html", {{K, {}, "mailto"}}},
    {"no_captcha_no_sender.html",
     {{R, {{"recipient", role::recipient}, {"greeting", role::free_text}}, "no sender field"}}},
    {"index.html", {{K, {}, ""}}},
};

TEST(FormsPages, VerdictsRolesAndReasons) {
  for (const auto& pc : kPages) {
    SCOPED_TRACE(pc.file);
    std::string html = slurp(pc.file);
    ASSERT_FALSE(html.empty());
    auto page = mxg::forms::audit_html(html, pc.file, "");
    ASSERT_TRUE(page.error.empty()) << page.error;
    ASSERT_EQ(page.forms.size(), pc.forms.size());
    for (std::size_t i = 0; i < pc.forms.size(); ++i) {
      SCOPED_TRACE("form #" + std::to_string(i + 1));
      const auto& got = page.forms[i];
      const auto& want = pc.forms[i];
      EXPECT_EQ(mxg::forms::to_string(got.v), std::string(mxg::forms::to_string(want.v)));
      for (const auto& [name, r] : want.roles) {
        auto it = std::find_if(got.fields.begin(), got.fields.end(),
                               [&](const auto& f) { return f.name == name; });
        ASSERT_NE(it, got.fields.end()) << "field " << name << " not found";
        EXPECT_EQ(mxg::forms::to_string(it->r), std::string(mxg::forms::to_string(r)))
            << "field " << name << ": " << it->why;
      }
      if (!want.reason.empty()) {
        bool found = false;
        for (auto& r : got.reasons) found = found || r.find(want.reason) != std::string::npos;
        EXPECT_TRUE(found) << "no reason mentions '" << want.reason << "'";
      }
    }
  }
}

// Actions resolve against the page URL (RFC 3986 5.2) and <base href>; no action is the page.
TEST(FormsPages, ActionResolution) {
  struct row {
    const char* html;
    const char* page_url;
    const char* action;
    const char* method;
  };
  const row rows[] = {
      {"<form action='send.php' method='post'></form>", "http://127.0.0.1:8080/a/b.html",
       "http://127.0.0.1:8080/a/send.php", "POST"},
      {"<form action='/x?y=1#f'></form>", "http://127.0.0.1/a/b.html", "http://127.0.0.1/x?y=1#f",
       "GET"},
      {"<form></form>", "http://127.0.0.1/a/b.html#top", "http://127.0.0.1/a/b.html", "GET"},
      {"<base href='http://127.0.0.1/base/'><form action='go'></form>", "http://127.0.0.1/a/b.html",
       "http://127.0.0.1/base/go", "GET"},
      {"<form action='send.php' method=DIALOG></form>", "", "send.php", "DIALOG"},
      {"<form method=put></form>", "", "(this page)", "GET"},  // invalid method: GET
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.html);
    auto page = mxg::forms::audit_html(r.html, "t", r.page_url);
    ASSERT_EQ(page.forms.size(), 1u);
    EXPECT_EQ(page.forms[0].action, r.action);
    EXPECT_EQ(page.forms[0].method, r.method);
  }
}

TEST(FormsPages, ExitStatus) {
  mxg::forms::audit_summary s;
  EXPECT_EQ(mxg::forms::exit_status(s), 0);
  s.enablers = 1;
  EXPECT_EQ(mxg::forms::exit_status(s), 1);
  s.errors = 1;
  EXPECT_EQ(mxg::forms::exit_status(s), 2);
}

}  // namespace
