#!/usr/bin/env bash
# The postgresql analyzer on live traffic of a real PostgreSQL 15 (Debian's
# postgresql package; a throwaway cluster in a temp dir on a free port, run
# as the postgres user, log_statement=all), captured by tcpdump on lo:
# psql (SSLRequest answered N, SCRAM, simple queries with several statements,
# an SQL error, COPY in and out, LISTEN/NOTIFY, a cancelled pg_sleep), a
# cleartext-password user, pgbench -i (COPY) and pgbench -M simple,
# extended and prepared. The server's log is the truth: every statement it
# logged (simple and extended) is in --messages with its SQL, every Execute
# with its parameters; the passwords are in no output. Then through
# `tcpscribe proxy --decode --messages`.
# Usage: postgresql_real.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

pgbin=/usr/lib/postgresql/15/bin
for c in "$pgbin/initdb" "$pgbin/pg_ctl" psql pgbench python3 tcpdump runuser; do
  command -v "$c" >/dev/null || skip "$c is missing (scripts/test.sh installs postgresql postgresql-client tcpdump)"
done
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo, the cluster runs as postgres)"
id postgres >/dev/null 2>&1 || skip "no postgres user"

pw="Pg-S3cret-$RANDOM-zz"
clearpw="Clear-S3cret-$RANDOM-yy"
port=$(free_port)
pg="$tmp/pg"
mkdir -p "$pg"
chmod 755 "$tmp"
echo "$pw" >"$pg/pwfile"
chown -R postgres "$pg"
pg_stop() { runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" stop -m immediate >/dev/null 2>&1; }
trap 'pg_stop; [ -n "${KEEP_TMP:-}" ] || cleanup' EXIT
runuser -u postgres -- "$pgbin/initdb" -D "$pg/data" -U postgres -A scram-sha-256 \
  --pwfile="$pg/pwfile" >"$pg/initdb.log" 2>&1 || skip "initdb failed: $(tail -3 "$pg/initdb.log")"
cat >"$pg/data/pg_hba.conf" <<HBA
local all all trust
host all plain 127.0.0.1/32 password
host all all 127.0.0.1/32 scram-sha-256
HBA
runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
  -o "-p $port -k $pg -c listen_addresses=127.0.0.1 -c log_statement=all -c ssl=off -c log_line_prefix=%h:" start \
  >/dev/null 2>&1 || skip "the cluster did not start: $(tail -5 "$pg/server.log")"

tcpdump -i lo -s 0 -U -B 65536 -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.1; done
grep -q "listening on" "$tmp/tcpdump.err" || skip "tcpdump did not start"

export PGPASSWORD="$pw" PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
q() { psql -X -q -v ON_ERROR_STOP=0 "$@" >>"$tmp/psql.out" 2>&1; }
q -c "CREATE TABLE acc (aid int PRIMARY KEY, bal int, note text)"
q -c "INSERT INTO acc VALUES (1, 10, 'one'), (2, 20, 'two'); SELECT aid, note FROM acc ORDER BY aid"
q -c "SELECT * FROM no_such_table"
printf '3\t30\tthree\n4\t40\tfour\n' | q -c "\\copy acc FROM STDIN"
q -c "COPY acc TO STDOUT"
q -c "LISTEN ch; NOTIFY ch, 'ping from test'"
# Through the Unix socket (not captured): the password is in this SQL.
psql -X -q -h "$pg" -c "CREATE USER plain PASSWORD '$clearpw'" >>"$tmp/psql.out" 2>&1
PGPASSWORD="$clearpw" q -U plain -c "SELECT current_user"
PGAPPNAME=cancel-me timeout -s INT 1 psql -X -c "SELECT pg_sleep(10)" >>"$tmp/psql.out" 2>&1
pgbench -i -s 1 -q >"$tmp/pgbench.out" 2>&1 || bad "pgbench -i failed: $(tail -3 "$tmp/pgbench.out")"
for mode in simple extended prepared; do
  pgbench -M $mode -c 2 -t 10 >>"$tmp/pgbench.out" 2>&1 || bad "pgbench -M $mode failed"
done
sleep 2  # tcpdump writes what it holds before the INT
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null

"$bin" -r "$tmp/cap.pcap" --messages "$tmp/m.jsonl" --report "$tmp/r.jsonl" \
  >"$tmp/run.out" 2>"$tmp/run.err" || bad "tcpscribe failed: $(cat "$tmp/run.err")"
"$bin" -c --decode -r "$tmp/cap.pcap" >"$tmp/decode.out" 2>"$tmp/decode.err" \
  || bad "tcpscribe -c --decode failed"

python3 - "$tmp" "$pw" "$clearpw" "$pg/server.log" <<'PY' || bad "the records do not match the server's log"
import collections, json, re, sys
tmp, pw, clearpw, log = sys.argv[1:5]
recs = [json.loads(l) for l in open(f"{tmp}/m.jsonl")]
pgr = [r for r in recs if r["proto"] == "postgresql"]
fail = []
flat = lambda s: " ".join(s.split())
# log_statement=all: "LOG:  statement: SQL" and "LOG:  execute NAME: SQL"
# with "DETAIL:  parameters: $1 = '5', ..." on the next line.
logged, params = collections.Counter(), collections.Counter()
lines = open(log, errors="replace").read().splitlines()
for i, line in enumerate(lines):
    m = re.search(r"LOG:  (statement|execute [^:]+): (.*)$", line)
    if not m or line.startswith("[local]"):  # the Unix socket is not captured
        continue
    sql = m.group(2)
    j = i + 1
    while j < len(lines) and lines[j].startswith("\t"):
        sql += "\n" + lines[j][1:]; j += 1
    kind = "query" if m.group(1) == "statement" else "execute"
    logged[(kind, flat(sql))] += 1
    if kind == "execute" and j < len(lines):
        d = re.search(r"DETAIL:  parameters: (.*)$", lines[j])
        if d:
            params[(flat(sql), tuple(re.findall(r"\$\d+ = '((?:[^']|'')*)'", d.group(1))))] += 1
seen = collections.Counter((r["kind"], flat(r["query"])) for r in pgr if r["kind"] in ("query", "execute") and r["query"])
missing = logged - seen
print(f"the server logged {sum(logged.values())} statements ({sum(v for k, v in logged.items() if k[0]=='execute')} executes); "
      f"--messages has {len(pgr)} postgresql records")
if missing:
    fail.append(f"{sum(missing.values())} logged statements not in --messages, e.g. {list(missing.items())[:4]}")
got_params = collections.Counter((flat(r["query"]), tuple(r["params"] or [])) for r in pgr if r["kind"] == "execute")
if params - got_params:
    fail.append(f"parameters differ, e.g. {list((params - got_params).items())[:3]}")
if sum(v for k, v in logged.items() if k[0] == "execute") < 40:
    fail.append("fewer than 40 logged executes (pgbench -M extended/prepared)")
def one(pred, what):
    got = [r for r in pgr if pred(r)]
    if not got:
        fail.append(f"no record for {what}")
    return got[0] if got else None
r = one(lambda r: r["kind"] == "query" and "INSERT INTO acc" in r["query"], "INSERT; SELECT")
if r and r["tag"] != "INSERT 0 2; SELECT 2":
    fail.append(f"multi-statement tags: {r['tag']}")
r = one(lambda r: r["kind"] == "query" and "no_such_table" in r["query"], "the SQL error")
if r and (not r["error"] or r["error"]["code"] != "42P01"):
    fail.append(f"SQL error: {r['error']}")
r = one(lambda r: r["kind"] == "query" and r["query"].startswith("COPY acc TO"), "COPY out")
if r and (r["tag"] != "COPY 4" or not r.get("copy_bytes")):
    fail.append(f"COPY out: {r}")
r = one(lambda r: r["kind"] == "query" and "FROM STDIN" in r["query"] and "acc" in r["query"], "COPY in")
if r and r["tag"] != "COPY 2":
    fail.append(f"COPY in: {r}")
one(lambda r: r["kind"] == "notification" and r["payload"] == "ping from test", "the notification")
r = one(lambda r: r["kind"] == "query" and "pg_sleep" in r["query"], "the cancelled query")
if r and (not r["error"] or r["error"]["code"] != "57014"):
    fail.append(f"cancelled query: {r['error']}")
c = one(lambda r: r["kind"] == "cancel", "the CancelRequest")
if c and c["cancels"] is None:
    fail.append("the CancelRequest is not linked to its connection")
one(lambda r: r["kind"] == "startup" and r["user"] == "plain" and not r["error"], "the cleartext login")
one(lambda r: r["kind"] == "startup" and r["application_name"] == "pgbench", "pgbench's startup")
one(lambda r: r["kind"] == "ssl_request" and r["tag"] == "N", "psql's SSLRequest")
for f in ("m.jsonl", "r.jsonl", "run.out", "run.err", "decode.out", "decode.err"):
    text = open(f"{tmp}/{f}", errors="replace").read()
    for secret in (pw, clearpw):
        if secret in text:
            fail.append(f"a password is in {f}")
dec = open(f"{tmp}/decode.out", errors="replace").read()
if not re.search(r"\[postgresql\] Execute: UPDATE pgbench_accounts SET abalance = abalance \+ \$1 WHERE aid = \$2;?  \[\$1='-?\d+', \$2='\d+'\]", dec):
    fail.append("--decode lacks pgbench's Execute with its parameters")
if not re.search(r"\[postgresql\] UPDATE 1 \(\+", dec):
    fail.append("--decode lacks an 'UPDATE 1' answer with its latency")
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
PY

# --- Through the proxy.
pp=$(free_port)
"$proxy_bin" proxy --listen "127.0.0.1:$pp" --forward "127.0.0.1:$port" --decode \
  --messages "$tmp/pm.jsonl" >"$tmp/proxy.out" 2>"$tmp/proxy.err" &
ppid=$!
pids+=($ppid)
wait_port "$pp" || bad "the proxy did not start"
PGPORT=$pp psql -X -c "SELECT 40 + 2 AS answer" >/dev/null 2>&1 || bad "psql through the proxy failed"
sleep 0.5
kill -INT $ppid
wait $ppid 2>/dev/null
grep -q '\[postgresql\] Query: SELECT 40 + 2 AS answer' "$tmp/proxy.out" || bad "the proxy's --decode lacks the query: $(head -30 "$tmp/proxy.out")"
grep -q '\[postgresql\] SELECT 1 (+' "$tmp/proxy.out" || bad "the proxy's --decode lacks the answer"
grep -q '"kind":"query","query":"SELECT 40 + 2 AS answer","params":null,"tag":"SELECT 1","rows":1' "$tmp/pm.jsonl" \
  || bad "the proxy's --messages lacks the query: $(cat "$tmp/pm.jsonl")"
! grep -q -- "$pw" "$tmp/proxy.out" "$tmp/proxy.err" "$tmp/pm.jsonl" || bad "the password is in the proxy's output"

[ $fail = 0 ] && echo "postgresql_real: OK"
exit $fail
