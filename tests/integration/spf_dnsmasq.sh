#!/usr/bin/env bash
# spf_dnsmasq.sh: end-to-end RFC 7208 evaluation through the real c-ares path:
# dnsmasq on 127.0.0.1 and a free high port serves a small zone of real-world-style
# records, `mxguard spf check --dns 127.0.0.1:PORT --json` must give the RFC results:
#  - the typo record "... ipv4:64.8.71.111 ..." is a permerror for EVERY client IP,
#    even one listed by an earlier ip4 term (RFC 7208 4.6: the record is parsed whole
#    before evaluation), with the "ipv4" diagnostic and a did-you-mean;
#  - "v=spf1 ip4:72.241.62.1/26 ~all": pass inside 72.241.62.0/26, softfail outside
#    (host bits in the CIDR are ignored, RFC 7208 5.6 / RFC 4632);
#  - include + a + mx + multi-string record (RFC 7208 3.3, 5.2, 5.3, 5.4), redirect
#    (6.1), no record -> none (4.5), two records -> permerror (4.5), --batch order.
# Needs $MXGUARD, /usr/sbin/dnsmasq, /usr/bin/python3. Bounded by --dns-timeout.
set -euo pipefail
: "${MXGUARD:?MXGUARD must point to the mxguard binary}"
here=$(cd "$(dirname "$0")" && pwd)
src=${MXG_SOURCE_DIR:-$here/../..}
[ -x /usr/sbin/dnsmasq ] || { echo "SKIP: dnsmasq not installed"; exit 77; }
# shellcheck source=../support/dnsmasq_lib.sh
. "$src/tests/support/dnsmasq_lib.sh"
tmp=$(mktemp -d)
trap 'stop_dnsmasq; rm -rf "$tmp"' EXIT

TYPO='v=spf1 mx ip4:24.214.64.230 ip4:24.214.64.231 ip4:64.8.71.110 ipv4:64.8.71.111 ipv4:64.8.71.112 -all'
start_dnsmasq --local=/example.test/ --local-ttl=300 \
  "--txt-record=typo.example.test,$TYPO" \
  --mx-host=typo.example.test,mail.typo.example.test,10 \
  --host-record=mail.typo.example.test,24.214.64.230 \
  "--txt-record=cidr.example.test,v=spf1 ip4:72.241.62.1/26 ~all" \
  "--txt-record=corp.example.test,v=spf1 include:_spf.mailer.example.test ,a mx -all" \
  --host-record=corp.example.test,203.0.113.10 \
  --mx-host=corp.example.test,mx1.corp.example.test,10 \
  --host-record=mx1.corp.example.test,203.0.113.25,2001:db8:25::25 \
  "--txt-record=_spf.mailer.example.test,v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:100::/48 ~all" \
  "--txt-record=redir.example.test,v=spf1 redirect=corp.example.test" \
  --host-record=nospf.example.test,192.0.2.1 \
  "--txt-record=dup.example.test,v=spf1 -all" "--txt-record=dup.example.test,v=spf1 +all" \
  "--txt-record=other.example.test,google-site-verification=abc" \
  "--txt-record=other.example.test,v=spf1 ip4:192.0.2.0/24 -all"
echo "dnsmasq on 127.0.0.1:$DNSMASQ_PORT"

fails=0; checks=0
# check IP SENDER RESULT [SUBSTRING-OF-JSON]
check() {
  local ip=$1 sender=$2 want=$3 needle=${4:-} out rc=0 got
  out=$("$MXGUARD" spf check --dns "127.0.0.1:$DNSMASQ_PORT" --dns-timeout 1000 --ip "$ip" \
        --sender "$sender" --json 2>&1) || rc=$?
  checks=$((checks + 1))
  got=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])' <<<"$out" 2>/dev/null || echo "?")
  if [ "$got" != "$want" ]; then
    echo "FAIL: $ip $sender: result $got, want $want (exit $rc)"; echo "$out"; fails=$((fails + 1)); return
  fi
  if [ -n "$needle" ] && ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: $ip $sender: output lacks: $needle"; echo "$out"; fails=$((fails + 1)); return
  fi
  echo "ok: $ip $sender -> $got"
}

# The typo record: permerror for every client, listed or not, v4 or v6.
for ip in 24.214.64.230 24.214.64.231 64.8.71.110 64.8.71.111 64.8.71.112 192.0.2.99 2001:db8::1; do
  check "$ip" "user@typo.example.test" permerror '"term": "ipv4:64.8.71.111"'
done
check 24.214.64.230 user@typo.example.test permerror 'did you mean ip4:?'
# ip4:72.241.62.1/26 = 72.241.62.0/26: .0 to .63 pass, everything else softfail.
for ip in 72.241.62.0 72.241.62.1 72.241.62.42 72.241.62.63; do check "$ip" a@cidr.example.test pass; done
for ip in 72.241.62.64 72.241.62.255 72.241.61.255 10.0.0.1 2001:db8::72; do check "$ip" a@cidr.example.test softfail; done
# include, a, mx, multi-string record, redirect, none, duplicate records.
check 198.51.100.7 u@corp.example.test pass '"mechanism": "include:_spf.mailer.example.test"'
check 2001:db8:100::9 u@corp.example.test pass
check 203.0.113.10 u@corp.example.test pass '"mechanism": "a"'
check 203.0.113.25 u@corp.example.test pass '"mechanism": "mx"'
check 2001:db8:25::25 u@corp.example.test pass '"mechanism": "mx"'
check 192.0.2.200 u@corp.example.test fail
check 203.0.113.25 u@redir.example.test pass
check 192.0.2.200 u@redir.example.test fail
check 192.0.2.1 u@nospf.example.test none
check 192.0.2.1 u@missing.example.test none
check 192.0.2.1 u@dup.example.test permerror
check 192.0.2.9 u@other.example.test pass

# --batch: one result per line, in input order.
cat >"$tmp/batch.txt" <<'B'
72.241.62.5 a@cidr.example.test
72.241.62.64 a@cidr.example.test
24.214.64.230 a@typo.example.test mail.typo.example.test
198.51.100.7 u@corp.example.test
B
checks=$((checks + 1))
got=$("$MXGUARD" spf check --dns "127.0.0.1:$DNSMASQ_PORT" --dns-timeout 1000 --batch "$tmp/batch.txt" --json |
      /usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(l)["result"] for l in sys.stdin))')
if [ "$got" = "pass softfail permerror pass" ]; then echo "ok: batch in order"; else
  echo "FAIL: batch: $got"; fails=$((fails + 1)); fi

echo "spf_dnsmasq: $((checks - fails))/$checks checks passed"
[ "$fails" = 0 ]
