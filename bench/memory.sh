#!/usr/bin/env bash
# Memory benchmark: peak RSS of tcpscribe (and tcpflow) on captures that
# hold many connections open at once, and on a flood of SYNs.
#
#   bench/memory.sh [TCPSCRIBE_BINARY]      (default: build-release/tcpscribe)
#
# Environment:
#   MEM_CAPTURES  directory for the captures, made by gen_memory.py when
#                 missing, reused otherwise (default /var/tmp/tcpscribe-memcap)
#   MEM_OPEN      "NxK ..." captures of N connections open at once, K KiB
#                 each (default "10000x64 20000x32"; the issue's big one is
#                 100000x64, 6.9 GB)
#   MEM_SYNS      SYNs in the SYN-flood capture (default 200000; 0: none)
#   MEM_REVERSED  one-byte segments sent in reverse order on one connection
#                 (default 1000000; 0: none); tcpscribe runs with the
#                 default caps and with --max-flow-buffer 1
#   MEM_PIPELINE  "NxC": C connections each pipelining N requests with
#                 ~8 KiB heads of short lines, never answered (default
#                 8000x1, 64 MB; "": none); tcpscribe runs with -e http
#   MEM_TOOLS     "tcpscribe tcpflow" (default); tcpscribe runs with -o
#                 (flow files), -c (console, to /dev/null: the reassembly's
#                 own memory) and, on the SYN flood, -o with -e http too
#   MEM_ARGS      extra tcpscribe arguments (e.g. "--max-file-buffer 32")
#   MEM_OUT       markdown results (default bench/results-memory.md)
#   BENCH_TMP     where outputs go (default /dev/shm if a tmpfs, else /var/tmp)
# Each run writes into a fresh directory; peak RSS and wall time come from
# /usr/bin/time. tcpscribe's -o output is checked against the capture's
# manifest (gen_captures.py verify: every direction's sha256). Exit status 1
# when a tcpscribe run fails or its files are wrong.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
BIN=$(realpath "${1:-$REPO/build-release/tcpscribe}")
CAPS=${MEM_CAPTURES:-/var/tmp/tcpscribe-memcap}
OPEN=${MEM_OPEN-10000x64 20000x32}
SYNS=${MEM_SYNS:-200000}
REVERSED=${MEM_REVERSED:-1000000}
PIPELINE=${MEM_PIPELINE-8000x1}
TOOLS=${MEM_TOOLS:-tcpscribe tcpflow}
read -r -a EXTRA <<<"${MEM_ARGS:-}"
OUT=${MEM_OUT:-$REPO/bench/results-memory.md}
if [ -z "${BENCH_TMP:-}" ]; then
  BENCH_TMP=/var/tmp
  [ "$(df --output=fstype /dev/shm 2>/dev/null | tail -n 1)" = tmpfs ] && BENCH_TMP=/dev/shm
fi

die() { echo "memory.sh: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "no tcpscribe binary at $BIN (build it, or pass its path)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
mkdir -p "$CAPS"
WORK=$(mktemp -d "$BENCH_TMP/tcpscribe-mem.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
status=0
rows=()

# run LABEL CAPTURE MANIFEST CMD...: one timed run into a fresh dir.
run() {
  local label=$1 cap=$2 manifest=$3
  shift 3
  local out="$WORK/out" tf="$WORK/time" check="-" rc=0
  rm -rf "$out" && mkdir -p "$out"
  cat "$cap" >/dev/null  # page cache
  (cd "$out" && /usr/bin/time -f '%e %M' -o "$tf" "$@" >/dev/null 2>"$WORK/err") || rc=$?
  read -r wall rss < <(tail -n 1 "$tf") || { wall=-; rss=0; }
  if [ "$rc" -ne 0 ]; then
    check="exit $rc: $(head -c 200 "$WORK/err")"
    [[ $label == tcpscribe* ]] && status=1
  elif [ -n "$manifest" ]; then
    check=$(python3 "$HERE/gen_captures.py" verify "$manifest" "$out" 2>/dev/null) || {
      [[ $label == tcpscribe* ]] && status=1
    }
  fi
  rows+=("| $(basename "$cap") | $label | $wall | $((rss / 1024)) | $check |")
  echo "$(basename "$cap") $label: ${wall} s, $((rss / 1024)) MB peak RSS; $check" >&2
  rm -rf "$out"
}

for spec in $OPEN; do
  n=${spec%x*} k=${spec#*x}
  cap="$CAPS/open-$n-$k.pcap" man="$CAPS/open-$n-$k.tsv"
  if [ ! -s "$cap" ] || [ ! -s "$man" ]; then
    echo "making $cap ..." >&2
    python3 "$HERE/gen_memory.py" open "$cap" --conns "$n" --kib "$k" --manifest "$man" >&2
  fi
  for tool in $TOOLS; do
    case $tool in
      tcpscribe)
        run "tcpscribe -o" "$cap" "$man" "$BIN" -r "$cap" -o . "${EXTRA[@]}"
        run "tcpscribe -c" "$cap" "" "$BIN" -r "$cap" -c "${EXTRA[@]}" ;;
      tcpflow) run "tcpflow -o" "$cap" "$man" tcpflow -r "$cap" -o . ;;
    esac
  done
done

if [ "$SYNS" -gt 0 ]; then
  cap="$CAPS/syns-$SYNS.pcap"
  [ -s "$cap" ] || python3 "$HERE/gen_memory.py" syns "$cap" --conns "$SYNS" >&2
  for tool in $TOOLS; do
    case $tool in
      tcpscribe)
        run "tcpscribe -o" "$cap" "" "$BIN" -r "$cap" -o . "${EXTRA[@]}"
        run "tcpscribe -o -e http" "$cap" "" "$BIN" -r "$cap" -o . -e http "${EXTRA[@]}"
        run "tcpscribe -c" "$cap" "" "$BIN" -r "$cap" -c "${EXTRA[@]}" ;;
      tcpflow) run "tcpflow -o" "$cap" "" tcpflow -r "$cap" -o . ;;
    esac
  done
fi

if [ "$REVERSED" -gt 0 ]; then
  cap="$CAPS/reversed-$REVERSED.pcap"
  [ -s "$cap" ] || python3 "$HERE/gen_memory.py" reversed "$cap" --segments "$REVERSED" >&2
  for tool in $TOOLS; do
    case $tool in
      tcpscribe)
        run "tcpscribe -o" "$cap" "" "$BIN" -r "$cap" -o . "${EXTRA[@]}"
        run "tcpscribe -o --max-flow-buffer 1" "$cap" "" "$BIN" -r "$cap" -o . --max-flow-buffer 1 \
          "${EXTRA[@]}" ;;
      tcpflow) run "tcpflow -o" "$cap" "" tcpflow -r "$cap" -o . ;;
    esac
  done
fi

if [ -n "$PIPELINE" ]; then
  n=${PIPELINE%x*} c=${PIPELINE#*x}
  cap="$CAPS/pipeline-$n-$c.pcap"
  [ -s "$cap" ] || python3 "$HERE/gen_memory.py" pipeline "$cap" --requests "$n" --conns "$c" >&2
  for tool in $TOOLS; do
    case $tool in
      tcpscribe)
        run "tcpscribe -o" "$cap" "" "$BIN" -r "$cap" -o . "${EXTRA[@]}"
        run "tcpscribe -o -e http" "$cap" "" "$BIN" -r "$cap" -o . -e http "${EXTRA[@]}" ;;
      tcpflow) run "tcpflow -o" "$cap" "" tcpflow -r "$cap" -o . ;;
    esac
  done
fi

{
  echo "## Memory ($(date -u +%Y-%m-%d), $("$BIN" --version 2>/dev/null | head -n 1))"
  echo
  echo "| capture | run | wall s | peak RSS MB | check |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "- open-N-K: N connections open at once, K KiB each from the server (gen_memory.py);"
  echo "  syns-N: N SYNs never answered; reversed-N: N one-byte segments, last first;"
  echo "  pipeline-N-C: C connections of N pipelined requests (8 KiB heads), unanswered."
  echo "  Outputs under $BENCH_TMP; $(nproc) CPUs."
} | tee "$OUT"
exit $status
