// console_config_toml.hpp: the [console] reader for gateway/config.cpp (see
// console_config.hpp). Include with TOML_EXCEPTIONS 1, like every user of toml++ here.
#pragma once

#ifndef TOML_EXCEPTIONS
#define TOML_EXCEPTIONS 1
#endif
#include <toml++/toml.h>

#include <string>
#include <vector>

#include "gateway/console_config.hpp"

namespace mxg::gateway {

// Reads the [console] table `t` into `out`; appends one "SOURCE:LINE: message" per
// problem to `errors`.
void read_console_config(const toml::table& t, const std::string& source, console_config& out,
                         std::vector<std::string>& errors);

}  // namespace mxg::gateway
