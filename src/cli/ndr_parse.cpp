// ndr_parse.cpp: `mxguard ndr parse PATH... [--json|--csv]`: decodes bounces
// (files, mbox, Maildir, directories, "-" for stdin) and prints one record per
// failed recipient. Exit status: 0 when every input was read, 1 when some
// input could not be read (the others are still printed).
// The `ndr` parent command is shared with other ndr subcommands: whichever
// file registers first creates it (see ndr_command() below).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/registry.hpp"
#include "ndr/ndr.hpp"
#include "ndr/output.hpp"

namespace {

CLI::App* ndr_command(CLI::App& root) {
  for (auto* sub : root.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == "ndr") return sub;
  auto* ndr = root.add_subcommand("ndr", "Bounce (NDR) tools: parse bounces, backscatter reports");
  ndr->require_subcommand(1);
  return ndr;
}

struct options {
  std::vector<std::string> paths;
  bool json = false;
  bool csv = false;
};

mxg::cli::registration reg(400, [](CLI::App& root, int& exit_code) {
  auto opts = std::make_shared<options>();
  auto* ndr = ndr_command(root);
  auto* cmd = ndr->add_subcommand("parse", "Decode bounces: one record per failed recipient");
  cmd->add_option("PATH", opts->paths,
                  "Files (.eml, mbox), Maildir folders, directories, or - for stdin")
      ->required();
  auto* j = cmd->add_flag("--json", opts->json, "Print a JSON list of records");
  cmd->add_flag("--csv", opts->csv, "Print CSV (header line, then one line per record)")
      ->excludes(j);
  cmd->callback([opts, &exit_code] {
    std::vector<mxg::ndr::record> all;
    int failures = 0;
    for (const auto& path : opts->paths) {
      auto n = mxg::ndr::read_inputs(path, [&](mxg::ndr::input_message&& m) {
        for (auto& r : mxg::ndr::parse_message(m.data)) {
          r.file = m.name;
          all.push_back(std::move(r));
        }
      });
      if (!n) {
        std::fprintf(stderr, "mxguard ndr parse: %s\n", n.error().message.c_str());
        ++failures;
      }
    }
    if (opts->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : all) out.push_back(mxg::ndr::to_json(r));
      std::cout << out.dump(2) << "\n";
    } else if (opts->csv) {
      std::cout << mxg::ndr::csv_header() << "\n";
      for (const auto& r : all) std::cout << mxg::ndr::to_csv(r) << "\n";
    } else {
      std::cout << mxg::ndr::to_table(all);
      std::cout << all.size() << " failed recipient(s)\n";
    }
    exit_code = failures ? 1 : 0;
  });
});

}  // namespace
