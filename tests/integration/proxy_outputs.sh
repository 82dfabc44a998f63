#!/usr/bin/env bash
# The proxy on the passive mode's outputs: curl <-> python3's http.server
# (HTTP/1.1, keep-alive) and redis-cli <-> redis-server through
# `tcpscribe proxy --report --messages -o --html --har --netrecord`, while
# tcpdump captures the proxy -> upstream legs. `tcpscribe -r` of that
# capture must tell the same story: per connection (in order) the bytes of
# each direction, FIN/RST, conn_state and close_reason; the flow files
# byte for byte; the --messages lines and the HAR entries (ids, times and
# the client's port aside). The HTML report and the netrecord logs exist.
# Usage: proxy_outputs.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

# An output that cannot be opened stops the proxy before it accepts anyone:
# one line, exit 3; standard output shared with the console view: exit 1.
for args in "--report /nonexistent/r.jsonl" "--messages /nonexistent/m.jsonl" "-o /proc/flows" \
  "--html /nonexistent/r.html" "--har /nonexistent/r.har" "--report - --har $tmp/x.har" \
  "-q --report - --messages -"; do
  want=3
  case $args in *" - "* | *" -") want=1 ;; esac
  # shellcheck disable=SC2086
  timeout 10 "$proxy_bin" proxy -l 127.0.0.1:0 -f 127.0.0.1:1 $args >/dev/null 2>"$tmp/err"
  rc=$?
  [ $rc -eq $want ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^tcpscribe proxy: ' "$tmp/err" ||
    bad "proxy $args: exit $rc (expected $want), stderr: $(cat "$tmp/err")"
done
[ -e "$tmp/x.har" ] && bad "a refused run created its --har"

[ "$(id -u)" -eq 0 ] || skip "needs root for tcpdump -i lo"
for c in redis-server redis-cli curl tcpdump python3; do
  command -v $c >/dev/null || skip "$c is missing (scripts/test.sh installs it)"
done

hport=$(free_port) rport=$(free_port) ph=$(free_port) pr=$(free_port)

mkdir -p "$tmp/www" "$tmp/logs"
printf 'small file\n' >"$tmp/www/small.txt"
head -c 300000 /dev/urandom >"$tmp/www/blob.bin"
printf '<html><body>index</body></html>\n' >"$tmp/www/index.html"
# HTTP/1.1, so that curl keeps one connection for several requests.
python3 - "$hport" "$tmp/www" >"$tmp/http.log" 2>&1 <<'PY' &
import functools, http.server, sys
h = http.server.SimpleHTTPRequestHandler
h.protocol_version = "HTTP/1.1"
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
                                functools.partial(h, directory=sys.argv[2])).serve_forever()
PY
pids+=($!)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_port "$hport" || skip "http.server did not start"
wait_port "$rport" || skip "redis-server did not start"

# The witness: the proxy -> upstream legs only (the probes above are over).
tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -w "$tmp/cap.pcap" \
  "tcp port $hport or tcp port $rport" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
wait_line "$tmp/tcpdump.err" 'listening on' || skip "tcpdump did not start: $(cat "$tmp/tcpdump.err")"

start_proxy() {  # start_proxy NAME LISTEN_PORT UPSTREAM_PORT: sets proxy_pid
  "$proxy_bin" proxy -l "127.0.0.1:$2" -f "127.0.0.1:$3" --netrecord "$tmp/logs/$1" \
    --report "$tmp/$1.report" --messages "$tmp/$1.messages" -o "$tmp/$1.flows" \
    --html "$tmp/$1.html" --har "$tmp/$1.har" >"$tmp/$1.console" 2>"$tmp/$1.err" &
  proxy_pid=$!
  pids+=($proxy_pid)
  # Not wait_port: a probe would be a connection of its own.
  wait_line "$tmp/$1.err" 'listening on' || { bad "proxy $1 did not start: $(cat "$tmp/$1.err")"; exit 1; }
}
start_proxy http "$ph" "$hport"; hproxy=$proxy_pid
start_proxy redis "$pr" "$rport"; rproxy=$proxy_pid

# HTTP: three requests on one keep-alive connection, then a 404 and a POST
# (501) on connections of their own.
curl -sS "http://127.0.0.1:$ph/small.txt" "http://127.0.0.1:$ph/blob.bin" "http://127.0.0.1:$ph/" \
  -o "$tmp/small.out" -o "$tmp/blob.out" -o "$tmp/index.out" || bad "curl through the proxy"
cmp -s "$tmp/www/blob.bin" "$tmp/blob.out" || bad "the body changed through the proxy"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ph/nope")
[ "$code" = 404 ] || bad "404 through the proxy came back as $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -d 'a=1' "http://127.0.0.1:$ph/small.txt")
[ "$code" = 501 ] || bad "POST through the proxy came back as $code"
# Redis: several commands on one connection, then another connection.
printf 'PING\nSET k hello\nGET k\nINCR n\nINCR n\n' | redis-cli -p "$pr" >"$tmp/redis.out" ||
  bad "redis-cli through the proxy"
[ "$(tail -1 "$tmp/redis.out")" = 2 ] || bad "redis answered $(tr '\n' ' ' <"$tmp/redis.out")"
redis-cli -p "$pr" lpush l a b c >/dev/null || bad "redis-cli lpush through the proxy"

sleep 0.3
kill -INT $hproxy $rproxy
wait $hproxy; rc1=$?
wait $rproxy; rc2=$?
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] || bad "proxies exited $rc1 and $rc2 after SIGINT"
sleep 0.3
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null
kdrop=$(sed -n 's/^\([0-9][0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$tmp/tcpdump.err")
[ "${kdrop:-x}" = 0 ] || skip "tcpdump lost packets ($kdrop): the capture cannot judge the proxy"

"$bin" -r "$tmp/cap.pcap" --report "$tmp/cap.report" --messages "$tmp/cap.messages" \
  --har "$tmp/cap.har" -o "$tmp/cap.flows" 2>"$tmp/cap.err" ||
  bad "tcpscribe -r of the capture: $(cat "$tmp/cap.err")"

python3 - "$tmp" "$hport" "$rport" "$ph" "$pr" <<'PY' || fail=$((fail + 1))
import json, os, sys
tmp, hport, rport, ph, pr = sys.argv[1], *map(int, sys.argv[2:])
bad = 0
def fail(msg):
    global bad
    bad += 1
    print("FAIL:", msg)

def lines(path):
    return [json.loads(l) for l in open(path) if l.strip()]

def flow_name(ip, port):
    return ".".join("%03d" % int(x) for x in ip.split(".")) + ".%05d" % port

def flow_file(d, c, direction):
    a, b = (c["client_ip"], c["client_port"]), (c["server_ip"], c["server_port"])
    if direction == "s2c":
        a, b = b, a
    path = os.path.join(d, flow_name(*a) + "-" + flow_name(*b))
    return open(path, "rb").read() if os.path.exists(path) else b""

cap = sorted((c for c in lines(f"{tmp}/cap.report") if "run" not in c), key=lambda c: c["id"])
cap_msgs = lines(f"{tmp}/cap.messages")
cap_har = json.load(open(f"{tmp}/cap.har"))["log"]["entries"]
KEYS = ("conn_state", "close_reason", "handshake_seen")
DKEYS = ("unique_bytes", "fin", "rst")

def strip(m):
    return {k: v for k, v in m.items() if k not in ("conn", "ts", "end", "latency")}

def har_view(entries):
    out = []
    for e in entries:
        out.append((e["request"]["method"], e["request"]["url"], e["response"]["status"],
                    e["response"]["content"]["size"], e["response"]["bodySize"],
                    e["request"]["bodySize"]))
    return out

for name, port, want_conns in (("http", hport, 3), ("redis", rport, 2)):
    mine = sorted(lines(f"{tmp}/{name}.report"), key=lambda c: c["id"])
    theirs = [c for c in cap if c["server_port"] == port]
    if len(mine) != want_conns or len(theirs) != want_conns:
        fail(f"{name}: {len(mine)} connections from the proxy, {len(theirs)} in the capture, "
             f"expected {want_conns}")
        continue
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if a["server_port"] != port:
            fail(f"{name} #{i}: the proxy's report names server port {a['server_port']}")
        for k in KEYS:
            if a[k] != b[k]:
                fail(f"{name} #{i}: {k} {a[k]!r} from the proxy, {b[k]!r} from the capture")
        for d in ("c2s", "s2c"):
            for k in DKEYS:
                if a[d][k] != b[d][k]:
                    fail(f"{name} #{i} {d}: {k} {a[d][k]!r} from the proxy, {b[d][k]!r} from the capture")
            if a[d]["payload_bytes"] != a[d]["unique_bytes"]:
                fail(f"{name} #{i} {d}: payload_bytes {a[d]['payload_bytes']} != unique_bytes")
            fa, fb = flow_file(f"{tmp}/{name}.flows", a, d), flow_file(f"{tmp}/cap.flows", b, d)
            if len(fa) != a[d]["unique_bytes"] or fa != fb:
                fail(f"{name} #{i} {d}: flow file of {len(fa)} bytes from the proxy, "
                     f"{len(fb)} from the capture, {a[d]['unique_bytes']} reported")
        if not (b["start"] - 1 < a["start"] <= b["start"] + 1 and a["end"] >= a["start"]):
            fail(f"{name} #{i}: start {a['start']} is not the capture's {b['start']} (wall clock)")
    # --messages: the same exchanges, in the same connections, in order.
    index = {c["id"]: i for i, c in enumerate(mine)}
    cindex = {c["id"]: i for i, c in enumerate(theirs)}
    got = [(index[m["conn"]], strip(m)) for m in lines(f"{tmp}/{name}.messages")]
    want = [(cindex[m["conn"]], strip(m)) for m in cap_msgs if m["conn"] in cindex]
    got.sort(key=lambda x: x[0])
    want.sort(key=lambda x: x[0])
    if got != want:
        fail(f"{name}: --messages differ:\n  proxy:   {got}\n  capture: {want}")
    for m in lines(f"{tmp}/{name}.messages"):
        if not (m["ts"] <= m["end"] and (m["latency"] is None or m["latency"] >= 0)):
            fail(f"{name}: message times out of order: {m}")
    # --har: the same entries.
    mine_har = json.load(open(f"{tmp}/{name}.har"))["log"]["entries"]
    if name == "http" and har_view(mine_har) != har_view(cap_har):
        fail(f"http: HAR entries differ:\n  proxy:   {har_view(mine_har)}\n"
             f"  capture: {har_view(cap_har)}")
    if name == "redis" and mine_har:
        fail(f"redis: the HAR has {len(mine_har)} entries")
    # The HTML report and the logs: one log per connection.
    html = open(f"{tmp}/{name}.html").read()
    upstream = hport if name == "http" else rport
    for text in (f'"connections_seen":{want_conns},', f'"connections_listed":{want_conns},',
                 f'"inputs":["proxy 127.0.0.1:{ph if name == "http" else pr} -\\u003e 127.0.0.1:{upstream}"]'):
        if "<html" not in html.lower() or text not in html:
            fail(f"{name}: the HTML report has no {text}")
    logs = sorted(os.listdir(f"{tmp}/logs"))
    if len([l for l in logs if l.startswith(name + "_")]) != want_conns:
        fail(f"{name}: netrecord logs {logs}")

if len([m for m in cap_msgs]) < 5:
    fail(f"the capture has only {len(cap_msgs)} messages: the comparison says little")
print(f"compared {len(cap)} connections and {len(cap_msgs)} messages")
sys.exit(1 if bad else 0)
PY
[ -s "$tmp/http.console" ] && grep -q '^\[sid=0001\] C->S' "$tmp/http.console" ||
  bad "the proxy's console view is not the chunk view: $(head -3 "$tmp/http.console")"
echo "proxy_outputs: $fail failure(s)"
[ "$fail" -eq 0 ]
