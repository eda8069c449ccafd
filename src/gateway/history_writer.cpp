// history_writer.cpp: see history_writer.hpp.
#include "gateway/history_writer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "base/ascii.hpp"
#include "base/thread_name.hpp"
#include "store/postgres.hpp"

namespace mxg::gateway {

result<std::unique_ptr<history_writer>> history_writer::open(const std::string& path) {
  store::options o;
  o.path = path;
  return open(o, "", "", 0);
}

result<std::unique_ptr<history_writer>> history_writer::open(const store::options& o,
                                                             std::string host_id,
                                                             const std::string& spool_dir,
                                                             std::size_t spool_max) {
  // With a spool, PostgreSQL may be away at start too: records wait on disk.
  auto open_one = [&] {
    return o.backend == "postgresql" && !spool_dir.empty() ? store::open_postgresql_lazy(o.dsn)
                                                           : store::open(o);
  };
  auto w = open_one();
  if (!w) return std::unexpected(w.error());
  auto r = open_one();
  if (!r) return std::unexpected(r.error());
  std::unique_ptr<history_spool> spool;
  if (!spool_dir.empty()) {
    auto s = history_spool::open(spool_dir, spool_max);
    if (!s) return std::unexpected(s.error());
    spool = std::move(*s);
  }
  std::string what = o.backend == "sqlite" ? o.path : o.backend;
  return std::unique_ptr<history_writer>(new history_writer(
      std::move(what), std::move(*w), std::move(*r), std::move(host_id), std::move(spool)));
}

history_writer::history_writer(std::string path, std::unique_ptr<store::history> w,
                               std::unique_ptr<store::history> r, std::string host_id,
                               std::unique_ptr<history_spool> spool)
    : path_(std::move(path)),
      host_id_(std::move(host_id)),
      writer_(std::move(w)),
      reader_(std::move(r)),
      spool_(std::move(spool)) {
  std::random_device rd;
  uid_prefix_ = (std::uint64_t{rd()} << 32) ^ rd();
  if (spool_) {
    stats_.spool_backlog = spool_->backlog();
    if (spool_->backlog() > 0)
      spdlog::warn("history spool={} backlog={}: replaying when the database answers",
                   spool_->dir().string(), spool_->backlog());
  }
  thread_ = std::thread([this] { loop(); });
}

history_writer::~history_writer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool history_writer::push(op o) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kHistoryQueueMax) {
      if (stats_.dropped++ % 1000 == 0)
        spdlog::error("history path={} error=\"queue full ({} waiting): record dropped\"", path_,
                      queue_.size());
      return false;
    }
    bool lookup = std::holds_alternative<lookup_op>(o);
    queue_.push_back(std::move(o));
    urgent_ |= lookup;
    // While the thread collects a batch, only what cannot wait wakes it.
    if (collecting_ && !lookup && queue_.size() < kHistoryBatchMax) return true;
  }
  cv_.notify_one();
  return true;
}

sent_facts history_writer::lookup(store::history& db, const std::vector<std::string>& ids,
                                  const std::vector<std::string>& rcpts, std::int64_t since) {
  sent_facts f;
  for (const auto& id : ids) {
    auto r = db.sent_message_id(id);
    if (!r) return sent_facts{};  // no answer (database unreachable): judge without history
    if (*r) f.sent_ids.insert(id);
  }
  for (const auto& a : rcpts) {
    auto r = db.sent_to(a, since);
    if (!r) return sent_facts{};
    if (*r) f.sent_to.insert(ascii::lower(a));
  }
  f.available = true;
  return f;
}

void history_writer::record(store::message_record m) {
  // The idempotent key: unique per record of this writer (a random prefix per start).
  if (m.uid.empty()) m.uid = fmt::format("{:016x}-{:x}", uid_prefix_, uid_seq_++);
  if (m.host.empty()) m.host = host_id_;
  push(std::move(m));
}

void history_writer::quarantine_add(store::quarantine_entry q) {
  if (q.host.empty()) q.host = host_id_;
  push(std::move(q));
}

void history_writer::quarantine_release(std::string queue_id, std::string by, std::int64_t when) {
  push(spooled_release{std::move(queue_id), std::move(by), when, true});
}

void history_writer::quarantine_delete(std::string queue_id, std::string by, std::int64_t when) {
  push(spooled_release{std::move(queue_id), std::move(by), when, false});
}

void history_writer::flush() {
  std::unique_lock lock(mu_);
  urgent_ = true;
  cv_.notify_one();
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

history_writer::stats_t history_writer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

result<void> history_writer::apply(const op& o) {
  if (const auto* m = std::get_if<store::message_record>(&o)) return writer_->record(*m);
  if (const auto* q = std::get_if<store::quarantine_entry>(&o)) return writer_->quarantine_add(*q);
  if (const auto* r = std::get_if<spooled_release>(&o))
    return r->release ? writer_->quarantine_release(r->queue_id, r->by, r->when)
                      : writer_->quarantine_delete(r->queue_id, r->by, r->when);
  return {};
}

void history_writer::went_down(const error& e) {
  next_try_ = std::chrono::steady_clock::now() + kSpoolRetry;
  std::lock_guard lock(mu_);
  if (stats_.db_up)
    spdlog::error("history database unreachable, spooling to {}: {}", spool_->dir().string(),
                  e.message);
  stats_.db_up = false;
}

void history_writer::spool_ops(std::vector<op>& batch, std::uint64_t& bad) {
  std::vector<std::string> lines;
  for (auto& o : batch) {
    if (auto* lk = std::get_if<lookup_op>(&o)) {
      if (lk->fn) std::exchange(lk->fn, nullptr)(*writer_);  // answers (without the database)
      continue;
    }
    if (const auto* m = std::get_if<store::message_record>(&o))
      lines.push_back(to_spool_line(*m));
    else if (const auto* q = std::get_if<store::quarantine_entry>(&o))
      lines.push_back(to_spool_line(*q));
    else if (const auto* r = std::get_if<spooled_release>(&o))
      lines.push_back(to_spool_line(*r));
  }
  auto kept = spool_->append(lines);
  std::lock_guard lock(mu_);
  if (!kept) {
    spdlog::error("history records lost={} error=\"{}\"", lines.size(), kept.error().message);
    bad += lines.size();
  } else {
    stats_.spooled += *kept;
    if (*kept < lines.size()) {
      if (stats_.spool_dropped == 0)
        spdlog::error("history spool full ({} records): records dropped", spool_->backlog());
      stats_.spool_dropped += lines.size() - *kept;
    }
  }
  stats_.spool_backlog = spool_->backlog();
}

bool history_writer::replay() {
  std::uint64_t total = 0;
  while (spool_->backlog() > 0) {
    auto lines = spool_->front(kHistoryBatchMax);
    if (!lines) {
      spdlog::error("history spool: {}", lines.error().message);
      next_try_ = std::chrono::steady_clock::now() + kSpoolRetry;
      return false;
    }
    std::vector<op> ops;
    std::uint64_t bad = 0;
    for (const auto& l : *lines) {
      auto o = from_spool_line(l);
      if (!o) {
        ++bad;
        spdlog::error("history spool: {}", o.error().message);
        continue;
      }
      std::visit([&](auto&& v) { ops.emplace_back(std::move(v)); }, std::move(*o));
    }
    auto b = writer_->begin_batch();
    if (!b && b.error().code == errc::temporary) return went_down(b.error()), false;
    // One attempt in a batch, then (a write refused inside a transaction aborts it in
    // PostgreSQL) one by one; "already released" of a replayed release is fine.
    auto pass = [&](bool batched, std::uint64_t& ok, std::uint64_t& failed) -> result<void> {
      for (const auto& o : ops) {
        auto r = apply(o);
        if (r || r.error().code == errc::not_found) {
          ++ok;
          continue;
        }
        if (r.error().code == errc::temporary) return std::unexpected(r.error());
        ++failed;
        if (!batched) spdlog::error("history path={} error=\"{}\"", path_, r.error().message);
      }
      return {};
    };
    std::uint64_t ok = 0, failed = 0;
    auto r = pass(static_cast<bool>(b), ok, failed);
    if (!r) return went_down(r.error()), false;
    if (b) {
      if (auto c = writer_->commit_batch(); !c) {
        if (c.error().code == errc::temporary) return went_down(c.error()), false;
        ok = failed = 0;
        if (auto again = pass(false, ok, failed); !again) return went_down(again.error()), false;
      }
    }
    if (auto p = spool_->pop(lines->size()); !p)
      spdlog::error("history spool: {} (the lines will be replayed again)", p.error().message);
    total += ok;
    std::lock_guard lock(mu_);
    stats_.replayed += ok;
    stats_.written += ok;
    stats_.failed += failed + bad;
    stats_.spool_backlog = spool_->backlog();
  }
  std::lock_guard lock(mu_);
  if (!stats_.db_up || total > 0)
    spdlog::info("history database reachable again: replayed={} from {}", total,
                 spool_->dir().string());
  stats_.db_up = true;
  return true;
}

void history_writer::loop() {
  base::name_this_thread("mxg-history");
  std::vector<op> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      busy_ = false;
      idle_cv_.notify_all();
      auto ready = [&] { return stopping_ || !queue_.empty(); };
      // With a backlog, wake up to retry the replay even when no new record comes.
      if (spool_ && stats_.spool_backlog > 0)
        cv_.wait_until(lock, next_try_, ready);
      else
        cv_.wait(lock, ready);
      if (queue_.empty() && stopping_) return;
      busy_ = true;
      // Let the writes of the next few milliseconds share this transaction.
      collecting_ = true;
      cv_.wait_for(lock, kHistoryCoalesce,
                   [&] { return stopping_ || urgent_ || queue_.size() >= kHistoryBatchMax; });
      collecting_ = false;
      urgent_ = false;
      while (!queue_.empty() && batch.size() < kHistoryBatchMax) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::uint64_t ok = 0, bad = 0;
    result<void> committed;  // what async_write's callers hear of this batch
    // Order: nothing reaches the database before the backlog spooled ahead of it.
    bool behind = spool_ && spool_->backlog() > 0;
    if (behind && std::chrono::steady_clock::now() >= next_try_) behind = !replay();
    if (behind) {
      spool_ops(batch, bad);
      committed = fail(errc::temporary, "history: database unreachable (records are spooled)");
    } else {
      auto b = writer_->begin_batch();
      bool down = spool_ && !b && b.error().code == errc::temporary;
      std::optional<error> down_error;
      if (down) down_error = b.error();
      auto pass = [&](bool batched) {
        for (auto& o : batch) {
          if (auto* lk = std::get_if<lookup_op>(&o)) {
            // Sees this batch's writes too (same connection).
            if (lk->fn) std::exchange(lk->fn, nullptr)(*writer_);
            continue;
          }
          auto r = apply(o);
          if (r) {
            ++ok;
          } else if (spool_ && r.error().code == errc::temporary) {
            down = true;
            down_error = r.error();
            return;
          } else {
            ++bad;
            if (!batched || !spool_)
              spdlog::error("history path={} error=\"{}\"", path_, r.error().message);
          }
        }
      };
      if (!down) pass(static_cast<bool>(b));
      if (!down && b) {
        if (auto c = writer_->commit_batch(); !c) {
          committed = std::unexpected(c.error());
          if (spool_ && c.error().code == errc::temporary) {
            down = true;
            down_error = c.error();
          } else {
            // A write refused inside the transaction aborts all of it in PostgreSQL:
            // write them again one by one, so only the bad one is lost.
            spdlog::error("history path={} error=\"{}\" retrying one by one", path_,
                          c.error().message);
            ok = bad = 0;
            pass(false);
          }
        }
      }
      if (down) {
        ok = 0;
        committed = std::unexpected(*down_error);
        went_down(*down_error);
        spool_ops(batch, bad);
      }
    }
    for (auto& o : batch)
      if (auto* lk = std::get_if<lookup_op>(&o); lk && lk->settle)
        std::exchange(lk->settle, nullptr)(committed);
    batch.clear();
    std::lock_guard lock(mu_);
    stats_.written += ok;
    stats_.failed += bad;
    ++stats_.batches;
  }
}

}  // namespace mxg::gateway
