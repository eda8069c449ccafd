#!/usr/bin/env bash
# queue_list_latency.sh: issue 16 item 5. `mxguard queue list` through the control
# socket of a running `mxguard serve` whose queue holds N small held messages, while
# THREADS parallel SMTP clients each open a connection every INTERVAL seconds and time
# the greeting (bench/greeting_probe.py). The queue is filled by writing its files
# directly (tests/support/queue_fill.py, the documented default format), so 100k
# messages take seconds, not an SMTP run.
# Prints, for a BASE-second window without a listing and for the listing itself
# (text, then --json): greeting latency p50/p99/max, the wall time of the list command,
# the server's CPU time in that window (utime+stime from /proc) and its peak RSS in it
# (VmHWM after resetting it through /proc/PID/clear_refs), and checks that the
# listing was complete (its summary line / count = N). The server does other work
# meanwhile: the delivery scheduler reads the whole queue every 30 s (on its worker
# pool), so the baseline window is BASE = 30 s (one scan period) and "own" is the
# window's CPU minus the baseline's CPU rate times the window (an estimate).
# Usage: MXGUARD=build/mxguard [N=100000 THREADS=8 INTERVAL=0.02 BASE=3
#        BENCH_DIR=/var/tmp KEEP=1] bash bench/queue_list_latency.sh
# BENCH_DIR: where the queue lives (not /tmp: see docs/benchmarks.md, SMTP gateway).
set -uo pipefail
MXGUARD=${MXGUARD:-build/mxguard}
MXGUARD=$(realpath "$MXGUARD")
N=${N:-100000}
THREADS=${THREADS:-8}
INTERVAL=${INTERVAL:-0.02}
BASE=${BASE:-30}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "$BENCH_DIR/mxg-qlist-XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
state="$tmp/var"
cat >"$tmp/mxguard.toml" <<TOML
state_dir = "$state"
hostname = "mx.bench.test"
[log]
file = "$tmp/mxguard.log"
level = "info"
[relay]
local_domains = ["local.test"]
trusted_networks = []
[listener.bench]
address = "127.0.0.1:$port"
delivery_mode = "hold"
TOML
t0=$(date +%s.%N)
python3 "$here/../tests/support/queue_fill.py" "$state/queue/bench" "$N" bench >/dev/null || exit 1
t1=$(date +%s.%N)
echo "filled $N messages in $(echo "$t1 - $t0" | bc) s ($tmp)"
"$MXGUARD" serve --config "$tmp/mxguard.toml" >"$tmp/serve.out" 2>&1 &
pid=$!
for _ in $(seq 1200); do  # start-up recovery reads every message: allow 10 minutes
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1).close()" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "serve died:"; cat "$tmp/serve.out"; exit 1; }
  sleep 0.5
done
t2=$(date +%s.%N)
echo "server up after $(echo "$t2 - $t1" | bc) s (start-up recovery of $N)"
tck=$(getconf CLK_TCK)
cpu_s() { awk -v t="$tck" '{print ($14 + $15) / t}' "/proc/$pid/stat"; }
rss_mb() { awk -v k="$1" '$1 == k":" {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
probe() { python3 "$here/greeting_probe.py" --port "$port" --threads "$THREADS" --interval "$INTERVAL" "$@"; }

c0=$(cpu_s)
base=$(probe --seconds "$BASE")
c1=$(cpu_s)
rate=$(echo "scale=4; ($c1 - $c0) / $BASE" | bc)
echo "no listing ($BASE s):   greeting $base; server CPU $(echo "$c1 - $c0" | bc) s ($rate s/s); RSS $(rss_mb VmRSS) MB"

measure() {  # $1 = label, rest = extra queue args
  local label=$1; shift
  local stop="$tmp/stop.$label"
  echo 5 >"/proc/$pid/clear_refs"  # peak RSS := current RSS
  local r0 c0 t0 t1 c1 lat
  r0=$(rss_mb VmRSS)
  c0=$(cpu_s)
  probe --until "$stop" >"$tmp/probe.$label" &
  local ppid=$!
  t0=$(date +%s.%N)
  "$MXGUARD" queue --socket "$state/control.sock" "$@" list >"$tmp/list.$label" 2>"$tmp/list.$label.err"
  local rc=$?
  t1=$(date +%s.%N)
  c1=$(cpu_s)
  touch "$stop"
  wait "$ppid"
  lat=$(cat "$tmp/probe.$label")
  local own
  own=$(printf "%.2f" "$(echo "($c1 - $c0) - $rate * ($t1 - $t0)" | bc)")
  echo "queue $* list: exit $rc, wall $(echo "$t1 - $t0" | bc) s, $(wc -c <"$tmp/list.$label") bytes; greeting $lat; server CPU $(echo "$c1 - $c0" | bc) s (own ~$own s); RSS $r0 MB, peak $(rss_mb VmHWM) MB"
}
measure text
grep -q -- "^-- $N messages$" "$tmp/list.text" || { echo "FAIL: text listing incomplete: $(tail -n1 "$tmp/list.text")"; exit 1; }
measure json --json
count=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$tmp/list.json")
[ "$count" = "$N" ] || { echo "FAIL: json listing count $count, want $N"; exit 1; }
grep "queue list via=control-socket" "$tmp/mxguard.log" | sed 's/^/  log: /'
