#!/usr/bin/env bash
# Regenerates the HTTP/2 captures in this folder from real programs on
# loopback (run as root; needs tcpdump, curl, nghttpd, nghttp, nghttpx and
# Debian's python3-grpcio: `bash scripts/install.sh tcpdump curl
# nghttp2-server nghttp2-client nghttp2-proxy python3-grpcio`). nghttpd
# speaks h2c with prior knowledge only; nghttpx (in front of python's
# http.server) answers "Upgrade: h2c" with 101.
# The captures are committed (the golden cases use them); this documents
# how they were made. The served files are made here, deterministic.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

capture() {  # capture FILE FILTER -- command... (tcpdump stopped even if the command fails)
  local out=$1 filter=$2; shift 3
  tcpdump -i lo -U -s 0 -w "$out" "$filter" 2>/dev/null & local tp=$!
  sleep 1
  "$@" || { kill -INT $tp; wait $tp; return 1; }
  sleep 1
  kill -INT $tp; wait $tp || true
}

mkdir -p "$work/www"
printf 'hello over HTTP/2\n' > "$work/www/hello.txt"
for i in $(seq 1 120); do printf 'line %03d of a text served over h2c\n' "$i"; done > "$work/www/lines.txt"
port=18443
nghttpd --no-tls -d "$work/www" $port >/dev/null 2>&1 &
pids+=($!)
sleep 1
u=http://127.0.0.1:$port

# Prior knowledge: two files and a 404, a connection each (curl 7.88 does
# not reuse an h2c connection for a second URL).
capture h2c_prior_lo.pcap "tcp port $port" -- bash -c \
  "curl -s --http2-prior-knowledge -o /dev/null $u/hello.txt &&
   curl -s --http2-prior-knowledge -o /dev/null $u/lines.txt &&
   curl -s --http2-prior-knowledge -o /dev/null $u/missing.txt"
# HTTP/1.1 "Upgrade: h2c" answered 101: stream 1 is the upgraded request.
(cd "$work/www" && exec python3 -m http.server 18445 --bind 127.0.0.1) >/dev/null 2>&1 &
pids+=($!)
nghttpx --frontend='127.0.0.1,18444;no-tls' --backend='127.0.0.1,18445' --workers=1 \
  --log-level=ERROR --errorlog-file=/dev/null >/dev/null 2>&1 &
pids+=($!)
sleep 1
capture h2c_upgrade_lo.pcap "tcp port 18444" -- curl -s --http2 -o /dev/null http://127.0.0.1:18444/lines.txt
# Eight concurrent streams on one connection (each file four times).
capture h2c_concurrent_lo.pcap "tcp port $port" -- \
  nghttp -n -m 4 "$u/hello.txt" "$u/lines.txt"

# gRPC (python3-grpcio, generic handlers, no generated code): a unary call,
# a server-streaming call (three messages) and a call failing NOT_FOUND.
/usr/bin/python3 "$(pwd)/grpc_peer.py" serve 18446 &
pids+=($!)
sleep 2
capture grpc_lo.pcap "tcp port 18446" -- /usr/bin/python3 "$(pwd)/grpc_peer.py" call 18446
