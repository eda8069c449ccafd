// dnsbl_config.hpp: the [dnsbl] section of a configuration file -> dnsbl_config (see
// dnsbl.hpp for the keys), every problem reported as `FILE:LINE: message` (unknown keys
// too). Shared by `mxguard serve` (gateway/config.cpp) and `mxguard dnsbl check --config`.
// Include with TOML_EXCEPTIONS 1, like every user of toml++ in this program.
#pragma once

#ifndef TOML_EXCEPTIONS
#define TOML_EXCEPTIONS 1
#endif
#include <toml++/toml.h>

#include <string>
#include <vector>

#include "base/result.hpp"
#include "policy/dnsbl.hpp"

namespace mxg::policy {

// Reads the [dnsbl] table `t` (with [dnsbl.actions], [[dnsbl.zone]], [[dnsbl.rule]])
// into `out`; appends one "SOURCE:LINE: message" per problem to `errors`.
void read_dnsbl_config(const toml::table& t, const std::string& source, dnsbl_config& out,
                       std::vector<std::string>& errors);

// The [dnsbl] section of the TOML file at `path` (other sections are ignored); a file
// without [dnsbl] is an error. For `mxguard dnsbl check --config FILE`.
result<dnsbl_config> load_dnsbl_config_file(const std::string& path);

// Reads the TOML text (for tests): as load_dnsbl_config_file.
result<dnsbl_config> parse_dnsbl_config(std::string_view text, const std::string& source);

}  // namespace mxg::policy
