// forms_html.cpp: libFuzzer target for the form auditor's HTML -> forms extraction
// (src/forms/extract.hpp, gumbo underneath), the classifier and the report writers.
// Input: arbitrary bytes taken as an HTML page; the first line also serves as a URL
// reference for RFC 3986 resolution and as an HTTP response for the fetch parser.
// Invariants checked (abort on violation):
//   - extraction fails only with limit_exceeded, and respects the per-page caps;
//   - an open-relay-enabler verdict always has sender, recipient, free text, no captcha;
//     an ok verdict never has all four;
//   - the JSON and table writers accept whatever strings the page held (invalid UTF-8);
//   - remove_dot_segments (RFC 3986 5.2.4) is idempotent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "forms/audit.hpp"
#include "forms/extract.hpp"
#include "forms/http_fetch.hpp"
#include "forms/limits.hpp"
#include "forms/url.hpp"

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mxg::forms;
  std::string_view html(reinterpret_cast<const char*>(data), size);

  auto page = extract_forms(html);
  if (!page) {
    require(page.error().code == mxg::errc::limit_exceeded);
  } else {
    require(page->forms.size() <= limits::kMaxFormsPerPage);
    for (auto& f : page->forms) require(f.controls.size() <= limits::kMaxControlsPerForm);
    require(page->links.size() <= limits::kMaxLinksPerPage);
    for (auto& r : classify_page(*page, "http://127.0.0.1:8080/dir/page.html")) {
      if (r.v == verdict::open_relay_enabler)
        require(r.sender && r.recipient && r.free_text && !r.captcha);
      if (r.v == verdict::ok && r.sender && r.recipient && r.free_text && !r.captcha)
        require(r.action.starts_with("mailto:") || r.action.starts_with("MAILTO:"));
      require(!r.reasons.empty());
    }
  }

  audit_summary s;
  s.pages.push_back(audit_html(html, "fuzz", "http://127.0.0.1/"));
  (void)render_table(s);
  (void)to_json(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);

  std::string_view line = html.substr(0, html.find('\n'));
  std::string once = remove_dot_segments(line);
  require(remove_dot_segments(once) == once);
  (void)resolve_uri("http://127.0.0.1/a/b?q", line);
  (void)parse_loopback_url(line);
  (void)parse_http_response(html, 4096);
  return 0;
}
