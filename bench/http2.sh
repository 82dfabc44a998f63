#!/usr/bin/env bash
# HTTP/2 benchmark: tcpscribe -e http2 against tshark's http2 dissector on
# the same h2load capture, in the same run.
#
#   bench/http2.sh [path/to/tcpscribe]     (default build/tcpscribe; as root)
#
# nghttpd (--no-tls) serves a 2,000-byte random file; h2load makes N
# requests (BENCH_H2_REQUESTS, default 5000) on 2 connections with 10
# concurrent streams each while tcpdump (-B 262144, so that loopback bursts
# are not dropped) captures. Then, best of 3 each:
#   tcpscribe -r cap -FX -q -e http2 --messages m.jsonl
#   tcpscribe -r cap -o out -e http2 --messages m.jsonl   (bodies too)
#   tshark -r cap -d tcp.port==PORT,http2 -Y http2
# with wall time and peak RSS from /usr/bin/time. tcpscribe's records must
# be N streams answered 200 with 2,000 body bytes, and with -o every body
# file must equal the served file.
set -euo pipefail
TCPSCRIBE=$(realpath "${1:-build/tcpscribe}")
N=${BENCH_H2_REQUESTS:-5000}
bash "$(dirname "$0")/../scripts/install.sh" nghttp2-server nghttp2-client tcpdump tshark time
T=$(mktemp -d /tmp/tcpscribe-bench-h2.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/www"
head -c 2000 /dev/urandom > "$T/www/two.bin"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nghttpd --no-tls -d "$T/www" "$PORT" >/dev/null 2>&1 & pids+=($!)
sleep 0.5
tcpdump -i lo -U -B 262144 -s 0 -w "$T/cap.pcap" "tcp port $PORT" 2>/dev/null & tp=$!
sleep 1
h2load -n "$N" -c 2 -m 10 "http://127.0.0.1:$PORT/two.bin" | grep -E '^status codes'
sleep 1
kill -INT $tp; wait $tp || true
echo "capture: $(stat -c %s "$T/cap.pcap") bytes, $N requests"

best() {  # best LABEL -- command: best wall and largest RSS of 3 runs
  local label=$1; shift 2
  local w r bw=999999 br=0
  for _ in 1 2 3; do
    rm -rf "$T/out"; mkdir -p "$T/out"
    /usr/bin/time -o "$T/time" -f '%e %M' "$@" >/dev/null 2>&1
    read -r w r < "$T/time"
    bw=$(awk -v a="$w" -v b="$bw" 'BEGIN{print (a<b)?a:b}')
    [ "$r" -gt "$br" ] && br=$r
  done
  printf '%-40s %6s s %7d MB\n' "$label" "$bw" $((br / 1024))
}
best "tshark -Y http2" -- tshark -r "$T/cap.pcap" -d "tcp.port==$PORT,http2" -Y http2
best "tcpscribe -e http2 --messages" -- "$TCPSCRIBE" -r "$T/cap.pcap" -FX -q -e http2 --messages "$T/m.jsonl"
best "tcpscribe -o -e http2 --messages" -- "$TCPSCRIBE" -r "$T/cap.pcap" -o "$T/out" -e http2 --messages "$T/m.jsonl"
python3 - "$T" "$N" <<'PY'
import json, os, sys
t, n = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(os.path.join(t, "m.jsonl"))]
ok = sum(1 for r in recs if r["status"] == 200 and r["response_body_bytes"] == 2000 and r["error"] is None)
served = open(os.path.join(t, "www", "two.bin"), "rb").read()
bodies = [f for f in os.listdir(os.path.join(t, "out")) if "-HTTPBODY-" in f]
same = sum(1 for f in bodies if open(os.path.join(t, "out", f), "rb").read() == served)
print(f"tcpscribe: {len(recs)} records, {ok} answered 200 with 2000 bytes; {same} of {len(bodies)} body files equal the served file")
sys.exit(0 if ok == n and same == n else 1)
PY
