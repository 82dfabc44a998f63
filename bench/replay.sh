#!/usr/bin/env bash
# Replay timing benchmark: how close to the schedule does `tcpscribe replay
# --timing original` send? Generates netrecord logs with known gaps, runs
# them against a local discard server, and reports the error of every timed
# send (achieved - scheduled, on CLOCK_MONOTONIC, from replay's --json),
# p50/p99/max, plus wall and CPU time, with the normal scheduler and with
# --realtime (SCHED_FIFO). Scenarios:
#   serial:  1 connection, 2000 chunks 1 ms apart
#   spread:  200 connections starting over 2 s, 50 chunks each, gaps 1-40 ms
#   burst:   1000 connections at once, 10 chunks each, gaps 5-50 ms
# Usage: bench/replay.sh [path/to/tcpscribe]   (default: build/tcpscribe)
# Output: a table on stdout, and the same in $BENCH_OUT (default bench/results-replay.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../build/tcpscribe}")
out=${BENCH_OUT:-$here/results-replay.md}
"$bin" replay --help 2>/dev/null | grep -q -- --timing-report || { echo "$bin has no replay mode"; exit 1; }
tmp=$(mktemp -d)
srv_pid=
trap '[ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; rm -rf "$tmp"' EXIT
ulimit -n 65536 2>/dev/null || true

python3 - "$tmp" <<'PY'
import os, random, sys
root = sys.argv[1]; rnd = random.Random(7)
def write(path, start_us, gaps_us, size=64):
    t = start_us
    with open(path, "wb") as f:
        f.write(b"c %d.%06d con\n" % divmod(t, 1000000))
        for g in gaps_us:
            t += g
            f.write(b"c %d.%06d %d\n" % (*divmod(t, 1000000), size) + bytes([65 + rnd.randrange(26)]) * size)
        f.write(b"c %d.%06d hup\n" % divmod(t + 1000, 1000000))
for name, conns, chunks, spread_us, gap in (("serial", 1, 2000, 0, (1000, 1000)),
                                            ("spread", 200, 50, 2000000, (1000, 40000)),
                                            ("burst", 1000, 10, 0, (5000, 50000))):
    os.makedirs(os.path.join(root, name))
    for i in range(conns):
        write(os.path.join(root, name, "log_%d" % (i + 1)), 1000000 + rnd.randrange(spread_us + 1),
              [rnd.randrange(gap[0], gap[1] + 1) for _ in range(chunks)])
PY

# A discard server: epoll, reads and drops everything.
cat >"$tmp/discard.py" <<'PY'
import selectors, socket
sel = selectors.DefaultSelector(); srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(("127.0.0.1", 0)); srv.listen(4096)
srv.setblocking(False); sel.register(srv, selectors.EVENT_READ)
print(srv.getsockname()[1], flush=True)
while True:
    for key, _ in sel.select():
        if key.fileobj is srv:
            try:
                c, _ = srv.accept(); c.setblocking(False); sel.register(c, selectors.EVENT_READ)
            except BlockingIOError:
                pass
        else:
            try:
                d = key.fileobj.recv(65536)
            except ConnectionError:
                d = b""
            if not d:
                sel.unregister(key.fileobj); key.fileobj.close()
PY
python3 "$tmp/discard.py" >"$tmp/port" &
srv_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")

{
  echo "| scenario | scheduler | connections | timed sends | p50 error us | p99 error us | max error us | wall s | CPU s |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$tmp/table"
for name in serial spread burst; do
  for sched in normal realtime; do
    flag=
    [ $sched = realtime ] && flag=--realtime
    /usr/bin/time -f '%e %U %S' -o "$tmp/$name.time" \
      "$bin" replay "$tmp/$name"/log_* --target "127.0.0.1:$port" --timing original $flag \
      --json "$tmp/$name.json" >/dev/null 2>"$tmp/$name.err" || { cat "$tmp/$name.err"; exit 1; }
    grep -h -- "--realtime:" "$tmp/$name.err" >&2 || true
    python3 - "$tmp/$name.json" "$tmp/$name.time" "$name" "$sched" >>"$tmp/table" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); e = r["send_error_us"]
wall, user, sys_ = map(float, open(sys.argv[2]).read().split()[-3:])
print("| %s | %s | %d | %d | %.1f | %.1f | %.1f | %.2f | %.2f |" % (sys.argv[3], sys.argv[4],
      len(r["connections"]), e["samples"], e["p50"], e["p99"], e["max"], wall, user + sys_))
PY
  done
done
cat "$tmp/table"
{
  echo "# Replay timing ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  cat "$tmp/table"
} >"$out"
