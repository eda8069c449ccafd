#!/usr/bin/env bash
# queue_format_ab.sh: issue 13 section 2, the queue format A/B in one run. Four servers
# side by side, each in its own cpuacct cgroup, on the same spool file system:
#   split   mxguard serve, [queue] format = "split"  (A: .data + .ctl, two file fsyncs)
#   single  mxguard serve, [queue] format = "single" (B: one .msg file, one fsync)
#   pf      a private Postfix (Debian's) with its durable queue, default_transport = discard
#   sink    smtp-sink (stores nothing: the protocol's upper bound)
# All mxguard listeners are in hold mode with fsync on (250 only after the commit).
# For each case (1 KB x 20 sessions, 1 KB x 1 session) REPS runs of MSGS messages with
# postfix's smtp-source, the order of the four rotating between repetitions; prints
# msgs/s, the server's own CPU per message (cgroup) and the machine's busy time per
# message (medians, with the per-run values). Then the end-of-DATA -> 250 latency at
# LAT_SESSIONS sessions (bench/tools/smtp_latency.cpp: p50/p99 from client-side
# timestamps), same rotation. Then, unless STRACE=0, the system calls per message of
# each mxguard (strace -c -f attached for one short run of STRACE_MSGS messages;
# strace slows the server down, so only the counts matter there).
# First, if built, bench_queue_bench's commit rate and CPU per message for both formats.
# Usage: MXGUARD=build/mxguard bash bench/queue_format_ab.sh [--pin]
#   REPS (5), MSGS (2000), LAT_MSGS (2000), LAT_SESSIONS (20), STRACE_MSGS (1000),
#   QUEUE_BENCH (build/bench/bench_queue_bench: run first, queue_dir alone, if built).
#   MXGUARD_OLD=path: a fifth server "old", an earlier mxguard binary with format
#   "single", in the same rotation (a before/after of a change to the commit path).
set -uo pipefail
for a in "$@"; do
  case $a in
    --pin) export PIN=1 ;;
    *) echo "usage: $0 [--pin]" >&2; exit 2 ;;
  esac
done
MXGUARD=${MXGUARD:-build/mxguard}
LATENCY=${LATENCY:-$(dirname "$MXGUARD")/bench/smtp_latency}
REPS=${REPS:-5}
MSGS=${MSGS:-2000}
LAT_MSGS=${LAT_MSGS:-2000}
LAT_SESSIONS=${LAT_SESSIONS:-20}
STRACE_MSGS=${STRACE_MSGS:-1000}
[ -x /usr/sbin/smtp-source ] || { echo "smtp-source (postfix) not installed" >&2; exit 77; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/smtp_bench_lib.bash"
MXGUARD_OLD=${MXGUARD_OLD:-}
mxgs=(split single)
[ -n "$MXGUARD_OLD" ] && mxgs+=(old)
bench_setup "${mxgs[@]}" pf sink

# ---- queue_dir alone (bench/queue_bench.cpp, fsync on, queue on the same spool fs):
# messages committed per second and the process's CPU per message, 1 and 20 writers.
QUEUE_BENCH=${QUEUE_BENCH:-$(dirname "$MXGUARD")/bench/bench_queue_bench}
if [ -x "$QUEUE_BENCH" ]; then
  echo "queue_dir commit (bench_queue_bench, 1 KB, fsync on, max_batch 256, $REPS runs per case, format order rotating), $(machine_line), load average $(loadavg), fs ${BENCH_FS}"
  printf "%-8s %-7s %9s %12s %10s %11s   %s\n" sessions format "msgs/s" "CPU us/msg" "fsyncs/msg" "msgs/round" "per run msgs/s | CPU us/msg"
  declare -A QR=() QC=() QF=() QM=()
  for sess in 1 20; do
    for rep in $(seq "$REPS"); do
      fmts=(0 1); [ $((rep % 2)) = 0 ] && fmts=(1 0)
      for f in "${fmts[@]}"; do
        out=$(TMPDIR=$tmp "$QUEUE_BENCH" --benchmark_filter="BM_QueueCommit/sessions:$sess/max_batch:256/fsync:1/format:$f/" \
              --benchmark_format=json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
b = json.load(sys.stdin)["benchmarks"][0]
print("%.0f %.1f %.2f %.2f" % (b["msgs/s"], b["cpu_us/msg"], b["fsyncs/msg"], b["msgs/round"]))')
        read -r r cpu fs mr <<<"$out"
        QR[$sess.$f]+="$r "; QC[$sess.$f]+="$cpu "; QF[$sess.$f]=$fs; QM[$sess.$f]+="$mr "
      done
    done
    for f in 0 1; do
      name=split; [ $f = 1 ] && name=single
      printf "%-8s %-7s %9s %12s %10s %11s   %s| %s\n" "$sess" "$name" "$(median ${QR[$sess.$f]})" "$(median ${QC[$sess.$f]})" \
        "${QF[$sess.$f]}" "$(median ${QM[$sess.$f]})" "${QR[$sess.$f]}" "${QC[$sess.$f]}"
    done
  done
  echo
fi

declare -A PORT MXPID
for f in "${mxgs[@]}"; do
  PORT[$f]=$(port)
  fmt=$f bin=$MXGUARD
  [ "$f" = old ] && fmt=single bin=$MXGUARD_OLD
  cat > "$tmp/$f.toml" <<CONF
state_dir = "$tmp/$f"
[queue]
format = "$fmt"
[log]
file = "$tmp/$f.log"
[relay]
trusted_networks = ["127.0.0.0/8"]
[limits]
sessions_total = 20000
sessions_per_ip = 20000
[listener.bench]
address = "127.0.0.1:${PORT[$f]}"
delivery_mode = "hold"
fsync = true
CONF
  cg_run "$f" "$bin" serve --config "$tmp/$f.toml" & pids+=($!)
  MXPID[$f]=$!
  wait_port "${PORT[$f]}" || exit 1
done
PORT[sink]=$(port)
cg_run sink /usr/sbin/smtp-sink -u nobody -c "127.0.0.1:${PORT[sink]}" 1024 >/dev/null 2>&1 & pids+=($!)
wait_port "${PORT[sink]}" || exit 1
pf_start pf
servers=("${mxgs[@]}" sink)
[ "$HAVE_PF" = 1 ] && servers=("${mxgs[@]}" pf sink)
PORT[pf]=${PFP:-0}

echo "Queue format A/B: $(machine_line), load average $(loadavg), $(uname -r), fs ${BENCH_FS} ($(findmnt -n -o FSTYPE,OPTIONS --target "$tmp" | cut -c1-40)), $(postconf -d mail_version 2>/dev/null), $("$MXGUARD" --version)"
echo "REPS=$REPS MSGS=$MSGS (1-session cases: MSGS/4), order rotating per repetition"
for c in "1024 20" "1024 1"; do
  set -- $c
  n=$MSGS; [ "$2" = 1 ] && n=$((MSGS / 4))
  declare -A R=() C=() B=()
  for rep in $(seq "$REPS"); do
    k=$(( (rep - 1) % ${#servers[@]} )); order=("${servers[@]:$k}" "${servers[@]:0:$k}")
    for who in "${order[@]}"; do
      settle
      read -r r cpu busy <<<"$(rate "${PORT[$who]}" "$2" "$1" "$n" "$who")"
      R[$who]+="$r "; C[$who]+="$cpu "; B[$who]+="$busy "
    done
  done
  echo
  echo "$(( $1 / 1024 )) KB x $2 sessions ($n messages per run, load average now $(loadavg))"
  printf "%-7s %9s %12s %15s   %s\n" server "msgs/s" "CPU ms/msg" "machine ms/msg" "per run: msgs/s | CPU ms/msg"
  for who in "${servers[@]}"; do
    printf "%-7s %9s %12s %15s   %s| %s\n" "$who" "$(median ${R[$who]})" "$(median ${C[$who]})" \
      "$(median ${B[$who]})" "${R[$who]}" "${C[$who]}"
  done
  for who in single old pf sink; do
    [ -n "${R[$who]:-}" ] || continue
    echo "  split/$who: msgs/s $(ratio "$(median ${R[split]})" "$(median ${R[$who]})"), CPU $(ratio "$(median ${C[split]})" "$(median ${C[$who]})")"
  done
  for who in old pf sink; do
    [ -n "${R[$who]:-}" ] || continue
    echo "  single/$who: msgs/s $(ratio "$(median ${R[single]})" "$(median ${R[$who]})"), CPU $(ratio "$(median ${C[single]})" "$(median ${C[$who]})")"
  done
done

if [ -x "$LATENCY" ]; then
  echo
  echo "End of DATA -> 250 latency, 1 KB x $LAT_SESSIONS sessions, $LAT_MSGS messages per run, $REPS runs (rotating order); $(machine_line)"
  printf "%-7s %9s %9s %9s %11s   %s\n" server "msgs/s" "p50 ms" "p99 ms" "CPU ms/msg" "per run p50/p99"
  declare -A lr=() lp50=() lp99=() lcpu=()
  for rep in $(seq "$REPS"); do
    k=$(( (rep - 1) % ${#servers[@]} )); order=("${servers[@]:$k}" "${servers[@]:0:$k}")
    for who in "${order[@]}"; do
      read -r r a b cpu _ <<<"$(lat "${PORT[$who]}" "$LAT_SESSIONS" 1024 "$LAT_MSGS" "$who")"
      lr[$who]+="$r "; lp50[$who]+="$a "; lp99[$who]+="$b "; lcpu[$who]+="$cpu "
    done
  done
  for who in "${servers[@]}"; do
    runs=""; set -- ${lp50[$who]}; p50s=("$@"); set -- ${lp99[$who]}; p99s=("$@")
    for i in "${!p50s[@]}"; do runs+="${p50s[$i]}/${p99s[$i]} "; done
    printf "%-7s %9s %9s %9s %11s   %s\n" "$who" "$(median ${lr[$who]})" "$(median ${lp50[$who]})" \
      "$(median ${lp99[$who]})" "$(median ${lcpu[$who]})" "$runs"
  done
  echo "load average now $(loadavg)"
else
  echo "latency: $LATENCY not built (cmake --build build --target smtp_latency); skipped"
fi

# System calls per message: strace -c -f attached to each mxguard for one run.
if [ "${STRACE:-1}" = 1 ] && command -v strace >/dev/null; then
  echo
  echo "System calls per message (strace -c -f, 1 KB x 20 sessions, $STRACE_MSGS messages; all threads)"
  printf "%-7s %8s %8s %8s %8s %8s %8s %8s %8s\n" server total fsync rename openat write pwrite64 close futex
  for f in "${mxgs[@]}"; do
    strace -c -f -qq -o "$tmp/strace-$f.txt" -p "${MXPID[$f]}" 2>/dev/null & sp=$!
    sleep 1
    /usr/sbin/smtp-source -s 20 -m "$STRACE_MSGS" -l 1024 -f src@bench.test -t dst@bench.test "127.0.0.1:${PORT[$f]}" >/dev/null 2>&1
    kill -INT "$sp"; wait "$sp" 2>/dev/null
    awk -v n="$STRACE_MSGS" -v who="$f" '
      $NF ~ /^[a-z_0-9]+$/ && $NF != "total" && $4 ~ /^[0-9]+$/ { calls[$NF] = $4; tot += $4 }
      END { printf "%-7s %8.1f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", who, tot / n,
            (calls["fsync"] + calls["fdatasync"]) / n, (calls["rename"] + calls["renameat2"] + calls["renameat"]) / n,
            calls["openat"] / n, calls["write"] / n, calls["pwrite64"] / n, calls["close"] / n, calls["futex"] / n }' "$tmp/strace-$f.txt"
  done
fi
for f in "${mxgs[@]}"; do
  echo "$f: messages in its queue after the run: $(ls "$tmp/$f/queue/bench/messages" | grep -c '\.\(ctl\|msg\)$')"
done
