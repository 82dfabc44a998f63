#!/usr/bin/env bash
# Integration test: the analyzer seam chooses by the first bytes, not by
# the port (src/analyzers/dispatcher.h).
#
#   tests/integration/analyzer_probe.sh /path/to/tcpscribe
#
# python3's http.server listens on a free port no hint names, and
# redis-server on a port the HTTP analyzer's hint names (8080, or the next
# free one of 8888 3128 8008 8000). curl fetches two files on one
# connection, redis-cli talks RESP, tcpdump captures loopback. Then:
#   - --messages has exactly the two HTTP exchanges (HTTP recognised on a
#     port without hint), none for Redis (not misparsed on an HTTP port);
#   - no HTTP finding or body file about the Redis connection;
#   - -c --decode shows the HTTP messages decoded and Redis raw;
#   - -e with an unknown name, --decode without -c: one line, exit 1.
# Exit 0 = pass, 1 = fail, 77 = skip.
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo)"
for c in curl python3 tcpdump redis-server redis-cli; do
  command -v $c >/dev/null || skip "$c is missing (scripts/install.sh installs it)"
done
port_free() { python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',$1))" 2>/dev/null; }
hp=$(free_port)
rp=
for p in 8080 8888 3128 8008 8000; do port_free "$p" && { rp=$p; break; }; done
[ -n "$rp" ] || skip "every port the HTTP hint names is in use"
mkdir -p "$tmp/www"
echo "first file" >"$tmp/www/a.txt"
seq 1 500 >"$tmp/www/b.txt"
(cd "$tmp/www" && exec python3 -m http.server --bind 127.0.0.1 "$hp") >"$tmp/http.log" 2>&1 &
pids+=($!)
redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_port "$hp" || skip "http.server did not start on $hp"
wait_port "$rp" || skip "redis-server did not start on $rp"

tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -w "$tmp/cap.pcap" \
  "tcp and host 127.0.0.1 and (port $hp or port $rp)" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 100); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.05; done
grep -q "listening on" "$tmp/tcpdump.err" || skip "tcpdump did not start: $(cat "$tmp/tcpdump.err")"
env -u http_proxy -u HTTP_PROXY curl -sS --noproxy '*' -o /dev/null "http://127.0.0.1:$hp/a.txt" \
  -o /dev/null "http://127.0.0.1:$hp/b.txt" || bad "curl failed"
redis-cli -p "$rp" set greeting "GET / HTTP/1.1" >/dev/null || bad "redis-cli set failed"
redis-cli -p "$rp" get greeting >/dev/null || bad "redis-cli get failed"
sleep 0.3
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null

# --messages: the two HTTP exchanges, nothing from Redis.
"$bin" -r "$tmp/cap.pcap" -e http --messages "$tmp/m.jsonl" -o "$tmp/out" 2>"$tmp/err" \
  || bad "tcpscribe --messages exited $?: $(cat "$tmp/err")"
python3 - "$tmp/m.jsonl" "$hp" <<'PY' || bad "--messages is not the two HTTP exchanges"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
got = [(m["proto"], m["method"], m["target"], m["status"], m["error"]) for m in lines]
want = [("http", "GET", "/a.txt", 200, None), ("http", "GET", "/b.txt", 200, None)]
if got != want:
    print("got", got); sys.exit(1)
PY
grep -i "stream at offset\|http" "$tmp/err" && bad "HTTP findings on stderr (Redis parsed as HTTP?)"
ls "$tmp/out" | grep -- "-HTTPBODY-" | grep -v "\.0*$hp-\|\.0*$hp-HTTPBODY" | grep "$rp" \
  && bad "body files for the Redis connection"
[ "$(ls "$tmp/out" | grep -c -- "-HTTPBODY-")" = 2 ] || bad "expected 2 body files: $(ls "$tmp/out")"

# -c --decode: HTTP decoded, Redis raw.
"$bin" -r "$tmp/cap.pcap" -c --decode --color=never >"$tmp/decode.txt" 2>"$tmp/err2" \
  || bad "tcpscribe -c --decode exited $?"
grep -q "\[http\] GET /a.txt$" "$tmp/decode.txt" || bad "no decoded request line"
grep -q "\[http\] 200 OK (+" "$tmp/decode.txt" || bad "no decoded answer with its latency"
grep -q "Content-Length: 11" "$tmp/decode.txt" || bad "headers of the first answer missing"
grep -q 'greeting' "$tmp/decode.txt" || bad "Redis bytes not shown raw"
grep -q '\[http\] GET / HTTP' "$tmp/decode.txt" && bad "the Redis value was decoded as HTTP"

# Errors a user can hit.
out=$("$bin" -r "$tmp/cap.pcap" -e bogus -c 2>&1); rc=$?
[ $rc = 1 ] || bad "-e bogus exited $rc"
# The registry's names in its order (http first, tls among them), then all.
grep -qxE "tcpscribe: -e: unknown analyzer 'bogus' \(known: http(, [a-z0-9]+)*, all\)" <<<"$out" \
    && grep -q ", tls," <<<"$out" || bad "-e bogus said: $out"
out=$("$bin" -r "$tmp/cap.pcap" --decode 2>&1); rc=$?
[ $rc = 1 ] || bad "--decode without -c exited $rc"
grep -q -- "--decode shows decoded messages on the console: add -c" <<<"$out" || bad "--decode without -c said: $out"

[ $fail = 0 ] && echo "analyzer_probe: ok (http on $hp, redis on $rp)"
exit $((fail > 0))
