#!/usr/bin/env bash
# The redis analyzer on live traffic of a real redis-server (with a
# password), captured by tcpdump on lo: redis-cli commands, MULTI/EXEC,
# `redis-cli --pipe`, redis-benchmark -P 16 (pipelined), pub/sub, RESP3
# (`redis-cli -3`, HELLO 3) and MONITOR. The server's own MONITOR stream is
# the truth: every command it logged is in `--messages` with its arguments
# and a reply; replies pair by order (the values read back); pushes are not
# paired; the password is in no output (--messages, -c --decode, --report,
# stderr). Then the same through `tcpscribe proxy --decode --messages`.
# Usage: redis_real.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in redis-server redis-cli redis-benchmark python3 tcpdump; do
  command -v $c >/dev/null || skip "$c is missing (scripts/test.sh installs redis-server redis-tools tcpdump)"
done
[ "$(id -u)" = 0 ] || skip "tcpdump on lo needs root"

pw="pw-S3cret-$RANDOM-zz"
port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --requirepass "$pw" \
  >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_port "$port" || skip "redis-server did not start"
rc() { REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$port" "$@"; }

tcpdump -i lo -s 0 -U -B 65536 -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.1; done
grep -q "listening on" "$tmp/tcpdump.err" || skip "tcpdump did not start: $(cat "$tmp/tcpdump.err")"

# The server's truth: MONITOR sees every command the others send.
rc monitor >"$tmp/monitor.txt" 2>&1 &
mon=$!
pids+=($mon)
sleep 0.3

rc SET user:1 Ada >/dev/null
rc GET user:1 >"$tmp/get.out"
rc SET "bin:key" "$(printf 'caf\xc3\xa9 x')" >/dev/null
rc -a "$pw" --no-auth-warning PING >/dev/null  # AUTH with the password on the command line
rc NOSUCHCOMMAND a >/dev/null 2>&1
(printf 'MULTI\nINCR ctr\nINCR ctr\nEXEC\n'; sleep 0.5) | rc >/dev/null  # stdin open until EXEC's reply is read
printf 'SET pipe:%d v%d\r\n' 1 1 2 2 3 3 | rc --pipe >/dev/null 2>&1
rc -3 HSET h f1 v1 f2 v2 >/dev/null
rc -3 HGETALL h >/dev/null
# pub/sub: a subscriber for one message, a publisher.
timeout 5 redis-cli --no-auth-warning -a "$pw" -p "$port" subscribe news >"$tmp/sub.out" 2>&1 &
sub=$!
sleep 0.3
rc PUBLISH news "hello subscribers" >/dev/null
sleep 0.3
kill $sub 2>/dev/null
redis-benchmark -p "$port" -a "$pw" -P 16 -n 2000 -c 2 -t set,get -q >"$tmp/bench.out" 2>&1 \
  || bad "redis-benchmark failed: $(tail -3 "$tmp/bench.out")"
sleep 0.5
kill $mon 2>/dev/null
sleep 2  # tcpdump writes what it holds before the INT
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null

"$bin" -r "$tmp/cap.pcap" --messages "$tmp/m.jsonl" --report "$tmp/r.jsonl" \
  >"$tmp/run.out" 2>"$tmp/run.err" || bad "tcpscribe failed: $(cat "$tmp/run.err")"
"$bin" -c --decode -r "$tmp/cap.pcap" >"$tmp/decode.out" 2>"$tmp/decode.err" \
  || bad "tcpscribe -c --decode failed: $(cat "$tmp/decode.err")"

python3 - "$tmp" "$pw" <<'PY' || bad "the records do not match the server's MONITOR log"
import collections, json, re, sys
tmp, pw = sys.argv[1], sys.argv[2]
recs = [json.loads(l) for l in open(f"{tmp}/m.jsonl")]
redis = [r for r in recs if r["proto"] == "redis"]
cmds = [r for r in redis if not r["push"]]
pushes = [r for r in redis if r["push"]]
fail = []
# MONITOR lines: 1700000000.123456 [0 127.0.0.1:5000] "SET" "k" "v"
def unquote(s):
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x":
                out.append(int(s[i + 2:i + 4], 16)); i += 4; continue
            out += {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b"}.get(n, n.encode()); i += 2; continue
        out += c.encode(); i += 1
    return bytes(out)
def esc(b):  # the analyzer's rendering: UTF-8 kept, the rest as \xHH
    out = ""
    for ch in b.decode("utf-8", "surrogateescape"):
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:
            out += "\\x%02x" % (o - 0xDC00)
        elif ch == "\\":
            out += "\\\\"
        elif ch in "\n\r\t":
            out += {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch]
        elif o < 0x20 or o == 0x7F:
            out += "\\x%02x" % o
        else:
            out += ch
    return out
logged = collections.Counter()
for line in open(f"{tmp}/monitor.txt", errors="replace"):
    m = re.match(r'^[0-9.]+ \[\d+ [^\]]+\] (.*)$', line.strip())
    if not m:
        continue
    words = [unquote(w) for w in re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))]
    name = words[0].decode().upper()
    if name in ("AUTH", "HELLO"):  # MONITOR hides their arguments
        logged[(name,)] += 1
        continue
    logged[(name,) + tuple(esc(w) for w in words[1:])] += 1
seen = collections.Counter()
for r in cmds:
    if r["command"] in ("AUTH", "HELLO"):
        seen[(r["command"],)] += 1
    else:
        seen[(r["command"],) + tuple(r["args"])] += 1
missing = logged - seen
if missing:
    fail.append(f"{sum(missing.values())} logged commands not in --messages, e.g. {list(missing.items())[:5]}")
print(f"MONITOR logged {sum(logged.values())} commands; --messages has {len(cmds)} commands "
      f"and {len(pushes)} pushes")
if sum(logged.values()) < 2000:
    fail.append("MONITOR logged fewer than the benchmark's 2000 commands")
# Every command answered, with a latency; order pairing gives the right values.
unanswered = [r for r in cmds if r["reply"] is None and r["command"] != "SUBSCRIBE"]
if unanswered:
    fail.append(f"{len(unanswered)} commands without a reply, e.g. {unanswered[:2]}")
if any(r["reply"] is not None and r["latency"] is None for r in cmds):
    fail.append("a reply without latency")
def one(pred, what):
    got = [r for r in cmds if pred(r)]
    if not got:
        fail.append(f"no record for {what}")
    return got[0] if got else None
r = one(lambda r: r["command"] == "GET" and r["args"] == ["user:1"], "GET user:1")
if r and r["reply"] != '"Ada"':
    fail.append(f"GET user:1 replied {r['reply']}")
r = one(lambda r: r["command"] == "SET" and r["args"][:1] == ["bin:key"], "SET bin:key")
if r and r["args"][1] != "caf\u00e9 x":
    fail.append(f"UTF-8 argument: {r['args']}")
r = one(lambda r: r["command"] == "NOSUCHCOMMAND", "the unknown command")
if r and not (r["error"] or "").startswith("ERR unknown command"):
    fail.append(f"unknown command error: {r['error']}")
r = one(lambda r: r["command"] == "EXEC", "EXEC")
if r and r["reply"] != "*2 [:1, :2]":
    fail.append(f"EXEC reply: {r['reply']}")
if len([r for r in cmds if r["reply"] == "+QUEUED"]) != 2:
    fail.append("the two queued INCRs are not answered +QUEUED")
r = one(lambda r: r["command"] == "HELLO" and r["args"][:1] == ["3"], "HELLO 3")
if r and not r["reply"].startswith("%"):
    fail.append(f"HELLO 3 reply is not a RESP3 map: {r['reply']}")
r = one(lambda r: r["command"] == "HGETALL", "HGETALL over RESP3")
if r and not r["reply"].startswith("%2 {"):
    fail.append(f"HGETALL over RESP3: {r['reply']}")
one(lambda r: r["command"] == "SUBSCRIBE" and r["reply"] and "subscribe" in r["reply"], "SUBSCRIBE's confirmation")
if not any("hello subscribers" in p["reply"] and "message" in p["reply"] for p in pushes):
    fail.append("the published message is not a push")
if not any(p["reply"].startswith("+") and '"SET"' in p["reply"] for p in pushes):
    fail.append("MONITOR's stream is not pushes")
if len([r for r in cmds if r["command"] == "SET" and r["args"][:1] == ["pipe:1"]]) != 1:
    fail.append("redis-cli --pipe's inline command is missing")
# The password: nowhere.
for f in ("m.jsonl", "r.jsonl", "run.out", "run.err", "decode.out", "decode.err"):
    if pw in open(f"{tmp}/{f}", errors="replace").read():
        fail.append(f"the password is in {f}")
if not any(r["command"] == "AUTH" and r["args"] and r["args"][-1].startswith("[redacted, ") for r in cmds):
    fail.append("no redacted AUTH")
dec = open(f"{tmp}/decode.out", errors="replace").read()
if "[redis] SET user:1 Ada" not in dec or "[redis] +OK (+" not in dec:
    fail.append("the --decode view lacks the SET and its +OK")
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
PY

# --- Packet loss on both sides: 2,000 pipelined SET/GET pairs with unique
# values, a capture with every 9th data packet of each direction left out.
# Decoding stops at a gap (reported), but no GET is ever paired with a
# wrong reply, and what was paired before the first gap is all there.
tcpdump -i lo -s 0 -U -B 65536 -w "$tmp/pipe.pcap" "tcp port $port" 2>"$tmp/tcpdump2.err" &
tp2=$!
pids+=($tp2)
for _ in $(seq 50); do grep -q "listening on" "$tmp/tcpdump2.err" && break; sleep 0.1; done
python3 - "$port" "$pw" <<'PY' || bad "the pipelining client failed"
import socket, sys
port, pw = int(sys.argv[1]), sys.argv[2].encode()
def cmd(*a):
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(cmd(b"AUTH", pw))
for n in range(0, 2000, 10):  # 200 segments at least, so that some are lost
    s.sendall(b"".join(cmd(b"SET", b"loss:%d" % i, b"value-%d" % i) + cmd(b"GET", b"loss:%d" % i)
                       for i in range(n, n + 10)))
want = b"+OK\r\n" + b"".join(b"+OK\r\n$%d\r\nvalue-%d\r\n" % (len(b"value-%d" % i), i) for i in range(2000))
got = b""
while len(got) < len(want):
    got += s.recv(65536)
assert got == want
s.close()
PY
sleep 2
kill -INT $tp2
wait $tp2 2>/dev/null
python3 - "$tmp/pipe.pcap" "$tmp/lossy.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
out, at, seen = [d[:24]], 24, {}
while at + 16 <= len(d):
    n = struct.unpack("<I", d[at + 8:at + 12])[0]
    rec = d[at:at + 16 + n]
    at += 16 + n
    f = rec[16:]
    ihl = (f[14] & 15) * 4
    tcp = f[14 + ihl:]
    payload = len(f) - 14 - ihl - (tcp[12] >> 4) * 4
    if payload > 0:
        k = tcp[:2]
        seen[k] = seen.get(k, 0) + 1
        if seen[k] % 9 == 0:
            continue
    out.append(rec)
open(sys.argv[2], "wb").write(b"".join(out))
PY
"$bin" -r "$tmp/lossy.pcap" --messages "$tmp/lossy.jsonl" >/dev/null 2>"$tmp/lossy.err" \
  || bad "tcpscribe failed on the lossy capture: $(cat "$tmp/lossy.err")"
python3 - "$tmp/lossy.jsonl" "$tmp/lossy.err" <<'PY' || bad "the lossy capture's records are wrong"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"redis"' in l]
gets = [r for r in recs if r["command"] == "GET"]
wrong = [r for r in gets if r["reply"] is not None and r["reply"] != '"value-%s"' % r["args"][0].split(":")[1]]
paired = [r for r in gets if r["reply"] is not None]
print(f"lossy capture: {len(recs)} records, {len(gets)} GETs, {len(paired)} paired, {len(wrong)} paired wrong")
# Some replies are lost (fewer than all paired), none is paired wrong.
sys.exit(0 if not wrong and paired and len(paired) < 2000 else 1)
PY

# --- Through the proxy: the same analyzer on the proxy's connections.
pp=$(free_port)
"$proxy_bin" proxy --listen "127.0.0.1:$pp" --forward "127.0.0.1:$port" --decode \
  --messages "$tmp/pm.jsonl" >"$tmp/proxy.out" 2>"$tmp/proxy.err" &
ppid=$!
pids+=($ppid)
wait_port "$pp" || bad "the proxy did not start: $(cat "$tmp/proxy.err")"
REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$pp" SET via:proxy yes >/dev/null
REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$pp" GET via:proxy >/dev/null
sleep 0.5
kill -INT $ppid
wait $ppid 2>/dev/null
grep -q '\[redis\] SET via:proxy yes' "$tmp/proxy.out" || bad "the proxy's --decode lacks the SET: $(head -20 "$tmp/proxy.out")"
grep -q '\[redis\] "yes" (+' "$tmp/proxy.out" || bad "the proxy's --decode lacks the GET's reply"
grep -q '"command":"GET","args":\["via:proxy"\],"reply":"\\"yes\\""' "$tmp/pm.jsonl" \
  || bad "the proxy's --messages lacks the GET: $(cat "$tmp/pm.jsonl")"
! grep -q -- "$pw" "$tmp/proxy.out" "$tmp/proxy.err" "$tmp/pm.jsonl" || bad "the password is in the proxy's output"

[ $fail = 0 ] && echo "redis_real: OK"
exit $fail
