#!/usr/bin/env bash
# auth_cost.sh: issue 10 section 6. Gateway throughput and server CPU per message with
# [dkim]+[dmarc] on vs off, in the same run. smtp-source sends unsigned mail, so the load
# is DKIM-signed messages prepared before measuring by bench/auth_cost_sign.py (dkimpy,
# keys from openssl in the temp dir) and sent by bench/auth_cost_send.py (SESSIONS
# concurrent sessions, one message per connection, PIPELINING, every reply checked).
# Three mxguard processes that differ only in [dkim]/[dmarc] and the messages they get:
#   off   [dkim] and [dmarc] enabled = false; gets the rsa-sha256 set (the baseline)
#   rsa   [dkim] and [dmarc] enabled = true;  rsa-sha256, 2048-bit key
#   ed    [dkim] and [dmarc] enabled = true;  ed25519-sha256 (RFC 8463)
# Every server: [spf] enabled with check_helo = false and trusted_networks = [] (the same
# SPF work in all three, so the difference is DKIM+DMARC), [relay] local_domains =
# ["bench.test"] and no trusted networks (a trusted client would skip DMARC), hold mode,
# fsync on, history on, [dns] = one dnsmasq on a loopback port (--local=/test/: other
# names under .test are NXDOMAIN), TTL 3600 so mxguard's DNS cache stays warm:
#   bench.test TXT "v=spf1 ip4:127.0.0.0/8 -all"; _dmarc.bench.test "v=DMARC1; p=reject";
#   rsa._domainkey.bench.test / ed._domainkey.bench.test: the keys.
# From: joe@bench.test, MAIL FROM src@bench.test: DKIM and SPF pass and are aligned, so
# DMARC passes and every message is queued. MSGS_SET distinct messages per set, taken in
# turn; a body of SIZE bytes.
# Before measuring: VERIFY messages to each server, then the script fails unless each
# on-server logged `auth sid=... dkim=pass:bench.test ... dmarc=pass` for every one and
# the baseline logged no auth line; then WARM messages to each. Then REPS repetitions,
# the servers in rotating order, each server in its own cpuacct cgroup (as
# bench/spf_cost.sh, through bench/smtp_bench_lib.bash). Prints messages/s, server CPU
# per message, the ratio to the baseline and the extra CPU per message (medians), the DNS
# queries that reached dnsmasq while measuring, and checks at the end that every message
# sent to an on-server was checked (auth lines with dmarc=pass = messages).
# The sender is Python: it shares the 2 cores with the servers, so messages/s is the
# same-run comparison and CPU per message (cgroup) the cost.
# Usage: MXGUARD=build/mxguard [MSGS=2000 REPS=3 SESSIONS=20 SIZE=2048 MSGS_SET=200]
#        bash bench/auth_cost.sh
# KEEP=DIR copies the servers' and dnsmasq's logs there at the end.
set -uo pipefail
MXGUARD=${MXGUARD:-build/mxguard}
MSGS=${MSGS:-2000}
REPS=${REPS:-3}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-2048}
MSGS_SET=${MSGS_SET:-200}
VERIFY=${VERIFY:-20}
WARM=${WARM:-$(( MSGS / 4 ))}
HELO=client.bench.test
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -x /usr/sbin/dnsmasq ] || { echo "auth_cost: /usr/sbin/dnsmasq missing" >&2; exit 1; }
/usr/bin/python3 -c 'import dkim' 2>/dev/null || { echo "SKIP: python3-dkim (dkimpy) missing"; exit 0; }
. "$here/smtp_bench_lib.bash"  # spool fs, cgroups, cleanup, port, median, ratio, range, the vs-off table
. "$here/../tests/support/dnsmasq_lib.sh"
variants=(off rsa ed)
bench_setup "${variants[@]}" dns
total=$((VERIFY + WARM + REPS * MSGS))  # messages each server stores (2 files each)
if [ "$BENCH_FS" = loop ] && [ $(( 3 * 2 * total )) -gt 120000 ]; then
  echo "auth_cost: $total messages x 3 servers would exhaust the 2 GB image's inodes; lower MSGS/REPS" >&2; exit 1
fi
bench_cleanup_hook() { [ -n "${KEEP:-}" ] && cp "$tmp"/*.log "$KEEP"/; stop_dnsmasq; }

# ---- the signed messages and the zone
mkdir -p "$tmp/msgs"
keys=$(/usr/bin/python3 "$here/auth_cost_sign.py" "$tmp/msgs" "$MSGS_SET" "$SIZE" bench.test) ||
  { echo "auth_cost: signing failed" >&2; exit 1; }
txt_args=()
while read -r name text; do  # TXT of several character-strings (RFC 1035 3.3.14: <= 255 each)
  txt_args+=("--txt-record=$name,$(echo "$text" | fold -w 200 | paste -sd,)")
done <<<"$keys"
DNSMASQ_LOG="$tmp/dnsmasq.log" start_dnsmasq --log-queries --local-ttl=3600 --cache-size=1000 \
  --local=/test/ "--txt-record=bench.test,v=spf1 ip4:127.0.0.0/8 -all" \
  "--txt-record=_dmarc.bench.test,v=DMARC1; p=reject" "${txt_args[@]}" \
  --host-record=bench.test,192.0.2.1 || exit 1
[ "$cg_ok" = 1 ] && echo "$DNSMASQ_PID" > "$CG/$cg_tag-dns/tasks"
dns_queries() { awk '/ query\[/ { n++ } END { print n + 0 }' "$tmp/dnsmasq.log" 2>/dev/null; }

# ---- the three servers
declare -A P SET
SET[off]=rsa; SET[rsa]=rsa; SET[ed]=ed
for v in "${variants[@]}"; do
  P[$v]=$(port)
  on=true; [ "$v" = off ] && on=false
  cat > "$tmp/$v.toml" <<EOF
state_dir = "$tmp/$v"
hostname = "mx.bench.test"
[log]
file = "$tmp/$v.log"
[dns]
servers = ["127.0.0.1:$DNSMASQ_PORT"]
hosts_file = "/etc/hosts"
[relay]
local_domains = ["bench.test"]
trusted_networks = []
[limits]
sessions_total = 20000
sessions_per_ip = 20000
[spf]
enabled = true
check_helo = false
trusted_networks = []
[dkim]
enabled = $on
[dmarc]
enabled = $on
[listener.bench]
address = "127.0.0.1:${P[$v]}"
delivery_mode = "hold"
fsync = true
EOF
  cg_run "$v" "$MXGUARD" serve --config "$tmp/$v.toml" >"$tmp/$v.out" 2>&1 & pids+=($!)
  wait_port "${P[$v]}" || { tail -5 "$tmp/$v.log" "$tmp/$v.out" >&2; exit 1; }
done

send_rate() {  # variant msgs -> "msgs/s server-CPU-ms/msg machine-busy-ms/msg" (or "fail ...")
  local v=$1 n=$2 t0 t1 c0 c1 b0 b1
  c0=$(cg_ns "$v"); b0=$(busy_ticks); t0=$(date +%s.%N)
  /usr/bin/python3 "$here/auth_cost_send.py" "${P[$v]}" "$SESSIONS" "$n" "$tmp/msgs/${SET[$v]}" \
    "$HELO" src@bench.test dst@bench.test >/dev/null 2>"$tmp/send.err" ||
    { echo "fail fail fail"; cat "$tmp/send.err" >&2; return; }
  t1=$(date +%s.%N); c1=$(cg_ns "$v"); b1=$(busy_ticks)
  echo "$n $t0 $t1 $c0 $c1 $b0 $b1 $cg_ok $(getconf CLK_TCK)" |
    awk '{ r = $1/($3-$2); c = $8 ? sprintf("%.3f", ($5-$4)/1e6/$1) : "-";
           printf "%.0f %s %.3f", r, c, ($7-$6)*1000/$9/$1 }'
}
count() { awk -v re="$2" '$0 ~ re { n++ } END { print n + 0 }' "$1" 2>/dev/null; }
auth_pass() { count "$tmp/$1.log" "auth sid=[^ ]* dkim=pass:bench.test arc=none dmarc=pass "; }
any_auth() { count "$tmp/$1.log" "auth sid="; }
queued() { find "$tmp/$1/queue" \( -name '*.ctl' -o -name '*.msg' \) 2>/dev/null | wc -l; }  # either queue format

# ---- are the messages really DKIM/DMARC-checked? (fail otherwise)
for v in "${variants[@]}"; do
  read -r r _ _ <<<"$(send_rate "$v" "$VERIFY")"
  [ "$r" = fail ] && { echo "auth_cost: sending failed against $v" >&2; exit 1; }
done
sleep 0.5
bad=0
for v in rsa ed; do
  pass=$(auth_pass "$v"); all=$(any_auth "$v")
  if [ "$pass" -ne "$VERIFY" ] || [ "$all" -ne "$VERIFY" ]; then
    echo "auth_cost: $v: $pass of $VERIFY messages with dkim=pass:bench.test dmarc=pass ($all auth lines):" >&2
    grep "auth sid=" "$tmp/$v.log" | head -3 >&2; bad=1
  fi
done
[ "$(any_auth off)" -ne 0 ] && { echo "auth_cost: the baseline logged auth checks" >&2; bad=1; }
for v in "${variants[@]}"; do
  [ "$(queued "$v")" -ne "$VERIFY" ] && { echo "auth_cost: $v queued $(queued "$v") of $VERIFY" >&2; bad=1; }
done
[ "$bad" = 0 ] || exit 1
echo "verified: $VERIFY of $VERIFY messages DKIM pass (d=bench.test) and DMARC pass in rsa and ed, none checked by off; all queued"

# ---- warm-up (the DNS cache, the queue and history files), then the measurement
for v in "${variants[@]}"; do send_rate "$v" "$WARM" >/dev/null; done
q0=$(dns_queries); d0=$(cg_ns dns)

echo "DKIM+DMARC cost: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at start, fs ${BENCH_FS} ($(findmnt -n -o FSTYPE --target "$tmp")), $("$MXGUARD" --version), dnsmasq $(dnsmasq --version | head -1 | awk '{print $3}'), dkimpy $(dpkg-query -W -f='${Version}' python3-dkim 2>/dev/null)"
echo "load: $MSGS messages x ~$SIZE-byte bodies x $SESSIONS sessions per run ($MSGS_SET distinct signed messages per set), $REPS repetitions (rotating order), warm-up $WARM"
declare -A R C B last
for rep in $(seq "$REPS"); do
  k=$(( (rep - 1) % ${#variants[@]} )); order=("${variants[@]:$k}" "${variants[@]:0:$k}")
  for v in "${order[@]}"; do
    read -r r c b <<<"$(send_rate "$v" "$MSGS")"
    R[$v]+="$r "; C[$v]+="$c "; B[$v]+="$b "; last[$v]="$r/s $c ms"
  done
  echo "  rep $rep (order ${order[*]}): $(for v in "${variants[@]}"; do echo -n "$v ${last[$v]}; "; done)"
done
q1=$(dns_queries); d1=$(cg_ns dns)
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

print_vs_off_table
echo "DNS queries reaching dnsmasq while measuring: $((q1 - q0)); dnsmasq CPU: $(( (d1 - d0) / 1000000 )) ms"
sleep 0.5
for v in rsa ed; do
  n=$(auth_pass "$v")
  [ "$n" -eq "$total" ] || { echo "auth_cost: $v logged $n DKIM+DMARC passes for $total messages" >&2; exit 1; }
done
echo "every message checked: $total 'dkim=pass:bench.test arc=none dmarc=pass' lines in each on-server's log; queued: $(for v in "${variants[@]}"; do echo -n "$v $(queued "$v") "; done)"
