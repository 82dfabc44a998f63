#!/usr/bin/env bash
# The database analyzers with packet loss on both hosts, through the proxy
# and from a capture (issue 17's evidence): a client host and a server host
# in network namespaces joined by a router, nftables dropping LOSS_PCT (3)
# percent of the packets between them on each host's input and on the
# router. On the server host: redis-server (MONITOR as the truth),
# PostgreSQL 15 (log_statement=all) and mariadb-server (general log). On
# the client host, one `tcpscribe proxy --messages` per server on
# 127.0.0.1 forwarding over the lossy link, driven by redis-benchmark -P 16,
# pgbench -M extended and mysqlslap; tcpdump on the client's interface
# takes the lossy capture (retransmissions and all). Every command and
# statement the servers logged from the client host is in the proxies'
# --messages and in `tcpscribe -r lossy.pcap --messages`.
# Usage: db_loss.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"
. "$(dirname "$0")/lib/lossy_net.sh"

pgbin=/usr/lib/postgresql/15/bin
for c in redis-server redis-cli redis-benchmark "$pgbin/initdb" "$pgbin/pg_ctl" psql pgbench runuser \
  mariadbd mariadb-install-db mariadb mysqlslap python3 tcpdump ip; do
  command -v "$c" >/dev/null || skip "$c is missing (scripts/test.sh installs redis-server redis-tools postgresql postgresql-client mariadb-server mariadb-client tcpdump iproute2 nftables)"
done
id postgres >/dev/null 2>&1 && id mysql >/dev/null 2>&1 || skip "no postgres or mysql user"
LOSS_PCT=${LOSS_PCT:-3}
lossy_net_up "$LOSS_PCT"
chmod 755 "$tmp"
S=$LN_SRV_IP
pw="Db-S3cret-$RANDOM-zz"

# --- The servers, on the server host.
in_srv redis-server --port 6379 --bind "$S" 127.0.0.1 --save '' --appendonly no --requirepass "$pw" \
  >"$tmp/redis.log" 2>&1 &
pids+=($!)
ln_wait_port "$LN_SRV" 127.0.0.1 6379 || skip "redis-server did not start"
in_srv env REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p 6379 MONITOR >"$tmp/monitor.txt" 2>&1 &
pids+=($!)

pg="$tmp/pg"
mkdir -p "$pg"
chown postgres "$pg"
pg_stop() { runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" stop -m immediate >/dev/null 2>&1; }
trap 'pg_stop; lossy_net_down; [ -n "${KEEP_TMP:-}" ] || cleanup' EXIT
runuser -u postgres -- "$pgbin/initdb" -D "$pg/data" -U postgres -A trust >"$pg/initdb.log" 2>&1 \
  || skip "initdb failed: $(tail -3 "$pg/initdb.log")"
printf 'local all all trust\nhost all all 10.215.0.0/16 trust\n' >"$pg/data/pg_hba.conf"
in_srv runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
  -o "-p 5432 -k $pg -c listen_addresses=$S -c log_statement=all -c ssl=off -c log_line_prefix=%h:" start \
  >/dev/null 2>&1 || skip "the cluster did not start: $(tail -5 "$pg/server.log")"

db="$tmp/db"
mkdir -p "$db"
chown mysql "$db"
mariadb-install-db --user=mysql --datadir="$db/data" >"$tmp/install.log" 2>&1 \
  || skip "mariadb-install-db failed: $(tail -3 "$tmp/install.log")"
in_srv mariadbd --user=mysql --datadir="$db/data" --port=3306 --bind-address="$S" \
  --socket="$db/sock" --pid-file="$db/pid" --general-log=1 --general-log-file="$db/general.log" \
  --skip-log-bin --skip-name-resolve --innodb-buffer-pool-size=16M >"$tmp/mariadb.log" 2>&1 &
pids+=($!)
ln_wait_port "$LN_SRV" "$S" 3306 || skip "mariadbd did not start: $(tail -5 "$tmp/mariadb.log")"
mariadb -S "$db/sock" -u root -e "DELETE FROM mysql.global_priv WHERE User=''; FLUSH PRIVILEGES; CREATE USER app@'%' IDENTIFIED BY '$pw'; GRANT ALL ON *.* TO app@'%'" \
  || skip "cannot create the test user"
# pgbench's tables, made on the server host (server-side generation).
in_srv pgbench -h "$S" -U postgres -i -s 1 -I dtGv postgres >"$tmp/pgbench-init.out" 2>&1 \
  || skip "pgbench -i failed: $(tail -3 "$tmp/pgbench-init.out")"

# --- The lossy capture and the proxies, on the client host.
ip netns exec "$LN_CLI" tcpdump -i "$LN_CLI_IF" --immediate-mode -s 0 -U -B 65536 -w "$tmp/lossy.pcap" tcp 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.1; done
grep -q "listening on" "$tmp/tcpdump.err" || skip "tcpdump did not start"
proxy() {  # proxy NAME LOCALPORT UPSTREAMPORT
  ip netns exec "$LN_CLI" "$proxy_bin" proxy --quiet --listen "127.0.0.1:$2" --forward "$S:$3" --messages "$tmp/p-$1.jsonl" \
    2>"$tmp/p-$1.err" &
  pids+=($!)
  eval "proxy_$1=$!"
  ln_wait_port "$LN_CLI" 127.0.0.1 "$2" || bad "the $1 proxy did not start: $(cat "$tmp/p-$1.err")"
}
proxy redis 16379 6379
proxy pg 15432 5432
proxy my 13306 3306
t0=$(date +%s)
in_cli env REDISCLI_AUTH="$pw" redis-benchmark -h 127.0.0.1 -p 16379 -a "$pw" -n 1500 -P 16 -c 4 -t set,get,lpush -q \
  >"$tmp/bench.out" 2>&1 || bad "redis-benchmark failed: $(tail -3 "$tmp/bench.out")"
in_cli pgbench -h 127.0.0.1 -p 15432 -U postgres -M extended -c 2 -t 30 postgres >"$tmp/pgbench.out" 2>&1 \
  || bad "pgbench failed: $(tail -3 "$tmp/pgbench.out")"
in_cli mysqlslap --skip-ssl -h 127.0.0.1 -P 13306 -u app -p"$pw" --concurrency=2 --iterations=1 \
  --auto-generate-sql --number-of-queries=80 >"$tmp/slap.out" 2>&1 || bad "mysqlslap failed: $(tail -3 "$tmp/slap.out")"
t1=$(date +%s)
sleep 1
for p in "$proxy_redis" "$proxy_pg" "$proxy_my"; do kill -INT "$p"; done
for p in "$proxy_redis" "$proxy_pg" "$proxy_my"; do wait "$p" 2>/dev/null; done
wait_still "$tmp/lossy.pcap"
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null
drops=$(lossy_net_drops)
echo "db_loss: clients ran $((t1 - t0)) s; nftables dropped $drops packets (client, server, router) at $LOSS_PCT%"
read -r dc ds dr <<<"$drops"
[ "${dc:-0}" -gt 0 ] && [ "${ds:-0}" -gt 0 ] || bad "no packets were dropped on one of the hosts: $drops"

"$bin" -r "$tmp/lossy.pcap" --messages "$tmp/cap.jsonl" --report "$tmp/cap-report.jsonl" >/dev/null 2>"$tmp/cap.err" \
  || bad "tcpscribe -r lossy.pcap failed: $(cat "$tmp/cap.err")"

python3 - "$tmp" "$LN_CLI_IP" "$pw" <<'PY' || bad "records: see above"
import collections, json, re, sys
tmp, cli, pw = sys.argv[1:4]
fail = []
flat = lambda s: " ".join(s.split())
def records(path, proto):
    try:
        return [r for r in (json.loads(l) for l in open(path)) if r.get("proto") == proto]
    except FileNotFoundError:
        fail.append(f"{path} is missing")
        return []

# Redis: MONITOR lines from the client host: 1733.. [0 10.215.0.1:port] "SET" "key" ...
logged = collections.Counter()
for line in open(f"{tmp}/monitor.txt", errors="replace"):
    m = re.match(r'^[\d.]+ \[\d+ ([\d.]+):\d+\] "([^"]*)"', line)
    if m and m.group(1) == cli:
        logged[m.group(2).upper()] += 1
# Truth per source: the proxy's records, the capture's (the proxy's own
# connections to the server are what the capture holds).
checks = {}
for src in ("p-redis", "cap"):
    got = collections.Counter(r["command"] for r in records(f"{tmp}/{src}.jsonl" if src == "cap" else f"{tmp}/{src}.jsonl", "redis"))
    missing = logged - got
    checks[f"redis {src}"] = (sum(logged.values()), sum(got.values()), missing)

# PostgreSQL: "10.215.0.1:LOG:  statement: SQL" / "execute NAME: SQL".
logged_pg = collections.Counter()
lines = open(f"{tmp}/pg/server.log", errors="replace").read().splitlines()
for i, line in enumerate(lines):
    m = re.search(r"LOG:  (statement|execute [^:]+): (.*)$", line)
    if not m or not line.startswith(cli + ":"):
        continue
    sql, j = m.group(2), i + 1
    while j < len(lines) and lines[j].startswith("\t"):
        sql += "\n" + lines[j][1:]; j += 1
    logged_pg[("query" if m.group(1) == "statement" else "execute", flat(sql))] += 1
for src in ("p-pg", "cap"):
    got = collections.Counter((r["kind"], flat(r["query"])) for r in records(f"{tmp}/{src}.jsonl", "postgresql")
                              if r["kind"] in ("query", "execute") and r["query"])
    checks[f"postgresql {src}"] = (sum(logged_pg.values()), sum(got.values()), logged_pg - got)

# MariaDB: the general log's Query lines of connections from the client host.
ids, logged_my, cur = set(), collections.Counter(), None
for line in open(f"{tmp}/db/general.log", errors="replace"):
    m = re.match(r"^(?:\d{6}\s+[\d:]+)?\s+(\d+) (\w+(?: \w+)?)\t(.*)$", line.rstrip("\n"))
    if m:
        cid, what, text = int(m.group(1)), m.group(2), m.group(3)
        if what == "Connect" and "@" + cli + " " in text:
            ids.add(cid)
        cur = None
        if cid in ids and what == "Query":
            cur = text.replace("\0", "\\x00")
            logged_my[flat(cur)] += 1
    elif cur is not None:  # a statement over several lines
        logged_my[flat(cur)] -= 1
        cur += "\n" + line.rstrip("\n")
        logged_my[flat(cur)] += 1
logged_my = +logged_my
for src in ("p-my", "cap"):
    got = collections.Counter(flat(r["query"]) for r in records(f"{tmp}/{src}.jsonl", "mysql")
                              if r["kind"] == "query" and r["query"])
    checks[f"mysql {src}"] = (sum(logged_my.values()), sum(got.values()), logged_my - got)

for name, (n_logged, n_got, missing) in checks.items():
    print(f"db_loss: {name}: the server logged {n_logged}, the records have {n_got}, missing {sum(missing.values())}")
    if n_logged < 20:
        fail.append(f"{name}: the server logged only {n_logged}")
    if missing:
        fail.append(f"{name}: {sum(missing.values())} logged not in the records, e.g. {list(missing.items())[:3]}")
for f in ("p-redis.jsonl", "p-my.jsonl", "p-pg.jsonl", "cap.jsonl", "cap.err"):
    try:
        if pw in open(f"{tmp}/{f}", errors="replace").read():
            fail.append(f"the password is in {f}")
    except FileNotFoundError:
        pass
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
PY
npackets=$(tcpdump -nr "$tmp/lossy.pcap" 2>/dev/null | wc -l)
echo "db_loss: the lossy capture has $npackets packets"

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
