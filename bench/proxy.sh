#!/usr/bin/env bash
# Proxy benchmark: the same workloads direct, through socat, and through
# `tcpscribe proxy` with netrecord logging on, interleaved in one run.
#   - redis-benchmark -c 50 -P 16 -t set,get (pipelined request rate)
#   - redis-benchmark -c 1 -t ping (latency: p50/p99 of PING_MBULK)
#   - a 2 GiB bulk transfer (python sender -> python sink), MB/s
#   - fairness: while one client downloads BENCH_BULK_MIB through the
#     proxy, another sends small requests through the same proxy to the
#     same server (python, one request at a time): their p50/p99 latency,
#     and the download's MB/s
# socat runs as `TCP-LISTEN:P,fork,reuseaddr,backlog=128 TCP:...` (bulk with
# `-b 262144`). Each measurement is repeated BENCH_RUNS times, the paths
# taking turns (in reverse order every other run, so none always goes
# first); the best rate and the best p99 are kept.
#
# Usage: bench/proxy.sh [path/to/tcpscribe]
# Knobs: BENCH_RUNS (3), BENCH_REQUESTS (1000000), BENCH_PINGS (100000),
#        BENCH_BULK_MIB (2048), BENCH_TMP (/var/tmp: logs go to disk),
#        BENCH_OUT (bench/results-proxy.md), BENCH_PROXY_ARGS (extra flags),
#        BENCH_PROXY_PATHS (paths measured, "direct socat tcpscribe"),
#        BENCH_OLD_BIN (a second tcpscribe binary, the path "tcpscribe-old",
#        logged and checked as "tcpscribe" is; see bench/compare.sh),
#        BENCH_STEP_TIMEOUT (seconds one measurement may take, 900).
# Exits non-zero when a measurement gives no number or a log misses bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../build/tcpscribe}")
runs=${BENCH_RUNS:-3}
requests=${BENCH_REQUESTS:-1000000}
pings=${BENCH_PINGS:-100000}
bulk_mib=${BENCH_BULK_MIB:-2048}
out=${BENCH_OUT:-$here/results-proxy.md}
paths=${BENCH_PROXY_PATHS:-direct socat tcpscribe}
old_bin=
if [ -n "${BENCH_OLD_BIN:-}" ]; then
  old_bin=$(realpath "$BENCH_OLD_BIN")
  case " $paths " in *" tcpscribe-old "*) ;; *) paths="$paths tcpscribe-old" ;; esac
fi
for path in $paths; do
  case $path in
    direct|socat|tcpscribe) ;;
    tcpscribe-old) [ -n "$old_bin" ] || { echo "path tcpscribe-old needs BENCH_OLD_BIN" >&2; exit 2; } ;;
    *) echo "unknown path $path (direct socat tcpscribe tcpscribe-old)" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d "${BENCH_TMP:-/var/tmp}/tcpscribe-proxy-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for c in redis-server redis-benchmark socat python3; do
  if ! command -v $c >/dev/null; then
    pkg=$c
    [ $c = redis-benchmark ] && pkg=redis-tools
    apt-get install -y -qq "$pkg" >/dev/null
  fi
done
for b in "$bin" $old_bin; do
  "$b" proxy --help >/dev/null 2>&1 || { echo "$b has no proxy mode" >&2; exit 1; }
done
proxy_bin() { if [ "$1" = tcpscribe-old ]; then echo "$old_bin"; else echo "$bin"; fi; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),1).close()" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1" >&2; exit 1
}

cat >"$work/bulk.py" <<'PY'
import os, socket, sys, time
if sys.argv[1] == 'sink':
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(16)
    buf = bytearray(1 << 20)
    while True:
        c, _ = s.accept()
        while c.recv_into(buf):
            pass
        c.sendall(b'k'); c.close()
else:
    total = int(sys.argv[3]) << 20
    block = memoryview(os.urandom(1 << 20))
    c = socket.create_connection(('127.0.0.1', int(sys.argv[2])))
    t = time.monotonic()
    for _ in range(total >> 20):
        c.sendall(block)
    c.shutdown(socket.SHUT_WR)
    assert c.recv(1) == b'k'   # the sink has everything
    print(f'{total / (time.monotonic() - t) / 1e6:.0f}')
PY

cat >"$work/mixed.py" <<'PY'
# Fairness: a server with two answers, and its two clients.
#   mixed.py serve PORT            "get N\n" -> N MiB; "ping\n" -> "pong\n" (per line)
#   mixed.py download PORT MIB     prints MB/s
#   mixed.py pings PORT FLAGFILE   pings while FLAGFILE exists (at least 200), prints p50 p99 ms
import os, socket, sys, threading, time
if sys.argv[1] == 'serve':
    block = memoryview(os.urandom(1 << 20))
    def serve(c):
        f = c.makefile('rb')
        for line in f:
            w = line.split()
            if w[0] == b'get':
                for _ in range(int(w[1])):
                    c.sendall(block)
            else:
                c.sendall(b'pong\n')
        c.close()
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
elif sys.argv[1] == 'download':
    n = int(sys.argv[3]) << 20
    c = socket.create_connection(('127.0.0.1', int(sys.argv[2])))
    c.sendall(b'get %d\n' % int(sys.argv[3]))
    buf = bytearray(1 << 20); got = 0; t = time.monotonic()
    while got < n:
        k = c.recv_into(buf)
        assert k, 'download cut short'
        got += k
    print(f'{n / (time.monotonic() - t) / 1e6:.0f}')
else:
    c = socket.create_connection(('127.0.0.1', int(sys.argv[2])))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = c.makefile('rb'); lat = []
    while os.path.exists(sys.argv[3]) or len(lat) < 200:
        t = time.monotonic(); c.sendall(b'ping\n'); assert f.readline() == b'pong\n'
        lat.append(time.monotonic() - t)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3
    print(f'{q(0.50):.3f} {q(0.99):.3f} {len(lat)}')
PY

rport=$(free_port) bport=$(free_port) mport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
python3 "$work/bulk.py" sink "$bport" &
pids+=($!)
python3 "$work/mixed.py" serve "$mport" &
pids+=($!)
wait_port "$rport"; wait_port "$bport"; wait_port "$mport"

# One front per path and target: socat and tcpscribe for redis and bulk.
# Each tcpscribe path logs under logs/PATH/ (redis_N, bulk_N).
declare -A port front
port[direct,redis]=$rport; port[direct,bulk]=$bport; port[direct,mixed]=$mport
for t in redis bulk mixed; do
  up=${port[direct,$t]}
  for path in $paths; do
    [ "$path" = direct ] && continue
    p=$(free_port); port[$path,$t]=$p
    if [ "$path" = socat ] && [ $t != redis ]; then
      socat -b 262144 TCP-LISTEN:$p,fork,reuseaddr,backlog=128 TCP:127.0.0.1:$up &
    elif [ "$path" = socat ]; then
      socat TCP-LISTEN:$p,fork,reuseaddr,backlog=128 TCP:127.0.0.1:$up &
    else
      mkdir -p "$work/logs/$path"
      # shellcheck disable=SC2086
      "$(proxy_bin "$path")" proxy -q --listen 127.0.0.1:$p --forward 127.0.0.1:$up \
        --log-root "$work/logs/$path/$t" ${BENCH_PROXY_ARGS:-} 2>"$work/proxy-$path-$t.err" &
    fi
    pids+=($!)
    front[$path,$t]=$!
    wait_port "$p"
  done
done
# A front that died fails the benchmark (redis-benchmark would wait forever
# for a port nobody listens on); every step also has a time limit.
alive() {
  local t
  for t in redis bulk mixed; do
    [ -z "${front[$1,$t]:-}" ] || kill -0 "${front[$1,$t]}" 2>/dev/null \
      || { echo "$1: the $t front exited; its last words:" >&2; tail -n 5 "$work/proxy-$1-$t.err" >&2 || true; exit 1; }
  done
}
step_timeout=${BENCH_STEP_TIMEOUT:-900}

csv_field() {  # csv_field TEST COLUMN < csv
  python3 -c "
import csv, sys
for row in csv.DictReader(sys.stdin):
    if row['test'] == '$1': print(row['$2'])"
}

declare -A best
# A measurement that gave no number (a proxy died, redis-benchmark failed)
# ends the benchmark.
is_number() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$2: no measurement (got '$1')" >&2; exit 1; }; }
keep_max() { is_number "$2" "$1"; [ -z "${best[$1]:-}" ] && best[$1]=$2 && return; python3 -c "import sys; sys.exit(0 if $2 > ${best[$1]} else 1)" && best[$1]=$2 || true; }
keep_min() { is_number "$2" "$1"; [ -z "${best[$1]:-}" ] && best[$1]=$2 && return; python3 -c "import sys; sys.exit(0 if $2 < ${best[$1]} else 1)" && best[$1]=$2 || true; }

for run in $(seq "$runs"); do
  order=$paths
  # shellcheck disable=SC2086  # a list of words
  if [ $((run % 2)) -eq 0 ]; then order=$(printf '%s\n' $paths | tac | tr '\n' ' '); fi
  for path in $order; do
    alive "$path"
    p=${port[$path,redis]}
    timeout "$step_timeout" redis-benchmark -p "$p" -c 50 -P 16 -t set,get -n "$requests" --csv >"$work/rb.csv"
    keep_max "$path,set" "$(csv_field SET rps <"$work/rb.csv")"
    keep_max "$path,get" "$(csv_field GET rps <"$work/rb.csv")"
    timeout "$step_timeout" redis-benchmark -p "$p" -c 1 -t ping -n "$pings" --csv >"$work/rl.csv"
    keep_min "$path,p50" "$(csv_field PING_MBULK p50_latency_ms <"$work/rl.csv")"
    keep_min "$path,p99" "$(csv_field PING_MBULK p99_latency_ms <"$work/rl.csv")"
    rm -f "$work/logs/$path"/redis_*
    # This VM's balloon reports free pages to the host, so memory left
    # unused for a few seconds costs a host page fault per page on its next
    # touch (2 GiB into the page cache: 0.55 s just after a delete, 6 s after
    # 15 s idle). The logging proxy fills the page cache and socat does not:
    # write and delete as much just before, for every path alike, so the
    # page cache takes memory the way it would on real hardware.
    dd if=/dev/zero of="$work/warm" bs=1M count="$bulk_mib" status=none
    rm -f "$work/warm"
    keep_max "$path,bulk" "$(timeout "$step_timeout" python3 "$work/bulk.py" send "${port[$path,bulk]}" "$bulk_mib")"
    if [[ $path == tcpscribe* ]]; then
      # The log of the bulk connection holds every byte, in records.
      log=$(ls "$work/logs/$path"/bulk_* | tail -1)
      bytes=$("$(proxy_bin "$path")" proxy --inspect "$log" | sed -n 's/.*c: [0-9]* chunks \([0-9]*\) bytes.*/\1/p')
      [ "$bytes" = $((bulk_mib << 20)) ] || { echo "$path: bulk log holds $bytes bytes" >&2; exit 1; }
      logsize=$(stat -c %s "$log")
      rm -f "$work/logs/$path"/bulk_*
    fi
    # Fairness: pings from another client during a download, same front.
    touch "$work/downloading"
    python3 "$work/mixed.py" pings "${port[$path,mixed]}" "$work/downloading" >"$work/pings.out" &
    pinger=$!
    down=$(timeout "$step_timeout" python3 "$work/mixed.py" download "${port[$path,mixed]}" "$bulk_mib")
    rm -f "$work/downloading"
    wait "$pinger"
    read -r mp50 mp99 mn <"$work/pings.out"
    keep_max "$path,down" "$down"
    keep_min "$path,fair50" "$mp50"
    keep_min "$path,fair99" "$mp99"
    rm -f "$work/logs/$path"/mixed_*
    echo "run $run $path: SET ${best[$path,set]} GET ${best[$path,get]} p99 ${best[$path,p99]} bulk ${best[$path,bulk]}" \
         "download $down MB/s, other client's pings p50 $mp50 p99 $mp99 ms ($mn)" >&2
  done
done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
{
  echo "| path | SET req/s (-P 16) | GET req/s (-P 16) | PING p50 ms (-c 1) | PING p99 ms (-c 1) | bulk MB/s (${bulk_mib} MiB) | download MB/s | others' p50 / p99 ms during it |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for path in $paths; do
    echo "| $path | ${best[$path,set]} | ${best[$path,get]} | ${best[$path,p50]} | ${best[$path,p99]} | ${best[$path,bulk]} | ${best[$path,down]} | ${best[$path,fair50]} / ${best[$path,fair99]} |"
  done
  echo
  if [ -n "${best[tcpscribe,set]:-}" ] && [ -n "${best[socat,set]:-}" ]; then
    echo "tcpscribe/socat: SET $(ratio "${best[tcpscribe,set]}" "${best[socat,set]}")," \
         "GET $(ratio "${best[tcpscribe,get]}" "${best[socat,get]}")," \
         "bulk $(ratio "${best[tcpscribe,bulk]}" "${best[socat,bulk]}")," \
         "p99 $(ratio "${best[tcpscribe,p99]}" "${best[socat,p99]}") (lower is better)," \
         "download $(ratio "${best[tcpscribe,down]}" "${best[socat,down]}")," \
         "others' p99 during it $(ratio "${best[tcpscribe,fair99]}" "${best[socat,fair99]}") (lower is better)."
  fi
  if [ -n "${logsize:-}" ]; then
    echo "tcpscribe logged every byte: the bulk log was $logsize bytes on $(df --output=fstype "$work" | tail -1)" \
         "($(dirname "$work"))."
  fi
  echo "Best of $runs runs, $(nproc) cores, $(date -u +%Y-%m-%d)."
} | tee "$out"
