#!/usr/bin/env bash
# Database analyzers' cost: tcpscribe -e redis / postgresql / mysql against
# plain reconstruction of the same capture, and tshark's dissector, in the
# same run.
#
#   bench/db.sh [TCPSCRIBE_BINARY]      (default: build/tcpscribe; as root)
#
# Environment:
#   DB_CAPTURES  directory for the captures, made when missing and reused
#                otherwise (default /var/tmp/tcpscribe-dbcap)
#   DB_REDIS_N   redis-benchmark -n of the pipelined run (default 200000;
#                the run without pipelining makes a tenth of that)
#   DB_PG_TX     pgbench transactions per client and mode (default 1000,
#                4 clients: 12,000 transactions over the three modes)
#   DB_MY_Q      mysqlslap --number-of-queries (default 20000)
#   DB_RUNS      runs of each command, the best kept (default 3)
#   DB_TSHARK    "0" skips tshark (default 1)
#   DB_CASES     the captures to run (default "redis postgresql mysql")
#   DB_OUT       markdown results (default bench/results-db.md)
#   BENCH_TMP    where outputs go (default /dev/shm if a tmpfs, else /var/tmp)
#
# Captures (as root, on loopback, tcpdump -B 262144; a capture that dropped
# packets is refused):
#   redis.pcap       redis-benchmark -t set,get -c 50 -P 16 -n DB_REDIS_N,
#                    then -c 50 -n DB_REDIS_N/10 without pipelining;
#   postgresql.pcap  pgbench -i -s 1, then pgbench -M simple, extended and
#                    prepared (-c 4 -t DB_PG_TX each), on a throwaway
#                    cluster run as the postgres user;
#   mysql.pcap       mysqlslap --auto-generate-sql, 10 clients, DB_MY_Q
#                    lookups by key then DB_MY_Q inserts, on a throwaway
#                    mariadbd.
# Runs (best of DB_RUNS; wall and peak RSS from /usr/bin/time, CPU from
# perf stat's task-clock, or user + sys without perf):
#   plain     tcpscribe -q -r CAP -o DIR                (flow files only)
#   report    tcpscribe -q -r CAP -o DIR -e P --report R  (the analysis:
#             its findings and counts, no record written)
#   analyzed  tcpscribe -q -r CAP -o DIR -e P --messages F --report R
#   console   tcpscribe -q -r CAP -c >/dev/null        (raw chunks)
#   decode    tcpscribe -q -r CAP -c --decode -e P >/dev/null
#   tshark    tshark -r CAP -Y resp / pgsql / mysql   (what a user would run
#             to see the commands; the dissector on every packet)
# The ratios (report / plain, analyzed / plain, decode / console) are of CPU
# seconds, which a shared machine disturbs less than wall time; the issue's
# target is 1.30.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
BIN=$(realpath "${1:-$REPO/build/tcpscribe}")
CAPS=${DB_CAPTURES:-/var/tmp/tcpscribe-dbcap}
REDIS_N=${DB_REDIS_N:-200000}
PG_TX=${DB_PG_TX:-1000}
MY_Q=${DB_MY_Q:-20000}
RUNS=${DB_RUNS:-3}
TSHARK=${DB_TSHARK:-1}
CASES=${DB_CASES:-redis postgresql mysql}
OUT=${DB_OUT:-$REPO/bench/results-db.md}
if [ -z "${BENCH_TMP:-}" ]; then
  BENCH_TMP=/var/tmp
  [ "$(df --output=fstype /dev/shm 2>/dev/null | tail -n 1)" = tmpfs ] && BENCH_TMP=/dev/shm
fi

die() { echo "db.sh: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "no tcpscribe binary at $BIN (build it, or pass its path)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
[ "$TSHARK" = 0 ] || command -v tshark >/dev/null || die "tshark is missing (bash scripts/install.sh tshark)"

PIDS=()
STOP=()
WORK=$(mktemp -d "$BENCH_TMP/tcpscribe-dbbench.XXXXXX")
chmod 755 "$WORK"
cleanup() {
  local p
  for p in "${STOP[@]}"; do eval "$p" || true; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 300); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',int(sys.argv[1])),1).close()" "$1" \
      2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# capture_start NAME PORT / capture_stop NAME: tcpdump on lo into $CAPS/NAME.pcap.
capture_start() {
  tcpdump -i lo -s 0 -U -B 262144 -w "$CAPS/$1.pcap.tmp" "tcp port $2" 2>"$WORK/tcpdump-$1.err" &
  TCPDUMP=$!
  PIDS+=("$TCPDUMP")
  for _ in $(seq 100); do grep -q "listening on" "$WORK/tcpdump-$1.err" && break; sleep 0.05; done
}
capture_stop() {
  sleep 1
  kill -INT "$TCPDUMP"; wait "$TCPDUMP" || true
  grep -q "^0 packets dropped by kernel" "$WORK/tcpdump-$1.err" \
    || die "tcpdump dropped packets making $1.pcap: $(cat "$WORK/tcpdump-$1.err")"
  mv "$CAPS/$1.pcap.tmp" "$CAPS/$1.pcap"
}

make_redis() {
  local port
  for t in redis-server redis-benchmark; do command -v $t >/dev/null || die "$t is missing (apt-get install redis-server redis-tools)"; done
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port" || die "redis-server did not start"
  capture_start redis "$port"
  redis-benchmark -p "$port" -q -t set,get -c 50 -P 16 -n "$REDIS_N" | tr '\r' '\n' | grep -a 'per second' >&2
  redis-benchmark -p "$port" -q -t set,get -c 50 -n $((REDIS_N / 10)) | tr '\r' '\n' | grep -a 'per second' >&2
  capture_stop redis
}

make_postgresql() {
  local port pg=$WORK/pg pgbin=/usr/lib/postgresql/15/bin m
  for t in "$pgbin/initdb" "$pgbin/pg_ctl" pgbench runuser; do
    command -v "$t" >/dev/null || die "$t is missing (apt-get install postgresql postgresql-client)"
  done
  port=$(free_port)
  mkdir -p "$pg"
  chown postgres "$pg"
  runuser -u postgres -- "$pgbin/initdb" -D "$pg/data" -U postgres -A trust >"$WORK/initdb.log" 2>&1 \
    || die "initdb failed: $(tail -3 "$WORK/initdb.log")"
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
    -o "-p $port -k $pg -c listen_addresses=127.0.0.1 -c ssl=off -c fsync=off -c synchronous_commit=off" \
    start >/dev/null 2>&1 || die "the cluster did not start: $(tail -5 "$pg/server.log")"
  STOP+=("runuser -u postgres -- $pgbin/pg_ctl -D $pg/data stop -m immediate >/dev/null 2>&1")
  capture_start postgresql "$port"
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  pgbench -i -s 1 -q >"$WORK/pgbench.out" 2>&1 || die "pgbench -i failed: $(tail -3 "$WORK/pgbench.out")"
  for m in simple extended prepared; do
    pgbench -M $m -c 4 -t "$PG_TX" >>"$WORK/pgbench.out" 2>&1 || die "pgbench -M $m failed"
  done
  capture_stop postgresql
}

make_mysql() {
  local port db=$WORK/my
  for t in mariadbd mariadb-install-db mariadb mysqlslap; do
    command -v $t >/dev/null || die "$t is missing (apt-get install mariadb-server mariadb-client)"
  done
  port=$(free_port)
  mkdir -p "$db"
  chown mysql "$db"
  mariadb-install-db --user=mysql --datadir="$db/data" >"$WORK/install.log" 2>&1 \
    || die "mariadb-install-db failed: $(tail -3 "$WORK/install.log")"
  mariadbd --user=mysql --datadir="$db/data" --port="$port" --bind-address=127.0.0.1 \
    --socket="$db/sock" --pid-file="$db/pid" --skip-log-bin --innodb-buffer-pool-size=64M \
    --innodb-flush-log-at-trx-commit=0 >"$WORK/mariadbd.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port" || die "mariadbd did not start: $(tail -5 "$WORK/mariadbd.log")"
  mariadb -S "$db/sock" -u root \
    -e "DELETE FROM mysql.global_priv WHERE User=''; FLUSH PRIVILEGES; CREATE USER bench@'%' IDENTIFIED BY 'bench'; GRANT ALL ON *.* TO bench@'%'" \
    || die "cannot create the bench user"
  capture_start mysql "$port"
  # Lookups by primary key, then inserts (a mixed load's SELECTs return the
  # whole growing table: tcpdump drops packets).
  mysqlslap --skip-ssl -h 127.0.0.1 -P "$port" -u bench -pbench --auto-generate-sql \
    --auto-generate-sql-add-autoincrement --auto-generate-sql-load-type=key --concurrency=10 \
    --number-of-queries="$MY_Q" --iterations=1 | grep -a Average >&2
  mysqlslap --skip-ssl -h 127.0.0.1 -P "$port" -u bench -pbench --auto-generate-sql \
    --auto-generate-sql-load-type=write --concurrency=10 --number-of-queries="$MY_Q" --iterations=1 \
    | grep -a Average >&2
  capture_stop mysql
}

mkdir -p "$CAPS"
[ "$(id -u)" = 0 ] || [ -z "$(for c in $CASES; do [ -s "$CAPS/$c.pcap" ] || echo x; done)" ] \
  || die "making the captures needs root (tcpdump on lo, servers run as their users)"
for c in $CASES; do
  [ -s "$CAPS/$c.pcap" ] || { echo "db.sh: making $c.pcap in $CAPS" >&2; "make_$c"; }
done

# CPU time: perf stat's task-clock when perf works (to the microsecond; the
# runs take 0.02-1 s, where /usr/bin/time's 10 ms steps would blur the
# ratios), else /usr/bin/time's user + sys.
PERF=()
perf stat -x, -o /dev/null -e task-clock true 2>/dev/null && PERF=(perf stat -x, -o "$WORK/perf.txt" -e task-clock)
# measure CMD...: runs CMD with /usr/bin/time, stdout to /dev/null; prints "wall cpu rss_mb".
measure() {
  local tf=$WORK/time.txt cpu
  /usr/bin/time -f '%e %U %S %M' -o "$tf" "${PERF[@]}" "$@" >/dev/null 2>"$WORK/err" \
    || { cat "$WORK/err" >&2; die "failed: $*"; }
  if [ ${#PERF[@]} -gt 0 ]; then
    cpu=$(awk -F, '$3 == "task-clock" || $3 ~ /^task-clock/ {printf "%.3f", $1 / 1000}' "$WORK/perf.txt")
  else
    cpu=$(awk '{printf "%.2f", $2 + $3}' "$tf")
  fi
  awk -v c="$cpu" '{printf "%.2f %s %.0f\n", $1, c, $4 / 1024}' "$tf"
}
# best CMD...: best (lowest CPU) of RUNS; prints "wall cpu rss_mb".
best() {
  local b= m
  for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/out" "$WORK/m.jsonl" "$WORK/r.jsonl"
    m=$(measure "$@")
    if [ -z "$b" ] || awk -v a="$(cut -d' ' -f2 <<<"$m")" -v b="$(cut -d' ' -f2 <<<"$b")" 'BEGIN{exit !(a < b)}'; then
      b=$m
    fi
  done
  echo "$b"
}

declare -A FILTER=([redis]=resp [postgresql]=pgsql [mysql]=mysql)
rows=()
ratios=()
for c in $CASES; do
  pcap=$CAPS/$c.pcap
  cat "$pcap" >/dev/null  # in the page cache
  declare -A cpu=()
  for run in plain report analyzed console decode tshark; do
    case $run in
      plain) cmd=("$BIN" -q -r "$pcap" -o "$WORK/out") ;;
      report) cmd=("$BIN" -q -r "$pcap" -o "$WORK/out" -e "$c" --report "$WORK/r.jsonl") ;;
      analyzed) cmd=("$BIN" -q -r "$pcap" -o "$WORK/out" -e "$c" --messages "$WORK/m.jsonl" --report "$WORK/r.jsonl") ;;
      console) cmd=("$BIN" -q -r "$pcap" -c) ;;
      decode) cmd=("$BIN" -q -r "$pcap" -c --decode -e "$c") ;;
      tshark) [ "$TSHARK" = 0 ] && continue; cmd=(tshark -r "$pcap" -Y "${FILTER[$c]}") ;;
    esac
    read -r wall cpus rss <<<"$(best "${cmd[@]}")"
    cpu[$run]=$cpus
    extra=
    if [ "$run" = analyzed ]; then
      rm -rf "$WORK/out"
      "${cmd[@]}"
      extra=" ($(wc -l <"$WORK/m.jsonl") messages)"
    fi
    echo "db.sh: $c $run: wall $wall s, cpu $cpus s, rss $rss MB$extra" >&2
    rows+=("| $c | $run | $wall | $cpus | $rss |")
  done
  r0=$(awk -v a="${cpu[report]}" -v b="${cpu[plain]}" 'BEGIN{printf "%.2f", a / b}')
  r1=$(awk -v a="${cpu[analyzed]}" -v b="${cpu[plain]}" 'BEGIN{printf "%.2f", a / b}')
  r2=$(awk -v a="${cpu[decode]}" -v b="${cpu[console]}" 'BEGIN{printf "%.2f", a / b}')
  r3=-
  [ "$TSHARK" = 0 ] || r3=$(awk -v a="${cpu[tshark]}" -v b="${cpu[analyzed]}" 'BEGIN{printf "%.1f", a / b}')
  ratios+=("| $c | $(du -m "$pcap" | cut -f1) | $r0 | $r1 | $r2 | $r3 |")
  unset cpu
done

{
  echo "# Database analyzers benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$("$BIN" --version 2>&1 | head -1); $( [ "$TSHARK" = 0 ] || tshark --version 2>/dev/null | head -1)"
  echo "Best of $RUNS (lowest CPU: $([ ${#PERF[@]} -gt 0 ] && echo "perf stat task-clock" || echo "user + sys")). plain: -o DIR;"
  echo "report: -o DIR -e P --report R; analyzed: the same and --messages F; console: -c;"
  echo "decode: -c --decode -e P; tshark: -Y resp / pgsql / mysql. Ratios are of CPU seconds."
  echo
  echo "| capture | run | wall s | CPU s | peak RSS MB |"
  echo "|---|---|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "| capture | MB | report / plain | analyzed / plain | decode / console | tshark / analyzed |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ratios[@]}"
} | tee "$OUT"
