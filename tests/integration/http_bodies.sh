#!/usr/bin/env bash
# Integration test: HTTP bodies and the HAR from real programs on loopback.
#
#   tests/integration/http_bodies.sh /path/to/tcpscribe
#
# Exit 0 = pass, 1 = fail (reason printed), 77 = skip (reason printed).
#
# One python3 process serves two ports on 127.0.0.1: the standard library's
# http.server (SimpleHTTPRequestHandler, HTTP/1.1) over a few files, and a
# small handler of our own that sends what http.server never does: gzip and
# deflate Content-Encoding, chunked transfer encoding (with a trailer), a
# body ended by closing the connection, and an answer to a POST. curl
# downloads them (several per connection, so keep-alive is exercised) while
# tcpdump captures loopback. Then
#   tcpscribe -r cap.pcap -o out -e http --har h.har
# must write every body byte for byte as served (decoded), the uploaded POST
# body beside the client's flow file, and a HAR 1.2 that python's json
# module loads and whose entries have the required fields and types; with
# -Z the compressed bodies must be exactly the bytes the server sent.
#
# TSC_KEEP_TMP=1 keeps the temp dir (capture, outputs) for debugging.

set -u -o pipefail

TCPSCRIBE=${1:-}
T=
SERVER_PID=
TCPDUMP_PID=

log()  { echo "http_bodies: $*"; }
skip() { echo "SKIP: http_bodies: $*"; exit 77; }
fail() { echo "FAIL: http_bodies: $*"; exit 1; }

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in $SERVER_PID $TCPDUMP_PID; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "${TSC_KEEP_TMP:-0}" = 1 ]; then log "kept temp dir $T"; else rm -rf "$T"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------- preflight
[ -n "$TCPSCRIBE" ] || fail "usage: $0 /path/to/tcpscribe"
[ -x "$TCPSCRIBE" ] || fail "tcpscribe binary '$TCPSCRIBE' is missing or not executable"
TCPSCRIBE=$(cd "$(dirname "$TCPSCRIBE")" && pwd)/$(basename "$TCPSCRIBE")
help_text=$("$TCPSCRIBE" --help 2>&1)  # not piped into grep -q: pipefail + SIGPIPE
grep -q -- '--har' <<<"$help_text" \
    || skip "tcpscribe --help does not list --har (HTTP analysis not wired in yet)"
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo)"

# shellcheck source=lib/require_tools.sh
. "$(dirname "$0")/lib/require_tools.sh"
require_tools curl python3 tcpdump

T=$(mktemp -d /tmp/tsc-http-bodies.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"
mkdir -p "$T/www/.enc" "$T/dl"

# ---------------------------------------------------------------- content
for i in $(seq 1 80); do echo "line $i: tcpscribe extracts HTTP bodies <b>byte for byte</b>"; done \
    >"$T/www/small.txt"
head -c $((300 * 1024)) /dev/urandom >"$T/www/big.bin"
for i in $(seq 1 2000); do echo "<p>paragraph $i of a page that compresses well</p>"; done \
    >"$T/www/page.html"
printf 'caf\xc3\xa9 \xe2\x82\xac\n' >"$T/www/utf8.txt"

# ---------------------------------------------------------------- servers
cat >"$T/servers.py" <<'PY'
import gzip, http.server, os, socketserver, sys, threading, zlib

www, portfile = sys.argv[1], sys.argv[2]
enc = os.path.join(www, ".enc")

def encoded(name, kind):
    """Compresses once and keeps the bytes, so -Z output can be compared."""
    path = os.path.join(enc, name + "." + kind)
    if not os.path.exists(path):
        data = open(os.path.join(www, name), "rb").read()
        if kind == "gz":
            out = gzip.compress(data, mtime=0)
        else:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)  # raw deflate, as many servers send
            out = c.compress(data) + c.flush()
        open(path, "wb").write(out)
    return open(path, "rb").read()

class Files(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def __init__(self, *a, **k):
        super().__init__(*a, directory=www, **k)
    def log_message(self, *a):
        pass

class Custom(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def chunked(self, data, sizes=(1, 7, 100, 4096, 333)):
        i = k = 0
        while i < len(data):
            n = sizes[k % len(sizes)]
            k += 1
            self.wfile.write(b"%x;n=%d\r\n" % (len(data[i:i + n]), k) + data[i:i + n] + b"\r\n")
            i += n
        self.wfile.write(b"0\r\nX-Checksum: done\r\n\r\n")
    def do_GET(self):
        _, kind, name = self.path.split("/", 2)
        data = open(os.path.join(www, name), "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if kind == "gz":
            body = encoded(name, "gz")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "deflate":
            body = encoded(name, "deflate")
            self.send_header("Content-Encoding", "deflate")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            self.chunked(data)
        elif kind == "gzchunked":
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.chunked(encoded(name, "gz"))
        elif kind == "close":
            # No length: the body ends when the server closes.
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
        self.wfile.flush()
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        body = self.rfile.read(n)
        reply = b"got %d bytes\n" % len(body)
        self.send_response(201)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

servers = [Server(("127.0.0.1", 0), Files), Server(("127.0.0.1", 0), Custom)]
for s in servers:
    threading.Thread(target=s.serve_forever, daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write(" ".join(str(s.server_address[1]) for s in servers))
os.rename(portfile + ".tmp", portfile)
threading.Event().wait()
PY
python3 "$T/servers.py" "$T/www" "$T/ports" >"$T/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 100); do [ -s "$T/ports" ] && break; sleep 0.05; done
[ -s "$T/ports" ] || fail "servers did not start: $(tail -5 "$T/server.log")"
read -r PFILES PCUSTOM <"$T/ports"
A=http://127.0.0.1:$PFILES
B=http://127.0.0.1:$PCUSTOM
log "http.server on $PFILES, custom server on $PCUSTOM"

# ---------------------------------------------------------------- capture
tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -Z root -w "$T/cap.pcap" \
    "tcp and host 127.0.0.1 and (port $PFILES or port $PCUSTOM)" 2>"$T/tcpdump.err" &
TCPDUMP_PID=$!
for i in $(seq 1 100); do
    grep -q "listening on" "$T/tcpdump.err" 2>/dev/null && break
    kill -0 "$TCPDUMP_PID" 2>/dev/null || fail "tcpdump died: $(cat "$T/tcpdump.err")"
    sleep 0.05
done
grep -q "listening on" "$T/tcpdump.err" || fail "tcpdump did not start: $(cat "$T/tcpdump.err")"

CURL=(env -u http_proxy -u HTTP_PROXY -u all_proxy -u ALL_PROXY
      curl -sS --fail --noproxy '*' --max-time 20)
"${CURL[@]}" -o "$T/dl/1" "$A/small.txt" -o "$T/dl/2" "$A/big.bin" -o "$T/dl/3" "$A/utf8.txt" \
    || fail "curl (http.server) failed"
"${CURL[@]}" -I -o /dev/null "$A/page.html" || fail "curl HEAD failed"
"${CURL[@]}" -o "$T/dl/4" "$B/gz/page.html" -o "$T/dl/5" "$B/chunked/big.bin" \
    -o "$T/dl/6" "$B/gzchunked/page.html" -o "$T/dl/7" "$B/deflate/page.html" \
    -o "$T/dl/8" "$B/gz/big.bin" || fail "curl (custom server) failed"
"${CURL[@]}" -o "$T/dl/9" "$B/close/small.txt" || fail "curl (close-delimited) failed"
"${CURL[@]}" -o "$T/dl/10" --data-binary @"$T/www/big.bin" "$B/upload" || fail "curl POST failed"
sleep 0.3
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" 2>/dev/null
TCPDUMP_PID=
# A packet tcpdump lost is a hole tcpscribe rightly reports, not its fault.
grep -q "^0 packets dropped by kernel" "$T/tcpdump.err" \
    || fail "tcpdump dropped packets (machine overloaded?): $(tr '\n' ' ' <"$T/tcpdump.err")"
# curl saw the raw bytes: the compressed downloads are what the server sent.
cmp -s "$T/dl/4" "$T/www/.enc/page.html.gz" || fail "curl download 4 differs from the gzip served"

# ---------------------------------------------------------------- check
# check.py HAR OUTDIR KEEP_ENCODED: every entry's body file against the
# served file; prints one line per entry.
cat >"$T/check.py" <<'PY'
import base64, json, os, sys
har_path, www, keep, server_port = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
har = json.load(open(har_path, encoding="utf-8"))

def need(obj, key, types, where):
    assert key in obj, f"{where}: no {key}"
    v = obj[key]
    assert isinstance(v, types) and not isinstance(v, bool), f"{where}.{key}: {type(v).__name__}"
    return v

num = (int, float)
log = need(har, "log", dict, "")
assert need(log, "version", str, "log") == "1.2"
assert need(need(log, "creator", dict, "log"), "name", str, "creator") == "tcpscribe"
need(log["creator"], "version", str, "creator")
entries = need(log, "entries", list, "log")
seen = []
for i, e in enumerate(entries):
    w = f"entries[{i}]"
    need(e, "startedDateTime", str, w)
    t = need(e, "time", num, w)
    for part in ("request", "response"):
        m = need(e, part, dict, w)
        need(m, "httpVersion", str, part)
        for k in ("cookies", "headers"):
            for c in need(m, k, list, part):
                need(c, "name", str, k), need(c, "value", str, k)
        need(m, "headersSize", int, part), need(m, "bodySize", int, part)
    rq, rs = e["request"], e["response"]
    need(rq, "method", str, "request"), need(rq, "url", str, "request")
    need(rq, "queryString", list, "request")
    need(rs, "status", int, "response"), need(rs, "statusText", str, "response")
    need(rs, "redirectURL", str, "response")
    content = need(rs, "content", dict, "response")
    need(content, "size", int, "content"), need(content, "mimeType", str, "content")
    need(e, "cache", dict, w)
    tm = need(e, "timings", dict, w)
    for k in ("send", "wait", "receive"):
        assert need(tm, k, num, "timings") >= 0, f"{w}: timings.{k} < 0"
    for k in ("blocked", "dns", "connect", "ssl"):
        assert k not in tm or tm[k] == -1 or tm[k] >= 0, f"{w}: timings.{k}"
    total = sum(v for v in tm.values() if v != -1)
    assert abs(total - t) < 0.002, f"{w}: time {t} is not the sum of timings {total}"

    path = rq["url"].split("/", 3)[3]
    method = rq["method"]
    if method == "HEAD":
        assert rs["status"] == 200 and "_responseBodyFile" not in rs, f"{w}: HEAD with a body"
        seen.append("HEAD " + path)
        continue
    if method == "POST":
        body = open(rs["_responseBodyFile"], "rb").read()
        assert body == b"got %d bytes\n" % os.path.getsize(os.path.join(www, "big.bin")), body
        # The upload, beside the client's flow file (client -> server name).
        up = need(rq, "_requestBodyFile", str, "request")
        assert up.endswith("-127.000.000.001.%05d-HTTPBODY-001" % server_port), up
        assert open(up, "rb").read() == open(os.path.join(www, "big.bin"), "rb").read(), up
        assert rq["bodySize"] == os.path.getsize(up), rq["bodySize"]
        seen.append("POST " + path)
        continue
    kind, _, name = path.partition("/")
    if not name:
        kind, name = "files", kind
    expected = open(os.path.join(www, name), "rb").read()
    if keep and kind in ("gz", "gzchunked"):
        expected = open(os.path.join(www, ".enc", name + ".gz"), "rb").read()
    if keep and kind == "deflate":
        expected = open(os.path.join(www, ".enc", name + ".deflate"), "rb").read()
    assert rs["status"] == 200, f"{w}: status {rs['status']}"
    got = open(rs["_responseBodyFile"], "rb").read()
    assert got == expected, f"{w} {path}: body file {rs['_responseBodyFile']} differs " \
                            f"({len(got)} bytes, expected {len(expected)})"
    assert content["size"] == len(open(os.path.join(www, name), "rb").read()), \
        f"{w} {path}: content.size {content['size']}"
    assert "_responseProblem" not in rs, f"{w}: {rs['_responseProblem']}"
    if kind in ("gz", "gzchunked", "deflate"):
        assert rs["bodySize"] < content["size"] or name == "big.bin", f"{w}: bodySize"
    seen.append("GET " + path)
print("\n".join(sorted(seen)))
PY

expected_list="GET big.bin
GET chunked/big.bin
GET close/small.txt
GET deflate/page.html
GET gz/big.bin
GET gz/page.html
GET gzchunked/page.html
GET small.txt
GET utf8.txt
HEAD page.html
POST upload"

for keep in 0 1; do
    out=$T/out$keep
    flags=()
    [ "$keep" = 1 ] && flags=(-Z)
    (cd "$T" && "$TCPSCRIBE" -r cap.pcap -o "$out" -e http "${flags[@]}" --har "$T/h$keep.har") \
        >"$T/run$keep.out" 2>"$T/run$keep.err" \
        || fail "tcpscribe -e http ${flags[*]} failed: $(tail -3 "$T/run$keep.err")"
    got=$(python3 "$T/check.py" "$T/h$keep.har" "$T/www" "$keep" "$PCUSTOM" 2>&1) \
        || fail "HAR check (keep_encoded=$keep): $got"
    [ "$got" = "$expected_list" ] || fail "HAR entries (keep_encoded=$keep):
$got
expected:
$expected_list"
    findings='was sent .* after|was never answered|without a request|unfinished|looking for the next message|not decoded'
    if grep -Eq "$findings" "$T/run$keep.out" "$T/run$keep.err"; then
        fail "unexpected HTTP finding: $(grep -Eh "$findings" "$T/run$keep.out" "$T/run$keep.err" | head -3)"
    fi
done
log "PASS: $(echo "$expected_list" | wc -l) transactions, bodies byte-exact (decoded and -Z), HAR 1.2 valid"
exit 0
