#!/usr/bin/env bash
# spf_cost.sh: issue 9 section 4. The cost of SPF enforcement per message in
# `mxguard serve`: postfix's smtp-source sends the same load (MSGS messages of SIZE
# bytes over SESSIONS concurrent sessions, one message per connection, HELO
# client.bench.test, MAIL FROM src@bench.test) to three mxguard processes that differ
# only in [spf]:
#   off    [spf] enabled = false (the baseline)
#   spf    [spf] enabled = true, defaults: check_helo = true (HELO and MAIL FROM
#          identities checked concurrently), actions pass = accept
#   mfrom  [spf] enabled = true, check_helo = false (MAIL FROM identity only)
# Each has [dns] servers = one dnsmasq on a loopback port serving the zone below
# (TTL 3600, so mxguard's DNS cache stays warm), hosts_file = /etc/hosts (127.0.0.1 has
# a name there: no PTR query in any variant), [spf] trusted_networks = [] (the default
# would be the relay trusted networks, loopback, and SPF would be skipped; relaying
# stays allowed because [relay] trusted_networks is loopback), hold mode, fsync on,
# history on: as bench/smtp_side_by_side.sh's mxguard. Every message passes SPF and is
# queued, as in the baseline.
#   zone: bench.test        TXT "v=spf1 a mx include:_spf.bench.test -all", A 192.0.2.1,
#                           MX 10 mx.bench.test (A 192.0.2.2)
#         _spf.bench.test   TXT "v=spf1 ip4:198.51.100.0/24 ip4:127.0.0.0/8 -all"
#         client.bench.test TXT "v=spf1 ip4:127.0.0.0/8 -all"          (the HELO)
#   so the MAIL FROM check is 5 lookups (TXT, A, MX, A of the MX host, TXT of the
#   include), the HELO check 1; SPF_RECORD="v=spf1 ip4:127.0.0.0/8 -all" makes
#   bench.test's record a single-term one.
# Before measuring: VERIFY messages to each server, then the script fails unless every
# one of them is in the spf servers' logs as `spf sid=... result=pass` (none skipped) and
# none in the baseline's; then WARM messages to each (the DNS cache warm-up). Then REPS
# repetitions, the three servers in rotating order; each server (and dnsmasq) runs in
# its own cpuacct cgroup. Prints messages/s, server CPU per message, the ratio to the
# baseline and the extra CPU per message in microseconds (medians), the DNS queries that
# reached dnsmasq while measuring (0 = the cache was warm), and checks at the end that
# every message sent to an spf server was checked (log lines = messages).
# Usage: MXGUARD=build/mxguard [MSGS=2000 REPS=3 SESSIONS=20 SIZE=1024] bash bench/spf_cost.sh
# Analysis knobs: EXTRA_TOML is appended to every server's config (e.g.
# EXTRA_TOML=$'[history]\nenabled = false' to see what the history's SPF fields cost);
# KEEP=DIR copies the servers' and dnsmasq's logs there at the end.
set -uo pipefail
MXGUARD=${MXGUARD:-build/mxguard}
MSGS=${MSGS:-2000}
REPS=${REPS:-3}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-1024}
VERIFY=${VERIFY:-20}
WARM=${WARM:-$(( MSGS / 4 ))}
SPF_RECORD=${SPF_RECORD:-v=spf1 a mx include:_spf.bench.test -all}
HELO=client.bench.test
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for t in /usr/sbin/dnsmasq /usr/sbin/smtp-source; do
  [ -x "$t" ] || { echo "spf_cost: $t missing" >&2; exit 1; }
done
. "$here/smtp_bench_lib.bash"  # spool fs, cgroups, cleanup, port, rate, median, ratio, the vs-off table
. "$here/../tests/support/dnsmasq_lib.sh"
variants=(off spf mfrom)
bench_setup "${variants[@]}" dns
total=$((VERIFY + WARM + REPS * MSGS))  # messages each server stores (2 files each)
if [ "$BENCH_FS" = loop ] && [ $(( 3 * 2 * total )) -gt 120000 ]; then
  echo "spf_cost: $total messages x 3 servers would exhaust the 2 GB image's inodes; lower MSGS/REPS" >&2; exit 1
fi
bench_cleanup_hook() { [ -n "${KEEP:-}" ] && cp "$tmp"/*.log "$KEEP"/; stop_dnsmasq; }

# ---- the zone
DNSMASQ_LOG="$tmp/dnsmasq.log" start_dnsmasq --log-queries --local-ttl=3600 --cache-size=1000 \
  "--txt-record=bench.test,$SPF_RECORD" \
  "--txt-record=_spf.bench.test,v=spf1 ip4:198.51.100.0/24 ip4:127.0.0.0/8 -all" \
  "--txt-record=$HELO,v=spf1 ip4:127.0.0.0/8 -all" \
  --host-record=bench.test,192.0.2.1 --host-record=mx.bench.test,192.0.2.2 \
  --mx-host=bench.test,mx.bench.test,10 || exit 1
[ "$cg_ok" = 1 ] && echo "$DNSMASQ_PID" > "$CG/$cg_tag-dns/tasks"
dns_queries() { awk '/ query\[/ { n++ } END { print n + 0 }' "$tmp/dnsmasq.log" 2>/dev/null; }

# ---- the three servers
declare -A P
for v in "${variants[@]}"; do
  P[$v]=$(port)
  case $v in
    off) spf="enabled = false" ;;
    spf) spf="enabled = true" ;;
    mfrom) spf=$'enabled = true\ncheck_helo = false' ;;
  esac
  cat > "$tmp/$v.toml" <<EOF
state_dir = "$tmp/$v"
[log]
file = "$tmp/$v.log"
[dns]
servers = ["127.0.0.1:$DNSMASQ_PORT"]
hosts_file = "/etc/hosts"
[relay]
trusted_networks = ["127.0.0.0/8"]
[limits]
sessions_total = 20000
sessions_per_ip = 20000
[spf]
$spf
trusted_networks = []
[listener.bench]
address = "127.0.0.1:${P[$v]}"
delivery_mode = "hold"
fsync = true
${EXTRA_TOML:-}
EOF
  cg_run "$v" "$MXGUARD" serve --config "$tmp/$v.toml" >"$tmp/$v.out" 2>&1 & pids+=($!)
  wait_port "${P[$v]}" || { tail -5 "$tmp/$v.log" >&2; exit 1; }
done

send() { rate "${P[$1]}" "$SESSIONS" "$SIZE" "$2" "$1" -M "$HELO"; }
count() { awk -v re="$2" '$0 ~ re { n++ } END { print n + 0 }' "$1" 2>/dev/null; }
spf_lines() { count "$tmp/$1.log" "spf sid=[^ ]* result=$2 "; }
any_spf_lines() { count "$tmp/$1.log" "spf sid="; }
queued() { find "$tmp/$1/queue" \( -name '*.ctl' -o -name '*.msg' \) 2>/dev/null | wc -l; }  # either queue format

# ---- are the messages really SPF-checked? (fail otherwise)
for v in "${variants[@]}"; do
  read -r r _ _ <<<"$(send "$v" "$VERIFY")"
  [ "$r" = fail ] && { echo "spf_cost: smtp-source failed against $v" >&2; exit 1; }
done
sleep 0.5
bad=0
for v in spf mfrom; do
  pass=$(spf_lines "$v" pass); all=$(any_spf_lines "$v")
  if [ "$pass" -ne "$VERIFY" ] || [ "$all" -ne "$VERIFY" ]; then
    echo "spf_cost: $v: $pass of $VERIFY messages with 'spf sid=... result=pass' ($all spf lines):" >&2
    grep "spf sid=" "$tmp/$v.log" | head -3 >&2; bad=1
  fi
done
[ "$(any_spf_lines off)" -ne 0 ] && { echo "spf_cost: the baseline logged SPF checks" >&2; bad=1; }
for v in "${variants[@]}"; do
  [ "$(queued "$v")" -ne "$VERIFY" ] && { echo "spf_cost: $v queued $(queued "$v") of $VERIFY" >&2; bad=1; }
done
grep -q "query\[TXT\] $HELO " "$tmp/dnsmasq.log" || { echo "spf_cost: no HELO identity check seen" >&2; bad=1; }
[ "$bad" = 0 ] || exit 1
echo "verified: $VERIFY of $VERIFY messages SPF-checked (result=pass) by spf and mfrom, none by off; all queued"

# ---- warm-up (the DNS cache, the queue and history files), then the measurement
for v in "${variants[@]}"; do send "$v" "$WARM" >/dev/null; done
q0=$(dns_queries); d0=$(cg_ns dns)

echo "SPF enforcement cost: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at start, fs ${BENCH_FS} ($(findmnt -n -o FSTYPE --target "$tmp")), $("$MXGUARD" --version), dnsmasq $(dnsmasq --version | head -1 | awk '{print $3}')"
echo "load: $MSGS messages x $SIZE bytes x $SESSIONS sessions per run, $REPS repetitions (rotating order), warm-up $WARM; bench.test: \"$SPF_RECORD\"${EXTRA_TOML:+; extra config: $(echo $EXTRA_TOML)}"
declare -A R C B last
for rep in $(seq "$REPS"); do
  k=$(( (rep - 1) % ${#variants[@]} )); order=("${variants[@]:$k}" "${variants[@]:0:$k}")
  for v in "${order[@]}"; do
    read -r r c b <<<"$(send "$v" "$MSGS")"
    R[$v]+="$r "; C[$v]+="$c "; B[$v]+="$b "; last[$v]="$r/s $c ms"
  done
  echo "  rep $rep (order ${order[*]}): $(for v in "${variants[@]}"; do echo -n "$v ${last[$v]}; "; done)"
done
q1=$(dns_queries); d1=$(cg_ns dns)

print_vs_off_table
echo "DNS queries reaching dnsmasq while measuring: $((q1 - q0)); dnsmasq CPU: $(( (d1 - d0) / 1000000 )) ms"
sleep 0.5
for v in spf mfrom; do
  n=$(spf_lines "$v" pass)
  [ "$n" -eq "$total" ] || { echo "spf_cost: $v logged $n SPF passes for $total messages" >&2; exit 1; }
done
echo "every message SPF-checked: $total result=pass lines in each spf server's log; queued: $(for v in "${variants[@]}"; do echo -n "$v $(queued "$v") "; done)"
