#!/usr/bin/env bash
# smtp_instructions.sh: user-space instructions per durable message of `mxguard serve`
# (issue 13 section 1), a measure that holds on a loaded machine where CPU seconds swing.
# The server runs under valgrind --tool=callgrind (all its threads: event loop, queue
# writers, directory syncer, history) with the configuration of
# bench/smtp_side_by_side.sh's mxguard (hold mode, fsync on, history on, log at info to a
# file, rDNS from the hosts file); postfix's smtp-source sends MSGS 1 KB messages over
# SESSIONS sessions, one message per connection; then SIGTERM drains it. The same is
# done with no message at all (start-up and shutdown only), and
#   instructions per message = (Ir(MSGS) - Ir(0)) / MSGS.
# Kernel time (system calls, TCP, the file system) is not in these counts: the CPU
# figures of bench/smtp_side_by_side.sh cover it.
# Usage: MXGUARD=build/mxguard bash bench/smtp_instructions.sh   (MSGS=1000 SESSIONS=20)
#        KEEP=1 keeps the callgrind output files (callgrind_annotate them).
set -uo pipefail
MXGUARD=${MXGUARD:-build/mxguard}
MSGS=${MSGS:-1000}
SESSIONS=${SESSIONS:-20}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 77; }
[ -x /usr/sbin/smtp-source ] || { echo "smtp-source (postfix) not installed" >&2; exit 77; }
tmp=$(mktemp -d "$BENCH_DIR/mxg-instr-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() {  # run N -> total instructions (Ir) of a server that received N messages
  local n=$1 p out pid
  p=$(port)
  rm -rf "$tmp/state"
  cat > "$tmp/mxguard.toml" <<EOF
state_dir = "$tmp/state"
[log]
file = "$tmp/mxguard-$n.log"
[relay]
trusted_networks = ["127.0.0.0/8"]
[listener.bench]
address = "127.0.0.1:$p"
delivery_mode = "hold"
fsync = true
EOF
  out="$tmp/callgrind-$n.out"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$MXGUARD" serve --config "$tmp/mxguard.toml" \
    >"$tmp/valgrind-$n.txt" 2>&1 &
  pid=$!
  for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
  if [ "$n" -gt 0 ]; then
    /usr/sbin/smtp-source -s "$SESSIONS" -m "$n" -l 1024 -f src@bench.test -t dst@bench.test \
      "127.0.0.1:$p" >/dev/null 2>&1 || echo "smtp-source failed" >&2
  else
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null  # the readiness probe's connection only
  fi
  kill -TERM "$pid"
  wait "$pid"
  local q
  q=$(ls "$tmp/state/queue/bench/messages" 2>/dev/null | grep -c -E '\.(ctl|msg)$')  # either queue format
  echo "messages queued: $q of $n" >&2
  awk '/^(summary|totals):/ { print $2; exit }' "$out"
  [ "${KEEP:-0}" = 1 ] && cp "$out" "$BENCH_DIR/"
}

base=$(run 0)
full=$(run "$MSGS")
echo "mxguard $("$MXGUARD" --version 2>/dev/null): start-up+shutdown $base instructions; with $MSGS messages x $SESSIONS sessions $full"
awk -v a="$full" -v b="$base" -v n="$MSGS" 'BEGIN { printf "instructions per message: %.0f\n", (a - b) / n }'
