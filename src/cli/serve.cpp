// serve.cpp: `mxguard serve [--config FILE] [--listen ADDR:PORT] [--delivery-mode MODE]`
// runs the gateway (src/gateway/server.hpp). Without --config the embedded default
// (conf/mxguard.toml) is used. `--check` runs every check of the start short of binding
// and locking (src/gateway/preflight.hpp: routing table, TLS certificate and key, state
// and queue directories, listener address clashes). A config that fails them exits 78
// (EX_CONFIG) with every problem as FILE:LINE; a broken environment at start (cannot
// bind, queue locked) exits 71 (EX_OSERR) with one clear message.
// SIGHUP reloads, SIGTERM/SIGINT drain and exit 0. With [console] listen set, the web
// console (src/web/console.hpp) serves beside the gateway over its admin API.
#include <spdlog/spdlog.h>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "base/log.hpp"
#include "cli/registry.hpp"
#include "gateway/config.hpp"
#include "gateway/preflight.hpp"
#include "gateway/server.hpp"
#include "web/console.hpp"

namespace {

struct serve_opts {
  std::string config, listen, mode;
  bool check = false;
};

int serve(const serve_opts& o) {
  using namespace mxg::gateway;
  // Issue 16 item 8: HUP/TERM/INT are held (blocked, left pending) from here until the
  // server's handlers are installed, so a signal during the config checks or the start
  // is handled once the server runs instead of killing the process. Threads started
  // meanwhile (queue syncers, history writer) inherit the mask: only this thread takes
  // them. A start that fails exits with the signal still pending (it is discarded).
  sigset_t held, before;
  sigemptyset(&held);
  for (int sig : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&held, sig);
  pthread_sigmask(SIG_BLOCK, &held, &before);
  auto c = o.config.empty() ? parse_config(embedded_default_config(), "<embedded>")
                            : load_config_file(o.config);
  if (c) {
    if (auto r = apply_overrides(*c, o.listen, o.mode); !r) {
      std::fprintf(stderr, "mxguard serve: %s\n", r.error().message.c_str());
      return 2;
    }
  }
  if (!c) {
    std::fprintf(stderr, "%s\n", c.error().message.c_str());
    return 78;  // EX_CONFIG
  }
  // --check and the start run the same checks (src/gateway/preflight.hpp): a config
  // that passes --check does not fail at start short of a bind or a queue lock.
  if (auto problems = preflight(*c); !problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    return 78;  // EX_CONFIG
  }
  if (o.check) {
    std::printf("%s: OK (%zu listeners)\n", c->source.c_str(), c->listeners.size());
    return 0;
  }
  std::error_code ec;
  std::filesystem::create_directories(c->state_dir, ec);
  if (ec) {
    std::fprintf(stderr, "mxguard serve: state_dir %s: %s\n", c->state_dir.c_str(),
                 ec.message().c_str());
    return 71;
  }
  asio::io_context io(1);
  server srv(io);
  srv.config_path = o.config;
  srv.listen_override = o.listen;
  srv.mode_override = o.mode;
  if (auto r = srv.start(std::move(*c)); !r) {
    std::fprintf(stderr, "mxguard serve: %s\n", r.error().message.c_str());
    return 71;  // EX_OSERR
  }
  // The web console ([console], issue 11): its own threads over the admin API. A
  // SIGHUP reloads its users (web::console::reload); listen and TLS need a restart.
  std::unique_ptr<mxg::web::console> console;
  if (srv.cfg().console.enabled()) {
    auto con = mxg::web::console::start(srv, srv.cfg().console, srv.cfg().state_dir);
    if (!con) {
      std::fprintf(stderr, "mxguard serve: %s\n", con.error().message.c_str());
      return 71;  // EX_OSERR
    }
    console = std::move(*con);
  }
  srv.log_ready();
  srv.on_reload = [&console](const config& next) {
    if (console)
      console->reload(next.console, next.state_dir);
    else if (next.console.enabled())
      spdlog::warn("reload: [console] listen added; restart to start the console");
  };
  pthread_sigmask(SIG_SETMASK, &before, nullptr);  // the server's handlers take them now
  // Log records of one event loop turn leave in one write (base/log.hpp).
  mxg::log::set_flush_scheduler([&io](std::function<void()> f) { asio::post(io, std::move(f)); });
  io.run();
  srv.on_reload = nullptr;
  mxg::log::set_flush_scheduler({});  // before io goes: flush per record again
  if (console) console->stop();
  spdlog::info("stopped");
  spdlog::default_logger()->flush();
  return 0;
}

mxg::cli::registration reg(100, [](CLI::App& root, int& exit_code) {
  auto o = std::make_shared<serve_opts>();
  auto* cmd = root.add_subcommand("serve", "Run the SMTP gateway (listeners, queue, delivery)");
  cmd->add_option("--config,-c", o->config,
                  "TOML configuration file (default: embedded conf/mxguard.toml)");
  cmd->add_option("--listen", o->listen, "Listen on ADDR:PORT only ([::1]:25 for IPv6)");
  cmd->add_option("--delivery-mode", o->mode, "deliver | queueonly | hold for every listener");
  cmd->add_flag("--check", o->check, "Validate the configuration and exit");
  cmd->callback([o, &exit_code] { exit_code = serve(*o); });
});

}  // namespace
