#!/usr/bin/env bash
# tcpscribe replay against python3's http.server, with curl as the client:
# recorded through `tcpscribe proxy` (netrecord logs) and by tcpdump on lo
# (a capture, replayed with -r and a BPF filter). Both replays must make the
# server send the same answers once `--ignore 'Date: [^\r]*'` masks the
# date, and without the mask --compare must point inside the Date header.
# The IPv6 target syntax ([::1]:PORT) is checked against a second server.
# Usage: replay_http.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"
expect_eq() { [ "$2" == "$3" ] || bad "$1: got [$2], want [$3]"; }

grep -q -- --response-timeout <<<"$("$bin" replay --help 2>&1)" || skip "this tcpscribe has no replay mode"
grep -q -- --forward <<<"$("$proxy_bin" proxy --help 2>&1)" || skip "this tcpscribe has no proxy mode"
[ "$(id -u)" -eq 0 ] || skip "needs root for tcpdump -i lo"
for c in curl tcpdump python3; do command -v $c >/dev/null || skip "$c is missing"; done

hport=$(free_port) pp=$(free_port)
mkdir -p "$tmp/www"
printf 'hello from the server\n' >"$tmp/www/a.txt"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 64)' >"$tmp/www/b.bin"
(cd "$tmp/www" && exec python3 -m http.server "$hport" --bind 127.0.0.1) >"$tmp/http.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$hport" || skip "http.server did not start"

# --- Record through the proxy: two requests, each its own connection.
mkdir -p "$tmp/logs"
"$proxy_bin" proxy --listen "127.0.0.1:$pp" --forward "127.0.0.1:$hport" --log-root "$tmp/logs/http" -q \
  >"$tmp/proxy.out" 2>&1 &
proxy_pid=$!
pids+=($proxy_pid)
wait_port 127.0.0.1 "$pp" || { echo "FAIL: the proxy did not start: $(cat "$tmp/proxy.out")"; exit 1; }
rm -f "$tmp"/logs/http_*   # the probe's log
curl -s -o "$tmp/a.out" "http://127.0.0.1:$pp/a.txt" || bad "curl a.txt through the proxy"
curl -s -o "$tmp/b.out" "http://127.0.0.1:$pp/b.bin" || bad "curl b.bin through the proxy"
cmp -s "$tmp/b.out" "$tmp/www/b.bin" || bad "b.bin through the proxy"
sleep 0.3
kill "$proxy_pid"
logs=$(ls "$tmp"/logs/http_* | sort -t_ -k2 -n)
expect_eq "proxy logs" "$(echo "$logs" | wc -l)" "2"

# --- Record from a capture: the same two requests, curl straight to the server.
tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -w "$tmp/cap.pcap" "tcp port $hport" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 100); do grep -qs 'listening on' "$tmp/tcpdump.err" && break; sleep 0.05; done
curl -s -o /dev/null "http://127.0.0.1:$hport/a.txt" || bad "curl a.txt"
curl -s -o /dev/null "http://127.0.0.1:$hport/b.bin" || bad "curl b.bin"
sleep 0.5
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null

sleep 1.1  # so that the replayed Date headers differ from the recorded ones

# --- Replay the logs: same once the date is masked.
# shellcheck disable=SC2086
"$bin" replay $logs --target "127.0.0.1:$hport" --compare --ignore 'Date: [^\r]*' \
  >"$tmp/r1.out" 2>"$tmp/r1.err"
expect_eq "logs: exit" "$?" "0"
expect_eq "logs: output" "$(cat "$tmp/r1.out")" "$(for l in $logs; do echo "$l: same"; done)"
grep -q "^tcpscribe replay: 2 connections to 127.0.0.1:$hport: 2 completed, 0 failed; sent [0-9]* bytes, received [0-9]* in .*; 2 same, 0 differ\$" \
  "$tmp/r1.err" || bad "logs: summary: $(cat "$tmp/r1.err")"

# --- Without the mask, the first difference is inside the Date header.
first=$(echo "$logs" | head -1)
"$bin" replay "$first" --target "127.0.0.1:$hport" --compare >"$tmp/r2.out" 2>"$tmp/r2.err"
expect_eq "no mask: exit" "$?" "5"
off=$(sed -n 's/.*differs at byte \([0-9]*\) of the recorded answer.*/\1/p' "$tmp/r2.out")
python3 - "$first" "${off:-x}" <<'PY' || bad "no mask: the difference is not in the Date header: $(cat "$tmp/r2.out")"
import sys
d = open(sys.argv[1], "rb").read(); i = 0; s = b""
while i < len(d):
    nl = d.index(b"\n", i); side, _, what = d[i:nl].split(b" "); i = nl + 1
    if what.isdigit():
        if side == b"s": s += d[i:i + int(what)]
        i += int(what)
start = s.index(b"\r\nDate: ") + 8; end = s.index(b"\r\n", start)
off = int(sys.argv[2])
assert start <= off < end, (start, off, end)
PY

# --- Replay the capture, filtered to the server's port: same.
"$bin" replay -r "$tmp/cap.pcap" tcp port "$hport" --target "127.0.0.1:$hport" --compare \
  --ignore 'Date: [^\r]*' >"$tmp/r3.out" 2>"$tmp/r3.err"
expect_eq "capture: exit" "$?" "0"
expect_eq "capture: same" "$(grep -c "^$tmp/cap.pcap 127.0.0.1:[0-9]*-127.0.0.1:$hport: same\$" "$tmp/r3.out")" "2"
expect_eq "capture: lines" "$(wc -l <"$tmp/r3.out")" "2"
expect_eq "capture: stderr is the summary alone" "$(wc -l <"$tmp/r3.err")" "1"
# A filter that matches nothing: one line, exit 2.
"$bin" replay -r "$tmp/cap.pcap" tcp port 1 --target "127.0.0.1:$hport" >/dev/null 2>"$tmp/r4.err"
expect_eq "capture, no match: exit" "$?" "2"
expect_eq "capture, no match: stderr" "$(cat "$tmp/r4.err")" "tcpscribe replay: no TCP connection in the capture matches"

# --- The same logs against an IPv6 server, target written [::1]:PORT.
if [ -e /proc/net/if_inet6 ] && python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
  h6=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1])')
  (cd "$tmp/www" && exec python3 -m http.server "$h6" --bind ::1) >"$tmp/http6.log" 2>&1 &
  pids+=($!)
  wait_port ::1 "$h6" || bad "the IPv6 http.server did not start"
  "$bin" replay $logs --target "[::1]:$h6" --compare --ignore 'Date: [^\r]*' >"$tmp/r5.out" 2>"$tmp/r5.err"
  expect_eq "IPv6: exit" "$?" "0"
  expect_eq "IPv6: output" "$(cat "$tmp/r5.out")" "$(for l in $logs; do echo "$l: same"; done)"
else
  echo "no IPv6 loopback: [::1] target not checked"
fi

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
