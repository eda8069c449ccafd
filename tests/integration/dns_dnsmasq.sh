#!/usr/bin/env bash
# dns_dnsmasq.sh: `mxguard dns query` through the real c-ares path against dnsmasq on
# 127.0.0.1 and a free high port: TXT with several character-strings (RFC 1035 3.3.14),
# A, AAAA, MX, PTR, CNAME followed, NXDOMAIN vs NODATA (RFC 2308), exit codes; and the
# same questions answered from a zone file with --zone (RFC 1035 5).
# Needs: $MXGUARD, /usr/sbin/dnsmasq. Bounded: every query has a 1 s timeout.
set -euo pipefail
: "${MXGUARD:?MXGUARD must point to the mxguard binary}"
DNSMASQ=/usr/sbin/dnsmasq
[ -x "$DNSMASQ" ] || { echo "SKIP: $DNSMASQ not installed"; exit 77; }

tmp=$(mktemp -d)
# shellcheck source=../support/dnsmasq_lib.sh
source "${MXG_SOURCE_DIR:-$(dirname "$0")/../..}/tests/support/dnsmasq_lib.sh"
cleanup() { stop_dnsmasq; rm -rf "$tmp"; }
trap cleanup EXIT

start_dnsmasq \
    --auth-server=ns.example.test,127.0.0.1 --auth-zone=example.test,192.0.2.0/24,2001:db8::/32 \
    --auth-soa=1,hostmaster.example.test,1200,120,604800,600 --auth-ttl=300 --local-ttl=300 \
    "--txt-record=multi.example.test,v=spf1 ,ip4:192.0.2.0/24 ,-all" \
    "--txt-record=example.test,v=spf1 mx -all" \
    --host-record=host.example.test,192.0.2.10,2001:db8::10 \
    --host-record=mail.example.test,192.0.2.25 \
    --mx-host=example.test,mail.example.test,10 \
    --cname=alias.example.test,host.example.test \
    --ptr-record=10.2.0.192.in-addr.arpa,host.example.test
port=$DNSMASQ_PORT

fails=0; checks=0
# expect NAME TYPE WANT_EXIT PATTERN...: every pattern must appear as a whole line
# (fixed string) of the output of `mxguard dns query`.
expect() {
  local name=$1 type=$2 want_rc=$3; shift 3
  local out rc=0
  out=$("$MXGUARD" dns query "$name" "$type" "${SRC[@]}" --timeout 1000 2>&1) || rc=$?
  checks=$((checks + 1))
  if [ "$rc" != "$want_rc" ]; then
    echo "FAIL: $name $type (${SRC[*]}): exit $rc, want $want_rc"; echo "$out"; fails=$((fails + 1)); return
  fi
  for pat in "$@"; do
    if ! grep -qxF -- "$pat" <<<"$out"; then
      echo "FAIL: $name $type (${SRC[*]}): no line \"$pat\""; echo "$out"; fails=$((fails + 1)); return
    fi
  done
  echo "ok: $name $type (${SRC[0]})"
}

run_checks() {  # $1: TTL of the records; $2: TTL of negative answers
  local ttl=$1 negttl=$2
  expect multi.example.test TXT 0 \
    "multi.example.test. $ttl IN TXT \"v=spf1 \" \"ip4:192.0.2.0/24 \" \"-all\""
  expect example.test TXT 0 "example.test. $ttl IN TXT \"v=spf1 mx -all\""
  expect host.example.test A 0 "host.example.test. $ttl IN A 192.0.2.10"
  expect host.example.test AAAA 0 "host.example.test. $ttl IN AAAA 2001:db8::10"
  expect example.test MX 0 "example.test. $ttl IN MX 10 mail.example.test."
  expect 10.2.0.192.in-addr.arpa PTR 0 "10.2.0.192.in-addr.arpa. $ttl IN PTR host.example.test."
  expect alias.example.test A 0 "host.example.test. $ttl IN A 192.0.2.10"
  # NXDOMAIN (name does not exist) vs NODATA (name exists, no TXT): both exit 0.
  local nx nd
  nx=$("$MXGUARD" dns query nope.example.test TXT "${SRC[@]}" --timeout 1000 | head -1)
  nd=$("$MXGUARD" dns query host.example.test TXT "${SRC[@]}" --timeout 1000 | head -1)
  checks=$((checks + 2))
  case "$nx" in ";; nope.example.test TXT: NXDOMAIN, ttl $negttl"*) echo "ok: NXDOMAIN ($nx)";;
    *) echo "FAIL: want NXDOMAIN, got: $nx"; fails=$((fails + 1));; esac
  case "$nd" in ";; host.example.test TXT: NODATA, ttl $negttl"*) echo "ok: NODATA ($nd)";;
    *) echo "FAIL: want NODATA, got: $nd"; fails=$((fails + 1));; esac
}

SRC=(--dns "127.0.0.1:$port")
# Negative TTL from the SOA of dnsmasq's authoritative answer (RFC 2308 5): min(300, 300).
run_checks 300 300
# Outside the served zone dnsmasq (no upstream) refuses: SERVFAIL class, exit 1.
expect elsewhere.invalid A 1
# Bad arguments: exit 2.
expect example.test BOGUS 2
SRC=(--dns "not-an-ip:53"); expect example.test A 2

cat >"$tmp/example.zone" <<'ZONE'
$ORIGIN example.test.
$TTL 300
@       IN SOA ns hostmaster ( 1 1200 120 604800 600 )
@       TXT "v=spf1 mx -all"
multi   TXT "v=spf1 " "ip4:192.0.2.0/24 " "-all"
host    A 192.0.2.10
        AAAA 2001:db8::10
mail    A 192.0.2.25
@       MX 10 mail
alias   CNAME host
10.2.0.192.in-addr.arpa. PTR host
ZONE
SRC=(--zone "$tmp/example.zone")
run_checks 300 0  # the in-memory zone gives negative answers TTL 0
printf 'bad A 1.2.3\n' >"$tmp/bad.zone"
SRC=(--zone "$tmp/bad.zone")
out=$("$MXGUARD" dns query x.test A "${SRC[@]}" 2>&1) && rc=0 || rc=$?
checks=$((checks + 1))
if [ "$rc" = 2 ] && grep -qF "$tmp/bad.zone:1:" <<<"$out"; then echo "ok: zone error names file:line"
else echo "FAIL: bad zone: exit $rc: $out"; fails=$((fails + 1)); fi

echo "dns_dnsmasq: $((checks - fails))/$checks checks passed"
[ "$fails" = 0 ]
