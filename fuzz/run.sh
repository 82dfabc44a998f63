#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang) if needed and runs each for
# SECONDS (default 30) on a copy of its seed corpus (fuzz/corpus/NAME),
# with its dictionary when there is one (fuzz/NAME.dict).
#   fuzz/run.sh [SECONDS] [BUILD_DIR]      FUZZ_TARGETS="http flow" to pick
# FUZZ_RUNS=N stops a harness after N executions when that comes first (a
# campaign: FUZZ_RUNS=10000000 fuzz/run.sh 1800).
# Exits non-zero when a harness finds a crash, a leak, a timeout or a
# property violation, printing the reproducer's path (rerun it with
# BUILD_DIR/fuzz/fuzz_NAME PATH). The table at the end has each target's
# executions and coverage (libFuzzer's cov: edges, ft: features).
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
build=${2:-build-fuzz}
cxx=${CXX_FUZZ:-clang++-14}
if [ ! -f "$build/build.ninja" ]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTCPSCRIBE_FUZZ=ON -DTCPSCRIBE_TESTS=OFF "${launcher[@]}" >/dev/null || exit 1
fi
ninja -C "$build" fuzz >/dev/null || { echo "fuzz/run.sh: the harnesses did not build" >&2; exit 1; }

targets=${FUZZ_TARGETS:-$(for f in fuzz/fuzz_*.cc; do n=${f#fuzz/fuzz_}; echo "${n%.cc}"; done)}
work=$(mktemp -d /tmp/tcpscribe-fuzz.XXXXXX)
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
failed=0
summary=""
for t in $targets; do
  bin="$build/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz/run.sh: no harness $bin" >&2; failed=1; continue; }
  mkdir -p "$work/$t" "$artifacts/$t"
  [ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$work/$t/"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  log="$artifacts/$t.log"
  echo "== fuzz_$t: ${secs}s${FUZZ_RUNS:+ or $FUZZ_RUNS runs}"
  runs=()
  [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
  "$bin" -max_total_time="$secs" "${runs[@]}" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$t/" "${dict[@]}" "$work/$t" >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*')
  summary+=$(printf '%-12s %12s executions  %6ss  %s  exit %s' "$t" "${execs:-?}" "${took:-$secs}" "${cov:-cov: ?}" "$rc")$'\n'
  if [ "$rc" -ne 0 ]; then
    failed=1
    tail -n 40 "$log" >&2
    repro=$(grep -o "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
    echo "fuzz/run.sh: fuzz_$t failed (exit $rc); reproducer: ${repro:-none written}; log: $log" >&2
  fi
done
rm -rf "$work"
echo "== fuzz summary (${secs}s each)"
printf '%s' "$summary"
exit "$failed"
