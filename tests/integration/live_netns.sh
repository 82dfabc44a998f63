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

# Memory, interrupts and tcpdump's "listening on" line.
rss_mib() { awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$1/status"; }
now_ms() { date +%s%3N; }
# Waits up to $3 ms for a line matching $2 in file $1; prints the ms waited.
wait_line() {
  local t0; t0=$(now_ms)
  until grep -qE "$2" "$1" 2>/dev/null; do
    [ $(($(now_ms) - t0)) -lt "$3" ] || { echo never; return; }
    sleep 0.02
  done
  echo $(($(now_ms) - t0))
}
# interrupt PID: sends SIGINT, waits for the exit (SIGKILL after 10 s);
# sets rc (its exit status) and dt (ms from the signal to the exit).
interrupt() {
  local t0; t0=$(now_ms)
  kill -INT "$1"
  while kill -0 "$1" 2>/dev/null && [ $(($(now_ms) - t0)) -lt 10000 ]; do sleep 0.01; done
  kill -KILL "$1" 2>/dev/null
  wait "$1"; rc=$?; dt=$(($(now_ms) - t0))
}
# An idle capture with a big queue: the queue is mapped as it is used, so
# before the first packet it holds a few 4 MiB batches, not --queue-size
# (this was 4 GiB and more: it was all faulted in before capturing); and a
# Ctrl-C right after the start ends it at once (it used to be lost, or wait
# for the whole queue to be faulted in).
avail=$(awk '/^MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
bigq=$((avail / 2 < 4000 ? avail / 2 : 4000))
ip netns exec "$A" "$bin" -i "$VA" --queue-size $bigq --buffer-size 8 -o "$tmp/idle" 'tcp port 1' >/dev/null 2>"$tmp/idle.err" &
cap_idle=$!
pids+=($cap_idle)
waited=$(wait_line "$tmp/idle.err" 'listening on' 5000)
sleep 0.5
rss=$(rss_mib $cap_idle)
[ "$rss" -lt 80 ] && ok || bad "RSS before the first packet with --queue-size $bigq --buffer-size 8: $rss MiB (want < 80)"
[ "$(head -n 1 "$tmp/idle.err")" = "tcpscribe: listening on $VA, link-type EN10MB (Ethernet), snapshot length 262144 bytes" ] && ok ||
  bad "no listening line (waited $waited ms): $(head -n 2 "$tmp/idle.err")"
interrupt $cap_idle
[ $rc -eq 0 ] && [ $dt -lt 1000 ] && ok || bad "idle capture with --queue-size $bigq: SIGINT took $dt ms, exit $rc"
# Right after the start (no listening line yet): still at once.
ip netns exec "$A" "$bin" -i "$VA" --queue-size $bigq -q -o "$tmp/early" 'tcp port 1' >/dev/null 2>"$tmp/early.err" &
cap_early=$!
pids+=($cap_early)
sleep 0.05
interrupt $cap_early
[ $rc -eq 0 ] && [ $dt -lt 1000 ] && ok || bad "SIGINT 50 ms after the start took $dt ms, exit $rc: $(cat "$tmp/early.err")"
grep -q 'listening on' "$tmp/early.err" && bad "-q printed the listening line" || ok

# A bulk transfer shown on a console read at 25 MB/s: the queue fills
# with packets captured faster than they can be shown.
head -c $((240 << 20)) /dev/urandom >"$tmp/bulk.bin"
cat >"$tmp/bulk.py" <<'PY'
import socket, sys, time
if sys.argv[1] == 'serve':  # serve FILE HOST PORT READY [MB/s]: one client, then exit
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((sys.argv[3], int(sys.argv[4]))); l.listen(1)
    open(sys.argv[5], 'w').close()
    c, _ = l.accept()
    if len(sys.argv) > 6:  # SO_MAX_PACING_RATE
        c.setsockopt(socket.SOL_SOCKET, 47, int(float(sys.argv[6]) * 1e6))
    with open(sys.argv[2], 'rb') as f: c.sendfile(f)
    c.close()
elif sys.argv[1] == 'fetch':  # fetch HOST PORT: prints the bytes received
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
    n = 0
    while True:
        b = s.recv(1 << 20)
        if not b: break
        n += len(b)
    print(n)
else:  # slowread OUT MBPS: standard input to OUT at that rate
    out, rate = open(sys.argv[2], 'wb'), float(sys.argv[3]) * 1e6
    t0, n = time.monotonic(), 0
    while True:
        b = sys.stdin.buffer.read1(65536)
        if not b: break
        out.write(b); n += len(b)
        ahead = n / rate - (time.monotonic() - t0)
        if ahead > 0: time.sleep(ahead)
PY
# bulk_run NAME MIB [MB/s]: serves the first MIB MiB of bulk.bin on port
# 9100 to a client in A while tcpscribe shows that direction on a slow
# console.
bulk_run() {
  local name=$1 mib=$2 rate=${3:-}
  head -c $((mib << 20)) "$tmp/bulk.bin" >"$tmp/$name.payload"
  mkfifo "$tmp/$name.fifo"
  python3 "$tmp/bulk.py" slowread "$tmp/$name.out" 25 <"$tmp/$name.fifo" &
  reader=$!
  ip netns exec "$A" "$bin" -i "$VA" --queue-size 1024 -C -B -0 'tcp src port 9100' >"$tmp/$name.fifo" 2>"$tmp/$name.err" &
  cap_bulk=$!
  pids+=($reader $cap_bulk)
  wait_line "$tmp/$name.err" 'listening on' 5000 >/dev/null
  rm -f "$tmp/$name.ready"
  inB python3 "$tmp/bulk.py" serve "$tmp/$name.payload" 10.215.0.2 9100 "$tmp/$name.ready" $rate &
  pids+=($!)
  until [ -f "$tmp/$name.ready" ]; do sleep 0.05; done
}
# is_prefix FILE PAYLOAD: FILE is a non-empty prefix of PAYLOAD; prints its size.
is_prefix() {
  local n; n=$(stat -c %s "$1")
  echo "$n"
  [ "$n" -gt 0 ] && cmp -s -n "$n" "$1" "$2"
}

# One Ctrl-C once the transfer is over, the queue full: everything
# captured is written, and while that takes, stderr says how much is left.
bulk_run drain 120
got=$(inA python3 "$tmp/bulk.py" fetch 10.215.0.2 9100)
[ "$got" -eq $((120 << 20)) ] || bad "drain: the client received $got bytes (sanity)"
kill -INT $cap_bulk
waited=$(wait_line "$tmp/drain.err" 'capture stopped; writing the [0-9]+ packets \([0-9]+ MiB\) still queued; Ctrl-C again to discard them' 1500)
[ "$waited" != never ] && [ "$waited" -lt 1100 ] && ok || bad "drain: no progress line within 1 s of SIGINT ($waited): $(cat "$tmp/drain.err")"
wait $cap_bulk; rc=$?; wait $reader
[ $rc -eq 0 ] && ok || bad "drain: exit $rc"
cmp -s "$tmp/drain.out" "$tmp/drain.payload" && grep -q '^0 packets dropped by kernel' "$tmp/drain.err" && ok ||
  bad "drain: console output ($(stat -c %s "$tmp/drain.out") bytes) is not the 120 MiB sent: $(cat "$tmp/drain.err")"

# Ctrl-C while the transfer still flows, then a second one: the capture
# stops at once, the second Ctrl-C discards what is still queued and the
# process exits within a second, 130, with what was written a prefix of
# the stream.
bulk_run twice 240 100
inA python3 "$tmp/bulk.py" fetch 10.215.0.2 9100 >/dev/null &
fetcher=$!
pids+=($fetcher)
for _ in $(seq 100); do [ "$(rss_mib $cap_bulk)" -gt 250 ] && break; sleep 0.02; done
queued=$(rss_mib $cap_bulk)
kill -INT $cap_bulk
waited=$(wait_line "$tmp/twice.err" 'capture stopped; writing' 1500)
[ "$waited" != never ] && [ "$waited" -lt 1100 ] && ok || bad "twice: no progress line within 1 s of SIGINT ($waited; RSS was $queued MiB): $(cat "$tmp/twice.err")"
interrupt $cap_bulk
[ $rc -eq 130 ] && [ $dt -lt 1000 ] && ok || bad "twice: second SIGINT took $dt ms, exit $rc"
grep -qE '^tcpscribe: interrupted again: [1-9][0-9]* captured packets were discarded unwritten' "$tmp/twice.err" &&
  grep -q 'packets captured' "$tmp/twice.err" && ok || bad "twice: stderr: $(cat "$tmp/twice.err")"
wait $reader
n=$(is_prefix "$tmp/twice.out" "$tmp/twice.payload") && [ "$n" -lt $((240 << 20)) ] && ok ||
  bad "twice: console output ($n bytes) is not a strict prefix of the stream"
wait $fetcher
echo "live: memory and interrupts: idle RSS $rss MiB; progress line after $waited ms; second SIGINT to exit $dt ms" >&2

# Errors a user can hit.
setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$bin" -i lo -c >/dev/null 2>"$tmp/perm.err"; rc=$?
[ $rc -eq 4 ] && grep -q 'no permission to capture.*run as root' "$tmp/perm.err" && ok || bad "no permission: exit $rc: $(cat "$tmp/perm.err")"
"$bin" -i nosuch0 -c >/dev/null 2>"$tmp/dev.err"; rc=$?
[ $rc -eq 4 ] && grep -q "no such interface 'nosuch0' (interfaces here: .*lo" "$tmp/dev.err" && ok || bad "no such interface: exit $rc: $(cat "$tmp/dev.err")"
"$bin" -i lo -c 'tcp port' >/dev/null 2>"$tmp/filter.err"; rc=$?
[ $rc -eq 1 ] && grep -q "filter 'tcp port' does not compile" "$tmp/filter.err" && ok || bad "bad filter: exit $rc: $(cat "$tmp/filter.err")"

echo "live: $pass passed, $fail failed"
[ $fail -eq 0 ]
