#!/usr/bin/env bash
# TLS decryption benchmark: tcpscribe vs tshark on the same captures, in the
# same run.
#
#   bench/tls.sh [TCPSCRIBE_BINARY]      (default: build/tcpscribe)
#
# Environment:
#   TLS_CAPTURES  directory for the captures and key logs, made when missing
#                 and reused otherwise (default /var/tmp/tcpscribe-tlscap)
#   TLS_MIB       size of the one big transfer (default 1024)
#   TLS_CONNS     connections of the many-connection capture (default 2000)
#   TLS_RUNS      runs of tcpscribe per capture, the best kept (default 2)
#   TLS_TSHARK_RUNS  runs of tshark per capture (default 1: 1 GiB takes it
#                 minutes and 6.6 GB)
#   TLS_TSHARK    "0" skips tshark (default 1)
#   TLS_CASES     the captures to run (default "big many")
#   TLS_OUT       markdown results (default bench/results-tls.md)
#   BENCH_TMP     where outputs go (default /dev/shm if a tmpfs, else /var/tmp)
#
# Captures (made as root, on loopback, tcpdump with a 64 MiB buffer; a
# capture that dropped packets is refused):
#   big.pcap   one TLS 1.3 TLS_AES_256_GCM_SHA384 connection: curl (with
#              SSLKEYLOGFILE) downloads a TLS_MIB MiB random body from
#              `openssl s_server -HTTP` (an answer with Content-Length);
#   many.pcap  TLS_CONNS TLS 1.3 connections (Connection: close), each
#              downloading a 16 KiB body (each its own name: tshark exports
#              at most 1000 objects of one name), from one curl.
# Runs:
#   tcpscribe -r CAP --tls-keylog KEYS -o DIR -e http   (flow files, FLOW-TLS,
#              the bodies extracted: checked against the served file)
#   tcpscribe -r CAP --tls-keylog KEYS --report FILE    (decryption and
#              reassembly alone: no files but the report)
#   tshark -r CAP -o tls.keylog_file:KEYS -q --export-objects http,DIR
#              (decrypts and writes the bodies too; checked the same way)
# Wall time, user+sys CPU and peak RSS come from /usr/bin/time; "plaintext
# GB/s per core" is the decrypted application bytes (the report's
# bytes_decrypted, both directions) over user+sys CPU seconds.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
BIN=$(realpath "${1:-$REPO/build/tcpscribe}")
CAPS=${TLS_CAPTURES:-/var/tmp/tcpscribe-tlscap}
MIB=${TLS_MIB:-1024}
CONNS=${TLS_CONNS:-2000}
RUNS=${TLS_RUNS:-2}
TSHARK_RUNS=${TLS_TSHARK_RUNS:-1}
TSHARK=${TLS_TSHARK:-1}
CASES=${TLS_CASES:-big many}
OUT=${TLS_OUT:-$REPO/bench/results-tls.md}
if [ -z "${BENCH_TMP:-}" ]; then
  BENCH_TMP=/var/tmp
  [ "$(df --output=fstype /dev/shm 2>/dev/null | tail -n 1)" = tmpfs ] && BENCH_TMP=/dev/shm
fi

die() { echo "tls.sh: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "no tcpscribe binary at $BIN (build it, or pass its path)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
for t in openssl curl tcpdump python3; do command -v "$t" >/dev/null || die "$t is missing"; done
[ "$TSHARK" = 0 ] || command -v tshark >/dev/null || die "tshark is missing (bash scripts/install.sh tshark)"

PIDS=()
WORK=$(mktemp -d "$BENCH_TMP/tcpscribe-tlsbench.XXXXXX")
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',int(sys.argv[1])),1).close()" "$1" \
      2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# make_capture NAME: serves $CAPS/www, runs curl_NAME, writes NAME.pcap and NAME.keys.
make_capture() {
  local name=$1 port tpid spid
  [ "$(id -u)" = 0 ] || die "making the captures needs root (tcpdump on lo)"
  port=$(free_port)
  (cd "$CAPS/www" && exec openssl s_server -quiet -HTTP -accept "$port" -cert ../cert.pem \
     -key ../key.pem -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 </dev/null >/dev/null 2>&1) &
  spid=$!
  PIDS+=("$spid")
  wait_port "$port" || die "openssl s_server did not start"
  tcpdump -i lo --immediate-mode -s 0 -B 65536 -w "$CAPS/$name.pcap" "tcp port $port" \
    2>"$WORK/tcpdump.err" &
  tpid=$!
  PIDS+=("$tpid")
  for _ in $(seq 100); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.05; done
  rm -f "$CAPS/$name.keys"
  "curl_$name" "$port"
  sleep 0.5
  kill -INT "$tpid"; wait "$tpid" || true
  kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
  grep -q "^0 packets dropped by kernel" "$WORK/tcpdump.err" \
    || { rm -f "$CAPS/$name.pcap"; die "tcpdump dropped packets making $name.pcap: $(cat "$WORK/tcpdump.err")"; }
}
curl_big() {
  # At full speed tcpdump drops half the 64 KiB loopback packets: paced.
  SSLKEYLOGFILE=$CAPS/big.keys curl -sS -k --http1.1 --limit-rate 60M -o /dev/null "https://127.0.0.1:$1/big.http"
}
curl_many() {
  local i
  for i in $(seq "$CONNS"); do echo "url = \"https://127.0.0.1:$1/s/small-$i.http\""; echo "output = /dev/null"; done \
    >"$WORK/many.curl"
  SSLKEYLOGFILE=$CAPS/many.keys curl -sS -k --http1.1 -H 'Connection: close' -K "$WORK/many.curl"
}

mkdir -p "$CAPS/www/s"
if [ ! -s "$CAPS/big.pcap" ] || [ ! -s "$CAPS/many.pcap" ]; then
  [ -s "$CAPS/www/big.bin" ] && [ "$(stat -c %s "$CAPS/www/big.bin")" -eq $((MIB << 20)) ] \
    || head -c $((MIB << 20)) /dev/urandom >"$CAPS/www/big.bin"
  [ -s "$CAPS/www/small.bin" ] || head -c 16384 /dev/urandom >"$CAPS/www/small.bin"
  # s_server -HTTP sends the file as the whole answer: with a Content-Length,
  # which tshark needs to end a body over TLS (it never ends one at the close).
  for f in big small; do
    [ -s "$CAPS/www/$f.http" ] && continue
    { printf 'HTTP/1.0 200 ok\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n' \
        "$(stat -c %s "$CAPS/www/$f.bin")"; cat "$CAPS/www/$f.bin"; } >"$CAPS/www/$f.http"
  done
  for i in $(seq "$CONNS"); do ln -f "$CAPS/www/small.http" "$CAPS/www/s/small-$i.http"; done
  [ -s "$CAPS/cert.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 30 -subj /CN=bench.test -keyout "$CAPS/key.pem" -out "$CAPS/cert.pem" 2>/dev/null
  [ -s "$CAPS/big.pcap" ] || { echo "tls.sh: making big.pcap ($MIB MiB) in $CAPS" >&2; make_capture big; }
  [ -s "$CAPS/many.pcap" ] || { echo "tls.sh: making many.pcap ($CONNS connections) in $CAPS" >&2; make_capture many; }
fi
BIG_SHA=$(sha256sum <"$CAPS/www/big.bin" | cut -d' ' -f1)
SMALL_SHA=$(sha256sum <"$CAPS/www/small.bin" | cut -d' ' -f1)

# measure OUTFILE CMD...: runs CMD with /usr/bin/time; prints "wall cpu rss_mb".
measure() {
  local tf=$WORK/time.txt out=$1
  shift
  sync
  /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$out" 2>&1 || { cat "$out" >&2; die "failed: $*"; }
  awk '{printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024}' "$tf"
}

# bodies DIR SHA: how many files in DIR have that sha256.
bodies() {
  find "$1" -type f -print0 | xargs -0 -r sha256sum | awk -v s="$2" '$1 == s' | wc -l
}

rows=()
for cap in $CASES; do
  pcap=$CAPS/$cap.pcap keys=$CAPS/$cap.keys
  if [ "$cap" = big ]; then sha=$BIG_SHA want=1; else sha=$SMALL_SHA want=$CONNS; fi
  cat "$pcap" >/dev/null  # in the page cache
  plain=
  for tool in tcpscribe tcpscribe-report tshark; do
    [ "$tool" = tshark ] && [ "$TSHARK" = 0 ] && continue
    n=$RUNS
    [ "$tool" = tshark ] && n=$TSHARK_RUNS
    best=
    for _ in $(seq "$n"); do
      d=$WORK/out-$tool
      rm -rf "$d" "$WORK/r.jsonl"
      if [ "$tool" = tcpscribe ]; then
        m=$(measure "$WORK/log" "$BIN" -q -r "$pcap" --tls-keylog "$keys" -o "$d" -e http \
              --report "$WORK/r.jsonl")
        plain=$(python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    c = json.loads(l)
    if "tls" in c: n += c["tls"]["client"]["bytes_decrypted"] + c["tls"]["server"]["bytes_decrypted"]
print(n)' "$WORK/r.jsonl")
        right=$(bodies "$d" "$sha")
        [ "$right" -eq "$want" ] || die "tcpscribe wrote $right of $want bodies right on $cap"
      elif [ "$tool" = tcpscribe-report ]; then
        m=$(measure "$WORK/log" "$BIN" -q -r "$pcap" --tls-keylog "$keys" --report "$WORK/r2.jsonl")
        [ "$(grep -c '"decrypted":true,"why_not":null' "$WORK/r2.jsonl")" -eq "$want" ] \
          || die "tcpscribe --report: not every connection decrypted on $cap"
        right=-
      else
        mkdir -p "$d"
        m=$(measure "$WORK/log" tshark -r "$pcap" -o "tls.keylog_file:$keys" -q \
              --export-objects "http,$d")
        # Counted, not required: tshark's port heuristics take some
        # connections for another protocol (a client port 57000 was IRC).
        right=$(bodies "$d" "$sha")
      fi
      read -r wall cpu rss <<<"$m"
      echo "tls.sh: $cap $tool: wall $wall s, cpu $cpu s, rss $rss MB, bodies right $right of $want" >&2
      if [ -z "$best" ] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN{exit !(a < b)}'; then
        best="$wall $cpu $rss $right/$want"
      fi
    done
    read -r wall cpu rss right <<<"$best"
    gbps=$(awk -v p="$plain" -v c="$cpu" 'BEGIN{ if (c > 0) printf "%.2f", p / c / 1e9; else print "-" }')
    [ "${right%%/*}" = - ] && right=-
    rows+=("| $cap | $tool | $wall | $cpu | $rss | $gbps | $right |")
    eval "wall_${cap}_${tool//-/_}=$wall"
  done
done

{
  echo "# TLS benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "big: $MIB MiB over one TLS 1.3 AES-256-GCM connection ($(du -m "$CAPS/big.pcap" | cut -f1) MB capture);"
  echo "many: $CONNS TLS 1.3 connections of 16 KiB ($(du -m "$CAPS/many.pcap" | cut -f1) MB capture)."
  echo "$("$BIN" --version 2>&1 | head -1); $(tshark --version 2>/dev/null | head -1)"
  echo "Best of $RUNS wall times (tshark: of $TSHARK_RUNS); CPU is user+sys of that run; GB/s per core:"
  echo "decrypted bytes / CPU s. tcpscribe: -o DIR -e http (flow files, FLOW-TLS, bodies);"
  echo "tcpscribe-report: --report only; tshark: --export-objects http."
  echo
  echo "| capture | tool | wall s | CPU s | peak RSS MB | plaintext GB/s per core | bodies right |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  if [ "$TSHARK" != 0 ]; then
    echo
    for cap in $CASES; do
      eval "a=\$wall_${cap}_tshark b=\$wall_${cap}_tcpscribe"
      echo "$cap: tshark/tcpscribe wall = $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", a / b}')x"
    done
  fi
} | tee "$OUT"
