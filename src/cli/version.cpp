// version.cpp: `mxguard version` prints the version and the libraries built in.
#include <ares.h>
#include <openssl/opensslv.h>
#include <sqlite3.h>

#include <cstdio>

#include "cli/registry.hpp"

namespace {
mxg::cli::registration reg(1000, [](CLI::App& root, int&) {
  auto* cmd = root.add_subcommand("version", "Print the version and the libraries in use");
  cmd->callback([] {
    std::printf("mxguard %s\nc-ares %s, %s, SQLite %s\n", MXG_VERSION, ares_version(nullptr),
                OPENSSL_VERSION_TEXT, sqlite3_libversion());
  });
});
}  // namespace
