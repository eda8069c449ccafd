// page.hpp: the console's pages (issue 11 section 3): one HTML page, a style sheet and a
// script, kept as files under src/web/assets/ and embedded in the binary at build time
// (cmake/embed_assets.cmake generates assets()). The script talks only to /api/ and
// builds the page with textContent and DOM nodes, so text from a message is never parsed
// as HTML; nothing is loaded from anywhere but the console itself (the CSP says so too).
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace mxg::web {

struct asset {
  std::string_view path;  // URL path: "/" for index.html, else "/" + file name
  std::string_view type;  // Content-Type
  std::string_view data;
};

// Every embedded asset (generated at build time).
std::span<const asset> assets();

// The asset served at `path`, if any.
std::optional<asset> find_asset(std::string_view path);

}  // namespace mxg::web
