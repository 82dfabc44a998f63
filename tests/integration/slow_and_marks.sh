#!/usr/bin/env bash
# --slow, the error counts of --report and the HTML report's exchange marks,
# on real servers captured by tcpdump on lo:
#   - redis-server (with a password): one redis-cli connection sends PING,
#     DEBUG SLEEP 0.3 (slow), DEBUG SLEEP 0.05 (not slow), a command that
#     does not exist (an error reply) and GET; another pipes 1,500 PINGs
#     (--pipe: over the HTML report's 1,000 marks per connection);
#   - PostgreSQL 15 (a throwaway cluster): psql runs pg_sleep(0.3) (slow),
#     pg_sleep(0.05) and a query on a missing table (an ErrorResponse);
#   - nghttpd (h2c): nghttp fetches a file on 5 concurrent streams.
# `tcpscribe -r cap --slow 0.25 --report --html` must give exactly two slow
# answers (the redis and the PostgreSQL 0.3 s ones, not the 0.05 s ones),
# count the error replies per connection, and mark every exchange on its
# connection in the HTML (redis commands, SQL, h2 streams with their id),
# the 1,500-PING connection capped and the rest counted; chromium draws the
# page (the marks drawn are counted on the canvas element; the detail pane
# lists the exchanges, errors in red, and the pointer over a mark names it:
# tests/browser/marks_test.mjs). The password is
# in no finding, report line or mark. Then the proxy: the same slow DEBUG SLEEP through
# `tcpscribe proxy --slow 0.25 --report` is in its report.
# Usage: slow_and_marks.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

pgbin=/usr/lib/postgresql/15/bin
for c in redis-server redis-cli "$pgbin/initdb" "$pgbin/pg_ctl" psql nghttpd nghttp python3 \
         tcpdump runuser; do
  command -v "$c" >/dev/null ||
    skip "$c is missing (scripts/test.sh installs redis-server redis-tools postgresql nghttp2 tcpdump)"
done
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo, the cluster runs as postgres)"
id postgres >/dev/null 2>&1 || skip "no postgres user"

# --- servers
pw="pw-S3cret-$RANDOM-zz"
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --requirepass "$pw" \
  --enable-debug-command yes >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_port "$rport" || skip "redis-server did not start"
rc() { REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$rport" "$@"; }

pgport=$(free_port)
pg="$tmp/pg"
mkdir -p "$pg"
chmod 755 "$tmp"
chown -R postgres "$pg"
pg_stop() { runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" stop -m immediate >/dev/null 2>&1; }
trap 'pg_stop; [ -n "${KEEP_TMP:-}" ] || cleanup' EXIT
runuser -u postgres -- "$pgbin/initdb" -D "$pg/data" -U postgres -A trust >"$pg/initdb.log" 2>&1 ||
  skip "initdb failed: $(tail -3 "$pg/initdb.log")"
runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
  -o "-p $pgport -k $pg -c listen_addresses=127.0.0.1 -c ssl=off" start >/dev/null 2>&1 ||
  skip "the cluster did not start: $(tail -5 "$pg/server.log")"

hport=$(free_port)
mkdir "$tmp/www"
head -c 3000 /dev/urandom >"$tmp/www/f.bin"
nghttpd --no-tls -d "$tmp/www" "$hport" >"$tmp/nghttpd.log" 2>&1 &
pids+=($!)
wait_port "$hport" || skip "nghttpd did not start"

# --- capture
tcpdump -i lo -s 0 -U -B 65536 -w "$tmp/cap.pcap" \
  "tcp port $rport or tcp port $pgport or tcp port $hport" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
wait_line "$tmp/tcpdump.err" "listening on" || skip "tcpdump did not start: $(cat "$tmp/tcpdump.err")"

rc SET k v >/dev/null
# One connection (redis-cli reads the commands from its standard input).
printf 'PING\nDEBUG SLEEP 0.3\nDEBUG SLEEP 0.05\nNOSUCHCOMMAND a b\nGET k\n' | rc >"$tmp/cli.out" 2>&1
grep -q '^v$' "$tmp/cli.out" || bad "redis-cli did not run the commands: $(cat "$tmp/cli.out")"
for _ in $(seq 1500); do printf 'PING\r\n'; done | rc --pipe >"$tmp/pipe.out" 2>&1
export PGHOST=127.0.0.1 PGPORT="$pgport" PGUSER=postgres PGDATABASE=postgres
psql -X -q -c "SELECT pg_sleep(0.3)" -c "SELECT pg_sleep(0.05)" -c "SELECT 1" \
  -c "SELECT * FROM no_such_table" >"$tmp/psql.out" 2>&1
grep -q 'no_such_table' "$tmp/psql.out" || bad "psql did not run: $(cat "$tmp/psql.out")"
nghttp -n -m 5 "http://127.0.0.1:$hport/f.bin" >"$tmp/nghttp.out" 2>&1 ||
  bad "nghttp failed: $(cat "$tmp/nghttp.out")"
sleep 1
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null

# --- the run
"$bin" -r "$tmp/cap.pcap" --slow 0.25 --report "$tmp/r.jsonl" --html "$tmp/h.html" \
  >"$tmp/run.out" 2>"$tmp/run.err" || bad "tcpscribe failed: $(cat "$tmp/run.err")"
# The same capture without --slow: no slow line (off by default).
"$bin" -r "$tmp/cap.pcap" -e all --report "$tmp/r0.jsonl" >/dev/null 2>"$tmp/run0.err" ||
  bad "tcpscribe -e all failed: $(cat "$tmp/run0.err")"
grep -q 'slow answer' "$tmp/run0.err" && bad "a slow answer without --slow: $(cat "$tmp/run0.err")"

python3 - "$tmp" "$rport" "$pgport" "$hport" "$pw" <<'PY' || bad "findings, report or HTML marks are wrong"
import json, re, sys
tmp, rport, pgport, hport, pw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
fail = []
err = open(f"{tmp}/run.err").read()
slow = [l for l in err.splitlines() if "slow answer" in l]
if len(slow) != 2:
    fail.append(f"expected 2 slow answers on stderr, got {len(slow)}: {slow}")
if not any(re.search(r"slow answer: redis DEBUG SLEEP 0\.3 answered after 0\.(29|3)\d\d s \(--slow 0\.250\)", l) for l in slow):
    fail.append(f"no redis DEBUG SLEEP 0.3 line: {slow}")
if not any(re.search(r"slow answer: postgresql query: SELECT pg_sleep\(0\.3\) answered after 0\.(29|3)\d\d s", l) for l in slow):
    fail.append(f"no postgresql pg_sleep(0.3) line: {slow}")

lines = [json.loads(l) for l in open(f"{tmp}/r.jsonl") if '"run"' not in l[:8]]
conns = [c for c in lines if "id" in c]
def by_port(p):
    return [c for c in conns if c["server_port"] == p]
red = by_port(rport)
one = [c for c in red if c.get("exchanges", {}).get("redis", {}).get("slow") == 1]
if len(one) != 1:
    fail.append(f"one redis connection with slow=1 expected: {[c.get('exchanges') for c in red]}")
else:
    e = one[0]["exchanges"]["redis"]
    # AUTH, PING, DEBUG, DEBUG, NOSUCHCOMMAND, GET (and what redis-cli asks
    # on its own at start)
    if e["count"] < 6 or e["errors"] != 1:
        fail.append(f"redis counts: {e}")
    if not any("slow answer: redis DEBUG SLEEP 0.3" in f["text"] for f in one[0]["findings"]):
        fail.append("the slow finding is not in the connection's report findings")
pgc = [c for c in by_port(pgport) if "postgresql" in c.get("exchanges", {})]
if len(pgc) != 1:
    fail.append(f"one postgresql connection expected: {[c.get('exchanges') for c in by_port(pgport)]}")
else:
    e = pgc[0]["exchanges"]["postgresql"]
    if e["errors"] != 1 or e["slow"] != 1 or e["count"] < 4:
        fail.append(f"postgresql counts: {e}")
h2 = [c for c in by_port(hport) if "http2" in c.get("exchanges", {})]
if not h2 or h2[0]["exchanges"]["http2"]["count"] != 5 or h2[0]["exchanges"]["http2"]["errors"] != 0:
    fail.append(f"http2 counts: {[c.get('exchanges') for c in by_port(hport)]}")

page = open(f"{tmp}/h.html").read()
m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
if not m:
    fail.append("no report data block in the page")
else:
    if pw in m.group(1):
        fail.append("the redis password is in the HTML's marks")
    data = json.loads(m.group(1))
    hc = {c["sp"]: [] for c in data["conns"]}
    for c in data["conns"]:
        hc[c["sp"]].append(c)
    rq = [x for c in hc.get(rport, []) for x in c["ex"]]
    texts = [x["q"] for x in rq]
    for want in ("PING", "DEBUG SLEEP 0.3", "DEBUG SLEEP 0.05", "NOSUCHCOMMAND a b", "GET k"):
        if want not in texts:
            fail.append(f"no redis mark {want!r} in the HTML")
    errs = [x for x in rq if x["e"] is not None]
    if len(errs) != 1 or errs[0]["q"] != "NOSUCHCOMMAND a b" or "unknown command" not in errs[0]["e"]:
        fail.append(f"redis error marks: {errs}")
    sleep = [x for x in rq if x["q"] == "DEBUG SLEEP 0.3"]
    if not sleep or not (250_000 < sleep[0]["lat"] < 1_000_000):
        fail.append(f"DEBUG SLEEP 0.3 latency (us): {sleep}")
    big = [c for c in hc.get(rport, []) if c["ml"] > 0]
    if len(big) != 1 or len(big[0]["ex"]) != 1000 or big[0]["ml"] < 500:
        fail.append(f"the 1,500-PING connection: {[(len(c['ex']), c['ml']) for c in hc.get(rport, [])]}")
    if data["totals"]["marks_left_out"] < 500:
        fail.append(f"totals: {data['totals']}")
    sq = [x["q"] for c in hc.get(pgport, []) for x in c["ex"]]
    if "query: SELECT pg_sleep(0.3)" not in sq or not any(x["e"] and "no_such_table" in x["e"] for c in hc.get(pgport, []) for x in c["ex"]):
        fail.append(f"postgresql marks: {sq}")
    streams = [h for c in hc.get(hport, []) for h in c["http"]]
    sids = sorted(h.get("sid", 0) for h in streams)
    if len(streams) != 5 or 0 in sids or len(set(sids)) != 5 or any(h["st"] != 200 for h in streams):
        fail.append(f"h2 stream marks: {streams}")
    if len(page) > 3_000_000:
        fail.append(f"page of {len(page)} bytes")
for f in fail:
    print("  " + f)
sys.exit(1 if fail else 0)
PY

# (The HTML's "first bytes" previews are the raw stream, AUTH included: the
# marks are checked above.)
for f in "$tmp/run.err" "$tmp/r.jsonl"; do
  grep -q -- "$pw" "$f" && bad "the redis password is in $(basename "$f")"
done

# --- chromium draws the marks (the timeline counts them on its canvas)
if [ -x /usr/bin/chromium ]; then
  timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 \
    --window-size=1400,2000 --dump-dom "file://$tmp/h.html" >"$tmp/dom.html" 2>"$tmp/chromium.err"
  grep -q 'data-ready="1"' "$tmp/dom.html" ||
    bad "the page did not finish its first view in chromium: $(tail -3 "$tmp/chromium.err")"
  n=$(grep -o 'data-marks="[0-9]*"' "$tmp/dom.html" | head -1 | grep -o '[0-9]*')
  [ "${n:-0}" -ge 1000 ] || bad "chromium drew ${n:-no} exchange marks, expected at least 1000"
  # The detail pane and the tooltips, through playwright-core
  # (tests/browser/marks_test.mjs), when npm can install it.
  root=$(cd "$(dirname "$0")/../.." && pwd)
  mkdir "$tmp/browser"
  cp "$root"/tests/browser/package.json "$root"/tests/browser/package-lock.json \
     "$root"/tests/browser/*.mjs "$tmp/browser/"
  if command -v npm >/dev/null &&
     (cd "$tmp/browser" && npm ci --no-audit --no-fund --silent >"$tmp/npm.log" 2>&1); then
    artifacts=${TCPSCRIBE_ARTIFACTS:-$(dirname "$bin")/test-artifacts}
    mkdir -p "$artifacts"
    (cd "$tmp/browser" && node marks_test.mjs "$tmp/h.html" --want 'redis DEBUG SLEEP 0.3 ' \
       --want 'NOSUCHCOMMAND a b → error: ERR unknown command' \
       --want 'query: SELECT pg_sleep(0.3)' --want 'stream ' --want 'GET /f.bin → 200' \
       --screenshot "$artifacts/slow_and_marks.png") >"$tmp/marks.out" 2>&1 ||
      bad "the marks in chromium: $(grep -v '^ok' "$tmp/marks.out" | head -8)"
  else
    echo "note: npm ci failed or npm is missing: the detail pane is not checked in chromium"
  fi
else
  echo "note: chromium is missing: the page's drawing is not checked"
fi

# --- the proxy
pport=$(free_port)
"$bin" proxy -l "127.0.0.1:$pport" -f "127.0.0.1:$rport" -q --slow 0.25 \
  --report "$tmp/pr.jsonl" >"$tmp/proxy.out" 2>"$tmp/proxy.err" &
proxy=$!
pids+=($proxy)
wait_port "$pport" || bad "the proxy did not listen: $(cat "$tmp/proxy.err")"
printf 'DEBUG SLEEP 0.3\nDEBUG SLEEP 0.05\n' |
  REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$pport" >/dev/null 2>&1
sleep 0.5
kill -INT $proxy
wait $proxy 2>/dev/null
python3 - "$tmp/pr.jsonl" <<'PY' || bad "the proxy's report lacks the slow answer: $(cat "$tmp/pr.jsonl")"
import json, sys
c = [json.loads(l) for l in open(sys.argv[1])]
texts = [f["text"] for o in c for f in o.get("findings", []) if "slow answer" in f["text"]]
ex = [o["exchanges"]["redis"] for o in c if "exchanges" in o]
sys.exit(0 if len(texts) == 1 and "DEBUG SLEEP 0.3" in texts[0] and ex and ex[0]["slow"] == 1 else 1)
PY

[ "$fail" -eq 0 ] || exit 1
echo "PASS: slow_and_marks"
