# The start every proxy/replay integration test shares; sourced as
#   . "$(dirname "$0")/lib/harness.sh" "$@"
# Sets bin (the tcpscribe under test, $1), proxy_bin (TCPSCRIBE_PROXY_BIN or
# bin), tmp (removed at exit unless KEEP_TMP is set) and pids (killed at
# exit); skip (exit 77), bad (counts a failure in $fail).
set -u
bin=$(realpath "$1")
proxy_bin=${TCPSCRIBE_PROXY_BIN:-$bin}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${KEEP_TMP:-}" ] && trap - EXIT
skip() { echo "SKIP: $*"; exit 77; }
fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
