#!/usr/bin/env bash
# policy_simulate.sh: `mxguard policy simulate` and `mxguard policy suggest` (issue 9
# section 5) on a history.db whose schema mxguard creates (first run on an empty file)
# and whose rows the sqlite3 CLI inserts: transitions and changed domains counted by
# hand below, --since excluding an old row, --json keys, --reevaluate through an
# in-memory zone (--zone), suggest's exception/permerror/stricter output with the
# linter's finding, and usage errors (bad candidate: FILE:LINE, missing database).
# Bounded: no daemon, no network (the zone is in memory).
set -euo pipefail
: "${MXGUARD:?MXGUARD must name the mxguard binary}"
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 CLI"; exit 77; }  # as quarantine_cli.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT; [ -n "${KEEP:-}" ] && trap - EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
db="$dir/history.db"

cat >"$dir/candidate.toml" <<'TOML'
[server]
hostname = "ignored by simulate"

[spf]
enabled = true
check_helo = false
[spf.actions]
pass = "accept"
fail = "reject"
softfail = "quarantine"
neutral = "accept"
none = "accept"
permerror = "accept"
temperror = "tempfail"
[[spf.rule]]
name = "strict brands"
domains = ["bbb.org", "ups.com", ".ups.com", "fedex.com"]
softfail = "reject"
[[spf.rule]]
name = "broken record, known sender"
domains = ["partner.example"]
all = "accept"
TOML

# An empty file: mxguard creates the schema (and must not create a missing database).
: >"$db"
"$MXGUARD" policy simulate --policy "$dir/candidate.toml" --history "$db" >/dev/null \
  || fail "simulate on an empty history"

now=$(date +%s)
t=$((now - 3600)) old=$((now - 40 * 86400))
row() {  # id time queue_id ip sender result domain decision spf_action [reason]
  sqlite3 "$db" "INSERT INTO messages(id,time,direction,queue_id,listener,client_ip,helo,sender,
      recipients,message_id,subject,spf_result,decision,reason,spf_identity,spf_domain)
    VALUES($1,$2,'inbound','$3','mx','$4','client.example','$5','u@our.test','','',
      '$6','$8','','mailfrom','$7');
    INSERT INTO decisions(message,seq,\"check\",action,rule,monitor,would,reason)
    VALUES($1,0,'spf','$9','',0,'','${10:-spf=$6 domain=$7}');"
}
quar() {  # queue_id time domain ip result released(0/1)
  local rel=NULL by=''
  [ "$6" = 1 ] && rel=$((now - 60)) by=admin
  sqlite3 "$db" "INSERT INTO quarantine(queue_id,time,sender,recipients,subject,reason,
      released_at,released_by,\"check\",rule,spf_result,spf_identity,spf_domain,client_ip,
      sender_domain)
    VALUES('$1',$2,'x@$3','u@our.test','','spf=$5',$rel,'$by','spf','','$5','mailfrom','$3',
      '$4','$3');"
}
# Hand-counted scenario (recorded under the defaults):
#  1-3 ups.com softfail from 203.0.113.5, quarantined; Q1 and Q2 released  -> reject
#  4   partner.example fail, rejected                                      -> accept
#  5   other.example pass, accepted                                        -> accept
#  6   ups.com softfail 40 days ago: outside --since 30d
#  7,8 broken.example permerror, accepted (stored problem)                 -> accept
row 1 $t Q1 203.0.113.5 a@ups.com softfail ups.com quarantine quarantine
row 2 $t Q2 203.0.113.5 b@ups.com softfail ups.com quarantine quarantine
row 3 $t Q3 203.0.113.5 c@ups.com softfail ups.com quarantine quarantine
row 4 $t '' 192.0.2.20 g@partner.example fail partner.example reject reject
row 5 $t Q5 192.0.2.30 i@other.example pass other.example accept accept
row 6 $old Q6 198.51.100.9 z@ups.com softfail ups.com quarantine quarantine
for i in 7 8; do
  row $i $t Q$i 192.0.2.40 a@broken.example permerror broken.example accept accept \
    "spf=permerror domain=broken.example problem=\"unknown mechanism ipv4:192.0.2.1\""
done
quar Q1 $t ups.com 203.0.113.5 softfail 1
quar Q2 $t ups.com 203.0.113.5 softfail 1
quar Q3 $t ups.com 203.0.113.5 softfail 0

out=$("$MXGUARD" policy simulate --policy "$dir/candidate.toml" --history "$db" --since 30d)
echo "$out"
grep -q "7 inbound messages with SPF" <<<"$out" || fail "record count"
grep -Eq "quarantine +-> reject +3" <<<"$out" || fail "quarantine -> reject 3"
grep -Eq "reject +-> accept +1" <<<"$out" || fail "reject -> accept 1"
grep -q "unchanged: accept 3" <<<"$out" || fail "unchanged accept 3"
grep -q "would be rejected (newly): 3, of which 2 were released" <<<"$out" || fail "released"
grep -Eq "ups.com +quarantine -> reject: 3 messages, 2 released, 1 IP, repeats" <<<"$out" \
  || fail "ups.com line"
grep -q "203.0.113.5 (3, repeats)" <<<"$out" || fail "sample IP"

"$MXGUARD" policy simulate --policy "$dir/candidate.toml" --history "$db" --json >"$dir/sim.json"
python3 - "$dir/sim.json" <<'PY' || fail "simulate --json"
import json, sys
j = json.load(open(sys.argv[1]))
assert sorted(j) == ["by_exception", "domains", "excepted", "transitions"], sorted(j)
assert (j["excepted"], j["by_exception"]) == (0, {}), j  # no exception in the store yet
assert j["transitions"] == {"quarantine->reject": 3, "reject->accept": 1,
                            "accept->accept": 3}, j["transitions"]
d = j["domains"]
assert [x["domain"] for x in d] == ["ups.com", "partner.example"], d
assert sorted(d[0]) == ["domain", "from", "ips", "messages", "released", "to"], sorted(d[0])
assert (d[0]["messages"], d[0]["from"], d[0]["to"], d[0]["released"]) == (3, "quarantine", "reject", 2)
assert d[0]["ips"] == [{"ip": "203.0.113.5", "messages": 3, "repeats": True}], d[0]["ips"]
PY

# --reevaluate through an in-memory zone: ups.com now publishes a record that lists
# 203.0.113.5 (pass), so nothing of ups.com would be rejected; partner.example has no
# record (none) and other.example passes.
cat >"$dir/test.zone" <<'ZONE'
$ORIGIN example.
$TTL 300
ups.com.          TXT "v=spf1 ip4:203.0.113.5 ~all"
other.example.    TXT "v=spf1 ip4:192.0.2.30 -all"
broken.example.   TXT "v=spf1 ipv4:192.0.2.1 -all"
ZONE
"$MXGUARD" policy simulate --policy "$dir/candidate.toml" --history "$db" --reevaluate \
  --zone "$dir/test.zone" --json >"$dir/re.json" || fail "simulate --reevaluate"
python3 - "$dir/re.json" <<'PY' || fail "simulate --reevaluate --json"
import json, sys
j = json.load(open(sys.argv[1]))
# ups.com pass: quarantine->accept x3; partner none: reject->accept; other pass: accept;
# broken permerror: accept x2.
assert j["transitions"] == {"quarantine->accept": 3, "reject->accept": 1,
                            "accept->accept": 3}, j["transitions"]
PY

# suggest: ups.com mail from 203.0.113.5 keeps being released (2 of 3) -> exception;
# broken.example -> permerror with the stored problem, and the linter's fix with --zone.
out=$("$MXGUARD" policy suggest --history "$db" --since 30d --min-messages 2)
echo "$out"
grep -q "exception for ups.com" <<<"$out" || fail "exception"
grep -q "2 of 3 quarantined softfail messages were released (67%)" <<<"$out" || fail "evidence"
grep -q 'softfail = "accept"' <<<"$out" || fail "exception snippet"
grep -q "broken SPF record (permerror) at broken.example" <<<"$out" || fail "permerror"
grep -q "stored problem: unknown mechanism ipv4:192.0.2.1" <<<"$out" || fail "stored problem"
"$MXGUARD" policy suggest --history "$db" --zone "$dir/test.zone" --json >"$dir/sug.json"
python3 - "$dir/sug.json" <<'PY' || fail "suggest --json with the linter"
import json, sys
j = json.load(open(sys.argv[1]))
s = {(x["kind"], x["domain"]): x for x in j["suggestions"]}
p = s[("permerror", "broken.example")]
assert "lint" in p and "ip4" in p["lint"]["fix"], p
assert ("exception", "ups.com") in s, list(s)
PY

# Policy exceptions of the store (issue 11) apply as in the gateway: ups.com from
# 203.0.113.0/24 turns the candidate's reject of rows 1-3 into a tag; --no-exceptions
# shows the raw rule again. An expired exception (partner.example) changes nothing.
out=$("$MXGUARD" policy exceptions add --history "$db" --scope domain_net --domain ups.com \
  --net 203.0.113.0/24 --by test) || fail "exceptions add"
exc=$(awk '{print $2}' <<<"$out")
"$MXGUARD" policy exceptions add --history "$db" --scope sender --sender g@partner.example \
  --expires-at $((now - 10)) --by test >/dev/null || fail "exceptions add (expired)"
out=$("$MXGUARD" policy simulate --policy "$dir/candidate.toml" --history "$db" --since 30d)
echo "$out"
grep -q "3 decisions changed to tag by policy exceptions: $exc (3)" <<<"$out" \
  || fail "excepted count"
grep -Eq "quarantine +-> tag +3" <<<"$out" || fail "quarantine -> tag 3"
grep -Eq "reject +-> accept +1" <<<"$out" || fail "reject -> accept 1 (expired exception)"
grep -q "would be rejected (newly): 0" <<<"$out" || fail "nothing newly rejected"
"$MXGUARD" policy simulate --policy "$dir/candidate.toml" --history "$db" --json >"$dir/exc.json"
python3 - "$dir/exc.json" "$exc" <<'PY' || fail "simulate --json with exceptions"
import json, sys
j = json.load(open(sys.argv[1]))
assert (j["excepted"], j["by_exception"]) == (3, {sys.argv[2]: 3}), j
PY
out=$("$MXGUARD" policy simulate --policy "$dir/candidate.toml" --history "$db" --no-exceptions)
grep -q "policy exceptions not applied" <<<"$out" || fail "--no-exceptions says so"
grep -Eq "quarantine +-> reject +3" <<<"$out" || fail "--no-exceptions: the raw rule"

# Usage errors: a bad candidate names FILE:LINE; a missing database is not created.
printf '[spf]\n[spf.actions]\nsoftfial = "reject"\n' >"$dir/bad.toml"
set +e
err=$("$MXGUARD" policy simulate --policy "$dir/bad.toml" --history "$db" 2>&1); rc=$?
set -e
[ $rc = 2 ] || fail "bad candidate exit $rc"
grep -q "bad.toml:3: unknown key 'softfial'" <<<"$err" || fail "bad candidate message: $err"
set +e
"$MXGUARD" policy simulate --policy "$dir/candidate.toml" --history "$dir/none.db" 2>/dev/null
rc=$?
set -e
[ $rc = 2 ] || fail "missing database exit $rc"
[ ! -e "$dir/none.db" ] || fail "a missing database was created"
echo "policy_simulate: ok"
