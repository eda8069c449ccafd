// main.cpp: the `mxguard` entry point. Parses the command line and dispatches to the
// subcommands registered by the other files of src/cli (one file per subcommand).
#include <algorithm>
#include <cstdio>
#include <exception>

#include "cli/registry.hpp"

namespace mxg::cli {

registration::registration(int order, register_fn fn) {
  registry().push_back({order, std::move(fn)});
}

std::vector<registered>& registry() {
  static std::vector<registered> r;
  return r;
}

CLI::App* group(CLI::App& root, const std::string& name, const std::string& description) {
  auto found = root.get_subcommands([&](CLI::App* a) { return a->get_name() == name; });
  if (!found.empty()) return found.front();
  auto* g = root.add_subcommand(name, description);
  g->require_subcommand(1);
  return g;
}

}  // namespace mxg::cli

// XXX: start-up costs ~40 M instructions (docs/benchmarks.md "Synchronous evaluation over
// cached answers"): 75 % is the dynamic loader relocating the 21 linked libraries, 6 %
// OpenSSL's init run by libcpp-httplib's constructor, 8 % building every subcommand's
// CLI11 options below. Lazy init does not help; fewer linked libraries would (static
// linking, or the gateway's libraries in a plugin that only `serve` loads).
int main(int argc, char** argv) {
  CLI::App app{"mxguard " MXG_VERSION
               " - mail-hygiene gateway: SPF policy, capture and routing, backscatter"};
  app.set_version_flag("--version", std::string("mxguard ") + MXG_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  int exit_code = 0;
  auto& regs = mxg::cli::registry();
  std::sort(regs.begin(), regs.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  for (auto& r : regs) r.fn(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version answer 0; every other parse error is a usage error: 2, as
    // README "Exit codes" says (CLI11's own codes, 100-127, are not ours).
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mxguard: %s\n", e.what());
    return 70;  // EX_SOFTWARE
  }
  return exit_code;
}
