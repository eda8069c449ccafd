# dnsmasq_lib.sh: sourced by integration tests and bench scripts that need a real DNS
# server. start_dnsmasq [dnsmasq options...] starts /usr/sbin/dnsmasq on 127.0.0.1 and a
# free high port (or on $DNSMASQ_FIXED_PORT if set, e.g. 53 inside a private namespace),
# with no upstream, no hosts file, no resolv.conf; sets DNSMASQ_PORT and DNSMASQ_PID and
# waits until it answers TCP. stop_dnsmasq kills it. Only loopback is ever used.
# DNSMASQ_LOG=FILE sends its log there (add --log-queries to see every query).
DNSMASQ_BIN=${DNSMASQ_BIN:-/usr/sbin/dnsmasq}
DNSMASQ_PID=""
DNSMASQ_PORT=""

dnsmasq_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

dnsmasq_listening() {  # port
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(0.2)
try:
    s.connect(("127.0.0.1", int(sys.argv[1]))); sys.exit(0)
except OSError:
    sys.exit(1)
PY
}

start_dnsmasq() {
  local attempt port
  for attempt in 1 2 3 4 5; do
    port=${DNSMASQ_FIXED_PORT:-$(dnsmasq_free_port)}
    "$DNSMASQ_BIN" --keep-in-foreground --port="$port" --listen-address=127.0.0.1 --bind-interfaces \
      --no-resolv --no-hosts --no-poll --conf-file=/dev/null --pid-file= --log-facility="${DNSMASQ_LOG:-/dev/null}" \
      "$@" &
    DNSMASQ_PID=$!
    for _ in $(seq 50); do
      if ! kill -0 "$DNSMASQ_PID" 2>/dev/null; then break; fi
      if dnsmasq_listening "$port"; then DNSMASQ_PORT=$port; return 0; fi
      sleep 0.1
    done
    stop_dnsmasq
    [ -n "${DNSMASQ_FIXED_PORT:-}" ] && break
  done
  echo "dnsmasq did not start" >&2
  return 1
}

stop_dnsmasq() {
  if [ -n "$DNSMASQ_PID" ]; then
    kill "$DNSMASQ_PID" 2>/dev/null || true
    wait "$DNSMASQ_PID" 2>/dev/null || true
    DNSMASQ_PID=""
  fi
}
