// audit.cpp: targets -> pages -> forms -> report. See audit.hpp.
// Security: files are read with a size cap; URLs go through parse_loopback_url before any
// connection, including every redirect target and every crawled link; the crawl is bounded
// by --crawl, kCrawlDeadline and kMaxRedirects.
#include "forms/audit.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/ascii.hpp"
#include "forms/extract.hpp"
#include "forms/http_fetch.hpp"
#include "forms/limits.hpp"
#include "forms/url.hpp"

namespace mxg::forms {

namespace fs = std::filesystem;

namespace {

using ascii::lower;

bool html_extension(const fs::path& p) {
  static const char* const kExt[] = {".html",  ".htm", ".xhtml", ".shtml", ".php",
                                     ".phtml", ".asp", ".aspx",  ".jsp",   ".cfm"};
  std::string e = lower(p.extension().string());
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* x) { return e == x; });
}

// Links that are surely not pages are not fetched.
bool skippable_link(std::string_view url) {
  static const char* const kExt[] = {".css",   ".js",  ".png", ".jpg", ".jpeg", ".gif",  ".svg",
                                     ".ico",   ".pdf", ".zip", ".gz",  ".mp4",  ".webp", ".woff",
                                     ".woff2", ".ttf", ".mp3", ".xml", ".json", ".txt"};
  std::string path = lower(url.substr(0, url.find_first_of("?#")));
  return std::any_of(std::begin(kExt), std::end(kExt),
                     [&](const char* x) { return path.ends_with(x); });
}

result<std::string> read_file(const fs::path& p) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) return fail(errc::io_error, p.string() + ": " + ec.message());
  if (size > limits::kMaxPageBytes)
    return fail(errc::limit_exceeded, p.string() + ": " + std::to_string(size) +
                                          " bytes, over the page limit of " +
                                          std::to_string(limits::kMaxPageBytes));
  std::ifstream in(p, std::ios::binary);
  if (!in) return fail(errc::io_error, p.string() + ": cannot open");
  std::string data(static_cast<std::size_t>(size), '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

page_result error_page(std::string location, std::string message, bool fatal) {
  page_result r;
  r.location = std::move(location);
  r.error = std::move(message);
  r.fatal = fatal;
  return r;
}

void audit_path(const std::string& target, audit_summary& s) {
  std::error_code ec;
  fs::path p(target);
  auto st = fs::status(p, ec);
  if (ec || !fs::exists(st)) {
    s.pages.push_back(error_page(target, target + ": no such file or directory", true));
    return;
  }
  std::vector<fs::path> files;
  if (fs::is_directory(st)) {
    fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && html_extension(it->path())) files.push_back(it->path());
      if (files.size() >= limits::kMaxFiles) break;
    }
    if (ec) {
      s.pages.push_back(error_page(target, target + ": " + ec.message(), true));
      return;
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(p);
  }
  for (auto& f : files) {
    auto data = read_file(f);
    if (!data)
      s.pages.push_back(error_page(f.string(), data.error().message, true));
    else
      s.pages.push_back(audit_html(*data, f.string(), ""));
  }
}

// GET with redirects (each target re-checked to be loopback).
result<std::pair<http_response, std::string>> fetch(
    std::string url, std::chrono::steady_clock::time_point deadline) {
  for (int hop = 0; hop <= limits::kMaxRedirects; ++hop) {
    auto u = parse_loopback_url(url);
    if (!u) return std::unexpected(u.error());
    auto r = http_get(*u, deadline);
    if (!r) return std::unexpected(r.error());
    if (r->status >= 300 && r->status < 400 && !r->header("location").empty()) {
      url = strip_fragment(resolve_uri(u->str(), r->header("location")));
      continue;
    }
    if (r->status != 200)
      return fail(errc::not_found, u->str() + ": HTTP status " + std::to_string(r->status));
    return std::pair{std::move(*r), u->str()};
  }
  return fail(errc::limit_exceeded,
              "more than " + std::to_string(limits::kMaxRedirects) + " redirects from " + url);
}

void audit_url(const std::string& target, const audit_options& opts, audit_summary& s) {
  auto start = parse_loopback_url(target);
  if (!start) {
    s.pages.push_back(error_page(target, start.error().message, true));
    return;
  }
  const std::string origin = start->origin();
  const auto deadline = std::chrono::steady_clock::now() + limits::kCrawlDeadline;
  std::deque<std::string> queue{start->str()};
  std::set<std::string> seen{start->str()};
  int fetched = 0;
  while (!queue.empty() && fetched < opts.crawl) {
    std::string url = queue.front();
    queue.pop_front();
    bool first = fetched == 0;
    ++fetched;
    if (std::chrono::steady_clock::now() >= deadline) {
      s.pages.push_back(error_page(url, "crawl deadline reached; not fetched", first));
      break;
    }
    auto got = fetch(url, deadline);
    if (!got) {
      s.pages.push_back(error_page(url, got.error().message, first));
      continue;
    }
    auto& [resp, final_url] = *got;
    std::string ctype = lower(resp.header("content-type"));
    if (!first && !ctype.empty() && ctype.find("html") == std::string::npos) continue;
    page_result page = audit_html(resp.body, final_url, final_url);
    page.fatal = page.fatal && first;
    s.pages.push_back(std::move(page));
    if (opts.crawl <= 1) continue;
    auto ex = extract_forms(resp.body);
    if (!ex) continue;
    std::string base = ex->base_href.empty() ? final_url : resolve_uri(final_url, ex->base_href);
    for (auto& link : ex->links) {
      std::string abs = strip_fragment(resolve_uri(base, link));
      if (!looks_like_url(abs) || skippable_link(abs)) continue;
      auto lu = parse_loopback_url(abs);
      if (!lu || lu->origin() != origin) continue;  // same site only
      if (seen.insert(lu->str()).second) queue.push_back(lu->str());
    }
  }
}

}  // namespace

page_result audit_html(std::string_view html, std::string location, std::string_view page_url) {
  page_result r;
  r.location = std::move(location);
  auto ex = extract_forms(html);
  if (!ex) {
    r.error = ex.error().message;
    r.fatal = true;
    return r;
  }
  r.forms = classify_page(*ex, page_url);
  r.orphan_controls = ex->orphan_controls;
  return r;
}

audit_summary run_audit(const std::vector<std::string>& targets, const audit_options& opts) {
  audit_summary s;
  for (auto& t : targets) {
    if (looks_like_url(t))
      audit_url(t, opts, s);
    else
      audit_path(t, s);
  }
  for (auto& p : s.pages) {
    if (!p.error.empty()) (p.fatal ? s.errors : s.warnings)++;
    for (auto& f : p.forms) {
      ++s.forms;
      if (f.v == verdict::open_relay_enabler)
        ++s.enablers;
      else if (f.v == verdict::risky)
        ++s.risky;
      else
        ++s.ok;
    }
  }
  return s;
}

int exit_status(const audit_summary& s) {
  if (s.errors > 0) return 2;
  return s.enablers > 0 ? 1 : 0;
}

std::string render_table(const audit_summary& s) {
  std::ostringstream o;
  for (auto& p : s.pages) {
    o << "== " << p.location << "\n";
    if (!p.error.empty()) {
      o << "   " << (p.fatal ? "error: " : "warning: ") << p.error << "\n\n";
      continue;
    }
    if (p.forms.empty()) {
      o << "   no forms\n\n";
      continue;
    }
    char line[512];
    std::snprintf(line, sizeof line, "   %-4s %-18s %-6s %s\n", "FORM", "VERDICT", "METHOD",
                  "ACTION");
    o << line;
    for (auto& f : p.forms) {
      std::string ref = "#" + std::to_string(f.index);
      std::snprintf(line, sizeof line, "   %-4s %-18s %-6s %s\n", ref.c_str(), to_string(f.v),
                    f.method.c_str(), f.action.c_str());
      o << line;
    }
    for (auto& f : p.forms) {
      o << "\n   form #" << f.index;
      if (!f.id.empty()) o << " id=\"" << f.id << "\"";
      if (!f.name.empty()) o << " name=\"" << f.name << "\"";
      o << ": " << to_string(f.v) << "\n";
      for (auto& fl : f.fields) {
        if (fl.r == role::other && !fl.copy_to_sender) continue;
        std::string nm = fl.name.empty() ? "#" + fl.id : fl.name;
        std::snprintf(line, sizeof line, "     %-10s %-24s %-9s ", to_string(fl.r), nm.c_str(),
                      fl.type.c_str());
        o << line << fl.why << "\n";
      }
      for (auto& r : f.reasons) o << "     - " << r << "\n";
    }
    if (p.orphan_controls > 0)
      o << "\n   (" << p.orphan_controls << " controls outside any form, ignored)\n";
    o << "\n";
  }
  o << "summary: " << s.pages.size() << " pages, " << s.forms << " forms: " << s.enablers
    << " open-relay-enabler, " << s.risky << " risky, " << s.ok << " ok";
  if (s.errors) o << "; " << s.errors << " errors";
  if (s.warnings) o << "; " << s.warnings << " warnings";
  o << "\n";
  return o.str();
}

nlohmann::json to_json(const audit_summary& s) {
  using nlohmann::json;
  json pages = json::array();
  for (auto& p : s.pages) {
    json jp = {{"location", p.location}};
    if (!p.error.empty()) {
      jp["error"] = p.error;
      jp["fatal"] = p.fatal;
    }
    json forms = json::array();
    for (auto& f : p.forms) {
      json fields = json::array();
      for (auto& fl : f.fields) {
        json jf = {{"tag", fl.tag}, {"type", fl.type},         {"name", fl.name},
                   {"id", fl.id},   {"role", to_string(fl.r)}, {"hidden", fl.hidden}};
        if (!fl.label.empty()) jf["label"] = fl.label;
        if (!fl.why.empty()) jf["why"] = fl.why;
        if (fl.copy_to_sender) jf["copy_to_sender"] = true;
        fields.push_back(std::move(jf));
      }
      forms.push_back({{"index", f.index},
                       {"id", f.id},
                       {"name", f.name},
                       {"action", f.action},
                       {"method", f.method},
                       {"verdict", to_string(f.v)},
                       {"sender", f.sender},
                       {"recipient", f.recipient},
                       {"free_text", f.free_text},
                       {"captcha", f.captcha},
                       {"captchas", f.captchas},
                       {"reasons", f.reasons},
                       {"fields", std::move(fields)}});
    }
    jp["forms"] = std::move(forms);
    jp["orphan_controls"] = p.orphan_controls;
    pages.push_back(std::move(jp));
  }
  return {{"pages", std::move(pages)},
          {"summary",
           {{"pages", s.pages.size()},
            {"forms", s.forms},
            {"open-relay-enabler", s.enablers},
            {"risky", s.risky},
            {"ok", s.ok},
            {"errors", s.errors},
            {"warnings", s.warnings}}},
          {"exit_status", exit_status(s)}};
}

}  // namespace mxg::forms
