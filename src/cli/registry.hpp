// registry.hpp: how a subcommand file plugs into the `mxguard` binary.
// Each src/cli/<command>.cpp defines one static `registration` whose function adds
// its subcommand(s) to the root CLI11 app; main.cpp only parses and dispatches.
// A command's callback stores its exit status in `exit_code` (see README "Exit codes").
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace mxg::cli {

using register_fn = std::function<void(CLI::App& root, int& exit_code)>;

struct registration {
  registration(int order, register_fn fn);
};

struct registered {
  int order;
  register_fn fn;
};
std::vector<registered>& registry();

// Finds the top-level command group `name` (e.g. "spf", "queue", "ndr") or creates it,
// so that several files can add subcommands to one group in any order.
CLI::App* group(CLI::App& root, const std::string& name, const std::string& description);

}  // namespace mxg::cli
