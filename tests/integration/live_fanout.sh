#!/usr/bin/env bash
# Live capture with --threads 2: an AF_PACKET fanout group of two TPACKET_V3
# rings on the client's end of a veth pair between two network namespaces,
# while real programs talk: 16 exact python clients each upload and
# download known random bytes (sizes differ per connection) to a python
# server, curl fetches from python3 http.server. Stopped with SIGINT, every
# flow file must equal, byte for byte, what was sent; the kernel dropped
# nothing (the drop line and the --report run record); both rings got
# packets (-v counts them per ring); a filter that excludes a port keeps
# every one of its packets out; -U nobody after the sockets are open; the
# errors a user can hit (no permission, no such interface, bad filter) in
# the libpcap path's words and exit codes; -i any falls back to libpcap.
# Usage: live_fanout.sh path/to/tcpscribe   (exit 77: skipped)
set -u
bin=$(realpath "$1")
if [ "$(id -u)" -ne 0 ]; then echo "skip: needs root (network namespaces, AF_PACKET)"; exit 77; fi
need() { command -v "$1" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1; }
need ip iproute2; need curl curl; need python3 python3; need setpriv util-linux
# Debian's python starts faster than a pyenv shim (many short clients here).
py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
id=$$
A=tsf-a-$id B=tsf-b-$id VA=tsfa$id VB=tsfb$id
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
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
ip -n "$A" addr add 10.216.0.1/24 dev "$VA" && ip -n "$B" addr add 10.216.0.2/24 dev "$VB"
ip -n "$A" link set "$VA" up && ip -n "$B" link set "$VB" up
ip -n "$A" link set lo up && ip -n "$B" link set lo up
inA() { ip netns exec "$A" "$@"; }

# The exact server: per connection, reads until the client's FIN, then
# answers with the bytes of the file named by the first line of what it
# got, and closes. The client records what it sent and received.
cat >"$tmp/exact.py" <<'PY'
import os, socket, sys, threading
if sys.argv[1] == 'serve':  # serve HOST PORT DIR READY
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((sys.argv[2], int(sys.argv[3]))); l.listen(64)
    open(sys.argv[5], 'w').close()
    def one(c):
        got = b''
        while True:
            b = c.recv(65536)
            if not b: break
            got += b
        name = got.split(b'\n', 1)[0].decode()
        with open(os.path.join(sys.argv[4], name), 'rb') as f: c.sendall(f.read())
        c.close()
    while True:
        c, _ = l.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()
else:  # fetch HOST PORT NAME UPLOAD OUT
    up = sys.argv[4].encode() + b'\n' + open(sys.argv[5], 'rb').read()
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
    s.sendall(up); s.shutdown(socket.SHUT_WR)
    got = b''
    while True:
        b = s.recv(1 << 20)
        if not b: break
        got += b
    lport = s.getsockname()[1]
    open(sys.argv[6] + '.sent', 'wb').write(up)
    open(sys.argv[6] + '.received', 'wb').write(got)
    open(sys.argv[6] + '.port', 'w').write(str(lport))
PY
mkdir -p "$tmp/srv" "$tmp/up" "$tmp/www"
for i in $(seq 16); do
  head -c $((20000 + i * 37011)) /dev/urandom >"$tmp/srv/down$i"
  head -c $((15000 + i * 29017)) /dev/urandom >"$tmp/up/up$i"
done
head -c 700000 /dev/urandom >"$tmp/www/blob.bin"
for port in 9000 9001; do
  ip netns exec "$B" $py "$tmp/exact.py" serve 10.216.0.2 $port "$tmp/srv" "$tmp/ready$port" >/dev/null 2>&1 &
  pids+=($!)
done
(cd "$tmp/www" && exec ip netns exec "$B" $py -m http.server 8000 --bind 10.216.0.2) >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  [ -f "$tmp/ready9000" ] && [ -f "$tmp/ready9001" ] && inA bash -c 'exec 3<>/dev/tcp/10.216.0.2/8000' 2>/dev/null && break
  sleep 0.1
done

# Capturers in A: everything TCP (-v: the per-ring counts; --report: the
# run record), a filter without port 9001, and -U nobody.
ip netns exec "$A" "$bin" -i "$VA" --threads 2 -v -o "$tmp/all" --report "$tmp/all.jsonl" 'tcp' \
  >/dev/null 2>"$tmp/all.err" &
cap_all=$!
ip netns exec "$A" "$bin" -i "$VA" --threads 2 -o "$tmp/no9001" 'tcp and not port 9001' \
  >/dev/null 2>"$tmp/no9001.err" &
cap_filter=$!
mkdir -p "$tmp/owned"
ip netns exec "$A" "$bin" -i "$VA" --threads 2 -U nobody -o "$tmp/owned/new" 'tcp port 9000' \
  >/dev/null 2>"$tmp/nobody.err" &
cap_nobody=$!
pids+=($cap_all $cap_filter $cap_nobody)
for f in all no9001 nobody; do
  for _ in $(seq 100); do grep -q 'listening on' "$tmp/$f.err" 2>/dev/null && break; sleep 0.05; done
done
sleep 0.3

# 16 exact connections to 9000 and 4 to 9001, run 4 at a time; 3 curls.
run_clients() {
  local port=$1 from=$2 to=$3 i batch=()
  for i in $(seq "$from" "$to"); do
    inA $py "$tmp/exact.py" fetch 10.216.0.2 "$port" "down$i" "$tmp/up/up$i" "$tmp/c$port-$i" &
    batch+=($!)
    if [ ${#batch[@]} -eq 4 ]; then wait "${batch[@]}"; batch=(); fi
  done
  [ ${#batch[@]} -eq 0 ] || wait "${batch[@]}"
}
run_clients 9000 1 16
run_clients 9001 1 4
for i in 1 2 3; do inA curl -s -o "$tmp/curl$i" http://10.216.0.2:8000/blob.bin; done
cmp -s "$tmp/curl1" "$tmp/www/blob.bin" && ok || bad "curl body differs (sanity)"
sleep 0.5

for p in $cap_all $cap_filter $cap_nobody; do kill -INT "$p"; done
for p in $cap_all $cap_filter $cap_nobody; do
  wait "$p"; rc=$?
  [ $rc -eq 0 ] && ok || bad "capture $p exited $rc: $(cat "$tmp"/*.err | grep -v '^tcpscribe: [0-9]' | head -5)"
done

# tcpflow's name of an address.port: 10.216.0.1.40111 -> 010.216.000.001.40111
name() {
  local a x b=()
  IFS=. read -ra a <<<"$1"
  for x in "${a[@]}"; do b+=($((10#$x))); done
  printf '%03d.%03d.%03d.%03d.%05d' "${b[@]}"
}
# check_dir DIR PORT FIRST LAST: the flow files of those exact clients.
check_dir() {
  local dir=$1 port=$2 i c s n=0
  s=$(name 10.216.0.2.$port)
  for i in $(seq "$3" "$4"); do
    c=$(name "10.216.0.1.$(cat "$tmp/c$port-$i.port")")
    if cmp -s "$dir/$c-$s" "$tmp/c$port-$i.sent" && cmp -s "$dir/$s-$c" "$tmp/c$port-$i.received"; then
      n=$((n + 1))
    else
      echo "  $dir: connection $i to $port differs: $(stat -c %s "$dir/$c-$s" "$dir/$s-$c" 2>&1 | tr '\n' ' ') vs $(stat -c %s "$tmp/c$port-$i.sent" "$tmp/c$port-$i.received" | tr '\n' ' ')"
    fi
  done
  echo $n
}
# Sanity: the clients got what the server holds.
for i in $(seq 16); do cmp -s "$tmp/c9000-$i.received" "$tmp/srv/down$i" || bad "client $i received the wrong bytes (sanity)"; done

n=$(check_dir "$tmp/all" 9000 1 16 | tail -1)
[ "$n" = 16 ] && ok || bad "all: $n of 16 connections to 9000 byte-exact both ways: $(check_dir "$tmp/all" 9000 1 16 | head -3)"
n=$(check_dir "$tmp/all" 9001 1 4 | tail -1)
[ "$n" = 4 ] && ok || bad "all: $n of 4 connections to 9001 byte-exact"
s_http=$(name 10.216.0.2.8000)
n=0
for f in "$tmp"/all/"$s_http"-*; do
  $py -c "import sys; d=open(sys.argv[1],'rb').read(); b=open(sys.argv[2],'rb').read(); sys.exit(0 if d.endswith(b) else 1)" "$f" "$tmp/www/blob.bin" && n=$((n + 1))
done
[ $n -eq 3 ] && ok || bad "all: $n of 3 curl downloads end with blob.bin"
files=$(find "$tmp/all" -type f | wc -l)
[ "$files" -eq $(((16 + 4 + 3) * 2)) ] && ok || bad "all: $files flow files, want 46"

# No drops, in tcpdump's words and in the report's run record.
grep -q '^0 packets dropped by kernel$' "$tmp/all.err" && ok || bad "drops: $(grep dropped "$tmp/all.err")"
tail -n 1 "$tmp/all.jsonl" | $py -c '
import json, sys
r = json.loads(sys.stdin.read())
t = r.get("run", r).get("totals", r.get("run", r))
def find(o, k):
    if isinstance(o, dict):
        if k in o: return o[k]
        for v in o.values():
            x = find(v, k)
            if x is not None: return x
    return None
sys.exit(0 if find(r, "kernel_drops") == 0 else 1)' && ok || bad "report: kernel_drops is not 0: $(tail -n 1 "$tmp/all.jsonl" | head -c 600)"
# Both rings got packets, and together all that was captured.
line=$(grep 'AF_PACKET fanout: ring 0' "$tmp/all.err")
r0=$(echo "$line" | sed -n 's/.*ring 0 \([0-9]*\) packets.*/\1/p')
r1=$(echo "$line" | sed -n 's/.*ring 1 \([0-9]*\) packets.*/\1/p')
captured=$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$tmp/all.err")
[ -n "$r0" ] && [ -n "$r1" ] && [ "$r0" -gt 0 ] && [ "$r1" -gt 0 ] && [ $((r0 + r1)) -eq "$captured" ] && ok ||
  bad "rings: '$line', $captured captured"
grep -q 'capturing through AF_PACKET: 2 TPACKET_V3 rings' "$tmp/all.err" && ok || bad "no AF_PACKET line with -v: $(head -3 "$tmp/all.err")"
[ "$(head -n 1 "$tmp/all.err")" = "tcpscribe: listening on $VA, link-type EN10MB (Ethernet), snapshot length 262144 bytes" ] && ok ||
  bad "listening line: $(head -n 1 "$tmp/all.err")"

# The filter: 9000 exact, nothing of 9001.
n=$(check_dir "$tmp/no9001" 9000 1 16 | tail -1)
[ "$n" = 16 ] && ok || bad "filtered: $n of 16 connections to 9000 byte-exact"
leaked=$(find "$tmp/no9001" -name '*09001*' | wc -l)
[ "$leaked" -eq 0 ] && ok || bad "filtered: $leaked files of port 9001 despite 'not port 9001'"
grep -q '^0 packets dropped by kernel$' "$tmp/no9001.err" && ok || bad "filtered drops: $(grep dropped "$tmp/no9001.err")"

# -U nobody: the sockets were opened before root was dropped.
[ "$(stat -c %U "$tmp/owned/new")" = nobody ] && ok || bad "-U: directory not handed to nobody: $(cat "$tmp/nobody.err")"
n=$(check_dir "$tmp/owned/new" 9000 1 16 | tail -1)
[ "$n" = 16 ] && ok || bad "-U nobody: $n of 16 connections byte-exact: $(cat "$tmp/nobody.err" | head -3)"

# -i any has no single link type: libpcap captures, with a warning.
ip netns exec "$A" "$bin" -i any --threads 2 -o "$tmp/any" 'tcp port 9000' >/dev/null 2>"$tmp/any.err" &
cap_any=$!
pids+=($cap_any)
for _ in $(seq 100); do grep -q 'listening on' "$tmp/any.err" && break; sleep 0.05; done
inA $py "$tmp/exact.py" fetch 10.216.0.2 9000 down1 "$tmp/up/up1" "$tmp/any1"
sleep 0.3
kill -INT $cap_any; wait $cap_any; rc=$?
c=$(name "10.216.0.1.$(cat "$tmp/any1.port")") s=$(name 10.216.0.2.9000)
[ $rc -eq 0 ] && grep -q "warning: --threads 2: any has no AF_PACKET fanout.*capturing through libpcap on one ring" "$tmp/any.err" &&
  cmp -s "$tmp/any/$s-$c" "$tmp/any1.received" && ok || bad "-i any --threads 2: exit $rc: $(head -3 "$tmp/any.err")"

# Errors a user can hit, as the libpcap path reports them.
setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$bin" -i lo --threads 2 -c >/dev/null 2>"$tmp/perm.err"; rc=$?
[ $rc -eq 4 ] && grep -q 'no permission to capture.*run as root' "$tmp/perm.err" && ok || bad "no permission: exit $rc: $(cat "$tmp/perm.err")"
"$bin" -i nosuch0 --threads 2 -c >/dev/null 2>"$tmp/dev.err"; rc=$?
[ $rc -eq 4 ] && grep -q "no such interface 'nosuch0' (interfaces here: .*lo" "$tmp/dev.err" && ok || bad "no such interface: exit $rc: $(cat "$tmp/dev.err")"
"$bin" -i lo --threads 2 -c 'tcp port' >/dev/null 2>"$tmp/filter.err"; rc=$?
[ $rc -eq 1 ] && grep -q "filter 'tcp port' does not compile" "$tmp/filter.err" && ok || bad "bad filter: exit $rc: $(cat "$tmp/filter.err")"
ip -n "$A" link add tsfdown$id type veth peer name tsfdpeer$id && {
  ip netns exec "$A" "$bin" -i tsfdown$id --threads 2 -c >/dev/null 2>"$tmp/down.err"; rc=$?
  [ $rc -eq 4 ] && grep -q "interface tsfdown$id is down (ip link set tsfdown$id up)" "$tmp/down.err" && ok || bad "down: exit $rc: $(cat "$tmp/down.err")"
}

echo "live fanout: rings $r0 + $r1 packets; $pass passed, $fail failed"
[ $fail -eq 0 ]
