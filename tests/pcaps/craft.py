#!/usr/bin/env python3
"""Writes crafted_edge_cases.pcap: link and IP layer cases that real
programs on loopback do not produce. Each connection carries a text that
names its case, so the golden output shows what was reassembled.

 1. IPv4 segment split into 3 fragments, sent out of order
 2. a 4-byte segment in a 60-byte Ethernet frame with non-zero padding
 3. IPv4 total length 0 (TSO senders): the frame length rules
 4. IPv6 with hop-by-hop and destination-options extension headers
 5. IPv6 segment split into 2 fragments
 6. 802.1ad + 802.1Q double tag (QinQ)
 7. IPv4 header with options (IHL 6)
"""
import struct

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def tcp(sport, dport, seq, ack, flags, payload=b''):
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload

def ip4(src, dst, payload, ident=1, frag=0, total=None, options=b''):
    ihl = 5 + len(options) // 4
    tl = 20 + len(options) + len(payload) if total is None else total
    h = struct.pack('!BBHHHBB H4s4s', 0x40 | ihl, 0, tl, ident, frag, 64, 6, 0, bytes(src), bytes(dst)) + options
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload

def ip6(src, dst, nh, payload):
    return struct.pack('!IHBB16s16s', 6 << 28, len(payload), nh, 64, bytes(src), bytes(dst)) + payload

def eth(payload, etype=0x0800, tags=()):
    h = b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01'
    for tpid, vid in tags: h += struct.pack('!HH', tpid, vid)
    return h + struct.pack('!H', etype) + payload

A4, B4 = [10, 9, 0, 1], [10, 9, 0, 2]
A6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
B6 = A6[:15] + [2]
SYN, ACK, FIN, PSH = 2, 16, 1, 8
frames = []

def conn4(sport, payload, build=None, tags=()):
    """Handshake, one data segment (built by `build` or plainly), FIN both ways."""
    c, s = 1000, 5000
    e = lambda p: eth(p, tags=tags)
    frames.append(e(ip4(A4, B4, tcp(sport, 80, c, 0, SYN))))
    frames.append(e(ip4(B4, A4, tcp(80, sport, s, c + 1, SYN | ACK))))
    seg = tcp(sport, 80, c + 1, s + 1, PSH | ACK, payload)
    frames.extend(build(seg) if build else [e(ip4(A4, B4, seg))])
    frames.append(e(ip4(A4, B4, tcp(sport, 80, c + 1 + len(payload), s + 1, FIN | ACK))))
    frames.append(e(ip4(B4, A4, tcp(80, sport, s + 1, c + 2 + len(payload), FIN | ACK))))
    frames.append(e(ip4(A4, B4, tcp(sport, 80, c + 2 + len(payload), s + 2, ACK))))

def fragments4(seg):
    parts = [(0, seg[:24]), (24, seg[24:48]), (48, seg[48:])]
    out = []
    for off, chunk in parts:
        more = 0x2000 if off + len(chunk) < len(seg) else 0
        out.append(eth(ip4(A4, B4, chunk, ident=77, frag=more | off // 8)))
    return [out[2], out[0], out[1]]

def padded(seg):
    f = eth(ip4(A4, B4, seg))
    return [f + b'PAD!' * ((60 - len(f) + 3) // 4)]

def tso(seg):
    return [eth(ip4(A4, B4, seg, total=0))]

QINQ = ((0x88a8, 300), (0x8100, 42))

def ipopts(seg):
    return [eth(ip4(A4, B4, seg, options=b'\x01\x01\x01\x00'))]  # NOP NOP NOP EOL

conn4(41001, b'case 1: fragmented IPv4 segment, fragments out of order ' * 2, fragments4)
conn4(41002, b'pad!', padded)
conn4(41003, b'case 3: IPv4 total length 0 (TSO capture)', tso)
conn4(41006, b'case 6: QinQ double VLAN tag', tags=QINQ)
conn4(41007, b'case 7: IPv4 header with options', ipopts)

def conn6(sport, payload, build):
    c, s = 7000, 9000
    plain = lambda src, dst, seg: eth(ip6(src, dst, 6, seg), 0x86DD)
    frames.append(plain(A6, B6, tcp(sport, 80, c, 0, SYN)))
    frames.append(plain(B6, A6, tcp(80, sport, s, c + 1, SYN | ACK)))
    frames.extend(build(tcp(sport, 80, c + 1, s + 1, PSH | ACK, payload)))
    frames.append(plain(A6, B6, tcp(sport, 80, c + 1 + len(payload), s + 1, FIN | ACK)))
    frames.append(plain(B6, A6, tcp(80, sport, s + 1, c + 2 + len(payload), FIN | ACK)))

def exthdrs(seg):
    hbh = bytes([60, 0]) + b'\x01\x04\0\0\0\0'      # next: dest opts; PadN
    dst = bytes([6, 0]) + b'\x01\x04\0\0\0\0'       # next: TCP
    return [eth(ip6(A6, B6, 0, hbh + dst + seg), 0x86DD)]

def fragments6(seg):
    out = []
    for off, chunk, more in ((0, seg[:32], 1), (32, seg[32:], 0)):
        fh = struct.pack('!BBHI', 6, 0, off | more, 0xabcd)
        out.append(eth(ip6(A6, B6, 44, fh + chunk), 0x86DD))
    return [out[1], out[0]]

conn6(41004, b'case 4: IPv6 with extension headers', exthdrs)
conn6(41005, b'case 5: IPv6 fragmented segment, fragments out of order', fragments6)

with open('crafted_edge_cases.pcap', 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(frames):
        f.write(struct.pack('<IIII', 1700000000, i * 1000, len(fr), len(fr)) + fr)
