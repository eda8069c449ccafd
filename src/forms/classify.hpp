// classify.hpp: the judgement of the form auditor. Each control of a form gets a role
// (sender address, recipient address, free text, captcha, other) with the reason, and each
// form a verdict: open-relay-enabler, risky or ok, with reasons. The rules are written out
// in docs/forms.md; they model what a mail administrator fears: a form that lets anyone
// choose who receives a message and what it says sends spam from the site's reputable
// server, and a sender field the visitor fills in aims the resulting bounces (backscatter)
// at whoever's address was typed there.
// Pure functions: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "forms/extract.hpp"

namespace mxg::forms {

enum class role { sender, recipient, free_text, captcha, other };
enum class verdict { ok, risky, open_relay_enabler };

const char* to_string(role r) noexcept;
const char* to_string(verdict v) noexcept;

struct field {
  std::string tag, type, name, id, label;
  role r = role::other;
  std::string why;  // why it got its role (empty for "other")
  bool hidden = false;
  bool copy_to_sender = false;  // a "send me a copy" checkbox
};

struct form_report {
  std::size_t index = 0;  // 1-based position in the page
  std::string id, name, action, method;
  verdict v = verdict::ok;
  bool sender = false, recipient = false, free_text = false, captcha = false;
  std::vector<field> fields;          // every submitted control
  std::vector<std::string> captchas;  // the captcha evidence that applies to this form
  std::vector<std::string> reasons;   // why the verdict
};

// Role of one control, with its reason. Disabled controls (never submitted) and buttons
// are role::other.
field classify_control(const control& c);

// Verdict for form number `index` (0-based) of `page`. `page_url` (absolute, or empty for
// files without <base>) resolves the action URL; an absent action is the page itself.
form_report classify_form(const extracted_page& page, std::size_t index, std::string_view page_url);

std::vector<form_report> classify_page(const extracted_page& page, std::string_view page_url);

}  // namespace mxg::forms
