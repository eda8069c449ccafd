// history.hpp: mxguard's memory of mail it has seen and decided on, in SQLite (WAL).
// One row per message per direction: the gateway records every decision (accept,
// tempfail, reject, quarantine) with the SPF result, so a stricter policy can be
// simulated over past traffic and backscatter can be told from real bounces
// ("did we ever send a message with this Message-ID / to this recipient?").
// The interface is small so a PostgreSQL backend could implement it.
// Security: every value is bound as a parameter; nothing is spliced into SQL.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace mxg::store {

enum class direction { inbound, outbound };
const char* to_string(direction d);

struct message_record {
  std::int64_t time = 0;  // Unix seconds
  direction dir = direction::inbound;
  std::string queue_id;
  std::string listener;
  std::string client_ip;
  std::string helo;
  std::string sender;                   // envelope MAIL FROM ("" for <>)
  std::vector<std::string> recipients;  // envelope RCPT TO
  std::string message_id;               // header Message-ID, without <>
  std::string subject;
  std::string spf_result;  // RFC 7208 token, "" if not evaluated
  std::string decision;    // accept | tempfail | reject | quarantine | tag
  std::string reason;      // human-readable why
};

struct quarantine_entry {
  std::string queue_id;
  std::int64_t time = 0;
  std::string sender;
  std::string recipients;  // comma separated
  std::string subject;
  std::string reason;
  std::optional<std::int64_t> released_at;
  std::string released_by;
};

class history {
 public:
  virtual ~history() = default;
  virtual result<void> record(const message_record& m) = 0;
  // Messages in [since, until), newest first, at most `limit`.
  virtual result<std::vector<message_record>> list(std::int64_t since, std::int64_t until,
                                                   std::size_t limit) const = 0;
  // Outbound history look-ups used by backscatter analysis.
  virtual result<bool> sent_message_id(const std::string& message_id) const = 0;
  virtual result<bool> sent_to(const std::string& recipient, std::int64_t since) const = 0;

  virtual result<void> quarantine_add(const quarantine_entry& q) = 0;
  virtual result<std::vector<quarantine_entry>> quarantine_list(bool include_released) const = 0;
  virtual result<void> quarantine_release(const std::string& queue_id, const std::string& by,
                                          std::int64_t when) = 0;

  // Groups the writes between them into one transaction (a batch of the gateway's
  // background writer). Each write inside keeps its own all-or-nothing behaviour.
  // Default: no grouping.
  virtual result<void> begin_batch() { return {}; }
  virtual result<void> commit_batch() { return {}; }
};

// Opens (creating if needed) the SQLite history at `path` (":memory:" for tests).
result<std::unique_ptr<history>> open_sqlite(const std::string& path);

}  // namespace mxg::store
