#!/usr/bin/env bash
# spf_side_by_side.sh: the same SPF query list evaluated by `mxguard spf check --batch`,
# pyspf (python3-spf, bench/spf_pyspf_driver.py looping spf.check2) and libspf2
# (`spfquery.libspf2 -file`), all against the same dnsmasq zone; prints queries/s, the
# ratios and every mismatching result. Recipe and numbers: docs/benchmarks.md "SPF evaluation".
# libspf2 and pyspf resolve through /etc/resolv.conf (port 53), so the script re-runs
# itself in a private mount namespace (unshare -m, needs root) where a temporary
# resolv.conf saying "nameserver 127.0.0.1" is bind-mounted over /etc/resolv.conf, and
# dnsmasq listens on 127.0.0.1:53. The real /etc/resolv.conf is never touched.
# Evaluation apart from start-up (issue 13): each tool also runs on an empty query list
# (the start-up-only run, same RUNS); the second table gives CPU per query with the
# start-up CPU subtracted, (CPU(list) - CPU(empty)) / QUERIES, and its ratio to libspf2.
# Usage: bench/spf_side_by_side.sh [QUERIES (default 3000)]   env: MXGUARD=path, RUNS=3,
#        PYSPF=0 leaves pyspf out (its row and comparison then read 0 / all mismatches)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
MXGUARD=${MXGUARD:-$src/build/mxguard}
N=${1:-3000}

if [ -z "${MXG_BENCH_IN_NS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "spf_side_by_side: needs root for unshare -m (private mount namespace)"; exit 0; }
  for t in /usr/sbin/dnsmasq spfquery.libspf2 /usr/bin/python3; do
    command -v "$t" >/dev/null || { echo "spf_side_by_side: SKIP, $t missing"; exit 0; }
  done
  /usr/bin/python3 -c 'import spf' 2>/dev/null || { echo "spf_side_by_side: SKIP, python3-spf missing"; exit 0; }
  [ -x "$MXGUARD" ] || { echo "spf_side_by_side: build mxguard first ($MXGUARD)"; exit 1; }
  exec unshare -m --propagation private env MXG_BENCH_IN_NS=1 MXGUARD="$MXGUARD" bash "$0" "$@"
fi

# ---- inside the private mount namespace ----
. "$src/tests/support/dnsmasq_lib.sh"
tmp=$(mktemp -d)
trap 'stop_dnsmasq; rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/spf_side_by_side_gen.py" "$tmp" "$N"
echo "nameserver 127.0.0.1" >"$tmp/resolv.conf"
mount --bind "$tmp/resolv.conf" /etc/resolv.conf
mapfile -t opts <"$tmp/dnsmasq.opts"
DNSMASQ_FIXED_PORT=53 start_dnsmasq --cache-size=10000 "${opts[@]}"

# Each fast tool runs $RUNS times (best wall time kept, with that run's CPU time); pyspf
# once. The CPU column (user+sys of the process) is the robust one on a shared machine.
RUNS=${RUNS:-3}
timed() {  # runs outfile command...
  /usr/bin/python3 "$here/spf_side_by_side_compare.py" --time "$@"
}
q="$tmp/queries.txt"
t_mx=$(timed "$RUNS" "$tmp/mxguard.out" "$MXGUARD" spf check --batch "$q")
t_mx1=$(timed "$RUNS" "$tmp/mxguard1.out" "$MXGUARD" spf check --batch "$q" --concurrency 1)
t_lib=$(timed "$RUNS" "$tmp/libspf2.out" spfquery.libspf2 -file "$q")
if [ "${PYSPF:-1}" = 1 ]; then
  t_py=$(timed 1 "$tmp/pyspf.out" /usr/bin/python3 "$here/spf_pyspf_driver.py" "$q")
else  # PYSPF=0: libspf2 only (pyspf needs ~4 min per 100,000 queries); its row reads 0
  t_py=0,0; : >"$tmp/pyspf.out"
fi
: >"$tmp/empty.txt"
s_mx=$(timed "$RUNS" /dev/null "$MXGUARD" spf check --batch "$tmp/empty.txt")
s_lib=$(timed "$RUNS" /dev/null spfquery.libspf2 -file "$tmp/empty.txt")
s_py=$(timed "$RUNS" /dev/null /usr/bin/python3 "$here/spf_pyspf_driver.py" "$tmp/empty.txt")

echo
echo "machine: $(nproc) cores, $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $("$MXGUARD" --version), libspf2 $(dpkg-query -W -f='${Version}' libspf2-2 2>/dev/null)," \
     "pyspf $(dpkg-query -W -f='${Version}' python3-spf 2>/dev/null) (pydns $(dpkg-query -W -f='${Version}' python3-dns 2>/dev/null))," \
     "dnsmasq $(dpkg-query -W -f='${Version}' dnsmasq-base 2>/dev/null)"
echo
/usr/bin/python3 "$here/spf_side_by_side_compare.py" "$q" "$N" \
  "mxguard spf check --batch=$t_mx:$tmp/mxguard.out:mxguard" \
  "mxguard --batch --concurrency 1=$t_mx1:$tmp/mxguard1.out:mxguard" \
  "libspf2 spfquery -file=$t_lib:$tmp/libspf2.out:libspf2" \
  "pyspf spf.check2 loop=$t_py:$tmp/pyspf.out:pyspf"
echo
echo "Evaluation apart from start-up (CPU user+sys; start-up = the same tool on an empty list):"
/usr/bin/python3 - "$N" "mxguard=$t_mx=$s_mx" "mxguard --concurrency 1=$t_mx1=$s_mx" \
  "libspf2=$t_lib=$s_lib" "pyspf=$t_py=$s_py" <<'PY'
import sys
n = int(sys.argv[1])
rows = []
for spec in sys.argv[2:]:
    name, full, start = spec.split("=")
    cpu, st = float(full.split(",")[1]), float(start.split(",")[1])
    if cpu > 0:
        rows.append((name, cpu, st, (cpu - st) / n))
lib = [r for r in rows if r[0] == "libspf2"][0][3]
print("| implementation | CPU s, %d queries | start-up CPU ms | evaluation CPU us/query | queries per CPU-s (evaluation) | vs libspf2 (evaluation, queries per CPU-s) |" % n)
print("|---|---:|---:|---:|---:|---:|")
for name, cpu, st, per in rows:
    print("| %s | %.3f | %.1f | %.2f | %.0f | %.2fx |" % (name, cpu, st * 1e3, per * 1e6,
          1 / per if per > 0 else 0, lib / per if per > 0 else 0))
PY
