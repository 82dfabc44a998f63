#!/usr/bin/env bash
# --redact auth on a real PostgreSQL 15 (a throwaway cluster on a free
# port, as in postgresql_real.sh): psql logs in with a cleartext password
# (hba method `password`: the PasswordMessage carries it as is) after an
# SSLRequest the server answers N, and with SCRAM; tcpdump captures it.
# Without --redact the cleartext password is in the client's flow file;
# with --redact auth it is in no output (-o, --messages, --report, -c,
# --netrecord), the flow files keep their lengths, and the only bytes that
# differ are those of the 'p' messages' payloads.
# Usage: redact_postgresql.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

pgbin=/usr/lib/postgresql/15/bin
for c in "$pgbin/initdb" "$pgbin/pg_ctl" psql tcpdump runuser; do
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
  -o "-p $port -k $pg -c listen_addresses=127.0.0.1 -c ssl=off" start \
  >/dev/null 2>&1 || skip "the cluster did not start: $(tail -5 "$pg/server.log")"
# Through the Unix socket (not captured): the password is in this SQL.
psql -X -q -h "$pg" -p "$port" -U postgres -c "CREATE USER plain PASSWORD '$clearpw'" \
  >"$tmp/psql.out" 2>&1 || bad "CREATE USER: $(cat "$tmp/psql.out")"

tcpdump -i lo --immediate-mode -s 0 -B 65536 -U -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
wait_line "$tmp/tcpdump.err" 'listening on' || skip "tcpdump did not start"
export PGHOST=127.0.0.1 PGPORT="$port" PGDATABASE=postgres PGSSLMODE=prefer
PGPASSWORD="$clearpw" psql -X -q -U plain -c "SELECT 'as plain'" >>"$tmp/psql.out" 2>&1 ||
  bad "psql as plain: $(cat "$tmp/psql.out")"
PGPASSWORD="$pw" psql -X -q -U postgres -c "SELECT 'as postgres'" >>"$tmp/psql.out" 2>&1 ||
  bad "psql as postgres: $(cat "$tmp/psql.out")"
sleep 0.3
wait_still "$tmp/cap.pcap"
kill $tcpdump_pid
wait $tcpdump_pid 2>/dev/null

"$bin" -r "$tmp/cap.pcap" -o "$tmp/plain" -q || bad "unredacted run"
grep -rqaF -- "$clearpw" "$tmp/plain" || bad "the unredacted flows lack the cleartext password"
mkdir -p "$tmp/logs"
"$bin" -r "$tmp/cap.pcap" --redact auth -o "$tmp/red" --messages "$tmp/m.jsonl" \
  --report "$tmp/r.jsonl" --netrecord "$tmp/logs/l" -q || bad "redacted run"
"$bin" -r "$tmp/cap.pcap" --redact auth -c -q >"$tmp/console" || bad "redacted -c run"
for p in "$tmp/red" "$tmp/m.jsonl" "$tmp/r.jsonl" "$tmp/logs" "$tmp/console"; do
  [ -e "$p" ] || bad "$p is missing"
  grep -rqaF -- "$clearpw" "$p" && bad "the cleartext password is in $p"
done
grep -qaF 'SELECT '"'"'as plain'"'" "$tmp/console" || bad "the console lost the query"
# Lengths kept; the differing bytes are the 'p' payloads: the cleartext
# password with its NUL, SCRAM's client-first and client-final messages.
diffs=0
for f in "$tmp"/plain/*; do
  g="$tmp/red/$(basename "$f")"
  [ "$(stat -c %s "$f")" = "$(stat -c %s "$g" 2>/dev/null)" ] || bad "$(basename "$f") changed length"
  diffs=$((diffs + $(cmp -l "$f" "$g" | wc -l)))
done
stars=$(printf '%*s' $((${#clearpw} + 1)) '' | tr ' ' '*')
grep -rqaF -- "$stars" "$tmp/red" || bad "no blanked cleartext password"
[ "$diffs" -gt $((${#clearpw} + 100)) ] || bad "only $diffs bytes blanked (SCRAM's messages too?)"

[ "$fail" -eq 0 ] && echo "redact_postgresql: ok"
exit $((fail > 0))
