// page.cpp: see page.hpp. assets() itself is generated (build dir, web_assets.cpp).
#include "web/page.hpp"

namespace mxg::web {

std::optional<asset> find_asset(std::string_view path) {
  for (const asset& a : assets())
    if (a.path == path) return a;
  return std::nullopt;
}

}  // namespace mxg::web
