// admin.hpp: the typed admin operations of a running gateway (issue 11 section 1):
// queue (list, show, hold, release, delete, run), quarantine (find, show, release,
// delete), history search and hourly counts, policy simulate over the history, SPF lint
// and status. They run on the server's io thread and return values; the control
// socket (control.cpp, `mxguard queue ...` / `quarantine ...`) and the web console
// (src/web/) are adapters that render those values. Nothing here renders text for a
// user and nothing here knows either adapter.
//
// Threads: every function is called on the io thread. SQLite is read on the history
// writer's thread (history_writer::async_call) and queue directories are listed on a
// worker thread (net::offload), so the io thread never waits for a disk.
//
// Security: ids are validated by queue_id::valid before they become paths; callers
// pass `by` (who asks) and `via` (which adapter) so every release and delete is
// recorded in the quarantine index with its user and logged. A `visible` predicate
// lets an adapter restrict the quarantine to what its user may see (a helpdesk user's
// domains): entries it refuses are answered "not in the quarantine", as if absent.
#pragma once

#include <asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "gateway/delivery_hook.hpp"
#include "gateway/quarantine_expiry.hpp"
#include "policy/backscatter.hpp"
#include "policy/dmarc_policy.hpp"
#include "policy/dnsbl.hpp"
#include "policy/simulate.hpp"
#include "policy/spf_policy.hpp"
#include "queue/queue_dir.hpp"
#include "store/history.hpp"

namespace mxg::gateway {

class server;

namespace admin {

// Bounds of what one admin call reads (the console pages through them).
inline constexpr std::size_t kQuarantineListMax = 5000;  // entries per list
inline constexpr std::size_t kHistorySearchMax = 1000;   // records returned
inline constexpr std::size_t kQueueListMax = 5000;       // messages per list
inline constexpr std::size_t kSimulateRecordsMax = 200000;

// --- status ---
struct status_info {
  std::uint64_t sessions = 0, refused_sessions = 0, messages = 0, queue_errors = 0;
  bool draining = false;
  delivery_state delivery;
  bool history = false;  // [history] enabled
  std::string history_path;
  std::uint64_t history_written = 0, history_failed = 0, history_dropped = 0, history_batches = 0;
  // [store] (issue 14): the backend, this gateway's host id, and the outage spool.
  std::string store_backend, host_id;
  bool db_up = true;
  std::uint64_t spool_backlog = 0, spooled = 0, replayed = 0, spool_dropped = 0;
};
status_info status(server& srv);
// The control socket's `status` JSON (also the console's /api/status).
nlohmann::json to_json(const status_info& s);

// --- per-id outcomes of hold/release/delete ---
struct item_result {
  std::string id;
  bool ok = false;
  std::string mode;   // hold/release: the message's delivery mode after the change
  std::string error;  // when !ok: the message for the user
  // A release of a message another gateway holds (shared store, issue 14): asked of that
  // host through the database (remote_release.hpp), not yet done.
  std::string pending_host;
  // Issue 11: not released but filed as release request `request` (an admin decides).
  std::int64_t request = 0;
};
// A pending item whose remote release request could not be written: an error, saying why.
void release_not_requested(item_result& it, const std::string& why);

// --- queue ---
enum class queue_op { hold, release, remove };
const char* to_string(queue_op op);  // "hold" | "release" | "delete"

// The queues a request covers: the named one (listener name or directory), or every
// queue of the daemon ("" ; by path, each once). Empty: no such queue.
std::vector<queue::queue_dir*> selected_queues(server& srv, const std::string& which);

// hold / release / delete of queued messages (short blocking file operations, one
// control-file rewrite each). A released quarantined message is marked released in the
// index by `by`. errc::not_found when `which` names no queue.
result<std::vector<item_result>> queue_act(server& srv, queue_op op,
                                           const std::vector<std::string>& ids,
                                           const std::string& which, const std::string& by,
                                           const std::string& via);

struct queued_message {
  queue::envelope env;
  std::string queue;                // its queue's directory
  std::optional<std::string> text;  // with_body: the message as delivery sends it
};
result<queued_message> queue_show(server& srv, const std::string& id, const std::string& which,
                                  bool with_body);

// Every message of the selected queues (at most `limit`), read on a worker thread.
asio::awaitable<result<std::vector<queue::listed_message>>> queue_list(server& srv,
                                                                       std::string which,
                                                                       std::size_t limit);

// Delivery of the given ids (all due messages when empty) of the selected queues;
// the delivery's summary text.
asio::awaitable<result<std::string>> queue_run(server& srv, std::string which,
                                               std::vector<std::string> ids);

// --- quarantine ---
using visibility = std::function<bool(const store::quarantine_entry&)>;

// Entries matching the query, newest first (at most kQuarantineListMax), of those
// `visible` accepts (all when empty).
asio::awaitable<result<std::vector<store::quarantine_entry>>> quarantine_find(
    server& srv, store::quarantine_query q, visibility visible = {});

struct quarantined_message {
  store::quarantine_entry entry;
  std::string queue;  // "" when no queue holds it any more
  result<queue::envelope> env = fail(errc::not_found, "not loaded");
  std::optional<std::string> text;  // with_body and readable: the message text
};
// errc::not_found when there is no entry (or `visible` refuses it).
asio::awaitable<result<quarantined_message>> quarantine_show(server& srv, std::string id,
                                                             bool with_body,
                                                             visibility visible = {});

// Index entries of `ids` (read by the caller's choice of thread) and the queue work
// once they are read (io thread): exactly once (quarantine_expiry.hpp), recorded in the
// index with `by`, released messages handed to delivery.
using found_entries = std::vector<result<std::optional<store::quarantine_entry>>>;
found_entries read_entries(const store::history& db, const std::vector<std::string>& ids);
std::vector<item_result> quarantine_apply(server& srv, quarantine_op op,
                                          const std::vector<std::string>& ids,
                                          const found_entries& found, const std::string& by,
                                          const std::string& via, const visibility& visible = {});
// Reads the entries on the history writer's thread, then quarantine_apply.
// errc::unsupported when the history is disabled; errc::invalid_argument for a bad id.
asio::awaitable<result<std::vector<item_result>>> quarantine_act(server& srv, quarantine_op op,
                                                                 std::vector<std::string> ids,
                                                                 std::string by, std::string via,
                                                                 visibility visible = {});

// --- history ---
// A search is the store's query (its filters: exact queue id and client IP, sender and
// recipient substrings, a result) with the console's bounds: `until` 0 = now, `limit`
// 200 by default and at most kHistorySearchMax.
struct history_filter : store::history_query {
  history_filter() { limit = 200; }
};
// The store query of a search: the filters, newest first, at most kHistorySearchMax
// records, `until` 0 = up to `now` (Unix seconds) included.
store::history_query search_query(const history_filter& f, std::int64_t now);
// Newest first; the filters are evaluated by the store (SQL), over the whole range.
asio::awaitable<result<std::vector<store::message_record>>> history_search(server& srv,
                                                                           history_filter f);

// Messages per hour by SPF result, DMARC result and action (the dashboard).
struct hourly_counts {
  std::int64_t start = 0;  // first hour (Unix seconds, a multiple of 3600)
  std::size_t hours = 0;
  // key ("spf", "dmarc", "action") -> value (e.g. "softfail") -> one count per hour
  std::map<std::string, std::map<std::string, std::vector<std::size_t>>> series;
  std::size_t quarantine_open = 0;
};
hourly_counts count_hourly(const std::vector<store::message_record>& records, std::int64_t start,
                           std::size_t hours);
asio::awaitable<result<hourly_counts>> dashboard(server& srv, std::size_t hours);

// --- policy ---
// `policy simulate` of a candidate [spf] section (TOML text, with or without the
// [spf] header) over the inbound history since `since`. errc::parse_error with
// "candidate:LINE: ..." lines when the candidate is not a valid [spf]. The store's
// policy exceptions are applied (and counted) unless `exceptions` is false.
asio::awaitable<result<policy::simulation>> simulate_spf(server& srv, std::string candidate,
                                                         std::int64_t since,
                                                         bool exceptions = true);
// The linter's checklist for a domain (looked up with the server's resolver) or a
// record given as text (exactly one of them non-empty).
asio::awaitable<result<std::string>> spf_lint(server& srv, std::string domain, std::string record);

// --- rules in force (issue 11 section 3, the policy page) ---
// The running [spf], [dkim], [dmarc] and [dnsbl] sections as the gateway parsed them
// (copies of the configuration in force; a SIGHUP reload swaps it).
struct rules_in_force {
  policy::spf_policy_config spf;
  policy::dkim_policy_config dkim;
  policy::dmarc_policy_config dmarc;
  policy::dnsbl_config dnsbl;
};
rules_in_force policy_in_force(server& srv);
// Actions by result, rules in order with their domains/networks, monitor flags.
nlohmann::json to_json(const rules_in_force& r);

// --- backscatter sources (the console's backscatter page) ---
// `mxguard ndr report` over what the gateway recorded: the bounces its backscatter
// filter quarantined since `since` (index on the history writer's thread, queue files
// on a worker thread), judged against the outbound history (fetched through the
// writer) with the server's resolver, ranked by source with abuse contacts.
inline constexpr std::size_t kBackscatterBouncesMax = 1000;  // quarantined bounces read
struct backscatter_report {
  std::int64_t since = 0;
  std::size_t quarantined = 0;  // bounce entries of the index read
  std::size_t unreadable = 0;   // of them, no longer in a queue (released, deleted, expired)
  std::vector<policy::judged> bounces;
  std::vector<policy::source_group> sources;  // ranked, with contacts
};
asio::awaitable<result<backscatter_report>> backscatter_sources(server& srv, std::int64_t since);
nlohmann::json to_json(const backscatter_report& r);

// --- policy exceptions (issue 11: "release and allow", policy/exception.hpp) ---
// The live exceptions (all: deleted ones too), oldest first.
asio::awaitable<result<std::vector<store::policy_exception>>> exceptions_list(server& srv,
                                                                              bool all);
// Marks one deleted by `by`; the gateway's snapshot is refreshed. errc::not_found if
// there is none (or it is deleted already).
asio::awaitable<result<void>> exception_delete(server& srv, std::int64_t id, std::string by,
                                               std::string via);
// Releases the held message `id` once and, only when the release succeeded, adds an
// exception of the scope "sender" (its envelope sender) or "domain_net" (its sender
// domain from `net`; "" = the client's /24 or /64). errc::invalid_argument for a bad
// scope or a null sender; the release's own error as item_result.error (no exception).
struct release_allow_result {
  item_result release;
  std::optional<store::policy_exception> exception;  // when added
};
asio::awaitable<result<release_allow_result>> release_allow(server& srv, std::string id,
                                                            std::string scope, std::string net,
                                                            std::string note,
                                                            std::optional<std::int64_t> expires_at,
                                                            std::string by, std::string via,
                                                            visibility visible = {});

// --- release requests (issue 11, admin_requests.cpp) ---
// A helpdesk user whose release needs an admin's approval ([console] approval_domains)
// or a recipient following the digest's link files a request; an admin approves it (the
// normal release of quarantine_act: exactly once, remote hosts included, recorded with
// the admin as `by`) or denies it. Every write is committed before the answer.
inline constexpr std::size_t kRequestListMax = 1000;
using approval_rule = std::function<bool(const store::quarantine_entry&)>;

// Files a request for each id (a held message `visible` accepts); a message with a
// pending request answers that request's id (item_result::request). `by` =
// "console:USER" or "recipient:ADDRESS".
asio::awaitable<result<std::vector<item_result>>> request_release(
    server& srv, std::vector<std::string> ids, std::string by, std::string comment, std::string via,
    visibility visible = {});

// A release by a user some of whose releases need approval: the ids whose entry
// `needs_approval` accepts become requests, the others are released (quarantine_act).
// Results in the order of `ids`.
asio::awaitable<result<std::vector<item_result>>> release_or_request(
    server& srv, std::vector<std::string> ids, std::string by, std::string via, visibility visible,
    approval_rule needs_approval);

struct request_info {
  store::release_request req;
  std::optional<store::quarantine_entry> entry;  // nullopt: no index entry (any more)
};
// Requests of `state` ("" = all), newest first, at most `limit`, with their index
// entries. A pending request whose message left the quarantine meanwhile (released,
// deleted, expired) is resolved first: state "cancelled" with a note saying why.
asio::awaitable<result<std::vector<request_info>>> requests_list(server& srv, std::string state,
                                                                 std::size_t limit);

struct request_decision {
  bool ok = false;
  std::string error;           // when !ok: "request 3 is approved already", the release's error
  store::release_request req;  // as it is after the decision
  item_result release;         // approve: the release's outcome
};
// Approves a pending request: claims it (pending -> approved, one admin wins), then
// releases its message as `by`. If the message is no longer held the request becomes
// "cancelled" with the reason; any other failure (try again) puts it back to pending.
// errc::not_found when there is no such request.
asio::awaitable<result<request_decision>> request_approve(server& srv, std::int64_t id,
                                                          std::string by, std::string via);
// Denies a pending request (pending -> denied, with `note`).
asio::awaitable<result<request_decision>> request_deny(server& srv, std::int64_t id, std::string by,
                                                       std::string note, std::string via);

}  // namespace admin
}  // namespace mxg::gateway
