// extract.hpp: HTML -> the forms of a page, as written (no judgement yet).
// Parses with gumbo (the WHATWG HTML5 tree construction), then walks the tree once:
// every form, every control associated with it (HTML "form owner": the nearest ancestor
// form, a form="id" attribute, or the parser's form pointer for forms cut short by tables),
// the text of labels bound with for= or by wrapping, the legends of enclosing fieldsets,
// captcha widgets/scripts/images, and the page's links and <base href>.
// Security: the input is an untrusted page. Size and nesting are checked before gumbo runs
// (see limits.hpp: gumbo is quadratic in nesting depth); the walk is iterative; every kept
// string and count is capped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::forms {

// One form-associated control (input, textarea, select) as written in the page.
struct control {
  std::string tag;   // "input", "textarea", "select"
  std::string type;  // input type lowercased ("text" when absent); "textarea"; "select"
  std::string name, id, value, placeholder, title, aria_label, css_class, autocomplete;
  std::string label;   // text of the labels bound to it (for= or wrapping), joined
  std::string legend;  // legends of enclosing fieldsets, innermost first, joined by " / "
  std::vector<std::string> options;  // values (or texts) of a select's options
  bool readonly = false, disabled = false, hidden_attr = false;
  std::string association;  // how the form owner was found when not by ancestry
  std::size_t offset = 0;   // byte offset of the start tag in the page
};

// Evidence of a captcha: kind is "recaptcha", "hcaptcha", "turnstile", "friendlycaptcha"
// or "captcha" (generic field/image); evidence says where it was seen.
struct captcha_marker {
  std::string kind, evidence;
};

struct raw_form {
  std::string id, name, action, method, enctype;
  bool has_action = false;
  std::vector<control> controls;
  std::vector<captcha_marker> captchas;  // widgets, images and scripts inside the form
  std::size_t offset = 0, end_offset = 0;
  bool truncated = false;  // more than kMaxControlsPerForm controls
};

struct extracted_page {
  std::vector<raw_form> forms;
  std::vector<captcha_marker> page_captchas;  // scripts and widgets outside every form
  std::string base_href;
  std::vector<std::string> links;   // href/src of a, area, iframe, frame as written
  std::size_t orphan_controls = 0;  // controls with no form owner (ignored)
};

// Upper estimate of the element nesting depth, from a light scan of the markup (comments,
// raw-text elements and quoted attribute values are skipped; implied end tags are not
// modelled, so the estimate errs high).
std::size_t estimate_nesting_depth(std::string_view html);

// errc::limit_exceeded for pages over kMaxPageBytes or nesting over kMaxNestingDepth.
result<extracted_page> extract_forms(std::string_view html);

}  // namespace mxg::forms
