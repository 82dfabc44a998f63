#!/usr/bin/env bash
# tcpscribe proxy between real programs: redis-cli and redis-benchmark in
# front of redis-server, curl in front of python3's http.server (over IPv6,
# with a host name for --forward). Every byte of every netrecord log is
# checked against two independent witnesses:
#  - what the programs sent and received (files, redis values, bodies);
#  - a passive capture of the same traffic (tcpdump -i lo), reconstructed by
#    `tcpscribe -r cap.pcap -o DIR`: for each log, the client<->proxy leg and
#    the proxy<->server leg must both equal the log's c and s streams.
# The log is also parsed twice, by an independent Python reader here and by
# tcpscribe's own reader (proxy --inspect --extract).
# Usage: proxy_real_servers.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

"$proxy_bin" proxy --help >/dev/null 2>&1 || skip "this tcpscribe has no proxy mode"
[ "$(id -u)" -eq 0 ] || skip "needs root for tcpdump -i lo"
for c in redis-server redis-cli redis-benchmark curl tcpdump python3; do
  if ! command -v $c >/dev/null; then
    pkg=$c
    case $c in redis-cli | redis-benchmark) pkg=redis-tools ;; esac
    apt-get install -y -qq "$pkg" >/dev/null 2>&1 || true
    command -v $c >/dev/null || skip "$c is missing and could not be installed"
  fi
done
[ -e /proc/net/if_inet6 ] || skip "no IPv6 on this host"

rport=$(free_port) hport=$(free_port) p1=$(free_port) p2=$(free_port)

# The passive witness: everything on lo between the four ports.
tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -w "$tmp/cap.pcap" \
  "tcp port $rport or tcp port $hport or tcp port $p1 or tcp port $p2" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 100); do grep -q 'listening on' "$tmp/tcpdump.err" && break; sleep 0.05; done

redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
mkdir -p "$tmp/www" "$tmp/logs"
head -c 3000000 /dev/urandom >"$tmp/www/blob.bin"
printf 'small file\n' >"$tmp/www/small.txt"
(cd "$tmp/www" && exec python3 -m http.server --bind 127.0.0.1 "$hport") >"$tmp/http.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$rport" || skip "redis-server did not start"
wait_port 127.0.0.1 "$hport" || skip "http.server did not start"

# Proxy 1 in netrecord's own argument order; proxy 2 on IPv6 with a name.
"$proxy_bin" proxy --json 127.0.0.1 "$rport" "$p1" "$tmp/logs/redis" >"$tmp/redis.jsonl" 2>"$tmp/proxy1.err" &
proxy1=$!
"$proxy_bin" proxy --json --listen "[::1]:$p2" --forward "localhost:$hport" \
  --log-root "$tmp/logs/http" >"$tmp/http.jsonl" 2>"$tmp/proxy2.err" &
proxy2=$!
pids+=($proxy1 $proxy2)
wait_port 127.0.0.1 "$p1" || { bad "proxy 1 did not start: $(cat "$tmp/proxy1.err")"; exit 1; }
wait_port ::1 "$p2" || { bad "proxy 2 did not start: $(cat "$tmp/proxy2.err")"; exit 1; }
# wait_port made one empty connection to each proxy: they have logs too.

# Redis: values survive the trip, including binary ones.
[ "$(redis-cli -p "$p1" ping)" = PONG ] || bad "redis-cli ping through the proxy"
head -c 100000 /dev/urandom >"$tmp/value.bin"
redis-cli -p "$p1" -x set binkey <"$tmp/value.bin" >/dev/null || bad "redis-cli set"
redis-cli -p "$p1" --no-raw get binkey >/dev/null
redis-cli -p "$p1" --raw getrange binkey 0 -1 | head -c 100000 >"$tmp/value.out"
cmp -s "$tmp/value.bin" "$tmp/value.out" || bad "a 100 kB binary value changed through the proxy"
redis-benchmark -p "$p1" -n 3000 -c 20 -P 4 -t set,get,lpush,lrange_100 -q >"$tmp/bench.out" 2>&1 ||
  bad "redis-benchmark through the proxy: $(tail -3 "$tmp/bench.out")"
grep -q 'requests per second' "$tmp/bench.out" || bad "redis-benchmark printed no rates"

# HTTP over IPv6: two requests (http.server speaks HTTP/1.0: a connection
# each) and a 404.
curl -sS -g "http://[::1]:$p2/blob.bin" "http://[::1]:$p2/small.txt" -o "$tmp/blob.out" -o "$tmp/small.out" ||
  bad "curl through the proxy"
cmp -s "$tmp/www/blob.bin" "$tmp/blob.out" || bad "3 MB body changed through the proxy"
cmp -s "$tmp/www/small.txt" "$tmp/small.out" || bad "small body changed through the proxy"
code=$(curl -s -g -o /dev/null -w '%{http_code}' "http://[::1]:$p2/nope")
[ "$code" = 404 ] || bad "404 through the proxy came back as $code"

sleep 0.3
kill -TERM $proxy1 $proxy2
wait $proxy1; rc1=$?
wait $proxy2; rc2=$?
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] || bad "proxies exited $rc1 and $rc2 after SIGTERM"
sleep 0.3
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null
# A witness that lost packets (a busy machine) has holes: its streams cannot
# judge the logs then, and the comparison with it is skipped, loudly.
kdrop=$(sed -n 's/^\([0-9][0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$tmp/tcpdump.err")
[ -n "$kdrop" ] || bad "cannot read tcpdump's statistics: $(cat "$tmp/tcpdump.err")"
[ "${kdrop:-0}" = 0 ] || echo "NOTE: tcpdump lost $kdrop packets: the logs are not compared with the capture"

"$bin" -r "$tmp/cap.pcap" -o "$tmp/flows" 2>"$tmp/reconstruct.err" ||
  bad "tcpscribe -r could not reconstruct the capture: $(cat "$tmp/reconstruct.err")"
mkdir -p "$tmp/extract"
"$proxy_bin" proxy --inspect "$tmp"/logs/* --extract "$tmp/extract" >"$tmp/inspect.out" 2>&1 ||
  bad "proxy --inspect rejected a log: $(grep -v ': [0-9]* records.* hup; s: .* hup$' "$tmp/inspect.out" | head -3)"

WITNESS_COMPLETE=$([ "${kdrop:-1}" = 0 ] && echo 1 || echo 0) \
python3 - "$tmp" "$p1" "$rport" "$p2" "$hport" <<'PY' || fail=$((fail + 1))
import json, os, re, sys
tmp, p1, rport, p2, hport = sys.argv[1], *map(int, sys.argv[2:])
HEADER = re.compile(rb'([cs]) (\d+)\.(\d{6}) (con|hup|err|\d+)\n')

def parse(path):
    """An independent reader: records as (side, micros, what, data)."""
    raw = open(path, 'rb').read()
    pos, out = 0, []
    while pos < len(raw):
        m = HEADER.match(raw, pos)
        if not m:
            raise ValueError(f'{path}: bad header at byte {pos}: {raw[pos:pos+40]!r}')
        side, s, us, what = m.group(1).decode(), int(m.group(2)), int(m.group(3)), m.group(4).decode()
        pos = m.end()
        data = b''
        if what.isdigit():
            n = int(what)
            data = raw[pos:pos + n]
            if len(data) != n:
                raise ValueError(f'{path}: data record cut short')
            pos += n
        out.append((side, s * 1000000 + us, what, data))
    return out

def flow_name(addr_port):
    host, port = addr_port.rsplit(':', 1)
    host = host.strip('[]')
    if ':' in host:
        return f'{host}.{int(port):05d}'
    return '.'.join(f'{int(x):03d}' for x in host.split('.')) + f'.{int(port):05d}'

def flow(a, b):
    p = os.path.join(tmp, 'flows', f'{flow_name(a)}-{flow_name(b)}')
    return open(p, 'rb').read() if os.path.exists(p) else b''

errors = 0
def bad(msg):
    global errors
    errors += 1
    print('FAIL:', msg)

checked = 0
for jsonl, lport, listen_host in (('redis.jsonl', p1, '127.0.0.1'), ('http.jsonl', p2, '[::1]')):
    events = [json.loads(l) for l in open(os.path.join(tmp, jsonl))]
    # A console that fell behind (a busy machine: the JSON of a 3 MB
    # download is larger than the console's buffer) drops whole chunks and
    # says so; the logs stay complete (issue 18, item 8).
    behind = sum(e.get('bytes', 0) for e in events if e['event'] == 'console_behind')
    opens = {e['sid']: e for e in events if e['event'] == 'open'}
    conns = {e['sid']: e for e in events if e['event'] == 'connected'}
    data_bytes = {}
    for e in events:
        if e['event'] == 'data':
            data_bytes[(e['sid'], e['dir'])] = data_bytes.get((e['sid'], e['dir']), 0) + e['bytes']
    for sid, o in opens.items():
        log = o['log']
        recs = parse(log)
        name = os.path.basename(log)
        if not recs or recs[0][0] != 'c' or recs[0][2] != 'con':
            bad(f'{name}: does not start with c con'); continue
        times = [r[1] for r in recs]
        if times != sorted(times):
            bad(f'{name}: timestamps go backwards')
        c = b''.join(r[3] for r in recs if r[0] == 'c')
        s = b''.join(r[3] for r in recs if r[0] == 's')
        ends = [(r[0], r[2]) for r in recs if r[2] in ('hup', 'err')]
        if sorted(ends) != [('c', 'hup'), ('s', 'hup')]:
            bad(f'{name}: ends {ends}, expected c hup and s hup')
        # tcpscribe's own reader must agree with this one.
        for side, stream in (('c', c), ('s', s)):
            mine = open(os.path.join(tmp, 'extract', f'{name}.{side}'), 'rb').read()
            if mine != stream:
                bad(f'{name}.{side}: NetrecordReader differs from the Python reader')
        # The console saw the same chunks.
        shown = data_bytes.get((sid, 'C->S'), 0) + data_bytes.get((sid, 'S->C'), 0)
        if data_bytes.get((sid, 'C->S'), 0) != len(c) or data_bytes.get((sid, 'S->C'), 0) != len(s):
            if behind and shown < len(c) + len(s) and len(c) + len(s) - shown <= behind:
                print(f'NOTE: {name}: the console fell behind: {len(c) + len(s) - shown} bytes not shown '
                      f'(reported: {behind}); the log is complete')
            else:
                bad(f'{name}: console byte counts differ from the log')
        # Witness: both legs of the capture.
        client = o['client']
        proxy_addr = f'{listen_host}:{lport}'
        legs = [('client->proxy', flow(client, proxy_addr), c), ('proxy->client', flow(proxy_addr, client), s)]
        if sid in conns:
            local, up = conns[sid]['local'], conns[sid]['upstream']
            legs += [('proxy->server', flow(local, up), c), ('server->proxy', flow(up, local), s)]
        else:
            bad(f'{name}: never connected upstream')
        for what, seen, logged in legs:
            if os.environ.get('WITNESS_COMPLETE') != '1':
                break
            if seen != logged:
                bad(f'{name}: {what} capture has {len(seen)} bytes, log has {len(logged)}'
                    f'{" (same length, different bytes)" if len(seen) == len(logged) else ""}')
        checked += 1
    print(f'{jsonl}: {len(opens)} logs checked against the capture')
    if len(opens) < (20 if lport == p1 else 3):
        bad(f'{jsonl}: only {len(opens)} connections')
if checked < 25:
    bad(f'only {checked} logs checked')
sys.exit(1 if errors else 0)
PY

# The HTTP logs hold the real requests and bodies.
grep -q "GET /blob.bin HTTP/1.1" "$tmp/extract/http_2.c" || bad "http_2.c lacks the request: $(head -c 200 "$tmp/extract/http_2.c")"
tail -c 3000000 "$tmp/extract/http_2.s" | cmp -s - "$tmp/www/blob.bin" || bad "http_2.s does not end with the 3 MB body"
grep -q "GET /small.txt HTTP/1.1" "$tmp/extract/http_3.c" || bad "second request missing from http_3.c"
tail -c 11 "$tmp/extract/http_3.s" | cmp -s - "$tmp/www/small.txt" || bad "http_3.s does not end with the small body"
grep -q "GET /nope HTTP/1.1" "$tmp/extract/http_4.c" && grep -q "^HTTP/1.0 404" "$tmp/extract/http_4.s" ||
  bad "http_4 does not hold the 404 exchange"
grep -q '"upstream":"127.0.0.1:' "$tmp/http.jsonl" || bad "localhost did not fall back to 127.0.0.1 after ::1 refused"

echo "proxy_real_servers: $fail failure(s)"
[ $fail -eq 0 ]
