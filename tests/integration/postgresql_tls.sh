#!/usr/bin/env bash
# PostgreSQL over TLS: an accepted SSLRequest hands the rest of the
# connection to the TLS analyzer, which decrypts it with a key log and finds
# PostgreSQL again inside. A postgresql-15 cluster with ssl=on (a
# self-signed certificate), log_statement=all as the truth; a python3
# client (the ssl module writes the key log: libpq 15 cannot) speaks the
# protocol by hand over TLS; psql with sslmode=require adds a connection
# without keys. From the loopback capture:
#   tcpscribe -r cap.pcap --tls-keylog keys.log --messages m --report r
# has the python client's statements (logged by the server) as postgresql
# records, the report a "tls" object decrypted for it and "no key" for psql's.
# Usage: postgresql_tls.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

pgbin=/usr/lib/postgresql/15/bin
for c in "$pgbin/initdb" "$pgbin/pg_ctl" psql python3 tcpdump runuser openssl; do
  command -v "$c" >/dev/null || skip "$c is missing (scripts/test.sh installs postgresql postgresql-client tcpdump)"
done
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo, the cluster runs as postgres)"
id postgres >/dev/null 2>&1 || skip "no postgres user"
grep -q -- --tls-keylog <<<"$("$bin" --help 2>&1)" || skip "this tcpscribe has no --tls-keylog"

port=$(free_port)
pg="$tmp/pg"
mkdir -p "$pg"
chmod 755 "$tmp"
chown -R postgres "$pg"
pg_stop() { runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" stop -m immediate >/dev/null 2>&1; }
trap 'pg_stop; [ -n "${KEEP_TMP:-}" ] || cleanup' EXIT
runuser -u postgres -- "$pgbin/initdb" -D "$pg/data" -U postgres -A trust >"$pg/initdb.log" 2>&1 \
  || skip "initdb failed: $(tail -3 "$pg/initdb.log")"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pg.tcpscribe.test \
  -keyout "$pg/data/server.key" -out "$pg/data/server.crt" >/dev/null 2>&1 || skip "openssl req failed"
chown postgres "$pg/data/server.key" "$pg/data/server.crt"
chmod 600 "$pg/data/server.key"
cat >"$pg/data/pg_hba.conf" <<HBA
local all all trust
hostssl all all 127.0.0.1/32 trust
HBA
runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
  -o "-p $port -k $pg -c listen_addresses=127.0.0.1 -c log_statement=all -c ssl=on -c log_line_prefix=%h:" start \
  >/dev/null 2>&1 || skip "the cluster did not start: $(tail -5 "$pg/server.log")"

tcpdump -i lo --immediate-mode -s 0 -U -B 65536 -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.1; done
grep -q "listening on" "$tmp/tcpdump.err" || skip "tcpdump did not start"

# The client: SSLRequest, 'S', TLS (keys to keys.log), startup, three
# simple queries (one an error), Terminate.
python3 - "$port" "$tmp/keys.log" >"$tmp/client.out" 2>&1 <<'PY' || bad "the python client failed: $(cat "$tmp/client.out")"
import socket, ssl, struct, sys
port, keylog = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(struct.pack(">II", 8, 80877103))
assert s.recv(1) == b"S", "the server refused TLS"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.keylog_filename = keylog
t = ctx.wrap_socket(s, server_hostname="pg.tcpscribe.test")
def z(x): return x.encode() + b"\0"
body = struct.pack(">I", 196608) + z("user") + z("postgres") + z("database") + z("postgres") + z("application_name") + z("tls-test") + b"\0"
t.sendall(struct.pack(">I", len(body) + 4) + body)
buf = b""
def until_ready():
    global buf
    while True:
        while len(buf) >= 5:
            typ, n = buf[0:1], struct.unpack(">I", buf[1:5])[0]
            if len(buf) < 1 + n: break
            msg, buf = buf[:1 + n], buf[1 + n:]
            if typ == b"Z": return
        d = t.recv(65536)
        assert d, "the server closed"
        buf += d
until_ready()
for q in ["SELECT 'tls-' || 42 AS answer", "SELECT * FROM no_such_table_tls", "SELECT repeat('x', 3000) AS long_row"]:
    t.sendall(b"Q" + struct.pack(">I", len(q) + 5) + z(q))
    until_ready()
t.sendall(b"X" + struct.pack(">I", 4))
t.close()
print("ok")
PY
PGSSLMODE=require psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "SELECT 'no keys here'" \
  >"$tmp/psql.out" 2>&1 || bad "psql over TLS failed: $(cat "$tmp/psql.out")"
sleep 1
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null
[ -s "$tmp/keys.log" ] || bad "the client wrote no key log"

"$bin" -r "$tmp/cap.pcap" --tls-keylog "$tmp/keys.log" --messages "$tmp/m.jsonl" --report "$tmp/r.jsonl" \
  -o "$tmp/out" >"$tmp/run.out" 2>"$tmp/run.err" || bad "tcpscribe failed: $(cat "$tmp/run.err")"
python3 - "$tmp/m.jsonl" "$tmp/r.jsonl" "$pg/server.log" <<'PY' || bad "records: see above"
import json, re, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
pgr = [m for m in msgs if m.get("proto") == "postgresql"]
queries = [m.get("query") for m in pgr]
logged = [m.group(1) for m in re.finditer(r"^127\.0\.0\.1:.*LOG:  statement: (.*)$", open(sys.argv[3]).read(), re.M)]
fail = []
for q in ["SELECT 'tls-' || 42 AS answer", "SELECT * FROM no_such_table_tls", "SELECT repeat('x', 3000) AS long_row"]:
    if q not in logged: fail.append(f"the server did not log {q!r}: {logged}")
    if q not in queries: fail.append(f"{q!r} not in --messages: {queries}")
err = [m for m in pgr if m.get("query") == "SELECT * FROM no_such_table_tls"]
if err and not (err[0].get("error") or {}).get("code") == "42P01": fail.append(f"the error: {err[0]}")
if "SELECT 'no keys here'" in queries: fail.append("psql's query without keys was decoded?")
conns = [json.loads(l) for l in open(sys.argv[2])]
tls = [c["tls"] for c in conns if "tls" in c]
dec = [t for t in tls if t.get("decrypted")]
nokey = [t for t in tls if not t.get("decrypted")]
if len(dec) != 1 or len(nokey) != 1: fail.append(f"tls objects: {tls}")
elif nokey[0].get("why_not") != "no key": fail.append(f"psql's connection: {nokey[0]}")
print(f"{len(pgr)} postgresql records, {len(tls)} TLS connections ({len(dec)} decrypted)")
for f in fail: print("FAIL:", f)
sys.exit(1 if fail else 0)
PY
ls "$tmp/out"/*-TLS >/dev/null 2>&1 || bad "no FLOW-TLS files: $(ls "$tmp/out")"
grep -q "tls-" "$tmp"/out/*-TLS || bad "FLOW-TLS does not hold the query"

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
