// control.cpp: see control.hpp. Requests run on the io thread; queue operations on one
// message are short blocking file operations (one control file rewrite), acceptable
// for an admin command. `list` reads the whole queue and is not: it streams from a
// worker thread (stream_list). SQLite is not: the quarantine commands read the index on the history
// writer's thread (issue 9 section 3). Security: request lines are capped at kControlRequestMax;
// the socket file is created 0600 (umask around bind).
#include "gateway/control.hpp"
#include "base/spawn.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/streambuf.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "gateway/admin.hpp"
#include "gateway/history_writer.hpp"
#include "gateway/quarantine_expiry.hpp"
#include "gateway/remote_release.hpp"
#include "gateway/server.hpp"
#include "net/offload.hpp"
#include "queue/report.hpp"

namespace mxg::gateway {

using asio::local::stream_protocol;
using json = nlohmann::json;

std::string control_socket_path(const std::string& state_dir) {
  return state_dir + "/control.sock";
}

namespace {

json to_json(const control_request& r) {
  return json{{"cmd", r.cmd},   {"args", r.args}, {"queue", r.queue}, {"json", r.json},
              {"body", r.body}, {"by", r.by},     {"note", r.note}};
}

control_response error_response(int code, std::string msg) {
  return control_response{code, "", std::move(msg)};
}

bool is_quarantine_cmd(const std::string& cmd) {
  return cmd == "quarantine-release" || cmd == "quarantine-delete";
}

// The admin API's per-id outcomes as the CLI prints them: "ID: WORD" lines on stdout,
// the errors on stderr, exit 1 when any failed.
control_response render_items(const std::vector<admin::item_result>& items, const char* word) {
  control_response r;
  for (const auto& i : items) {
    if (i.ok && !i.pending_host.empty()) {
      r.output += i.id + ": release pending on host " + i.pending_host + "\n";
    } else if (i.ok) {
      r.output += i.id + ": " + word + "\n";
    } else {
      r.error += i.error + "\n";
      r.exit = 1;
    }
  }
  return r;
}

quarantine_op quarantine_op_of(const control_request& req) {
  return req.cmd == "quarantine-release" ? quarantine_op::release : quarantine_op::remove;
}

const char* quarantine_word(const control_request& req) {
  return req.cmd == "quarantine-release" ? "released" : "deleted";
}

std::string quarantine_by(const control_request& req) {
  return req.by.empty() ? "control-socket" : req.by;
}

// Issue 11: `quarantine approve|deny REQUEST-ID` (admin_requests.cpp).
bool is_request_cmd(const std::string& cmd) {
  return cmd == "quarantine-approve" || cmd == "quarantine-deny";
}

std::optional<std::int64_t> request_id_of(const control_request& req) {
  if (req.args.size() != 1 || req.args[0].empty() || req.args[0].size() > 18) return std::nullopt;
  for (char c : req.args[0])
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoll(req.args[0]);
}

// "request N: approved (ID released)" / "denied"; the error and exit 1 when refused.
control_response render_decision(const result<admin::request_decision>& d, const char* word) {
  if (!d) return error_response(d.error().code == errc::not_found ? 1 : 2, d.error().message);
  control_response r;
  const auto& x = *d;
  if (!x.ok) {
    r.exit = 1;
    r.error = x.error +
              (x.req.state == "cancelled" ? " (request cancelled: the message is no "
                                            "longer held)"
                                          : "") +
              "\n";
    return r;
  }
  r.output = "request " + std::to_string(x.req.id) + ": " + word;
  if (!x.release.id.empty())
    r.output += x.release.pending_host.empty() ? " (" + x.release.id + " released)"
                                               : " (" + x.release.id + " release pending on host " +
                                                     x.release.pending_host + ")";
  r.output += "\n";
  return r;
}

std::string frame(const control_response& r) {
  return json{{"exit", r.exit}, {"output", r.output}, {"error", r.error}}.dump(
             -1, ' ', false, json::error_handler_t::replace) +
         "\n";
}

// Quarantine ids are queue ids: validated before anything reads or acts on them.
std::optional<control_response> check_ids(const control_request& req) {
  if (req.args.empty()) return error_response(2, req.cmd + ": a queue id is needed");
  for (const auto& a : req.args)
    if (!queue::queue_id::valid(a)) return error_response(2, req.cmd + ": bad queue id");
  return std::nullopt;
}

}  // namespace

result<control_response> control_call(const std::string& socket_path, const control_request& req,
                                      const output_sink& on_output) {
  asio::io_context io;
  stream_protocol::socket s(io);
  asio::error_code ec;
  s.connect(stream_protocol::endpoint(socket_path), ec);
  if (ec) return fail(errc::not_found, socket_path + ": no daemon (" + ec.message() + ")");
  std::string line = to_json(req).dump() + "\n";
  asio::write(s, asio::buffer(line), ec);
  if (ec) return fail(errc::io_error, socket_path + ": " + ec.message());
  asio::streambuf buf;
  control_response out;
  // Pieces {"output":...} until the line that carries "exit".
  for (;;) {
    std::size_t n = asio::read_until(s, buf, '\n', ec);
    if (ec && n == 0) {
      if (ec == asio::error::eof)
        return fail(errc::io_error, socket_path + ": the daemon closed the answer early");
      return fail(errc::io_error, socket_path + ": " + ec.message());
    }
    std::string text(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
    buf.consume(n);
    try {
      auto j = json::parse(text);
      std::string piece = j.value("output", "");
      if (on_output) {
        if (!piece.empty()) on_output(piece);
      } else {
        out.output += piece;
      }
      if (j.contains("exit")) {
        out.exit = j.value("exit", 1);
        out.error = j.value("error", "");
        return out;
      }
    } catch (const std::exception& e) {
      return fail(errc::parse_error, socket_path + ": bad answer: " + e.what());
    }
  }
}

control_response handle_control(server& srv, const control_request& req) {
  if (req.cmd == "status") return {0, admin::to_json(admin::status(srv)).dump() + "\n", ""};
  if (is_quarantine_cmd(req.cmd)) {
    if (auto bad = check_ids(req)) return *bad;
    auto* h = srv.history();
    if (!h) return error_response(2, "quarantine: the history is disabled in this daemon");
    h->flush();  // blocking, for tests: the socket reads on the writer thread (serve)
    auto found = admin::read_entries(h->reader(), req.args);
    auto items = admin::quarantine_apply(srv, quarantine_op_of(req), req.args, found,
                                         quarantine_by(req), "control-socket");
    // Issue 14: a release another host carries out, written before it is said pending.
    for (std::size_t i = 0; i < items.size() && i < found.size(); ++i) {
      if (items[i].pending_host.empty()) continue;
      auto err = request_remote_release_now(h->reader(), **found[i], quarantine_by(req),
                                            static_cast<std::int64_t>(std::time(nullptr)));
      if (!err.empty()) admin::release_not_requested(items[i], err);
    }
    return render_items(items, quarantine_word(req));
  }
  auto qs = admin::selected_queues(srv, req.queue);
  if (qs.empty()) return error_response(2, "no queue '" + req.queue + "' in this daemon");
  if (req.cmd == "list") {
    // The socket streams (stream_list); this one-shot form is for tests.
    std::vector<const queue::queue_dir*> cqs(qs.begin(), qs.end());
    queue::list_stream ls(std::move(cqs), req.json);
    std::string out;
    while (!ls.done()) {
      auto piece = ls.next();
      if (!piece) return error_response(1, piece.error().message);
      out += *piece;
    }
    return {ls.unreadable() ? 1 : 0, std::move(out), ""};
  }
  if (req.cmd == "show") {
    if (req.args.empty()) return error_response(2, req.cmd + ": a queue id is needed");
    if (auto id = queue::queue_id::parse(req.args[0]); !id)
      return error_response(2, id.error().message);
    auto m = admin::queue_show(srv, req.args[0], req.queue, req.body);
    if (!m) return error_response(1, m.error().message);
    // As the offline CLI prints it (src/cli/queue.cpp): with the queue's path.
    std::string out;
    if (req.json) {
      json j = queue::to_json(m->env);
      j["queue"] = m->queue;
      if (m->text) j["body"] = *m->text;
      out = queue::json_text(j);
    } else {
      out = queue::format_show(m->env);
      out += fmt::format("{:<13} {}\n", "queue:", m->queue);
      if (m->text) out += "\n" + *m->text;
    }
    return {0, out, ""};
  }
  if (req.cmd == "hold" || req.cmd == "release" || req.cmd == "delete") {
    if (req.args.empty()) return error_response(2, req.cmd + ": a queue id is needed");
    const admin::queue_op op = req.cmd == "hold"      ? admin::queue_op::hold
                               : req.cmd == "release" ? admin::queue_op::release
                                                      : admin::queue_op::remove;
    auto items = admin::queue_act(srv, op, req.args, req.queue, "control-socket", "control-socket");
    if (!items) return error_response(2, items.error().message);
    control_response r = render_items(*items, req.cmd == "delete" ? "deleted"
                                              : req.cmd == "hold" ? "held"
                                                                  : "released");
    if (req.json) {
      // The offline CLI's output (src/cli/queue.cpp).
      json jout = json::array();
      for (const auto& i : *items) {
        if (!i.ok) continue;
        if (req.cmd == "delete")
          jout.push_back({{"id", i.id}, {"deleted", true}});
        else
          jout.push_back({{"id", i.id}, {"mode", i.mode}});
      }
      r.output = queue::json_text(jout);
    }
    return r;
  }
  return error_response(2, "unknown control command '" + req.cmd + "'");
}

control_server::control_server(asio::io_context& io, server& srv) : io_(io), srv_(srv) {}

control_server::~control_server() {
  stop();
}

result<void> control_server::start(const std::string& path) {
  path_ = path;
  std::error_code fec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), fec);
  // A socket file left by a killed daemon: remove it if nobody answers there.
  if (std::filesystem::exists(path)) {
    asio::error_code ec;
    stream_protocol::socket probe(io_);
    probe.connect(stream_protocol::endpoint(path), ec);
    if (!ec) return fail(errc::temporary, path + ": another mxguard serve is running");
    ::unlink(path.c_str());
  }
  acceptor_ = std::make_unique<stream_protocol::acceptor>(io_);
  asio::error_code ec;
  mode_t old = ::umask(0077);
  acceptor_->open(stream_protocol(), ec);
  if (!ec) acceptor_->bind(stream_protocol::endpoint(path), ec);
  ::umask(old);
  if (!ec) acceptor_->listen(16, ec);
  if (ec) return fail(errc::io_error, "control socket " + path + ": " + ec.message());
  asio::co_spawn(io_, accept_loop(), log_escape("control accept loop"));
  return {};
}

void control_server::stop() {
  if (acceptor_ && acceptor_->is_open()) {
    asio::error_code ec;
    acceptor_->close(ec);
    ::unlink(path_.c_str());
  }
}

asio::awaitable<void> control_server::accept_loop() {
  for (;;) {
    asio::error_code ec;
    stream_protocol::socket s =
        co_await acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_->is_open()) co_return;
      continue;
    }
    asio::co_spawn(io_, serve(std::move(s)), log_escape("control connection"));
  }
}

asio::awaitable<void> control_server::serve(stream_protocol::socket s) {
  asio::streambuf buf(kControlRequestMax);
  asio::error_code ec;
  co_await asio::async_read_until(s, buf, '\n', asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  std::string text(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
  control_response resp;
  try {
    auto j = json::parse(text);
    control_request req;
    req.cmd = j.value("cmd", "");
    req.args = j.value("args", std::vector<std::string>{});
    req.queue = j.value("queue", "");
    req.json = j.value("json", false);
    req.body = j.value("body", false);
    req.by = j.value("by", "");
    req.note = j.value("note", "");
    if (is_request_cmd(req.cmd)) {
      auto id = request_id_of(req);
      if (!id) {
        resp = error_response(2, req.cmd + ": one request id (a number) is needed");
      } else if (req.cmd == "quarantine-approve") {
        auto pending = admin::request_approve(srv_, *id, quarantine_by(req), "control-socket");
        resp = render_decision(co_await std::move(pending), "approved");
      } else {
        auto pending =
            admin::request_deny(srv_, *id, quarantine_by(req), req.note, "control-socket");
        resp = render_decision(co_await std::move(pending), "denied");
      }
    } else if (is_quarantine_cmd(req.cmd) && !check_ids(req) && srv_.history()) {
      // The index is read on the history writer's thread (admin::quarantine_act).
      auto pending = admin::quarantine_act(srv_, quarantine_op_of(req), req.args,
                                           quarantine_by(req), "control-socket");
      auto items = co_await std::move(pending);
      resp = items ? render_items(*items, quarantine_word(req))
                   : error_response(2, items.error().message);
    } else if (req.cmd == "list") {
      co_await stream_list(s, req);
      co_return;
    } else if (req.cmd == "run") {
      // Deliveries are asynchronous: the run is awaited here, not in handle_control.
      auto pending = admin::queue_run(srv_, req.queue, req.args);
      auto out = co_await std::move(pending);
      resp =
          out ? control_response{0, std::move(*out), ""} : error_response(2, out.error().message);
    } else {
      resp = handle_control(srv_, req);
    }
  } catch (const std::exception& e) {
    resp = error_response(2, std::string("bad request: ") + e.what());
  }
  std::string out = frame(resp);
  co_await asio::async_write(s, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> control_server::stream_list(stream_protocol::socket& s,
                                                  const control_request& req) {
  asio::error_code ec;
  auto qs = admin::selected_queues(srv_, req.queue);
  if (qs.empty()) {
    std::string out = frame(error_response(2, "no queue '" + req.queue + "' in this daemon"));
    co_await asio::async_write(s, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }
  // The queue_dir objects live as long as the server (kept across reloads).
  // XXX: a piece still being read when the server is destroyed at exit would read a
  // destroyed queue_dir; the same holds for every net::offload of the delivery. A
  // server that waited for its offloaded calls before destruction would fix both.
  std::vector<const queue::queue_dir*> cqs(qs.begin(), qs.end());
  auto ls = std::make_shared<queue::list_stream>(std::move(cqs), req.json);
  auto step = [ls] { return ls->next(); };
  const auto started = std::chrono::steady_clock::now();
  std::size_t pieces = 0;
  for (;;) {
    result<std::string> piece = co_await net::offload(step);
    std::string out;
    if (!piece)
      out = frame(error_response(1, piece.error().message));
    else if (ls->done())
      out = frame(control_response{ls->unreadable() ? 1 : 0, std::move(*piece), ""});
    else
      out = json{{"output", *piece}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    co_await asio::async_write(s, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
    ++pieces;
    if (ec || !piece || ls->done()) break;  // a client gone away ends the listing
  }
  spdlog::info("queue list via=control-socket messages={} unreadable={} pieces={} ms={}{}",
               ls->messages(), ls->unreadable(), pieces,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count(),
               ec ? " client_gone=1" : "");
}

}  // namespace mxg::gateway
