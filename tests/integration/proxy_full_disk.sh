#!/usr/bin/env bash
# The proxy's outputs on a disk that fills up mid-run (a 64 KiB tmpfs):
# curl downloads 300 KB three times through `tcpscribe proxy --log-root
# -o --report --messages` pointed at that disk. The traffic must be
# untouched; each failing output gets its line on stderr as it fails; the
# proxy exits 3 at SIGINT; and what was written before the failure stays
# valid: every netrecord log holds whole records only (--inspect finds no
# damage) and no empty log is left, the JSON Lines files hold whole lines;
# the exit says the traffic went on unlogged. Then with --fail-closed: the
# connection whose log fails is reset, and curl got no byte the logs lack.
# Usage: proxy_full_disk.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
command -v curl >/dev/null || skip "curl is missing (scripts/test.sh installs it)"
mkdir -p "$tmp/small" "$tmp/www"
mount -t tmpfs -o size=64k tmpfs "$tmp/small" || skip "cannot mount a tmpfs here"
cleanup_mount() { umount "$tmp/small" 2>/dev/null; [ -n "${KEEP_TMP:-}" ] || cleanup; }
trap cleanup_mount EXIT
disk=$tmp/small

head -c 300000 /dev/urandom >"$tmp/www/big.bin"
hport=$(free_port) pport=$(free_port)
python3 -m http.server "$hport" --bind 127.0.0.1 --directory "$tmp/www" >/dev/null 2>&1 &
pids+=($!)
wait_port "$hport" || skip "http.server did not start"
"$proxy_bin" proxy -l "127.0.0.1:$pport" -f "127.0.0.1:$hport" --log-root "$disk/log" \
  -o "$disk/flows" --report "$disk/r.jsonl" --messages "$disk/m.jsonl" -e http \
  >"$tmp/console" 2>"$tmp/err" &
proxy=$!
pids+=($proxy)
wait_line "$tmp/err" 'listening on' || { bad "the proxy did not start: $(cat "$tmp/err")"; exit 1; }

for i in 1 2 3; do
  curl -sS -o "$tmp/got$i" "http://127.0.0.1:$pport/big.bin" || bad "download $i through the proxy failed"
  cmp -s "$tmp/www/big.bin" "$tmp/got$i" || bad "download $i changed through the proxy"
done
# Each log that failed is named as it failed, while the proxy runs.
wait_line "$tmp/err" "cannot write $disk/log_1: No space left on device" ||
  bad "no line for the first log's failure: $(cat "$tmp/err")"
kill -INT $proxy
wait $proxy; rc=$?
[ $rc -eq 3 ] || bad "the proxy exited $rc after filling the disk (expected 3): $(cat "$tmp/err")"
grep -v '^tcpscribe proxy: ' "$tmp/err" && bad "stderr lines without the program's name"

logs=("$disk"/log_*)
[ -e "${logs[0]}" ] || bad "no netrecord log survived: $(ls -la "$disk")"
for l in "${logs[@]}"; do
  [ -s "$l" ] || bad "an empty log was left: $l"
done
"$bin" proxy --inspect "${logs[@]}" >"$tmp/inspect" 2>&1 || bad "--inspect failed: $(cat "$tmp/inspect")"
grep -q DAMAGED "$tmp/inspect" && bad "a log ends inside a record: $(cat "$tmp/inspect")"
# The first log has the whole request and part of the answer.
grep -q "/log_1: [0-9]* records, .* c: 1 chunks [0-9]* bytes" "$tmp/inspect" || bad "log_1: $(cat "$tmp/inspect")"
python3 - "$disk/r.jsonl" "$disk/m.jsonl" <<'PY' || bad "a JSON Lines output holds a cut or invalid line"
import json, sys
for path in sys.argv[1:]:
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        continue
    assert data == b"" or data.endswith(b"\n"), (path, data[-40:])
    for line in data.decode().splitlines():
        json.loads(line)
PY
# A flow file holds a prefix of what crossed the proxy.
for f in "$disk"/flows/*; do
  [ -e "$f" ] || continue
  case $f in
    *."$(printf %05d "$hport")"-*) python3 - "$f" "$tmp/www/big.bin" <<'PY' || bad "flow file $f is not a prefix of the answer"
import sys
got = open(sys.argv[1], "rb").read()
body = open(sys.argv[2], "rb").read()
head_end = got.find(b"\r\n\r\n")
assert head_end < 0 or body.startswith(got[head_end + 4:]), len(got)
PY
    ;;
  esac
done
# Without --fail-closed the exit says loudly that traffic went on unlogged.
grep -q "log(s) could not be written in full: their connections went on UNLOGGED (first: .*); --fail-closed refuses such traffic\$" \
  "$tmp/err" || bad "no closing line about unlogged traffic: $(cat "$tmp/err")"

# --- --fail-closed on a fresh small disk: once a log cannot be written its
# connection is reset before unlogged bytes go on, and a new connection
# whose log cannot be created is refused; every byte curl got is in a log.
umount "$disk" && mount -t tmpfs -o size=64k tmpfs "$disk" || bad "cannot remount the tmpfs"
pport=$(free_port)
"$proxy_bin" proxy -l "127.0.0.1:$pport" -f "127.0.0.1:$hport" --log-root "$disk/fc" --fail-closed \
  >"$tmp/console2" 2>"$tmp/err2" &
proxy=$!
pids+=($proxy)
wait_line "$tmp/err2" 'listening on' || bad "the --fail-closed proxy did not start: $(cat "$tmp/err2")"
got_total=0
for i in 1 2 3; do
  curl -sS -o "$tmp/fc$i" "http://127.0.0.1:$pport/big.bin" 2>/dev/null
  got_total=$((got_total + $(stat -c %s "$tmp/fc$i" 2>/dev/null || echo 0)))
done
cmp -s "$tmp/www/big.bin" "$tmp/fc1" && bad "--fail-closed: a whole 300 KB download got through a 64 KiB log disk"
kill -INT $proxy
wait $proxy; rc=$?
[ $rc -eq 3 ] || bad "--fail-closed: exit $rc, want 3: $(cat "$tmp/err2")"
grep -q "(that log is abandoned and its connection reset: --fail-closed)" "$tmp/err2" || bad "--fail-closed: no reset line: $(cat "$tmp/err2")"
grep -q "connection(s) reset because their logs could not be written (--fail-closed)\$" "$tmp/err2" || bad "--fail-closed: no closing line: $(cat "$tmp/err2")"
logged=0
for l in "$disk"/fc_*; do
  [ -e "$l" ] || continue
  b=$("$bin" proxy --inspect "$l" | sed -n 's/.*; s: [0-9]* chunks \([0-9]*\) bytes.*/\1/p')
  logged=$((logged + ${b:-0}))
done
# curl saved the bodies; the logs hold heads and bodies: the logs cover all.
[ "$got_total" -le "$logged" ] || bad "--fail-closed: curl got $got_total body bytes, the logs hold only $logged"
"$proxy_bin" proxy -l 127.0.0.1:0 -f "127.0.0.1:$hport" --fail-closed >/dev/null 2>"$tmp/err3"
[ $? -eq 1 ] && grep -q "^tcpscribe proxy: --fail-closed goes with --log-root" "$tmp/err3" || bad "--fail-closed alone: $(cat "$tmp/err3")"

[ $fail -eq 0 ] && echo "proxy_full_disk: ok ($(grep -c 'No space left' "$tmp/err") failure lines, ${#logs[@]} logs valid)"
exit $((fail > 0))
