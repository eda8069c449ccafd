#!/usr/bin/env bash
# forms_audit.sh: `mxguard forms audit` against a real web server. Serves tests/data/forms
# with Python's http.server on 127.0.0.1 (a free high port), crawls it, and checks the
# verdicts of every form (as stated in each page's opening comment), the crawl bounds
# (--crawl N, same-site only, non-pages skipped, fragments deduplicated), the exit status
# (0 no enabler, 1 enabler, 2 usage/IO error) and that non-loopback URLs are refused.
# Bounded: every mxguard run is under `timeout`; the server is killed on exit.
set -euo pipefail
: "${MXGUARD:?MXGUARD must name the mxguard binary}"
: "${MXG_SOURCE_DIR:?}"
PY=/usr/bin/python3
data="$MXG_SOURCE_DIR/tests/data/forms"
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fails=0
check() {  # check NAME CONDITION-EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "ok   - $1"; else echo "FAIL - $1"; fails=$((fails + 1)); fi
}

# Start the server on a free port (retry if another process takes the port first).
for attempt in 1 2 3 4 5; do
  port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  $PY -m http.server --bind 127.0.0.1 --directory "$data" "$port" >"$work/http.log" 2>&1 &
  pid=$!
  up=0
  for _ in $(seq 50); do
    if $PY -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/index.html', timeout=1)" 2>/dev/null; then
      up=1; break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$up" -eq 1 ] && break
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""
done
[ -n "$pid" ] || { echo "could not start http.server"; exit 1; }
base="http://127.0.0.1:$port"
: >"$work/http.log"  # forget the readiness probe
set +e  # from here on, failures are counted by check()

# 1. Crawl of 10 pages: index.html and the first nine same-site page links, in link order.
timeout 120 "$MXGUARD" forms audit "$base/index.html" --crawl 10 --json >"$work/crawl10.json" 2>"$work/crawl10.err"
rc=$?
[ "$rc" -eq 1 ]; check "crawl 10: exit status 1 (open-relay enablers found), got $rc" $?
$PY - "$work/crawl10.json" "$base" "$work/http.log" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1])); base = sys.argv[2]; log = open(sys.argv[3]).read()
E, R, K = "open-relay-enabler", "risky", "ok"
want = [
    ("index.html", [K]),
    ("tell_a_friend.html", [E]),
    ("tell_a_friend_fieldsets.html", [E]),
    ("contact_hidden_recipient.html", [E]),
    ("contact_server_recipient.html", [R]),
    ("contact_visible_recipient.html", [E, R]),
    ("captcha_recaptcha.html", [R]),
    ("captcha_hcaptcha.html", [R]),
    ("captcha_turnstile.html", [R, K]),
    ("several_forms.html", [K, K, K, E, K]),
]
got = [(p["location"], [f["verdict"] for f in p["forms"]]) for p in doc["pages"]]
expected = [(f"{base}/{name}", v) for name, v in want]
bad = 0
if got != expected:
    print("pages/verdicts differ:\n got     ", got, "\n expected", expected); bad = 1
s = doc["summary"]
if (s["pages"], s["forms"], s["open-relay-enabler"], s["risky"], s["ok"], s["errors"]) != (10, 16, 5, 5, 6, 0):
    print("summary differs:", s); bad = 1
taf = doc["pages"][1]["forms"][0]
if taf["action"] != f"{base}/cgi-bin/tellafriend.php" or taf["method"] != "POST":
    print("action not resolved against the page URL:", taf["action"], taf["method"]); bad = 1
roles = {f["name"]: f["role"] for f in taf["fields"]}
if roles.get("your_email") != "sender" or roles.get("friend_email") != "recipient" or roles.get("message") != "free-text":
    print("roles differ:", roles); bad = 1
if "style.css" in log:
    print("the stylesheet was fetched"); bad = 1
if log.count("GET /tell_a_friend.html ") != 1:
    print("tell_a_friend.html not fetched exactly once (fragment duplicate)"); bad = 1
if log.count('"GET ') != 10:
    print("expected 10 requests, server log:\n" + log); bad = 1
if doc.get("exit_status") != 1:
    print("exit_status field:", doc.get("exit_status")); bad = 1
sys.exit(bad)
PYEOF
check "crawl 10: pages in link order, verdicts per form, same-site only, 10 requests" $?

# 2. A crawl large enough for the whole site: every page once, totals of all forms.
: >"$work/http.log"
timeout 120 "$MXGUARD" forms audit "$base/index.html" --crawl 100 --json >"$work/all.json" 2>/dev/null
rc=$?
[ "$rc" -eq 1 ]; check "crawl 100: exit status 1, got $rc" $?
$PY - "$work/all.json" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
# 15 pages; 22 forms: 8 enablers, 7 risky, 7 ok (see the comment atop each page).
ok = (s["pages"], s["forms"], s["open-relay-enabler"], s["risky"], s["ok"], s["errors"]) == (15, 22, 8, 7, 7, 0)
if not ok: print("summary:", s)
sys.exit(0 if ok else 1)
PYEOF
check "crawl 100: 15 pages, 22 forms, 8 enablers, 7 risky, 7 ok" $?

# 3. A page with no enabler exits 0 (table output); --crawl 1 fetches only that page.
: >"$work/http.log"
timeout 60 "$MXGUARD" forms audit "$base/captcha_turnstile.html" >"$work/ok.txt" 2>&1
rc=$?
[ "$rc" -eq 0 ]; check "page without enabler: exit status 0, got $rc" $?
grep -q "risky" "$work/ok.txt" && grep -q "cf-turnstile" "$work/ok.txt"; check "table output names verdicts and the captcha" $?
[ "$(grep -c '"GET ' "$work/http.log")" -eq 1 ]; check "default crawl fetches one page" $?

# 4. Refusals and errors: exit status 2 with a clear message, nothing fetched elsewhere.
for url in "http://example.com/" "http://192.0.2.1:$port/index.html" "https://127.0.0.1:$port/" "http://localhost.example.com/"; do
  timeout 30 "$MXGUARD" forms audit "$url" >/dev/null 2>"$work/refused.err"
  rc=$?
  [ "$rc" -eq 2 ] && grep -qi "refused" "$work/refused.err"; check "non-loopback URL $url refused with status 2 (got $rc)" $?
done
timeout 30 "$MXGUARD" forms audit "$base/missing.html" >/dev/null 2>"$work/404.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "404" "$work/404.err"; check "missing page: status 2 and the HTTP status (got $rc)" $?
timeout 30 "$MXGUARD" forms audit >/dev/null 2>&1; rc_none=$?
timeout 30 "$MXGUARD" forms audit "$data/index.html" --crawl zero >/dev/null 2>&1; rc_crawl=$?
timeout 30 "$MXGUARD" forms audit "$work/no-such-dir" >/dev/null 2>&1; rc_path=$?
timeout 60 "$MXGUARD" forms audit "$data" >/dev/null 2>&1; rc_dir=$?
[ "$rc_none" -eq 2 ]; check "no target: usage status 2 (got $rc_none)" $?
[ "$rc_crawl" -eq 2 ]; check "bad --crawl: usage status 2 (got $rc_crawl)" $?
[ "$rc_path" -eq 2 ]; check "missing path: status 2 (got $rc_path)" $?
[ "$rc_dir" -eq 1 ]; check "directory of pages: status 1 (got $rc_dir)" $?

echo "forms_audit: $fails failures"
[ "$fails" -eq 0 ]
