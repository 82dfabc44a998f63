#!/usr/bin/env bash
# --threads N gives the same outputs as one thread: for every test capture
# (tests/pcaps and ../shared/pcaps), N = 2 and N = 4 against N = 1: the flow
# files (diff -r), --report, --messages, --har, --html, -X and -c --decode.
# Only what records the run itself is left out of the comparison: the
# command line (it names --threads) and wall-clock times and durations.
# Usage: threads_determinism.sh path/to/tcpscribe
set -u
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# shellcheck source=lib/captures.sh
. "$here/lib/captures.sh"
captures=$(test_captures)

# What names the run rather than the traffic.
normalize() {
  sed -E -e 's#<command_line>[^<]*</command_line>#<command_line/>#' \
    -e 's#<(start_time|elapsed_seconds|user_seconds|system_seconds|maxrss_kbytes|clockticks)>[^<]*</[a-z_]*>#<\1/>#g' \
    -e 's#"(generated|wall_seconds|elapsed_seconds)":[^,}]*#"\1":0#g' \
    -e 's#--threads [0-9]+##g' "$1"
}

run() {  # run N CAPTURE DIR KEYS...: every output of one run into DIR
  # Every run writes into the same place (the reports name the files).
  local n=$1 cap=$2 dest=$3 d=$tmp/run; shift 3
  rm -rf "$d" && mkdir -p "$d"
  "$bin" -q --threads "$n" -r "$cap" "$@" -o "$d/flows" --report "$d/report.jsonl" \
    --messages "$d/messages.jsonl" --har "$d/har.json" --html "$d/report.html" \
    -X "$d/dfxml.xml" 2>"$d/stderr"
  echo "exit $?" >"$d/exit"
  NO_COLOR=1 "$bin" -q --threads "$n" -r "$cap" "$@" -c --decode >"$d/console" 2>>"$d/stderr"
  echo "exit $?" >>"$d/exit"
  mkdir -p "$d/flows"
  for f in report.jsonl messages.jsonl har.json report.html dfxml.xml; do
    [ -f "$d/$f" ] && normalize "$d/$f" >"$d/$f.n" && rm "$d/$f"
  done
  mv "$d" "$dest"
}

for cap in $captures; do
  name=$(basename "$cap")
  keys=() && [ -f "${cap%.*}.keys" ] && keys=(--tls-keylog "${cap%.*}.keys")
  w=$tmp/$name
  mkdir -p "$w"
  run 1 "$cap" "$w/1" "${keys[@]}"
  ok=1
  for n in 2 4; do
    run "$n" "$cap" "$w/$n" "${keys[@]}"
    if ! diff -r "$w/1" "$w/$n" >"$w/diff$n" 2>&1; then
      bad "$name: --threads $n differs from one thread: $(head -8 "$w/diff$n")"
      ok=0
    fi
  done
  if [ $ok = 1 ]; then
    echo "ok $name: $(find "$w/1/flows" -type f | wc -l) flow files, $(wc -l <"$w/1/report.jsonl.n") report lines, $(wc -l <"$w/1/console") console lines"
    pass=$((pass + 1))
  fi
  rm -rf "$w"
done
echo "threads_determinism: $pass captures identical with 1, 2 and 4 threads, $fail failures"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
