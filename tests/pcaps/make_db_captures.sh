#!/usr/bin/env bash
# Regenerates tests/pcaps/redis/*.pcap and tests/pcaps/postgresql/*.pcap
# (the golden cases of the redis and postgresql analyzers, and fuzz seeds)
# from real servers on loopback: redis-server on 6379 and a throwaway
# PostgreSQL 15 cluster on 5432 (both must be free). Run as root; needs
# tcpdump, redis-server, redis-cli, Debian's postgresql-15, psql, pgbench.
# The captures are committed; this documents how they were made.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
chmod 755 "$work"
mkdir "$work/pg" && chown postgres "$work/pg" && chmod 700 "$work/pg"
pids=()
pgbin=/usr/lib/postgresql/15/bin
cleanup() {
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" stop -m immediate >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

capture() {  # capture FILE FILTER -- command...
  local out=$1 filter=$2; shift 3
  tcpdump -i lo -U -s 0 -w "$out" "$filter" 2>/dev/null & local tp=$!
  sleep 1
  "$@"
  sleep 1
  kill -INT $tp; wait $tp || true
}

# Redis: a password, SET/GET, a pipeline, MULTI/EXEC, RESP3 (HELLO 3, a
# map reply), pub/sub with one message.
redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --requirepass golden-pw \
  >/dev/null 2>&1 &
pids+=($!)
sleep 1
redis_session() {
  local rc=(redis-cli --no-auth-warning -a golden-pw)
  "${rc[@]}" SET user:1 Ada >/dev/null
  "${rc[@]}" GET user:1 >/dev/null
  (printf 'MULTI\nINCR ctr\nINCR ctr\nEXEC\n'; sleep 0.3) | "${rc[@]}" >/dev/null
  "${rc[@]}" -3 HSET h f1 v1 f2 v2 >/dev/null
  "${rc[@]}" -3 HGETALL h >/dev/null
  timeout 2 "${rc[@]}" SUBSCRIBE news >/dev/null & local sub=$!
  sleep 0.5
  "${rc[@]}" PUBLISH news "hello subscribers" >/dev/null
  wait $sub || true
}
capture redis/redis_session.pcap 'tcp port 6379' -- redis_session

# PostgreSQL: SSLRequest refused, SCRAM login, simple queries (two
# statements in one), COPY in and out, and pgbench's extended protocol.
echo golden-pw >"$work/pwfile"
chown postgres "$work/pwfile"
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -U postgres -A scram-sha-256 \
  --pwfile="$work/pwfile" >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w \
  -o "-p 5432 -k $work/pg -c listen_addresses=127.0.0.1 -c ssl=off" start >/dev/null
printf '\\set aid random(1, 3)\nUPDATE acc SET bal = bal + 1 WHERE aid = :aid;\nSELECT bal FROM acc WHERE aid = :aid;\n' \
  >"$work/bench.sql"
pg_session() {
  export PGPASSWORD=golden-pw PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
  psql -X -q -c "CREATE TABLE acc (aid int PRIMARY KEY, bal int, note text)"
  psql -X -q -c "INSERT INTO acc VALUES (1, 10, 'one'), (2, 20, 'two'); SELECT aid, note FROM acc ORDER BY aid"
  printf '3\t30\tthree\n' | psql -X -q -c "\\copy acc FROM STDIN"
  psql -X -q -c "COPY acc TO STDOUT" >/dev/null
  pgbench -n -M extended -t 2 -f "$work/bench.sql" >/dev/null
}
capture postgresql/pg_session.pcap 'tcp port 5432' -- pg_session
ls -l redis postgresql
