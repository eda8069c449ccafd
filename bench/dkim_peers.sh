#!/usr/bin/env bash
# dkim_peers.sh: DKIM verifications per CPU-second, mxguard vs dkimpy vs OpenDKIM, on one
# generated message set (rsa-2048 / ed25519, 2 KB / 100 KB bodies). The work and the
# method are in bench/dkim_peers.py; numbers and recipe in docs/benchmarks.md.
# Needs: $MXGUARD (its build dir holds bench/bench_dkim_peers_bench), python3-dkim,
# opendkim, openssl. A missing peer prints SKIP and exits 0 (make bench goes on).
# Never uses the network (keys from files written here) nor writes outside a temp dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/dkim_peers.py" "$@"
