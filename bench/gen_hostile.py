#!/usr/bin/env python3
"""Hostile captures: inputs built to cost time or memory (stdlib only).

    gen_hostile.py KIND OUT [options] [--expect FILE]

OUT is a file, or - for standard output (so `wrap` can stream 10 GB into
`tcpscribe -r -` without a file). With --expect, a JSON object of what the
capture must give (stream sizes and sha256, counts) goes to FILE. Every
capture is deterministic for its arguments and --seed.

syns      --conns N SYNs never answered, distinct 4-tuples (gen_memory.py's).
reversed  one connection, --segments N one-byte segments, last first, then
          the FIN (gen_memory.py's).
jump      one connection: --segments N of 1000 bytes in order, then the
          stream jumps by 2^31 and --after M more segments and the FIN
          follow there. The bytes after the jump cannot be placed (they look
          2 GiB old): the stream is the first N segments. With --far
          the M segments lie 3 MiB ahead, every other one (none continues
          the one before: the window guard leaves each out, a finding each)
          and the FIN follows the first N.
wrap      one connection moving --bytes B client to server in 65,494-byte
          segments (one IPv4 datagram each), the client's ISN --isn-back
          bytes below 2^32, so the sequence numbers wrap after that many
          bytes and again every 4 GiB. The server ACKs every 16 segments.
frags     --fragments N IPv4 fragments carrying one connection's data
          segments, --layout:
            many   10 fragments per datagram of a 1020-byte segment: 6
                   pieces that tile it (overlapping by 8 bytes) plus 4 copies
                   of sent ranges, 1 in 3 of them with a byte changed
                   (conflicting: the first copy is kept); the piece that
                   completes the datagram comes last.
            one    one datagram of a 65,020-byte segment: 8-byte tiles of
                   [8, end) in a shuffled order, then copies of random
                   ranges of it (1 in 3 conflicting) until N, then the first
                   tile completes it.
            flood  N first fragments of distinct datagrams never completed:
                   the first 80 % within a second (past the 8,192-datagram
                   cap: evictions), then 31 s later the rest (the pending
                   ones time out); those left are pending at the end.
snaplen   one connection of 10 segments of 1000 bytes in a file whose
          headers lie, --case:
            hdr0 / hdr2g     pcap file header snaplen 0 / 2^31
            caplen-gt        snaplen 200, records of whole frames (caplen
                             above snaplen): read as libpcap does, cut to
                             200 bytes (the rest are holes)
            caplen2g         the 6th record claims caplen 2^31 (the file
                             is damaged there)
            ng0 / ng2g       pcapng, Interface Description snaplen 0 / 2^31
            ng-caplen-gt     pcapng, IDB snaplen 200, whole frames in EPBs
            ng-caplen2g      pcapng, the 6th EPB claims caplen 2^31
            ng-block255m     pcapng, the 6th block claims 255 MiB and the
                             file ends 1 KB later
garbage   --packets N records of random bytes (0-1600 bytes) on
          --linktype ethernet|raw|sll|sll2|null|loop|ipv4|ipv6; half of them
          start with a valid link header for IPv4 or IPv6 followed by random
          bytes (version nibble set), so the IP and TCP parsers see garbage
          too.
collide   --conns N IPv6 SYNs whose 4-tuples all have one hash under the
          flow index's old unkeyed hash (the last word of the server address
          solved for, as flow_index_test.cc does): hash flooding. With the
          keyed hash they cost what random tuples cost.
"""

import argparse
import hashlib
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_captures import (ACK, FIN, MSS_OPT, PSH, SYN, TCPH, Endpoint,  # noqa: E402
                          csum_fold, ip_bytes, mac)
import gen_memory  # noqa: E402

LINKTYPES = {"null": 0, "ethernet": 1, "raw": 101, "loop": 108, "sll": 113,
             "ipv4": 228, "ipv6": 229, "sll2": 276}
T0 = 1700010000 * 1000000
SEG = 1000
TWO31 = 1 << 31


class Pcap:
    """Classic pcap (LE, microseconds) to a file or stdout, any header values."""

    def __init__(self, out, linktype=1, snaplen=262144):
        self.f = sys.stdout.buffer if out == "-" else open(out, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        self.t = T0
        self.buf = []
        self.size = 0
        self.n = 0

    def put(self, frame, dt_us=1, caplen=None, origlen=None):
        self.t += dt_us
        n = len(frame)
        self.buf.append(struct.pack("<IIII", self.t // 1000000, self.t % 1000000,
                                    n if caplen is None else caplen,
                                    n if origlen is None else origlen))
        self.buf.append(frame)
        self.size += n
        self.n += 1
        if self.size >= 1 << 20:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf.clear()
        self.size = 0

    def close(self):
        self.flush()
        if self.f is sys.stdout.buffer:
            self.f.flush()
        else:
            self.f.close()


class Pcapng:
    """pcapng (LE, microseconds): one section, one interface."""

    def __init__(self, out, linktype=1, snaplen=262144):
        self.f = open(out, "wb")
        self.block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        self.block(1, struct.pack("<HHI", linktype, 0, snaplen))
        self.t = T0
        self.n = 0

    def block(self, kind, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        self.f.write(struct.pack("<II", kind, n) + body + struct.pack("<I", n))

    def put(self, frame, dt_us=1, caplen=None, origlen=None):
        self.t += dt_us
        n = len(frame)
        self.block(6, struct.pack("<IIIII", 0, self.t >> 32, self.t & 0xFFFFFFFF,
                                  n if caplen is None else caplen,
                                  n if origlen is None else origlen) + frame)
        self.n += 1

    def close(self):
        self.f.close()


def digest(data):
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def endpoints(client="10.0.0.1", cport=40000, server="10.0.0.2", sport=80):
    c, s = ip_bytes(client), ip_bytes(server)
    return (Endpoint(c, cport, s, sport, mac(1), mac(2)),
            Endpoint(s, sport, c, cport, mac(2), mac(1)))


def handshake(w, c2s, s2c, cisn, sisn):
    w.put(c2s.frame(cisn, 0, SYN, opts=MSS_OPT), 5)
    w.put(s2c.frame(sisn, cisn + 1, SYN | ACK, opts=MSS_OPT), 5)
    w.put(c2s.frame(cisn + 1, sisn + 1, ACK), 5)


def close(w, c2s, s2c, cseq, s1):
    w.put(c2s.frame(cseq, s1, FIN | ACK), 5)
    w.put(s2c.frame(s1, cseq + 1, FIN | ACK), 5)
    w.put(c2s.frame(cseq + 1, s1 + 1, ACK), 5)


def gen_jump(out, segments, after, far, seed):
    rng = random.Random(seed)
    c2s, s2c = endpoints()
    w = Pcap(out)
    cisn, sisn = rng.getrandbits(32), rng.getrandbits(32)
    handshake(w, c2s, s2c, cisn, sisn)
    c1, s1 = cisn + 1, sisn + 1
    stream = bytearray()
    for k in range(segments):
        seg = rng.randbytes(SEG)
        w.put(c2s.frame(c1 + k * SEG, s1, ACK, seg), 2)
        stream += seg
    if far:
        # 3 MiB ahead (past the window guard's reach), every other segment:
        # none continues the one before, so each is left out.
        base = c1 + segments * SEG + (3 << 20)
        for k in range(after):
            w.put(c2s.frame(base + 2 * k * SEG, s1, ACK, rng.randbytes(SEG)), 2)
        close(w, c2s, s2c, c1 + segments * SEG, s1)
        w.close()
        return {"packets": w.n, "c2s": digest(bytes(stream)), "dropped_bytes": after * SEG,
                "out_of_window": after}
    base = c1 + segments * SEG + TWO31
    for k in range(after):
        w.put(c2s.frame(base + k * SEG, s1, ACK, rng.randbytes(SEG)), 2)
    close(w, c2s, s2c, base + after * SEG, s1)
    w.close()
    return {"packets": w.n, "c2s": digest(bytes(stream)), "dropped_bytes": after * SEG,
            "out_of_window": after + 2, "jump_offset": segments * SEG}


def wrap_frame(ep, seq, ack, payload, psum):
    """ep.frame(seq, ack, ACK, payload) for an even-length payload whose
    checksum sum (int.from_bytes(payload) % 0xFFFF) is `psum`: the bulk of
    the checksum is computed once per distinct payload."""
    tcp = TCPH.pack(ep.sport, ep.dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, ACK,
                    64240, 0, 0)
    tlen = 20 + len(payload)
    # 2^16 = 1 (mod 0xFFFF): the sum of a concatenation is the sum of its
    # 16-bit-aligned parts.
    v = (int.from_bytes(ep.pseudo + tlen.to_bytes(2, "big") + tcp, "big") + psum) % 0xFFFF
    tcp = tcp[:16] + (0xFFFF - v if v else 0).to_bytes(2, "big") + tcp[18:]
    ep.ip_id = (ep.ip_id + 1) & 0xFFFF
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tlen, ep.ip_id, 0x4000, 64, 6, 0,
                     ep.src, ep.dst)
    ip = ip[:10] + csum_fold(ip).to_bytes(2, "big") + ip[12:]
    return b"".join((ep.eth, ip, tcp, payload))


def gen_wrap(out, total, isn_back, seed):
    rng = random.Random(seed)
    seg_max = 65535 - 41  # even: see wrap_frame
    c2s, s2c = endpoints(cport=40001)
    w = Pcap(out)
    c1 = (1 << 32) - isn_back
    cisn = (c1 - 1) & 0xFFFFFFFF
    sisn = rng.getrandbits(32)
    handshake(w, c2s, s2c, cisn, sisn)
    s1 = sisn + 1
    # The segments cycle through 61 slices of one random pool (no two
    # neighbours equal), so each payload's checksum sum is computed once.
    pool = random.Random(seed + 1).randbytes((1 << 20) + seg_max)
    slices = [pool[j * 16411:j * 16411 + seg_max] for j in range(61)]
    sums = [int.from_bytes(x, "big") % 0xFFFF for x in slices]
    h = hashlib.sha256()
    off = k = 0
    while off < total:
        n = min(seg_max, total - off)
        if n == seg_max:
            seg = slices[k % 61]
            frame = wrap_frame(c2s, c1 + off, s1, seg, sums[k % 61])
        else:
            seg = slices[k % 61][:n]
            frame = c2s.frame(c1 + off, s1, ACK, seg)
        h.update(seg)
        w.put(frame, 20)
        off += n
        k += 1
        if k % 16 == 0 or off == total:
            w.put(s2c.frame(s1, c1 + off, ACK), 5)
    close(w, c2s, s2c, c1 + total, s1)
    w.close()
    return {"packets": w.n, "c2s": {"bytes": total, "sha256": h.hexdigest()},
            "wraps": (c1 + total) >> 32}


def ip_fragment(eth, src, dst, ident, off, more, data, ttl=64):
    """An IPv4 fragment of a TCP datagram: `off` in bytes (multiple of 8)."""
    flags = (off // 8) | (0x2000 if more else 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, flags, ttl, 6, 0,
                     src, dst)
    ip = ip[:10] + csum_fold(ip).to_bytes(2, "big") + ip[12:]
    return eth + ip + data


def tcp_segment(ep, seq, ack, flags, payload):
    """The TCP header and payload (checksummed) of a segment from `ep`."""
    tcp = TCPH.pack(ep.sport, ep.dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                    64240, 0, 0)
    c = csum_fold(ep.pseudo + (20 + len(payload)).to_bytes(2, "big") + tcp + payload)
    return tcp[:16] + c.to_bytes(2, "big") + tcp[18:] + payload


def changed(data, rng):
    """`data` with one byte changed."""
    b = bytearray(data)
    i = rng.randrange(len(b))
    b[i] ^= 1 + rng.randrange(255)
    return bytes(b)


def frags_many(w, c2s, c1, s1, n, rng):
    """10 fragments per 1020-byte segment; returns (stream, datagrams, conflicts)."""
    stream, conflicts, seq = bytearray(), 0, c1
    for ident in range(n // 10):
        payload = rng.randbytes(SEG)
        dgram = tcp_segment(c2s, seq, s1, ACK, payload)
        seq += SEG
        stream += payload
        units = len(dgram) // 8
        # Cut points at least 16 bytes apart, so that no piece is covered by
        # its neighbours and the datagram completes only with the last one.
        cuts = sorted(rng.sample(range(1, units - 4), 5))
        starts = [0] + [8 * (c + j) for j, c in enumerate(cuts)]
        # Each piece overlaps the next by 8 bytes (same bytes: no conflict).
        pieces = [(starts[i], starts[i + 1] + 8) for i in range(5)]
        pieces.append((starts[5], len(dgram)))
        last = rng.randrange(6)
        sent = [p for i, p in enumerate(pieces) if i != last]
        rng.shuffle(sent)
        order = [(a, b, dgram[a:b]) for a, b in sent]
        for _ in range(4):  # copies of bytes already sent
            a, b = rng.choice(sent)
            a2 = a + 8 * rng.randrange((b - a) // 8)
            data = dgram[a2:b]
            if rng.randrange(3) == 0:
                data = changed(data, rng)
                conflicts += 1
            order.append((a2, b, data))
        order.append((pieces[last][0], pieces[last][1], dgram[slice(*pieces[last])]))
        for a, b, data in order:
            w.put(ip_fragment(c2s.eth, c2s.src, c2s.dst, ident & 0xFFFF, a, b < len(dgram), data),
                  1)
    return stream, n // 10, conflicts


def frags_one(w, c2s, c1, s1, n, rng):
    """One 65,020-byte segment in 8-byte tiles plus copies; n fragments in all."""
    payload = rng.randbytes(65000)
    dgram = tcp_segment(c2s, c1, s1, ACK, payload)
    end = len(dgram)
    tiles = list(range(8, end, 8))
    rng.shuffle(tiles)
    frags = [(a, dgram[a:a + 8]) for a in tiles]
    conflicts = 0
    while len(frags) < n - 1:
        a = 8 + 8 * rng.randrange((end - 16) // 8)
        b = min(end, a + 8 * (1 + rng.randrange(185)))
        data = dgram[a:b]
        if rng.randrange(3) == 0:
            data = changed(data, rng)
            conflicts += 1
        frags.append((a, data))
    frags.append((0, dgram[0:8]))
    for a, data in frags:
        w.put(ip_fragment(c2s.eth, c2s.src, c2s.dst, 7, a, a + len(data) < end, data), 1)
    return payload, 1, conflicts


def frags_flood(w, c2s, n, rng):
    """n first fragments of distinct datagrams; returns the expected counts."""
    cap = 8192
    first = n * 4 // 5
    for k in range(n):
        if k == first:
            w.t += 31 * 1000000
        src = ip_bytes("10.%d.%d.%d" % (100 + k // 65536 % 100, k // 256 % 256, k % 256))
        w.put(ip_fragment(c2s.eth, src, c2s.dst, k & 0xFFFF, 0, True, rng.randbytes(1024)),
              1000000 // max(first, 1) if k < first else 1)
    rest = n - first
    # Before the pause: each one past the cap evicts the oldest. After it,
    # the first fragment finds every pending datagram timed out; the rest
    # of the second burst evict again if they pass the cap.
    pending_before = min(first, cap)
    return {"evicted": max(first - cap, 0) + max(rest - cap, 0),
            "timed_out": pending_before if rest else 0,
            "pending_at_end": min(rest, cap) if rest else pending_before}


def gen_frags(out, n, layout, seed):
    rng = random.Random(seed)
    c2s, s2c = endpoints(cport=40002)
    w = Pcap(out)
    exp = {"fragments": n}
    if layout == "flood":
        exp.update(frags_flood(w, c2s, n, rng))
        w.close()
        exp["packets"] = w.n
        return exp
    cisn, sisn = rng.getrandbits(32), rng.getrandbits(32)
    handshake(w, c2s, s2c, cisn, sisn)
    c1, s1 = cisn + 1, sisn + 1
    make = frags_many if layout == "many" else frags_one
    stream, datagrams, conflicts = make(w, c2s, c1, s1, n, rng)
    close(w, c2s, s2c, c1 + len(stream), s1)
    w.close()
    exp.update({"packets": w.n, "fragments": w.n - 6, "reassembled": datagrams,
                "conflicting": conflicts, "c2s": digest(bytes(stream))})
    return exp


def gen_snaplen(out, case, seed):
    rng = random.Random(seed)
    c2s, s2c = endpoints(cport=40003)
    ng = case.startswith("ng")
    snaplen = {"hdr0": 0, "hdr2g": TWO31, "caplen-gt": 200, "ng0": 0, "ng2g": TWO31,
               "ng-caplen-gt": 200}.get(case, 262144)
    w = (Pcapng if ng else Pcap)(out, snaplen=snaplen)
    cisn, sisn = rng.getrandbits(32), rng.getrandbits(32)
    handshake(w, c2s, s2c, cisn, sisn)
    c1, s1 = cisn + 1, sisn + 1
    stream = bytearray()
    for k in range(10):
        seg = rng.randbytes(SEG)
        frame = c2s.frame(c1 + k * SEG, s1, ACK, seg)
        if (case.endswith("caplen2g") or case == "ng-block255m") and k == 5:
            if case == "ng-block255m":  # a block claiming 255 MiB, then the file ends
                w.f.write(struct.pack("<II", 6, 255 << 20) + frame)
            else:
                w.put(frame, 2, caplen=TWO31)  # the bytes after it are not a record
            w.close()
            return {"packets": w.n, "c2s": digest(bytes(stream)), "damaged_after": 3 + k}
        w.put(frame, 2)
        stream += seg
    close(w, c2s, s2c, c1 + 10 * SEG, s1)
    w.close()
    exp = {"packets": w.n, "c2s": digest(bytes(stream))}
    if case == "caplen-gt":
        kept = 200 - 54  # Ethernet + IPv4 + TCP headers
        cut = b"".join(stream[k * SEG:k * SEG + kept] + bytes(SEG - kept) for k in range(10))
        exp.update({"c2s": digest(cut), "gap_bytes": 10 * (SEG - kept)})
    return exp


def link_header(lt, v6, rng):
    """A valid link-layer header of type `lt` for an IPv4/IPv6 payload."""
    et = b"\x86\xdd" if v6 else b"\x08\x00"
    if lt == 1:
        return rng.randbytes(12) + et
    if lt == 113:
        return struct.pack("!HHH", 0, 1, 6) + rng.randbytes(8) + et
    if lt == 276:
        return et + b"\0\0" + struct.pack("!IHBB", 1, 1, 0, 6) + rng.randbytes(8)
    if lt == 0:
        return struct.pack("<I", 24 if v6 else 2)
    if lt == 108:
        return struct.pack("!I", 24 if v6 else 2)
    return b""  # raw IP: the payload is the datagram


def gen_garbage(out, n, linktype, seed):
    rng = random.Random(seed)
    lt = LINKTYPES[linktype]
    w = Pcap(out, linktype=lt)
    for k in range(n):
        size = rng.randrange(1601)
        if k % 2 == 0:
            v6 = lt == 229 or (lt != 228 and k % 4 == 2)
            frame = link_header(lt, v6, rng) + bytes([(0x60 if v6 else 0x40) | rng.randrange(16)])
        else:
            frame = b""
        frame += rng.randbytes(max(size - len(frame), 0))
        w.put(frame, 1)
    w.close()
    return {"packets": w.n}


def splitmix(x):
    m = (1 << 64) - 1
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & m
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & m
    return x ^ (x >> 31)


def unsplitmix(x):
    m = (1 << 64) - 1

    def unxorshift(y, s):
        v = y
        for _ in range(64 // s + 1):
            v = y ^ (v >> s)
        return v
    x = unxorshift(x, 31)
    x = (x * pow(0x94d049bb133111eb, -1, 1 << 64)) & m
    x = unxorshift(x, 27)
    x = (x * pow(0xbf58476d1ce4e5b9, -1, 1 << 64)) & m
    return unxorshift(x, 30)


def colliding_pair(i, target):
    """Client and server IPv6 addresses (client < server) whose tuple with
    ports 40000 -> 443 has the old unkeyed hash `target`."""
    lo = bytearray(16)
    lo[0] = 0x20
    lo[13:16] = i.to_bytes(3, "big")
    hi = bytearray(16)
    hi[0] = 0xFD
    w0, w1 = struct.unpack("<QQ", lo)
    w2 = struct.unpack("<Q", hi[:8])[0]
    h = splitmix(w0 ^ (40000 << 48 | 443 << 32))
    h = splitmix(splitmix(h ^ w1) ^ w2)
    hi[8:16] = struct.pack("<Q", unsplitmix(target) ^ h)
    return bytes(lo), bytes(hi)


def old_unkeyed_hash(lo, hi):
    w = struct.unpack("<QQQQ", lo + hi)
    h = splitmix(w[0] ^ (40000 << 48 | 443 << 32))
    for x in w[1:]:
        h = splitmix(h ^ x)
    return h


def ipv6_syn(src, dst, seq):
    tcp = TCPH.pack(40000, 443, seq, 0, 6 << 4, SYN, 64240, 0, 0) + MSS_OPT
    pseudo = src + dst + struct.pack("!II", len(tcp), 6)
    tcp = tcp[:16] + csum_fold(pseudo + tcp).to_bytes(2, "big") + tcp[18:]
    ip = struct.pack("!IHBB", 0x60000000, len(tcp), 6, 64) + src + dst
    return mac(2) + mac(1) + b"\x86\xdd" + ip + tcp


def gen_collide(out, n, seed):
    rng = random.Random(seed)
    target = 0x5EED5EED5EED5EED
    w = Pcap(out)
    for i in range(n):
        lo, hi = colliding_pair(i, target)
        if i < 4:
            assert old_unkeyed_hash(lo, hi) == target
        w.put(ipv6_syn(lo, hi, rng.getrandbits(32)), 3)
    w.close()
    return {"packets": w.n, "connections": n}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["syns", "reversed", "jump", "wrap", "frags", "snaplen",
                                     "garbage", "collide"])
    ap.add_argument("out")
    ap.add_argument("--conns", type=int, default=200000)
    ap.add_argument("--segments", type=int, default=1000000)
    ap.add_argument("--after", type=int, default=1000, help="jump: segments after the jump")
    ap.add_argument("--far", action="store_true",
                    help="jump: the later segments 3 MiB ahead, every other one, the FIN in order")
    ap.add_argument("--bytes", type=int, default=10 << 30, help="wrap: bytes to move")
    ap.add_argument("--isn-back", type=int, default=1 << 20,
                    help="wrap: bytes before the first wrap")
    ap.add_argument("--fragments", type=int, default=100000)
    ap.add_argument("--layout", choices=["many", "one", "flood"], default="many")
    ap.add_argument("--case", default="hdr0",
                    choices=["hdr0", "hdr2g", "caplen-gt", "caplen2g", "ng0", "ng2g",
                             "ng-caplen-gt", "ng-caplen2g", "ng-block255m"])
    ap.add_argument("--packets", type=int, default=1000000)
    ap.add_argument("--linktype", choices=sorted(LINKTYPES), default="ethernet")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--expect", help="write what the capture must give (JSON) here")
    a = ap.parse_args()
    if a.kind == "syns":
        exp = {"packets": gen_memory.gen_syns(a.out, a.conns, a.seed), "connections": a.conns}
    elif a.kind == "reversed":
        n = gen_memory.gen_reversed(a.out, a.segments, a.seed)
        stream = bytes(97 + o % 26 for o in range(a.segments))
        exp = {"packets": n, "c2s": digest(stream)}
    elif a.kind == "jump":
        exp = gen_jump(a.out, a.segments, a.after, a.far, a.seed)
    elif a.kind == "wrap":
        exp = gen_wrap(a.out, a.bytes, a.isn_back, a.seed)
    elif a.kind == "frags":
        exp = gen_frags(a.out, a.fragments, a.layout, a.seed)
    elif a.kind == "snaplen":
        exp = gen_snaplen(a.out, a.case, a.seed)
    elif a.kind == "garbage":
        exp = gen_garbage(a.out, a.packets, a.linktype, a.seed)
    else:
        exp = gen_collide(a.out, a.conns, a.seed)
    if a.expect:
        with open(a.expect, "w") as f:
            json.dump(exp, f, sort_keys=True)
            f.write("\n")
    if a.out != "-":
        print("%s: %d packets" % (a.out, exp["packets"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
