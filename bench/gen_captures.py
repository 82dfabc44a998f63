#!/usr/bin/env python3
"""Synthetic captures for the tcpscribe offline benchmark (pure stdlib).

    gen_captures.py OUTDIR [--bulk-mib N] [--many N] [--concurrent N] [--seed N]
    gen_captures.py verify MANIFEST OUTPUT_DIR

Writes into OUTDIR:
  bulk.pcap     4 long transfers: handshake (with MSS option), a short HTTP-like
                request, then a response of --bulk-mib MiB in 1448-byte segments,
                ACKed by the client every 2 segments, the 4 connections
                interleaved, FIN close both ways.  One connection's sequence
                numbers wrap through 2**32 in mid-transfer.
  many.pcap     --many short connections with --concurrent of them open at once,
                packets interleaved at random: SYN, SYN-ACK, ACK, request
                (100-300 B), response (200-2000 B in 1-2 segments), client ACK,
                FIN/ACK both ways, final ACK.  Distinct 4-tuples.
  manifest.tsv  capture, tcpflow file name, size, sha256 of the bytes expected in
                that file (one line per direction that carries payload).
  params.txt    the parameters used (lets a caller decide whether to reuse).

Classic pcap (LE, usec), Ethernet/IPv4/TCP, correct lengths and checksums.
The 'verify' mode compares a tcpflow-style output directory with the manifest
(report.xml is ignored) and prints one line:
  files=N expected=N correct=N wrong=N missing=N extra=N
exit status 0 only when every expected file is present and equal and nothing
extra is there.
"""

import argparse
import hashlib
import json
import os
import random
import struct
import sys

MSS = 1448
ETH_TYPE_IPV4 = b"\x08\x00"
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

PCAP_GLOBAL = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
REC = struct.Struct("<IIII")
IPH = struct.Struct("!BBHHHBBH4s4s")
TCPH = struct.Struct("!HHIIBBHHH")
MSS_OPT = struct.pack("!BBH", 2, 4, 1460)


def ip_bytes(s):
    return bytes(int(x) for x in s.split("."))


def flow_name(src, sport, dst, dport):
    """tcpflow's default name: %A.%a-%B.%b (zero-padded)."""
    a = ".".join("%03d" % b for b in src)
    b = ".".join("%03d" % b for b in dst)
    return "%s.%05d-%s.%05d" % (a, sport, b, dport)


def csum_fold(data):
    """Internet checksum of data (even or odd length)."""
    if len(data) & 1:
        data += b"\x00"
    s = int.from_bytes(data, "big") % 0xFFFF  # 2**16 == 1 (mod 0xffff)
    return 0xFFFF - s if s else 0


class Endpoint:
    """One direction of a TCP connection: builds finished frames."""

    __slots__ = ("src", "dst", "sport", "dport", "eth", "pseudo", "ip_id")

    def __init__(self, src, sport, dst, dport, smac, dmac):
        self.src, self.dst, self.sport, self.dport = src, dst, sport, dport
        self.eth = dmac + smac + ETH_TYPE_IPV4
        self.pseudo = src + dst + b"\x00\x06"
        self.ip_id = (sport * 7919) & 0xFFFF

    def frame(self, seq, ack, flags, payload=b"", opts=b"", win=64240):
        thl = 20 + len(opts)
        tcp = TCPH.pack(self.sport, self.dport, seq & 0xFFFFFFFF,
                        ack & 0xFFFFFFFF, (thl // 4) << 4, flags, win, 0, 0) + opts
        tlen = thl + len(payload)
        tc = csum_fold(self.pseudo + tlen.to_bytes(2, "big") + tcp + payload)
        tcp = tcp[:16] + tc.to_bytes(2, "big") + tcp[18:]
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        ip = IPH.pack(0x45, 0, 20 + tlen, self.ip_id, 0x4000, 64, 6, 0,
                      self.src, self.dst)
        ic = csum_fold(ip)
        ip = ip[:10] + ic.to_bytes(2, "big") + ip[12:]
        return self.eth + ip + tcp + payload


def mac(n):
    return b"\x02\x00" + n.to_bytes(4, "big")


class PcapWriter:
    def __init__(self, path, t0):
        self.f = open(path, "wb", buffering=8 << 20)
        self.f.write(PCAP_GLOBAL)
        self.t = t0  # microseconds since epoch
        self.buf = []
        self.n = 0

    def put(self, frame, dt_us):
        self.t += dt_us
        n = len(frame)
        self.buf.append(REC.pack(self.t // 1000000, self.t % 1000000, n, n))
        self.buf.append(frame)
        self.n += 1
        if len(self.buf) >= 4096:
            self.f.write(b"".join(self.buf))
            self.buf.clear()

    def close(self):
        self.f.write(b"".join(self.buf))
        self.f.close()


def gen_bulk(outdir, mib, seed, manifest):
    rng = random.Random(seed)
    server = ip_bytes("10.0.0.2")
    w = PcapWriter(os.path.join(outdir, "bulk.pcap"), 1700000000 * 1000000)
    conns = []
    for i in range(4):
        client = ip_bytes("10.0.0.%d" % (10 + i))
        cport, sport = 40000 + i, 80
        c2s = Endpoint(client, cport, server, sport, mac(10 + i), mac(2))
        s2c = Endpoint(server, sport, client, cport, mac(2), mac(10 + i))
        body = random.Random(seed * 1000 + i).randbytes(mib << 20)
        req = ("GET /bulk/%d HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: gen_captures\r\n"
               "\r\n" % i).encode()
        resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        del body
        cisn = rng.getrandbits(32)
        sisn = rng.getrandbits(32)
        if i == 3:  # make the server's sequence numbers wrap mid-transfer
            sisn = (1 << 32) - (len(resp) // 3)
        manifest.append(("bulk.pcap", flow_name(client, cport, server, sport),
                         len(req), hashlib.sha256(req).hexdigest()))
        manifest.append(("bulk.pcap", flow_name(server, sport, client, cport),
                         len(resp), hashlib.sha256(resp).hexdigest()))
        conns.append([c2s, s2c, cisn, sisn, req, memoryview(resp), 0])

    # handshakes and requests
    for c2s, s2c, cisn, sisn, req, resp, _ in conns:
        w.put(c2s.frame(cisn, 0, SYN, opts=MSS_OPT), 150)
        w.put(s2c.frame(sisn, cisn + 1, SYN | ACK, opts=MSS_OPT), 120)
        w.put(c2s.frame(cisn + 1, sisn + 1, ACK), 120)
        w.put(c2s.frame(cisn + 1, sisn + 1, PSH | ACK, req), 30)
    # interleaved bulk data: each round, every open connection (in a random
    # order) sends 2 segments and gets an ACK for them.
    active = list(conns)
    while active:
        rng.shuffle(active)
        still = []
        for c in active:
            c2s, s2c, cisn, sisn, req, resp, off = c
            cack = cisn + 1 + len(req)
            for _ in range(2):
                if off >= len(resp):
                    break
                seg = bytes(resp[off:off + MSS])
                end = off + len(seg)
                w.put(s2c.frame(sisn + 1 + off, cack,
                                (PSH | ACK) if end == len(resp) else ACK, seg), 12)
                off = end
            w.put(c2s.frame(cack, sisn + 1 + off, ACK), 4)
            c[6] = off
            if off < len(resp):
                still.append(c)
            else:  # close: server FIN, client ACK+FIN, server ACK
                sfin = sisn + 1 + off
                w.put(s2c.frame(sfin, cack, FIN | ACK), 20)
                w.put(c2s.frame(cack, sfin + 1, FIN | ACK), 40)
                w.put(s2c.frame(sfin + 1, cack + 1, ACK), 40)
        active = still
    w.close()
    return w.n


def gen_many(outdir, total, concurrent, seed, manifest):
    rng = random.Random(seed + 1)
    servers = [ip_bytes("10.0.0.%d" % (100 + k)) for k in range(4)]
    server_ports = [80, 443, 8080, 8443]
    nclients = 2000
    clients = [ip_bytes("10.%d.%d.%d" % (1 + h // 62500, (h // 250) % 250, 1 + h % 250))
               for h in range(nclients)]
    w = PcapWriter(os.path.join(outdir, "many.pcap"), 1700001000 * 1000000)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"omega", b"index", b"static",
             b"api", b"v1", b"v2", b"img", b"css", b"js", b"user", b"item"]

    def build(i):
        """All frames of connection i, in order."""
        h = i % nclients
        client = clients[h]
        cport = 10000 + i // nclients  # distinct (client, port) per connection
        k = rng.randrange(4)
        server, sport = servers[k], server_ports[k]
        c2s = Endpoint(client, cport, server, sport, mac(1000 + h), mac(100 + k))
        s2c = Endpoint(server, sport, client, cport, mac(100 + k), mac(1000 + h))
        cisn, sisn = rng.getrandbits(32), rng.getrandbits(32)
        path = b"/".join(rng.choice(words) for _ in range(rng.randrange(1, 5)))
        req = (b"GET /%s?id=%d HTTP/1.1\r\nHost: srv%d.example\r\n"
               b"User-Agent: gen_captures/1\r\nAccept: */*\r\nX-Pad: " % (path, i, k))
        rlen = rng.randrange(100, 301)
        pad = rlen - len(req) - 4
        if pad < 0:
            pad = 0
        req += b"x" * pad + b"\r\n\r\n"
        blen = rng.randrange(200, 2001)
        hdr = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % blen
        resp = hdr + rng.randbytes(max(0, blen - len(hdr)))
        manifest.append(("many.pcap", flow_name(client, cport, server, sport),
                         len(req), hashlib.sha256(req).hexdigest()))
        manifest.append(("many.pcap", flow_name(server, sport, client, cport),
                         len(resp), hashlib.sha256(resp).hexdigest()))
        c1, s1 = cisn + 1, sisn + 1
        cend, send = c1 + len(req), s1 + len(resp)
        fr = [c2s.frame(cisn, 0, SYN, opts=MSS_OPT),
              s2c.frame(sisn, c1, SYN | ACK, opts=MSS_OPT),
              c2s.frame(c1, s1, ACK),
              c2s.frame(c1, s1, PSH | ACK, req)]
        for off in range(0, len(resp), MSS):
            seg = resp[off:off + MSS]
            last = off + MSS >= len(resp)
            fr.append(s2c.frame(s1 + off, cend, (PSH | ACK) if last else ACK, seg))
        fr += [c2s.frame(cend, send, ACK),
               c2s.frame(cend, send, FIN | ACK),
               s2c.frame(send, cend + 1, FIN | ACK),
               c2s.frame(cend + 1, send + 1, ACK)]
        fr.reverse()  # pop() from the end
        return fr

    started = 0
    active = []
    rand = rng.random
    while active or started < total:
        if len(active) < concurrent and started < total:
            fr = build(started)
            started += 1
            w.put(fr.pop(), 1 + int(rand() * 40))
            active.append(fr)
            continue
        j = int(rand() * len(active))
        fr = active[j]
        w.put(fr.pop(), 1 + int(rand() * 40))
        if not fr:
            active[j] = active[-1]
            active.pop()
    w.close()
    return w.n


def verify_report(manifest_path, report_path, capture=None):
    """A --report run (no flow files): every direction the manifest lists
    must be a connection record's direction with that many unique bytes,
    and no record may carry bytes the manifest does not list."""
    expected = {}
    with open(manifest_path) as f:
        for line in f:
            cap, name, size, _sha = line.rstrip("\n").split("\t")
            if capture is None or cap == capture:
                expected[name] = int(size)

    def name_of(ip, port):
        parts = ip.split(".")
        return "%s.%05d" % (".".join("%03d" % int(x) for x in parts), port)

    present = {}
    with open(report_path) as f:
        for line in f:
            r = json.loads(line)
            if "run" in r:
                continue
            c = name_of(r["client_ip"], r["client_port"])
            s = name_of(r["server_ip"], r["server_port"])
            for key, name in (("c2s", c + "-" + s), ("s2c", s + "-" + c)):
                n = r[key]["unique_bytes"]
                if n > 0:
                    present[name] = present.get(name, 0) + n
    correct = sum(1 for k, v in present.items() if expected.get(k) == v)
    wrong = sum(1 for k, v in present.items() if k in expected and expected[k] != v)
    missing = len(expected.keys() - present.keys())
    extra = len(present.keys() - expected.keys())
    print("files=%d expected=%d correct=%d wrong=%d missing=%d extra=%d" %
          (len(present), len(expected), correct, wrong, missing, extra))
    return 0 if correct == len(expected) and not extra else 1


def verify(manifest_path, outdir, capture=None, basename=False):
    expected = {}
    with open(manifest_path) as f:
        for line in f:
            cap, name, size, sha = line.rstrip("\n").split("\t")
            if capture is None or cap == capture:
                expected[name] = (int(size), sha)
    present = set()
    dups = []
    where = {}  # name -> path under outdir
    for root, _dirs, files in os.walk(outdir):
        for fn in files:
            rel = os.path.relpath(os.path.join(root, fn), outdir)
            if rel == "report.xml":
                continue
            name = fn if basename else rel  # -F letters that make directories
            if name in present:
                dups.append("twice " + name)
            present.add(name)
            where[name] = rel
    correct = wrong = 0
    bad = []
    for name in present & expected.keys():
        size, sha = expected[name]
        p = os.path.join(outdir, where[name])
        ok = os.path.getsize(p) == size
        if ok:
            with open(p, "rb") as g:
                ok = hashlib.sha256(g.read()).hexdigest() == sha
        if ok:
            correct += 1
        else:
            wrong += 1
            bad.append("wrong %s (size %d, expected %d)" % (name, os.path.getsize(p), size))
    missing = sorted(expected.keys() - present)
    extra = sorted(present - expected.keys())
    bad += ["missing " + n for n in missing] + ["extra " + n for n in extra]
    bad += dups
    print("files=%d expected=%d correct=%d wrong=%d missing=%d extra=%d" %
          (len(present), len(expected), correct, wrong, len(missing), len(extra)))
    for line in sorted(bad)[:20]:
        print("  " + line, file=sys.stderr)
    if len(bad) > 20:
        print("  ... and %d more" % (len(bad) - 20), file=sys.stderr)
    return 0 if not bad else 1


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "verify":
        ap = argparse.ArgumentParser(prog="gen_captures.py verify")
        ap.add_argument("manifest")
        ap.add_argument("outdir")
        ap.add_argument("--capture", help="only this capture's manifest lines")
        ap.add_argument("--basename", action="store_true",
                        help="match files by name wherever they are (-Fk bins)")
        ap.add_argument("--report", action="store_true",
                        help="OUTDIR is a --report file: check the bytes per direction")
        a = ap.parse_args(sys.argv[2:])
        if a.report:
            return verify_report(a.manifest, a.outdir, a.capture)
        return verify(a.manifest, a.outdir, a.capture, a.basename)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--bulk-mib", type=int, default=64,
                    help="MiB per bulk transfer (4 transfers; default 64)")
    ap.add_argument("--many", type=int, default=50000,
                    help="short connections in many.pcap (default 50000)")
    ap.add_argument("--concurrent", type=int, default=10000,
                    help="short connections open at once (default 10000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=["bulk", "many"])
    a = ap.parse_args()
    if a.many > 2000 * 55000:
        ap.error("--many too large for distinct 4-tuples")
    os.makedirs(a.outdir, exist_ok=True)
    manifest = []
    if a.only != "many":
        n = gen_bulk(a.outdir, a.bulk_mib, a.seed, manifest)
        print("bulk.pcap: %d packets" % n)
    if a.only != "bulk":
        n = gen_many(a.outdir, a.many, a.concurrent, a.seed, manifest)
        print("many.pcap: %d packets" % n)
    with open(os.path.join(a.outdir, "manifest.tsv"), "w") as f:
        for row in manifest:
            f.write("%s\t%s\t%d\t%s\n" % row)
    with open(os.path.join(a.outdir, "params.txt"), "w") as f:
        f.write("bulk_mib=%d many=%d concurrent=%d seed=%d only=%s\n" %
                (a.bulk_mib, a.many, a.concurrent, a.seed, a.only or "all"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
