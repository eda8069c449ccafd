// list_column.hpp: how both history backends keep a list of addresses in one text
// column (messages.recipients): the items joined with commas, read back by splitting on
// them. One format for SQLite and PostgreSQL, so a history moved between them reads the same.
// XXX: a quoted local part holding a comma (RFC 5321 4.1.2) comes back as two items; a
// separate recipients table (as `recipients` already is) would not split it.
#pragma once

#include <string>
#include <vector>

namespace mxg::store {

inline std::string join_list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

// "" is the empty list.
inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    auto comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace mxg::store
