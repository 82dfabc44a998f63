#!/usr/bin/env bash
# Live-capture benchmark: tcpscribe vs tcpflow on a bulk transfer over a veth
# pair between two network namespaces (issue 3).
#
#   bench/live.sh [TCPSCRIBE_BINARY]
#
# Without an argument tcpscribe is built (Release, Ninja, no tests) in
# $BENCH_BUILD_DIR (default <repo>/build-release), with extra configure
# arguments from $BENCH_CMAKE_ARGS.  Must run as root (namespaces, capture).
#
# For each round and each tool in turn (the order alternates between rounds)
# the tool captures on the client's end of the veth pair, inside the client
# namespace, with its default buffer settings; the server then pushes the
# payload with sendfile() as fast as it can, the client counts what it
# receives; once the tool is idle (CPU time and output size steady for 1 s)
# it is stopped (tcpscribe: SIGINT, tcpflow: SIGTERM) and its output for the
# bulk direction is compared with the payload.  Each round also runs the
# transfer once without any capture ("none") as a baseline.
#
# Scenarios:
#   files         -o DIR on $BENCH_TMP (disk), BENCH_LIVE_MIB MiB payload
#   slow-console  console output (tcpscribe -C -B -0, tcpflow -C -B) into a
#                 pipe read at BENCH_LIVE_SLOW_RATE MB/s: an output slower than
#                 the network; BENCH_LIVE_SLOW_MIB MiB payload
#
# tcpflow 1.6.1 prints no capture statistics at all (it never calls
# pcap_stats, with or without -v), so its kernel drop count is read by a
# small LD_PRELOAD shim (built here with gcc) that calls pcap_stats() on
# tcpflow's handle when its pcap_loop returns.  The shim also counts the
# packets pcap handed to tcpflow and how many were cut by its snaplen.
#
# Environment:
#   BENCH_LIVE_MIB        payload MiB for "files" (default 1024)
#   BENCH_LIVE_ROUNDS     rounds (default 2)
#   BENCH_LIVE_TOOLS      tools (default "tcpscribe tcpflow")
#   BENCH_LIVE_SCENARIOS  default "files slow-console"
#   BENCH_LIVE_SLOW_MIB   payload MiB for slow-console (default 128)
#   BENCH_LIVE_SLOW_RATE  reader rate in MB/s for slow-console (default 20)
#   BENCH_LIVE_FILTER     BPF filter given to both tools (default "tcp")
#   BENCH_LIVE_OFFLOAD    "on" (default: kernel defaults, GRO'd ~64 KB
#                         packets) or "off" (ethtool -K: no TSO/GSO/GRO, so
#                         MTU-sized packets, ~40x the packet rate)
#   BENCH_LIVE_RATE       pace the sender at this many MB/s (SO_MAX_PACING_RATE;
#                         default 0: as fast as it goes)
#   BENCH_LIVE_TCPSCRIBE_ARGS  extra tcpscribe options, e.g. "--buffer-size 512"
#                         (default none: the benchmark uses default settings)
#   BENCH_LIVE_SETTLE_MAX seconds to wait for a tool to go idle (default 300)
#   BENCH_LIVE_WARMUP     1 (default): one uncounted run of each tool first, on
#                         the first scenario. In the VM this was written on,
#                         the first touch of memory the guest has not used yet
#                         costs seconds per GiB (host page faults), which the
#                         first measured run would pay; 0 turns it off
#   BENCH_OUT             results file (default bench/results-live.md)
#   BENCH_TMP             parent of the work dir (default /var/tmp)
#   BENCH_KEEP=1          keep the work dir (payload and outputs)
# Exit status: 0 when every tcpscribe run reconstructed every byte with no
# drop; 1 otherwise; 2 on setup errors.  tcpflow's results are only reported.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
MIB=${BENCH_LIVE_MIB:-1024}
ROUNDS=${BENCH_LIVE_ROUNDS:-2}
TOOLS=${BENCH_LIVE_TOOLS:-tcpscribe tcpflow}
SCENARIOS=${BENCH_LIVE_SCENARIOS:-files slow-console}
SLOW_MIB=${BENCH_LIVE_SLOW_MIB:-128}
SLOW_RATE=${BENCH_LIVE_SLOW_RATE:-20}
FILTER=${BENCH_LIVE_FILTER:-tcp}
OFFLOAD=${BENCH_LIVE_OFFLOAD:-on}
SETTLE_MAX=${BENCH_LIVE_SETTLE_MAX:-300}
WARMUP=${BENCH_LIVE_WARMUP:-1}
RATE=${BENCH_LIVE_RATE:-0}
BENCH_OUT=${BENCH_OUT:-$REPO/bench/results-live.md}
BUILD_DIR=${BENCH_BUILD_DIR:-$REPO/build-release}
BENCH_TMP=${BENCH_TMP:-/var/tmp}

log() { printf '%s\n' "$*" >&2; }
die() { log "live.sh: $*"; exit 2; }

[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces and live capture)"

# --- dependencies ----------------------------------------------------------
APT_UPDATED=
apt_install() {
  log "installing: $*"
  if [ -z "$APT_UPDATED" ]; then
    apt-get update -qq >&2 || true
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 \
    || die "apt-get install $* failed"
}
pkgs=()
command -v python3 >/dev/null || pkgs+=(python3)
command -v ip >/dev/null || pkgs+=(iproute2)
[ -x /usr/bin/time ] || pkgs+=(time)
case " $TOOLS " in
  *" tcpflow "*)
    command -v tcpflow >/dev/null || pkgs+=(tcpflow)
    command -v gcc >/dev/null || pkgs+=(gcc)
    dpkg -s libpcap-dev >/dev/null 2>&1 || pkgs+=(libpcap-dev) ;;
esac
if [ "$OFFLOAD" = off ]; then command -v ethtool >/dev/null || pkgs+=(ethtool); fi
[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"

# --- tcpscribe binary --------------------------------------------------------
BIN=
BUILD_TYPE=given
if [[ " $TOOLS " == *" tcpscribe "* ]]; then
  if [ $# -ge 1 ]; then
    BIN=$(realpath "$1")
    [ -x "$BIN" ] || die "$1 is not an executable"
  else
    build_pkgs=()
    for p in cmake ninja-build g++ pkg-config libpcap-dev libtins-dev \
             libboost-program-options-dev; do
      dpkg -s "$p" >/dev/null 2>&1 || build_pkgs+=("$p")
    done
    [ ${#build_pkgs[@]} -eq 0 ] || apt_install "${build_pkgs[@]}"
    # shellcheck disable=SC2086  # BENCH_CMAKE_ARGS is a list of words
    cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTCPSCRIBE_TESTS=OFF ${BENCH_CMAKE_ARGS:-} >&2 \
      || die "cmake failed (or pass a tcpscribe binary as \$1)"
    ninja -C "$BUILD_DIR" tcpscribe >&2 \
      || die "build failed (or pass a tcpscribe binary as \$1)"
    BIN="$BUILD_DIR/tcpscribe"
    BUILD_TYPE=Release
  fi
fi

# --- work dir, namespaces, cleanup -------------------------------------------
WORK=$(mktemp -d "$BENCH_TMP/tcpscribe-live.XXXXXX")
NSC=tslive-c-$$            # client namespace: the tools capture here
NSS=tslive-s-$$            # server namespace
IFC=tslc$$                 # client end of the veth pair
IFS_=tsls$$                # server end
CLI_IP=10.216.0.1
SRV_IP=10.216.0.2
SRV_PORT=5001
PIDS=()                    # every background process this script started

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  set +e
  local p ns
  for p in "${PIDS[@]}"; do
    pkill -TERM -P "$p" 2>/dev/null   # children (the tool under time)
    kill -TERM "$p" 2>/dev/null
  done
  # Anything still inside our own namespaces was started by this script.
  for ns in "$NSC" "$NSS"; do
    if ip netns list 2>/dev/null | grep -qw "$ns"; then
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    fi
  done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for ns in "$NSC" "$NSS"; do ip netns del "$ns" 2>/dev/null; done
  ip link del "$IFC" 2>/dev/null
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NSC"
ip netns add "$NSS"
ip link add "$IFC" type veth peer name "$IFS_"
ip link set "$IFC" netns "$NSC"
ip link set "$IFS_" netns "$NSS"
ip -n "$NSC" addr add "$CLI_IP/24" dev "$IFC"
ip -n "$NSS" addr add "$SRV_IP/24" dev "$IFS_"
for ns in "$NSC" "$NSS"; do ip -n "$ns" link set lo up; done
ip -n "$NSC" link set "$IFC" up
ip -n "$NSS" link set "$IFS_" up
IFINDEX=$(ip netns exec "$NSC" cat "/sys/class/net/$IFC/ifindex")
if [ "$OFFLOAD" = off ]; then
  ip netns exec "$NSC" ethtool -K "$IFC" tso off gso off gro off >/dev/null
  ip netns exec "$NSS" ethtool -K "$IFS_" tso off gso off gro off >/dev/null
fi

# --- helpers: transfer, slow reader, verifier --------------------------------
cat >"$WORK/xfer.py" <<'PY'
"""Bulk transfer, slow reader and output check for bench/live.sh."""
import hashlib, os, socket, sys, time

def serve(path, ip, port, ready, rate_mbs="0"):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, int(port)))
    s.listen(1)
    s.settimeout(120)                 # never waits forever
    open(ready, "w").close()
    c, _ = s.accept()
    c.settimeout(120)
    if float(rate_mbs) > 0:           # SO_MAX_PACING_RATE: TCP paces itself
        c.setsockopt(socket.SOL_SOCKET, 47, int(float(rate_mbs) * 1e6))
    with open(path, "rb") as f:
        c.sendfile(f)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)                         # the client closes first
    c.close()

def fetch(ip, port, cip, cport):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind((cip, int(cport)))
    c.settimeout(300)
    buf = memoryview(bytearray(1 << 20))
    n = 0
    t0 = time.monotonic()
    c.connect((ip, int(port)))
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        n += k
    t1 = time.monotonic()
    c.close()
    print(n, f"{t1 - t0:.6f}")

def slowread(out, rate_mbs):
    """Copy stdin to OUT at most RATE MB/s."""
    rate = float(rate_mbs) * 1e6
    t0 = time.monotonic()
    n = 0
    with open(out, "wb", buffering=0) as f:
        while True:
            b = sys.stdin.buffer.raw.read(65536)
            if not b:
                break
            f.write(b)
            n += len(b)
            ahead = n / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)

def common(a, j, b, i):
    """Length of the common run of a[j:] and b[i:]."""
    n = min(len(a) - j, len(b) - i)
    m = 0
    while m < n:
        s = min(1 << 16, n - m)
        if a[j + m:j + m + s] == b[i + m:i + m + s]:
            m += s
            continue
        lo, hi = 0, s - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if a[j + m:j + m + mid] == b[i + m:i + m + mid]:
                lo = mid
            else:
                hi = mid - 1
        return m + lo
    return m

def zero_run(b, i):
    n = 0
    while i + n < len(b):
        c = b[i + n:i + n + (1 << 16)]
        k = len(c) - len(c.lstrip(b"\0"))
        n += k
        if k < len(c):
            break
    return n

def correct_bytes(pay, out):
    """Payload bytes found in OUT, in order.  OUT may have zero-filled holes
    (a file with gaps), miss stretches (a console stream with gaps, or the
    next piece of a flow tcpflow split into several files), or hold bytes
    that are not payload (tcpflow -C ends every packet with a newline,
    tcpscribe -C prints '!!' lines at gaps).  The payload is random, so a
    64-byte anchor is found in one place only."""
    A = 64
    i = j = good = 0
    far = 0
    while i < len(out) and j < len(pay):
        m = common(pay, j, out, i)
        good += m
        i += m
        j += m
        if i >= len(out) or j >= len(pay):
            break
        z = zero_run(out, i)
        if z >= 16:                   # a hole: positions go on
            i += z
            j += z
            continue
        if out[i] == 0x0A and out[i + 1:i + 1 + A] == pay[j:j + A]:
            i += 1                    # tcpflow's newline between packets
            continue
        a = out[i:i + A]
        k = pay.find(a, j, j + (16 << 20)) if len(a) >= 16 else -1
        if k < 0 and len(a) >= 16 and far < 2000:
            far += 1
            k = pay.find(a, j)
        if k >= 0:
            j = k                     # bytes missing before this
            continue
        nl = out.find(b"\n", i, i + 4096)   # not payload: skip the line
        i = nl + 1 if nl >= 0 else i + A
    return good

def verify(payload, *outs):
    """Prints: total size of OUTS, sha256 of the first, correct bytes."""
    h = hashlib.sha256()
    size = 0
    data = []
    for k, o in enumerate(outs):
        if not os.path.exists(o):
            continue
        with open(o, "rb") as f:
            b = f.read()
        size += len(b)
        if k == 0:
            h.update(b)
        data.append(b)
    with open(payload, "rb") as f:
        pay = f.read()
    print(size, h.hexdigest(), correct_bytes(pay, b"".join(data)))

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"serve": serve, "fetch": fetch, "slowread": slowread,
     "verify": verify}[cmd](*args)
PY

SHIM=
if [[ " $TOOLS " == *" tcpflow "* ]]; then
  cat >"$WORK/pcapstats.c" <<'C'
/* LD_PRELOAD shim: tcpflow never reports capture statistics, so print them
 * (pcap_stats on its live handle) when its pcap_loop returns or the handle
 * is closed, plus the packets handed to tcpflow and those cut by snaplen. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pcap/pcap.h>
#include <stdio.h>

static pcap_t *live;
static int snap;
static unsigned long long seen, truncated;
static pcap_handler user_cb;

static void report(pcap_t *p) {
  struct pcap_stat st;
  if (!p || p != live) return;
  fprintf(stderr, "pcapstats: snaplen %d\n", snap);
  fprintf(stderr, "pcapstats: %llu packets delivered\n", seen);
  fprintf(stderr, "pcapstats: %llu packets truncated\n", truncated);
  if (pcap_stats(p, &st) == 0) {
    fprintf(stderr, "pcapstats: %u packets received by filter\n", st.ps_recv);
    fprintf(stderr, "pcapstats: %u packets dropped by kernel\n", st.ps_drop);
    fprintf(stderr, "pcapstats: %u packets dropped by interface\n", st.ps_ifdrop);
  }
  live = NULL;
}

pcap_t *pcap_open_live(const char *dev, int snaplen, int promisc, int ms, char *err) {
  pcap_t *(*real)(const char *, int, int, int, char *) =
      (pcap_t * (*)(const char *, int, int, int, char *)) dlsym(RTLD_NEXT, "pcap_open_live");
  live = real(dev, snaplen, promisc, ms, err);
  snap = snaplen;
  return live;
}

static void wrap(u_char *u, const struct pcap_pkthdr *h, const u_char *d) {
  ++seen;
  if (h->caplen < h->len) ++truncated;
  user_cb(u, h, d);
}

int pcap_loop(pcap_t *p, int cnt, pcap_handler cb, u_char *u) {
  int (*real)(pcap_t *, int, pcap_handler, u_char *) =
      (int (*)(pcap_t *, int, pcap_handler, u_char *)) dlsym(RTLD_NEXT, "pcap_loop");
  if (!p || p != live) return real(p, cnt, cb, u);
  user_cb = cb;
  int rc = real(p, cnt, wrap, u);
  report(p);
  return rc;
}

void pcap_close(pcap_t *p) {
  void (*real)(pcap_t *) = (void (*)(pcap_t *)) dlsym(RTLD_NEXT, "pcap_close");
  report(p);
  real(p);
}
C
  gcc -O2 -shared -fPIC -o "$WORK/pcapstats.so" "$WORK/pcapstats.c" -ldl -lpcap \
    || die "cannot build the pcap statistics shim"
  SHIM=$WORK/pcapstats.so
fi

# --- payloads ------------------------------------------------------------------
make_payload() {  # mib -> path (random, kept in the page cache)
  local f="$WORK/payload-$1.bin"
  if [ ! -f "$f" ]; then
    log "generating $1 MiB of random payload"
    head -c "$(($1 * 1048576))" /dev/urandom >"$f"
  fi
  echo "$f"
}
declare -A PAYLOAD PAYSHA
for sc in $SCENARIOS; do
  case $sc in
    files) m=$MIB ;;
    slow-console) m=$SLOW_MIB ;;
    *) die "unknown scenario $sc" ;;
  esac
  PAYLOAD[$sc]=$(make_payload "$m")
  f=${PAYLOAD[$sc]}
  [ -n "${PAYSHA[$f]:-}" ] || PAYSHA[$f]=$(sha256sum "$f" | cut -d' ' -f1)
done

# --- one run ---------------------------------------------------------------------
now() { date +%s.%N; }
iface_packets() {  # rx + tx packets of the client end
  local d=/sys/class/net/$IFC/statistics
  ip netns exec "$NSC" sh -c "echo \$((\$(cat $d/rx_packets) + \$(cat $d/tx_packets)))"
}
cpu_ticks() {  # utime + stime of a pid (all threads)
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo gone
}
out_size() {  # total bytes under a path
  if [ -d "$1" ]; then
    find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'
  elif [ -f "$1" ]; then
    stat -c %s "$1"
  else
    echo 0
  fi
}
field() {  # "N text" line of a log -> N (or empty)
  sed -n "s/^$2\([0-9][0-9]*\) $1\$/\1/p" "$3" | tail -n 1
}

ROWS=()
status=0
idx=0

run_one() {  # scenario tool round
  local sc=$1 tool=$2 round=$3
  idx=$((idx + 1))
  local d="$WORK/run-$idx" lport=$((40000 + idx))
  local payload=${PAYLOAD[$sc]}
  local want=${PAYSHA[$payload]}
  local fname
  fname=$(printf '010.216.000.002.%05d-010.216.000.001.%05d' "$SRV_PORT" "$lport")
  mkdir -p "$d"
  local out watch cmd=() tpid=
  if [ "$sc" = files ]; then
    out="$d/out/$fname"; watch="$d/out"
  else
    out="$d/console.bin"; watch=$out
  fi
  case $tool in
    tcpscribe)
      # shellcheck disable=SC2206  # a list of words
      local extra=(${BENCH_LIVE_TCPSCRIBE_ARGS:-})
      if [ "$sc" = files ]; then cmd=("$BIN" -i "$IFC" "${extra[@]}" -o "$d/out" "$FILTER")
      else cmd=("$BIN" -i "$IFC" "${extra[@]}" -C -B -0 "$FILTER"); fi ;;
    tcpflow)
      mkdir -p "$d/out"
      if [ "$sc" = files ]; then cmd=(env "LD_PRELOAD=$SHIM" tcpflow -i "$IFC" -o "$d/out" "$FILTER")
      else cmd=(env "LD_PRELOAD=$SHIM" tcpflow -i "$IFC" -C -B "$FILTER"); fi ;;
  esac

  local rpid="" child=""
  if [ "$tool" != none ]; then
    local stdout_to="$d/stdout"
    if [ "$sc" = slow-console ]; then
      mkfifo "$d/fifo"
      python3 "$WORK/xfer.py" slowread "$out" "$SLOW_RATE" <"$d/fifo" &
      rpid=$!; PIDS+=("$rpid")
      stdout_to="$d/fifo"
    fi
    # cwd = run dir: tcpflow -C writes report.xml into the current directory
    (cd "$d" && exec ip netns exec "$NSC" /usr/bin/time -f '%M %U %S' -o "$d/time" \
       "${cmd[@]}" >"$stdout_to" 2>"$d/stderr") &
    tpid=$!; PIDS+=("$tpid")
    # Ready once its packet socket is bound to the interface and running
    # (/proc/net/packet: Iface = our ifindex, R = 1; libpcap binds only after
    # setting up the ring, which takes a while for a big buffer); then 1 s
    # more for it to enter its capture loop.
    local t=0
    until ip netns exec "$NSC" cat /proc/net/packet \
          | awk -v i="$IFINDEX" 'NR > 1 && $5 == i && $6 == 1 {f = 1} END {exit !f}'; do
      kill -0 "$tpid" 2>/dev/null || { log "$tool died at start:"; cat "$d/stderr" >&2; break; }
      sleep 0.1; t=$((t + 1))
      [ $t -lt 300 ] || die "$tool did not open a capture in 30 s"
    done
    child=$(pgrep -P "$tpid" | head -n 1 || true)
    sleep 1
  fi

  local p0 p1
  p0=$(iface_packets)
  rm -f "$d/ready"
  ip netns exec "$NSS" python3 "$WORK/xfer.py" serve "$payload" "$SRV_IP" "$SRV_PORT" "$d/ready" "$RATE" &
  local spid=$!; PIDS+=("$spid")
  local t=0
  until [ -f "$d/ready" ]; do
    sleep 0.05; t=$((t + 1)); [ $t -lt 600 ] || die "server not ready"
  done
  local got secs
  read -r got secs < <(ip netns exec "$NSC" python3 "$WORK/xfer.py" fetch \
                         "$SRV_IP" "$SRV_PORT" "$CLI_IP" "$lport")
  local t_end; t_end=$(now)
  wait "$spid" || true
  p1=$(iface_packets)
  local size; size=$(stat -c %s "$payload")
  [ "$got" = "$size" ] || log "warning: client received $got of $size bytes"
  local mbs; mbs=$(awk -v b="$got" -v s="$secs" 'BEGIN{printf "%.0f", b / 1e6 / s}')
  local pk=$((p1 - p0))

  if [ "$tool" = none ]; then
    log "$sc round $round none: $mbs MB/s"
    ROWS+=("| $sc | $round | none | $mbs | $pk | | | | | | | | | | |")
    rm -rf "$d"
    return 0
  fi

  # Idle: CPU time and output size unchanged over 1 s (2 samples).
  local c0 s0 c1 s1 steady=0 t_idle
  c0=$(cpu_ticks "${child:-$tpid}"); s0=$(out_size "$watch")
  local deadline=$(( $(date +%s) + SETTLE_MAX ))
  while :; do
    sleep 0.5
    c1=$(cpu_ticks "${child:-$tpid}"); s1=$(out_size "$watch")
    [ "$c1" != gone ] || break
    if [ "$c1" = "$c0" ] || [ "$((c1 - c0))" -le 1 ] && [ "$s1" = "$s0" ]; then
      steady=$((steady + 1))
    else
      steady=0
    fi
    c0=$c1; s0=$s1
    [ $steady -lt 2 ] || break
    if [ "$(date +%s)" -ge "$deadline" ]; then log "  $tool still busy after ${SETTLE_MAX}s"; break; fi
  done
  t_idle=$(now)
  local drain; drain=$(awk -v a="$t_end" -v b="$t_idle" 'BEGIN{d = b - a - 1; printf "%.1f", d < 0 ? 0 : d}')

  local sig=INT; [ "$tool" = tcpflow ] && sig=TERM
  local t_sig; t_sig=$(now)
  kill -s "$sig" "${child:-$tpid}" 2>/dev/null || true
  local rc=0; wait "$tpid" || rc=$?
  if [ -n "$rpid" ]; then wait "$rpid" || true; fi
  local t_done; t_done=$(now)
  local stop; stop=$(awk -v a="$t_sig" -v b="$t_done" 'BEGIN{printf "%.2f", b - a}')
  local rss cpu
  rss=$(awk 'END{printf "%.0f", $1 / 1024}' "$d/time" 2>/dev/null || echo "?")
  cpu=$(awk 'END{printf "%.1f", $2 + $3}' "$d/time" 2>/dev/null || echo "?")

  local recv kdrop other
  if [ "$tool" = tcpscribe ]; then
    recv=$(field 'packets received by filter' '' "$d/stderr")
    kdrop=$(field 'packets dropped by kernel' '' "$d/stderr")
    local ifd qd
    ifd=$(field 'packets dropped by interface' '' "$d/stderr")
    qd=$(sed -n 's/^\([0-9][0-9]*\) packets dropped by tcpscribe.*/\1/p' "$d/stderr" | tail -n 1)
    other="if ${ifd:-?}, queue ${qd:-0}"
  else
    recv=$(field 'packets received by filter' 'pcapstats: ' "$d/stderr")
    kdrop=$(field 'packets dropped by kernel' 'pcapstats: ' "$d/stderr")
    local ifd tr
    ifd=$(field 'packets dropped by interface' 'pcapstats: ' "$d/stderr")
    tr=$(field 'packets truncated' 'pcapstats: ' "$d/stderr")
    other="if ${ifd:-?}, snaplen-cut ${tr:-?}"
    [ -z "$kdrop" ] || kdrop="$kdrop*"
  fi

  # tcpflow starts a new file (NAMEc1, NAMEc2, ...) after a big gap: the
  # direction's bytes are in all of them, in that order.
  local outs=("$out") k=1
  while [ -e "${out}c$k" ]; do outs+=("${out}c$k"); k=$((k + 1)); done
  local osize osha good
  read -r osize osha good < <(python3 "$WORK/xfer.py" verify "$payload" "${outs[@]}")
  local nfiles=""; [ ${#outs[@]} -eq 1 ] || nfiles=" (${#outs[@]} files)"
  local match=no; [ "$osha" = "$want" ] && match=yes
  local pct; pct=$(awk -v g="$good" -v s="$size" 'BEGIN{printf "%.2f", 100 * g / s}')
  local exitnote=""; [ "$rc" -eq 0 ] || exitnote=" (exit $rc)"
  log "$sc round $round $tool: $mbs MB/s, recv ${recv:-?}, kernel drops ${kdrop:-?} ($other), out $osize$nfiles/$size, correct $pct%, sha256 $match, drain ${drain}s, stop ${stop}s, cpu ${cpu}s, rss ${rss}MB$exitnote"
  ROWS+=("| $sc | $round | $tool$exitnote | $mbs | $pk | ${recv:-?} | ${kdrop:-?} | $other | $osize$nfiles | $pct% | $match | $drain | $stop | $cpu | $rss |")
  if [ "$tool" = tcpscribe ]; then
    if [ "$match" != yes ] || [ "$rc" -ne 0 ] || [ "${kdrop:-x}" != 0 ]; then
      status=1
      log "  tcpscribe stderr:"; tail -n 8 "$d/stderr" >&2
    fi
  fi
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$d"
  return 0
}

if [ "$WARMUP" = 1 ]; then
  first=${SCENARIOS%% *}
  log "warm-up (not counted): one $first run of each tool"
  # shellcheck disable=SC2086  # TOOLS is a list of words
  for t in none $TOOLS; do
    sync
    run_one "$first" "$t" warm-up
  done
  ROWS=()
  status=0
fi

for sc in $SCENARIOS; do
  for r in $(seq 1 "$ROUNDS"); do
    order=$TOOLS
    # shellcheck disable=SC2086  # TOOLS is a list of words
    if [ $((r % 2)) -eq 0 ]; then order=$(printf '%s\n' $TOOLS | tac | tr '\n' ' '); fi
    sync
    run_one "$sc" none "$r"
    for t in $order; do
      sync   # the previous run's output written out first
      run_one "$sc" "$t" "$r"
    done
  done
done

# --- report ------------------------------------------------------------------------
TABLE=$(
  echo "| scenario | round | tool | transfer MB/s | packets on iface | received by filter | kernel drops | other drops | output bytes | bytes correct | sha256 match | drain s | stop s | CPU s | peak RSS MB |"
  echo "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
)
echo "$TABLE"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
  echo "# Live capture benchmark: tcpscribe vs tcpflow"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, ${cpu:-unknown CPU}, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  pace="as fast as it goes"; [ "$RATE" = 0 ] || pace="paced at $RATE MB/s"
  echo "- traffic: one TCP connection over a veth pair between two namespaces, server sendfile() to a client that discards, $pace; offloads $OFFLOAD; filter '$FILTER'"
  echo "- payload: files = $MIB MiB, slow-console = $SLOW_MIB MiB read at $SLOW_RATE MB/s from the console pipe"
  [ "$WARMUP" != 1 ] || echo "- warm-up: one uncounted run of each tool before round 1 (BENCH_LIVE_WARMUP=0 turns it off)"
  echo "- tcpflow: $(tcpflow -V 2>&1 | head -n 1), default settings (libpcap's 2 MiB buffer, snaplen 65536)"
  if [ -n "$BIN" ]; then
    echo "- tcpscribe: $BIN (build: $BUILD_TYPE; commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)), ${BENCH_LIVE_TCPSCRIBE_ARGS:+extra options: $BENCH_LIVE_TCPSCRIBE_ARGS, otherwise }default settings (--buffer-size 64, --queue-size 256)"
  fi
  echo "- packets on iface: rx+tx of the client's veth end during the transfer (GRO'd packets). received by filter / kernel drops: tcpscribe's own statistics; tcpflow prints none, so * = read by an LD_PRELOAD shim calling pcap_stats() on its handle. other drops: interface drops, tcpscribe's queue drops, packets tcpflow's snaplen cut"
  echo "- output bytes: the bulk direction's file, plus the NAMEc1, NAMEc2, ... files tcpflow starts after a big gap; sha256 match: the (first) file or the console stream equals the payload. bytes correct: payload bytes found in the output in order, at the right offset within each file (holes count as missing); slow-console: tcpflow -C prints a newline after each packet, so its sha256 can never match. drain s: from the end of the transfer until the tool went idle (CPU time and output size steady for 1 s). stop s: from the signal (tcpscribe SIGINT, tcpflow SIGTERM) to its exit. CPU s (user+sys) and peak RSS from /usr/bin/time"
  echo
  echo "$TABLE"
} >"$BENCH_OUT"
log "results written to $BENCH_OUT"
exit $status
