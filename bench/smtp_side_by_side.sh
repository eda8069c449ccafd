#!/usr/bin/env bash
# smtp_side_by_side.sh: issue 3 section 8. postfix's smtp-source sends the same load,
# in the same run, to
#   1. mxguard serve (hold mode, fsync on: 250 only after data+control+dir fsync),
#   2. a private Postfix (Debian's 3.7) on a loopback port with its normal durable
#      queue and default_transport = discard,
#   3. smtp-sink (no storage: the protocol's upper bound),
# for 1 KB x 20 sessions, 10 KB x 20, 1 KB x 1, 1 KB x 100; prints messages/second and
# the ratios (medians of REPS runs of MSGS messages), the CPU each server spent per
# message, and an analysis row (mxguard without fsync). Then holds 10,000 idle
# connections open to mxguard and reports the RSS growth per connection. Everything
# listens on 127.0.0.1 high ports and is stopped at the end.
# Then (issue 13 section 1) the latency from the end of DATA to the 250 at 20 sessions,
# from client-side timestamps (bench/tools/smtp_latency.cpp), for each server.
# Usage: MXGUARD=build/mxguard bash bench/smtp_side_by_side.sh [--pin]
#   --pin (or PIN=1): servers on the first half of the cores, load generators on the
#   other half (taskset); every table names the core count and the load average.
#   LATENCY=path/to/smtp_latency (default: next to MXGUARD in bench/), LAT_MSGS (2000),
#   LAT_SESSIONS (20), LAT_RATE (auto: a second latency table with every server at the
#   same offered load, 80 % of Postfix's rate; a number of messages/second; 0: skip).
#   QUEUE_FORMAT=split|single: mxguard's [queue] format (docs/queue.md); unset: the
#   server's default (single).
#   The A/B of the two formats side by side is bench/queue_format_ab.sh.
set -uo pipefail
for a in "$@"; do
  case $a in
    --pin) export PIN=1 ;;
    *) echo "usage: $0 [--pin]" >&2; exit 2 ;;
  esac
done
MXGUARD=${MXGUARD:-build/mxguard}
LATENCY=${LATENCY:-$(dirname "$MXGUARD")/bench/smtp_latency}
LAT_MSGS=${LAT_MSGS:-2000}
MSGS=${MSGS:-2000}
REPS=${REPS:-3}
IDLE=${IDLE:-10000}  # 0: skip the idle-connection measurement
# CASES="1024 20,1024 1" (size sessions, comma-separated) to run fewer cases; ANALYSIS=0 skips the fsync-off row
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/smtp_bench_lib.bash"  # spool fs, cgroups, cleanup, port, rate, median, ratio
bench_setup mxg pf sink

# ---- mxguard (and a second listener without fsync, for the analysis row only)
MXP=$(port); MXNP=$(port)
queue_format_line=""
[ -n "${QUEUE_FORMAT:-}" ] && queue_format_line="format = \"$QUEUE_FORMAT\""
cat > "$tmp/mxguard.toml" <<EOF
state_dir = "$tmp/mxg"
[queue]
$queue_format_line
[log]
file = "$tmp/mxguard.log"
[relay]
trusted_networks = ["127.0.0.0/8"]
[limits]
sessions_total = 20000
sessions_per_ip = 20000
[listener.bench]
address = "127.0.0.1:$MXP"
delivery_mode = "hold"
fsync = true
[listener.nofsync]
address = "127.0.0.1:$MXNP"
delivery_mode = "hold"
fsync = false
EOF
cg_run mxg "$MXGUARD" serve --config "$tmp/mxguard.toml" & pids+=($!)
MXPID=$!
wait_port "$MXP" || exit 1

# ---- smtp-sink
SKP=$(port)
cg_run sink /usr/sbin/smtp-sink -u nobody -c "127.0.0.1:$SKP" 1024 >/dev/null 2>&1 & pids+=($!)
wait_port "$SKP" || exit 1

# ---- private postfix (smtp_bench_lib.bash pf_start: sets PFP and HAVE_PF)
pf_start pf
echo "SMTP gateway side by side: $(machine_line), load average $(loadavg), $(uname -r), fs ${BENCH_FS} ($(findmnt -n -o FSTYPE,OPTIONS --target "$tmp" | cut -c1-40)), settle ${SETTLE}s, $(postconf -d mail_version 2>/dev/null), $("$MXGUARD" --version), queue format ${QUEUE_FORMAT:-default (single)}"
# Each case runs REPS times, the three servers in turn (the order rotates between
# repetitions, so no server always runs right after another's burst of I/O); the table
# shows each server's median rate and the ratio of the medians, then the range of the
# same-repetition ratios. Single runs on this VM swing +-30 %.
printf "%-18s %10s %10s %10s %12s %12s   %s\n" case mxguard postfix smtp-sink mxg/postfix mxg/sink "per-run mxg/postfix, mxg/sink"
cpu_rows=()
cases=("1024 20" "10240 20" "1024 1" "1024 100")
[ -n "${CASES:-}" ] && IFS=, read -ra cases <<<"$CASES"
for c in "${cases[@]}"; do
  set -- $c
  n=$MSGS; [ "$2" = 1 ] && n=$((MSGS / 4))
  ms=(); ps=(); ss=(); r1s=(); r2s=(); mc=(); pc=(); sc=(); mb=(); pb=(); sb=()
  for rep in $(seq "$REPS"); do
    order=("mxg" "pf" "sink"); k=$(( (rep - 1) % 3 )); order=("${order[@]:$k}" "${order[@]:0:$k}")
    for who in "${order[@]}"; do
      case $who in
        mxg) settle; read -r m mcpu mbusy <<<"$(rate "$MXP" "$2" "$1" "$n" mxg)" ;;
        pf) if [ "$HAVE_PF" = 1 ]; then read -r p pcpu pbusy <<<"$(rate "$PFP" "$2" "$1" "$n" pf)"; else p=fail pcpu=- pbusy=-; fi ;;
        sink) read -r s scpu sbusy <<<"$(rate "$SKP" "$2" "$1" "$n" sink)" ;;
      esac
    done
    ms+=("$m"); ps+=("$p"); ss+=("$s"); r1s+=("$(ratio "$m" "$p")"); r2s+=("$(ratio "$m" "$s")")
    mc+=("$mcpu"); pc+=("$pcpu"); sc+=("$scpu"); mb+=("$mbusy"); pb+=("$pbusy"); sb+=("$sbusy")
  done
  label="$(( $1 / 1024 )) KB x $2 sess"
  m=$(median "${ms[@]}"); p=$(median "${ps[@]}"); s=$(median "${ss[@]}")
  printf "%-18s %10s %10s %10s %12s %12s   %s, %s   (load %s)\n" "$label" "$m/s" "$p/s" "$s/s" \
    "$(ratio "$m" "$p")" "$(ratio "$m" "$s")" "$(range "${r1s[@]}")" "$(range "${r2s[@]}")" "$(loadavg)"
  cpu_rows+=("$(printf "%-18s %10s %10s %10s %12s %12s %12s" "$label" "$(median "${mc[@]}")" "$(median "${pc[@]}")" \
    "$(median "${sc[@]}")" "$(median "${mb[@]}")" "$(median "${pb[@]}")" "$(median "${sb[@]}")")")
done
# Analysis only, never a goal: the same mxguard without fsync (UNSAFE: mail answered
# 250 can be lost on power failure) shows what the protocol and the file operations
# cost without the journal commits.
if [ "${ANALYSIS:-1}" = 1 ]; then
  nf=(); for rep in $(seq "$REPS"); do read -r r _ _ <<<"$(rate "$MXNP" 20 1024 "$MSGS" mxg)"; nf+=("$r"); done
  echo "analysis: mxguard with fsync = false (unsafe), 1 KB x 20 sess: $(median "${nf[@]}")/s"
fi
echo
echo "CPU per message ($(machine_line)), load average now $(loadavg)"
echo "(ms, medians of the same runs): each server's own processes (cpuacct cgroup), then the whole machine busy (all processes, kernel threads, interrupts; includes smtp-source)"
printf "%-18s %10s %10s %10s %12s %12s %12s\n" case mxguard postfix smtp-sink "machine:mxg" "machine:pf" "machine:sink"
for row in "${cpu_rows[@]}"; do echo "$row"; done
queued=$(ls "$tmp/mxg/queue/bench/messages" 2>/dev/null | grep -c '\.\(ctl\|msg\)$')
echo "mxguard messages in its queue after the run: $queued"

# ---- latency from the end of DATA to the 250 (client-side timestamps), 1 KB x 20 sessions
# lat_table TITLE [RATE]: REPS runs per server (rotating order); with RATE, the load is
# offered at RATE messages/second (smtp_latency's open-loop mode) instead of as fast as
# each server answers. Sets lr[pf] (Postfix's median rate) for the caller.
declare -A lr
lat_table() {
  local rate=${2:-} who P r a b cpu late rep k order runs p50s p99s i
  local -A lp50 lp99 lcpu llate
  lr=()
  echo
  echo "$1; $(machine_line)"
  printf "%-10s %10s %10s %10s %10s %8s %6s   %s\n" server "msg/s" "p50 ms" "p99 ms" "CPU ms/msg" "load" late "per run p50/p99"
  for rep in $(seq "$REPS"); do
    order=("mxg" "pf" "sink"); k=$(( (rep - 1) % 3 )); order=("${order[@]:$k}" "${order[@]:0:$k}")
    for who in "${order[@]}"; do
      case $who in mxg) P=$MXP ;; pf) [ "$HAVE_PF" = 1 ] || continue; P=$PFP ;; sink) P=$SKP ;; esac
      read -r r a b cpu late <<<"$(lat "$P" "$LS" 1024 "$LAT_MSGS" "$who" $rate)"
      lr[$who]+="$r "; lp50[$who]+="$a "; lp99[$who]+="$b "; lcpu[$who]+="$cpu "; llate[$who]+="$late "
    done
  done
  for who in mxg pf sink; do
    [ -n "${lr[$who]:-}" ] || continue
    runs=""; set -- ${lp50[$who]}; p50s=("$@"); set -- ${lp99[$who]}; p99s=("$@")
    for i in "${!p50s[@]}"; do runs+="${p50s[$i]}/${p99s[$i]} "; done
    printf "%-10s %10s %10s %10s %10s %8s %6s   %s\n" "$who" "$(median ${lr[$who]})" "$(median ${lp50[$who]})" \
      "$(median ${lp99[$who]})" "$(median ${lcpu[$who]})" "$(cut -d' ' -f1 /proc/loadavg)" "$(median ${llate[$who]})" "$runs"
  done
}
if [ -x "$LATENCY" ]; then
  LS=${LAT_SESSIONS:-20}
  lat_table "End of DATA -> 250 latency, 1 KB x $LS sessions, $LAT_MSGS messages per run, $REPS runs (rotating order)"
  # The same at one offered load for every server (LAT_RATE messages/second; default
  # "auto": 80 % of Postfix's rate just measured, so Postfix is not saturated either;
  # 0 skips): the closed loop above gives the faster server more load, which lengthens
  # its journal commits; here both carry the same. `late` > 0: the rate was not held.
  LAT_RATE=${LAT_RATE:-auto}
  if [ "$LAT_RATE" = auto ]; then
    LAT_RATE=$( [ -n "${lr[pf]:-}" ] && median ${lr[pf]} | awk '{ printf "%d", $1 * 0.8 }')
  fi
  if [ -n "$LAT_RATE" ] && [ "$LAT_RATE" != 0 ]; then
    lat_table "End of DATA -> 250 latency at the same offered load, $LAT_RATE msg/s, 1 KB x up to $LS sessions, $LAT_MSGS messages per run, $REPS runs" "$LAT_RATE"
  fi
else
  echo "latency: $LATENCY not built (cmake --build build --target smtp_latency); skipped"
fi

# ---- idle connections
[ "$IDLE" -gt 0 ] && /usr/bin/python3 - "$MXP" "$MXPID" "$IDLE" <<'PY'
import socket, sys, time, resource
port, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000, n + 1000))
except Exception:
    pass
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
time.sleep(0.5)
before = rss()
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    socks.append(s)
ok = 0
for s in socks:
    if s.recv(512).startswith(b"220"):
        ok += 1
time.sleep(1)
after = rss()
print(f"idle connections: {ok} of {n} greeted; RSS {before} KB -> {after} KB; "
      f"{(after - before) * 1024 / max(ok, 1) / 1024:.1f} KB per connection")
for s in socks:
    s.close()
PY
