// status.cpp: `mxguard status [--socket PATH | --config FILE] [--json]` asks the running
// server (control socket, src/gateway/control.hpp) how it is doing: whether queued mail
// is being delivered (and why not), the routing table in force, session and message
// counters, the history writer. Issue 16 item 1: a server that accepts mail but does
// not deliver it is visible here, and in the exit status, so a monitor can alert.
// Exit: 0 running and delivering, 1 running with delivery off, 2 usage or bad config,
// 69 (EX_UNAVAILABLE) no server answers on the socket.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/registry.hpp"
#include "gateway/config.hpp"
#include "gateway/control.hpp"

namespace {

constexpr int kExitOk = 0, kExitDeliveryOff = 1, kExitUsage = 2, kExitNoServer = 69;

struct status_args {
  std::string socket, config;
  bool json = false;
};

int run_status(const status_args& a) {
  std::string sock = a.socket;
  if (sock.empty() && !a.config.empty()) {
    auto c = mxg::gateway::load_config_file(a.config);
    if (!c) {
      std::fprintf(stderr, "%s\n", c.error().message.c_str());
      return kExitUsage;
    }
    sock = c->control_socket;
  }
  if (sock.empty()) sock = mxg::gateway::control_socket_path("var");
  mxg::gateway::control_request req;
  req.cmd = "status";
  auto r = mxg::gateway::control_call(sock, req);
  if (!r) {
    std::fprintf(stderr, "mxguard status: %s\n", r.error().message.c_str());
    return kExitNoServer;
  }
  if (r->exit != 0) {
    std::fprintf(stderr, "mxguard status: %s\n", r->error.c_str());
    return r->exit;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(r->output);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mxguard status: bad answer: %s\n", e.what());
    return kExitNoServer;
  }
  const auto d = j.value("delivery", nlohmann::json::object());
  const bool on = d.value("state", "") == "on";
  if (a.json) {
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return on ? kExitOk : kExitDeliveryOff;
  }
  const std::string table = d.value("routing_table", "");
  if (on)
    std::printf("delivery: on (routing table %s, %zu rules)\n",
                table.empty() ? "none: every message by MX" : table.c_str(),
                d.value("rules", std::size_t{0}));
  else
    std::printf("delivery: OFF: %s (mail is accepted and queued, not delivered)\n",
                d.value("reason", std::string("unknown")).c_str());
  std::printf("draining: %s\n", j.value("draining", false) ? "yes" : "no");
  std::printf("sessions: %llu (refused %llu)\n",
              static_cast<unsigned long long>(j.value("sessions", 0ull)),
              static_cast<unsigned long long>(j.value("refused_sessions", 0ull)));
  std::printf("messages: %llu (queue errors %llu)\n",
              static_cast<unsigned long long>(j.value("messages", 0ull)),
              static_cast<unsigned long long>(j.value("queue_errors", 0ull)));
  if (j.contains("history")) {
    const auto& h = j["history"];
    std::printf("history: %s (written %llu, failed %llu, dropped %llu)\n",
                h.value("path", std::string()).c_str(),
                static_cast<unsigned long long>(h.value("written", 0ull)),
                static_cast<unsigned long long>(h.value("failed", 0ull)),
                static_cast<unsigned long long>(h.value("dropped", 0ull)));
    // Issue 14: records waiting on disk for an unreachable database.
    if (h.value("backend", std::string()) == "postgresql")
      std::printf(
          "history database: %s, spool backlog %llu (spooled %llu, replayed %llu, "
          "dropped %llu)\n",
          h.value("db_up", true) ? "reachable" : "UNREACHABLE",
          static_cast<unsigned long long>(h.value("spool_backlog", 0ull)),
          static_cast<unsigned long long>(h.value("spooled", 0ull)),
          static_cast<unsigned long long>(h.value("replayed", 0ull)),
          static_cast<unsigned long long>(h.value("spool_dropped", 0ull)));
  }
  return on ? kExitOk : kExitDeliveryOff;
}

mxg::cli::registration reg(105, [](CLI::App& root, int& exit_code) {
  auto a = std::make_shared<status_args>();
  auto* cmd = root.add_subcommand(
      "status", "Ask the running server how it is doing (delivery on/off, counters)");
  cmd->add_option("--socket", a->socket, "Control socket (default: var/control.sock)")
      ->type_name("PATH");
  cmd->add_option("--config,-c", a->config, "Take the control socket from this configuration")
      ->type_name("FILE");
  cmd->add_flag("--json", a->json, "The server's answer as JSON");
  cmd->footer(
      "Exit status: 0 running and delivering, 1 running with delivery OFF (mail is\n"
      "accepted and queued but not delivered), 2 bad configuration, 69 no server answers.");
  cmd->callback([a, &exit_code] { exit_code = run_status(*a); });
});

}  // namespace
