#!/usr/bin/env bash
# A console nobody reads never blocks forwarding: the proxy's stdout is a
# pipe whose reader never reads (`| less` left unscrolled). Before, the
# console's write() blocked the event loop once the pipe was full and every
# client hung; now 60 curl downloads of 200 KB each (about 12 MB of text
# view) complete byte-exact while the view drops what it cannot hold, the
# netrecord logs are complete, and at SIGTERM the proxy exits at once with
# one line on stderr counting the records not shown.
# Usage: proxy_stuck_console.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in curl python3; do command -v $c >/dev/null || skip "$c is missing"; done
hport=$(free_port) pp=$(free_port)
mkdir -p "$tmp/www" "$tmp/out"
head -c 200000 /dev/urandom >"$tmp/www/blob.bin"
(cd "$tmp/www" && exec python3 -m http.server "$hport" --bind 127.0.0.1) >"$tmp/http.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$hport" || skip "http.server did not start"

# The reader: holds the pipe open and never reads.
mkfifo "$tmp/view"
sleep 120 <"$tmp/view" &
pids+=($!)
"$proxy_bin" proxy --listen "127.0.0.1:$pp" --forward "127.0.0.1:$hport" --log-root "$tmp/log" \
  >"$tmp/view" 2>"$tmp/err" &
proxy=$!
pids+=($proxy)
wait_port 127.0.0.1 "$pp" || { bad "the proxy did not start: $(cat "$tmp/err")"; exit 1; }

t0=$(date +%s)
ok=0
for i in $(seq 60); do
  timeout 20 curl -s -o "$tmp/out/$i" "http://127.0.0.1:$pp/blob.bin" && cmp -s "$tmp/out/$i" "$tmp/www/blob.bin" \
    && ok=$((ok + 1))
done
took=$(($(date +%s) - t0))
[ "$ok" -eq 60 ] || bad "only $ok of 60 downloads came through whole (in ${took}s)"
[ "$took" -lt 40 ] || bad "60 downloads took ${took}s"

t1=$(date +%s)
kill -TERM $proxy
for _ in $(seq 100); do kill -0 $proxy 2>/dev/null || break; sleep 0.1; done
kill -0 $proxy 2>/dev/null && bad "the proxy did not exit within 10 s of SIGTERM"
wait $proxy 2>/dev/null
echo "exit after $(($(date +%s) - t1))s"
grep -q "^tcpscribe proxy: console fell behind: [0-9]* records ([0-9]* bytes) were not shown; the logs and other outputs are complete\$" \
  "$tmp/err" || bad "no line about the console: $(cat "$tmp/err")"

# Every log holds its whole download (the probe's log aside).
n=0
for l in "$tmp"/log_*; do
  bytes=$("$proxy_bin" proxy --inspect "$l" | sed -n 's/.*; s: [0-9]* chunks \([0-9]*\) bytes.*/\1/p')
  [ "${bytes:-0}" -gt 200000 ] && n=$((n + 1))
done
[ "$n" -eq 60 ] || bad "$n logs hold a whole answer, want 60"

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
