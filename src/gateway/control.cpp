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
  return json{{"cmd", r.cmd},   {"args", r.args}, {"queue", r.queue},
              {"json", r.json}, {"body", r.body}, {"by", r.by}};
}

control_response error_response(int code, std::string msg) {
  return control_response{code, "", std::move(msg)};
}

bool is_quarantine_cmd(const std::string& cmd) {
  return cmd == "quarantine-release" || cmd == "quarantine-delete";
}

// The index entries of the ids, in order (read on whichever thread calls it).
using found_entries = std::vector<result<std::optional<store::quarantine_entry>>>;
found_entries read_entries(const store::history& db, const std::vector<std::string>& ids) {
  found_entries out;
  for (const auto& id : ids) out.push_back(db.quarantine_get(id));
  return out;
}

// quarantine-release / quarantine-delete once the entries are read (io thread).
control_response quarantine_apply(server& srv, const control_request& req,
                                  const found_entries& found) {
  history_writer* hw = srv.history();
  if (!hw) return error_response(2, "quarantine: the history is disabled in this daemon");
  const bool release = req.cmd == "quarantine-release";
  const std::string by = req.by.empty() ? "control-socket" : req.by;
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::vector<queue::queue_dir*> all;
  for (auto& [path, q] : srv.queues()) all.push_back(q.get());
  int exit = 0;
  std::string out, err;
  for (std::size_t i = 0; i < req.args.size(); ++i) {
    const std::string& id = req.args[i];
    const auto& e = found[i];
    if (!e || !*e) {
      err += (e ? id + ": not in the quarantine" : e.error().message) + "\n";
      exit = 1;
      continue;
    }
    // Issue 14: another gateway holds it: a work item for that host, shown as pending.
    if (release && quarantine_entry_open(**e) &&
        request_remote_release(*hw, **e, by, now, srv.io().get_executor())) {
      out += id + ": release pending on host " + (*e)->host + "\n";
      continue;
    }
    // XXX: deletes are not carried to the owner (its queued body would stay): refused.
    if (!release && !(*e)->host.empty() && (*e)->host != hw->host_id() &&
        quarantine_entry_open(**e)) {
      err += id + ": held by host " + (*e)->host + ": delete it there\n";
      exit = 1;
      continue;
    }
    queue::queue_dir* q = quarantine_queue(
        **e, [&](const std::string& w) { return srv.find_queue(w); }, all);
    // Already released or deleted: said so first, whatever the queue holds now.
    result<void> r = quarantine_entry_open(**e);
    if (r && !q && release)
      r = fail(errc::not_found, id + ": no queue of this daemon holds it");
    else if (r && q)
      r = quarantine_queue_op(*q, **e, release ? quarantine_op::release : quarantine_op::remove);
    if (!r) {
      err += r.error().message + "\n";
      exit = 1;
      continue;
    }
    if (release) {
      hw->quarantine_release(id, by, now);
      srv.message_released(*q, id);
    } else {
      hw->quarantine_delete(id, by, now);
    }
    spdlog::info("quarantine {} qid={} by={} via=control-socket", release ? "released" : "deleted",
                 id, by);
    out += id + (release ? ": released\n" : ": deleted\n");
  }
  return {exit, out, err};
}

// The queues a request covers: the named one, or every queue of the daemon (by path,
// so a queue shared by listeners comes once; in path order, as the offline CLI lists).
std::vector<queue::queue_dir*> selected_queues(server& srv, const std::string& which) {
  std::vector<queue::queue_dir*> out;
  if (!which.empty()) {
    if (auto* q = srv.find_queue(which)) out.push_back(q);
    return out;
  }
  for (auto& [path, q] : srv.queues()) out.push_back(q.get());
  return out;
}

// The queue among qs that holds the message (its control file exists), else the first
// (whose operation then reports it missing).
queue::queue_dir* queue_of(const std::vector<queue::queue_dir*>& qs, const queue::queue_id& id) {
  for (auto* q : qs) {
    std::error_code ec;
    if (std::filesystem::exists(q->control_path(id), ec)) return q;
  }
  return qs.empty() ? nullptr : qs.front();
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
  if (req.cmd == "status") {
    json j{{"sessions", srv.stats().sessions},
           {"refused_sessions", srv.stats().refused_sessions},
           {"messages", srv.stats().messages},
           {"queue_errors", srv.stats().queue_errors},
           {"draining", srv.draining()}};
    // Issue 16 item 1: "accepting but not delivering" is visible here.
    const auto d = srv.delivery_status();
    j["delivery"] = {
        {"state", d.on ? "on" : "off"}, {"routing_table", d.routing_table}, {"rules", d.rules}};
    if (!d.on) j["delivery"]["reason"] = d.reason;
    if (auto* h = srv.history()) {
      auto hs = h->stats();
      j["history"] = {
          {"path", h->path()},     {"written", hs.written},   {"failed", hs.failed},
          {"dropped", hs.dropped}, {"batches", hs.batches},   {"backend", srv.cfg().store.backend},
          {"host", h->host_id()},  {"db_up", hs.db_up},       {"spool_backlog", hs.spool_backlog},
          {"spooled", hs.spooled}, {"replayed", hs.replayed}, {"spool_dropped", hs.spool_dropped}};
    }
    return {0, j.dump() + "\n", ""};
  }
  if (is_quarantine_cmd(req.cmd)) {
    if (auto bad = check_ids(req)) return *bad;
    auto* h = srv.history();
    if (!h) return error_response(2, "quarantine: the history is disabled in this daemon");
    h->flush();  // blocking, for tests: the socket reads on the writer thread (serve)
    return quarantine_apply(srv, req, read_entries(h->reader(), req.args));
  }
  auto qs = selected_queues(srv, req.queue);
  if (qs.empty()) return error_response(2, "no queue '" + req.queue + "' in this daemon");
  auto need_id = [&](std::size_t i) -> result<queue::queue_id> {
    if (i >= req.args.size())
      return fail(errc::invalid_argument, req.cmd + ": a queue id is needed");
    return queue::queue_id::parse(req.args[i]);
  };
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
    auto id = need_id(0);
    if (!id) return error_response(2, id.error().message);
    queue::queue_dir* q = queue_of(qs, *id);
    auto env = q->load(*id);
    if (!env) return error_response(1, env.error().message);
    // As the offline CLI prints it (src/cli/queue.cpp): with the queue's path.
    std::string out;
    if (req.json) {
      json j = queue::to_json(*env);
      j["queue"] = q->path().string();
      if (req.body) {
        auto d = q->read_data(*id);
        if (!d) return error_response(1, d.error().message);
        j["body"] = queue::message_text(*env, std::move(*d));
      }
      out = queue::json_text(j);
    } else {
      out = queue::format_show(*env);
      out += fmt::format("{:<13} {}\n", "queue:", q->path().string());
      if (req.body) {
        auto d = q->read_data(*id);
        if (!d) return error_response(1, d.error().message);
        out += "\n" + queue::message_text(*env, std::move(*d));
      }
    }
    return {0, out, ""};
  }
  if (req.cmd == "hold" || req.cmd == "release" || req.cmd == "delete") {
    int exit = 0;
    std::string out, err;
    json jout = json::array();
    if (req.args.empty()) return error_response(2, req.cmd + ": a queue id is needed");
    for (std::size_t i = 0; i < req.args.size(); ++i) {
      auto id = need_id(i);
      if (!id) {
        err += id.error().message + "\n";
        exit = 1;
        continue;
      }
      queue::queue_dir* q = queue_of(qs, *id);
      result<void> r;
      std::string mode;
      if (req.cmd == "hold") {
        auto e = q->hold(*id);
        if (!e)
          r = std::unexpected(e.error());
        else
          mode = queue::to_string(e->mode);
      } else if (req.cmd == "release") {
        bool was_quarantined = false;
        auto e = q->release(*id, &was_quarantined);
        if (!e) {
          r = std::unexpected(e.error());
        } else {
          mode = queue::to_string(e->mode);
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
        // The offline CLI's output (src/cli/queue.cpp).
        if (req.cmd == "delete")
          jout.push_back({{"id", id->str()}, {"deleted", true}});
        else
          jout.push_back({{"id", id->str()}, {"mode", mode}});
        out += id->str() + ": " +
               (req.cmd == "delete" ? "deleted"
                : req.cmd == "hold" ? "held"
                                    : "released") +
               "\n";
        spdlog::info("{} qid={} via=control-socket", req.cmd, id->str());
      }
    }
    if (req.json) out = queue::json_text(jout);
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
    history_writer* hw = srv_.history();
    if (is_quarantine_cmd(req.cmd) && !check_ids(req) && hw) {
      // The index is read on the history writer's thread, after the writes queued so
      // far (a release just recorded is seen); the queue work is back on this thread.
      auto ids = req.args;
      auto read = [ids](store::history& db) { return read_entries(db, ids); };
      found_entries fallback;
      for (std::size_t i = 0; i < ids.size(); ++i)
        fallback.push_back(fail(errc::temporary, "history queue full: try again"));
      // Named steps: g++ 12 mishandles temporaries in a co_await's argument list.
      asio::any_io_executor ex = co_await asio::this_coro::executor;
      auto pending = hw->async_call(read, std::move(fallback), ex, asio::use_awaitable);
      found_entries found = co_await std::move(pending);
      resp = quarantine_apply(srv_, req, found);
    } else if (req.cmd == "list") {
      co_await stream_list(s, req);
      co_return;
    } else if (req.cmd == "run") {
      // Deliveries are asynchronous: the run is awaited here, not in handle_control.
      // Without a queue name: every queue, each with the given ids it holds (ids held
      // by none go to the first, whose run reports them).
      auto qs = selected_queues(srv_, req.queue);
      bool ok = !qs.empty();
      for (auto& a : req.args) ok = ok && queue::queue_id::valid(a);
      if (!ok) {
        resp = error_response(2, "run: unknown queue or bad queue id");
      } else {
        std::vector<std::vector<std::string>> per(qs.size());
        for (auto& a : req.args) {
          auto* q = queue_of(qs, *queue::queue_id::parse(a));
          for (std::size_t i = 0; i < qs.size(); ++i)
            if (qs[i] == q) per[i].push_back(a);
        }
        std::string out;
        for (std::size_t i = 0; i < qs.size(); ++i) {
          if (!req.args.empty() && per[i].empty()) continue;
          // Name the awaited value first: g++ 12 miscompiles co_await inside a braced
          // initializer (the output came back as garbage bytes).
          std::string part = co_await srv_.queue_run(*qs[i], std::move(per[i]));
          out += part;
        }
        resp = control_response{0, std::move(out), ""};
      }
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
  auto qs = selected_queues(srv_, req.queue);
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
