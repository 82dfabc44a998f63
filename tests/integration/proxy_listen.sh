#!/usr/bin/env bash
# `proxy --listen :PORT` means every interface, IPv6 and IPv4 alike: curl
# reaches python3's http.server through it at 127.0.0.1 and at [::1], and
# the IPv4 client is reported as 127.0.0.1 (not ::ffff:127.0.0.1) in the
# console and --report; `0.0.0.0:PORT` stays IPv4 alone.
# Usage: proxy_listen.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"
expect_eq() { [ "$2" == "$3" ] || bad "$1: got [$2], want [$3]"; }

for c in curl python3; do command -v $c >/dev/null || skip "$c is missing"; done
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null \
  || skip "no IPv6 loopback here"
hport=$(free_port)
mkdir -p "$tmp/www" && echo hi >"$tmp/www/a.txt"
(cd "$tmp/www" && exec python3 -m http.server "$hport" --bind 127.0.0.1) >"$tmp/http.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$hport" || skip "http.server did not start"

p=$(free_port)
"$proxy_bin" proxy --listen ":$p" --forward "127.0.0.1:$hport" --report "$tmp/r.jsonl" >"$tmp/p.out" 2>&1 &
pp=$!
pids+=($pp)
wait_port 127.0.0.1 "$p" || { bad "the proxy did not start: $(cat "$tmp/p.out")"; exit 1; }
grep -q "listening on \[::\]:$p," "$tmp/p.out" || bad "listen line: $(head -2 "$tmp/p.out")"
expect_eq "IPv4 client" "$(curl -s "http://127.0.0.1:$p/a.txt")" "hi"
expect_eq "IPv6 client" "$(curl -s "http://[::1]:$p/a.txt")" "hi"
sleep 0.3
kill $pp; wait $pp 2>/dev/null
grep -q '^\[sid=0002\] open 127\.0\.0\.1:[0-9]* -> ' "$tmp/p.out" || bad "console: IPv4 client: $(cat "$tmp/p.out")"
grep -q '^\[sid=0003\] open \[::1\]:[0-9]* -> ' "$tmp/p.out" || bad "console: IPv6 client: $(cat "$tmp/p.out")"
python3 - "$tmp/r.jsonl" <<'PY' || bad "report: $(cut -c1-150 "$tmp/r.jsonl")"
import json, sys
ips = [json.loads(l).get("client_ip") for l in open(sys.argv[1]) if '"client_ip"' in l]
assert "127.0.0.1" in ips and "::1" in ips and not any(i.startswith("::ffff:") for i in ips), ips
PY

# 0.0.0.0:PORT: IPv4 only, as asked.
p=$(free_port)
"$proxy_bin" proxy --listen "0.0.0.0:$p" --forward "127.0.0.1:$hport" -q >"$tmp/p2.out" 2>&1 &
pp=$!
pids+=($pp)
wait_port 127.0.0.1 "$p" || bad "the IPv4 proxy did not start: $(cat "$tmp/p2.out")"
expect_eq "0.0.0.0: IPv4 client" "$(curl -s "http://127.0.0.1:$p/a.txt")" "hi"
curl -s -m 3 "http://[::1]:$p/a.txt" >/dev/null && bad "0.0.0.0: an IPv6 client got in"

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
