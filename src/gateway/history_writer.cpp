// history_writer.cpp: see history_writer.hpp.
#include "gateway/history_writer.hpp"

#include <spdlog/spdlog.h>

#include <vector>

#include "base/ascii.hpp"
#include "base/thread_name.hpp"

namespace mxg::gateway {

result<std::unique_ptr<history_writer>> history_writer::open(const std::string& path) {
  auto w = store::open_sqlite(path);
  if (!w) return std::unexpected(w.error());
  auto r = store::open_sqlite(path);
  if (!r) return std::unexpected(r.error());
  return std::unique_ptr<history_writer>(new history_writer(path, std::move(*w), std::move(*r)));
}

history_writer::history_writer(std::string path, std::unique_ptr<store::history> w,
                               std::unique_ptr<store::history> r)
    : path_(std::move(path)), writer_(std::move(w)), reader_(std::move(r)) {
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
  f.available = true;
  for (const auto& id : ids)
    if (auto r = db.sent_message_id(id); r && *r) f.sent_ids.insert(id);
  for (const auto& a : rcpts) {
    if (auto r = db.sent_to(a, since); r && *r) f.sent_to.insert(ascii::lower(a));
  }
  return f;
}

void history_writer::record(store::message_record m) {
  push(std::move(m));
}

void history_writer::quarantine_add(store::quarantine_entry q) {
  push(std::move(q));
}

void history_writer::quarantine_release(std::string queue_id, std::string by, std::int64_t when) {
  push(release_op{std::move(queue_id), std::move(by), when});
}

void history_writer::quarantine_delete(std::string queue_id, std::string by, std::int64_t when) {
  push(delete_op{std::move(queue_id), std::move(by), when});
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

void history_writer::loop() {
  base::name_this_thread("mxg-history");
  std::vector<op> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      busy_ = false;
      idle_cv_.notify_all();
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
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
    bool in_batch = static_cast<bool>(writer_->begin_batch());
    for (auto& o : batch) {
      result<void> r;
      if (auto* m = std::get_if<store::message_record>(&o))
        r = writer_->record(*m);
      else if (auto* q = std::get_if<store::quarantine_entry>(&o))
        r = writer_->quarantine_add(*q);
      else if (auto* rel = std::get_if<release_op>(&o))
        r = writer_->quarantine_release(rel->queue_id, rel->by, rel->when);
      else if (auto* del = std::get_if<delete_op>(&o))
        r = writer_->quarantine_delete(del->queue_id, del->by, del->when);
      else if (auto* lk = std::get_if<lookup_op>(&o)) {
        lk->fn(*writer_);  // sees this batch's writes too (same connection)
        continue;
      }
      if (r) {
        ++ok;
      } else {
        ++bad;
        spdlog::error("history path={} error=\"{}\"", path_, r.error().message);
      }
    }
    if (in_batch) {
      if (auto c = writer_->commit_batch(); !c) {
        spdlog::error("history path={} error=\"{}\" lost={}", path_, c.error().message, ok);
        bad += ok;
        ok = 0;
      }
    }
    batch.clear();
    std::lock_guard lock(mu_);
    stats_.written += ok;
    stats_.failed += bad;
    ++stats_.batches;
  }
}

}  // namespace mxg::gateway
