#!/usr/bin/env bash
# store_bench.sh: history writes per second, SQLite against PostgreSQL (issue 14), in
# the same run: bench_store_bench with a private PostgreSQL server
# (tests/support/private_postgres.py; durable settings: fsync on, synchronous_commit on,
# as a production database would be). Prints the Google Benchmark table; the ratio goes
# to docs/benchmarks.md with this recipe.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
bin=$build/bench/bench_store_bench
[ -x "$bin" ] || { echo "store_bench.sh: $bin not built"; exit 0; }
python3 - "$root" "$bin" <<'PY'
import os, subprocess, sys
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "support"))
from private_postgres import PrivatePostgres
pg = PrivatePostgres(fast=False)
if not pg.available():
    print("store_bench.sh: PostgreSQL server binaries missing: skipped")
    sys.exit(0)
with pg:
    env = dict(os.environ, MXG_PG_DSN=pg.dsn)
    sys.exit(subprocess.run([sys.argv[2], "--benchmark_min_time=2",
                             "--benchmark_repetitions=3",
                             "--benchmark_report_aggregates_only=true"], env=env).returncode)
PY
