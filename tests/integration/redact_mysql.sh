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

tcpdump -i lo --immediate-mode -s 0 -B 65536 -U -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
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
# Exactly the auth response of each login is blanked, nothing else: its
# place comes from parsing the unredacted client stream's handshake
# response (a count of differing bytes would miss an auth byte that
# happens to be '*').
python3 - "$tmp/plain" "$tmp/red" "$port" <<'PY' || bad "the redacted flow files: see above"
import os, sys
plain, red, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fail, files, blanked = [], 0, 0
for name in sorted(os.listdir(plain)):
    files += 1
    p = open(os.path.join(plain, name), "rb").read()
    try:
        r = open(os.path.join(red, name), "rb").read()
    except OSError:
        fail.append(f"{name}: no redacted file"); continue
    if len(p) != len(r):
        fail.append(f"{name} changed length"); continue
    want = bytearray(p)
    if name.endswith(".%05d" % port):  # client -> server: the handshake response first
        n = int.from_bytes(p[0:3], "little")
        body = p[4:4 + n]
        caps = int.from_bytes(body[0:4], "little")
        i = body.index(b"\0", 32) + 1  # after the user name
        if caps & 0x200000:
            alen, i = body[i], i + 1  # a one-byte length-encoded integer (< 251)
        elif caps & 0x8000:
            alen, i = body[i], i + 1
        else:
            alen = body.index(b"\0", i) - i
        want[4 + i:4 + i + alen] = b"*" * alen
        blanked += alen
    if bytes(want) != r:
        diff = [k for k in range(len(r)) if want[k] != r[k]]
        fail.append(f"{name}: {len(diff)} bytes differ from the expected blanking, first at {diff[0]}")
if files != 4: fail.append(f"{files} flow files, not 4 (two connections)")
if blanked != 40: fail.append(f"{blanked} auth bytes, not 40 (two 20-byte auth responses)")
for f in fail: print("FAIL:", f)
sys.exit(1 if fail else 0)
PY
grep -rqaF "SELECT 'second login'" "$tmp/red" || bad "the query is not readable in the flow files"

[ "$fail" -eq 0 ] && echo "redact_mysql: ok"
exit $((fail > 0))
