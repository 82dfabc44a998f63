#!/usr/bin/env python3
"""A real loopback capture for the offline benchmark: curl <-> python3 http.server.

    real_capture.py make OUTDIR [--total-mb 1300] [--connections 2000]
                                [--parallel 4] [--seed 1]
    real_capture.py verify MANIFEST OUTPUT_DIR [--requests N]

make (needs root, or CAP_NET_RAW for tcpdump):
  1. writes a pool of 200 files of seeded pseudo-random bytes (sizes
     log-uniform, 200 B to a few MiB, scaled so that the planned requests
     move about --total-mb MB) into OUTDIR/real-www;
  2. starts `python3 -m http.server -b 127.0.0.1 -p HTTP/1.1 0` (a free
     port) on that directory and `tcpdump -i lo -w OUTDIR/real.pcap` with
     the default snapshot length and a filter for that port on 127.0.0.1
     (nothing else on loopback gets in);
  3. runs --connections curl processes, --parallel at a time, each one
     connection: 3 in 4 fetch one file, the others 2-8 files over the same
     keep-alive connection. Each body stream is hashed as it arrives and
     must equal the files it asked for;
  4. stops tcpdump and the server (also on errors and Ctrl-C), fails if the
     kernel dropped a packet, removes the served files and writes
     real-manifest.tsv (name, size, sha256 of every served file) and
     real-params.txt.
  Loopback's MTU is 64 KiB and the server writes 64 KiB at a time, so most
  data segments are about 64 KB.

verify: checks a tcpflow-style output directory of that capture: every
server->client file is a sequence of HTTP responses whose bodies
(Content-Length) must each be one of the manifest's files; every
client->server file holds GET requests. Prints one line
  files=N responses=N requests=N bodies_ok=N bad=N
and exits 0 only when nothing is bad (and, with --requests, when both
counts equal it).
"""

import argparse
import concurrent.futures
import hashlib
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

POOL = 200


def plan(seed, connections, total_bytes):
    """Pool sizes and, per connection, the list of file indexes it fetches."""
    rng = random.Random(seed)
    raw = [math.exp(rng.uniform(math.log(200), math.log(4 << 20))) for _ in range(POOL)]
    conns = []
    for _ in range(connections):
        n = 1 if rng.random() < 0.75 else rng.randint(2, 8)
        conns.append([rng.randrange(POOL) for _ in range(n)])
    counts = [0] * POOL
    for c in conns:
        for i in c:
            counts[i] += 1
    planned = sum(raw[i] * counts[i] for i in range(POOL))
    scale = total_bytes / planned
    sizes = [max(1, int(r * scale)) for r in raw]
    return sizes, conns


def wait_for(pred, what, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def fetch(port, names, expect_sha, expect_len):
    """One curl process, one connection; returns an error string or None."""
    urls = ["http://127.0.0.1:%d/%s" % (port, n) for n in names]
    cmd = ["curl", "--silent", "--show-error", "--fail", "--http1.1", "--noproxy", "*"] + urls
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h = hashlib.sha256()
    got = 0
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        got += len(chunk)
    err = p.stderr.read().decode(errors="replace").strip()
    rc = p.wait()
    if rc != 0:
        return "curl %s: exit %d: %s" % (" ".join(names), rc, err)
    if got != expect_len or h.hexdigest() != expect_sha:
        return "curl %s: %d bytes, expected %d (or a different sha256)" % (
            " ".join(names), got, expect_len)
    return None


def make(a):
    out = os.path.abspath(a.outdir)
    www = os.path.join(out, "real-www")
    pcap = os.path.join(out, "real.pcap")
    os.makedirs(www, exist_ok=True)
    for p in ("real.pcap", "real-manifest.tsv", "real-params.txt"):
        if os.path.exists(os.path.join(out, p)):
            os.unlink(os.path.join(out, p))
    sizes, conns = plan(a.seed, a.connections, a.total_mb * 1000 * 1000)
    names = ["f%03d.bin" % i for i in range(POOL)]
    bodies = []
    for i, n in enumerate(sizes):
        data = random.Random(a.seed * 100003 + i).randbytes(n)
        with open(os.path.join(www, names[i]), "wb") as f:
            f.write(data)
        bodies.append(data)
    manifest = [(names[i], sizes[i], hashlib.sha256(bodies[i]).hexdigest())
                for i in range(POOL)]
    jobs = []
    for c in conns:
        h = hashlib.sha256()
        for i in c:
            h.update(bodies[i])
        jobs.append(([names[i] for i in c], h.hexdigest(), sum(sizes[i] for i in c)))
    del bodies
    total = sum(j[2] for j in jobs)
    print("real: %d connections, %d requests, %.1f MB of bodies" %
          (len(conns), sum(len(c) for c in conns), total / 1e6), file=sys.stderr)

    server = tcpdump = None
    tcpdump_err = os.path.join(out, "real-tcpdump.log")
    try:
        server = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "-b", "127.0.0.1",
             "-d", www, "-p", "HTTP/1.1", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = server.stdout.readline()
        m = re.search(r"port (\d+)", line)
        if not m:
            raise RuntimeError("http.server did not start: " + line.strip())
        port = int(m.group(1))
        # Its further output (none expected) must not fill the pipe.
        threading.Thread(target=server.stdout.read, daemon=True).start()
        with open(tcpdump_err, "w") as ef:
            tcpdump = subprocess.Popen(
                ["tcpdump", "-i", "lo", "-n", "-U", "-B", "262144", "-w", pcap,
                 "host 127.0.0.1 and tcp port %d" % port],
                stdout=subprocess.DEVNULL, stderr=ef)
        wait_for(lambda: "listening on" in open(tcpdump_err).read(), "tcpdump")
        errors = []
        with concurrent.futures.ThreadPoolExecutor(a.parallel) as ex:
            for e in ex.map(lambda j: fetch(port, *j), jobs):
                if e:
                    errors.append(e)
        # tcpdump may lag behind the traffic (its ring holds the rest): it
        # is stopped only once the file has not grown for a second; -U
        # makes it write each packet as it takes it from the ring.
        last, still = -1, 0
        while still < 10:
            time.sleep(0.1)
            size = os.path.getsize(pcap)
            still = still + 1 if size == last else 0
            last = size
    finally:
        if tcpdump and tcpdump.poll() is None:
            tcpdump.send_signal(signal.SIGINT)
            tcpdump.wait()
        if server and server.poll() is None:
            server.terminate()
            server.wait()
    shutil.rmtree(www)
    stats = open(tcpdump_err).read()
    if errors:
        for e in errors[:10]:
            print("real_capture.py: " + e, file=sys.stderr)
        raise SystemExit("real_capture.py: %d of %d connections failed" % (len(errors), len(jobs)))
    dropped = re.search(r"(\d+) packets? dropped by kernel", stats)
    captured = re.search(r"(\d+) packets? captured", stats)
    # On lo the kernel's filter sees every packet twice (sent and
    # received) and libpcap drops the sent copy, so a complete capture has
    # "received by filter" = 2 x "captured".
    received = re.search(r"(\d+) packets? received by filter", stats)
    if not dropped or int(dropped.group(1)) != 0 or not captured or not received \
            or 2 * int(captured.group(1)) != int(received.group(1)):
        raise SystemExit("real_capture.py: tcpdump lost packets, run again on a quieter "
                         "machine:\n" + stats)
    with open(os.path.join(out, "real-manifest.tsv"), "w") as f:
        for row in manifest:
            f.write("%s\t%d\t%s\n" % row)
    with open(os.path.join(out, "real-params.txt"), "w") as f:
        f.write("total_mb=%d connections=%d parallel=%d seed=%d requests=%d\n" %
                (a.total_mb, a.connections, a.parallel, a.seed,
                 sum(len(c) for c in conns)))
    print("real.pcap: %s packets, %.1f MB, every body verified" %
          (captured.group(1), os.path.getsize(pcap) / 1e6), file=sys.stderr)
    return 0


def parse_responses(data, known):
    """(responses, bodies found in `known`, problems) of one server->client file."""
    pos = n = ok = 0
    bad = []
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if not data.startswith(b"HTTP/1.", pos) or end < 0:
            bad.append("no response header at offset %d" % pos)
            break
        head = data[pos:end].decode("latin-1")
        m = re.search(r"\r\ncontent-length:\s*(\d+)", head, re.I)
        if not m:
            bad.append("no Content-Length at offset %d" % pos)
            break
        body = data[end + 4:end + 4 + int(m.group(1))]
        n += 1
        if len(body) == int(m.group(1)) and hashlib.sha256(body).hexdigest() in known:
            ok += 1
        else:
            bad.append("body at offset %d is not a served file" % (end + 4))
        pos = end + 4 + int(m.group(1))
    return n, ok, bad


def verify(a):
    known = set()
    with open(a.manifest) as f:
        for line in f:
            known.add(line.rstrip("\n").split("\t")[2])
    files = responses = requests = ok = 0
    bad = []
    for fn in sorted(os.listdir(a.outdir)):
        if fn == "report.xml":
            continue
        files += 1
        with open(os.path.join(a.outdir, fn), "rb") as f:
            data = f.read()
        if data.startswith(b"GET "):
            requests += len(re.findall(rb"(?:^|\r\n\r\n)GET ", data))
            continue
        n, k, problems = parse_responses(data, known)
        responses += n
        ok += k
        bad += ["%s: %s" % (fn, p) for p in problems]
    if a.requests is not None and (responses != a.requests or requests != a.requests):
        bad.append("expected %d requests and responses" % a.requests)
    print("files=%d responses=%d requests=%d bodies_ok=%d bad=%d" %
          (files, responses, requests, ok, len(bad)))
    for line in bad[:20]:
        print("  " + line, file=sys.stderr)
    return 0 if not bad else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("outdir")
    m.add_argument("--total-mb", type=int, default=1300, help="MB of bodies (1300)")
    m.add_argument("--connections", type=int, default=2000)
    m.add_argument("--parallel", type=int, default=4, help="curl processes at once (4)")
    m.add_argument("--seed", type=int, default=1)
    v = sub.add_parser("verify")
    v.add_argument("manifest")
    v.add_argument("outdir")
    v.add_argument("--requests", type=int)
    a = ap.parse_args()
    return make(a) if a.cmd == "make" else verify(a)


if __name__ == "__main__":
    sys.exit(main())
