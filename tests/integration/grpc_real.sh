#!/usr/bin/env bash
# gRPC from Debian's python3-grpcio on loopback (h2c with prior knowledge):
# a unary call, a server-streaming call (3 messages) and a unary call that
# fails with NOT_FOUND, with generic handlers over raw bytes (the messages
# are protobuf encoded by hand: field 1, a string). From the capture,
# `tcpscribe -r cap -e http2 --messages m` must give one record per call
# with grpc_service / grpc_method, grpc_status and its name, grpc_message,
# the message counts, and the payloads decoded without a schema.
# Usage: grpc_real.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

py=/usr/bin/python3  # Debian's, which has python3-grpcio
[ -x $py ] && $py -c "import grpc" 2>/dev/null || skip "python3-grpcio is missing (scripts/test.sh installs it)"
command -v tcpdump >/dev/null || skip "tcpdump is missing"
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo)"

port=$(free_port)
cat >"$tmp/grpc_demo.py" <<'PY'
import sys, time
from concurrent import futures
import grpc

def pb(text):  # a protobuf message: field 1 (length-delimited) = text
    b = text.encode()
    return b"\x0a" + bytes([len(b)]) + b

def say_hello(req, ctx):
    return pb("hello " + req[2:].decode())

def stream(req, ctx):
    for i in range(3):
        yield pb("chick %d" % i)

def fail(req, ctx):
    ctx.abort(grpc.StatusCode.NOT_FOUND, "no such chicken")

port = int(sys.argv[2])
if sys.argv[1] == "serve":
    handlers = {
        "SayHello": grpc.unary_unary_rpc_method_handler(say_hello),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("demo.Greeter", handlers),))
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    server.wait_for_termination()
else:
    with grpc.insecure_channel("127.0.0.1:%d" % port) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        assert ch.unary_unary("/demo.Greeter/SayHello")(pb("chicken"), timeout=10) == pb("hello chicken")
        got = list(ch.unary_stream("/demo.Greeter/Stream")(pb("all"), timeout=10))
        assert got == [pb("chick %d" % i) for i in range(3)], got
        try:
            ch.unary_unary("/demo.Greeter/Fail")(pb("x"), timeout=10)
            raise SystemExit("Fail did not fail")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND and e.details() == "no such chicken", e
    print("ok")
PY
$py "$tmp/grpc_demo.py" serve "$port" >"$tmp/server.log" 2>&1 &
pids+=($!)
wait_port "$port" || skip "the grpc server did not start: $(cat "$tmp/server.log")"

tcpdump -i lo --immediate-mode -s 0 -B 65536 -U -w "$tmp/cap.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
wait_line "$tmp/tcpdump.err" "listening on" || skip "tcpdump did not start"
$py "$tmp/grpc_demo.py" call "$port" >"$tmp/client.out" 2>&1 || bad "the grpc client failed: $(cat "$tmp/client.out")"
wait_still "$tmp/cap.pcap"
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null

"$bin" -r "$tmp/cap.pcap" -e http2 --messages "$tmp/m.jsonl" >"$tmp/run.out" 2>"$tmp/run.err" \
  || bad "tcpscribe failed: $(cat "$tmp/run.err")"
python3 - "$tmp/m.jsonl" <<'PY' || bad "records: see above"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
calls = {r.get("grpc_method"): r for r in recs if r.get("proto") == "http2" and r.get("grpc_service")}
fail = []
want = {"SayHello": (0, "OK", 1, 1), "Stream": (0, "OK", 1, 3), "Fail": (5, "NOT_FOUND", 1, 0)}
for m, (status, name, nreq, nresp) in want.items():
    r = calls.get(m)
    if not r:
        fail.append(f"no record for {m}: {sorted(calls)}")
        continue
    got = (r["grpc_service"], r["grpc_status"], r["grpc_status_name"], r["grpc_request_messages"], r["grpc_response_messages"])
    if got != ("demo.Greeter", status, name, nreq, nresp): fail.append(f"{m}: {got}")
if calls.get("Fail", {}).get("grpc_message") != "no such chicken": fail.append(f"Fail: {calls.get('Fail')}")
hello = json.dumps(calls.get("SayHello", {}).get("grpc_response_messages_decoded"))
if "hello chicken" not in hello: fail.append(f"SayHello's answer not decoded: {hello}")
chicks = json.dumps(calls.get("Stream", {}).get("grpc_response_messages_decoded"))
if not all(f"chick {i}" in chicks for i in range(3)): fail.append(f"Stream's messages: {chicks}")
print(f"{len(calls)} gRPC calls: " + ", ".join(f"{m} {r['grpc_status_name']}" for m, r in calls.items()))
for f in fail: print("FAIL:", f)
sys.exit(1 if fail else 0)
PY

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
