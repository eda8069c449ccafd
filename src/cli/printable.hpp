// printable.hpp: outside text (DNS TXT strings, header values, record text) shown on
// a terminal: printable ASCII kept, every other byte as \xNN, so a hostile byte never
// reaches the terminal raw.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace mxg::cli {

inline std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02X", c);
      out += b;
    }
  }
  return out;
}

}  // namespace mxg::cli
