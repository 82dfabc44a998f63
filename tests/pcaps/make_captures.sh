#!/usr/bin/env bash
# Regenerates the small captures in this folder from real programs on
# loopback (run as root; needs tcpdump, curl, python3, redis-server,
# redis-cli). The captures are committed; this documents how they were made.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

capture() {  # capture FILE FILTER -- command...
  local out=$1 filter=$2; shift 3
  tcpdump -i lo -U -s 0 -w "$out" "$filter" 2>/dev/null & local tp=$!
  sleep 1
  "$@"
  sleep 1
  kill -INT $tp; wait $tp || true
}

# HTTP/1.1 keep-alive: two GETs on one connection, then a HEAD and a 404.
printf 'hello from tcpscribe\n' > "$work/hello.txt"
head -c 3000 /dev/zero | tr '\0' 'x' > "$work/x3000.txt"
(cd "$work" && exec python3 -m http.server 18080 --bind 127.0.0.1 --protocol HTTP/1.1) >/dev/null 2>&1 &
pids+=($!)
sleep 1
capture http_keepalive_lo.pcap 'tcp port 18080' -- \
  curl -s -o /dev/null -o /dev/null http://127.0.0.1:18080/hello.txt http://127.0.0.1:18080/x3000.txt
capture http_head_404_lo.pcap 'tcp port 18080' -- bash -c \
  'curl -s -I -o /dev/null http://127.0.0.1:18080/hello.txt; curl -s -o /dev/null http://127.0.0.1:18080/missing'

# The same over IPv6 loopback.
(cd "$work" && exec python3 -m http.server 18081 --bind ::1 --protocol HTTP/1.1) >/dev/null 2>&1 &
pids+=($!)
sleep 1
capture http_ipv6_lo.pcap 'tcp port 18081' -- curl -s -o /dev/null -g 'http://[::1]:18081/hello.txt'

# Redis: a few commands from redis-cli.
redis-server --port 16379 --save '' --appendonly no --daemonize no >/dev/null 2>&1 &
pids+=($!)
sleep 1
capture redis_cli_lo.pcap 'tcp port 16379' -- bash -c \
  'redis-cli -p 16379 SET greeting "hello world" >/dev/null; redis-cli -p 16379 GET greeting >/dev/null; redis-cli -p 16379 INCR counter >/dev/null'

# A refused connection (RST answering the SYN).
capture refused_lo.pcap 'tcp port 18099' -- bash -c 'curl -s http://127.0.0.1:18099/ || true'
