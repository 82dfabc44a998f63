#!/usr/bin/env bash
# --stats on a real terminal (a tmux pane, 120 x 40) and --stats-json, in
# front of a python3 http.server on loopback, traffic from curl and a
# client that holds a connection open:
#  - the panel (top 20 rows) shows the totals, the curl session among the
#    recently closed with the bytes curl sent and got, and the open
#    session's row with its 24 bytes; the console's log lines (--no-dump:
#    one line per chunk, so they fit the 20 rows below) are whole there,
#    and no panel text is among them;
#  - Ctrl-C ends the proxy and gives the terminal back: 30 lines printed
#    afterwards scroll the whole screen (the panel with them);
#  - the JSON lines parse, and their closed sessions carry exactly the
#    bytes curl sent and received, the held session its 24 bytes;
#  - stderr not a terminal: --stats says so once; --stats-json still works;
#  - passive live capture (-i lo): --stats-json counts the same exchange
#    per connection.
# Usage: stats_panel.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in python3 curl tmux; do command -v $c >/dev/null || skip "$c is missing"; done
sock="tcpscribe-stats-$$"
tm() { tmux -L "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null; cleanup' EXIT

mkdir "$tmp/www"
head -c 5000 /dev/zero | tr '\0' 'x' >"$tmp/www/data.txt"
up=$(free_port)
(cd "$tmp/www" && exec python3 -m http.server --bind 127.0.0.1 "$up") >"$tmp/http.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$up" || skip "python3 http.server did not start"

# hold PORT SECONDS: a client that sends an unfinished request line (24
# bytes) and keeps the connection open.
hold() {
  python3 -c 'import socket,sys,time
s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.sendall(b"GET /data.txt HTTP/1.0\r\n")
time.sleep(float(sys.argv[2]))' "$1" "$2" &
  pids+=($!)
}

# ---------------------------------------------------------------- 1. the panel in tmux
p=$(free_port)
cmd=$(printf '%q ' "$proxy_bin" proxy -l "127.0.0.1:$p" -f "127.0.0.1:$up" --drain 0.5 \
  --no-dump --stats --stats-json "$tmp/stats.json")
tm new-session -d -x 120 -y 40 -s t "bash -c '$cmd; echo PROXY-EXITED \$?; for i in \$(seq 1 30); do echo after-\$i; done; sleep 60'"
tm set-option -t t remain-on-exit on >/dev/null
# Not wait_port: its probe would be a session of its own.
for _ in $(seq 100); do tm capture-pane -p -t t | grep -q '\[proxy\] listening on' && break; sleep 0.05; done
tm capture-pane -p -t t | grep -q '\[proxy\] listening on' || { bad "the proxy did not start: $(tm capture-pane -p -t t)"; exit 1; }
sizes=$(curl -s -o "$tmp/got" -w '%{size_request} %{size_header} %{size_download}' "http://127.0.0.1:$p/data.txt")
read -r req hdr body <<<"$sizes"
got=$((hdr + body))
[ "$body" = 5000 ] || bad "curl through the proxy got $body body bytes"
hold "$p" 30
# Until a frame shows the held session (about a second; more on a busy machine).
for _ in $(seq 100); do
  tm capture-pane -p -t t >"$tmp/pane"
  grep -q '^  0002 .* open$' "$tmp/pane" && break
  sleep 0.1
done
panel=$(head -20 "$tmp/pane")
logs=$(sed -n '21,40p' "$tmp/pane")
echo "$panel" | head -1 | grep -Eq '^tcpscribe proxy 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:[0-9]+  up [0-9.]+s  open 1, closed 1  C->S [0-9]+ \([0-9]+/s\)  S->C [0-9]+ \([0-9]+/s\)$' ||
  bad "panel totals: $(head -3 "$tmp/pane")"
echo "$panel" | grep -Eq "^closed 0001 127\.0\.0\.1:[0-9]+ after [0-9.]+s: C->S $req, S->C $got \(" ||
  bad "panel: the curl session closed with C->S $req, S->C $got: $panel"
echo "$panel" | grep -Eq '^ +SID CLIENT +AGE +C->S +C->S/s +S->C +S->C/s +STATE$' || bad "panel: no column heads"
echo "$panel" | grep -Eq '^  0002 127\.0\.0\.1:[0-9]+ +[0-9.]+s +24 +[0-9]+/s +0 +0/s  open$' ||
  bad "panel: the held session's row: $panel"
echo "$panel" | sed -n 20p | grep -Eq '^-{120}$' || bad "panel: no rule on row 20"
echo "$panel" | grep -q '\[sid=' && bad "log lines in the panel: $panel"
echo "$logs" | grep -q 'SID CLIENT\|open 1, closed' && bad "panel text in the log rows: $logs"
echo "$logs" | grep -Eq '^\[sid=0001\] open 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:[0-9]+$' || bad "log: no whole open line: $logs"
echo "$logs" | grep -Fxq "[sid=0001] C->S ($req bytes)" || bad "log: the request's line is not whole: $logs"
echo "$logs" | grep -Eq "^\[sid=0001\] closed: .*\(C->S $req bytes, S->C $got bytes, [0-9.]+ s\)$" || bad "log: no close line: $logs"
echo "$logs" | grep -Fxq "[sid=0002] C->S (24 bytes)" || bad "log: the held session's line: $logs"

# Ctrl-C: the proxy drains (0.5 s) and gives the terminal back.
tm send-keys -t t C-c
for _ in $(seq 50); do tm capture-pane -p -t t | grep -q 'after-30' && break; sleep 0.1; done
tm capture-pane -p -t t >"$tmp/pane2"
grep -q '^PROXY-EXITED 0$' "$tmp/pane2" || bad "the proxy did not end with 0 on Ctrl-C: $(cat "$tmp/pane2")"
grep -q '^after-30$' "$tmp/pane2" || bad "the lines after the exit: $(tail -3 "$tmp/pane2")"
# 30 lines after it: with the scroll region still set the panel would stay
# on top; given back, the whole screen scrolled and took the panel away.
grep -q 'SID CLIENT' "$tmp/pane2" && bad "the panel stayed on screen after the exit (scroll region not reset): $(head -3 "$tmp/pane2")"
tm kill-server 2>/dev/null

# ---------------------------------------------------------------- 1b. Ctrl-Z and fg
# In an interactive shell (job control): the stopped proxy gives the whole
# screen back (scroll region reset, as less does); after `fg` its next
# frame takes the panel's rows again.
p2=$(free_port)
cmd2=$(printf '%q ' "$proxy_bin" proxy -l "127.0.0.1:$p2" -f "127.0.0.1:$up" --drain 0.2 --no-dump --stats)
tm new-session -d -x 120 -y 40 -s z "env -i PATH=$PATH TERM=screen PS1='$ ' bash --norc --noprofile -i"
tm send-keys -t z "$cmd2" Enter
region() { tm display-message -p -t z '#{scroll_region_upper} #{scroll_region_lower}'; }
for _ in $(seq 100); do [ "$(region)" = "20 39" ] && break; sleep 0.05; done
[ "$(region)" = "20 39" ] || bad "the panel's scroll region is '$(region)', not rows 20-39"
proxy_pid=$(pgrep -f -- "proxy -l 127.0.0.1:$p2 " | head -1)
tm send-keys -t z C-z
for _ in $(seq 50); do [ "$(ps -o stat= -p "$proxy_pid" 2>/dev/null | cut -c1)" = T ] && break; sleep 0.1; done
[ "$(ps -o stat= -p "$proxy_pid" | cut -c1)" = T ] || bad "Ctrl-Z did not stop the proxy: $(ps -o stat= -p "$proxy_pid")"
[ "$(region)" = "0 39" ] || bad "stopped, the scroll region is still '$(region)' (not given back)"
tm send-keys -t z "fg" Enter
for _ in $(seq 50); do [ "$(region)" = "20 39" ] && break; sleep 0.1; done
[ "$(region)" = "20 39" ] || bad "after fg the panel did not take rows 0-19 again: '$(region)'"
tm send-keys -t z C-c
for _ in $(seq 50); do kill -0 "$proxy_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$proxy_pid" 2>/dev/null && { bad "the proxy did not end on Ctrl-C after fg"; kill "$proxy_pid"; }
tm kill-server 2>/dev/null

python3 - "$tmp/stats.json" "$req" "$got" <<'PY' || bad "--stats-json: see above"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
req, got = int(sys.argv[2]), int(sys.argv[3])
assert len(lines) >= 2, len(lines)  # the one that showed the held session, the last
closed = [c for l in lines for c in l["closed_sessions"]]
ids = sorted(c["id"] for c in closed)
assert ids == [1, 2], ids  # each closed session in exactly one line
by = {c["id"]: c for c in closed}
assert (by[1]["c2s_bytes"], by[1]["s2c_bytes"]) == (req, got), by[1]
assert (by[2]["c2s_bytes"], by[2]["s2c_bytes"]) == (24, 0), by[2]
held = [s for l in lines for s in l["sessions"] if s["id"] == 2]
assert held and held[-1]["c2s_bytes"] == 24 and held[-1]["state"] == "open", held
last = lines[-1]
assert (last["open"], last["closed"]) == (0, 2), last
assert (last["c2s_bytes"], last["s2c_bytes"]) == (req + 24, got), last
times = [l["time"] for l in lines]
assert times == sorted(times)
PY

# ---------------------------------------------------------------- 2. no terminal
p=$(free_port)
"$proxy_bin" proxy -l "127.0.0.1:$p" -f "127.0.0.1:$up" -q --drain 0.2 --stats \
  --stats-json - --stats-interval 0.2 >"$tmp/nt.out" 2>"$tmp/nt.err" &
pp=$!
wait_port 127.0.0.1 "$p" || bad "no-tty proxy did not start"
curl -s -o /dev/null "http://127.0.0.1:$p/data.txt"
sleep 0.5
kill -TERM $pp
wait $pp
[ $? -eq 0 ] || bad "no-tty proxy exit status"
[ "$(grep -c 'standard error is not a terminal' "$tmp/nt.err")" = 1 ] || bad "--stats without a terminal: $(cat "$tmp/nt.err")"
grep -q $'\033' "$tmp/nt.err" && bad "escape sequences on a stderr that is no terminal"
python3 -c 'import json,sys
ls=[json.loads(l) for l in open(sys.argv[1])]
assert len(ls) >= 3 and ls[-1]["closed"] == 2 and ls[-1]["s2c_bytes"] > 5000, ls[-1]' "$tmp/nt.out" ||
  bad "--stats-json - with -q: $(tail -2 "$tmp/nt.out")"

# ---------------------------------------------------------------- 3. passive live capture
if [ "$(id -u)" = 0 ]; then
  "$bin" -i lo -q --stats-json "$tmp/live.json" --stats-interval 0.5 -FX "tcp port $up" \
    >"$tmp/live.out" 2>"$tmp/live.err" &
  lp=$!
  sleep 1
  sizes=$(curl -s -o /dev/null -w '%{size_request} %{size_header} %{size_download}' "http://127.0.0.1:$up/data.txt")
  read -r req hdr body <<<"$sizes"
  sleep 1
  kill -INT $lp
  wait $lp
  python3 - "$tmp/live.json" "$req" "$((hdr + body))" <<'PY' || bad "-i lo --stats-json: $(tail -2 "$tmp/live.json"; cat "$tmp/live.err")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
closed = [c for l in lines for c in l["closed_sessions"]]
assert len(closed) == 1, closed
c = closed[0]
assert (c["c2s_bytes"], c["s2c_bytes"]) == (int(sys.argv[2]), int(sys.argv[3])), c
assert c["client"].startswith("127.0.0.1:"), c
PY
  "$bin" -r /dev/null --stats 2>"$tmp/off.err"
  [ $? -eq 1 ] && grep -q '^tcpscribe: --stats and --stats-json show a live capture (-i) or the proxy' "$tmp/off.err" ||
    bad "--stats with -r: $(cat "$tmp/off.err")"
fi

[ "$fail" -eq 0 ] && echo "stats_panel: all passed"
exit $((fail > 0))
