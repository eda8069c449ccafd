// queue_run.cpp: offline `mxguard queue run` (see queue_run.hpp). The work is in
// src/delivery (run_queue); this file only reads the options, builds the resolver and
// the routing table, runs one io_context until the run is over, and prints.
#include "cli/queue_run.hpp"
#include "base/spawn.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <filesystem>

#include "cli/dns_flags.hpp"
#include "delivery/scheduler.hpp"

namespace mxg::cli {

namespace {

struct run_options {
  std::string routes;
  std::string hostname;
  bool no_dsn = false;
  bool no_starttls = false;
  int connect_timeout = 30;
  dns_flags dns;
};

run_options& opts() {
  static run_options o;
  return o;
}

std::string default_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

}  // namespace

void add_queue_run_options(CLI::App* run) {
  auto& o = opts();
  run->add_option("--routes", o.routes,
                  "Routing table (TOML *.toml, or sendmail-style 'KEY VALUE' text; "
                  "see docs/delivery.md)")
      ->type_name("FILE");
  run->add_option("--hostname", o.hostname, "Our name in EHLO and DSNs (default: host name)")
      ->type_name("NAME");
  run->add_flag("--no-dsn", o.no_dsn, "Never generate delivery status notifications (bounces)");
  run->add_flag("--no-starttls", o.no_starttls, "Do not use STARTTLS even when offered");
  run->add_option("--connect-timeout", o.connect_timeout, "Seconds to wait for a TCP connect")
      ->type_name("S");
  o.dns.add_to(run);
}

int queue_run_offline(const std::vector<mxg::queue::queue_dir*>& queues,
                      const std::vector<std::string>& ids, bool json) {
  auto& o = opts();
  // stdout carries only the report; log lines go to stderr (queue.cpp may have set it).
  if (spdlog::default_logger()->name().empty()) {
    auto logger = spdlog::stderr_logger_mt("mxguard-queue-run");
    logger->set_level(spdlog::level::warn);
    spdlog::set_default_logger(logger);
  }
  delivery::routing_table routes;
  if (!o.routes.empty()) {
    auto t = delivery::routing_table::load(o.routes);
    if (!t) {
      std::fprintf(stderr, "mxguard queue run: %s\n", t.error().message.c_str());
      return 2;
    }
    routes = std::move(*t);
  }
  delivery::delivery_options d;
  d.hostname = o.hostname.empty() ? default_hostname() : o.hostname;
  d.dsn = !o.no_dsn;
  d.client.starttls = !o.no_starttls;
  d.client.connect = std::chrono::seconds(o.connect_timeout > 0 ? o.connect_timeout : 30);

  // Which ids belong to which queue.
  int rc = 0;
  std::vector<std::vector<queue::queue_id>> per_queue(queues.size());
  for (const auto& text : ids) {
    auto id = queue::queue_id::parse(text);
    if (!id) {
      std::fprintf(stderr, "mxguard queue run: %s\n", id.error().message.c_str());
      return 2;
    }
    bool found = false;
    for (std::size_t i = 0; i < queues.size() && !found; ++i) {
      if (queues[i]->contains(*id)) {
        per_queue[i].push_back(*id);
        found = true;
      }
    }
    if (!found) {
      std::fprintf(stderr, "mxguard queue run: no message %s\n", text.c_str());
      rc = 1;
    }
  }

  asio::io_context io;
  auto resolver = o.dns.make(io.get_executor());
  if (!resolver) {
    std::fprintf(stderr, "mxguard queue run: %s\n", resolver.error().message.c_str());
    return 2;
  }
  auto tls = delivery::make_client_tls_context(d.client);
  std::vector<delivery::message_outcome> all;
  for (std::size_t i = 0; i < queues.size(); ++i) {
    if (!ids.empty() && per_queue[i].empty()) continue;
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          auto r =
              co_await delivery::run_queue(*queues[i], per_queue[i], **resolver, routes, d, &tls);
          all.insert(all.end(), r.begin(), r.end());
        },
        log_escape("queue run"));
    io.run();
    io.restart();
  }
  for (const auto& m : all)
    if (!m.error.empty()) rc = 1;
  std::fputs(json ? delivery::outcomes_json(all).c_str() : delivery::format_outcomes(all).c_str(),
             stdout);
  if (!json && all.empty()) std::puts("queue run: nothing to deliver");
  return rc;
}

}  // namespace mxg::cli
