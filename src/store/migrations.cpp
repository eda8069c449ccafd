// migrations.cpp: the schema steps of migrations.hpp. ("check" is an SQL keyword:
// always quoted.)
#include "store/migrations.hpp"

#include <array>

namespace mxg::store {

namespace {

// Version 1, as the first release created it.
constexpr const char* kV1Sqlite = R"sql(
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  direction TEXT NOT NULL,
  queue_id TEXT, listener TEXT, client_ip TEXT, helo TEXT,
  sender TEXT, recipients TEXT, message_id TEXT, subject TEXT,
  spf_result TEXT, decision TEXT, reason TEXT);
CREATE INDEX IF NOT EXISTS messages_time ON messages(time);
CREATE INDEX IF NOT EXISTS messages_msgid ON messages(message_id);
CREATE TABLE IF NOT EXISTS recipients (
  message INTEGER NOT NULL REFERENCES messages(id), address TEXT NOT NULL, time INTEGER NOT NULL,
  direction TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recipients_address ON recipients(address, direction, time);
CREATE TABLE IF NOT EXISTS quarantine (
  queue_id TEXT PRIMARY KEY, time INTEGER NOT NULL, sender TEXT, recipients TEXT,
  subject TEXT, reason TEXT, released_at INTEGER, released_by TEXT);
)sql";

constexpr const char* kV1Postgres = R"sql(
CREATE TABLE IF NOT EXISTS messages (
  id BIGSERIAL PRIMARY KEY,
  time BIGINT NOT NULL,
  direction TEXT NOT NULL,
  queue_id TEXT, listener TEXT, client_ip TEXT, helo TEXT,
  sender TEXT, recipients TEXT, message_id TEXT, subject TEXT,
  spf_result TEXT, decision TEXT, reason TEXT);
CREATE INDEX IF NOT EXISTS messages_time ON messages(time);
CREATE INDEX IF NOT EXISTS messages_msgid ON messages(message_id);
CREATE TABLE IF NOT EXISTS recipients (
  message BIGINT NOT NULL REFERENCES messages(id), address TEXT NOT NULL, time BIGINT NOT NULL,
  direction TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recipients_address ON recipients(address, direction, time);
CREATE TABLE IF NOT EXISTS quarantine (
  queue_id TEXT PRIMARY KEY, time BIGINT NOT NULL, sender TEXT, recipients TEXT,
  subject TEXT, reason TEXT, released_at BIGINT, released_by TEXT);
)sql";

// Version 1 -> 2 (issue 9): what policy simulation needs per message, every decision
// of a transaction, and one quarantine index for every reason.
constexpr const char* kV2Sqlite = R"sql(
ALTER TABLE messages ADD COLUMN spf_identity TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN spf_domain TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN spf_mechanism TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN reply TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS recipients_message ON recipients(message);
CREATE TABLE IF NOT EXISTS decisions (
  message INTEGER NOT NULL REFERENCES messages(id), seq INTEGER NOT NULL,
  "check" TEXT NOT NULL, action TEXT NOT NULL, rule TEXT NOT NULL, monitor INTEGER NOT NULL,
  would TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (message, seq)) WITHOUT ROWID;
ALTER TABLE quarantine ADD COLUMN "check" TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN spf_result TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN spf_identity TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN spf_domain TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN helo TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN listener TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN queue_dir TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE quarantine ADD COLUMN deleted_at INTEGER;
ALTER TABLE quarantine ADD COLUMN deleted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN sender_domain TEXT NOT NULL DEFAULT '';
UPDATE quarantine SET sender_domain = lower(substr(sender, instr(sender, '@') + 1))
  WHERE instr(sender, '@') > 0;
UPDATE quarantine SET released_by = '' WHERE released_by IS NULL;
CREATE INDEX IF NOT EXISTS quarantine_time ON quarantine(time);
CREATE INDEX IF NOT EXISTS quarantine_domain ON quarantine(sender_domain, time);
CREATE INDEX IF NOT EXISTS quarantine_rule ON quarantine(rule, time);
)sql";

constexpr const char* kV2Postgres = R"sql(
ALTER TABLE messages ADD COLUMN spf_identity TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN spf_domain TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN spf_mechanism TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN reply TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS recipients_message ON recipients(message);
CREATE TABLE IF NOT EXISTS decisions (
  message BIGINT NOT NULL REFERENCES messages(id), seq INTEGER NOT NULL,
  "check" TEXT NOT NULL, action TEXT NOT NULL, rule TEXT NOT NULL, monitor INTEGER NOT NULL,
  would TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (message, seq));
ALTER TABLE quarantine ADD COLUMN "check" TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN spf_result TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN spf_identity TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN spf_domain TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN helo TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN listener TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN queue_dir TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE quarantine ADD COLUMN deleted_at BIGINT;
ALTER TABLE quarantine ADD COLUMN deleted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantine ADD COLUMN sender_domain TEXT NOT NULL DEFAULT '';
UPDATE quarantine SET sender_domain = lower(substr(sender, strpos(sender, '@') + 1))
  WHERE strpos(sender, '@') > 0;
UPDATE quarantine SET released_by = '' WHERE released_by IS NULL;
CREATE INDEX IF NOT EXISTS quarantine_time ON quarantine(time);
CREATE INDEX IF NOT EXISTS quarantine_domain ON quarantine(sender_domain, time);
CREATE INDEX IF NOT EXISTS quarantine_rule ON quarantine(rule, time);
)sql";

// Version 2 -> 3 (issue 10): message authentication for aggregate reports (RFC 9990)
// and simulation over [dmarc]: the DMARC outcome and the record that applied on the
// message row, and every DKIM signature's result in its own table (header order = seq).
#define MXG_V3_COMMON                                                                \
  "ALTER TABLE messages ADD COLUMN header_from TEXT NOT NULL DEFAULT '';\n"          \
  "ALTER TABLE messages ADD COLUMN dmarc_result TEXT NOT NULL DEFAULT '';\n"         \
  "ALTER TABLE messages ADD COLUMN dmarc_policy TEXT NOT NULL DEFAULT '';\n"         \
  "ALTER TABLE messages ADD COLUMN dmarc_policy_domain TEXT NOT NULL DEFAULT '';\n"  \
  "ALTER TABLE messages ADD COLUMN dmarc_record TEXT NOT NULL DEFAULT '';\n"         \
  "ALTER TABLE messages ADD COLUMN dmarc_dkim_aligned INTEGER NOT NULL DEFAULT 0;\n" \
  "ALTER TABLE messages ADD COLUMN dmarc_spf_aligned INTEGER NOT NULL DEFAULT 0;\n"  \
  "ALTER TABLE messages ADD COLUMN arc_result TEXT NOT NULL DEFAULT '';\n"

constexpr const char* kV3Sqlite = MXG_V3_COMMON R"sql(
CREATE TABLE IF NOT EXISTS dkim_results (
  message INTEGER NOT NULL REFERENCES messages(id), seq INTEGER NOT NULL,
  domain TEXT NOT NULL, selector TEXT NOT NULL, result TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (message, seq)) WITHOUT ROWID;
)sql";

constexpr const char* kV3Postgres = MXG_V3_COMMON R"sql(
CREATE TABLE IF NOT EXISTS dkim_results (
  message BIGINT NOT NULL REFERENCES messages(id), seq INTEGER NOT NULL,
  domain TEXT NOT NULL, selector TEXT NOT NULL, result TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (message, seq));
)sql";

#undef MXG_V3_COMMON

// Version 3 -> 4 (issue 14): several gateways, one database. A unique uid per history
// record (the writer's idempotent key: a replayed spool never records twice; NULL for
// rows written before), the host that recorded a message and the host whose queue
// holds a quarantined body, and the remote release work list (a release issued on a
// host that does not hold the message; the owner carries it out and marks it done).
// At most one pending release per message (remote_releases_one_pending).
#define MXG_V4_COMMON                                                                    \
  "ALTER TABLE messages ADD COLUMN uid TEXT;\n"                                          \
  "ALTER TABLE messages ADD COLUMN host TEXT NOT NULL DEFAULT '';\n"                     \
  "CREATE UNIQUE INDEX IF NOT EXISTS messages_uid ON messages(uid);\n"                   \
  "ALTER TABLE quarantine ADD COLUMN host TEXT NOT NULL DEFAULT '';\n"                   \
  "CREATE INDEX IF NOT EXISTS remote_releases_host ON remote_releases(host, done_at);\n" \
  "CREATE UNIQUE INDEX IF NOT EXISTS remote_releases_one_pending ON "                    \
  "remote_releases(queue_id) WHERE done_at IS NULL;\n"

constexpr const char* kV4Sqlite = R"sql(
CREATE TABLE IF NOT EXISTS remote_releases (
  id INTEGER PRIMARY KEY, queue_id TEXT NOT NULL, host TEXT NOT NULL,
  requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL, done_at INTEGER,
  result TEXT NOT NULL DEFAULT '');
)sql" MXG_V4_COMMON;

constexpr const char* kV4Postgres = R"sql(
CREATE TABLE IF NOT EXISTS remote_releases (
  id BIGSERIAL PRIMARY KEY, queue_id TEXT NOT NULL, host TEXT NOT NULL,
  requested_by TEXT NOT NULL, requested_at BIGINT NOT NULL, done_at BIGINT,
  result TEXT NOT NULL DEFAULT '');
)sql" MXG_V4_COMMON;

#undef MXG_V4_COMMON

// Version 4 -> 5 (issue 11): policy exceptions made by "release and allow"
// (policy/exception.hpp). A deleted one keeps its row (deleted_at, deleted_by).
#define MXG_V5_COLUMNS                                                                     \
  "kind TEXT NOT NULL, sender TEXT NOT NULL DEFAULT '', domain TEXT NOT NULL DEFAULT '', " \
  "net TEXT NOT NULL DEFAULT '', created_by TEXT NOT NULL, "

constexpr const char* kV5Sqlite =
    "CREATE TABLE IF NOT EXISTS policy_exceptions (id INTEGER PRIMARY KEY, " MXG_V5_COLUMNS
    "created_at INTEGER NOT NULL, expires_at INTEGER, note TEXT NOT NULL DEFAULT '', "
    "queue_id TEXT NOT NULL DEFAULT '', deleted_at INTEGER, deleted_by TEXT NOT NULL DEFAULT "
    "'');\n";

constexpr const char* kV5Postgres =
    "CREATE TABLE IF NOT EXISTS policy_exceptions (id BIGSERIAL PRIMARY KEY, " MXG_V5_COLUMNS
    "created_at BIGINT NOT NULL, expires_at BIGINT, note TEXT NOT NULL DEFAULT '', "
    "queue_id TEXT NOT NULL DEFAULT '', deleted_at BIGINT, deleted_by TEXT NOT NULL DEFAULT "
    "'');\n";

#undef MXG_V5_COLUMNS

// Version 5 -> 6 (issue 11): release requests. A helpdesk user whose release needs an
// admin's approval ([console] approval_domains), or a recipient following the digest's
// link, files a request; an admin approves (the normal release, remote paths included)
// or denies it. state: pending | approved | denied | cancelled (the message was released,
// deleted or expired before a decision). At most one pending request per message
// (release_requests_one_pending). `host` is the gateway that held the body when asked.
#define MXG_V6_COLUMNS                                                                  \
  "queue_id TEXT NOT NULL, host TEXT NOT NULL DEFAULT '', requested_by TEXT NOT NULL, " \
  "comment TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT 'pending', "           \
  "decided_by TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '', "
#define MXG_V6_INDEXES                                                                  \
  "CREATE INDEX IF NOT EXISTS release_requests_state ON release_requests(state, id);\n" \
  "CREATE UNIQUE INDEX IF NOT EXISTS release_requests_one_pending ON "                  \
  "release_requests(queue_id) WHERE state = 'pending';\n"

constexpr const char* kV6Sqlite =
    "CREATE TABLE IF NOT EXISTS release_requests (id INTEGER PRIMARY KEY, " MXG_V6_COLUMNS
    "requested_at INTEGER NOT NULL, decided_at INTEGER);\n" MXG_V6_INDEXES;

constexpr const char* kV6Postgres =
    "CREATE TABLE IF NOT EXISTS release_requests (id BIGSERIAL PRIMARY KEY, " MXG_V6_COLUMNS
    "requested_at BIGINT NOT NULL, decided_at BIGINT);\n" MXG_V6_INDEXES;

#undef MXG_V6_COLUMNS
#undef MXG_V6_INDEXES

constexpr std::array kMigrations{
    migration{1, "history, recipients and the quarantine index", kV1Sqlite, kV1Postgres},
    migration{2, "decisions per message, one quarantine index for every reason (issue 9)",
              kV2Sqlite, kV2Postgres},
    migration{3, "DMARC/ARC results per message, DKIM results per signature (issue 10)", kV3Sqlite,
              kV3Postgres},
    migration{4, "record uids and hosts, quarantine host, remote releases (issue 14)", kV4Sqlite,
              kV4Postgres},
    migration{5, "policy exceptions of \"release and allow\" (issue 11)", kV5Sqlite, kV5Postgres},
    migration{6, "release requests and their decisions (issue 11)", kV6Sqlite, kV6Postgres},
};

}  // namespace

std::span<const migration> migrations() {
  return kMigrations;
}

int schema_version() {
  return kMigrations.back().version;
}

}  // namespace mxg::store
