#!/usr/bin/env bash
# The proxy's logs when the proxy itself ends a connection, and --inspect:
#  - the idle timeout closes both sides with FIN: the log gets `c hup` and
#    `s hup`; the drain deadline after SIGINT resets them: `c err`/`s err`
#    (before, neither was recorded and --inspect said both sides were open);
#  - --inspect prints each connection's duration (first to last record),
#    not the offset of its last record from the proxy's start;
#  - a zero-byte log (a full disk) is DAMAGED, exit 2;
#  - --extract with two logs of one basename writes both (NAME, NAME-2).
# With a python3 server that reads and never answers, on loopback.
# Usage: proxy_closes.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"
expect_eq() { [ "$2" == "$3" ] || bad "$1: got [$2], want [$3]"; }

grep -q -- --idle-timeout <<<"$("$proxy_bin" proxy --help 2>&1)" || skip "this tcpscribe has no proxy --idle-timeout"
command -v python3 >/dev/null || skip "python3 is missing"

up=$(free_port)
python3 - "$up" >"$tmp/server.log" 2>&1 <<'PY' &
import socket, sys, threading
def serve(c):
    while c.recv(65536): pass
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
pids+=($!)
wait_port 127.0.0.1 "$up" || skip "the python3 server did not start"

# A client that connects, sends 5 bytes and stays silent for SECS.
client() {  # client PORT SECS
  python3 -c 'import socket,sys,time
s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.sendall(b"hello"); time.sleep(float(sys.argv[2]))' "$@"
}
headers() {  # each record's side and what, in order
  python3 - "$1" <<'PY'
import sys
d = open(sys.argv[1], "rb").read(); i = 0; out = []
while i < len(d):
    nl = d.index(b"\n", i); side, _, what = d[i:nl].split(b" "); i = nl + 1
    out.append(side.decode() + " " + what.decode())
    if what.isdigit(): i += int(what)
print(" ".join(out) + " ", end="")
PY
}

# --- 1. Idle timeout: FIN both ways, recorded as hup.
p1=$(free_port)
"$proxy_bin" proxy --listen "127.0.0.1:$p1" --forward "127.0.0.1:$up" --log-root "$tmp/idle" \
  --idle-timeout 1 -q >"$tmp/p1.out" 2>&1 &
pp=$!
pids+=($pp)
wait_port 127.0.0.1 "$p1" || { bad "the proxy did not start: $(cat "$tmp/p1.out")"; exit 1; }
rm -f "$tmp"/idle_*  # the probe's log, if any
client "$p1" 2.5
kill -TERM $pp
wait $pp 2>/dev/null
log=$(ls "$tmp"/idle_* | tail -1)
expect_eq "idle: records" "$(headers "$log")" "c con c 5 c hup s hup "
"$proxy_bin" proxy --inspect "$log" >"$tmp/i1.out" 2>&1
expect_eq "idle: inspect exit" "$?" "0"
grep -q ": 4 records, lasting 1\.[0-9]* s from [0-9.]* s; c: 1 chunks 5 bytes hup; s: 0 chunks 0 bytes hup\$" \
  "$tmp/i1.out" || bad "idle: inspect: $(cat "$tmp/i1.out")"

# --- 2. Drain deadline after SIGINT: both reset, recorded as err. The
# connection starts 1.5 s after the proxy, so its duration (~1 s, to the
# deadline) differs from the offset of its last record (~2.5 s).
p2=$(free_port)
"$proxy_bin" proxy --listen "127.0.0.1:$p2" --forward "127.0.0.1:$up" --log-root "$tmp/drain" \
  --drain 1 -q >"$tmp/p2.out" 2>&1 &
pp=$!
pids+=($pp)
wait_port 127.0.0.1 "$p2" || { bad "the proxy did not start: $(cat "$tmp/p2.out")"; exit 1; }
rm -f "$tmp"/drain_*
sleep 1.5
client "$p2" 4 &
cpid=$!
# Until the client's 5 bytes are in its log (python's start takes long on a
# loaded machine: a fixed wait let SIGINT come first).
for _ in $(seq 100); do
  grep -qs hello "$tmp"/drain_* && break
  sleep 0.1
done
kill -INT $pp
wait $pp 2>/dev/null
wait $cpid 2>/dev/null
log=$(ls "$tmp"/drain_* | tail -1)
expect_eq "drain: records" "$(headers "$log")" "c con c 5 c err s err "
"$proxy_bin" proxy --inspect "$log" >"$tmp/i2.out" 2>&1
expect_eq "drain: inspect exit" "$?" "0"
line=$(cat "$tmp/i2.out")
dur=$(sed -n 's/.*lasting \([0-9.]*\) s from \([0-9.]*\) s;.*/\1/p' <<<"$line")
from=$(sed -n 's/.*lasting \([0-9.]*\) s from \([0-9.]*\) s;.*/\2/p' <<<"$line")
python3 -c 'import sys; d,f=float(sys.argv[1]),float(sys.argv[2]); assert 0.8<d<2.0 and f>1.2, (d,f)' \
  "${dur:-x}" "${from:-x}" || bad "drain: duration/start: $line"
grep -q "c: 1 chunks 5 bytes err; s: 0 chunks 0 bytes err\$" <<<"$line" || bad "drain: inspect: $line"

# --- 3. A zero-byte log is damaged.
: >"$tmp/empty_1"
"$proxy_bin" proxy --inspect "$tmp/empty_1" >"$tmp/i3.out" 2>&1
expect_eq "empty: exit" "$?" "2"
grep -q "^$tmp/empty_1: 0 records, .*DAMAGED: empty (0 bytes)" "$tmp/i3.out" || bad "empty: $(cat "$tmp/i3.out")"

# --- 4. --extract with one basename twice.
mkdir -p "$tmp/a" "$tmp/b" "$tmp/x"
printf 'c 0.000000 con\nc 0.000001 3\nAAAs 0.000002 2\nbbc 0.000003 hup\n' >"$tmp/a/log_1"
printf 'c 0.000000 con\nc 0.000001 3\nCCCs 0.000002 2\nddc 0.000003 hup\n' >"$tmp/b/log_1"
"$proxy_bin" proxy --inspect "$tmp/a/log_1" "$tmp/b/log_1" --extract "$tmp/x" >"$tmp/i4.out" 2>"$tmp/i4.err"
expect_eq "extract: exit" "$?" "0"
expect_eq "extract: first" "$(cat "$tmp/x/log_1.c")$(cat "$tmp/x/log_1.s")" "AAAbb"
expect_eq "extract: second" "$(cat "$tmp/x/log_1-2.c" 2>/dev/null)$(cat "$tmp/x/log_1-2.s" 2>/dev/null)" "CCCdd"
grep -q "$tmp/b/log_1: extracted as log_1-2.c and log_1-2.s" "$tmp/i4.err" || bad "extract: no note: $(cat "$tmp/i4.err")"

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
