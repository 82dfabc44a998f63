#!/usr/bin/env bash
# The mysql analyzer on live traffic of a real MariaDB server (Debian's
# mariadb-server; a throwaway datadir on a free port, general log on),
# captured by tcpdump on lo: the mariadb client (a password login, queries,
# an SQL error, INSERT ... last insert id), a small Python client speaking
# the binary protocol (COM_STMT_PREPARE / EXECUTE with integer, string and
# NULL parameters, COM_STMT_CLOSE, COM_PING, COM_INIT_DB) and mysqlslap.
# The server's general log is the truth: every Query it logged from a TCP
# connection is in --messages, and there are as many execute records as
# Execute lines; the password is in no output.
# Usage: mysql_real.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in mariadbd mariadb-install-db mariadb mysqlslap python3 tcpdump; do
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
mariadb-install-db --user=mysql --datadir="$db/data" >"$tmp/install.log" 2>&1 \
  || skip "mariadb-install-db failed: $(tail -3 "$tmp/install.log")"
mariadbd --user=mysql --datadir="$db/data" --port="$port" --bind-address=127.0.0.1 \
  --socket="$db/sock" --pid-file="$db/pid" --general-log=1 --general-log-file="$db/general.log" \
  --skip-log-bin --innodb-buffer-pool-size=16M >"$tmp/server.log" 2>&1 &
pids+=($!)
wait_port "$port" || skip "mariadbd did not start: $(tail -5 "$tmp/server.log")"
mariadb -S "$db/sock" -u root -e "DELETE FROM mysql.global_priv WHERE User=''; FLUSH PRIVILEGES; CREATE USER app@'%' IDENTIFIED BY '$pw'; CREATE USER app@localhost IDENTIFIED BY '$pw'; GRANT ALL ON *.* TO app@'%'; GRANT ALL ON *.* TO app@localhost; CREATE DATABASE shop" \
  || skip "cannot create the test user"

tcpdump -i lo -s 0 -U -B 65536 -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.1; done
grep -q "listening on" "$tmp/tcpdump.err" || skip "tcpdump did not start"

m() { mariadb --skip-ssl -h 127.0.0.1 -P "$port" -u app -p"$pw" shop "$@" >>"$tmp/client.out" 2>&1; }
m -e "CREATE TABLE acc (id INT AUTO_INCREMENT PRIMARY KEY, bal INT, note VARCHAR(20))"
m -e "INSERT INTO acc (bal, note) VALUES (10, 'one'), (20, 'two')"
m -e "SELECT id, note FROM acc ORDER BY id"
m -e "SELECT * FROM no_such_table"
python3 - "$port" "$pw" >>"$tmp/client.out" 2>&1 <<'PY' || bad "the binary-protocol client failed"
import hashlib, socket, struct, sys
port, pw = int(sys.argv[1]), sys.argv[2].encode()
s = socket.create_connection(("127.0.0.1", port))
buf = b""
def read():
    global buf
    while len(buf) < 4 or len(buf) < 4 + int.from_bytes(buf[:3], "little"):
        d = s.recv(65536)
        assert d, "closed"
        buf += d
    n = int.from_bytes(buf[:3], "little"); p = buf[4:4 + n]; buf = buf[4 + n:]
    return p
def send(seq, body):
    s.sendall(len(body).to_bytes(3, "little") + bytes([seq]) + body)
g = read()
ver_end = g.index(b"\0", 1)
salt = g[ver_end + 5:ver_end + 13] + g[ver_end + 32:ver_end + 44]
h1 = hashlib.sha1(pw).digest()
token = bytes(a ^ b for a, b in zip(h1, hashlib.sha1(salt + hashlib.sha1(h1).digest()).digest()))
caps = 0x8 | 0x200 | 0x8000 | 0x80000  # with db, 4.1, secure connection, plugin auth
send(1, struct.pack("<IIB23x", caps, 1 << 24, 33) + b"app\0" + bytes([len(token)]) + token +
     b"shop\0mysql_native_password\0")
assert read()[0] == 0, "login failed"
def until_eof():
    while True:
        p = read()
        if p[0] == 0xFE and len(p) < 9: return
        if p[0] == 0xFF: raise SystemExit("error: %r" % p)
send(0, b"\x16INSERT INTO acc (bal, note) VALUES (?, ?)")
ok = read(); sid, ncols, nparams = struct.unpack("<IHH", ok[1:9])
if nparams: until_eof()
if ncols: until_eof()
for bal, note in ((30, b"three"), (-5, None)):
    nulls = 0 if note is not None else 2
    types = struct.pack("<BBBB", 3, 0, 253, 0)
    vals = struct.pack("<i", bal) + (bytes([len(note)]) + note if note is not None else b"")
    send(0, b"\x17" + struct.pack("<IBI", sid, 0, 1) + bytes([nulls]) + b"\x01" + types + vals)
    assert read()[0] == 0
send(0, b"\x16SELECT note FROM acc WHERE id = ?")
ok = read(); sid2, ncols, nparams = struct.unpack("<IHH", ok[1:9])
if nparams: until_eof()
if ncols: until_eof()
send(0, b"\x17" + struct.pack("<IBI", sid2, 0, 1) + b"\x00\x01" + struct.pack("<BB", 8, 0) + struct.pack("<q", 2))
read(); until_eof(); until_eof()
send(0, b"\x19" + struct.pack("<I", sid))
send(0, b"\x0e"); assert read()[0] == 0
send(0, b"\x02mysql"); assert read()[0] == 0
send(0, b"\x01")
s.close()
print("binary client ok")
PY
mysqlslap --skip-ssl -h 127.0.0.1 -P "$port" -u app -p"$pw" --concurrency=2 --iterations=1 \
  --auto-generate-sql --number-of-queries=60 >"$tmp/slap.out" 2>&1 || bad "mysqlslap failed: $(tail -3 "$tmp/slap.out")"
sleep 2
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null

"$bin" -r "$tmp/cap.pcap" --messages "$tmp/m.jsonl" --report "$tmp/r.jsonl" \
  >"$tmp/run.out" 2>"$tmp/run.err" || bad "tcpscribe failed: $(cat "$tmp/run.err")"
"$bin" -c --decode -r "$tmp/cap.pcap" >"$tmp/decode.out" 2>"$tmp/decode.err" || bad "tcpscribe -c --decode failed"

python3 - "$tmp" "$pw" "$db/general.log" <<'PY' || bad "the records do not match the server's general log"
import collections, json, re, sys
tmp, pw, log = sys.argv[1:4]
recs = [json.loads(l) for l in open(f"{tmp}/m.jsonl")]
my = [r for r in recs if r["proto"] == "mysql"]
fail = []
flat = lambda s: " ".join(s.split())
tcp_ids, queries, executes, cur = set(), collections.Counter(), 0, None
for line in open(log, errors="replace"):
    m = re.match(r"^(?:\d{6}\s+[\d:]+)?\s+(\d+) (\w+(?: \w+)?)\t(.*)$", line.rstrip("\n"))
    if m:
        cid, what, text = int(m.group(1)), m.group(2), m.group(3)
        if what == "Connect" and "TCP/IP" in text:
            tcp_ids.add(cid)
        cur = (cid, what, text) if cid in tcp_ids else None
        if cur and what == "Query":
            # mysqlslap sends each query with its C string's NUL: the
            # analyzer shows it as the text \x00, the log as the byte.
            text = text.replace("\0", "\\x00")
            cur = (cid, what, text)
            queries[flat(text)] += 1
        if cur and what == "Execute":
            executes += 1
    elif cur and cur[1] == "Query":  # a statement over several lines
        queries[flat(cur[2])] -= 1
        cur = (cur[0], cur[1], cur[2] + "\n" + line.rstrip("\n"))
        queries[flat(cur[2])] += 1
queries = +queries
seen = collections.Counter(flat(r["query"]) for r in my if r["kind"] == "query" and r["query"])
missing = queries - seen
got_exec = sum(1 for r in my if r["kind"] == "execute")
print(f"the server logged {sum(queries.values())} queries and {executes} executes from TCP clients; "
      f"--messages has {len(my)} mysql records ({got_exec} executes)")
if missing:
    fail.append(f"{sum(missing.values())} logged queries not in --messages, e.g. {list(missing.items())[:4]}")
if got_exec != executes or executes < 3:
    fail.append(f"{got_exec} execute records for {executes} logged executes")
def one(pred, what):
    got = [r for r in my if pred(r)]
    if not got:
        fail.append(f"no record for {what}")
    return got[0] if got else None
one(lambda r: r["kind"] == "login" and r["user"] == "app" and r["database"] == "shop" and not r["error"], "the login")
r = one(lambda r: r["kind"] == "query" and r["query"].startswith("INSERT INTO acc"), "the INSERT")
if r and (r["affected_rows"] != 2 or r["last_insert_id"] != 1):
    fail.append(f"INSERT: {r}")
r = one(lambda r: r["kind"] == "query" and r["query"] == "SELECT id, note FROM acc ORDER BY id", "the SELECT")
if r and r["rows"] != 2:
    fail.append(f"SELECT rows: {r}")
r = one(lambda r: r["kind"] == "query" and "no_such_table" in r["query"], "the SQL error")
if r and (not r["error"] or r["error"]["code"] != 1146 or r["error"]["sqlstate"] != "42S02"):
    fail.append(f"SQL error: {r['error']}")
ex = [r for r in my if r["kind"] == "execute"]
if [r["params"] for r in ex] != [["30", "three"], ["-5", None], ["2"]]:
    fail.append(f"execute params: {[r['params'] for r in ex]}")
if ex and ex[-1]["query"] != "SELECT note FROM acc WHERE id = ?":
    fail.append(f"execute SQL: {ex[-1]['query']}")
one(lambda r: r["kind"] == "ping" and r["tag"] == "OK", "COM_PING")
one(lambda r: r["kind"] == "init_db" and r["query"] == "mysql", "COM_INIT_DB")
for f in ("m.jsonl", "r.jsonl", "run.out", "run.err", "decode.out", "decode.err"):
    if pw in open(f"{tmp}/{f}", errors="replace").read():
        fail.append(f"the password is in {f}")
dec = open(f"{tmp}/decode.out", errors="replace").read()
if "[mysql] Execute stmt" not in dec or "?1=30, ?2=three" not in dec:
    fail.append("--decode lacks the Execute with its parameters")
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
PY

[ $fail = 0 ] && echo "mysql_real: OK"
exit $fail
