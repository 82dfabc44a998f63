#!/usr/bin/env bash
# MySQL over TLS: after the client's SSL request the rest of the connection
# is TLS; the mysql analyzer hands it to a TLS analyzer, which decrypts it
# with a key log and hands the plaintext back to be decoded as MySQL (the
# login inside TLS, the commands). A throwaway mariadb-server with a
# self-signed certificate and its general log as the truth; a python3 client
# (the ssl module writes the key log; the mariadb client cannot) speaks the
# protocol by hand: greeting, SSL request, TLS, handshake response, queries
# (one an SQL error), a prepared statement; the mariadb client with --ssl
# adds a connection without keys. From the loopback capture:
#   tcpscribe -r cap.pcap --tls-keylog keys.log --messages m --report r -o out
# has every statement the server logged for the python client as mysql
# records, the report a "tls" object decrypted for it and "no key" for the
# other, FLOW-TLS files with the plaintext, and never the password.
# Usage: mysql_tls.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in mariadbd mariadb-install-db mariadb python3 tcpdump openssl; do
  command -v "$c" >/dev/null || skip "$c is missing (scripts/test.sh installs mariadb-server mariadb-client tcpdump)"
done
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo, the server runs as mysql)"
id mysql >/dev/null 2>&1 || skip "no mysql user"
grep -q -- --tls-keylog <<<"$("$bin" --help 2>&1)" || skip "this tcpscribe has no --tls-keylog"

pw="Tls-S3cret-$RANDOM-qq"
port=$(free_port)
db="$tmp/db"
mkdir -p "$db"
chmod 755 "$tmp"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=db.tcpscribe.test \
  -keyout "$db/server.key" -out "$db/server.crt" >/dev/null 2>&1 || skip "openssl req failed"
chown -R mysql "$db"
mariadb-install-db --user=mysql --datadir="$db/data" >"$tmp/install.log" 2>&1 \
  || skip "mariadb-install-db failed: $(tail -3 "$tmp/install.log")"
mariadbd --user=mysql --datadir="$db/data" --port="$port" --bind-address=127.0.0.1 \
  --socket="$db/sock" --pid-file="$db/pid" --general-log=1 --general-log-file="$db/general.log" \
  --ssl-cert="$db/server.crt" --ssl-key="$db/server.key" \
  --skip-log-bin --innodb-buffer-pool-size=16M >"$tmp/server.log" 2>&1 &
pids+=($!)
wait_port "$port" || skip "mariadbd did not start: $(tail -5 "$tmp/server.log")"
mariadb -S "$db/sock" -u root -e "DELETE FROM mysql.global_priv WHERE User=''; FLUSH PRIVILEGES; CREATE USER app@'%' IDENTIFIED BY '$pw'; CREATE USER app@localhost IDENTIFIED BY '$pw'; GRANT ALL ON *.* TO app@'%'; GRANT ALL ON *.* TO app@localhost; CREATE DATABASE shop; CREATE TABLE shop.acc (id INT PRIMARY KEY, note VARCHAR(20)); INSERT INTO shop.acc VALUES (1, 'one'), (2, 'two')" \
  || skip "cannot create the test user"
mariadb -S "$db/sock" -u root -N -e "SHOW VARIABLES LIKE 'have_ssl'" | grep -q YES || skip "this mariadbd has no TLS"

tcpdump -i lo --immediate-mode -s 0 -U -B 65536 -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.1; done
grep -q "listening on" "$tmp/tcpdump.err" || skip "tcpdump did not start"

python3 - "$port" "$pw" "$tmp/keys.log" >"$tmp/client.out" 2>&1 <<'PY' || bad "the python client failed: $(cat "$tmp/client.out")"
import hashlib, socket, ssl, struct, sys
port, pw, keylog = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
raw = socket.create_connection(("127.0.0.1", port))
s = raw
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
caps = 0x8 | 0x200 | 0x800 | 0x8000 | 0x80000  # with db, 4.1, SSL, secure connection, plugin auth
send(1, struct.pack("<IIB23x", caps, 1 << 24, 33))  # the SSL request
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.keylog_filename = keylog
s = ctx.wrap_socket(raw, server_hostname="db.tcpscribe.test")
h1 = hashlib.sha1(pw).digest()
token = bytes(a ^ b for a, b in zip(h1, hashlib.sha1(salt + hashlib.sha1(h1).digest()).digest()))
send(2, struct.pack("<IIB23x", caps, 1 << 24, 33) + b"app\0" + bytes([len(token)]) + token +
     b"shop\0mysql_native_password\0")
assert read()[0] == 0, "login failed"
def until_eof():
    while True:
        p = read()
        if p[0] == 0xFE and len(p) < 9: return
        if p[0] == 0xFF: raise SystemExit("error: %r" % p)
def query(q, expect_error=False):
    send(0, b"\x03" + q.encode())
    p = read()
    if p[0] == 0xFF:
        assert expect_error, p
        return
    if p[0] == 0:
        return
    until_eof(); until_eof()  # column definitions, rows
query("SELECT id, note FROM acc ORDER BY id")
query("SELECT * FROM no_such_table_tls", expect_error=True)
query("SELECT REPEAT('t', 5000) AS long_value")
send(0, b"\x16SELECT note FROM acc WHERE id = ?")
ok = read(); sid, ncols, nparams = struct.unpack("<IHH", ok[1:9])
if nparams: until_eof()
if ncols: until_eof()
send(0, b"\x17" + struct.pack("<IBI", sid, 0, 1) + b"\x00\x01" + struct.pack("<BB", 8, 0) + struct.pack("<q", 2))
read(); until_eof(); until_eof()
send(0, b"\x01")
s.close()
print("ok")
PY
mariadb --ssl -h 127.0.0.1 -P "$port" -u app -p"$pw" shop -e "SELECT 'no keys here'" >"$tmp/cli.out" 2>&1 \
  || bad "the mariadb client over TLS failed: $(cat "$tmp/cli.out")"
sleep 1
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null
[ -s "$tmp/keys.log" ] || bad "the client wrote no key log"

"$bin" -r "$tmp/cap.pcap" --tls-keylog "$tmp/keys.log" --messages "$tmp/m.jsonl" --report "$tmp/r.jsonl" \
  -o "$tmp/out" >"$tmp/run.out" 2>"$tmp/run.err" || bad "tcpscribe failed: $(cat "$tmp/run.err")"
"$bin" -c --decode -r "$tmp/cap.pcap" --tls-keylog "$tmp/keys.log" >"$tmp/decode.out" 2>"$tmp/decode.err" \
  || bad "tcpscribe -c --decode failed: $(cat "$tmp/decode.err")"
python3 - "$tmp" "$pw" "$db/general.log" <<'PY' || bad "records: see above"
import json, re, sys
tmp, pw, log = sys.argv[1:4]
msgs = [json.loads(l) for l in open(f"{tmp}/m.jsonl")]
my = [m for m in msgs if m.get("proto") == "mysql"]
queries = [m.get("query") for m in my if m.get("kind") == "query"]
logged = re.findall(r"\d+ Query\t(.*)$", open(log, errors="replace").read(), re.M)
fail = []
for q in ["SELECT id, note FROM acc ORDER BY id", "SELECT * FROM no_such_table_tls",
          "SELECT REPEAT('t', 5000) AS long_value"]:
    if q not in logged: fail.append(f"the server did not log {q!r}")
    if q not in queries: fail.append(f"{q!r} not in --messages: {queries}")
if "SELECT 'no keys here'" not in logged: fail.append("the server did not log the mariadb client's query")
if "SELECT 'no keys here'" in queries: fail.append("the query without keys was decoded?")
login = [m for m in my if m.get("kind") == "login" and m.get("user") == "app" and m.get("database") == "shop"]
if len(login) != 1 or login[0].get("error"): fail.append(f"the login inside TLS: {login}")
rows = [m for m in my if m.get("query") == "SELECT id, note FROM acc ORDER BY id"]
if rows and rows[0].get("rows") != 2: fail.append(f"rows: {rows[0]}")
err = [m for m in my if m.get("query") == "SELECT * FROM no_such_table_tls"]
if err and (err[0].get("error") or {}).get("code") != 1146: fail.append(f"the error: {err[0]}")
ex = [m for m in my if m.get("kind") == "execute"]
if len(ex) != 1 or ex[0].get("query") != "SELECT note FROM acc WHERE id = ?" or ex[0].get("params") != ["2"]:
    fail.append(f"the execute: {ex}")
conns = [json.loads(l) for l in open(f"{tmp}/r.jsonl")]
tls = [c["tls"] for c in conns if "tls" in c]
dec = [t for t in tls if t.get("decrypted")]
nokey = [t for t in tls if not t.get("decrypted")]
if len(dec) != 1 or len(nokey) != 1: fail.append(f"tls objects: {tls}")
elif nokey[0].get("why_not") != "no key": fail.append(f"the mariadb client's connection: {nokey[0]}")
for f in ("m.jsonl", "r.jsonl", "run.out", "run.err", "decode.out", "decode.err"):
    if pw in open(f"{tmp}/{f}", errors="replace").read(): fail.append(f"the password is in {f}")
dec_out = open(f"{tmp}/decode.out", errors="replace").read()
if "Query: SELECT * FROM no_such_table_tls" not in dec_out: fail.append("--decode lacks the query inside TLS")
print(f"{len(my)} mysql records, {len(tls)} TLS connections ({len(dec)} decrypted)")
for f in fail: print("FAIL:", f)
sys.exit(1 if fail else 0)
PY
ls "$tmp/out"/*-TLS >/dev/null 2>&1 || bad "no FLOW-TLS files: $(ls "$tmp/out")"
grep -q "no_such_table_tls" "$tmp"/out/*-TLS || bad "FLOW-TLS does not hold the query"
if [ -n "${MYSQL_TLS_SAVE:-}" ]; then cp "$tmp/cap.pcap" "$MYSQL_TLS_SAVE.pcap"; cp "$tmp/keys.log" "$MYSQL_TLS_SAVE.keys"; fi

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
