#!/usr/bin/env bash
# spf_check_dnsmasq.sh: `mxguard spf check` end to end through the real c-ares path
# (RFC 7208 over real DNS) against dnsmasq on 127.0.0.1 and a free high port, serving
# real-world records: the typo record with "ipv4:" (permerror for every client IP with
# the offset-62 diagnostic), "v=spf1 ip4:72.241.62.1/26 ~all" (pass inside the /26,
# softfail outside), an include + mx + exp record; checks exit codes, --json fields,
# --trace and --batch (input order kept).
# Needs: $MXGUARD, /usr/sbin/dnsmasq, /usr/bin/python3. Bounded: 300 ms per DNS try.
set -euo pipefail
: "${MXGUARD:?MXGUARD must point to the mxguard binary}"
DNSMASQ=/usr/sbin/dnsmasq
[ -x "$DNSMASQ" ] || { echo "SKIP: $DNSMASQ not installed"; exit 77; }

tmp=$(mktemp -d)
# shellcheck source=../support/dnsmasq_lib.sh
source "${MXG_SOURCE_DIR:-$(dirname "$0")/../..}/tests/support/dnsmasq_lib.sh"
cleanup() { stop_dnsmasq; rm -rf "$tmp"; }
trap cleanup EXIT
TYPO='v=spf1 mx ip4:24.214.64.230 ip4:24.214.64.231 ip4:64.8.71.110 ipv4:64.8.71.111 ipv4:64.8.71.112 -all'

start_dnsmasq \
    --auth-server=ns.example.test,127.0.0.1 --auth-zone=example.test \
    --auth-soa=1,hostmaster.example.test,1200,120,604800,600 --auth-ttl=300 --local-ttl=300 \
    "--txt-record=typo.example.test,$TYPO" \
    --mx-host=typo.example.test,mail.typo.example.test,10 \
    --host-record=mail.typo.example.test,24.214.64.229 \
    "--txt-record=slash26.example.test,v=spf1 ip4:72.241.62.1/26 ~all" \
    "--txt-record=inc.example.test,v=spf1 include:slash26.example.test mx -all exp=why.example.test" \
    "--txt-record=why.example.test,%{i} is not allowed to send mail for %{d}" \
    --mx-host=inc.example.test,mx.inc.example.test,10 \
    --host-record=mx.inc.example.test,192.0.2.25,2001:db8::25
port=$DNSMASQ_PORT

fails=0
check() {  # check IP SENDER WANT_EXIT [GREP]
  local ip=$1 sender=$2 want=$3 pattern=${4:-}
  local out rc=0
  out=$("$MXGUARD" spf check --dns "127.0.0.1:$port" --dns-timeout 300 --dns-tries 2 \
        --receiver mx.receiver.test --ip "$ip" --sender "$sender" 2>&1) || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: $ip $sender: exit $rc, want $want"; echo "$out"; fails=$((fails+1)); return
  fi
  if [ -n "$pattern" ] && ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAIL: $ip $sender: output lacks: $pattern"; echo "$out"; fails=$((fails+1)); return
  fi
  echo "ok   $ip $sender -> exit $rc"
}

DIAG='unknown mechanism "ipv4:64.8.71.111" at offset 62 (did you mean ip4:?)'
# The typo record: permerror (exit 7) for every client, even the one its mx allows.
for ip in 24.214.64.229 24.214.64.230 64.8.71.111 192.0.2.1 2001:db8::1; do
  check "$ip" user@typo.example.test 7 "$DIAG"
done
# The /26 written with host bits: 72.241.62.0-63 pass (0), the rest softfail (3).
check 72.241.62.1 a@slash26.example.test 0 "mechanism:   ip4:72.241.62.1/26"
check 72.241.62.63 a@slash26.example.test 0
check 72.241.62.64 a@slash26.example.test 3 "mechanism:   ~all"
check 72.241.62.200 a@slash26.example.test 3 "Received-SPF: softfail (mx.receiver.test:"
check ::ffff:72.241.62.5 a@slash26.example.test 0
# include + mx + exp over real DNS.
check 72.241.62.7 b@inc.example.test 0 "mechanism:   include:slash26.example.test"
check 2001:db8::25 b@inc.example.test 0 "mechanism:   mx"
check 198.51.100.7 b@inc.example.test 1 "explanation: 198.51.100.7 is not allowed to send mail for inc.example.test"
# No record at all: none (5).
check 192.0.2.1 x@nothing.example.test 5

# --json --trace: the documented fields, the lookups with their answers.
"$MXGUARD" spf check --dns "127.0.0.1:$port" --dns-timeout 300 --ip 198.51.100.7 \
  --sender b@inc.example.test --json --trace > "$tmp/out.json" || true
/usr/bin/python3 - "$tmp/out.json" <<'PY' || fails=$((fails+1))
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("result", "explanation", "mechanism", "identity", "received_spf", "lookups"):
    assert k in j, "missing " + k
assert j["result"] == "fail", j["result"]
assert j["mechanism"] == "-all", j["mechanism"]
assert j["identity"] == "mailfrom"
assert j["received_spf"].startswith("fail ("), j["received_spf"]
names = [(l["name"], l["type"], l["status"]) for l in j["lookups"]]
assert ("inc.example.test", "TXT", "NOERROR") in names, names
assert ("slash26.example.test", "TXT", "NOERROR") in names, names
assert ("mx.inc.example.test", "A", "NOERROR") in names, names
txt = [l for l in j["lookups"] if l["name"] == "slash26.example.test"][0]
assert any("ip4:72.241.62.1/26" in a for a in txt["answers"]), txt
print("ok   --json --trace fields and lookups")
PY

# --batch: many queries in flight, one line per query in input order.
{
  for i in $(seq 0 99); do
    echo "72.241.62.$i a@slash26.example.test helo.example.test"
    echo "24.214.64.229 user@typo.example.test"
  done
} > "$tmp/queries.txt"
rc=0
"$MXGUARD" spf check --dns "127.0.0.1:$port" --dns-timeout 300 --batch "$tmp/queries.txt" \
  > "$tmp/batch.out" || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: --batch exit $rc"; fails=$((fails+1)); }
/usr/bin/python3 - "$tmp/batch.out" <<'PY' || fails=$((fails+1))
import sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 200, len(lines)
for i in range(100):
    a, b = lines[2 * i].split(), lines[2 * i + 1].split()
    assert a[1] == "72.241.62.%d" % i, (i, a)
    assert a[0] == ("pass" if i < 64 else "softfail"), (i, a)
    assert b[0] == "permerror" and b[1] == "24.214.64.229", (i, b)
print("ok   --batch: 200 results in input order")
PY

if [ "$fails" != 0 ]; then echo "spf_check_dnsmasq: $fails FAILED"; exit 1; fi
echo "spf_check_dnsmasq: all passed"
