#!/usr/bin/env bash
# mxguard ndr report end to end: two forged bounces and one real one (tests/data/
# backscatter), our SPF from a zone file; expects the abused site ranked first with its
# abuse contacts, the real bounce judged legitimate, and one draft report written.
set -euo pipefail
: "${MXGUARD:?} ${MXG_SOURCE_DIR:?}"
data="$MXG_SOURCE_DIR/tests/data/backscatter"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$MXGUARD" ndr report "$data"/forged-1.eml "$data"/forged-2.eml "$data"/real-1.eml \
  --our-domains our.test --zone "$data/zone.txt" --json --draft-reports "$tmp/drafts" > "$tmp/out.json"

/usr/bin/python3 - "$tmp/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
assert s["bounces"] == 3 and s["backscatter"] == 2 and s["legitimate"] == 1, s
verdicts = {b["file"].split("/")[-1]: b["verdict"] for b in r["bounces"]}
assert verdicts == {"forged-1.eml": "backscatter", "forged-2.eml": "backscatter",
                    "real-1.eml": "legitimate"}, verdicts
src = r["sources"]
assert len(src) == 1 and src[0]["source"] == "abused.test" and src[0]["count"] == 2, src
contacts = {c["address"] for c in src[0]["contacts"]}
for want in ["abuse@abused.test", "security@abused.test", "hostmaster@abused.test",
             "abuse@hosting-isp.test"]:
    assert want in contacts, (want, contacts)
print("ndr report: 2 backscatter, 1 legitimate, source abused.test with", len(contacts), "contacts")
PY
n=$(ls "$tmp/drafts" | wc -l)
[ "$n" -eq 1 ] || { echo "expected 1 draft, got $n"; exit 1; }
grep -q "^To: abuse@abused.test" "$tmp/drafts"/*.eml
grep -q "198.51.100.7" "$tmp/drafts"/*.eml
# CSV and table forms work too; an unknown flag is a usage error (2).
"$MXGUARD" ndr report "$data" --our-domains our.test --zone "$data/zone.txt" --csv | grep -q '^1,abused.test,'
set +e; "$MXGUARD" ndr report "$data" --our-domains our.test --bogus >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -ne 0 ] || { echo "bad flag accepted"; exit 1; }
echo "ndr_report: ok"
