#!/usr/bin/env bash
# Live capture between two network namespaces joined by a veth pair:
# tcpscribe -i on the client's end while real programs talk (python3
# http.server with curl and an exact python client; redis-server with
# redis-cli and an exact RESP client). Stopped with SIGINT, the files and
# the console output must equal, byte for byte, what the programs sent.
# Also: -U nobody with a directory tcpscribe creates, -z chroot, idle
# connections closed on capture time without traffic, and the errors a
# user can hit (no permission, no such interface, bad filter).
# Usage: live_netns.sh path/to/tcpscribe   (exit 77: skipped)
set -u
bin=$(realpath "$1")
if [ "$(id -u)" -ne 0 ]; then echo "skip: needs root (network namespaces)"; exit 77; fi
need() { command -v "$1" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1; }
need ip iproute2; need curl curl; need python3 python3; need redis-server redis-server
need redis-cli redis-tools; need setpriv util-linux
id=$$
A=tsl-a-$id B=tsl-b-$id VA=tsla$id VB=tslb$id
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  # Whatever still runs inside the namespaces was started here (a server
  # started through `ip netns exec` outlives the shell that started it).
  for ns in "$A" "$B"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
  done
  wait 2>/dev/null
  ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail=0 pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

ip netns add "$A" && ip netns add "$B" || { echo "skip: cannot create network namespaces"; exit 77; }
ip link add "$VA" type veth peer name "$VB" || { echo "skip: no veth support"; exit 77; }
ip link set "$VA" netns "$A" && ip link set "$VB" netns "$B"
ip -n "$A" addr add 10.215.0.1/24 dev "$VA" && ip -n "$B" addr add 10.215.0.2/24 dev "$VB"
ip -n "$A" link set "$VA" up && ip -n "$B" link set "$VB" up
ip -n "$A" link set lo up && ip -n "$B" link set lo up
inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }

# Servers in B.
mkdir -p "$tmp/www"
head -c 300000 /dev/urandom >"$tmp/www/blob.bin"
printf 'small text\n' >"$tmp/www/small.txt"
(cd "$tmp/www" && exec ip netns exec "$B" python3 -m http.server 8000 --bind 10.215.0.2) >/dev/null 2>&1 &
pids+=($!)
ip netns exec "$B" redis-server --bind 10.215.0.2 --port 6379 --save '' --appendonly no --protected-mode no >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  inA bash -c 'exec 3<>/dev/tcp/10.215.0.2/8000' 2>/dev/null && inA bash -c 'exec 3<>/dev/tcp/10.215.0.2/6379' 2>/dev/null && break
  sleep 0.1
done

# Capturers in A: files, files as nobody in a new directory, files as nobody
# chrooted, console of the server->client direction of one connection.
mkdir -p "$tmp/jail" "$tmp/owned"
ip netns exec "$A" "$bin" -i "$VA" -o "$tmp/files" -v --idle-timeout 2 'tcp' >"$tmp/files.out" 2>"$tmp/files.err" &
cap_files=$!
ip netns exec "$A" "$bin" -i "$VA" -U nobody -o "$tmp/owned/new" 'tcp port 8000' >/dev/null 2>"$tmp/nobody.err" &
cap_nobody=$!
ip netns exec "$A" "$bin" -i "$VA" -U nobody -z "$tmp/jail" -o "$tmp/owned/jailed" 'tcp port 6379' >/dev/null 2>"$tmp/jail.err" &
cap_jail=$!
ip netns exec "$A" "$bin" -i "$VA" -C -B -0 'tcp src port 8000 and tcp dst port 40111' >"$tmp/console.out" 2>"$tmp/console.err" &
cap_console=$!
pids+=($cap_files $cap_nobody $cap_jail $cap_console)
sleep 1.5

# Exact clients: they record what they sent and received.
cat >"$tmp/exact.py" <<'PY'
import socket, sys, time
host, port, lport, out, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5].encode().decode('unicode_escape').encode('latin-1')
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.215.0.1', lport))
s.connect((host, port))
s.sendall(payload)
if port == 8000:
    got = b''
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
else:
    time.sleep(0.5)
    s.shutdown(socket.SHUT_WR)
    got = b''
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
open(out + '.sent', 'wb').write(payload)
open(out + '.received', 'wb').write(got)
PY
inA python3 "$tmp/exact.py" 10.215.0.2 8000 40111 "$tmp/http" 'GET /blob.bin HTTP/1.0\r\nHost: test\r\nX-Test: exact\r\n\r\n'
inA python3 "$tmp/exact.py" 10.215.0.2 6379 40222 "$tmp/redis" '*3\r\n$3\r\nSET\r\n$5\r\ngreet\r\n$11\r\nhello world\r\n*2\r\n$3\r\nGET\r\n$5\r\ngreet\r\n*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n'
inA curl -s -o "$tmp/curl_blob" http://10.215.0.2:8000/blob.bin
inA curl -s -o "$tmp/curl_small" http://10.215.0.2:8000/small.txt
cli_out=$(inA redis-cli -h 10.215.0.2 -p 6379 GET greet)
[ "$cli_out" = "hello world" ] && ok || bad "redis-cli got '$cli_out'"
cmp -s "$tmp/curl_blob" "$tmp/www/blob.bin" && ok || bad "curl body differs (sanity)"
# Console output is prompt: a chunk shows while its connection is still open.
ip netns exec "$A" "$bin" -i "$VA" -c 'tcp port 8000 and tcp src port 40333' >"$tmp/prompt.out" 2>/dev/null &
cap_prompt=$!
pids+=($cap_prompt)
sleep 1.5
inA python3 -c '
import socket, time
s = socket.socket(); s.bind(("10.215.0.1", 40333)); s.connect(("10.215.0.2", 8000))
s.sendall(b"PROMPT-CHECK-LINE"); time.sleep(3)' &
holder=$!
seen=no
for _ in $(seq 40); do grep -q PROMPT-CHECK-LINE "$tmp/prompt.out" && { seen=yes; break; }; sleep 0.05; done
[ $seen = yes ] && ok || bad "console chunk did not appear within 2 s while the connection was open"
wait $holder
# A second SIGINT exits at once (130), without waiting for the finish.
kill -INT $cap_prompt; kill -INT $cap_prompt; wait $cap_prompt; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 130 ] && ok || bad "double SIGINT: exit $rc"

# An idle connection: opened, one request, then silent for 4 s.
inA python3 -c '
import socket, time
s = socket.create_connection(("10.215.0.2", 6379))
s.sendall(b"*1\r\n$4\r\nPING\r\n"); s.recv(100); time.sleep(4)' &
idle=$!
pids+=($idle)
wait $idle
sleep 1

for p in $cap_files $cap_nobody $cap_jail $cap_console; do kill -INT "$p"; done
for p in $cap_files $cap_nobody $cap_jail $cap_console; do
  wait "$p"; rc=$?
  [ $rc -eq 0 ] && ok || bad "capture $p exited $rc: $(cat "$tmp"/*.err | head -5)"
done

name() { python3 -c "import sys; a=sys.argv[1].split('.'); print('%03d.%03d.%03d.%03d.%05d' % tuple(map(int, a)))" "$1"; }
c_http=$(name 10.215.0.1.40111) s_http=$(name 10.215.0.2.8000)
c_redis=$(name 10.215.0.1.40222) s_redis=$(name 10.215.0.2.6379)
cmp -s "$tmp/files/$c_http-$s_http" "$tmp/http.sent" && ok || bad "HTTP client->server file differs from what the client sent"
cmp -s "$tmp/files/$s_http-$c_http" "$tmp/http.received" && ok || bad "HTTP server->client file differs from what the client received"
cmp -s "$tmp/files/$c_redis-$s_redis" "$tmp/redis.sent" && ok || bad "redis client->server file differs"
cmp -s "$tmp/files/$s_redis-$c_redis" "$tmp/redis.received" && ok || bad "redis server->client file differs"
cmp -s "$tmp/console.out" "$tmp/http.received" && ok || bad "console -C -B -0 differs from the received stream ($(stat -c %s "$tmp/console.out") vs $(stat -c %s "$tmp/http.received") bytes): $(cat "$tmp/console.err")"
# curl's connections: the body is the tail of the server->client stream.
n=0
for f in "$tmp"/files/"$s_http"-*; do
  if python3 -c "import sys; d=open(sys.argv[1],'rb').read(); b=open(sys.argv[2],'rb').read(); sys.exit(0 if d.endswith(b) else 1)" "$f" "$tmp/www/blob.bin"; then n=$((n + 1)); fi
done
[ $n -eq 2 ] && ok || bad "expected 2 server->client files ending with blob.bin (exact client and curl), found $n"
# Statistics in tcpdump's words, and the idle connection closed by the timer.
grep -q 'packets captured' "$tmp/files.err" && grep -q 'packets dropped by kernel' "$tmp/files.err" && ok || bad "no statistics: $(cat "$tmp/files.err")"
grep -qE '[1-9][0-9]* idle-closed' "$tmp/files.err" && ok || bad "idle connection not closed by the timeout: $(grep idle "$tmp/files.err")"
# -U nobody: a directory tcpscribe created, owned by nobody, files correct.
[ "$(stat -c %U "$tmp/owned/new")" = nobody ] && ok || bad "-U: output directory not handed to nobody"
[ "$(stat -c %U "$tmp/owned/new/$s_http-$c_http")" = nobody ] && cmp -s "$tmp/owned/new/$s_http-$c_http" "$tmp/http.received" && ok ||
  bad "-U nobody: file missing or wrong: $(cat "$tmp/nobody.err")"
cmp -s "$tmp/owned/jailed/$s_redis-$c_redis" "$tmp/redis.received" && ok || bad "-U -z: file missing or wrong: $(cat "$tmp/jail.err")"

# Errors a user can hit.
setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$bin" -i lo -c >/dev/null 2>"$tmp/perm.err"; rc=$?
[ $rc -eq 4 ] && grep -q 'no permission to capture.*run as root' "$tmp/perm.err" && ok || bad "no permission: exit $rc: $(cat "$tmp/perm.err")"
"$bin" -i nosuch0 -c >/dev/null 2>"$tmp/dev.err"; rc=$?
[ $rc -eq 4 ] && grep -q "no such interface 'nosuch0' (interfaces here: .*lo" "$tmp/dev.err" && ok || bad "no such interface: exit $rc: $(cat "$tmp/dev.err")"
"$bin" -i lo -c 'tcp port' >/dev/null 2>"$tmp/filter.err"; rc=$?
[ $rc -eq 1 ] && grep -q "filter 'tcp port' does not compile" "$tmp/filter.err" && ok || bad "bad filter: exit $rc: $(cat "$tmp/filter.err")"

echo "live: $pass passed, $fail failed"
[ $fail -eq 0 ]
