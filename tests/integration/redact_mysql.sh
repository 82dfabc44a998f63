#!/usr/bin/env bash
# --redact auth on a real MariaDB (a throwaway server on a free port, as in
# mysql_real.sh): the mariadb client logs in (mysql_native_password: a
# 20-byte scramble of the password in the handshake response) and runs a
# query; tcpdump captures it. With --redact auth the flow files keep their
# lengths and differ from an unredacted run in exactly the auth response's
# 20 bytes per login (the scramble, found at its place by the framer), the
# query stays readable, and the scramble is in no output.
# Usage: redact_mysql.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in mariadbd mariadb-install-db mariadb tcpdump; do
  command -v "$c" >/dev/null || skip "$c is missing (scripts/test.sh installs mariadb-server mariadb-client tcpdump)"
done
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo, the server runs as mysql)"
id mysql >/dev/null 2>&1 || skip "no mysql user"

pw="My-S3cret-$RANDOM-zz"
port=$(free_port)
db="$tmp/db"
mkdir -p "$db"
chmod 755 "$tmp"
chown mysql "$db"
mariadb-install-db --user=mysql --datadir="$db/data" >"$tmp/install.log" 2>&1 ||
  skip "mariadb-install-db failed: $(tail -3 "$tmp/install.log")"
mariadbd --user=mysql --datadir="$db/data" --port="$port" --bind-address=127.0.0.1 \
  --socket="$db/sock" --pid-file="$db/pid" --skip-log-bin --innodb-buffer-pool-size=16M \
  >"$tmp/server.log" 2>&1 &
pids+=($!)
wait_port "$port" || skip "mariadbd did not start: $(tail -5 "$tmp/server.log")"
mariadb -S "$db/sock" -u root -e "CREATE USER app@'%' IDENTIFIED BY '$pw'; CREATE USER app@localhost IDENTIFIED BY '$pw'; GRANT ALL ON *.* TO app@'%'; GRANT ALL ON *.* TO app@localhost" ||
  skip "cannot create the test user"

tcpdump -i lo --immediate-mode -s 0 -U -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
wait_line "$tmp/tcpdump.err" 'listening on' || skip "tcpdump did not start"
for q in "SELECT 'first login'" "SELECT 'second login'"; do
  mariadb --skip-ssl -h 127.0.0.1 -P "$port" -u app -p"$pw" -e "$q" >>"$tmp/client.out" 2>&1 ||
    bad "mariadb: $(cat "$tmp/client.out")"
done
sleep 0.3
wait_still "$tmp/cap.pcap"
kill $tcpdump_pid
wait $tcpdump_pid 2>/dev/null

"$bin" -r "$tmp/cap.pcap" -o "$tmp/plain" -q || bad "unredacted run"
"$bin" -r "$tmp/cap.pcap" --redact auth -o "$tmp/red" --messages "$tmp/m.jsonl" -q ||
  bad "redacted run"
grep -qF "second login" "$tmp/m.jsonl" || bad "--messages lost the query"
diffs=0 files=0
for f in "$tmp"/plain/*; do
  g="$tmp/red/$(basename "$f")"
  files=$((files + 1))
  [ "$(stat -c %s "$f")" = "$(stat -c %s "$g" 2>/dev/null)" ] || bad "$(basename "$f") changed length"
  n=$(cmp -l "$f" "$g" | wc -l)
  diffs=$((diffs + n))
  # Each changed byte is now '*' (octal 52).
  cmp -l "$f" "$g" | awk '$3 != 52 { bad = 1 } END { exit bad }' || bad "$(basename "$f"): a byte changed to something else than '*'"
done
[ "$files" -eq 4 ] || bad "$files flow files, not 4 (two connections)"
[ "$diffs" -eq 40 ] || bad "$diffs bytes blanked, not 40 (two 20-byte auth responses)"
grep -rqaF "SELECT 'second login'" "$tmp/red" || bad "the query is not readable in the flow files"

[ "$fail" -eq 0 ] && echo "redact_mysql: ok"
exit $((fail > 0))
