// controls_test.cpp: the role of single controls (classify_control), one row per rule of
// docs/forms.md "Field roles", and the form-owner and label rules of the extractor (WHATWG
// HTML 4.10.18.3 form owner, 4.10.4 labeled control, 13.2.6.4.9 form in table).
#include <gtest/gtest.h>

#include <string>

#include "forms/classify.hpp"
#include "forms/extract.hpp"
#include "forms/limits.hpp"

namespace {

using mxg::forms::role;

struct role_case {
  const char* html;  // one form holding the control under test as its only control
  role want;
};

const role_case kRoles[] = {
    // sender: type=email, names, labels
    {"<input type=email name=x1>", role::sender},
    {"<input name=your_email>", role::sender},
    {"<input name=youremail>", role::sender},
    {"<input name=sender>", role::sender},
    {"<input name=from>", role::sender},
    {"<input name=replyTo>", role::sender},
    {"<input name=e-mail>", role::sender},
    {"<input id=q placeholder='Your e-mail'>", role::sender},
    // recipient: names, camelCase, labels, legends, hidden/readonly/select addresses
    {"<input name=friend_email>", role::recipient},
    {"<input name=to>", role::recipient},
    {"<input name=send_to>", role::recipient},
    {"<input name=recipient>", role::recipient},
    {"<input name=recipient_email>", role::recipient},
    {"<input name=friend>", role::recipient},
    {"<input name=toEmail>", role::recipient},
    {"<input name=cc>", role::recipient},
    {"<input type=email name=email2 placeholder=\"Your friend's e-mail\">", role::recipient},
    {"<fieldset><legend>Recipient</legend><input type=email name=mail></fieldset>",
     role::recipient},
    {"<input type=hidden name=recipient value='a@example.com'>", role::recipient},
    {"<input type=hidden name=x value='a@example.com'>", role::recipient},
    {"<input type=hidden name=from value='noreply@example.com'>", role::sender},
    {"<input name=dest readonly value='a@example.com'>", role::recipient},
    {"<select name=dept><option>a@example.com<option>b@example.com</select>", role::recipient},
    {"<input type=radio name=who value='a@example.com'>", role::recipient},
    // free text
    {"<textarea name=x></textarea>", role::free_text},
    {"<input name=message>", role::free_text},
    {"<input name=comment>", role::free_text},
    {"<input name=note>", role::free_text},
    {"<input name=subject>", role::free_text},
    {"<input type=hidden name=body value='Hi'>", role::free_text},
    {"<label>Your message <input name=zz></label>", role::free_text},
    // captcha
    {"<input name=captcha>", role::captcha},
    {"<input name=g-recaptcha-response type=hidden>", role::captcha},
    {"<textarea name=h-captcha-response></textarea>", role::captcha},
    {"<input name=cf-turnstile-response type=hidden>", role::captcha},
    {"<input name=code placeholder='Security code'>", role::captcha},
    // other: not addresses, not text, or never submitted
    {"<input type=hidden name=captcha value=1>", role::other},  // a hidden field is no challenge
    {"<input name=friend_name>", role::other},
    {"<input name=your_name>", role::other},
    {"<input name=phone type=tel>", role::other},
    {"<input type=password name=password>", role::other},
    {"<input type=submit name=to value=Send>", role::other},
    {"<input type=email name=to disabled>", role::other},
    {"<input name=mailing_address>", role::other},
    {"<input type=checkbox name=agree_to_terms>", role::other},
};

TEST(FormsControls, Roles) {
  for (const auto& c : kRoles) {
    SCOPED_TRACE(c.html);
    auto page = mxg::forms::extract_forms(std::string("<form>") + c.html + "</form>");
    ASSERT_TRUE(page.has_value());
    ASSERT_EQ(page->forms.size(), 1u);
    ASSERT_EQ(page->forms[0].controls.size(), 1u);
    auto f = mxg::forms::classify_control(page->forms[0].controls[0]);
    EXPECT_EQ(mxg::forms::to_string(f.r), std::string(mxg::forms::to_string(c.want))) << f.why;
  }
}

TEST(FormsExtract, FormOwner) {
  // form= wins over the ancestor; form= naming a non-form element gives no owner.
  auto p = mxg::forms::extract_forms(
      "<form id=a><input name=in_a><input name=to_b form=b></form>"
      "<form id=b></form><input name=outside form=a>"
      "<div id=c></div><input name=nowhere form=c><input name=loose>");
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->forms.size(), 2u);
  ASSERT_EQ(p->forms[0].controls.size(), 2u);
  EXPECT_EQ(p->forms[0].controls[0].name, "in_a");
  EXPECT_EQ(p->forms[0].controls[1].name, "outside");
  ASSERT_EQ(p->forms[1].controls.size(), 1u);
  EXPECT_EQ(p->forms[1].controls[0].name, "to_b");
  EXPECT_EQ(p->orphan_controls, 2u);
}

TEST(FormsExtract, FormInTableKeepsItsControls) {
  auto p = mxg::forms::extract_forms(
      "<table><form action=x><tr><td><input name=a></td></tr></form></table><input name=after>");
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->forms.size(), 1u);
  ASSERT_EQ(p->forms[0].controls.size(), 1u);
  EXPECT_EQ(p->forms[0].controls[0].name, "a");
  EXPECT_EQ(p->orphan_controls, 1u);
}

TEST(FormsExtract, NestedFormStartTagIsIgnored) {
  auto p = mxg::forms::extract_forms("<form id=o><form id=i><input name=a></form></form>");
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->forms.size(), 1u);
  EXPECT_EQ(p->forms[0].id, "o");
  EXPECT_EQ(p->forms[0].controls.size(), 1u);
}

TEST(FormsExtract, Labels) {
  auto p = mxg::forms::extract_forms(
      "<form><label for=a>First <b>label</b></label><input id=a name=a>"
      "<label>Wrapped <select name=s><option>not label text</select></label>"
      "<label for=missing>Dangling</label><input name=nolabel>"
      "<label>Hidden skipped <input type=hidden name=h><textarea name=t></textarea></label>"
      "</form>");
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->forms.size(), 1u);
  const auto& c = p->forms[0].controls;
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].label, "First label");
  EXPECT_EQ(c[1].label, "Wrapped");
  EXPECT_EQ(c[2].label, "");
  EXPECT_EQ(c[3].label, "");                // a hidden input is not labelable
  EXPECT_EQ(c[4].label, "Hidden skipped");  // the first labelable descendant
}

TEST(FormsExtract, FieldsetLegendsNest) {
  auto p = mxg::forms::extract_forms(
      "<form><fieldset><legend>Outer</legend><fieldset><legend>Inner</legend>"
      "<input name=a></fieldset><input name=b></fieldset><input name=c></form>");
  ASSERT_TRUE(p.has_value());
  const auto& c = p->forms.at(0).controls;
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].legend, "Inner / Outer");
  EXPECT_EQ(c[1].legend, "Outer");
  EXPECT_EQ(c[2].legend, "");
}

TEST(FormsExtract, CaptchaMarkers) {
  struct row {
    const char* html;
    std::size_t in_form, in_page;
  };
  const row rows[] = {
      {"<form><div class='g-recaptcha' data-sitekey=k></div></form>", 1, 0},
      {"<form><div class='x h-captcha'></div></form>", 1, 0},
      {"<form><div class=cf-turnstile></div></form>", 1, 0},
      {"<form><img src='/captcha.php'></form>", 1, 0},
      {"<script src='https://www.google.com/recaptcha/api.js'></script><form></form>", 0, 1},
      {"<script src='https://js.hcaptcha.com/1/api.js'></script><form></form>", 0, 1},
      {"<script src='https://challenges.cloudflare.com/turnstile/v0/api.js'></script>", 0, 1},
      {"<script>grecaptcha.execute('k')</script><form></form>", 0, 1},
      {"<form><div class=recaptcha-like></div><img src=logo.png></form>", 0, 0},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.html);
    auto p = mxg::forms::extract_forms(r.html);
    ASSERT_TRUE(p.has_value());
    std::size_t in_form = p->forms.empty() ? 0 : p->forms[0].captchas.size();
    EXPECT_EQ(in_form, r.in_form);
    EXPECT_EQ(p->page_captchas.size(), r.in_page);
  }
}

// A captcha widget in one form does not protect the other forms of the page; a page-level
// script with no widget anywhere is taken to protect every form (invisible reCAPTCHA).
TEST(FormsExtract, PageLevelCaptchaRule) {
  const std::string taf =
      "<input name=your_email><input name=friend_email><textarea name=m></textarea>";
  auto p = mxg::forms::extract_forms(
      "<script src='https://www.google.com/recaptcha/api.js'></script><form>" + taf +
      "<div class=g-recaptcha></div></form><form>" + taf + "</form>");
  ASSERT_TRUE(p.has_value());
  auto r = mxg::forms::classify_page(*p, "");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].v, mxg::forms::verdict::risky);
  EXPECT_EQ(r[1].v, mxg::forms::verdict::open_relay_enabler);
}

TEST(FormsExtract, Limits) {
  std::string deep;
  for (std::size_t i = 0; i <= mxg::forms::limits::kMaxNestingDepth + 10; ++i) deep += "<div>";
  auto p = mxg::forms::extract_forms(deep);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, mxg::errc::limit_exceeded);
  std::string big(mxg::forms::limits::kMaxPageBytes + 1, ' ');
  EXPECT_FALSE(mxg::forms::extract_forms(big).has_value());
}

TEST(FormsExtract, NestingEstimate) {
  struct row {
    const char* html;
    std::size_t depth;
  };
  const row rows[] = {
      {"", 0},
      {"<div><div></div></div>", 2},
      {"<p>a<p>b<p>c", 1},                             // implied </p>
      {"<ul><li>a<li>b<li>c</ul>", 2},                 // implied </li>
      {"<div><!-- <div><div> --></div>", 1},           // comment
      {"<div title='<div><div>'></div>", 1},           // quoted attribute
      {"<script><div><div></script>", 1},              // raw text
      {"<br><img><input><hr>", 0},                     // void elements
      {"<svg><path/><path/><g><path/></g></svg>", 2},  // self-closing foreign elements
      {"<div><table></div><div>", 3},                  // </div> not in table scope: ignored
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.html);
    EXPECT_EQ(mxg::forms::estimate_nesting_depth(r.html), r.depth);
  }
}

}  // namespace
