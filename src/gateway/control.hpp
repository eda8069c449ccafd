// control.hpp: the daemon's local control socket (a unix stream socket under the
// state directory, mode 0600) through which `mxguard queue ...` works while
// `mxguard serve` runs and holds the queue lock.
//
// Protocol: one JSON object per line each way.
//   request:  {"cmd":"list|show|hold|release|delete|run|status|
//                     quarantine-release|quarantine-delete",
//              "args":["ID",...], "queue":"LISTENER-NAME or DIR, or empty = every queue
//                     of the daemon (each listener's, once even when listeners share one)",
//              "json":false, "body":false, "by":"who (quarantine-*)"}
// quarantine-release / quarantine-delete (issue 9 section 3) find each message's queue
// from its quarantine index entry (listener, queue_dir), act only while both the entry
// and the control file say quarantined (exactly once, quarantine_expiry.hpp) and
// record when and by whom through the history writer.
//   response: zero or more {"output":"a piece of the text to print as it is"} lines,
//             then one {"exit":0, "output":"the rest", "error":"message for stderr
//             (may be empty)"}: the line with "exit" ends the answer.
// `list` streams (issue 16 item 5): the queue directories are read on a worker thread
// (net::offload), a piece of about queue::kListPiece bytes at a time, each piece written
// before the next is read, so the event loop never waits for the disk, memory stays
// bounded whatever the queue size, and a client that reads slowly only slows its own
// listing. Without a queue name every queue is covered, as the offline CLI does; an ID
// of show/hold/release/delete/run is looked up in every queue.
// The server renders with src/queue/report.hpp, so the online and offline outputs
// are the same.
//
// Security: only local users who can open the socket file (0600, owner of the
// daemon) can talk to it; requests are size-capped and ids are validated by
// queue_id::parse before they touch a path.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mxg::gateway {

inline constexpr std::size_t kControlRequestMax = 64 * 1024;  // one request line

class server;

struct control_request {
  std::string cmd;
  std::vector<std::string> args;
  std::string queue;  // listener name, queue directory, or "" for every queue
  bool json = false;
  bool body = false;  // show --body
  std::string by;     // quarantine-*: who asks ("" = "control-socket")
  std::string note;   // quarantine-deny: why (issue 11 release requests)
};

struct control_response {
  int exit = 0;
  std::string output;
  std::string error;
};

// Client side, for src/cli/queue.cpp: sends one request to the daemon's socket.
// errc::not_found when no daemon listens there (use the offline path then).
// With on_output, each piece of output is passed to it as it arrives (the response's
// output then holds nothing); without, the pieces are concatenated into output.
using output_sink = std::function<void(std::string_view)>;
result<control_response> control_call(const std::string& socket_path, const control_request& req,
                                      const output_sink& on_output = {});

// Default socket path for a state directory: <state_dir>/control.sock.
std::string control_socket_path(const std::string& state_dir);

class control_server {
 public:
  control_server(asio::io_context& io, server& srv);
  ~control_server();
  result<void> start(const std::string& path);
  void stop();

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::local::stream_protocol::socket s);
  // `list`: streams the answer, pieces read on a worker thread (see the top).
  asio::awaitable<void> stream_list(asio::local::stream_protocol::socket& s,
                                    const control_request& req);

  asio::io_context& io_;
  server& srv_;
  std::string path_;
  std::unique_ptr<asio::local::stream_protocol::acceptor> acceptor_;
};

// Executes one request against the server (also used by tests). The quarantine
// commands read the index here with blocking calls on the history writer's second
// connection; the socket (serve) reads it on the writer thread instead.
control_response handle_control(server& srv, const control_request& req);

}  // namespace mxg::gateway
