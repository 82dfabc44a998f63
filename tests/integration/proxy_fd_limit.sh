#!/usr/bin/env bash
# The proxy under a small descriptor limit (prlimit --nofile=64:64): its
# --max-connections default comes from the limit ((64 - 32) / 3 = 10 with
# logs), so 40 concurrent clients of a python3 server that answers after
# 0.5 s are all served (the rest wait in the listen queue) instead of being
# accepted and reset when connect() runs out of descriptors; the cap is
# announced once. An explicit --max-connections above what fits is lowered
# with one line saying why.
# Usage: proxy_fd_limit.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in python3 prlimit; do command -v $c >/dev/null || skip "$c is missing"; done
up=$(free_port)
python3 - "$up" >"$tmp/server.log" 2>&1 <<'PY' &
import socket, sys, threading, time
def serve(c):
    if c.recv(100): time.sleep(0.5); c.sendall(b"ok\n")
    c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(256)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
pids+=($!)
wait_port 127.0.0.1 "$up" || skip "the python3 server did not start"

clients() {  # clients PORT N: how many of N concurrent clients got "ok"
  python3 - "$1" "$2" <<'PY'
import socket, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2]); ok = []
def one():
    try:
        s = socket.create_connection(("127.0.0.1", port), 15); s.settimeout(15)
        s.sendall(b"x\n"); d = b""
        while True:
            b = s.recv(100)
            if not b: break
            d += b
        if d == b"ok\n": ok.append(1)
    except OSError: pass
ts = [threading.Thread(target=one) for _ in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(ok))
PY
}

run() {  # run NAME [flags]: 40 clients through a proxy limited to 64 descriptors
  local name=$1 p
  shift
  p=$(free_port)
  prlimit --nofile=64:64 "$proxy_bin" proxy --listen "127.0.0.1:$p" --forward "127.0.0.1:$up" \
    --log-root "$tmp/$name" -q "$@" 2>"$tmp/$name.err" &
  local pp=$!
  wait_port 127.0.0.1 "$p" || { bad "$name: the proxy did not start: $(cat "$tmp/$name.err")"; return; }
  got=$(clients "$p" 40)
  [ "$got" = 40 ] || bad "$name: $got of 40 clients served: $(cat "$tmp/$name.err")"
  kill $pp; wait $pp 2>/dev/null
}

run default
[ "$(grep -c '10 connections open (--max-connections): further clients wait in the listen queue until one closes' "$tmp/default.err")" = 1 ] \
  || bad "default: the cap notice, once: $(cat "$tmp/default.err")"
run given --max-connections 1000
grep -q '^tcpscribe proxy: --max-connections 1000 needs 3032 descriptors but the limit is 64 (ulimit -n): at most 10 connections at once, the others wait in the listen queue$' \
  "$tmp/given.err" || bad "given: no line about the limit: $(cat "$tmp/given.err")"

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
