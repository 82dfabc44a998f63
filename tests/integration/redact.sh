#!/usr/bin/env bash
# --redact with real servers.
# (a) The proxy in front of redis-server (requirepass): a python3 client
#     sends AUTH and a SET whose value holds a secret cut across two writes
#     (a pause between them). The upstream got the bytes untouched (AUTH
#     succeeded; GET straight from redis-server returns the secret), and
#     every output - console, netrecord logs, -o flow files, --messages,
#     --report, --html, --har - has neither the password nor the secret,
#     with the same lengths ('*' in their place).
# (b) Passive: curl with `Authorization: Bearer ...` and a cookie, and a
#     python3 client whose header holds a custom secret cut across two
#     packets, to python3's http.server, captured by tcpdump; `tcpscribe -r
#     --redact auth --redact SECRET` leaves none of them in -o, --har,
#     --messages, --report, --html, --netrecord or -c, and the flow files
#     differ from an unredacted run only in those bytes.
# (c) A bad pattern: one line naming it, exit 1, in both modes.
# Usage: redact.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

# (c) first: needs nothing.
for mode in "-r /dev/null" "proxy -l 127.0.0.1:0 -f 127.0.0.1:1"; do
  # shellcheck disable=SC2086
  timeout 10 "$bin" $mode --redact 'pass(word' >/dev/null 2>"$tmp/err"
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
    grep -q "redact 'pass(word': missing closing parenthesis" "$tmp/err" ||
    bad "${mode:-passive}: a bad --redact gave exit $rc: $(cat "$tmp/err")"
done

# TLS plaintext decrypted with a key log (--tls-keylog, or a pcapng's own
# secrets) is blanked by the same rules before the console, FLOW-TLS and
# the inner analyzers see it.
tlsd=$(dirname "$0")/../pcaps/tls
dsb=$tlsd/tls12_ecdhe_aes128gcm_secrets.pcapng
"$bin" -r "$dsb" -c >"$tmp/dsb.plain" 2>/dev/null
grep -q 'line one of' "$tmp/dsb.plain" || bad "the pcapng's secrets decrypt nothing without --redact"
"$bin" -r "$dsb" -c --redact 'line one of' >"$tmp/dsb.red" 2>"$tmp/err" || bad "--redact with a pcapng's secrets: $(cat "$tmp/err")"
grep -q 'line one of' "$tmp/dsb.red" && bad "--redact: the pcapng's decrypted TLS was not blanked"
grep -q '\*\*\*\*\*\*\*\*\*\*\* tls12_ecdhe' "$tmp/dsb.red" || bad "--redact: no blanked plaintext on the console: $(head -5 "$tmp/dsb.red")"
"$bin" -r "$tlsd/tls12_ecdhe_aes128gcm.pcap" --tls-keylog "$tlsd/tls12_ecdhe_aes128gcm.keys" --redact 'second line' \
  -o "$tmp/tlsred" -q 2>"$tmp/err" || bad "--redact with --tls-keylog: $(cat "$tmp/err")"
python3 - "$tmp/tlsred" "$tlsd/tls12_ecdhe_aes128gcm.0.c2s" <<'PY' || bad "FLOW-TLS with --redact: see above"
import glob, sys
d, want = sys.argv[1], open(sys.argv[2], "rb").read().replace(b"second line", b"*" * 11)
tls = sorted(glob.glob(d + "/*-TLS"))
got = [open(f, "rb").read() for f in tls]
if want not in got:
    print("FAIL: no FLOW-TLS file holds the client's plaintext with 'second line' blanked:", [g[:80] for g in got])
    sys.exit(1)
PY

[ "$(id -u)" -eq 0 ] || skip "needs root for tcpdump -i lo"
for c in redis-server redis-cli curl tcpdump python3; do
  command -v $c >/dev/null || skip "$c is missing (scripts/test.sh installs it)"
done

# Fails if any file under the arguments holds one of the secrets.
no_secret() {  # no_secret WHAT PATH... (each must exist, not empty)
  local what=$1 s p
  shift
  for p in "$@"; do
    [ -s "$p" ] || [ -n "$(ls -A "$p" 2>/dev/null)" ] || bad "$what: $p is missing or empty"
  done
  for s in hunter2pw topsecret12345 SECRETTOKEN123 COOKIESECRET456 SPLITSECRET; do
    if grep -rqa -- "$s" "$@"; then bad "$what: '$s' is in $(grep -rla -- "$s" "$@" | tr '\n' ' ')"; fi
  done
}

# (a) the proxy and redis-server.
rport=$(free_port) pport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
  --requirepass hunter2pw >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_port "$rport" || skip "redis-server did not start"
mkdir -p "$tmp/logs"
"$bin" proxy -l "127.0.0.1:$pport" -f "127.0.0.1:$rport" --redact auth \
  --redact 'topsecret[0-9]+' --netrecord "$tmp/logs/r" -o "$tmp/flows" \
  --messages "$tmp/p.messages" --report "$tmp/p.report" --html "$tmp/p.html" \
  --har "$tmp/p.har" --max-dump all >"$tmp/p.console" 2>"$tmp/p.err" &
proxy_pid=$!
pids+=($proxy_pid)
wait_line "$tmp/p.err" 'listening on' || { bad "proxy did not start: $(cat "$tmp/p.err")"; exit 1; }

python3 - "$pport" >"$tmp/client.out" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def answer():
    time.sleep(0.3)
    return s.recv(4096)
s.sendall(b"*2\r\n$4\r\nAUTH\r\n$9\r\nhunter2pw\r\n")
print(answer())
value = b"value-topsecret12345-end"
cmd = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n" % (len(value), value)
cut = cmd.index(b"topsec") + len(b"topsec")
s.sendall(cmd[:cut]); time.sleep(0.3); s.sendall(cmd[cut:])
print(answer())
s.sendall(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
print(answer())
s.close()
PY
grep -q "^b'+OK" "$tmp/client.out" || bad "AUTH through the proxy failed: $(cat "$tmp/client.out")"
[ "$(grep -c "^b'+OK" "$tmp/client.out")" -eq 2 ] || bad "SET through the proxy: $(cat "$tmp/client.out")"
got=$(redis-cli -p "$rport" -a hunter2pw --no-auth-warning GET k)
[ "$got" = value-topsecret12345-end ] || bad "the upstream has '$got', not the value as sent"
sleep 0.3
kill -INT $proxy_pid
wait $proxy_pid || bad "proxy exit $?: $(cat "$tmp/p.err")"

no_secret "proxy outputs" "$tmp/p.console" "$tmp/logs" "$tmp/flows" "$tmp/p.messages" \
  "$tmp/p.report" "$tmp/p.html" "$tmp/p.har"
no_secret "proxy stderr" "$tmp/p.err"
stars14='**************'
stars9='*********'
grep -qaF "value-$stars14-end" "$tmp/p.console" || bad "console: no blanked value"
grep -qaF "\$9\\r\\n$stars9\\r\\n" "$tmp/p.console" ||
  grep -qaF "$stars9" "$tmp/p.console" || bad "console: no blanked password"
# The streams, whole: the flow files and the logs' extracted streams.
cs=$(grep -laF 'SET' "$tmp"/flows/* | head -1)
want_cs=$(printf '*2\r\n$4\r\nAUTH\r\n$9\r\n%s\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$24\r\nvalue-%s-end\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n' "$stars9" "$stars14")
[ -n "$cs" ] && [ "$(cat "$cs")" = "$want_cs" ] || bad "flow file $cs: $(cat -A "$cs" 2>/dev/null | head -5)"
sc=$(grep -laF 'value-' "$tmp"/flows/* | grep -v "^$cs$" | head -1)
want_sc=$(printf '+OK\r\n+OK\r\n$24\r\nvalue-%s-end\r\n' "$stars14")
[ -n "$sc" ] && [ "$(cat "$sc")" = "$want_sc" ] || bad "server's flow file: $(cat -A "$sc" 2>/dev/null)"
mkdir -p "$tmp/extract"
"$bin" proxy --inspect "$tmp"/logs/r_* --extract "$tmp/extract" >/dev/null 2>&1 || bad "inspect the logs"
[ "$(cat "$tmp"/extract/*.c)" = "$want_cs" ] || bad "log's client stream: $(cat -A "$tmp"/extract/*.c | head -5)"
[ "$(cat "$tmp"/extract/*.s)" = "$want_sc" ] || bad "log's server stream: $(cat -A "$tmp"/extract/*.s)"
grep -qF "value-$stars14-end" "$tmp/p.messages" || bad "--messages: no blanked value: $(head -c 600 "$tmp/p.messages")"

# (b) passive: http.server, curl and a client that cuts a header in two packets.
hport=$(free_port)
mkdir -p "$tmp/www"
printf 'hello\n' >"$tmp/www/a.txt"
printf 'body SPLITSECRET body\n' >"$tmp/www/b.txt"
python3 - "$hport" "$tmp/www" >"$tmp/http.log" 2>&1 <<'PY' &
import functools, http.server, sys
h = http.server.SimpleHTTPRequestHandler
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
                                functools.partial(h, directory=sys.argv[2])).serve_forever()
PY
pids+=($!)
wait_port "$hport" || skip "http.server did not start"
tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -w "$tmp/cap.pcap" "tcp port $hport" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
wait_line "$tmp/tcpdump.err" 'listening on' || skip "tcpdump did not start: $(cat "$tmp/tcpdump.err")"
curl -sS -H 'Authorization: Bearer SECRETTOKEN123' --cookie 'session=COOKIESECRET456' \
  "http://127.0.0.1:$hport/a.txt" "http://127.0.0.1:$hport/b.txt" -o "$tmp/a.out" -o "$tmp/b.out" ||
  bad "curl"
python3 - "$hport" <<'PY' || bad "split client"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(b"GET /a.txt HTTP/1.0\r\nX-Note: before-SPLIT")
time.sleep(0.3)
s.sendall(b"SECRET-after\r\n\r\n")
while s.recv(4096):
    pass
PY
sleep 0.3
wait_still "$tmp/cap.pcap"
kill $tcpdump_pid
wait $tcpdump_pid 2>/dev/null
# The custom secret is in no single packet.
tcpdump -r "$tmp/cap.pcap" -A 2>/dev/null | grep -q before-SPLITSECRET && bad "SPLITSECRET sat in one packet"

"$bin" -r "$tmp/cap.pcap" -e http -o "$tmp/plain" -q 2>/dev/null || bad "unredacted run"
grep -rqa SPLITSECRET "$tmp/plain" || bad "the unredacted flows lack the split secret"
mkdir -p "$tmp/plogs"
"$bin" -r "$tmp/cap.pcap" --redact auth --redact SPLITSECRET -e http -o "$tmp/red" --har "$tmp/r.har" \
  --messages "$tmp/r.messages" --report "$tmp/r.report" --html "$tmp/r.html" \
  --netrecord "$tmp/plogs/p" -q 2>"$tmp/r.err" || bad "redacted run: $(cat "$tmp/r.err")"
"$bin" -r "$tmp/cap.pcap" --redact auth --redact SPLITSECRET -c -q >"$tmp/r.console" 2>&1 ||
  bad "redacted -c run"
"$bin" -r "$tmp/cap.pcap" --redact auth --redact SPLITSECRET -c --decode -q >"$tmp/r.decode" 2>&1 ||
  bad "redacted --decode run"
no_secret "passive outputs" "$tmp/red" "$tmp/r.har" "$tmp/r.messages" "$tmp/r.report" \
  "$tmp/r.html" "$tmp/plogs" "$tmp/r.console" "$tmp/r.decode"
grep -qF 'Bearer *****************' "$tmp/r.console" 2>/dev/null ||
  grep -qF '*****************' "$tmp/r.console" || bad "console: no blanked Authorization"
# The console shows the held bytes as a chunk of their own.
grep -qaF '***********-after' "$tmp/r.console" || bad "console: no blanked split secret"
grep -rqaF 'X-Note: before-***********-after' "$tmp/red" || bad "flow file: no blanked split secret"
grep -rqxF 'body *********** body' "$tmp/red" || bad "-e http: no blanked body file"
grep -qF '"value": "********************"' "$tmp/r.har" ||
  grep -qF '********************' "$tmp/r.har" || bad "HAR: no blanked header value"
# Same files, same sizes; only the secrets' bytes differ.
diffs=0
nfiles=0
for f in $(cd "$tmp/plain" && find . -type f); do
  f=$tmp/plain/$f nfiles=$((nfiles + 1))
  g="$tmp/red/${f#"$tmp"/plain/}"
  [ -f "$g" ] || { bad "redacted run lacks $(basename "$f")"; continue; }
  [ "$(stat -c %s "$f")" = "$(stat -c %s "$g")" ] || bad "$(basename "$f") changed length"
  diffs=$((diffs + $(cmp -l "$f" "$g" | wc -l)))
done
[ "$nfiles" -ge 3 ] || bad "only $nfiles flow and body files"
# "Bearer SECRETTOKEN123" (21) + "session=COOKIESECRET456" (23) in curl's two
# requests, SPLITSECRET (11) in the split request, in b.txt's answer and in
# its body file: 2 * 44 + 3 * 11.
[ "$diffs" -eq 121 ] || bad "the flow files differ in $diffs bytes, not 121"

[ "$fail" -eq 0 ] && echo "redact: ok"
exit $((fail > 0))
