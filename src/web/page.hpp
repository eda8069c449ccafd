// page.hpp: the console's one page for now (issue 11 section 3 brings the others): sign
// in, the quarantine list with release and delete, a message's headers and body as
// text. The script talks only to /api/ and builds the page with textContent, so text
// from a message is never parsed as HTML; nothing is loaded from elsewhere.
#pragma once

#include <string_view>

namespace mxg::web {

std::string_view index_html();
std::string_view app_js();

}  // namespace mxg::web
