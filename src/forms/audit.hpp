// audit.hpp: `mxguard forms audit` as a library: turns command-line targets (files,
// directories, loopback URLs) into pages, pages into classified forms, and the result into
// a table or JSON. The CLI (src/cli/forms_audit.cpp) only parses options and sets the exit
// status from the summary.
// Security: reads local files and fetches loopback URLs only (see url.hpp); a crawl is
// bounded in pages, time and per-page size (limits.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "forms/classify.hpp"

namespace mxg::forms {

struct audit_options {
  int crawl = 1;  // pages fetched per URL target, the target included
};

struct page_result {
  std::string location;  // file path or URL as audited
  std::string error;     // non-empty: the page could not be read or parsed
  bool fatal = false;    // the error concerns a target the user named (exit status 2)
  std::vector<form_report> forms;
  std::size_t orphan_controls = 0;
};

struct audit_summary {
  std::vector<page_result> pages;
  std::size_t forms = 0, enablers = 0, risky = 0, ok = 0, errors = 0, warnings = 0;
};

// Audits one page held in memory. `page_url` is its absolute URL when fetched (for
// resolving actions), empty for files.
page_result audit_html(std::string_view html, std::string location, std::string_view page_url);

// Audits every target: an http(s):// argument is a URL (only loopback is fetched, see
// parse_loopback_url), anything else a file or a directory (searched recursively for
// *.html, *.htm, *.xhtml, *.shtml, *.php, *.phtml, *.asp, *.aspx, *.jsp, *.cfm).
audit_summary run_audit(const std::vector<std::string>& targets, const audit_options& opts);

// The human report: per page, a table of forms (verdict, method, action), then each form's
// fields with roles and the reasons of its verdict.
std::string render_table(const audit_summary& s);
nlohmann::json to_json(const audit_summary& s);

// 2 if a target could not be audited, else 1 if an open-relay enabler was found, else 0.
int exit_status(const audit_summary& s);

}  // namespace mxg::forms
