// spf_config.hpp: the [spf] section of a configuration file -> spf_policy_config, with
// every problem reported as `FILE:LINE: message` (unknown keys too). Shared by
// `mxguard serve` (gateway/config.cpp) and `mxguard policy simulate --policy FILE`.
// Include with TOML_EXCEPTIONS 1, like every user of toml++ in this program.
#pragma once

#ifndef TOML_EXCEPTIONS
#define TOML_EXCEPTIONS 1
#endif
#include <toml++/toml.h>

#include <string>
#include <vector>

#include "base/result.hpp"
#include "policy/spf_policy.hpp"

namespace mxg::policy {

// Reads the [spf] table `t` (with [spf.actions] and [[spf.rule]]) into `out`; appends
// one "SOURCE:LINE: message" per problem to `errors`.
void read_spf_config(const toml::table& t, const std::string& source, spf_policy_config& out,
                     std::vector<std::string>& errors);

// The [spf] section of the TOML file at `path` (other sections are ignored); a file
// without [spf] is an error. For `policy simulate --policy CANDIDATE.toml`.
result<spf_policy_config> load_spf_policy_file(const std::string& path);

}  // namespace mxg::policy
