#!/usr/bin/env bash
# smtp_cpu_ab.sh: A/B of two (or more) mxguard builds in one invocation (issue 13
# section 1): for each repetition, for each binary (order rotating), a fresh spool on a
# loop-mounted ext4 (as root; else under BENCH_DIR), `mxguard serve` (hold mode, fsync
# on, history on, log at info to a file), postfix's smtp-source sends MSGS 1 KB messages
# over SESSIONS sessions; prints the rate, the server's CPU per message (utime+stime
# from /proc/PID/stat), the messages queued and the load average. With PERF=1 also
# perf stat's system calls and context switches per message. Not run by `make bench`
# (it lives in bench/tools/); the numbers are in docs/benchmarks.md.
# Usage: sudo MSGS=3000 SESSIONS=20 REPS=4 bash bench/tools/smtp_cpu_ab.sh OLD/mxguard NEW/mxguard
set -uo pipefail
MSGS=${MSGS:-3000}; SESSIONS=${SESSIONS:-20}; REPS=${REPS:-4}; PERF=${PERF:-0}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
[ $# -ge 1 ] || { echo "usage: $0 MXGUARD..." >&2; exit 2; }
bins=("$@")
img=""; mnt=$(mktemp -d "$BENCH_DIR/mxg-ab-XXXXXX")
if [ "$(id -u)" = 0 ]; then
  img="$mnt.img"; truncate -s 2G "$img" && mkfs.ext4 -q -F "$img" && mount -o loop "$img" "$mnt" || img=""
fi
cleanup() { [ -n "$img" ] && umount "$mnt" && rm -f "$img"; rm -rf "$mnt"; }
trap cleanup EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
echo "cores $(nproc), $(uname -r), $MSGS messages x $SESSIONS sessions, $REPS repetitions"
for rep in $(seq "$REPS"); do
  n=${#bins[@]}; k=$(( (rep - 1) % n ))
  order=("${bins[@]:$k}" "${bins[@]:0:$k}")
  for b in "${order[@]}"; do
    d=$(mktemp -d "$mnt/r-XXXX"); p=$(port)
    printf 'state_dir = "%s/state"\n[log]\nfile = "%s/mxguard.log"\n[relay]\ntrusted_networks = ["127.0.0.0/8"]\n[limits]\nsessions_total = 20000\nsessions_per_ip = 20000\n[listener.bench]\naddress = "127.0.0.1:%s"\ndelivery_mode = "hold"\nfsync = true\n' \
      "$d" "$d" "$p" > "$d/c.toml"
    "$b" serve --config "$d/c.toml" >/dev/null 2>&1 & pid=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
    extra=""
    if [ "$PERF" = 1 ]; then
      perf stat -e raw_syscalls:sys_enter,context-switches -p "$pid" -o "$d/perf.txt" & spid=$!
      sleep 0.3
    fi
    c0=$(awk '{print $14+$15}' "/proc/$pid/stat"); t0=$(date +%s.%N)
    /usr/sbin/smtp-source -s "$SESSIONS" -m "$MSGS" -l 1024 -f src@bench.test -t dst@bench.test "127.0.0.1:$p" >/dev/null 2>&1
    t1=$(date +%s.%N); c1=$(awk '{print $14+$15}' "/proc/$pid/stat")
    if [ "$PERF" = 1 ]; then
      kill -INT "$spid"; wait "$spid" 2>/dev/null
      extra=$(awk -v n="$MSGS" '/sys_enter/{s=$1} /context-switches/{c=$1} END{printf " syscalls/msg %.1f cs/msg %.1f", s/n, c/n}' "$d/perf.txt")
    fi
    kill "$pid"; wait "$pid" 2>/dev/null
    q=$(ls "$d/state/queue/bench/messages" | grep -c -E '\.(ctl|msg)$')  # either queue format
    awk -v b="$b" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v n="$MSGS" -v q="$q" \
        -v la="$(cut -d' ' -f1-3 /proc/loadavg)" -v hz="$(getconf CLK_TCK)" -v x="$extra" \
      'BEGIN{printf "%-40s rate %6.0f/s cpu %.3f ms/msg queued %d load %s%s\n", b, n/(t1-t0), (c1-c0)*1000/hz/n, q, la, x}'
    rm -rf "$d"
  done
done
