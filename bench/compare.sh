#!/usr/bin/env bash
# Old vs new tcpscribe, side by side in one run: is the new binary slower?
#
#   bench/compare.sh OLD_BINARY NEW_BINARY
#
# Runs bench/offline.sh on the bulk and many captures and bench/proxy.sh on
# its three workloads (redis pipelined SET/GET rate, PING latency, bulk
# MB/s) with both binaries, alternating: old, new, then new, old, and so on,
# so neither always goes first (offline.sh's BENCH_TOOLS="tcpscribe-old
# tcpscribe" and proxy.sh's BENCH_PROXY_PATHS="tcpscribe-old tcpscribe",
# both with BENCH_OLD_BIN). Every run of either binary is checked as those
# scripts check tcpscribe: offline output against the captures' manifest
# (sha256 per direction), the proxy's bulk log read back in full.
#
# Writes a markdown table to $BENCH_OUT (default bench/results-compare.md):
# best of BENCH_RUNS per binary and the ratio for each measurement, oriented
# so that above 1 means the new binary is better: old/new for times,
# latencies and memory, new/old for rates. The two scripts' own tables
# follow it.
#
# Knobs (passed on to the scripts): BENCH_RUNS (3), BENCH_WARMUP,
#   BENCH_CAPTURES (reuse captures; e.g. /var/tmp/benchcap), BENCH_BULK_MIB
#   (offline bulk.pcap, 64), BENCH_MANY (50000), BENCH_CONCURRENT, BENCH_TMP,
#   BENCH_CAPS (offline captures, default "bulk many"), BENCH_REQUESTS
#   (1000000), BENCH_PINGS (100000), BENCH_PROXY_ARGS; and its own:
#   BENCH_PROXY_BULK_MIB (the proxy's bulk transfer, 2048 MiB; proxy.sh's
#   BENCH_BULK_MIB), BENCH_COMPARE (parts to run, default "offline proxy").
# Exit status: 0 when every run of both binaries succeeded and its output was
# right; 1 otherwise (the table is still written with what was measured);
# 2 on usage errors.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { echo "usage: bench/compare.sh OLD_BINARY NEW_BINARY" >&2; exit 2; }
[ $# -eq 2 ] || usage
for b in "$1" "$2"; do
  if ! [ -f "$b" ] || ! [ -x "$b" ]; then echo "compare.sh: $b is not an executable" >&2; exit 2; fi
done
old=$(realpath "$1")
new=$(realpath "$2")
out=${BENCH_OUT:-$here/results-compare.md}
runs=${BENCH_RUNS:-3}
parts=${BENCH_COMPARE:-offline proxy}
for p in $parts; do
  case $p in offline|proxy) ;; *) echo "compare.sh: BENCH_COMPARE: unknown part $p" >&2; exit 2 ;; esac
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcpscribe-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log() { printf '%s\n' "$*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

status=0
load_before=$(load)
if [[ " $parts " == *" offline "* ]]; then
  log "== offline: $old (old) vs $new (new)"
  rc=0
  BENCH_OUT="$tmp/offline.md" BENCH_TOOLS="tcpscribe-old tcpscribe" BENCH_OLD_BIN="$old" \
    BENCH_CAPS="${BENCH_CAPS:-bulk many}" BENCH_RUNS="$runs" \
    "$here/offline.sh" "$new" >"$tmp/offline.stdout" || rc=$?
  if [ "$rc" -ne 0 ]; then log "offline.sh failed (exit $rc)"; status=1; fi
fi
if [[ " $parts " == *" proxy "* ]]; then
  log "== proxy: $old (old) vs $new (new)"
  rc=0
  BENCH_OUT="$tmp/proxy.md" BENCH_PROXY_PATHS="tcpscribe-old tcpscribe" BENCH_OLD_BIN="$old" \
    BENCH_BULK_MIB="${BENCH_PROXY_BULK_MIB:-2048}" BENCH_RUNS="$runs" \
    "$here/proxy.sh" "$new" >"$tmp/proxy.stdout" || rc=$?
  if [ "$rc" -ne 0 ]; then log "proxy.sh failed (exit $rc)"; status=1; fi
fi
load_after=$(load)

# cell FILE FIRST SECOND COLUMN: a cell of the markdown row whose first
# cells are FIRST (and SECOND, unless empty); "" when there is none.
cell() {
  [ -f "$1" ] || return 0
  awk -F'|' -v a="$2" -v b="$3" -v col="$4" '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    trim($2) == a && (b == "" || trim($3) == b) { print trim($(col + 1)); exit }' "$1"
}

# row NAME OLD NEW DIRECTION: one line of the table; DIRECTION "lower" (a
# time: old/new) or "higher" (a rate: new/old). A cell that is no number
# (a failed run) gives no ratio and fails the comparison.
ratios=()
row() {
  local name=$1 o=$2 n=$3 dir=$4 r
  if [[ $o =~ ^[0-9]+(\.[0-9]+)?$ && $n =~ ^[0-9]+(\.[0-9]+)?$ ]] \
     && awk -v o="$o" -v n="$n" 'BEGIN{exit !(o > 0 && n > 0)}'; then
    r=$(awk -v o="$o" -v n="$n" -v d="$dir" 'BEGIN{printf "%.2f", d == "lower" ? o / n : n / o}')
    ratios+=("$r $name")
  else
    r="n/a"; status=1
  fi
  echo "| $name | ${o:-?} | ${n:-?} | $r |"
}

table() {
  echo "| measurement | old | new | new vs old (>1: new better) |"
  echo "|---|---:|---:|---:|"
  if [[ " $parts " == *" offline "* ]]; then
    local f=$tmp/offline.md c
    for c in ${BENCH_CAPS:-bulk many}; do
      row "offline $c: wall s, best of $runs" "$(cell "$f" "$c" tcpscribe-old 3)" \
          "$(cell "$f" "$c" tcpscribe 3)" lower
      row "offline $c: wall s, median" "$(cell "$f" "$c" tcpscribe-old 4)" \
          "$(cell "$f" "$c" tcpscribe 4)" lower
      row "offline $c: peak RSS MB" "$(cell "$f" "$c" tcpscribe-old 6)" \
          "$(cell "$f" "$c" tcpscribe 6)" lower
    done
  fi
  if [[ " $parts " == *" proxy "* ]]; then
    local f=$tmp/proxy.md
    row "proxy: redis SET req/s (-c 50 -P 16), best" "$(cell "$f" tcpscribe-old "" 2)" \
        "$(cell "$f" tcpscribe "" 2)" higher
    row "proxy: redis GET req/s (-c 50 -P 16), best" "$(cell "$f" tcpscribe-old "" 3)" \
        "$(cell "$f" tcpscribe "" 3)" higher
    row "proxy: PING p50 ms (-c 1), best" "$(cell "$f" tcpscribe-old "" 4)" \
        "$(cell "$f" tcpscribe "" 4)" lower
    row "proxy: PING p99 ms (-c 1), best" "$(cell "$f" tcpscribe-old "" 5)" \
        "$(cell "$f" tcpscribe "" 5)" lower
    row "proxy: bulk MB/s, best" "$(cell "$f" tcpscribe-old "" 6)" \
        "$(cell "$f" tcpscribe "" 6)" higher
  fi
}
table >"$tmp/table.md"   # not in a subshell: row() sets status and ratios
TABLE=$(cat "$tmp/table.md")
worst=$(printf '%s\n' "${ratios[@]+"${ratios[@]}"}" | sort -n | head -n 1)

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
  echo "# tcpscribe old vs new"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, ${cpu:-unknown CPU}; load average $load_before before, $load_after after"
  echo "- old: $old ($(stat -c '%s bytes, %y' "$old"))"
  echo "- new: $new ($(stat -c '%s bytes, %y' "$new"))"
  echo "- each measurement alternates the binaries (old, new, new, old, ...); best of $runs runs per binary"
  if [[ " $parts " == *" offline "* ]]; then
    echo "- offline: bench/offline.sh, captures ${BENCH_CAPS:-bulk many} (bulk: 4 x ${BENCH_BULK_MIB:-64} MiB, many: ${BENCH_MANY:-50000} connections), outputs checked against the manifest"
  fi
  if [[ " $parts " == *" proxy "* ]]; then
    echo "- proxy: bench/proxy.sh, ${BENCH_REQUESTS:-1000000} requests, ${BENCH_PINGS:-100000} pings, ${BENCH_PROXY_BULK_MIB:-2048} MiB bulk, netrecord logs under ${BENCH_TMP:-/var/tmp}"
  fi
  echo "- ratio: old/new for times, latencies and memory, new/old for rates; above 1 the new binary is better, below 1 it is slower"
  if [ "$status" -ne 0 ]; then echo "- **a run failed or its output was wrong** (see the scripts' tables below and the log)"; fi
  echo
  echo "$TABLE"
  echo
  if [ -n "$worst" ]; then echo "Lowest ratio: ${worst%% *} (${worst#* })."; echo; fi
  for p in $parts; do
    [ -f "$tmp/$p.md" ] || continue
    echo "## bench/$p.sh's table"
    echo
    sed -n '/^|/,$p' "$tmp/$p.md"
    echo
  done
} >"$out"
echo "$TABLE"
log "results written to $out"
exit $status
