#!/usr/bin/env bash
# Integration test: HTTP/2 (h2c) from real programs on loopback.
#
#   tests/integration/http2_real.sh /path/to/tcpscribe
#
# Exit 0 = pass, 1 = fail (reason printed), 77 = skip (reason printed).
#
# nghttpd serves a few files in the clear (--no-tls): a small text file, a
# 300,000-byte random file (larger than the 65,535-byte flow-control
# windows, so WINDOW_UPDATEs pace it) and a 5,000-byte one. While tcpdump
# captures loopback:
#   - curl --http2-prior-knowledge fetches the three files (a connection
#     each: curl 7.88 does not reuse an h2c connection);
#   - curl --http2 fetches one file with "Upgrade: h2c" from HTTP/1.1,
#     through nghttpx (nghttpd does not answer upgrades) in front of
#     python's http.server;
#   - nghttp -n -m 20 fetches the 5,000-byte file 20 times at once
#     (20 concurrent streams on one connection);
#   - curl --http2-prior-knowledge asks for a file that is not there (404).
# Then `tcpscribe -r cap -o out -e http -e http2 --messages m.jsonl --har h.har`
# must write every response body byte for byte as served, one --messages
# record per stream with the right status, one HAR entry per stream with
# httpVersion HTTP/2.0, and tell the 404 as the record's error.
#
# TSC_KEEP_TMP=1 keeps the temp dir (capture, outputs) for debugging.

set -u -o pipefail

TCPSCRIBE=${1:-}
T=
SERVER_PID=
TCPDUMP_PID=
BACKEND_PID=
PROXY_PID=

log()  { echo "http2_real: $*"; }
skip() { echo "SKIP: http2_real: $*"; exit 77; }
fail() { echo "FAIL: http2_real: $*"; exit 1; }

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in $SERVER_PID $TCPDUMP_PID $BACKEND_PID $PROXY_PID ${TLS_PID:-}; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "${TSC_KEEP_TMP:-0}" = 1 ]; then log "kept temp dir $T"; else rm -rf "$T"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ -n "$TCPSCRIBE" ] || fail "usage: $0 /path/to/tcpscribe"
[ -x "$TCPSCRIBE" ] || fail "tcpscribe binary '$TCPSCRIBE' is missing or not executable"
TCPSCRIBE=$(cd "$(dirname "$TCPSCRIBE")" && pwd)/$(basename "$TCPSCRIBE")
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo)"
# shellcheck source=lib/require_tools.sh
. "$(dirname "$0")/lib/require_tools.sh"
require_tools curl python3 tcpdump nghttpd nghttp nghttpx
# shellcheck source=lib/net.sh
. "$(dirname "$0")/lib/net.sh"

T=$(mktemp -d /tmp/tcpscribe-http2.XXXXXX)
mkdir -p "$T/www" "$T/out"
printf 'hello over HTTP/2\n' > "$T/www/hello.txt"
head -c 300000 /dev/urandom > "$T/www/big.bin"
head -c 5000 /dev/urandom > "$T/www/five.bin"

PORT=$(free_port)
nghttpd --no-tls -d "$T/www" "$PORT" >"$T/nghttpd.log" 2>&1 &
SERVER_PID=$!
wait_port "$PORT" || fail "nghttpd did not start: $(cat "$T/nghttpd.log")"

PB=$(free_port)
(cd "$T/www" && exec python3 -m http.server "$PB" --bind 127.0.0.1) >/dev/null 2>&1 &
BACKEND_PID=$!
PX=$(free_port)
nghttpx --frontend="127.0.0.1,$PX;no-tls" --backend="127.0.0.1,$PB" --workers=1 \
    --log-level=ERROR --errorlog-file=/dev/null >/dev/null 2>&1 &
PROXY_PID=$!
wait_port "$PB" || fail "python3 http.server did not start"
wait_port "$PX" || fail "nghttpx did not start"

tcpdump -i lo -U -s 0 -B 65536 -w "$T/cap.pcap" "tcp port $PORT or tcp port $PX" 2>"$T/tcpdump.log" &
TCPDUMP_PID=$!
sleep 1
U="http://127.0.0.1:$PORT"
for f in hello.txt big.bin five.bin; do
    curl -s --http2-prior-knowledge -o "$T/got.$f" "$U/$f" || fail "curl --http2-prior-knowledge $f failed"
    cmp -s "$T/got.$f" "$T/www/$f" || fail "curl's download of $f differs"
done
curl -s --http2 -o "$T/upgraded.txt" "http://127.0.0.1:$PX/hello.txt" || fail "curl --http2 (upgrade) failed"
cmp -s "$T/upgraded.txt" "$T/www/hello.txt" || fail "curl's upgraded download differs"
nghttp -n -m 20 "$U/five.bin" >/dev/null || fail "nghttp failed"
curl -s --http2-prior-knowledge -o /dev/null "$U/missing.txt"
sleep 1
kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null; TCPDUMP_PID=

"$TCPSCRIBE" -r "$T/cap.pcap" -o "$T/out" -e http -e http2 --messages "$T/m.jsonl" \
    --har "$T/h.har" >"$T/run.log" 2>&1 || fail "tcpscribe failed: $(cat "$T/run.log")"

# tshark's http2 dissector as a witness (when there): the responses on
# nghttpd's port, one :status per stream.
WITNESS=-1
if command -v tshark >/dev/null; then
    WITNESS=$(tshark -r "$T/cap.pcap" -d "tcp.port==$PORT,http2" -Y "tcp.srcport==$PORT && http2.headers.status" \
        -T fields -e http2.headers.status 2>/dev/null | tr ',' '\n' | grep -c . || true)
fi

python3 - "$T" "$PORT" "$WITNESS" <<'EOF' || exit 1
import glob, json, os, sys
t = sys.argv[1]
def fail(msg):
    print("FAIL: http2_real: " + msg)
    sys.exit(1)
served = {n: open(os.path.join(t, "www", n), "rb").read() for n in os.listdir(os.path.join(t, "www"))}
recs = [json.loads(l) for l in open(os.path.join(t, "m.jsonl"))]
h2 = [r for r in recs if r["proto"] == "http2"]
# 3 prior knowledge + 1 upgraded + 20 nghttp + 1 missing
if len(h2) != 25:
    fail(f"{len(h2)} http2 records, expected 25: {[r.get('path') for r in h2]}")
by_path = {}
for r in h2:
    by_path.setdefault(r["path"], []).append(r)
if len(by_path.get("/five.bin", [])) != 21:
    fail(f"{len(by_path.get('/five.bin', []))} records of /five.bin, expected 21")
for r in h2:
    want = 404 if r["path"] == "/missing.txt" else 200
    if r["status"] != want:
        fail(f"stream {r['stream']} {r['path']}: status {r['status']}, expected {want}")
    if want == 200:
        if r["error"] is not None:
            fail(f"stream {r['stream']} {r['path']}: error {r['error']}")
        if r["response_body_bytes"] != len(served[r["path"][1:]]):
            fail(f"{r['path']}: {r['response_body_bytes']} body bytes, served {len(served[r['path'][1:]])}")
missing = by_path["/missing.txt"][0]
if missing["error"] != "404":
    fail(f"the 404's error is {missing['error']!r}")
if not any(r["stream"] == 1 and r["path"] == "/hello.txt" and r["method"] == "GET"
           for r in h2 if r["stream"] == 1):
    fail("no stream 1 record for the upgraded request")
# Every body file of the server's side is one of the served files, byte for byte.
bodies = sorted(glob.glob(os.path.join(t, "out", "*-HTTPBODY-*")))
contents = set(served.values())
matched = 0
for b in bodies:
    data = open(b, "rb").read()
    if data in contents:
        matched += 1
    elif b"404" not in data and b"Not Found" not in data:
        fail(f"body {os.path.basename(b)} ({len(data)} bytes) matches no served file")
if matched != 24:
    fail(f"{matched} body files match a served file, expected 24 (3 + the upgrade + 20)")
har = json.load(open(os.path.join(t, "h.har")))
entries = [e for e in har["log"]["entries"] if e["response"]["httpVersion"] == "HTTP/2.0"]
if len(entries) != 25:
    fail(f"{len(entries)} HAR entries with HTTP/2.0, expected 25")
for e in entries:
    # The upgraded request was sent as HTTP/1.1; its answer came as HTTP/2.
    upgraded = e["request"]["httpVersion"] == "HTTP/1.1" and e["request"]["url"].endswith("/hello.txt")
    if not (e["request"]["httpVersion"] == "HTTP/2.0" or upgraded) or not e["request"]["url"].startswith("http://127.0.0.1:"):
        fail(f"HAR entry {e['request']['url']} {e['request']['httpVersion']}")
port, witness = int(sys.argv[2]), int(sys.argv[3])
ours = sum(1 for r in h2 if r["authority"] == f"127.0.0.1:{port}" and r["status"] is not None)
if witness >= 0 and witness != ours:
    fail(f"tshark sees {witness} responses on port {port}, tcpscribe {ours}")
print(f"http2_real: tshark's witness: {witness} responses on nghttpd's port, tcpscribe {ours}")
print(f"http2_real: {len(h2)} streams, {matched} bodies byte-exact, {len(entries)} HAR entries")
EOF

# h2 inside TLS, chosen by ALPN: nghttpd with a throwaway certificate, curl
# --http2 writing its keys (SSLKEYLOGFILE), read back with --tls-keylog:
# one http2 record with scheme https, the body byte-exact.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
    -subj /CN=localhost >/dev/null 2>&1 || fail "openssl req failed"
TP=$(free_port)
nghttpd -d "$T/www" "$TP" "$T/key.pem" "$T/cert.pem" >"$T/nghttpd-tls.log" 2>&1 &
TLS_PID=$!
wait_port "$TP" || fail "nghttpd (TLS) did not start"
tcpdump -i lo -U -s 0 -B 65536 -w "$T/tls.pcap" "tcp port $TP" 2>"$T/tcpdump-tls.log" &
TCPDUMP_PID=$!
sleep 1
SSLKEYLOGFILE="$T/keys.log" curl -sk --http2 -o "$T/got.tls" "https://localhost:$TP/big.bin" || fail "curl over TLS failed"
sleep 1
kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null; TCPDUMP_PID=
kill "$TLS_PID" 2>/dev/null
mkdir -p "$T/tlsout"
"$TCPSCRIBE" -r "$T/tls.pcap" --tls-keylog "$T/keys.log" -e http -o "$T/tlsout" --messages "$T/tls.jsonl" \
    >"$T/tls.run" 2>&1 || fail "tcpscribe over TLS failed: $(cat "$T/tls.run")"
python3 - "$T/tls.jsonl" <<'EOF2' || fail "h2 inside TLS: $(cat "$T/tls.jsonl")"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
assert len(r) == 1 and r[0]["proto"] == "http2" and r[0]["scheme"] == "https" and r[0]["status"] == 200, r
assert r[0]["response_body_bytes"] == 300000, r
EOF2
cmp -s "$T"/tlsout/*-HTTPBODY-001 "$T/www/big.bin" || fail "h2 inside TLS: the body differs"
log "h2 inside TLS (ALPN): 1 http2 record, https, body byte-exact"
log "PASS"
