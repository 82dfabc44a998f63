"""A gRPC server and client without generated code (python3-grpcio's
generic handlers), for tests/pcaps/http2/make_captures.sh and
tests/integration/http2_grpc.sh. Messages are protobuf bytes written by
hand: field 1 a varint, field 2 a string.

  grpc_peer.py serve PORT     serve demo.Echo/{Say,Count,Missing} on 127.0.0.1
  grpc_peer.py call PORT      call each once (exit 0 when the answers are right)
"""
import sys
from concurrent import futures

import grpc


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def message(number, text):
    data = text.encode()
    return b"\x08" + varint(number) + b"\x12" + varint(len(data)) + data


def say(request, context):
    return message(150, "hello " + request[4:].decode(errors="replace"))


def count(request, context):
    for i in range(3):
        yield message(i + 1, "part %d" % (i + 1))


def missing(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "no such greeting")


def serve(port):
    handler = grpc.method_handlers_generic_handler("demo.Echo", {
        "Say": grpc.unary_unary_rpc_method_handler(say),
        "Count": grpc.unary_stream_rpc_method_handler(count),
        "Missing": grpc.unary_unary_rpc_method_handler(missing),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    server.wait_for_termination(timeout=120)


def call(port):
    with grpc.insecure_channel("127.0.0.1:%d" % port) as ch:
        r = ch.unary_unary("/demo.Echo/Say")(message(7, "world"), timeout=10)
        assert r == message(150, "hello world"), r
        parts = list(ch.unary_stream("/demo.Echo/Count")(message(3, "go"), timeout=10))
        assert len(parts) == 3, parts
        try:
            ch.unary_unary("/demo.Echo/Missing")(message(1, "x"), timeout=10)
            raise SystemExit("Missing did not fail")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND, e


if __name__ == "__main__":
    {"serve": serve, "call": call}[sys.argv[1]](int(sys.argv[2]))
