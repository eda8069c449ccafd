// backscatter_filter.cpp: the after-DATA bounce judgement with the outbound history
// asked through the history writer (see backscatter_filter.hpp); the judgement itself is
// policy::backscatter_filter::judge_records().
#include "gateway/backscatter_filter.hpp"

#include <string>
#include <vector>

#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "base/ascii.hpp"
#include "gateway/history_writer.hpp"
#include "gateway/sent_snapshot.hpp"
#include "ndr/ndr.hpp"

namespace mxg::gateway {

namespace {

// The outbound-history answers fetched for one bounce, as a read-only history.
class snapshot_history final : public store::history {
 public:
  explicit snapshot_history(sent_facts f) : f_(std::move(f)) {}
  result<void> record(const store::message_record&) override { return unsupported(); }
  result<std::vector<store::message_record>> list(std::int64_t, std::int64_t,
                                                  std::size_t) const override {
    return std::vector<store::message_record>{};
  }
  result<bool> sent_message_id(const std::string& id) const override {
    return f_.sent_ids.contains(id);
  }
  result<bool> sent_to(const std::string& rcpt, std::int64_t) const override {
    return f_.sent_to.contains(ascii::lower(rcpt));
  }
  result<void> quarantine_add(const store::quarantine_entry&) override { return unsupported(); }
  result<std::vector<store::quarantine_entry>> quarantine_list(bool) const override {
    return std::vector<store::quarantine_entry>{};
  }
  result<void> quarantine_release(const std::string&, const std::string&, std::int64_t) override {
    return unsupported();
  }

 private:
  static result<void> unsupported() { return fail(errc::internal, "read-only snapshot"); }
  sent_facts f_;
};

}  // namespace

std::unique_ptr<store::history> sent_snapshot(sent_facts f) {
  return std::make_unique<snapshot_history>(std::move(f));
}

asio::awaitable<bs_decision> backscatter_filter::check_bounce(std::string_view message,
                                                              history_writer& history,
                                                              dns::resolver* res) const {
  if (!config().enabled) co_return bs_decision{};
  auto records = ndr::parse_message(message);
  if (records.empty()) co_return bs_decision{};
  std::vector<std::string> ids, rcpts;
  for (const auto& r : records) {
    if (!r.original_message_id.empty()) ids.push_back(r.original_message_id);
    if (!r.recipient.empty()) rcpts.push_back(r.recipient);
  }
  auto ex = co_await asio::this_coro::executor;
  sent_facts facts =
      co_await history.async_sent(std::move(ids), std::move(rcpts), 0, ex, asio::use_awaitable);
  const bool available = facts.available;  // false: the writer's queue was full
  snapshot_history snap(std::move(facts));
  const store::history* h = available ? &snap : nullptr;
  bs_decision d = co_await judge_records(records, message, h, res);
  co_return d;
}

}  // namespace mxg::gateway
