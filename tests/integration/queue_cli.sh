#!/usr/bin/env bash
# queue_cli.sh: `mxguard queue` offline on a queue directory written by hand in the
# documented format (docs/queue.md): list, show [--body], --json, hold, release,
# delete, refusal of a control file without end marker, and refusal to change a queue
# whose lock another process holds; then the same for a format B message file
# (messages/<id>.msg: data, envelope, end marker; its .st state file) written by hand.
# Both formats on purpose (docs/queue.md "Queue formats"): the first part writes and
# reads format A's files (.data + .ctl, rewritten in place by hold/release) directly,
# whatever the default format; the second part format B's (.msg, .st).
# Bounded: no daemon, no network.
set -euo pipefail
: "${MXGUARD:?MXGUARD must name the mxguard binary}"
dir=$(mktemp -d)
lockpid=
cleanup() { [ -n "$lockpid" ] && kill "$lockpid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

q="$dir/queue/capture"
mkdir -p "$q/messages"
# ---- format A (split): .data, then the control file with its end marker
id=00661A2B3C4D5A3F9C
printf 'subject: test of the capture-only instance\r\n\r\nJust a test!\r\n-Dr J\r\n' >"$q/messages/$id.data"
size=$(wc -c <"$q/messages/$id.data")
cat >"$q/messages/$id.ctl" <<CTL
mxguard-queue: 1
id: $id
created: 2026-11-28T03:16:40Z
sender: drj@drj.test
recipient: pending user@drj.test
client-ip: 127.0.0.1
helo: localhost
listener: capture
mode: hold
size: $size
end: $id
CTL
mxq() { "$MXGUARD" queue --offline --queue-dir "$dir/queue" "$@"; }

# list: the per-listener queues under --queue-dir are found.
out=$(mxq list) || fail "list exit $?"
grep -q "^$id .* hold .*drj@drj.test" <<<"$out" || fail "list: $out"
grep -q "pending *user@drj.test" <<<"$out" || fail "list recipient: $out"
grep -q -- "-- 1 message" <<<"$out" || fail "list summary: $out"

# show --body
out=$(mxq show "$id" --body) || fail "show exit $?"
grep -q "^sender: *drj@drj.test" <<<"$out" || fail "show: $out"
grep -q "Just a test!" <<<"$out" || fail "show --body: $out"

# --json (valid JSON, checked by python)
mxq list --json | /usr/bin/python3 -c '
import json,sys
j=json.load(sys.stdin)
assert j["count"]==1, j
m=j["messages"][0]
assert m["id"]=="'"$id"'" and m["mode"]=="hold" and m["recipients"][0]["address"]=="user@drj.test", m
' || fail "list --json"

# release / hold change the control file (still a valid one, with its end marker)
mxq release "$id" >/dev/null || fail "release"
grep -q "^mode: deliver$" "$q/messages/$id.ctl" || fail "release did not change mode"
mxq hold "$id" >/dev/null || fail "hold"
grep -q "^mode: hold$" "$q/messages/$id.ctl" || fail "hold did not change mode"
tail -n1 "$q/messages/$id.ctl" | grep -q "^end: $id$" || fail "end marker lost"

# bad ids: usage error (2); unknown id: 1
set +e
mxq show ../../etc/passwd 2>/dev/null; rc=$?
[ $rc -eq 2 ] || fail "bad id exit $rc"
mxq show 00661A2B3C4D5A3F9D 2>/dev/null; rc=$?
[ $rc -eq 1 ] || fail "unknown id exit $rc"
set -e

# a control file without its end marker is listed as unreadable (exit 1)
bad=00661A2B3C4D5A3FA0
head -n -1 "$q/messages/$id.ctl" | sed "s/$id/$bad/" >"$q/messages/$bad.ctl"
set +e
out=$(mxq list 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "list with unreadable exit $rc"
grep -q "$bad *unreadable: .*no end marker" <<<"$out" || fail "unreadable: $out"
rm "$q/messages/$bad.ctl"

# another process holds the queue lock: changes are refused with 75, reads still work
touch "$q/lock"
/usr/bin/python3 -c 'import fcntl,sys,time
f=open(sys.argv[1],"a"); fcntl.flock(f,fcntl.LOCK_EX); time.sleep(30)' "$q/lock" &
lockpid=$!
for _ in $(seq 50); do flock -n "$q/lock" true 2>/dev/null || break; sleep 0.1; done
set +e
mxq hold "$id" 2>/dev/null; rc=$?
set -e
[ $rc -eq 75 ] || fail "hold under a foreign lock exit $rc"
mxq show "$id" >/dev/null || fail "show under a foreign lock"
kill "$lockpid"; wait "$lockpid" 2>/dev/null || true; lockpid=

# delete removes both files
mxq delete "$id" >/dev/null || fail "delete"
[ -z "$(ls -A "$q/messages")" ] || fail "files left after delete: $(ls "$q/messages")"
out=$(mxq list) || fail "empty list exit $?"
grep -q -- "-- 0 messages" <<<"$out" || fail "empty list: $out"

# ---- format B (docs/queue.md "Queue formats"): one file, the envelope after the data,
# then "mxguard-end: ID OFFSET(16 hex) LENGTH(8 hex)"
id=00661A2B3C4D5A3FB0
body=$'subject: one file\r\n\r\nSingle file body\r\n'
env=$(printf 'mxguard-queue: 1\nid: %s\ncreated: 2026-11-28T03:16:40Z\nsender: drj@drj.test\nrecipient: pending one@drj.test\nclient-ip: 127.0.0.1\nhelo: localhost\nlistener: capture\nmode: hold\nsize: %d\nend: %s\n_' "$id" "${#body}" "$id")
env=${env%_}
{ printf '%s' "$body"; printf '%s' "$env"; printf 'mxguard-end: %s %016x %08x\n' "$id" "${#body}" "${#env}"; } >"$q/messages/$id.msg"
out=$(mxq list) || fail "B list exit $?"
grep -q "^$id .* hold .*drj@drj.test" <<<"$out" || fail "B list: $out"
out=$(mxq show "$id" --body) || fail "B show exit $?"
grep -q "one@drj.test pending" <<<"$out" || fail "B show: $out"
grep -q "Single file body" <<<"$out" || fail "B show --body: $out"
grep -q "mxguard-end" <<<"$out" && fail "B show --body prints the envelope: $out"
before=$(sha256sum <"$q/messages/$id.msg")
mxq release "$id" >/dev/null || fail "B release"
grep -q "^mode: deliver$" "$q/messages/$id.st" || fail "B release did not write the .st file"
[ "$(sha256sum <"$q/messages/$id.msg")" = "$before" ] || fail "B release rewrote the .msg file"
mxq show "$id" | grep -q "deliver" || fail "B show after release"
# a copy cut inside its end marker is unreadable (exit 1)
bad=00661A2B3C4D5A3FB1
head -c -2 "$q/messages/$id.msg" >"$q/messages/$bad.msg"
set +e
out=$(mxq list 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "B list with unreadable exit $rc"
grep -q "$bad *unreadable: .*end marker" <<<"$out" || fail "B unreadable: $out"
rm "$q/messages/$bad.msg"
mxq delete "$id" >/dev/null || fail "B delete"
[ -z "$(ls -A "$q/messages")" ] || fail "B files left after delete: $(ls "$q/messages")"
echo "queue_cli: OK"
