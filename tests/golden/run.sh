#!/usr/bin/env bash
# Golden tests in the style of tcpdump's TESTLIST. Usage:
#   tests/golden/run.sh path/to/tcpscribe           check every case
#   tests/golden/run.sh path/to/tcpscribe --update  rewrite expected/
#   GOLDEN_ARGS="--threads 2" tests/golden/run.sh ...  every case with these
#                                                     options too (same output)
# A case fails on a non-zero exit, a crash, any diff, or any stderr.
set -u
bin=$(realpath "$1")
update=${2:-}
read -r -a extra <<<"${GOLDEN_ARGS:-}"
here=$(cd "$(dirname "$0")" && pwd)
pcaps=$here/../pcaps
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
listing() {  # relative name, size and sha256 of every file, sorted
  (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
    printf '%s %s %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
  done)
}
while read -r name input mode opts; do
  case "$name" in ''|'#'*) continue ;; esac
  opts=${opts//@PCAPS@/$pcaps}  # files beside the captures (key logs)
  out=$tmp/$name.out err=$tmp/$name.err
  # shellcheck disable=SC2086
  if [ "$mode" = files ]; then
    "$bin" "${extra[@]}" -r "$pcaps/$input" -o "$tmp/$name.d" $opts >"$out.stdout" 2>"$err"
    rc=$?
    listing "$tmp/$name.d" >"$out"
    cat "$out.stdout" >>"$out"
  else
    NO_COLOR=1 "$bin" "${extra[@]}" -r "$pcaps/$input" $opts >"$out" 2>"$err"
    rc=$?
  fi
  expected=$here/expected/$name.out
  if [ "$update" = --update ]; then
    cp "$out" "$expected"
  fi
  if [ $rc -ne 0 ] || [ -s "$err" ] || ! cmp -s "$out" "$expected"; then
    echo "FAIL $name (exit $rc)"
    [ -s "$err" ] && sed 's/^/  stderr: /' "$err" | head -5
    [ -f "$expected" ] && diff "$expected" "$out" | head -20
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
done <"$here/TESTLIST"
echo "golden: $pass passed, $fail failed"
[ $fail -eq 0 ]
