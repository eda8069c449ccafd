// control.cpp: see control.hpp. Requests run on the io thread; queue operations are
// short blocking file operations (one control file rewrite), acceptable for an admin
// command. Security: request lines are capped at kControlRequestMax; the socket file
// is created 0600 (umask around bind).
#include "gateway/control.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>

#include "gateway/history_writer.hpp"
#include "gateway/server.hpp"
#include "queue/report.hpp"

namespace mxg::gateway {

using asio::local::stream_protocol;
using json = nlohmann::json;

std::string control_socket_path(const std::string& state_dir) {
  return state_dir + "/control.sock";
}

namespace {

json to_json(const control_request& r) {
  return json{
      {"cmd", r.cmd}, {"args", r.args}, {"queue", r.queue}, {"json", r.json}, {"body", r.body}};
}

control_response error_response(int code, std::string msg) {
  return control_response{code, "", std::move(msg)};
}

}  // namespace

result<control_response> control_call(const std::string& socket_path, const control_request& req) {
  asio::io_context io;
  stream_protocol::socket s(io);
  asio::error_code ec;
  s.connect(stream_protocol::endpoint(socket_path), ec);
  if (ec) return fail(errc::not_found, socket_path + ": no daemon (" + ec.message() + ")");
  std::string line = to_json(req).dump() + "\n";
  asio::write(s, asio::buffer(line), ec);
  if (ec) return fail(errc::io_error, socket_path + ": " + ec.message());
  asio::streambuf buf;
  asio::read_until(s, buf, '\n', ec);
  if (ec && buf.size() == 0) return fail(errc::io_error, socket_path + ": " + ec.message());
  std::string text(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
  try {
    auto j = json::parse(text);
    return control_response{j.value("exit", 1), j.value("output", ""), j.value("error", "")};
  } catch (const std::exception& e) {
    return fail(errc::parse_error, socket_path + ": bad answer: " + e.what());
  }
}

control_response handle_control(server& srv, const control_request& req) {
  if (req.cmd == "status") {
    json j{{"sessions", srv.stats().sessions},
           {"refused_sessions", srv.stats().refused_sessions},
           {"messages", srv.stats().messages},
           {"queue_errors", srv.stats().queue_errors},
           {"draining", srv.draining()}};
    if (auto* h = srv.history()) {
      auto hs = h->stats();
      j["history"] = {{"path", h->path()},
                      {"written", hs.written},
                      {"failed", hs.failed},
                      {"dropped", hs.dropped},
                      {"batches", hs.batches}};
    }
    return {0, j.dump() + "\n", ""};
  }
  queue::queue_dir* q = srv.find_queue(req.queue);
  if (!q) return error_response(2, "no queue '" + req.queue + "' in this daemon");
  auto need_id = [&](std::size_t i) -> result<queue::queue_id> {
    if (i >= req.args.size())
      return fail(errc::invalid_argument, req.cmd + ": a queue id is needed");
    return queue::queue_id::parse(req.args[i]);
  };
  if (req.cmd == "list") {
    auto l = q->list();
    if (!l) return error_response(1, l.error().message);
    // json_text: peer-supplied text may hold invalid UTF-8; dump() would throw.
    return {0, req.json ? queue::json_text(queue::to_json(*l)) : queue::format_list(*l), ""};
  }
  if (req.cmd == "show") {
    auto id = need_id(0);
    if (!id) return error_response(2, id.error().message);
    auto env = q->load(*id);
    if (!env) return error_response(1, env.error().message);
    std::string out;
    if (req.json) {
      json j = queue::to_json(*env);
      if (req.body) {
        auto d = q->read_data(*id);
        if (d) j["body"] = *d;
      }
      out = j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    } else {
      out = queue::format_show(*env);
      if (req.body) {
        auto d = q->read_data(*id);
        if (!d) return error_response(1, d.error().message);
        out += "\n" + *d;
      }
    }
    return {0, out, ""};
  }
  if (req.cmd == "hold" || req.cmd == "release" || req.cmd == "delete") {
    int exit = 0;
    std::string out, err;
    if (req.args.empty()) return error_response(2, req.cmd + ": a queue id is needed");
    for (std::size_t i = 0; i < req.args.size(); ++i) {
      auto id = need_id(i);
      if (!id) {
        err += id.error().message + "\n";
        exit = 1;
        continue;
      }
      result<void> r;
      if (req.cmd == "hold") {
        auto e = q->hold(*id);
        if (!e) r = std::unexpected(e.error());
      } else if (req.cmd == "release") {
        bool was_quarantined = false;
        auto e = q->release(*id, &was_quarantined);
        if (!e) {
          r = std::unexpected(e.error());
        } else {
          // A quarantined message: the quarantine index says released too.
          if (was_quarantined) {
            if (auto* h = srv.history())
              h->quarantine_release(id->str(), "control-socket",
                                    static_cast<std::int64_t>(std::time(nullptr)));
            spdlog::info("quarantine released qid={}", id->str());
          }
          srv.message_released(*q, id->str());
        }
      } else {
        r = q->remove(*id);
      }
      if (!r) {
        err += r.error().message + "\n";
        exit = 1;
      } else {
        out += id->str() + ": " +
               (req.cmd == "delete" ? "deleted"
                : req.cmd == "hold" ? "held"
                                    : "released") +
               "\n";
        spdlog::info("{} qid={} via=control-socket", req.cmd, id->str());
      }
    }
    return {exit, out, err};
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
  asio::co_spawn(io_, accept_loop(), asio::detached);
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
    asio::co_spawn(io_, serve(std::move(s)), asio::detached);
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
    if (req.cmd == "run") {
      // Deliveries are asynchronous: the run is awaited here, not in handle_control.
      queue::queue_dir* q = srv_.find_queue(req.queue);
      bool ok = q != nullptr;
      for (auto& a : req.args) ok = ok && queue::queue_id::valid(a);
      if (!ok)
        resp = error_response(2, "run: unknown queue or bad queue id");
      else {
        // Name the awaited value first: g++ 12 miscompiles co_await inside a braced
        // initializer (the output came back as garbage bytes).
        std::string out = co_await srv_.queue_run(*q, req.args);
        resp = control_response{0, std::move(out), ""};
      }
    } else {
      resp = handle_control(srv_, req);
    }
  } catch (const std::exception& e) {
    resp = error_response(2, std::string("bad request: ") + e.what());
  }
  std::string out = json{{"exit", resp.exit}, {"output", resp.output}, {"error", resp.error}}.dump(
                        -1, ' ', false, json::error_handler_t::replace) +
                    "\n";
  co_await asio::async_write(s, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace mxg::gateway
