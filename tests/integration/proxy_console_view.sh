#!/usr/bin/env bash
# The proxy's console view, through a python3 echo-like server on loopback:
#  - on a terminal (a pty from util-linux `script`), a 10,000-byte chunk is
#    cut to a screenful by default and the header says so; `--max-dump all`
#    shows it whole; piped, it is whole without asking;
#  - --timestamps starts every line with "+S.UUUUUU", --timestamps=absolute
#    with the local time of day;
#  - -D hex lines carry the session's tag;
#  - --json: UTF-8 text ("café") arrives as text in "data" and the exact
#    bytes in "data_b64".
# Usage: proxy_console_view.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in python3 script; do command -v $c >/dev/null || skip "$c is missing"; done
up=$(free_port)
# Answers each read with 10,000 bytes of 'z'.
python3 - "$up" >"$tmp/server.log" 2>&1 <<'PY' &
import socket, sys, threading
def serve(c):
    while c.recv(65536): c.sendall(b"z" * 10000)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
pids+=($!)
wait_port 127.0.0.1 "$up" || skip "the python3 server did not start"

# view OUT [proxy flags...]: one exchange ("café\n" sent) through a proxy
# whose console goes to OUT; with VIEW_TTY=1 the proxy runs on a pty.
view() {
  local out=$1 p
  shift
  p=$(free_port)
  local cmd
  cmd=$(printf '%q ' "$proxy_bin" proxy --listen "127.0.0.1:$p" --forward "127.0.0.1:$up" --drain 0.5 "$@")
  if [ -n "${VIEW_TTY:-}" ]; then
    script -qfec "stty cols 80 rows 24; exec $cmd" /dev/null >"$out" 2>&1 &
  else
    bash -c "exec $cmd" >"$out" 2>&1 &
  fi
  local pp=$!
  wait_port 127.0.0.1 "$p" || { bad "the proxy did not start: $(cat "$out")"; return; }
  python3 -c 'import socket,sys,time
s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.sendall("café\n".encode())
n=0
while n < 10000: n += len(s.recv(65536))
s.close(); time.sleep(0.3)' "$p"
  pkill -TERM -f -- "--listen 127.0.0.1:$p " 2>/dev/null
  wait $pp 2>/dev/null
  tr -d '\r' <"$out" >"$out.txt"   # the pty's CR LF
}

# --- 1. A terminal: a screenful (24 x 80 = 1,920 bytes) by default.
VIEW_TTY=1 view "$tmp/tty" --color=never
grep -q '^\[sid=0002\] S->C (10000 bytes, first 1920 shown)$' "$tmp/tty.txt" || bad "tty: no cut header: $(head -c 600 "$tmp/tty.txt")"
grep -q '^\.\.\. 8080 more bytes$' "$tmp/tty.txt" || bad "tty: no '... 8080 more bytes'"
VIEW_TTY=1 view "$tmp/ttyall" --max-dump all --color=never
grep -q '^\[sid=0002\] S->C (10000 bytes)$' "$tmp/ttyall.txt" || bad "tty --max-dump all: $(head -c 300 "$tmp/ttyall.txt")"
[ "$(grep -c '^z*$' "$tmp/ttyall.txt")" -ge 1 ] && [ "$(tr -cd z <"$tmp/ttyall.txt" | wc -c)" -eq 10000 ] || bad "tty --max-dump all: not all 10000 bytes shown"
# Piped: whole.
view "$tmp/pipe"
grep -q '^\[sid=0002\] S->C (10000 bytes)$' "$tmp/pipe.txt" || bad "pipe: $(head -c 300 "$tmp/pipe.txt")"
grep -q '^\[sid=0002\] C->S (6 bytes)$' "$tmp/pipe.txt" && grep -qx 'café\\n' "$tmp/pipe.txt" || bad "pipe: the UTF-8 line: $(head -c 300 "$tmp/pipe.txt")"

# --- 2. Timestamps.
view "$tmp/rel" --timestamps
grep -Eq '^\+[0-9]+\.[0-9]{6} \[sid=0002\] C->S \(6 bytes\)$' "$tmp/rel.txt" || bad "--timestamps: $(head -c 300 "$tmp/rel.txt")"
grep -Eq '^\+[0-9]+\.[0-9]{6} \[sid=0002\] closed: ' "$tmp/rel.txt" || bad "--timestamps: close line"
view "$tmp/abs" --timestamps=absolute
grep -Eq '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6} \[sid=0002\] S->C \(10000 bytes\)$' "$tmp/abs.txt" || bad "--timestamps=absolute: $(head -c 300 "$tmp/abs.txt")"
"$proxy_bin" proxy -l 127.0.0.1:0 -f 127.0.0.1:1 --timestamps=sometimes >/dev/null 2>"$tmp/bad.err"
[ $? -eq 1 ] && grep -q "^tcpscribe proxy: --timestamps takes relative or absolute, not 'sometimes'$" "$tmp/bad.err" || bad "bad --timestamps: $(cat "$tmp/bad.err")"

# --- 3. -D: every hex line tagged.
view "$tmp/hex" -D --max-dump 32
grep -q '^\[sid=0002\] 00000000  63 61 66 c3 a9 0a ' "$tmp/hex.txt" || bad "-D: C->S line: $(head -c 400 "$tmp/hex.txt")"
grep -q '^\[sid=0002\] 00000010  7a 7a ' "$tmp/hex.txt" || bad "-D: S->C second line"

# --- 4. --json: text and exact bytes.
view "$tmp/json" --json
python3 - "$tmp/json.txt" <<'PY' || bad "--json: $(head -c 400 "$tmp/json.txt")"
import base64, json, sys
evs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.startswith("{")]
d = [e for e in evs if e["event"] == "data" and e["sid"] == 2]
assert d[0]["data"] == "café\n", d[0]
assert base64.b64decode(d[0]["data_b64"]) == "café\n".encode(), d[0]
assert sum(len(base64.b64decode(e["data_b64"])) for e in d[1:]) == 10000
PY

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
