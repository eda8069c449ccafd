// history_spool.cpp: see history_spool.hpp.
#include "gateway/history_spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace mxg::gateway {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::unexpected<error> io_fail(const fs::path& p, const std::string& what) {
  return fail(errc::io_error,
              "history spool " + p.string() + ": " + what + ": " + std::strerror(errno));
}

json decisions_json(const std::vector<store::decision_record>& v) {
  json a = json::array();
  for (const auto& d : v) a.push_back({d.check, d.action, d.rule, d.monitor, d.would, d.reason});
  return a;
}

// The value of `key` as the type of `like` (throws on a missing key or another type).
template <typename T>
T get(const json& j, const char* key, const T& /*like*/) {
  return j.at(key).get<T>();
}

}  // namespace

std::string to_spool_line(const spooled_op& op) {
  json j;
  if (const auto* m = std::get_if<store::message_record>(&op)) {
    json dk = json::array();
    for (const auto& k : m->dkim) dk.push_back({k.domain, k.selector, k.result, k.reason});
    j = {{"op", "record"},
         {"time", m->time},
         {"dir", to_string(m->dir)},
         {"queue_id", m->queue_id},
         {"listener", m->listener},
         {"client_ip", m->client_ip},
         {"helo", m->helo},
         {"sender", m->sender},
         {"recipients", m->recipients},
         {"message_id", m->message_id},
         {"subject", m->subject},
         {"spf_result", m->spf_result},
         {"decision", m->decision},
         {"reason", m->reason},
         {"spf_identity", m->spf_identity},
         {"spf_domain", m->spf_domain},
         {"spf_mechanism", m->spf_mechanism},
         {"rule", m->rule},
         {"reply", m->reply},
         {"size", m->size},
         {"decisions", decisions_json(m->decisions)},
         {"header_from", m->header_from},
         {"dmarc_result", m->dmarc_result},
         {"dmarc_policy", m->dmarc_policy},
         {"dmarc_policy_domain", m->dmarc_policy_domain},
         {"dmarc_record", m->dmarc_record},
         {"dmarc_dkim_aligned", m->dmarc_dkim_aligned},
         {"dmarc_spf_aligned", m->dmarc_spf_aligned},
         {"arc_result", m->arc_result},
         {"dkim", dk},
         {"uid", m->uid},
         {"host", m->host}};
  } else if (const auto* q = std::get_if<store::quarantine_entry>(&op)) {
    j = {{"op", "quarantine"},
         {"queue_id", q->queue_id},
         {"time", q->time},
         {"sender", q->sender},
         {"recipients", q->recipients},
         {"subject", q->subject},
         {"reason", q->reason},
         {"released_at", q->released_at ? json(*q->released_at) : json(nullptr)},
         {"released_by", q->released_by},
         {"check", q->check},
         {"rule", q->rule},
         {"spf_result", q->spf_result},
         {"spf_identity", q->spf_identity},
         {"spf_domain", q->spf_domain},
         {"client_ip", q->client_ip},
         {"helo", q->helo},
         {"listener", q->listener},
         {"queue_dir", q->queue_dir},
         {"size", q->size},
         {"deleted_at", q->deleted_at ? json(*q->deleted_at) : json(nullptr)},
         {"deleted_by", q->deleted_by},
         {"host", q->host}};
  } else {
    const auto& r = std::get<spooled_release>(op);
    j = {{"op", r.release ? "release" : "delete"},
         {"queue_id", r.queue_id},
         {"by", r.by},
         {"when", r.when}};
  }
  // Invalid UTF-8 from a peer is replaced, never a throw on the writer thread.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

result<spooled_op> from_spool_line(const std::string& line) {
  try {
    json j = json::parse(line);
    const std::string op = j.at("op").get<std::string>();
    auto opt_int = [&](const char* k) -> std::optional<std::int64_t> {
      if (!j.contains(k) || j[k].is_null()) return std::nullopt;
      return j[k].get<std::int64_t>();
    };
    if (op == "record") {
      store::message_record m;
      m.time = get(j, "time", m.time);
      m.dir = j.at("dir") == "outbound" ? store::direction::outbound : store::direction::inbound;
      m.queue_id = get(j, "queue_id", m.queue_id);
      m.listener = get(j, "listener", m.listener);
      m.client_ip = get(j, "client_ip", m.client_ip);
      m.helo = get(j, "helo", m.helo);
      m.sender = get(j, "sender", m.sender);
      m.recipients = j.at("recipients").get<std::vector<std::string>>();
      m.message_id = get(j, "message_id", m.message_id);
      m.subject = get(j, "subject", m.subject);
      m.spf_result = get(j, "spf_result", m.spf_result);
      m.decision = get(j, "decision", m.decision);
      m.reason = get(j, "reason", m.reason);
      m.spf_identity = get(j, "spf_identity", m.spf_identity);
      m.spf_domain = get(j, "spf_domain", m.spf_domain);
      m.spf_mechanism = get(j, "spf_mechanism", m.spf_mechanism);
      m.rule = get(j, "rule", m.rule);
      m.reply = get(j, "reply", m.reply);
      m.size = get(j, "size", m.size);
      for (const auto& d : j.at("decisions"))
        m.decisions.push_back({d.at(0).get<std::string>(), d.at(1).get<std::string>(),
                               d.at(2).get<std::string>(), d.at(3).get<bool>(),
                               d.at(4).get<std::string>(), d.at(5).get<std::string>()});
      m.header_from = get(j, "header_from", m.header_from);
      m.dmarc_result = get(j, "dmarc_result", m.dmarc_result);
      m.dmarc_policy = get(j, "dmarc_policy", m.dmarc_policy);
      m.dmarc_policy_domain = get(j, "dmarc_policy_domain", m.dmarc_policy_domain);
      m.dmarc_record = get(j, "dmarc_record", m.dmarc_record);
      m.dmarc_dkim_aligned = get(j, "dmarc_dkim_aligned", m.dmarc_dkim_aligned);
      m.dmarc_spf_aligned = get(j, "dmarc_spf_aligned", m.dmarc_spf_aligned);
      m.arc_result = get(j, "arc_result", m.arc_result);
      for (const auto& k : j.at("dkim"))
        m.dkim.push_back({k.at(0).get<std::string>(), k.at(1).get<std::string>(),
                          k.at(2).get<std::string>(), k.at(3).get<std::string>()});
      m.uid = get(j, "uid", m.uid);
      m.host = get(j, "host", m.host);
      return spooled_op(std::move(m));
    }
    if (op == "quarantine") {
      store::quarantine_entry q;
      q.queue_id = get(j, "queue_id", q.queue_id);
      q.time = get(j, "time", q.time);
      q.sender = get(j, "sender", q.sender);
      q.recipients = get(j, "recipients", q.recipients);
      q.subject = get(j, "subject", q.subject);
      q.reason = get(j, "reason", q.reason);
      q.released_at = opt_int("released_at");
      q.released_by = get(j, "released_by", q.released_by);
      q.check = get(j, "check", q.check);
      q.rule = get(j, "rule", q.rule);
      q.spf_result = get(j, "spf_result", q.spf_result);
      q.spf_identity = get(j, "spf_identity", q.spf_identity);
      q.spf_domain = get(j, "spf_domain", q.spf_domain);
      q.client_ip = get(j, "client_ip", q.client_ip);
      q.helo = get(j, "helo", q.helo);
      q.listener = get(j, "listener", q.listener);
      q.queue_dir = get(j, "queue_dir", q.queue_dir);
      q.size = get(j, "size", q.size);
      q.deleted_at = opt_int("deleted_at");
      q.deleted_by = get(j, "deleted_by", q.deleted_by);
      q.host = get(j, "host", q.host);
      return spooled_op(std::move(q));
    }
    if (op == "release" || op == "delete")
      return spooled_op(spooled_release{j.at("queue_id").get<std::string>(),
                                        j.at("by").get<std::string>(),
                                        j.at("when").get<std::int64_t>(), op == "release"});
    return fail(errc::parse_error, "history spool: unknown op '" + op + "'");
  } catch (const std::exception& e) {
    return fail(errc::parse_error, std::string("history spool: bad line: ") + e.what());
  }
}

result<std::unique_ptr<history_spool>> history_spool::open(const fs::path& dir, std::size_t max) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::io_error, "history spool " + dir.string() + ": " + ec.message());
  std::unique_ptr<history_spool> s(new history_spool(dir, max));
  if (auto r = s->load(); !r) return std::unexpected(r.error());
  return s;
}

result<void> history_spool::load() {
  head_ = 0;
  if (std::ifstream h(dir_ / "spool.head"); h) h >> head_;
  std::ifstream f(dir_ / "spool.jsonl", std::ios::binary);
  std::string line;
  std::uint64_t pos = 0;
  count_ = 0;
  while (f && std::getline(f, line)) {
    if (f.eof()) break;  // a last line without its newline (a crash mid-write): ignored
    pos += line.size() + 1;
    if (pos > head_) ++count_;
  }
  end_ = pos;
  if (head_ > end_) head_ = end_;
  // Cut a torn last line so the next append starts on a line of its own.
  std::error_code ec;
  if (fs::exists(dir_ / "spool.jsonl", ec) && fs::file_size(dir_ / "spool.jsonl", ec) != end_)
    fs::resize_file(dir_ / "spool.jsonl", end_, ec);
  return {};
}

result<std::size_t> history_spool::append(const std::vector<std::string>& lines) {
  std::string buf;
  std::size_t kept = 0;
  for (const auto& l : lines) {
    if (count_ + kept >= max_) {
      ++dropped_;
      continue;
    }
    buf += l;
    buf += '\n';
    ++kept;
  }
  if (buf.empty()) return kept;
  auto p = dir_ / "spool.jsonl";
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return io_fail(p, "open");
  std::size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = ::write(fd, buf.data() + off, buf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto e = io_fail(p, "write");
      ::close(fd);
      // A partial line is cut at the next load(); the count stays what is whole.
      return e;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    auto e = io_fail(p, "fdatasync");
    ::close(fd);
    return e;
  }
  ::close(fd);
  end_ += buf.size();
  count_ += kept;
  return kept;
}

result<std::vector<std::string>> history_spool::front(std::size_t n) {
  std::vector<std::string> out;
  next_.clear();
  if (count_ == 0) return out;
  std::ifstream f(dir_ / "spool.jsonl", std::ios::binary);
  if (!f) return io_fail(dir_ / "spool.jsonl", "open");
  f.seekg(static_cast<std::streamoff>(head_));
  std::string line;
  std::uint64_t pos = head_;
  while (out.size() < n && pos < end_ && std::getline(f, line)) {
    pos += line.size() + 1;
    next_.push_back(pos);
    out.push_back(std::move(line));
  }
  return out;
}

result<void> history_spool::pop(std::size_t n) {
  if (n == 0) return {};
  if (n > next_.size()) return fail(errc::internal, "history spool: pop beyond front()");
  head_ = next_[n - 1];
  count_ -= std::min(count_, n);
  next_.clear();
  if (count_ == 0 || head_ >= end_) {
    // Everything replayed: start both files again.
    std::error_code ec;
    fs::resize_file(dir_ / "spool.jsonl", 0, ec);
    head_ = end_ = 0;
    count_ = 0;
  }
  return write_head();
}

result<void> history_spool::write_head() {
  auto tmp = dir_ / "spool.head.tmp";
  {
    std::ofstream h(tmp, std::ios::trunc);
    h << head_ << '\n';
    if (!h) return io_fail(tmp, "write");
  }
  std::error_code ec;
  fs::rename(tmp, dir_ / "spool.head", ec);
  if (ec) return fail(errc::io_error, "history spool: " + ec.message());
  return {};
}

}  // namespace mxg::gateway
