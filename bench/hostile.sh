#!/usr/bin/env bash
# Hostile captures at full size (bench/gen_hostile.py): wall time, CPU time
# and peak RSS of tcpscribe and tcpflow 1.6.1 on the same files in the same
# run, and whether tcpscribe's time is linear in the input (each growing
# case at N and 2N, fragments at N and 10N: the CPU-time ratio should be
# close to the factor).
#
#   bench/hostile.sh [TCPSCRIBE_BINARY]     (default: build-release/tcpscribe)
#
# Environment:
#   HOSTILE_CAPTURES  directory for the captures, made when missing, reused
#                     otherwise (default /var/tmp/tcpscribe-hostile, ~6 GB)
#   HOSTILE_CASES     cases to run (default: all of "syns collide reversed
#                     jump frags-many frags-one frags-flood garbage wrap")
#   HOSTILE_LINKTYPES garbage link types (default "ethernet raw sll sll2")
#   HOSTILE_WRAP      bytes for the wrap case, streamed through a pipe
#                     (default 10737418240: 10 GiB, three wraps)
#   HOSTILE_TOOLS     "tcpscribe tcpflow" (default)
#   HOSTILE_RUNS      runs per measurement, the least CPU time kept (default 1)
#   HOSTILE_OUT       markdown results (default bench/results-hostile.md)
#   BENCH_TMP         where outputs go (default /dev/shm if a tmpfs)
# tcpscribe runs with -o (flow files, as tcpflow) and --report; its run
# line's counts of what was left out and why go into the table. Exit status
# 1 when a tcpscribe run fails or a stream it writes differs from the
# generator's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
BIN=$(realpath "${1:-$REPO/build-release/tcpscribe}")
GEN="$HERE/gen_hostile.py"
CAPS=${HOSTILE_CAPTURES:-/var/tmp/tcpscribe-hostile}
CASES=${HOSTILE_CASES:-syns collide reversed jump frags-many frags-one frags-flood garbage wrap}
LINKTYPES=${HOSTILE_LINKTYPES:-ethernet raw sll sll2}
WRAP=${HOSTILE_WRAP:-10737418240}
TOOLS=${HOSTILE_TOOLS:-tcpscribe tcpflow}
RUNS=${HOSTILE_RUNS:-1}
OUT=${HOSTILE_OUT:-$REPO/bench/results-hostile.md}
if [ -z "${BENCH_TMP:-}" ]; then
  BENCH_TMP=/var/tmp
  [ "$(df --output=fstype /dev/shm 2>/dev/null | tail -n 1)" = tmpfs ] && BENCH_TMP=/dev/shm
fi

die() { echo "hostile.sh: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "no tcpscribe binary at $BIN (build it, or pass its path)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
mkdir -p "$CAPS"
WORK=$(mktemp -d "$BENCH_TMP/tcpscribe-hostile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
status=0
rows=()
declare -A cpu_of

# capture NAME GEN_ARGS...: $CAPS/NAME.pcap and .json, made once.
capture() {
  local name=$1
  shift
  if [ ! -s "$CAPS/$name.pcap" ] || [ ! -s "$CAPS/$name.json" ]; then
    echo "making $name ..." >&2
    python3 "$GEN" "$@" "$CAPS/$name.pcap.tmp" --expect "$CAPS/$name.json" >&2
    mv "$CAPS/$name.pcap.tmp" "$CAPS/$name.pcap"
  fi
}

# What the run line says was left out, in a few words.
left_out() {
  python3 - "$1" <<'PY'
import json, sys
run = None
for l in open(sys.argv[1]):
    run = json.loads(l).get("run", run)
if run is None:
    print("no run line"); sys.exit()
sk, fr, caps = run["skipped"], run["ip_fragments"], run["caps"]
out = ["%d %s" % (v, k) for k, v in sk.items() if v]
out += ["frag %d %s" % (v, k) for k, v in fr.items()
        if v and k not in ("seen", "datagrams_rebuilt")]
out += ["%d %s" % (v, k) for k, v in caps.items() if v]
print(", ".join(out) or "nothing")
PY
}

# Does the c2s flow file in DIR equal the expectation? ("-" when not defined)
stream_check() {
  python3 - "$1" "$2" <<'PY'
import hashlib, json, os, sys
exp, d = json.load(open(sys.argv[1])), sys.argv[2]
if "c2s" not in exp:
    print("-"); sys.exit()
files = [f for f in os.listdir(d) if f.startswith("010.000.000.001.")]
if len(files) != 1:
    print("FAIL: %d client files" % len(files)); sys.exit(1)
data = open(os.path.join(d, files[0]), "rb").read()
ok = len(data) == exp["c2s"]["bytes"] and hashlib.sha256(data).hexdigest() == exp["c2s"]["sha256"]
print("stream ok" if ok else "FAIL: stream differs (%d bytes)" % len(data))
sys.exit(0 if ok else 1)
PY
}

# measure LABEL CAPTURE TOOL CHECK [TCPSCRIBE_ARGS...]: RUNS runs into
# fresh dirs, the least CPU kept; CHECK 1: the stream must be whole.
measure() {
  local label=$1 name=$2 tool=$3 want_whole=$4 out="$WORK/out" tf="$WORK/time" rc best=""
  local wall rss u s cpu check="-" dropped="-" key
  shift 4
  key="$name/$tool${1:+ $*}"
  cat "$CAPS/$name.pcap" >/dev/null  # page cache
  for _ in $(seq "$RUNS"); do
    rm -rf "$out" && mkdir -p "$out"
    rc=0
    case $tool in
      tcpscribe) /usr/bin/time -f '%e %M %U %S' -o "$tf" "$BIN" -q -r "$CAPS/$name.pcap" \
                   -o "$out" --report "$WORK/report.jsonl" "$@" >/dev/null 2>"$WORK/err" || rc=$? ;;
      tcpflow) (cd "$out" && /usr/bin/time -f '%e %M %U %S' -o "$tf" tcpflow -r "$CAPS/$name.pcap" \
                  -o . >/dev/null 2>"$WORK/err") || rc=$? ;;
    esac
    read -r wall rss u s < <(tail -n 1 "$tf")
    cpu=$(python3 -c "print('%.2f' % ($u + $s))")
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(not $cpu < ${best%% *})"; then
      best="$cpu $wall $rss"
    fi
  done
  read -r cpu wall rss <<<"$best"
  if [ "$rc" -ne 0 ]; then
    check="exit $rc: $(head -c 120 "$WORK/err" | tr "\n|" "  ")"
    [ "$tool" = tcpscribe ] && status=1
  elif [ "$tool" = tcpscribe ]; then
    if [ "$want_whole" = 1 ]; then check=$(stream_check "$CAPS/$name.json" "$out") || status=1; fi
    dropped=$(left_out "$WORK/report.jsonl")
  fi
  cpu_of["$key"]=$cpu
  [ $# -gt 0 ] && tool="$tool $*"
  rows+=("| $label | $tool | $wall | $cpu | $((rss / 1024)) | $check | $dropped |")
  echo "$label $tool: ${wall} s wall, ${cpu} s CPU, $((rss / 1024)) MB; $check; $dropped" >&2
  rm -rf "$out"
}

# pair LABEL NAME: every tool on one capture (tcpscribe's stream checked).
pair() {
  for tool in $TOOLS; do measure "$1" "$2" "$tool" 1; done
}
ratios=()
# linear LABEL SMALL BIG FACTOR: tcpscribe's CPU ratio between two sizes.
linear() {
  local ka=$2 kb=$3
  [[ $ka == */* ]] || ka="$ka/tcpscribe"
  [[ $kb == */* ]] || kb="$kb/tcpscribe"
  local a=${cpu_of["$ka"]:-} b=${cpu_of["$kb"]:-}
  [ -n "$a" ] && [ -n "$b" ] || return 0
  ratios+=("| $1 | $4 | $a | $b | $(python3 -c "print('%.2f' % ($b / max($a, 0.01)))") |")
}

for c in $CASES; do
  case $c in
    syns)
      capture syns-200k syns --conns 200000; capture syns-400k syns --conns 400000
      pair "200,000 SYNs never answered" syns-200k; pair "400,000 SYNs" syns-400k
      linear "SYN flood" syns-200k syns-400k 2 ;;
    collide)
      capture collide-200k collide --conns 200000
      pair "200,000 IPv6 tuples with one old (unkeyed) flow hash" collide-200k ;;
    reversed)
      # 500,000 and 1,000,000: past 1 MiB the window guard leaves segments
      # out (64 KiB windows), so 2,000,000 would measure something else.
      capture reversed-500k reversed --segments 500000
      capture reversed-1m reversed --segments 1000000
      # Default caps: the 16 MiB per direction gives up the first hole (said
      # in the run line); with the caps raised the stream must be whole.
      for n in 500k 1m; do
        label="$([ $n = 1m ] && echo 1,000,000 || echo 500,000) one-byte segments, last first"
        for tool in $TOOLS; do measure "$label" "reversed-$n" "$tool" 0; done
        measure "$label" "reversed-$n" tcpscribe 1 --max-flow-buffer 512 --max-buffer 512
      done
      linear "reversed one-byte segments" reversed-500k reversed-1m 2
      linear "same, caps raised" "reversed-500k/tcpscribe --max-flow-buffer 512 --max-buffer 512" \
        "reversed-1m/tcpscribe --max-flow-buffer 512 --max-buffer 512" 2 ;;
    jump)
      capture jump jump --segments 100000 --after 100000
      pair "2^31 sequence jump after 100 MB (100 MB after it)" jump ;;
    frags-many)
      capture frags-many-100k frags --fragments 100000 --layout many
      capture frags-many-1m frags --fragments 1000000 --layout many
      pair "100,000 overlapping fragments, 10 per datagram, 1 in 7.5 conflicting" frags-many-100k
      pair "1,000,000 such fragments" frags-many-1m
      linear "fragments, 10 per datagram" frags-many-100k frags-many-1m 10 ;;
    frags-one)
      capture frags-one-100k frags --fragments 100000 --layout one
      capture frags-one-1m frags --fragments 1000000 --layout one
      pair "100,000 overlapping fragments of one datagram" frags-one-100k
      pair "1,000,000 fragments of one datagram" frags-one-1m
      linear "fragments of one datagram" frags-one-100k frags-one-1m 10 ;;
    frags-flood)
      capture frags-flood-100k frags --fragments 100000 --layout flood
      capture frags-flood-1m frags --fragments 1000000 --layout flood
      pair "100,000 fragments of datagrams never completed" frags-flood-100k
      pair "1,000,000 such fragments" frags-flood-1m
      linear "fragment flood" frags-flood-100k frags-flood-1m 10 ;;
    garbage)
      for lt in $LINKTYPES; do
        capture "garbage-$lt-1m" garbage --packets 1000000 --linktype "$lt"
        pair "1,000,000 garbage records, $lt" "garbage-$lt-1m"
      done
      capture garbage-ethernet-2m garbage --packets 2000000 --linktype ethernet
      pair "2,000,000 garbage records, ethernet" garbage-ethernet-2m
      linear "garbage, ethernet" garbage-ethernet-1m garbage-ethernet-2m 2 ;;
    wrap) ;;  # below: streamed, no file
    *) die "unknown case $c" ;;
  esac
done

# The wrap case: WRAP bytes through one connection, generated into a pipe.
# The generator alone is timed first (it may be the slower end). Each tool
# writes its console to /dev/null (tcpscribe -C -B -0, tcpflow -C -B);
# then tcpscribe once more into sha256sum, which must give the generator's
# hash (its wall time includes the hashing).
if [[ " $CASES " == *" wrap "* ]]; then
  label="$((WRAP >> 20)) MiB through one connection, sequence wraps (a pipe)"
  # wrap_run TOOL_LABEL COMMAND...: the generator piped into COMMAND.
  wrap_run() {
    local tl=$1 rc=0
    shift
    python3 "$GEN" wrap - --bytes "$WRAP" --expect "$WORK/wrap.json" |
      /usr/bin/time -f '%e %M %U %S' -o "$WORK/time" "$@" 2>"$WORK/err" || rc=$?
    read -r wall rss u s < <(tail -n 1 "$WORK/time")
    cpu=$(python3 -c "print('%.2f' % ($u + $s))")
    [ "$rc" -eq 0 ] || check="exit $rc: $(head -c 120 "$WORK/err" | tr "\n|" "  ")"
    [[ $tl == tcpscribe* ]] && dropped=$(left_out "$WORK/report.jsonl")
    rows+=("| $label | $tl | $wall | $cpu | $((rss / 1024)) | $check | $dropped |")
    echo "wrap $tl: ${wall} s, ${cpu} s CPU, $((rss / 1024)) MB; $check" >&2
  }
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time" python3 "$GEN" wrap - --bytes "$WRAP" >/dev/null
  read -r wall rss u s < <(tail -n 1 "$WORK/time")
  rows+=("| $label | generator alone | $wall | $(python3 -c "print('%.2f' % ($u + $s))") | $((rss / 1024)) | - | - |")
  for tool in $TOOLS; do
    check="-" dropped="-"
    case $tool in
      tcpscribe)
        wrap_run "tcpscribe -C -B -0" "$BIN" -q -r - -C -B -0 --report "$WORK/report.jsonl" >/dev/null
        python3 "$GEN" wrap - --bytes "$WRAP" |
          /usr/bin/time -f '%e %M %U %S' -o "$WORK/time" "$BIN" -q -r - -C -B -0 2>"$WORK/err" |
          sha256sum >"$WORK/sum"
        read -r wall rss u s < <(tail -n 1 "$WORK/time")
        got=$(cut -d' ' -f1 "$WORK/sum")
        want=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['c2s']['sha256'])" "$WORK/wrap.json")
        check="stream ok"; [ "$got" = "$want" ] || { check="FAIL: stream differs"; status=1; }
        rows+=("| $label | tcpscribe -C -B -0, into sha256sum | $wall | $(python3 -c "print('%.2f' % ($u + $s))") | $((rss / 1024)) | $check | - |") ;;
      tcpflow)  # it writes report.xml into the current directory
        pushd "$WORK" >/dev/null
        wrap_run "tcpflow -C -B" tcpflow -r - -C -B >/dev/null
        popd >/dev/null ;;
    esac
  done
fi

{
  echo "## Hostile captures ($(date -u '+%Y-%m-%d %H:%M UTC'), $("$BIN" --version 2>/dev/null | head -n 1))"
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; outputs under $BENCH_TMP; best of $RUNS."
  echo
  echo "| capture | tool | wall s | CPU s | peak RSS MB | output | left out (tcpscribe --report run line) |"
  echo "|---|---|---:|---:|---:|---|---|"
  printf '%s\n' "${rows[@]}"
  if [ ${#ratios[@]} -gt 0 ]; then
    echo
    echo "Linearity (tcpscribe CPU seconds at N and at FACTOR x N):"
    echo
    echo "| case | factor | CPU s at N | CPU s at factor x N | ratio |"
    echo "|---|---:|---:|---:|---:|"
    printf '%s\n' "${ratios[@]}"
  fi
} | tee "$OUT"
exit $status
