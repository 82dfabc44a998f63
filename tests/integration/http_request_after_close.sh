#!/usr/bin/env bash
# Integration test: a client that writes a second request on a connection
# the server already closed must be reported (issue 4's motivating case).
#
#   tests/integration/http_request_after_close.sh /path/to/tcpscribe
#   tests/integration/http_request_after_close.sh --write-pcap FILE
#
# Exit 0 = pass, 1 = fail (reason printed), 77 = skip (reason printed).
#
# A python3 server on 127.0.0.1 answers one request with
# "Connection: close" and closes the socket (FIN); the python3 client reads
# the answer, waits 0.12 s and sends a second request on the same socket;
# the server's kernel answers with RST. tcpdump captures it on lo, then
# `tcpscribe -r cap.pcap -o out -e http --har h.har` must report the
# request as sent after the server closed its side and never answered, and
# the HAR must hold both requests, the second without a response.
# With --write-pcap, only the capture is made (that is how
# tests/pcaps/http_request_after_close.pcap was made).

set -u -o pipefail

T=
TCPDUMP_PID=
log()  { echo "http_request_after_close: $*"; }
skip() { echo "SKIP: http_request_after_close: $*"; exit 77; }
fail() { echo "FAIL: http_request_after_close: $*"; exit 1; }

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null
    wait 2>/dev/null
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "${TSC_KEEP_TMP:-0}" = 1 ]; then log "kept temp dir $T"; else rm -rf "$T"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

TCPSCRIBE=
WRITE_PCAP=
if [ "${1:-}" = --write-pcap ]; then
    WRITE_PCAP=${2:-}
    [ -n "$WRITE_PCAP" ] || fail "usage: $0 --write-pcap FILE"
else
    TCPSCRIBE=${1:-}
    [ -n "$TCPSCRIBE" ] || fail "usage: $0 /path/to/tcpscribe"
    [ -x "$TCPSCRIBE" ] || fail "tcpscribe binary '$TCPSCRIBE' is missing or not executable"
    TCPSCRIBE=$(cd "$(dirname "$TCPSCRIBE")" && pwd)/$(basename "$TCPSCRIBE")
    help_text=$("$TCPSCRIBE" --help 2>&1)  # not piped into grep -q: pipefail + SIGPIPE
grep -q -- '--har' <<<"$help_text" \
        || skip "tcpscribe --help does not list --har (HTTP analysis not wired in yet)"
fi
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo)"
# shellcheck source=lib/require_tools.sh
. "$(dirname "$0")/lib/require_tools.sh"
require_tools python3 tcpdump

T=$(mktemp -d /tmp/tsc-http-close.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"

cat >"$T/reuse.py" <<'PY'
import socket, sys, threading, time
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
open(sys.argv[1], "w").write(str(port))
ready = threading.Event()
go = threading.Event()
def serve():
    c, _ = srv.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        data += c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n"
              b"Connection: close\r\n\r\nhello\n")
    c.close()  # FIN; the second request will meet a RST
# Wait for tcpdump (the shell creates the go file).
while not __import__("os").path.exists(sys.argv[2]):
    time.sleep(0.02)
t = threading.Thread(target=serve)
t.start()
cl = socket.create_connection(("127.0.0.1", port))
host = b"127.0.0.1:%d" % port
cl.sendall(b"GET /first HTTP/1.1\r\nHost: " + host + b"\r\nUser-Agent: reuse-client/1.0\r\n\r\n")
resp = b""
while not resp.endswith(b"hello\n"):
    resp += cl.recv(4096)
t.join()
time.sleep(0.12)
cl.sendall(b"GET /second HTTP/1.1\r\nHost: " + host + b"\r\nUser-Agent: reuse-client/1.0\r\n\r\n")
time.sleep(0.2)
cl.close()
srv.close()
PY
python3 "$T/reuse.py" "$T/port" "$T/go" >"$T/py.log" 2>&1 &
PY_PID=$!
for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.02; done
[ -s "$T/port" ] || fail "python3 did not start: $(cat "$T/py.log")"
PORT=$(cat "$T/port")

# --immediate-mode: without it some kernels hand tcpdump nothing before it exits.
tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -Z root -w "$T/cap.pcap" "tcp port $PORT" \
    2>"$T/tcpdump.err" &
TCPDUMP_PID=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$T/tcpdump.err" 2>/dev/null && break
    kill -0 "$TCPDUMP_PID" 2>/dev/null || fail "tcpdump died: $(cat "$T/tcpdump.err")"
    sleep 0.05
done
touch "$T/go"
wait "$PY_PID" || fail "the python3 client/server failed: $(cat "$T/py.log")"
sleep 0.2
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" 2>/dev/null
TCPDUMP_PID=

if [ -n "$WRITE_PCAP" ]; then
    cp "$T/cap.pcap" "$WRITE_PCAP" || fail "cannot write $WRITE_PCAP"
    log "wrote $WRITE_PCAP ($(stat -c %s "$WRITE_PCAP") bytes)"
    exit 0
fi

(cd "$T" && "$TCPSCRIBE" -r cap.pcap -o out -e http --har h.har) >"$T/run.out" 2>"$T/run.err" \
    || fail "tcpscribe failed: $(tail -3 "$T/run.err")"
want='request 2 \(GET /second, 77 bytes\) was sent 0\.1[0-9][0-9] s after the server closed its side \(FIN\) and after response 1 said "Connection: close"; the server answered with RST; it was never answered'
grep -Eq "$want" "$T/run.out" "$T/run.err" \
    || fail "no finding for the request after close; output was:
$(cat "$T/run.out" "$T/run.err" | head -20)"
got=$(python3 - "$T/h.har" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1]))["log"]["entries"]
print(" ".join(f"{e['request']['url'].split('/', 3)[3]}:{e['response']['status']}" for e in entries))
PY
) || fail "HAR does not load: $got"
[ "$got" = "first:200 second:0" ] || fail "HAR entries: $got (expected first:200 second:0)"
log "PASS"
exit 0
