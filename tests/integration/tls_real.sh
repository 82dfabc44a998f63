#!/usr/bin/env bash
# Integration test: TLS decryption with real programs on loopback.
#
#   tests/integration/tls_real.sh /path/to/tcpscribe
#
# Exit 0 = pass, 1 = fail (reason printed), 77 = skip (reason printed).
#
# A python3 ssl server (TLS 1.3, ALPN http/1.1: files, and a POST that it
# stores) and `openssl s_server -WWW` (TLS 1.2, ECDHE-ECDSA-CHACHA20) on
# 127.0.0.1; curl with SSLKEYLOGFILE and `openssl s_client -keylogfile`
# talk to them while tcpdump captures loopback. One more curl runs without
# a key log. Then, offline:
#   tcpscribe -r cap.pcap --tls-keylog keys.log -o out -e http --report r --har h --messages m
# must write every body byte for byte as served (and the upload as sent)
# from the decrypted HTTP, FLOW-TLS beside the flow files, a `tls` object
# per connection (decrypted, or why not: the connection without keys says
# "no key"), https URLs; tshark -o tls.keylog_file is a witness for the
# requests. -c shows the plaintext, --decode the handshake lines. A pcapng
# with the keys injected (editcap --inject-secrets) decrypts without the
# flag; a key log with bad lines decrypts and warns; a missing one is exit 2.
# Live: `tcpscribe -i lo --tls-keylog F` starts before F exists; curl writes
# F while it runs, and its body must come out whole (records waited for
# their keys).
#
# TSC_KEEP_TMP=1 keeps the temp dir for debugging.

set -u -o pipefail

TCPSCRIBE=${1:-}
T=
PY_PID=
SS_PID=
TCPDUMP_PID=
LIVE_PID=

log()  { echo "tls_real: $*"; }
skip() { echo "SKIP: tls_real: $*"; exit 77; }
fail() { echo "FAIL: tls_real: $*"; exit 1; }

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in $LIVE_PID $PY_PID $SS_PID $TCPDUMP_PID; do kill "$p" 2>/dev/null; done
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
help_text=$("$TCPSCRIBE" --help 2>&1)
grep -q -- '--tls-keylog' <<<"$help_text" || fail "--help does not list --tls-keylog"
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump and live capture on lo)"

# shellcheck source=lib/require_tools.sh
. "$(dirname "$0")/lib/require_tools.sh"
require_tools curl python3 tcpdump openssl tshark=tshark editcap=wireshark-common
# shellcheck source=lib/net.sh
. "$(dirname "$0")/lib/net.sh"

T=$(mktemp -d /tmp/tsc-tls-real.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"
cd "$T" || fail "cd $T"
mkdir -p www dl

# ---------------------------------------------------------------- content
for i in $(seq 1 3000); do echo "line $i: tcpscribe sees inside TLS, byte for byte"; done >www/page.txt
head -c $((700 * 1024)) /dev/urandom >www/big.bin
head -c $((200 * 1024)) /dev/urandom >upload.bin
head -c $((50 * 1024)) /dev/urandom >www/s12.bin
head -c 5000 /dev/urandom >www/nokey.bin
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=tcpscribe.test -keyout key.pem -out cert.pem 2>/dev/null || fail "openssl req"

cat >server.py <<'PY'
import http.server, os, ssl, sys, threading

www, cert, key, portfile = sys.argv[1:5]

class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def __init__(self, *a, **k):
        super().__init__(*a, directory=www, **k)
    def log_message(self, *a):
        pass
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        body = self.rfile.read(n)
        with open(os.path.join(www, "..", "received.bin"), "wb") as f:
            f.write(body)
        answer = b"got %d bytes\n" % len(body)
        self.send_response(201)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
python3 server.py "$T/www" cert.pem key.pem "$T/pyport" 2>py.err &
PY_PID=$!
for _ in $(seq 100); do [ -s pyport ] && break; sleep 0.05; done
PYPORT=$(cat pyport 2>/dev/null) || fail "python server did not start: $(cat py.err)"
wait_port "$PYPORT" || fail "python server not listening"

SSPORT=$(free_port)
(cd www && exec openssl s_server -quiet -WWW -accept "$SSPORT" -cert ../cert.pem -key ../key.pem \
    -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305 </dev/null >../ss.out 2>&1) &
SS_PID=$!
wait_port "$SSPORT" || fail "openssl s_server not listening: $(cat ss.out)"

# ---------------------------------------------------------------- capture
tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -Z root -w cap.pcap \
    "tcp and host 127.0.0.1 and (port $PYPORT or port $SSPORT)" 2>tcpdump.err &
TCPDUMP_PID=$!
for _ in $(seq 100); do
    grep -q "listening on" tcpdump.err 2>/dev/null && break
    kill -0 "$TCPDUMP_PID" 2>/dev/null || fail "tcpdump died: $(cat tcpdump.err)"
    sleep 0.05
done

url() { echo "https://tcpscribe.test:$1/$2"; }
resolve() { echo "tcpscribe.test:$1:127.0.0.1"; }
SSLKEYLOGFILE=$T/keys.log curl -sS -k --http1.1 --resolve "$(resolve "$PYPORT")" \
    -o dl/page.txt "$(url "$PYPORT" page.txt)" -o dl/big.bin "$(url "$PYPORT" big.bin)" \
    || fail "curl GET (python)"
SSLKEYLOGFILE=$T/keys.log curl -sS -k --http1.1 --resolve "$(resolve "$PYPORT")" \
    --data-binary @upload.bin -H 'Content-Type: application/octet-stream' \
    -o dl/post.txt "$(url "$PYPORT" upload)" || fail "curl POST"
SSLKEYLOGFILE=$T/keys.log curl -sS -k --http1.1 --resolve "$(resolve "$SSPORT")" \
    -o dl/s12.bin "$(url "$SSPORT" s12.bin)" || fail "curl GET (s_server)"
printf 'GET /page.txt HTTP/1.1\r\nHost: tcpscribe.test\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PYPORT" -servername tcpscribe.test \
        -alpn http/1.1 -keylogfile "$T/keys_sclient.log" >dl/sclient.out 2>sclient.err
# (python's server closes without close_notify: s_client's status says so)
grep -q "line 3000: tcpscribe" dl/sclient.out || fail "openssl s_client: $(cat sclient.err)"
# No key log: this connection must say why it was not decrypted.
curl -sS -k --http1.1 --resolve "$(resolve "$PYPORT")" -o dl/nokey.bin \
    "$(url "$PYPORT" nokey.bin)" || fail "curl without key log"
sleep 0.3
kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null; TCPDUMP_PID=
grep -q "^0 packets dropped by kernel" tcpdump.err || fail "tcpdump dropped packets: $(cat tcpdump.err)"
for f in page.txt big.bin s12.bin nokey.bin; do cmp -s "www/$f" "dl/$f" || fail "curl got a different $f"; done
cmp -s upload.bin received.bin || fail "the server stored a different upload"
cat keys.log keys_sclient.log >allkeys.log

checks=0
ok() { checks=$((checks + 1)); }

# ---------------------------------------------------------------- offline: files, report, HAR, messages
"$TCPSCRIBE" -r cap.pcap --tls-keylog allkeys.log -o out -e http --report r.jsonl \
    --har h.har --messages m.jsonl --html h.html 2>run.err || fail "tcpscribe exit $?: $(cat run.err)"
[ -s run.err ] && fail "tcpscribe wrote to stderr: $(cat run.err)"
# Every body, byte for byte, among the extracted body files.
for f in www/page.txt www/big.bin www/s12.bin upload.bin; do
    want=$(sha256sum <"$f" | cut -d' ' -f1)
    found=
    for b in out/*-HTTPBODY-*; do
        [ "$(sha256sum <"$b" | cut -d' ' -f1)" = "$want" ] && found=$b && break
    done
    [ -n "$found" ] || fail "no body file has the bytes of $f: $(ls out)"
    ok
done
# s_client's answer: the page, in the decrypted stream of that connection.
grep -q "line 3000: tcpscribe" out/*-TLS || fail "FLOW-TLS does not hold the page"
ok
# FLOW-TLS: beside flow files, the flow files keep the wire's bytes.
n_tls=$(find out -name '*-TLS' | wc -l)
[ "$n_tls" -eq 8 ] || fail "expected 8 FLOW-TLS files (4 decrypted connections, 2 directions), got $n_tls"
for t in out/*-TLS; do
    [ -f "${t%-TLS}" ] || fail "$t has no flow file beside it"
    cmp -s "$t" "${t%-TLS}" && fail "$t equals its flow file (not decrypted?)"
done
ok
python3 - "$PYPORT" "$SSPORT" <<'PY' || fail "report/HAR/messages check failed"
import json, sys
py, ss = int(sys.argv[1]), int(sys.argv[2])
conns = [json.loads(l) for l in open("r.jsonl") if '"run"' not in l[:8]]
tls = [c for c in conns if "tls" in c]
assert len(tls) == 5, f"{len(tls)} TLS connections in the report"
dec = [c for c in tls if c["tls"]["decrypted"]]
nokey = [c for c in tls if not c["tls"]["decrypted"]]
assert len(dec) == 4 and len(nokey) == 1, (len(dec), len(nokey))
assert nokey[0]["tls"]["why_not"] == "no key", nokey[0]["tls"]
for c in dec:
    t = c["tls"]
    assert t["why_not"] is None, t
    assert t["sni"] == "tcpscribe.test", t
    assert t["server"]["bytes_decrypted"] > 0 and t["server"]["bad_records"] == 0, t
    if c["server_port"] == ss:
        assert t["version"] == "TLS 1.2", t
        assert t["cipher_suite"] == "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", t
        assert "CN=tcpscribe.test" in t.get("cert_subject", ""), t
    else:
        assert t["version"] == "TLS 1.3" and t["alpn"] == "http/1.1", t
har = json.load(open("h.har"))
urls = sorted(e["request"]["url"] for e in har["log"]["entries"])
want = sorted([f"https://tcpscribe.test:{py}/page.txt", f"https://tcpscribe.test:{py}/big.bin",
               f"https://tcpscribe.test:{py}/upload", f"https://tcpscribe.test:{ss}/s12.bin",
               "https://tcpscribe.test/page.txt"])
assert urls == want, urls
msgs = [json.loads(l) for l in open("m.jsonl")]
assert sorted(m["target"] for m in msgs) == sorted(["/page.txt", "/big.bin", "/upload", "/s12.bin", "/page.txt"]), msgs
assert all(m["scheme"] == "https" for m in msgs), msgs
post = [m for m in msgs if m["method"] == "POST"][0]
assert post["status"] == 201 and post["request_body_bytes"] == 200 * 1024, post
PY
ok

grep -q '"m":"POST","u":"/upload"' h.html && grep -q '"m":"GET","u":"/s12.bin"' h.html \
    || fail "--html lacks the transactions inside TLS"
ok

# tshark as a witness: the same requests decrypted.
tshark -r cap.pcap -o "tls.keylog_file:$T/allkeys.log" -Y http.request -T fields \
    -e http.request.uri 2>/dev/null | sort >tshark.uris
python3 -c 'import json; [print(json.loads(l)["target"]) for l in open("m.jsonl")]' | sort >ours.uris
cmp -s tshark.uris ours.uris || fail "tshark decrypted other requests: $(cat tshark.uris) vs $(cat ours.uris)"
ok

# ---------------------------------------------------------------- console
NO_COLOR=1 "$TCPSCRIBE" -r cap.pcap --tls-keylog allkeys.log -c >console.txt 2>console.err \
    || fail "tcpscribe -c exit $?"
grep -q "^127.000.000.001.[0-9]*-127.000.000.001.0*$PYPORT: GET /page.txt HTTP/1.1" console.txt \
    || fail "-c does not show the decrypted request"
grep -q "line 2999: tcpscribe sees inside TLS" console.txt || fail "-c does not show the decrypted page"
grep -q "POST /upload HTTP/1.1" console.txt || fail "-c does not show the POST"
ok
NO_COLOR=1 "$TCPSCRIBE" -r cap.pcap --tls-keylog allkeys.log -c --decode >decode.txt 2>&1 \
    || fail "tcpscribe -c --decode exit $?"
grep -q "\[tls\] TLS 1.3 TLS_AES_256_GCM_SHA384 sni=tcpscribe.test alpn=http/1.1: decrypted" decode.txt \
    || fail "--decode: no TLS 1.3 handshake line: $(grep tls decode.txt | head -3)"
grep -q "\[tls\] TLS 1.2 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 sni=tcpscribe.test: decrypted" decode.txt \
    || fail "--decode: no TLS 1.2 handshake line"
grep -q "not decrypted (no key)" decode.txt || fail "--decode: the connection without keys says nothing"
grep -q "\[http\] GET /big.bin" decode.txt || fail "--decode: no decoded HTTP request inside TLS"
ok

# ---------------------------------------------------------------- key log problems, embedded secrets
{ echo "# comment"; echo "NOT_A_LABEL 00 11"; echo "CLIENT_RANDOM zz"; cat allkeys.log; } >badkeys.log
"$TCPSCRIBE" -r cap.pcap --tls-keylog badkeys.log --report rb.jsonl 2>bad.err \
    || fail "bad key log lines were fatal: $(cat bad.err)"
grep -q "2 lines did not parse" bad.err || fail "bad lines not reported: $(cat bad.err)"
[ "$(grep -c '"decrypted":true' rb.jsonl)" -eq 4 ] || fail "with bad lines, not 4 decrypted"
ok
"$TCPSCRIBE" -r cap.pcap --tls-keylog "$T/nonexistent.log" -c >/dev/null 2>missing.err
rc=$?
[ $rc -eq 2 ] || fail "missing key log: exit $rc, want 2"
[ "$(wc -l <missing.err)" -eq 1 ] && grep -q "nonexistent.log" missing.err \
    || fail "missing key log: not one line naming it: $(cat missing.err)"
ok
editcap --inject-secrets "tls,$T/allkeys.log" cap.pcap secrets.pcapng 2>editcap.err \
    || fail "editcap --inject-secrets: $(cat editcap.err)"
"$TCPSCRIBE" -r secrets.pcapng -o out_dsb -e http --report rd.jsonl 2>dsb.err || fail "pcapng with secrets: $(cat dsb.err)"
[ "$(grep -c '"decrypted":true' rd.jsonl)" -eq 4 ] || fail "pcapng with secrets: not 4 decrypted"
cmp -s "$(ls out/*-TLS | head -1)" "out_dsb/$(basename "$(ls out/*-TLS | head -1)")" \
    || fail "pcapng with secrets: FLOW-TLS differs from the one with --tls-keylog"
ok

# ---------------------------------------------------------------- live: keys written while it runs
rm -f live_keys.log
"$TCPSCRIBE" -i lo --tls-keylog "$T/live_keys.log" -o live_out -e http --report live.jsonl \
    "tcp port $PYPORT" 2>live.err &
LIVE_PID=$!
wait_line live.err "does not exist yet" || fail "live: no note about the key log to come: $(cat live.err)"
sleep 1
SSLKEYLOGFILE=$T/live_keys.log curl -sS -k --http1.1 --resolve "$(resolve "$PYPORT")" \
    -o dl/live.bin "$(url "$PYPORT" big.bin)" || fail "live curl"
# Certainly late: this connection is over before its keys reach the file.
SSLKEYLOGFILE=$T/late_side.log curl -sS -k --http1.1 --resolve "$(resolve "$PYPORT")" \
    --data-binary @upload.bin -o dl/late.txt "$(url "$PYPORT" upload)" || fail "live curl (late keys)"
sleep 1.5
cat late_side.log >>live_keys.log
sleep 2.5   # past the next key log read
kill -INT "$LIVE_PID"
wait "$LIVE_PID"; rc=$?; LIVE_PID=
[ $rc -eq 0 ] || fail "live tcpscribe exit $rc: $(cat live.err)"
for f in www/big.bin upload.bin; do
    want=$(sha256sum <"$f" | cut -d' ' -f1)
    found=
    for b in live_out/*-HTTPBODY-*; do
        [ -f "$b" ] && [ "$(sha256sum <"$b" | cut -d' ' -f1)" = "$want" ] && found=$b
    done
    [ -n "$found" ] || fail "live: $f did not come out whole: $(ls -l live_out) $(cat live.jsonl)"
done
[ "$(grep -c '"decrypted":true,"why_not":null' live.jsonl)" -eq 2 ] \
    || fail "live: not both decrypted: $(cat live.jsonl)"
ok

log "$checks checks passed (python3 ssl TLS 1.3 + openssl s_server TLS 1.2, curl and s_client key logs, tshark witness, pcapng secrets, live late keys)"
