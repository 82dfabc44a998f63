#!/usr/bin/env python3
"""Captures that measure memory, not speed (pure stdlib; see bench/memory.sh).

    gen_memory.py open OUT.pcap --conns N --kib K [--seed S] [--manifest M]
    gen_memory.py syns OUT.pcap --conns N
    gen_memory.py reversed OUT.pcap --segments N
    gen_memory.py pipeline OUT.pcap --requests N [--conns C]

open   N connections open at once, each sending K KiB from the server:
       every handshake and a short request first, then rounds in which each
       connection (in a random order) sends two 1448-byte segments and gets
       an ACK, then every connection closes (FIN both ways). With --manifest,
       one line per direction with payload (capture, tcpflow name, size,
       sha256), as gen_captures.py writes them, for its `verify` mode.
syns   N SYNs to port 80 that are never answered, each from its own
       address and port (half-open connections that never complete).
reversed
       one connection whose client sends N one-byte segments in reverse
       order (the last byte first), then its FIN: every byte but the first
       waits out of order.
pipeline
       C connections (default 1), each a client pipelining N GET requests
       whose heads are ~8 KiB of short header lines ("a: b"), never
       answered, then FIN both ways: every parsed head waits for a response.

Classic pcap, Ethernet/IPv4/TCP, correct lengths and checksums.
"""

import argparse
import hashlib
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_captures import (ACK, FIN, MSS, MSS_OPT, PSH, SYN, Endpoint,  # noqa: E402
                          PcapWriter, flow_name, ip_bytes, mac)


def client_addr(i):
    return ip_bytes("10.%d.%d.%d" % (1 + i // 62500, (i // 250) % 250, 1 + i % 250))


def gen_open(path, conns, kib, seed, manifest):
    rng = random.Random(seed)
    server = ip_bytes("10.0.0.2")
    size = kib << 10
    pool = random.Random(seed + 7).randbytes(size + (1 << 20))
    w = PcapWriter(path, 1700002000 * 1000000)
    state = []
    for i in range(conns):
        client, cport = client_addr(i // 4), 20000 + i % 4
        c2s = Endpoint(client, cport, server, 80, mac(10 + i), mac(2))
        s2c = Endpoint(server, 80, client, cport, mac(2), mac(10 + i))
        req = b"GET /open/%d HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n" % i
        start = (i * 4099) % (1 << 20)
        body = pool[start:start + size]
        if manifest is not None:
            manifest.append((os.path.basename(path), flow_name(client, cport, server, 80),
                             len(req), hashlib.sha256(req).hexdigest()))
            manifest.append((os.path.basename(path), flow_name(server, 80, client, cport),
                             len(body), hashlib.sha256(body).hexdigest()))
        cisn, sisn = rng.getrandbits(32), rng.getrandbits(32)
        w.put(c2s.frame(cisn, 0, SYN, opts=MSS_OPT), 5)
        w.put(s2c.frame(sisn, cisn + 1, SYN | ACK, opts=MSS_OPT), 5)
        w.put(c2s.frame(cisn + 1, sisn + 1, ACK), 5)
        w.put(c2s.frame(cisn + 1, sisn + 1, PSH | ACK, req), 5)
        state.append([c2s, s2c, cisn + 1 + len(req), sisn + 1, memoryview(body), 0])
    active = list(state)
    while active:
        rng.shuffle(active)
        still = []
        for c in active:
            c2s, s2c, cack, s1, body, off = c
            for _ in range(2):
                if off >= len(body):
                    break
                seg = bytes(body[off:off + MSS])
                w.put(s2c.frame(s1 + off, cack, ACK, seg), 2)
                off += len(seg)
            w.put(c2s.frame(cack, s1 + off, ACK), 2)
            c[5] = off
            if off < len(body):
                still.append(c)
        active = still
    for c2s, s2c, cack, s1, body, off in state:
        sfin = s1 + off
        w.put(s2c.frame(sfin, cack, FIN | ACK), 2)
        w.put(c2s.frame(cack, sfin + 1, FIN | ACK), 2)
        w.put(s2c.frame(sfin + 1, cack + 1, ACK), 2)
    w.close()
    return w.n


def gen_syns(path, conns, seed):
    rng = random.Random(seed)
    server = ip_bytes("10.0.0.2")
    w = PcapWriter(path, 1700003000 * 1000000)
    for i in range(conns):
        client, cport = client_addr(i // 16), 30000 + i % 16
        c2s = Endpoint(client, cport, server, 80, mac(10 + i), mac(2))
        w.put(c2s.frame(rng.getrandbits(32), 0, SYN, opts=MSS_OPT), 3)
    w.close()
    return w.n


def gen_reversed(path, segments, seed):
    rng = random.Random(seed)
    client, server = ip_bytes("10.0.0.1"), ip_bytes("10.0.0.2")
    c2s = Endpoint(client, 40000, server, 80, mac(1), mac(2))
    s2c = Endpoint(server, 80, client, 40000, mac(2), mac(1))
    w = PcapWriter(path, 1700004000 * 1000000)
    cisn, sisn = rng.getrandbits(32), rng.getrandbits(32)
    c1, s1 = cisn + 1, sisn + 1
    w.put(c2s.frame(cisn, 0, SYN, opts=MSS_OPT), 5)
    w.put(s2c.frame(sisn, c1, SYN | ACK, opts=MSS_OPT), 5)
    w.put(c2s.frame(c1, s1, ACK), 5)
    for o in range(segments - 1, -1, -1):
        w.put(c2s.frame(c1 + o, s1, ACK, bytes([97 + o % 26])), 1)
    w.put(c2s.frame(c1 + segments, s1, FIN | ACK), 5)
    w.put(s2c.frame(s1, c1 + segments + 1, FIN | ACK), 5)
    w.put(c2s.frame(c1 + segments + 1, s1 + 1, ACK), 5)
    w.close()
    return w.n


def gen_pipeline(path, requests, conns, seed):
    rng = random.Random(seed)
    server = ip_bytes("10.0.0.2")
    w = PcapWriter(path, 1700005000 * 1000000)
    pad = b"".join(b"%c: b\r\n" % (97 + k % 26) for k in range(1300))
    state = []
    for i in range(conns):
        client = client_addr(i)
        c2s = Endpoint(client, 40000, server, 80, mac(10 + i), mac(2))
        s2c = Endpoint(server, 80, client, 40000, mac(2), mac(10 + i))
        cisn, sisn = rng.getrandbits(32), rng.getrandbits(32)
        w.put(c2s.frame(cisn, 0, SYN, opts=MSS_OPT), 5)
        w.put(s2c.frame(sisn, cisn + 1, SYN | ACK, opts=MSS_OPT), 5)
        w.put(c2s.frame(cisn + 1, sisn + 1, ACK), 5)
        state.append([c2s, s2c, cisn + 1, sisn + 1])
    for r in range(requests):
        for c in state:
            c2s, s2c, cseq, s1 = c
            req = b"GET /p/%d HTTP/1.1\r\nHost: 10.0.0.2\r\n%s\r\n" % (r, pad)
            for off in range(0, len(req), MSS):
                seg = req[off:off + MSS]
                w.put(c2s.frame(cseq + off, s1, ACK, seg), 2)
            c[2] = cseq + len(req)
            w.put(s2c.frame(s1, c[2], ACK), 2)
    for c2s, s2c, cseq, s1 in state:
        w.put(c2s.frame(cseq, s1, FIN | ACK), 5)
        w.put(s2c.frame(s1, cseq + 1, FIN | ACK), 5)
        w.put(c2s.frame(cseq + 1, s1 + 1, ACK), 5)
    w.close()
    return w.n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["open", "syns", "reversed", "pipeline"])
    ap.add_argument("out")
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--segments", type=int, default=1000000, help="reversed: one-byte segments")
    ap.add_argument("--requests", type=int, default=8000, help="pipeline: requests per connection")
    ap.add_argument("--kib", type=int, default=64, help="open: KiB per connection")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--manifest", help="open: write the expected files' hashes here")
    a = ap.parse_args()
    if a.conns > 62500 * 240 * 4:
        ap.error("--conns too large for distinct 4-tuples")
    if a.kind == "open":
        manifest = [] if a.manifest else None
        n = gen_open(a.out, a.conns, a.kib, a.seed, manifest)
        if manifest is not None:
            with open(a.manifest, "w") as f:
                for row in manifest:
                    f.write("%s\t%s\t%d\t%s\n" % row)
    elif a.kind == "syns":
        n = gen_syns(a.out, a.conns, a.seed)
    elif a.kind == "reversed":
        n = gen_reversed(a.out, a.segments, a.seed)
    else:
        n = gen_pipeline(a.out, a.requests, a.conns, a.seed)
    print("%s: %d packets" % (a.out, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
