#!/usr/bin/env python3
"""Shuffle the packets of a classic pcap file within small windows.

    reorder_pcap.py IN.pcap OUT.pcap [--seed N] [--min-window 4] [--max-window 8]

The file is cut into consecutive windows whose sizes are drawn at random
between --min-window and --max-window packets; the records of each window are
written in a random order. Every record (its 16-byte header, timestamps
included, and its data) is copied byte for byte, and the global header is kept
as it is, so the output has the same byte order and timestamp resolution
(usec or nsec) as the input. Only the order of the records changes.

Standard library only. pcapng input is refused with a clear message.
"""

import argparse
import random
import struct
import sys

MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", "usec"),
    b"\xa1\xb2\xc3\xd4": (">", "usec"),
    b"\x4d\x3c\xb2\xa1": ("<", "nsec"),
    b"\xa1\xb2\x3c\x4d": (">", "nsec"),
}


def read_pcap(path):
    """Return (global_header_bytes, [record_bytes, ...])."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: too short for a pcap global header")
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        raise ValueError(f"{path}: pcapng is not supported, use classic pcap")
    if magic not in MAGICS:
        raise ValueError(f"{path}: unknown pcap magic {magic.hex()}")
    endian, _ = MAGICS[magic]
    header = data[:24]
    records = []
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError(f"{path}: truncated record header at offset {off}")
        _sec, _frac, incl_len, _orig_len = struct.unpack_from(endian + "IIII", data, off)
        end = off + 16 + incl_len
        if end > len(data):
            raise ValueError(f"{path}: truncated record data at offset {off}")
        records.append(data[off:end])
        off = end
    return header, records


def shuffle_windows(records, rng, min_window, max_window):
    out = []
    i = 0
    while i < len(records):
        size = rng.randint(min_window, max_window)
        window = records[i:i + size]
        rng.shuffle(window)
        out.extend(window)
        i += size
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-window", type=int, default=4)
    ap.add_argument("--max-window", type=int, default=8)
    args = ap.parse_args(argv)
    if not 1 <= args.min_window <= args.max_window:
        ap.error("need 1 <= --min-window <= --max-window")

    try:
        header, records = read_pcap(args.input)
    except (OSError, ValueError) as e:
        print(f"reorder_pcap: {e}", file=sys.stderr)
        return 2

    rng = random.Random(args.seed)
    shuffled = shuffle_windows(records, rng, args.min_window, args.max_window)
    moved = sum(1 for a, b in zip(records, shuffled) if a is not b)

    with open(args.output, "wb") as f:
        f.write(header)
        for rec in shuffled:
            f.write(rec)
    print(f"reorder_pcap: {len(records)} packets, {moved} moved "
          f"(seed {args.seed}, windows {args.min_window}-{args.max_window})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
