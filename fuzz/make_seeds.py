#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/ (committed; rerun to remake).

Capture seeds are cut from tests/pcaps (a few KB each) and rewritten into
the other link types, byte orders and pcapng; the rest are hand-made.
Inputs for the harnesses that decode structure with FuzzedDataProvider
(flow, defrag, replay_plan, dispatch) are seeded with fixed random bytes:
every input is valid for them, the fuzzer grows the rest.
"""
import shutil
import subprocess
import glob
import gzip
import os
import random
import struct
import zlib

ROOT = os.path.dirname(os.path.abspath(__file__))
PCAPS = sorted(glob.glob(os.path.join(ROOT, "..", "tests", "pcaps", "*.pcap")))


def out(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read_pcap(path, limit=4096):
    d = open(path, "rb").read()
    e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    pkts, at = [], 24
    while at + 16 <= len(d):
        sec, usec, incl, orig = struct.unpack(e + "IIII", d[at:at + 16])
        if at + 16 + incl > len(d) or at + 16 + incl > limit:
            break
        pkts.append((sec, usec, orig, d[at + 16:at + 16 + incl]))
        at += 16 + incl
    return pkts


def pcap(pkts, linktype=1, endian="<", nanos=False, snaplen=262144):
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    b = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for sec, usec, orig, data in pkts:
        b += struct.pack(endian + "IIII", sec, usec * (1000 if nanos else 1), len(data), orig)
        b += data
    return b


def relink(pkts, linktype):
    """Ethernet frames -> the same IP packets under another link layer."""
    res = []
    for sec, usec, orig, f in pkts:
        ethertype, ip = f[12:14], f[14:]
        if linktype in (101, 12, 228, 229):
            data = ip
        elif linktype == 113:  # SLL
            data = b"\x00\x00\x00\x01\x00\x06" + f[6:12] + b"\x00\x00" + ethertype + ip
        elif linktype == 276:  # SLL2
            data = ethertype + b"\x00\x00" + b"\x00\x00\x00\x01\x00\x01\x00\x06" + f[6:12] + b"\x00\x00" + ip
        elif linktype == 0:  # NULL: family in host order
            fam = 30 if ethertype == b"\x86\xdd" else 2
            data = struct.pack("<I", fam) + ip
        else:
            data = f
        res.append((sec, usec, orig - len(f) + len(data), data))
    return res


def pcapng(pkts_by_if, big=False, secrets=None):
    """secrets: a TLS key log to put in a Decryption Secrets Block after the IDBs."""
    e = ">" if big else "<"

    def block(t, body):
        body += b"\x00" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack(e + "II", t, n) + body + struct.pack(e + "I", n)

    b = block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    for i, (linktype, tsresol, _) in enumerate(pkts_by_if):
        opts = b""
        if tsresol is not None:
            opts = struct.pack(e + "HH", 9, 1) + bytes([tsresol]) + b"\x00\x00\x00"
            opts += struct.pack(e + "HH", 0, 0)
        b += block(1, struct.pack(e + "HHI", linktype, 0, 262144) + opts)
    if secrets is not None:
        b += block(0x0A, struct.pack(e + "II", 0x544C534B, len(secrets)) + secrets)
    for i, (_, tsresol, pkts) in enumerate(pkts_by_if):
        for sec, usec, orig, data in pkts:
            ts = sec * 1_000_000 + usec if tsresol in (None, 6) else (sec * 10**9 + usec * 1000)
            b += block(6, struct.pack(e + "IIIII", i, ts >> 32, ts & 0xFFFFFFFF, len(data), orig)
                       + data + b"\x00" * (-len(data) % 4))
    return b


def decode_input(sel, frames):
    b = bytes([sel])
    for f in frames:
        b += struct.pack(">HBB", len(f), 0, 1) + f
    return b


LINK_INDEX = {0: 0, 1: 1, 12: 2, 14: 3, 101: 4, 108: 5, 113: 6, 228: 7, 229: 8, 274: 9, 276: 10}


def ip_fragments(frame):
    """An Ethernet/IPv4 frame cut into two IP fragments (8-byte aligned)."""
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    payload = ip[ihl:]
    if len(payload) < 24:
        return []
    cut = (len(payload) // 2) & ~7
    res = []
    for off, part, more in ((0, payload[:cut], 1), (cut, payload[cut:], 0)):
        hdr = bytearray(ip[:ihl])
        struct.pack_into(">H", hdr, 2, ihl + len(part))
        struct.pack_into(">H", hdr, 6, (more << 13) | (off // 8))
        res.append(frame[:14] + bytes(hdr) + part)
    return res


def captures():
    for path in PCAPS:
        name = os.path.basename(path)[:-5]
        pkts = read_pcap(path)
        if not pkts:
            continue
        out("pcap", name, pcap(pkts))
        out("pcapng", name, pcapng([(1, None, pkts)]))
        out("decode", name, decode_input(LINK_INDEX[1], [p[3] for p in pkts]))
    pkts = read_pcap(PCAPS[0])
    for lt in (0, 101, 113, 276):
        out("pcap", "linktype-%d" % lt, pcap(relink(pkts, lt), linktype=lt))
        out("decode", "linktype-%d" % lt, decode_input(LINK_INDEX[lt], [p[3] for p in relink(pkts, lt)]))
    out("pcap", "big-endian-nanos", pcap(pkts, endian=">", nanos=True))
    out("pcap", "snaplen-60", pcap([(s, u, o, d[:60]) for s, u, o, d in pkts], snaplen=60))
    out("pcapng", "big-endian", pcapng([(1, None, pkts)], big=True))
    out("pcapng", "two-interfaces-nanos",
        pcapng([(1, 9, pkts[:3]), (113, None, relink(pkts[3:6], 113))]))
    tls = os.path.join(ROOT, "..", "tests", "pcaps", "tls", "tls12_ecdhe_aes128gcm")
    with open(tls + ".keys", "rb") as f:
        keys = f.read()
    out("pcapng", "tls-secrets", pcapng([(1, None, read_pcap(tls + ".pcap"))], secrets=keys))
    # IPv4 fragments, and an 802.1Q tag.
    http = read_pcap(os.path.join(ROOT, "..", "tests", "pcaps", "http_keepalive_lo.pcap"))
    frags = [f for p in http for f in ip_fragments(p[3])]
    out("decode", "ipv4-fragments", decode_input(LINK_INDEX[1], frags[:6]))
    out("decode", "ipv4-fragments-reversed", decode_input(LINK_INDEX[1], frags[:6][::-1]))
    vlan = [p[3][:12] + b"\x81\x00\x00\x2a" + p[3][12:] for p in http[:4]]
    out("decode", "vlan", decode_input(LINK_INDEX[1], vlan))


REQ = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept-Encoding: gzip\r\n\r\n"
POST = b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED_REQ = (b"PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n")
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nworld"
CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n")
GZ = gzip.compress(b"compressed body " * 20)
GZIP_RESP = (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(GZ)) + GZ
CLOSE_RESP = b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nuntil the end"
HEAD_RESP = b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n"
CONT = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
           b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello")


def http():
    convs = {
        "get": [REQ, RESP],
        "post-chunked": [POST + CHUNKED_REQ, RESP + CHUNKED],
        "pipelined": [REQ + REQ + b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", RESP + GZIP_RESP + HEAD_RESP],
        "until-close": [REQ, CLOSE_RESP],
        "continue": [b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", CONT[:25], b"ab", CONT[25:]],
        "upgrade": list(UPGRADE),
        "connect": [b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01",
                    b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03"],
        "garbage-then-http": [b"\x00\x01junk\r\n" + REQ, b"nonsense\r\n" + RESP],
    }
    for name, parts in convs.items():
        for flags in (0x00, 0x01, 0x2A, 0x55):
            out("http", "%s-%02x" % (name, flags), bytes([flags, 7]) + b"\x01".join(parts))


def http_body():
    text = b"The quick brown fox jumps over the lazy dog. " * 30
    out("http_body", "gzip", b"\x00\x05" + gzip.compress(text))
    out("http_body", "zlib", b"\x01\x05" + zlib.compress(text))
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    out("http_body", "raw-deflate", b"\x03\x05" + raw.compress(text) + raw.flush())
    out("http_body", "gzip-trailing", b"\x00\x09" + gzip.compress(b"abc") + b"trailing")
    out("http_body", "gzip-two-members", b"\x00\x01" + gzip.compress(b"one") + gzip.compress(b"two"))
    out("http_body", "plain", b"\x04\x00" + text[:100])
    # br (flags 0x80) and zstd (0x81), made by the command-line tools when there.
    for flags, name, cmd in ((0x80, "brotli", ["brotli", "-c"]), (0x81, "zstd", ["zstd", "-c", "-q"])):
        if shutil.which(cmd[0]):
            packed = subprocess.run(cmd, input=text, capture_output=True, check=True).stdout
            out("http_body", name, bytes([flags, 5]) + packed)


def netrecord():
    logs = {
        "simple": b"c 0.000000 con\nc 0.000100 5\nhellos 0.000200 5\nworldc 0.000300 hup\ns 0.000400 hup\n",
        "quirk-time": b"c 4.1000000 con\nc 4.1000001 3\nabcs 5.000002 err\n",
        "cut-short": b"c 1.000000 con\nc 1.000001 10\nabc",
        "no-newline": b"c 1.000000 con\nc 1.0000",
        "binary": b"c 0.000000 con\ns 0.000001 4\n\x00\n\xff\rc 0.000002 0\n",
        "not-a-log": b"GET / HTTP/1.1\r\n\r\n",
    }
    for name, data in logs.items():
        out("netrecord", name, data)


def tcp_chunks(path):
    """The TCP payloads of a loopback capture: {client port: [(to_client, bytes)]}."""
    conns, server = {}, {}
    for _, _, _, f in read_pcap(path, limit=1 << 30):
        if len(f) < 14 + 20 or f[12:14] != b"\x08\x00" or f[23] != 6:
            continue
        ihl = (f[14] & 15) * 4
        tcp = f[14 + ihl:]
        sport, dport = struct.unpack(">HH", tcp[:4])
        flags = tcp[13]
        if flags & 0x12 == 0x02:  # SYN: the client's port is the source
            server[sport] = dport
        payload = tcp[(tcp[12] >> 4) * 4:]
        client = sport if sport in server else dport
        if payload:
            conns.setdefault(client, []).append((sport != client, payload))
    return conns


def tls_input(flags, keys, chunks, retry_every=0, drop=None, limit=6000):
    b = bytes([flags, 0x5A]) + struct.pack(">H", len(keys)) + keys
    for i, (to_client, data) in enumerate(chunks):
        if len(b) > limit:
            break
        ctl = (1 if to_client else 0) | (4 if retry_every and i % retry_every == 0 else 0)
        if drop is not None and i == drop:
            b += bytes([ctl | 2]) + struct.pack(">H", len(data) - 1)
        else:
            b += bytes([ctl]) + struct.pack(">H", len(data)) + data
    return b


def tls():
    for path in sorted(glob.glob(os.path.join(ROOT, "..", "tests", "pcaps", "tls", "*.pcap"))):
        name = os.path.basename(path)[:-5]
        keys = open(path[:-5] + ".keys", "rb").read()
        out("tls_keylog", name, keys)
        for k, (_, chunks) in enumerate(sorted(tcp_chunks(path).items())):
            out("tls", "%s-%d" % (name, k), tls_input(0, keys, chunks))
            if k == 0 and name in ("tls13_aes128gcm", "tls12_ecdhe_aes128gcm",
                                   "tls12_ecdhe_aes128cbc_sha", "tls13_keyupdate"):
                # Keys that arrive late, line by line, with holding on.
                out("tls", name + "-late-keys", tls_input(0x03, keys, chunks, retry_every=2))
                # A server chunk lost (the second to last).
                last = max(i for i, c in enumerate(chunks) if c[0])
                out("tls", name + "-gap", tls_input(0x10, keys, chunks, drop=last - 1))
    out("tls_keylog", "crafted",
        b"# comment\n\nCLIENT_RANDOM " + b"ab" * 32 + b" " + b"cd" * 48 + b"\r\n"
        b"EXPORTER_SECRET " + b"ab" * 32 + b" " + b"00" * 32 + b"\nBAD LINE\n"
        b"CLIENT_TRAFFIC_SECRET_0 " + b"AB" * 32 + b" " + b"11" * 48)


def tls_hello_ext():
    # A selector byte (1: ALPN, 0: server_name), then the extension's body.
    def sni(*names):
        entries = b"".join(b"\x00" + struct.pack(">H", len(n)) + n for n in names)
        return b"\x00" + struct.pack(">H", len(entries)) + entries

    def alpn(*names):
        protocols = b"".join(bytes([len(n)]) + n for n in names)
        return b"\x01" + struct.pack(">H", len(protocols)) + protocols

    out("tls_hello_ext", "sni_localhost", sni(b"localhost"))
    out("tls_hello_ext", "sni_two_names", sni(b"a.example", b"b.example"))
    out("tls_hello_ext", "alpn_h2_http11", alpn(b"h2", b"http/1.1"))
    out("tls_hello_ext", "alpn_cut", alpn(b"h2", b"http/1.1")[:-3])
    out("tls_hello_ext", "empty", b"\x00")


def proto_input(chunks, flags=0, gap_after=None, limit=3000):
    """fuzz_proto.h's format: flags, seed, then (header, <=128 bytes) per piece."""
    b = bytes([flags, 0x5A])
    for i, (to_client, data) in enumerate(chunks):
        if len(b) > limit:
            break
        for at in range(0, len(data), 128):
            piece = data[at:at + 128]
            b += bytes([((len(piece) - 1) << 1) | (1 if to_client else 0)]) + piece
        if gap_after == i:
            b += bytes([(127 << 1) | (1 if to_client else 0), 9])
    return b


def resp(*words):
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)


def protocol_seeds(target, handmade):
    for name, chunks in handmade.items():
        out(target, name, proto_input(chunks))
        out(target, name + "-gap", proto_input(chunks, gap_after=0))
    for path in sorted(glob.glob(os.path.join(ROOT, "..", "tests", "pcaps", target, "*.pcap"))):
        for n, (port, chunks) in enumerate(sorted(tcp_chunks(path).items())[:4]):
            out(target, "%s-%d" % (os.path.basename(path)[:-5], n), proto_input(chunks))


def redis():
    protocol_seeds("redis", {
        "pipeline": [(0, resp(b"SET", b"k", b"v") + resp(b"GET", b"k") + b"PING\r\n"),
                     (1, b"+OK\r\n$1\r\nv\r\n+PONG\r\n")],
        "resp3": [(0, resp(b"HELLO", b"3", b"AUTH", b"u", b"pw") + resp(b"SUBSCRIBE", b"a", b"b")),
                  (1, b"%1\r\n+proto\r\n:3\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
                      b">3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n|1\r\n+k\r\n,1.5\r\n~2\r\n_\r\n#t\r\n"
                      b"!3\r\nERR\r\n=7\r\ntxt:abc\r\n(12345\r\n")],
        "multi-monitor": [(0, resp(b"MULTI") + resp(b"INCR", b"a") + resp(b"EXEC") + resp(b"MONITOR")),
                          (1, b"+OK\r\n+QUEUED\r\n*1\r\n:1\r\n+OK\r\n+1.2 [0 1.2.3.4:5] \"get\"\r\n")],
    })


def postgresql():
    def msg(t, body):
        return t + struct.pack(">I", len(body) + 4) + body
    startup = struct.pack(">I", 196608) + b"user\0u\0database\0d\0\0"
    startup = struct.pack(">I", len(startup) + 4) + startup
    ready = msg(b"Z", b"I")
    protocol_seeds("postgresql", {
        "simple": [(0, struct.pack(">II", 8, 80877103)), (1, b"N"), (0, startup),
                   (1, msg(b"R", struct.pack(">I", 3))), (0, msg(b"p", b"secret\0")),
                   (1, msg(b"R", struct.pack(">I", 0)) + msg(b"K", struct.pack(">II", 7, 9)) + ready),
                   (0, msg(b"Q", b"SELECT 1; COPY t TO STDOUT\0")),
                   (1, msg(b"T", struct.pack(">H", 1) + b"a\0" + bytes(18)) +
                    msg(b"D", struct.pack(">HI", 1, 1) + b"1") + msg(b"C", b"SELECT 1\0") +
                    msg(b"H", bytes(3)) + msg(b"d", b"x\n") + msg(b"c", b"") + msg(b"C", b"COPY 1\0") + ready)],
        "extended": [(0, startup), (1, msg(b"R", bytes(4)) + ready),
                     (0, msg(b"P", b"s\0SELECT $1\0" + bytes(2)) +
                      msg(b"B", b"\0s\0" + struct.pack(">HHHI", 1, 0, 1, 2) + b"42" + bytes(2)) +
                      msg(b"D", b"P\0") + msg(b"E", b"\0" + bytes(4)) + msg(b"S", b"")),
                     (1, msg(b"1", b"") + msg(b"2", b"") + msg(b"n", b"") + msg(b"C", b"SELECT 1\0") +
                      msg(b"E", b"SERROR\0C42601\0Mbad\0\0") + ready)],
        "cancel": [(0, struct.pack(">IIII", 16, 80877102, 7, 9))],
    })


def mysql():
    def pkt(seq, body):
        return struct.pack("<I", len(body))[:3] + bytes([seq]) + body
    caps = 0x8 | 0x200 | 0x8000 | 0x80000 | 0x200000
    greet = pkt(0, b"\x0a8.0.0-test\0" + struct.pack("<I", 1) + b"abcdefgh\0" +
                struct.pack("<HBHH", caps & 0xffff, 33, 2, caps >> 16) + b"\x15" + bytes(10) + b"ijklmnopqrst\0")
    login = pkt(1, struct.pack("<IIB23x", caps, 1 << 24, 33) + b"u\0\x04pass" + b"db\0mysql_native_password\0")
    ok = lambda seq: pkt(seq, b"\0\x01\x02\x02\0\0\0")
    col = lambda seq, n: pkt(seq, b"\x03def\x02db\x01t\x01t" + bytes([len(n)]) + n + bytes([len(n)]) + n +
                             b"\x0c\x21\0\x0b\0\0\0\x03\0\0\0\0\0")
    eof = lambda seq: pkt(seq, b"\xfe\0\0\x02\0")
    protocol_seeds("mysql", {
        "session": [(1, greet), (0, login), (1, ok(2)),
                    (0, pkt(0, b"\x03SELECT a FROM t")),
                    (1, pkt(1, b"\x01") + col(2, b"a") + eof(3) + pkt(4, b"\x011") + pkt(5, b"\xfb") + eof(6)),
                    (0, pkt(0, b"\x16SELECT ?")),
                    (1, pkt(1, b"\0" + struct.pack("<IHHxH", 1, 1, 1, 0)) + col(2, b"?") + eof(3) + col(4, b"a") + eof(5)),
                    (0, pkt(0, b"\x17" + struct.pack("<IBI", 1, 0, 1) + b"\0\x01\x08\0" + struct.pack("<q", 7))),
                    (1, pkt(1, b"\x01") + col(2, b"a") + eof(3) + pkt(4, b"\0\0" + struct.pack("<i", 7)) + eof(5)),
                    (0, pkt(0, b"\x03bad")), (1, pkt(1, b"\xff\x28\x04#42000syntax")),
                    (0, pkt(0, b"\x19\x01\0\0\0") + pkt(0, b"\x01"))],
        "ssl": [(1, greet), (0, pkt(1, struct.pack("<IIB23x", caps | 0x800, 1 << 24, 33))), (0, b"\x16\x03\x01")],
    })


def random_seeds(target, count, size):
    rng = random.Random(target)
    for i in range(count + 1):
        data = bytes(rng.randrange(256) for _ in range(size))
        # The first of flow is fuzz/open/flow-gap-after-shutdown (it fails).
        if i > 0:
            out(target, "random-%d" % i, data)


def http2():
    """Conversations from the HTTP/2 captures: flags bit 0 (the preface is
    in the client's bytes), 0x01 0x01 between directions; one midstream
    variant each (flags bit 1, the first packets left out)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "..", "tests", "pcaps", "http2", "*.pcap"))):
        name = os.path.basename(path)[:-5]
        for n, (port, chunks) in enumerate(sorted(tcp_chunks(path).items())):
            for flags, skip in ((0x01, 0), (0x03, 2)):
                b, side = bytes([flags, 0x33]), False
                for to_client, data in chunks[skip:]:
                    if len(b) > 6000:
                        break
                    if to_client != side:
                        b += b"\x01\x01"
                        side = to_client
                    b += data
                out("http2", "%s-%d-%x" % (name, n, flags), b)
                if n >= 1:
                    break
            if n >= 1:
                break


def af_packet_block():
    """TPACKET_V3 blocks as the kernel writes them (little-endian, as on
    x86): frames of the test captures behind tpacket3_hdr records with
    their sockaddr_ll, one with a VLAN tag taken out, and an empty block."""
    def block(frames, size=8192, vlan_at=None):
        b = bytearray(size)
        at, prev = 48, None
        for i, (sec, usec, orig, data) in enumerate(frames):
            if at + 80 + len(data) > size:
                break
            if prev is not None:
                struct.pack_into("<I", b, prev, at - prev)
            status = 1 | (0x10 | 0x40 if i == vlan_at else 0)
            struct.pack_into("<IIIIIIHHIIHH", b, at, 0, sec, usec * 1000, len(data), orig,
                             status, 80, 80, 0, 100 if i == vlan_at else 0,
                             0x8100 if i == vlan_at else 0, 0)
            # sockaddr_ll: AF_PACKET, protocol, ifindex 2, ARPHRD_ETHER, pkttype
            struct.pack_into(">HH", b, at + 48, 17, 0x0800)
            struct.pack_into("<IHBB", b, at + 52, 2, 1, 4 if i % 2 else 0, 6)
            b[at + 80:at + 80 + len(data)] = data
            prev = at
            at = (at + 80 + len(data) + 7) & ~7
        count = 0
        p = 48
        while True:
            count += 1
            step = struct.unpack_from("<I", b, p)[0]
            if step == 0:
                break
            p += step
        struct.pack_into("<IIIIII", b, 0, 3, 0, 1, count if prev is not None else 0, 48, at)
        return bytes(b)
    for path in PCAPS[:4]:
        name = os.path.splitext(os.path.basename(path))[0]
        frames = read_pcap(path)
        if frames:
            out("af_packet_block", name, block(frames))
    frames = read_pcap(PCAPS[0])
    out("af_packet_block", "vlan", block(frames[:3], 4096, vlan_at=1))
    out("af_packet_block", "empty", struct.pack("<IIIIII", 3, 0, 1, 0, 48, 48) + bytes(4096 - 24))


def main():
    af_packet_block()
    captures()
    http2()
    http()
    http_body()
    netrecord()
    tls()
    tls_hello_ext()
    redis()
    postgresql()
    mysql()
    for t in ("flow", "defrag", "replay_plan", "dispatch"):
        random_seeds(t, 4, 512)


if __name__ == "__main__":
    main()
