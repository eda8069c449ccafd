#!/usr/bin/env bash
# quarantine_cli.sh: `mxguard quarantine` offline (issue 9 section 3) on a state
# directory built by hand: queued messages in the documented format (docs/queue.md;
# tests/support/queue_put.py writes $MXG_QUEUE_FORMAT, else the default format)
# marked quarantined ("quarantine: <reason>", queue/report.hpp), and a history.db
# created with the first release's schema (version 1) by the sqlite3 CLI, so the first
# command also migrates it. Checks list filters, show --body, release exactly once
# (a second release exits 1 and leaves the message's files alone), delete, release
# --domain, report ordering and JSON, and refusal under a foreign queue lock; then
# online: `mxguard serve` (hold mode) owns the queue and a release goes through its
# control socket, once.
# Bounded: no daemon, no network.
set -euo pipefail
: "${MXGUARD:?MXGUARD must name the mxguard binary}"
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 CLI"; exit 77; }
dir=$(mktemp -d)
lockpid= servepid=
cleanup() {
  [ -n "$lockpid" ] && kill "$lockpid" 2>/dev/null
  [ -n "$servepid" ] && kill "$servepid" 2>/dev/null && wait "$servepid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT; [ -n "${KEEP:-}" ] && trap - EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
src=${MXG_SOURCE_DIR:-$(dirname "$0")/../..}

q="$dir/queue/mx"
mkdir -p "$q/messages"
A=00661A2B3C4D5A3F01 B=00661A2B3C4D5A3F02 C=00661A2B3C4D5A3F03 D=00661A2B3C4D5A3F04
now=$(date +%s)
msg() {  # id sender
  printf 'Subject: about %s\r\n\r\nbody of %s\r\n' "$1" "$1" >"$dir/$1.body"
  local size; size=$(wc -c <"$dir/$1.body")
  /usr/bin/python3 "$src/tests/support/queue_put.py" "$q" "$1" "$dir/$1.body" >/dev/null <<CTL
mxguard-queue: 1
id: $1
created: 2026-11-28T03:16:40Z
sender: $2
recipient: pending user@our.test
client-ip: 192.0.2.9
helo: mail.example
listener: mx
mode: hold
size: $size
x-quarantine: spf softfail
end: $1
CTL
}
# The envelope as `mxguard queue show` prints it (either queue format), and a checksum
# of every file of a message.
qshow() { "$MXGUARD" queue --offline --queue-dir "$dir/queue" show "$1"; }
files_sum() { cat "$q/messages/$1".* | md5sum; }
msg $A a@ups.com
msg $B b@ups.com
msg $C c@ups.com
msg $D d@partner.example

db="$dir/history.db"
sqlite3 "$db" <<SQL
CREATE TABLE messages (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, direction TEXT NOT NULL,
  queue_id TEXT, listener TEXT, client_ip TEXT, helo TEXT, sender TEXT, recipients TEXT,
  message_id TEXT, subject TEXT, spf_result TEXT, decision TEXT, reason TEXT);
CREATE TABLE recipients (message INTEGER NOT NULL REFERENCES messages(id), address TEXT NOT NULL,
  time INTEGER NOT NULL, direction TEXT NOT NULL);
CREATE TABLE quarantine (queue_id TEXT PRIMARY KEY, time INTEGER NOT NULL, sender TEXT,
  recipients TEXT, subject TEXT, reason TEXT, released_at INTEGER, released_by TEXT);
INSERT INTO quarantine VALUES('$A', $((now - 300)), 'a@UPS.com', 'user@our.test', 'about A', 'spf softfail', NULL, NULL);
INSERT INTO quarantine VALUES('$B', $((now - 200)), 'b@ups.com', 'user@our.test', 'about B', 'spf softfail', NULL, NULL);
INSERT INTO quarantine VALUES('$C', $((now - 100)), 'c@ups.com', 'user@our.test', 'about C', 'spf softfail', NULL, NULL);
INSERT INTO quarantine VALUES('$D', $((now - 10 * 86400)), 'd@partner.example', 'user@our.test', 'about D', 'spf softfail', NULL, NULL);
PRAGMA user_version=1;
SQL
mxq() { "$MXGUARD" quarantine --history "$db" --queue-dir "$dir/queue" --socket "$dir/none.sock" "$@"; }

# The first command migrates the version-1 index; then the new columns are filled.
out=$(mxq list) || fail "list exit $?"
[ "$(sqlite3 "$db" 'PRAGMA user_version')" = 6 ] || fail "not migrated to the current schema (6: release requests)"
sqlite3 "$db" <<SQL
UPDATE quarantine SET "check"='spf', spf_result='softfail', client_ip='192.0.2.9', listener='mx',
  size=40, rule='strict brands';
UPDATE quarantine SET client_ip='198.51.100.1' WHERE queue_id='$C';
UPDATE quarantine SET rule='' WHERE queue_id='$D';
SQL

out=$(mxq list) || fail "list exit $?"
for id in $A $B $C $D; do grep -q "^$id .*spf .*strict\|^$id " <<<"$out" || fail "list misses $id: $out"; done
grep -q -- "-- 4 messages" <<<"$out" || fail "list summary: $out"
grep -q "^$A .* strict brands .*softfail .*<a@UPS.com> .*192.0.2.9 .* 40 held$" <<<"$out" || fail "list row: $out"
out=$(mxq list --domain ups.com --since 1d) || fail "list --domain"
grep -q -- "-- 3 messages" <<<"$out" || fail "list --domain: $out"
out=$(mxq list --since 7d) || fail "list --since"
grep -q -- "-- 3 messages" <<<"$out" || fail "list --since 7d: $out"
out=$(mxq list --rule "strict brands" --reason spf) || fail "list --rule"
grep -q -- "-- 3 messages" <<<"$out" || fail "list --rule: $out"
set +e
mxq list --since 7x 2>/dev/null; rc=$?
set -e
[ $rc -eq 2 ] || fail "bad --since exit $rc"

# show --body: the index entry, the queued envelope, the message
out=$(mxq show $A --body) || fail "show exit $?"
grep -q "^rule: *strict brands" <<<"$out" || fail "show rule: $out"
grep -q "^sender: *a@ups.com" <<<"$out" || fail "show envelope: $out"
grep -q "body of $A" <<<"$out" || fail "show body: $out"
mxq show $A --json | /usr/bin/python3 -c '
import json,sys
j=json.load(sys.stdin)
assert j["entry"]["id"]=="'"$A"'" and j["entry"]["status"]=="held" and j["entry"]["sender_domain"]=="ups.com", j
assert j["message"]["mode"]=="hold", j
' || fail "show --json"

# release: once
out=$(mxq release $A --by alice) || fail "release exit $?"
grep -q "^$A: released" <<<"$out" || fail "release: $out"
out=$(qshow $A) || fail "queue show $A"
grep -q "^mode: *deliver$" <<<"$out" || fail "release did not change mode: $out"
grep -q "^x-quarantine-released: " <<<"$out" || fail "release did not mark the envelope: $out"
[ "$(sqlite3 "$db" "SELECT released_by FROM quarantine WHERE queue_id='$A'")" = alice ] || fail "released_by"
sum=$(files_sum $A)
set +e
err=$(mxq release $A --by bob 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 1 ] || fail "second release exit $rc"
grep -q "already released" <<<"$err" || fail "second release said: $err"
[ "$(files_sum $A)" = "$sum" ] || fail "second release touched the message's files"
[ "$(sqlite3 "$db" "SELECT released_by FROM quarantine WHERE queue_id='$A'")" = alice ] || fail "released_by changed"

# delete
out=$(mxq delete $B) || fail "delete exit $?"
grep -q "^$B: deleted" <<<"$out" || fail "delete: $out"
[ -z "$(ls "$q/messages" | grep "^$B\.")" ] || fail "delete left files: $(ls "$q/messages")"
[ -n "$(sqlite3 "$db" "SELECT deleted_at FROM quarantine WHERE queue_id='$B'")" ] || fail "deleted_at"
set +e
mxq release $B 2>/dev/null; rc=$?
set -e
[ $rc -eq 1 ] || fail "release of a deleted message exit $rc"

# a foreign queue lock: release refused with 75, nothing changed
touch "$q/lock"
/usr/bin/python3 -c 'import fcntl,sys,time
f=open(sys.argv[1],"a"); fcntl.flock(f,fcntl.LOCK_EX); time.sleep(30)' "$q/lock" &
lockpid=$!
for _ in $(seq 50); do flock -n "$q/lock" true 2>/dev/null || break; sleep 0.1; done
set +e
mxq release $C 2>/dev/null; rc=$?
set -e
[ $rc -eq 75 ] || fail "release under a foreign lock exit $rc"
qshow $C | grep -q "^mode: *hold$" || fail "released under a foreign lock"
kill "$lockpid"; wait "$lockpid" 2>/dev/null || true; lockpid=

# release --domain: the open ones of that domain (C only now)
out=$(mxq release --domain UPS.COM) || fail "release --domain exit $?"
[ "$(grep -c released <<<"$out")" = 1 ] && grep -q "^$C: released" <<<"$out" || fail "release --domain: $out"

# list hides released/deleted unless --all
out=$(mxq list) || fail "list"
grep -q -- "-- 1 messages" <<<"$out" || fail "list after: $out"
out=$(mxq list --all) || fail "list --all"
grep -q "^$B .*deleted$" <<<"$out" || fail "list --all: $out"

# report: ups.com/strict brands (2 of 3 released) before partner.example (0 of 1)
out=$(mxq report) || fail "report exit $?"
head -n2 <<<"$out" | tail -n1 | grep -q "^ups.com .*strict brands .* 3 *2 *67%" || fail "report: $out"
mxq report --json | /usr/bin/python3 -c '
import json,sys
g=json.load(sys.stdin)["groups"]
assert [x["domain"] for x in g]==["ups.com","partner.example"], g
u=g[0]
assert u["rule"]=="strict brands" and u["check"]=="spf" and u["quarantined"]==3 and u["released"]==2, u
assert abs(u["release_rate"]-2/3)<1e-9, u
assert u["top_ips"]==[{"ip":"192.0.2.9","count":2},{"ip":"198.51.100.1","count":1}], u
' || fail "report --json"
out=$(mxq report --since 1d --json) || fail "report --since"
/usr/bin/python3 -c 'import json,sys; assert len(json.loads(sys.argv[1])["groups"])==1' "$out" || fail "report --since: $out"

# online: the server (default listener queue <state>/queue/capture) holds the queue
# lock; release goes through the control socket, the queue found by its message files
E=00661A2B3C4D5A3F05
msg $E e@ups.com
sqlite3 "$db" "INSERT INTO quarantine(queue_id,time,sender,recipients,\"check\",listener,sender_domain) VALUES('$E', $now, 'e@ups.com', 'user@our.test', 'spf', 'mx', 'ups.com')"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$dir" && mkdir -p var/queue && mv queue/mx var/queue/capture && mv history.db* var/ && exec "$MXGUARD" serve --listen 127.0.0.1:$port --delivery-mode hold) >"$dir/serve.log" 2>&1 &
servepid=$!
for _ in $(seq 100); do [ -S "$dir/var/control.sock" ] && break; sleep 0.1; done
[ -S "$dir/var/control.sock" ] || fail "serve did not start: $(cat "$dir/serve.log")"
mxo() { (cd "$dir" && "$MXGUARD" quarantine "$@"); }
out=$(mxo release $E --by olive) || fail "online release exit $?: $out"
grep -q "^$E: released" <<<"$out" || fail "online release: $out"
set +e
err=$(mxo release $E 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 1 ] && grep -q "already released by olive" <<<"$err" || fail "online second release ($rc): $err"
grep -q "quarantine released qid=$E by=olive via=control-socket" "$dir/serve.log" || fail "serve log: $(cat "$dir/serve.log")"
[ "$(grep -c "qid=$E .*released$" "$dir/serve.log")" = 1 ] || fail "released more than once"
echo "quarantine_cli: OK"
