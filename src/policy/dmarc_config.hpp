// dmarc_config.hpp: the [dkim] and [dmarc] sections of a configuration file ->
// dkim_policy_config / dmarc_policy_config, with every problem reported as
// `FILE:LINE: message` (unknown keys too). Shared by `mxguard serve` (gateway/config.cpp)
// and `mxguard policy simulate --policy FILE`. Same reader as [spf] (rule_config.hpp).
// Include with TOML_EXCEPTIONS 1, like every user of toml++ in this program.
#pragma once

#ifndef TOML_EXCEPTIONS
#define TOML_EXCEPTIONS 1
#endif
#include <toml++/toml.h>

#include <string>
#include <vector>

#include "base/result.hpp"
#include "policy/dmarc_policy.hpp"

namespace mxg::policy {

void read_dkim_config(const toml::table& t, const std::string& source, dkim_policy_config& out,
                      std::vector<std::string>& errors);
// [dmarc] with [dmarc.actions] and [[dmarc.rule]]. The psl_file is not read here (the
// caller loads it; preflight reports a missing file); mode = "psl" without psl_file is
// an error.
void read_dmarc_config(const toml::table& t, const std::string& source, dmarc_policy_config& out,
                       std::vector<std::string>& errors);

// The [dmarc] section of the TOML file at `path` (other sections ignored); a file
// without [dmarc] is an error. For `policy simulate --policy CANDIDATE.toml`.
result<dmarc_policy_config> load_dmarc_policy_file(const std::string& path);

}  // namespace mxg::policy
