#!/usr/bin/env bash
# --shard I/N: for every test capture (tests/pcaps and ../shared/pcaps), the
# three shards of 3 together give exactly the unsharded run: the union of
# their flow files is the unsharded directory byte for byte (no file in two
# shards), and the union of their --report connection records is the
# unsharded one's, ignoring the connection ids (each shard counts its own:
# id, previous_id, and the "#N" a tuple-reuse finding names). And a shard
# on 2 worker threads (--threads 2) is the same shard, ids included.
# Usage: shard.sh path/to/tcpscribe
set -u
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
command -v jq >/dev/null || { echo "SKIP: jq is not installed (apt-get install jq)"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# shellcheck source=lib/captures.sh
. "$here/lib/captures.sh"
captures=$(test_captures)

# The connection records, ids left out, one sorted line each.
records() {
  jq -cS 'select(has("run") | not) | del(.id, .previous_id)' "$1" |
    sed -E 's/#[0-9]+/#N/g' | LC_ALL=C sort
}

shards=3
for cap in $captures; do
  name=$(basename "$cap")
  keys=() && [ -f "${cap%.*}.keys" ] && keys=(--tls-keylog "${cap%.*}.keys")
  w=$tmp/$name && mkdir -p "$w"
  "$bin" -q -r "$cap" "${keys[@]}" -o "$w/all" --report "$w/all.jsonl" 2>"$w/all.err"
  rc_all=$?
  mkdir -p "$w/all" "$w/union"
  : >"$w/union.jsonl"
  for ((i = 0; i < shards; i++)); do
    "$bin" -q -r "$cap" "${keys[@]}" --shard "$i/$shards" -o "$w/s$i" --report "$w/s$i.jsonl" \
      2>"$w/s$i.err"
    rc=$?
    [ "$rc" -eq "$rc_all" ] || bad "$name: shard $i/$shards exited $rc, unsharded $rc_all"
    mkdir -p "$w/s$i"
    # A flow file in two shards would be a connection reconstructed twice.
    (cd "$w/s$i" && find . -type f) | while read -r f; do
      if [ -e "$w/union/$f" ]; then echo "$f"; fi
    done >"$w/twice"
    [ -s "$w/twice" ] && bad "$name: in two shards: $(head -3 "$w/twice" | tr '\n' ' ')"
    cp -a "$w/s$i/." "$w/union/"
    cat "$w/s$i.jsonl" >>"$w/union.jsonl"
  done
  # A shard on worker threads is the same shard (ids included).
  "$bin" -q -r "$cap" "${keys[@]}" --shard "1/$shards" --threads 2 -o "$w/t1" \
    --report "$w/t1.jsonl" 2>/dev/null
  mkdir -p "$w/t1"
  if ! diff -r "$w/s1" "$w/t1" >/dev/null || ! cmp -s "$w/s1.jsonl" "$w/t1.jsonl"; then
    bad "$name: --shard 1/$shards --threads 2 differs from --shard 1/$shards"
  fi
  if ! diff -r "$w/all" "$w/union" >"$w/diff" 2>&1; then
    bad "$name: the shards' flow files differ from the unsharded run's: $(head -5 "$w/diff")"
    continue
  fi
  if ! diff <(records "$w/all.jsonl") <(records "$w/union.jsonl") >"$w/rdiff"; then
    bad "$name: the shards' connection records differ: $(head -6 "$w/rdiff")"
    continue
  fi
  n=$(records "$w/all.jsonl" | wc -l)
  files=$(find "$w/all" -type f | wc -l)
  echo "ok $name: $files flow files, $n connection records"
  pass=$((pass + 1))
done
echo "shard: $pass captures ok, $fail failures"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
