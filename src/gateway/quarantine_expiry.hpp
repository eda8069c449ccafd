// quarantine_expiry.hpp: the quarantine operations on queued messages (issue 9
// section 3), shared by the control socket (quarantine-release / quarantine-delete),
// the offline CLI (src/cli/quarantine.cpp) and expiry after `[quarantine] retention`.
// Exactly once: a message is released or deleted only while the index entry is open
// (not released, not deleted) AND its control file still says quarantined
// (queue/report.hpp kQuarantineExtra); the queue's control file is the authority, the
// index follows it.
// Security: queue ids from the index are validated by queue_id::parse before they
// become paths.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "queue/queue_dir.hpp"
#include "store/history.hpp"

namespace mxg::gateway {

class server;
class history_writer;

inline constexpr std::size_t kExpiryBatchMax = 1000;  // entries expired per call

enum class quarantine_op { release, remove };

// Ok while the index entry is open; else errc::not_found "<id>: already released by
// WHO at T" (or deleted). quarantine_queue_op checks it first.
result<void> quarantine_entry_open(const store::quarantine_entry& e);

// The checks and the queue operation (queue_dir::release / remove) for one entry; the
// caller records the result in the index and, after a release, hands the message to
// delivery. errc::not_found with "already released/deleted" when the entry or the
// control file says it is done. Deleting an entry whose message is gone from the queue
// succeeds (only the index is left to mark).
result<void> quarantine_queue_op(queue::queue_dir& q, const store::quarantine_entry& e,
                                 quarantine_op op);

// The queue of an entry in a set of queues: by listener name, then by directory, then
// the queue that holds the message's control file. Null if none.
queue::queue_dir* quarantine_queue(
    const store::quarantine_entry& e,
    const std::function<queue::queue_dir*(const std::string& listener_or_dir)>& find,
    const std::vector<queue::queue_dir*>& all);

// Expires `entries` (open, older than the retention): removes each queued message
// and records deleted_by = "expiry" through `hw`. Returns how many were expired.
std::size_t expire_entries(
    const std::vector<store::quarantine_entry>& entries,
    const std::function<queue::queue_dir*(const store::quarantine_entry&)>& queue_of,
    history_writer& hw, std::int64_t now);

// For the server's periodic timer (on the io thread): finds open entries older than
// `retention` on the history writer's thread, then expires them on the io thread (at
// most kExpiryBatchMax per call). Does nothing when the history is disabled.
void expire_quarantine(server& srv, std::chrono::seconds retention);

}  // namespace mxg::gateway
