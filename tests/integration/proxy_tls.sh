#!/usr/bin/env bash
# TLS termination in the proxy, with real TLS programs on loopback and a
# throwaway CA made here with openssl(1):
#  1. curl --cacert (TLS to the proxy) -> proxy -> python3's http.server
#     wrapped in ssl (--tls-upstream --tls-ca): the body arrives byte for
#     byte, and the netrecord log and the -o flow files hold the plaintext
#     request and response byte for byte.
#  2. redis-cli --tls -> proxy -> redis-server --tls-port (skipped with a
#     message when this redis-server has no TLS).
#  3. --tls-keylog: a capture of the client <-> proxy leg, read back with
#     `tcpscribe -r CAP --tls-keylog KEYS -c`, shows the plaintext request.
#  4. A bad --tls-key (or a key of another certificate): one line, exit 2.
#  5. A client that does not trust the proxy's certificate: one line naming
#     it and OpenSSL's reason; the proxy goes on serving the next client.
# Usage: proxy_tls.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in openssl curl python3; do
  command -v $c >/dev/null || skip "$c is missing (scripts/test.sh installs it)"
done

# --- the throwaway PKI: a CA, a server certificate for localhost and
# 127.0.0.1 signed by it, and a second CA nobody here uses.
pki() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=tcpscribe test CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=another CA" -keyout "$tmp/other.key" -out "$tmp/other.pem" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
      -keyout "$tmp/server.key" -out "$tmp/server.csr" &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/san.ext" &&
    openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
      -CAcreateserial -days 2 -extfile "$tmp/san.ext" -out "$tmp/server.pem"
}
pki >"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; bad "openssl could not make the test certificates"; exit 1; }

# --- 4. files that cannot be loaded: one line, exit 2, nothing listens.
printf 'not a key\n' >"$tmp/junk.key"
for args in "--tls-key $tmp/junk.key" "--tls-key $tmp/other.key" "--tls-key $tmp/missing.key"; do
  # shellcheck disable=SC2086
  timeout 10 "$proxy_bin" proxy -l 127.0.0.1:0 -f 127.0.0.1:1 --tls-cert "$tmp/server.pem" $args \
    >/dev/null 2>"$tmp/err"
  rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^tcpscribe proxy: .*--tls-key' "$tmp/err" ||
    bad "proxy --tls-cert ... $args: exit $rc (expected 2), stderr: $(cat "$tmp/err")"
done
timeout 10 "$proxy_bin" proxy -l 127.0.0.1:0 -f 127.0.0.1:1 --tls-upstream --tls-ca "$tmp/junk.key" \
  >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q -- '--tls-ca' "$tmp/err" || bad "a junk --tls-ca: exit $rc: $(cat "$tmp/err")"

# --- 1 and 3: HTTPS through the proxy, the client leg captured.
[ "$(id -u)" -eq 0 ] || skip "needs root for tcpdump -i lo"
command -v tcpdump >/dev/null || skip "tcpdump is missing (scripts/test.sh installs it)"
hport=$(free_port) ph=$(free_port)
mkdir -p "$tmp/www" "$tmp/logs" "$tmp/flows"
head -c 300000 /dev/urandom >"$tmp/www/blob.bin"
python3 - "$hport" "$tmp/www" "$tmp/server.pem" "$tmp/server.key" >"$tmp/https.log" 2>&1 <<'PY' &
import functools, http.server, ssl, sys
h = http.server.SimpleHTTPRequestHandler
h.protocol_version = "HTTP/1.1"
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
                                      functools.partial(h, directory=sys.argv[2]))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
ctx.set_alpn_protocols(["http/1.1"])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
pids+=($!)
wait_port "$hport" || skip "the HTTPS server did not start: $(cat "$tmp/https.log")"

tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -w "$tmp/client_leg.pcap" "tcp port $ph" \
  2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
wait_line "$tmp/tcpdump.err" 'listening on' || skip "tcpdump did not start: $(cat "$tmp/tcpdump.err")"

"$proxy_bin" proxy -l "127.0.0.1:$ph" -f "127.0.0.1:$hport" --tls-cert "$tmp/server.pem" \
  --tls-key "$tmp/server.key" --tls-upstream --tls-ca "$tmp/ca.pem" --tls-keylog "$tmp/keys.log" \
  --netrecord "$tmp/logs/h" -o "$tmp/flows" >"$tmp/h.console" 2>"$tmp/h.err" &
hproxy=$!
pids+=($hproxy)
wait_line "$tmp/h.err" 'listening on' || { bad "proxy did not start: $(cat "$tmp/h.err")"; exit 1; }
grep -q 'TLS on both sides' "$tmp/h.err" || bad "the start line does not say TLS: $(cat "$tmp/h.err")"

# 5 first: a client that does not trust the proxy (another CA) fails alone.
curl -sS --cacert "$tmp/other.pem" --resolve "localhost:$ph:127.0.0.1" \
  "https://localhost:$ph/blob.bin" -o /dev/null 2>"$tmp/curl_bad.err" &&
  bad "curl trusted a certificate of another CA"
wait_line "$tmp/h.err" 'TLS handshake with the client' ||
  bad "no line for the failed handshake: $(cat "$tmp/h.err")"
[ "$(grep -c 'TLS handshake with the client' "$tmp/h.err")" -eq 1 ] ||
  bad "not one line for one failed handshake: $(cat "$tmp/h.err")"
grep -q "TLS handshake with the client 127.0.0.1:[0-9]* failed: .*unknown ca" "$tmp/h.err" ||
  bad "the failed handshake's line names neither the client nor the reason: $(cat "$tmp/h.err")"

# 1: the proxy still serves; curl trusts it (the CA), it trusts the upstream.
curl -sS --cacert "$tmp/ca.pem" --resolve "localhost:$ph:127.0.0.1" -D "$tmp/headers" \
  "https://localhost:$ph/blob.bin" -o "$tmp/blob.out" 2>"$tmp/curl.err" ||
  bad "curl through the TLS proxy: $(cat "$tmp/curl.err")"
cmp -s "$tmp/www/blob.bin" "$tmp/blob.out" || bad "the body changed through the TLS proxy"
grep -q "client: TLSv1.3 .*sni=localhost alpn=http/1.1" "$tmp/h.console" ||
  bad "the console does not show the client's TLS (SNI, ALPN): $(grep tls "$tmp/h.console")"
grep -q "upstream: TLSv1.3 .*alpn=http/1.1" "$tmp/h.console" ||
  bad "the console does not show the upstream's TLS: $(grep tls "$tmp/h.console")"
grep -q "GET /blob.bin HTTP/1.1" "$tmp/h.console" || bad "the console does not show the plaintext"

sleep 0.3
kill -INT $hproxy
wait $hproxy
rc=$?
[ $rc -eq 0 ] || bad "the proxy exited $rc after SIGINT"
grep -q '^tcpscribe proxy: 1 TLS handshake(s) failed' "$tmp/h.err" ||
  bad "the failed handshake is not counted at the end: $(cat "$tmp/h.err")"
# Its log: the connection, then the client side failed; no data.
"$bin" proxy --inspect "$tmp/logs/h_1" >"$tmp/inspect1.out" 2>&1
grep -q "c: 0 chunks 0 bytes err" "$tmp/inspect1.out" || bad "the failed handshake's log: $(cat "$tmp/inspect1.out")"
sleep 0.3
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null

# The logs: session 1 failed its handshake, session 2 carried the request.
mkdir -p "$tmp/x" "$tmp/rx"
"$bin" proxy --inspect "$tmp/logs/h_2" --extract "$tmp/x" >"$tmp/inspect.out" 2>&1 ||
  bad "proxy --inspect of the TLS session's log: $(cat "$tmp/inspect.out")"
curl_version=$(curl -V | sed -n '1s/^curl \([^ ]*\).*/\1/p')
python3 - "$tmp" "$ph" "$curl_version" <<'PY' || fail=$((fail + 1))
import glob, os, sys
tmp, ph, curl_version = sys.argv[1], sys.argv[2], sys.argv[3]
bad = 0
def fail(msg):
    global bad
    bad += 1
    print("FAIL:", msg)
request = (f"GET /blob.bin HTTP/1.1\r\nHost: localhost:{ph}\r\nUser-Agent: curl/{curl_version}\r\n"
           "Accept: */*\r\n\r\n").encode()
blob = open(f"{tmp}/www/blob.bin", "rb").read()
c = open(f"{tmp}/x/h_2.c", "rb").read() if os.path.exists(f"{tmp}/x/h_2.c") else b""
s = open(f"{tmp}/x/h_2.s", "rb").read() if os.path.exists(f"{tmp}/x/h_2.s") else b""
if c != request:
    fail(f"the log's client stream is not curl's request: {c[:200]!r}")
head_end = s.find(b"\r\n\r\n") + 4
if not s.startswith(b"HTTP/1.1 200 OK\r\n") or s[head_end:] != blob:
    fail(f"the log's server stream is not the response ({len(s)} bytes, head {s[:80]!r})")
if b"Content-Length: 300000\r\n" not in s[:head_end]:
    fail("the response head in the log has no Content-Length: 300000")
# The flow files (-o) of the same connection: the same plaintext.
flows = {open(p, "rb").read() for p in glob.glob(f"{tmp}/flows/*")}
if request not in flows:
    fail(f"no flow file holds the request ({len(flows)} files)")
if s not in flows:
    fail("no flow file holds the response as the log has it")
sys.exit(1 if bad else 0)
PY

# 3: the capture of the client leg, decrypted with the proxy's key log.
grep -q '^CLIENT_TRAFFIC_SECRET_0 ' "$tmp/keys.log" || bad "the key log has no TLS 1.3 secrets"
[ "$(cut -d' ' -f2 "$tmp/keys.log" | sort -u | wc -l)" -ge 3 ] ||
  bad "the key log does not hold both legs (and the failed one): $(cut -d' ' -f1,2 "$tmp/keys.log")"
"$bin" -r "$tmp/client_leg.pcap" --tls-keylog "$tmp/keys.log" -c >"$tmp/decrypted" 2>"$tmp/decrypted.err" ||
  bad "tcpscribe -r of the client leg: $(cat "$tmp/decrypted.err")"
grep -q "GET /blob.bin HTTP/1.1" "$tmp/decrypted" ||
  bad "the capture beside the proxy was not decrypted with its key log: $(head -c 600 "$tmp/decrypted")"
"$bin" -r "$tmp/client_leg.pcap" -c >"$tmp/encrypted" 2>/dev/null
grep -q "GET /blob.bin" "$tmp/encrypted" && bad "the client leg was plaintext on the wire"

# --- TLS on one side only: curl -> TLS proxy -> plain HTTP server, and
# plain curl -> proxy --tls-upstream -> the HTTPS server (SNI: --forward's
# name, localhost, which the certificate names).
pport=$(free_port) p1=$(free_port) p2=$(free_port)
python3 -m http.server "$pport" --bind 127.0.0.1 --directory "$tmp/www" >"$tmp/plain.log" 2>&1 &
pids+=($!)
wait_port "$pport" || skip "http.server did not start"
"$proxy_bin" proxy -l "127.0.0.1:$p1" -f "127.0.0.1:$pport" --tls-cert "$tmp/server.pem" \
  --tls-key "$tmp/server.key" --no-dump 2>"$tmp/p1.err" >"$tmp/p1.console" &
p1pid=$!
pids+=($p1pid)
"$proxy_bin" proxy -l "127.0.0.1:$p2" -f "localhost:$hport" --tls-upstream --tls-ca "$tmp/ca.pem" \
  --no-dump 2>"$tmp/p2.err" >"$tmp/p2.console" &
p2pid=$!
pids+=($p2pid)
wait_line "$tmp/p1.err" 'TLS to the clients' || bad "proxy --tls-cert alone: $(cat "$tmp/p1.err")"
wait_line "$tmp/p2.err" 'TLS to the upstream' || bad "proxy --tls-upstream alone: $(cat "$tmp/p2.err")"
curl -sS --cacert "$tmp/ca.pem" "https://127.0.0.1:$p1/blob.bin" -o "$tmp/one.out" 2>"$tmp/one.err" ||
  bad "curl -> TLS proxy -> plain server: $(cat "$tmp/one.err")"
cmp -s "$tmp/www/blob.bin" "$tmp/one.out" || bad "the body changed (TLS to the client only)"
grep -q "client: TLSv1.3 " "$tmp/p1.console" || bad "no client TLS line: $(cat "$tmp/p1.console")"
grep -q "alpn=" "$tmp/p1.console" && bad "a plain upstream, yet the client got an ALPN answer"
curl -sS "http://127.0.0.1:$p2/blob.bin" -o "$tmp/two.out" 2>"$tmp/two.err" ||
  bad "curl -> proxy -> TLS server: $(cat "$tmp/two.err")"
cmp -s "$tmp/www/blob.bin" "$tmp/two.out" || bad "the body changed (TLS to the upstream only)"
grep -q "upstream: TLSv1.3 .*sni=localhost" "$tmp/p2.console" ||
  bad "no upstream TLS line with the --forward name as SNI: $(cat "$tmp/p2.console")"
kill -INT $p1pid $p2pid
wait $p1pid || bad "proxy --tls-cert alone exited $?"
wait $p2pid || bad "proxy --tls-upstream alone exited $?"

# --- 2: redis-cli --tls through the proxy to redis-server --tls-port.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "SKIP part 2: redis-server/redis-cli are missing"
else
  rport=$(free_port) pr=$(free_port)
  redis-server --port 0 --tls-port "$rport" --bind 127.0.0.1 --tls-cert-file "$tmp/server.pem" \
    --tls-key-file "$tmp/server.key" --tls-ca-cert-file "$tmp/ca.pem" --tls-auth-clients no \
    --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
  rpid=$!
  pids+=($rpid)
  if ! wait_port "$rport"; then
    echo "SKIP part 2: this redis-server has no TLS: $(tail -2 "$tmp/redis.log")"
  else
    "$proxy_bin" proxy -l "127.0.0.1:$pr" -f "127.0.0.1:$rport" --tls-cert "$tmp/server.pem" \
      --tls-key "$tmp/server.key" --tls-upstream --tls-ca "$tmp/ca.pem" --netrecord "$tmp/logs/r" \
      -q 2>"$tmp/r.err" &
    rproxy=$!
    pids+=($rproxy)
    wait_line "$tmp/r.err" 'listening on' || { bad "proxy did not start: $(cat "$tmp/r.err")"; exit 1; }
    # One command per connection (fed on stdin, redis-cli asks COMMAND DOCS first).
    rcli() { redis-cli --tls --cacert "$tmp/ca.pem" -h 127.0.0.1 -p "$pr" "$@" 2>&1; }
    out="$(rcli PING) $(rcli SET k hello) $(rcli GET k)"
    [ "$out" = "PONG OK hello" ] || bad "redis-cli --tls through the proxy answered: $out"
    sleep 0.2
    kill -INT $rproxy
    wait $rproxy || bad "the redis proxy exited $? after SIGINT: $(cat "$tmp/r.err")"
    "$bin" proxy --inspect "$tmp/logs/r_1" "$tmp/logs/r_2" "$tmp/logs/r_3" --extract "$tmp/rx" \
      >/dev/null 2>&1 || bad "proxy --inspect of the redis logs"
    python3 - "$tmp/rx" <<'PY' || fail=$((fail + 1))
import sys
d = sys.argv[1]
want = [(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", b"+OK\r\n"),
        (b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", b"$5\r\nhello\r\n")]
bad = 0
for i, (c, s) in enumerate(want, 1):
    for side, exp in (("c", c), ("s", s)):
        try:
            got = open(f"{d}/r_{i}.{side}", "rb").read()
        except OSError as e:
            got = repr(e).encode()
        if got != exp:
            bad += 1
            print(f"FAIL: redis log r_{i}.{side} holds {got[:80]!r}, not {exp!r}")
sys.exit(1 if bad else 0)
PY
  fi
fi

[ $fail -eq 0 ] && echo "proxy_tls: all checks passed"
[ $fail -eq 0 ]
