// limits.hpp (forms): the bounds of the web-form relay auditor. It reads untrusted HTML
// and talks to a web server, so every size, count and delay it accepts is capped here.
// None of these comes from an RFC; they are chosen so one audit stays small and bounded.
#pragma once

#include <chrono>
#include <cstddef>

namespace mxg::forms::limits {

// A page larger than this is refused (files and HTTP bodies alike).
inline constexpr std::size_t kMaxPageBytes = 2 * 1024 * 1024;
// HTML nesting deeper than this is refused before gumbo sees it: gumbo 0.10's tree
// construction is quadratic in the depth of the open-element stack (20,000 nested <div>
// take ~9 s; a 2 MiB page held at depth 500 still costs ~7 s of CPU). Real pages stay well
// under 100. The depth is an estimate from a light scan (estimate_nesting_depth).
inline constexpr std::size_t kMaxNestingDepth = 256;
// Memory gumbo may hold at once and allocate in total for one page. Bounded nesting does
// not bound everything: the HTML5 "reconstruct the active formatting elements" step clones
// every open <b>/<font>/... with distinct attributes again after each </p> (20 KB of such
// markup makes ~300 MB of nodes). Past either budget the parse is abandoned.
inline constexpr std::size_t kMaxParserLiveBytes = 192 * 1024 * 1024;
inline constexpr std::size_t kMaxParserTotalBytes = 1024 * 1024 * 1024;
// Forms, controls per form and links per page that are kept; the rest is ignored.
inline constexpr std::size_t kMaxFormsPerPage = 500;
inline constexpr std::size_t kMaxControlsPerForm = 2000;
inline constexpr std::size_t kMaxLinksPerPage = 5000;
// Attribute and label text kept per control (longer text is cut).
inline constexpr std::size_t kMaxTextChars = 200;

// HTTP fetching (loopback only).
inline constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
inline constexpr int kMaxRedirects = 5;
inline constexpr std::chrono::seconds kRequestTimeout{10};
inline constexpr std::chrono::seconds kCrawlDeadline{120};
inline constexpr int kMaxCrawlPages = 10000;  // upper bound of --crawl N

// Directory walking.
inline constexpr std::size_t kMaxFiles = 100000;

}  // namespace mxg::forms::limits
