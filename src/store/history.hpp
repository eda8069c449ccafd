// history.hpp: mxguard's memory of mail it has seen and decided on, in SQLite (WAL) or,
// for several gateways sharing one history and quarantine index, PostgreSQL (issue 14).
// One row per message per direction: the gateway records every decision (accept,
// tempfail, reject, quarantine) with the SPF result, so a stricter policy can be
// simulated over past traffic and backscatter can be told from real bounces
// ("did we ever send a message with this Message-ID / to this recipient?").
// Both backends share one schema history (migrations.hpp); open() picks one.
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

// One policy decision of a transaction (policy/decision.hpp, stored as text).
struct decision_record {
  std::string check;     // "spf", "backscatter", ...
  std::string action;    // accept | tag | quarantine | tempfail | reject (what was done)
  std::string rule;      // "" = global actions
  bool monitor = false;  // a monitor-only rule: `would` is what it would have done
  std::string would;     // "" unless monitor
  std::string reason;
};

// One DKIM signature's result (issue 10), in header order.
struct dkim_record {
  std::string domain;    // d=
  std::string selector;  // s=
  std::string result;    // pass | fail | neutral | policy | temperror | permerror
  std::string reason;
};

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
  // Issue 9: what `policy simulate` needs to decide again.
  std::string spf_identity;                // "mailfrom" | "helo" | "" (not evaluated)
  std::string spf_domain;                  // the identity's domain
  std::string spf_mechanism;               // deciding term
  std::string rule;                        // rule of the final decision ("" = global)
  std::string reply;                       // the reply when refused ("550 5.7.23 ..."), else ""
  std::uint64_t size = 0;                  // bytes queued (0 when refused before DATA)
  std::vector<decision_record> decisions;  // every check's decision, in order
  // Issue 10: message authentication, for aggregate reports (RFC 9990) and
  // `policy simulate` over [dmarc]. Empty when not evaluated.
  std::string header_from;          // RFC5322.From domain (A-label), "" = none/unusable
  std::string dmarc_result;         // pass | fail | none | temperror | permerror
  std::string dmarc_policy;         // the policy that applied: none | quarantine | reject
  std::string dmarc_policy_domain;  // where the record was found (without _dmarc.)
  std::string dmarc_record;         // the record text as published (policy_published)
  bool dmarc_dkim_aligned = false;
  bool dmarc_spf_aligned = false;
  std::string arc_result;         // none | pass | fail
  std::vector<dkim_record> dkim;  // one per DKIM-Signature, header order
  // Issue 14: the idempotent key (unique; a record whose uid is stored already is not
  // recorded again: a replayed spool never records twice; "" = no key) and the gateway
  // that recorded it ([store] host_id).
  std::string uid;
  std::string host;
  std::int64_t id = 0;  // set by list(); ignored by record()
};

// A query over the history (policy simulate / suggest / report).
struct history_query {
  std::int64_t since = 0, until = 0;  // [since, until); until 0 = no bound
  std::optional<direction> dir;       // only this direction
  std::size_t limit = 0;              // 0 = no limit
  bool newest_first = false;          // default: oldest first
  // Search filters (the console's history search); "" = any. Evaluated in SQL, so a
  // search reaches the whole range, not only its newest records.
  std::string queue_id;   // exact
  std::string client_ip;  // exact
  std::string sender;     // substring of the envelope sender, ASCII case-insensitive
  std::string recipient;  // substring of any envelope recipient, ASCII case-insensitive
  std::string result;     // the decision, the SPF result or the DMARC result (any case)
};

struct quarantine_entry {
  std::string queue_id;
  std::int64_t time = 0;
  std::string sender;
  std::string recipients;  // comma separated
  std::string subject;
  std::string reason;  // human-readable why
  std::optional<std::int64_t> released_at;
  std::string released_by;
  // Issue 9: one quarantine for every reason.
  std::string check;         // "spf" | "backscatter" | ...
  std::string rule;          // rule that quarantined ("" = global actions)
  std::string spf_result;    // RFC 7208 token or ""
  std::string spf_identity;  // "mailfrom" | "helo" | ""
  std::string spf_domain;
  std::string client_ip;
  std::string helo;
  std::string listener;   // listener name (whose queue holds the message)
  std::string queue_dir;  // that queue's directory
  std::uint64_t size = 0;
  std::optional<std::int64_t> deleted_at;  // deleted or expired
  std::string deleted_by;                  // user, or "expiry"
  std::string host;  // issue 14: the gateway whose queue holds the body ("" = this one)
};

// Issue 14: a release asked on a gateway that does not hold the message; the owner
// (`host`) carries it out and marks it done. Pending while done_at is empty.
struct remote_release {
  std::int64_t id = 0;
  std::string queue_id, host, requested_by;
  std::int64_t requested_at = 0;
  std::optional<std::int64_t> done_at;
  std::string result;  // "released", or why not
};

// Issue 11: a policy exception made by "release and allow" (policy/exception.hpp).
// kind "sender": `sender` (lower case); kind "domain_net": `domain` from `net` (CIDR).
// `domain` is the sender domain in both kinds. Deleting marks it (deleted_at/by).
struct policy_exception {
  std::int64_t id = 0;
  std::string kind;  // "sender" | "domain_net"
  std::string sender, domain, net;
  std::string created_by;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
  std::string note;
  std::string queue_id;  // the released message it was made from ("" = none)
  std::optional<std::int64_t> deleted_at;
  std::string deleted_by;
};

// Issue 11: a request to release a quarantined message, decided by an admin.
// requested_by: "console:USER" or "recipient:ADDRESS". state: "pending", "approved",
// "denied" or "cancelled" (the message left the quarantine before a decision).
struct release_request {
  std::int64_t id = 0;
  std::string queue_id;
  std::string host;  // the gateway holding the body when asked ("" = this one)
  std::string requested_by;
  std::int64_t requested_at = 0;
  std::string comment;
  std::string state = "pending";
  std::string decided_by;
  std::optional<std::int64_t> decided_at;
  std::string note;  // the decision's note (why denied, why cancelled)
};

struct quarantine_query {
  std::int64_t since = 0, until = 0;  // time in [since, until); until 0 = no bound
  std::string domain;                 // sender domain (exact, lower case); "" = any
  std::string check;                  // "" = any
  std::string rule;                   // "" = any
  bool include_released = false;
  bool include_deleted = false;
  // Issue 14: only the entries whose body this host holds: host = this or "" (an entry
  // recorded without a host is this gateway's). "" = every host's.
  std::string host;
  std::size_t limit = 0;  // 0 = no limit
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

  // Records in the query's range (decisions included), oldest first.
  // The issue-9 methods have defaults that answer errc::unsupported, so read-only
  // adapters (gateway/backscatter_filter.cpp's snapshot) need not implement them.
  virtual result<std::vector<message_record>> query(const history_query&) const {
    return unsupported();
  }
  // Deletes history rows (messages with their recipients and decisions) older than
  // `before` (retention); returns how many messages. The quarantine index is kept.
  virtual result<std::size_t> prune(std::int64_t /*before*/) { return unsupported(); }

  virtual result<void> quarantine_add(const quarantine_entry& q) = 0;
  virtual result<std::vector<quarantine_entry>> quarantine_list(bool include_released) const = 0;
  // Entries matching the query, newest first.
  virtual result<std::vector<quarantine_entry>> quarantine_find(const quarantine_query&) const {
    return unsupported();
  }
  // The entry of `queue_id` (released and deleted ones too); nullopt if none.
  virtual result<std::optional<quarantine_entry>> quarantine_get(const std::string&) const {
    return unsupported();
  }
  // Marks an open entry released. errc::not_found if there is no entry, or it is
  // already released or deleted (the message says which): the caller's exactly-once.
  virtual result<void> quarantine_release(const std::string& queue_id, const std::string& by,
                                          std::int64_t when) = 0;
  // Marks an open entry deleted (or expired: by = "expiry"); errc::not_found as above.
  virtual result<void> quarantine_delete(const std::string&, const std::string&, std::int64_t) {
    return unsupported();
  }

  // Issue 14: the remote release work list. request: at most one pending per message;
  // a second request while one is pending answers the pending one's id. pending: of
  // `host` ("" = every host), oldest first. done: marks it (errc::not_found if it was
  // done already: another worker had it).
  virtual result<std::int64_t> remote_release_request(const std::string& /*queue_id*/,
                                                      const std::string& /*host*/,
                                                      const std::string& /*by*/,
                                                      std::int64_t /*when*/) {
    return unsupported();
  }
  virtual result<std::vector<remote_release>> remote_release_pending(
      const std::string& /*host*/) const {
    return unsupported();
  }
  virtual result<void> remote_release_done(std::int64_t /*id*/, const std::string& /*result*/,
                                           std::int64_t /*when*/) {
    return unsupported();
  }

  // Issue 11: policy exceptions. add answers the new id; list: live ones (not
  // deleted; expired ones too, with all = deleted ones as well), oldest first;
  // remove: marks one deleted by `by` (errc::not_found if none or deleted already).
  virtual result<std::int64_t> exception_add(const policy_exception&) { return unsupported(); }
  virtual result<std::vector<policy_exception>> exception_list(bool /*all*/) const {
    return unsupported();
  }
  virtual result<void> exception_delete(std::int64_t /*id*/, const std::string& /*by*/,
                                        std::int64_t /*when*/) {
    return unsupported();
  }

  // Issue 11: release requests. add: at most one pending per message; while one is
  // pending, a second answers the pending one's id (and `created` false). list: of
  // `state` ("" = every state), newest first, at most `limit` (0 = no limit). get:
  // nullopt if none. decide: moves it from state `from` to `to` with who, when and a
  // note; errc::not_found when it is not (or no longer) in `from`: the caller's
  // exactly-once (two admins approving at once: one wins).
  struct request_added {
    std::int64_t id = 0;
    bool created = false;
  };
  virtual result<request_added> request_add(const release_request&) { return unsupported(); }
  virtual result<std::vector<release_request>> request_list(const std::string& /*state*/,
                                                            std::size_t /*limit*/) const {
    return unsupported();
  }
  virtual result<std::optional<release_request>> request_get(std::int64_t /*id*/) const {
    return unsupported();
  }
  virtual result<void> request_decide(std::int64_t /*id*/, const std::string& /*from*/,
                                      const std::string& /*to*/, const std::string& /*by*/,
                                      std::int64_t /*when*/, const std::string& /*note*/) {
    return unsupported();
  }

  // Groups the writes between them into one transaction (a batch of the gateway's
  // background writer). Each write inside keeps its own all-or-nothing behaviour.
  // Default: no grouping.
  virtual result<void> begin_batch() { return {}; }
  virtual result<void> commit_batch() { return {}; }

 private:
  static std::unexpected<error> unsupported() {
    return fail(errc::unsupported, "history: not supported by this backend");
  }
};

// The lower-cased domain of an address ("" for the null sender or no '@'): the
// quarantine index's sender_domain (quarantine_query::domain compares with it).
std::string sender_domain(const std::string& address);

// Opens (creating if needed) the SQLite history at `path` (":memory:" for tests).
result<std::unique_ptr<history>> open_sqlite(const std::string& path);

// Connects to PostgreSQL (`dsn`: "postgresql://..." or "key=value ..."), applying the
// schema migrations (under an advisory lock: two gateways starting at once migrate
// once). Errors from an unreachable database have errc::temporary.
result<std::unique_ptr<history>> open_postgresql(const std::string& dsn);

// [store] (gateway/config.hpp): which backend and where.
struct options {
  std::string backend = "sqlite";  // "sqlite" | "postgresql"
  std::string path;                // SQLite file
  std::string dsn;                 // PostgreSQL connection string
};
result<std::unique_ptr<history>> open(const options& o);
// For the CLI's --history: a PostgreSQL URI ("postgresql://...", "postgres://...") or
// an SQLite file.
bool is_dsn(const std::string& where);
result<std::unique_ptr<history>> open_location(const std::string& where);

// The schema version of the database and this program's (`store migrate --check`).
struct schema_state {
  int current = 0, target = 0;
};
// Reads the version without migrating (a missing SQLite file is version 0).
result<schema_state> read_schema_state(const options& o);

}  // namespace mxg::store
