#!/usr/bin/env bash
# Command-line behaviour: exit codes, one-line errors, nothing captured lost,
# reruns into the same directory, standard input, -R, fd limits, full disk.
# Usage: cli.sh path/to/tcpscribe
set -u
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
pcaps=$here/../pcaps
tmp=$(mktemp -d)
mnt=""
cleanup() { [ -n "$mnt" ] && umount "$mnt" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# expect CODE PATTERN -- command...: exit code and one stderr line matching PATTERN
expect() {
  local code=$1 pattern=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ $rc -ne "$code" ]; then bad "$* exited $rc, expected $code: $(head -3 "$tmp/err")"; return; fi
  if [ -n "$pattern" ] && ! grep -qE "$pattern" "$tmp/err"; then
    bad "$*: stderr lacks /$pattern/: $(head -3 "$tmp/err")"; return
  fi
  ok
}

# Usage errors: exit 1, one line.
expect 1 'unrecognised option|unknown option' -- "$bin" --no-such-flag -r x
expect 1 'no input' -- "$bin"
expect 1 "filter 'port' does not compile" -- "$bin" -r "$pcaps/redis_cli_lo.pcap" -c port
expect 1 'unknown letter' -- "$bin" -r "$pcaps/redis_cli_lo.pcap" -Fq
expect 1 'unknown escape' -- "$bin" -r "$pcaps/redis_cli_lo.pcap" -T '%Q'
expect 1 'color' -- "$bin" -r "$pcaps/redis_cli_lo.pcap" --color=sometimes
# Numbers: refused when negative (not wrapped), 0 where it means nothing, or out of range.
r1=$pcaps/redis_cli_lo.pcap
expect 1 "tcpscribe: --reorder-window takes a whole number from 0 to 10000000, not '-5'" -- "$bin" -r "$r1" -c --reorder-window -5
expect 1 "tcpscribe: -b takes a whole number of 1 or more, not '-1'" -- "$bin" -r "$r1" -c -b -1
expect 1 "tcpscribe: -b takes a whole number of 1 or more, not '0'" -- "$bin" -r "$r1" -c -b 0
expect 1 "tcpscribe: --max-buffer takes a whole number from 1 to 1048576, not '0'" -- "$bin" -r "$r1" -c --max-buffer 0
expect 1 "tcpscribe: --max-flow-buffer takes a whole number from 1 to 1048576, not '0'" -- "$bin" -r "$r1" -c --max-flow-buffer 0
expect 1 "tcpscribe: --max-file-buffer takes a whole number from 1 to 1048576, not '0'" -- "$bin" -r "$r1" -c --max-file-buffer 0
expect 1 "tcpscribe: -f takes a whole number from 1 to 16777216, not '0'" -- "$bin" -r "$r1" -c -f 0
expect 1 "tcpscribe: --snaplen takes a whole number from 1 to 262144, not '0'" -- "$bin" -r "$r1" -c --snaplen 0
expect 1 "tcpscribe: --writer-threads takes a whole number from 0 to 64, not '1.5'" -- "$bin" -r "$r1" -c --writer-threads 1.5
expect 1 "tcpscribe: --idle-timeout takes 0 to 1000000000 seconds" -- "$bin" -r "$r1" -c --idle-timeout -1
expect 1 "tcpscribe: --slow takes seconds from 0.001 to 1000000 \\(e.g. --slow 0.5\\), not '0'" -- "$bin" -r "$r1" -c --slow 0
expect 1 "tcpscribe: --slow takes seconds from 0.001 to 1000000 \\(e.g. --slow 0.5\\), not '300ms'" -- "$bin" -r "$r1" -c --slow 300ms
expect 0 '' -- "$bin" -r "$r1" -c --reorder-window 0 --writer-threads 0 --idle-timeout 0
# Outputs that would share standard output, and -c with -o, are refused.
expect 1 'tcpscribe: -c and --report - would both write to standard output' -- "$bin" -r "$r1" -c --report -
expect 1 'tcpscribe: -C and --har - would both write to standard output' -- "$bin" -r "$r1" -C --har -
expect 1 'tcpscribe: --report - and --har - would both write to standard output' -- "$bin" -r "$r1" --report - --har -
expect 1 'tcpscribe: -c prints the conversation instead of writing flow files; drop -o' -- "$bin" -r "$r1" -c -o "$tmp/o0"
[ -e "$tmp/o0" ] && bad "-c -o created the directory"
# A report asked for without -o writes no flow files into the current directory.
for rep in "--report r.jsonl" "--html r.html" "--har r.har" "-X r.xml" "--netrecord rec"; do
  mkdir -p "$tmp/cwd" && rm -rf "$tmp/cwd"/* && (cd "$tmp/cwd" && "$bin" -r "$pcaps/http_keepalive_lo.pcap" $rep 2>"$tmp/err"); rc=$?
  left=$(ls "$tmp/cwd" | tr '\n' ' ')
  want="${rep#* } "; [ "$rep" = "--netrecord rec" ] && want="rec_1 "
  [ $rc -eq 0 ] && [ "$left" = "$want" ] && ok || bad "$rep without -o: exit $rc, left '$left', want '$want'"
done
(cd "$tmp/cwd" && rm -f ./* && "$bin" -r "$pcaps/http_keepalive_lo.pcap" -X r.xml -o flows 2>/dev/null)
[ "$(ls "$tmp/cwd/flows" | wc -l)" -eq 2 ] && grep -q '<filename>flows/127.000.000.001' "$tmp/cwd/r.xml" && ok ||
  bad "-X with -o: $(ls "$tmp/cwd/flows" | wc -l) flow files"
(cd "$tmp/cwd" && "$bin" -r "$pcaps/http_keepalive_lo.pcap" -X r2.xml)
grep -q '<filename>' "$tmp/cwd/r2.xml" && bad "-X without flow files names files" || ok
expect 0 '' -- "$bin" --help
grep -q -- '--reorder-window' "$tmp/out" || bad "--help lacks --reorder-window"
# One help layout for the three modes: "usage:", a blank line before
# "Options:" and before "Exit status", lines of at most 80 columns, every
# value named (no Boost "arg").
for mode in "" proxy replay; do
  # shellcheck disable=SC2086
  "$bin" $mode --help >"$tmp/help" 2>&1
  h=$(cat "$tmp/help")
  [[ $h == "usage: tcpscribe"* ]] && grep -qzP '\n\nOptions:\n' "$tmp/help" && grep -qzP '\n\nExit status' "$tmp/help" &&
    ! grep -q ' arg ' "$tmp/help" && [ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$tmp/help")" -le 100 ] &&
    ok || bad "tcpscribe $mode --help: not the common layout"
done
expect 0 '' -- "$bin" -V
grep -q '^tcpscribe [0-9]' "$tmp/out" || bad "-V prints no version"

# Input errors: exit 2.
expect 2 'cannot open .*nonexistent.pcap: No such file' -- "$bin" -r "$tmp/nonexistent.pcap" -o "$tmp/o1"
head -c 1000 /dev/urandom >"$tmp/garbage.pcap"
expect 2 'garbage.pcap: .*expected a pcap or pcapng' -- "$bin" -r "$tmp/garbage.pcap" -o "$tmp/o2"
: >"$tmp/empty.pcap"
expect 2 'empty file' -- "$bin" -r "$tmp/empty.pcap" -o "$tmp/o3"
# A --queue-size larger than the machine's memory is refused before
# anything is opened (so without root too).
expect 1 "queue-size 1000000 MiB is more than this machine's memory \([0-9]+ MiB\); give at most [0-9]+" -- \
  "$bin" -i lo --queue-size 1000000 -c

# A capture cut short: everything before the damage is written, exit 2.
full=$pcaps/http_keepalive_lo.pcap
size=$(stat -c %s "$full")
head -c $((size - 300)) "$full" >"$tmp/cut.pcap"
expect 2 'cut.pcap: truncated dump file.*everything before it is written' -- \
  "$bin" -r "$tmp/cut.pcap" -o "$tmp/cut"
"$bin" -r "$full" -o "$tmp/whole" 2>/dev/null
req=$(ls "$tmp/whole" | grep -- '-127.000.000.001.18080$')
cmp -s "$tmp/whole/$req" "$tmp/cut/$req" || bad "cut capture lost the request stream"

# An unknown link type: one clear line, exit 2.
python3 - "$tmp/lt147.pcap" <<'PY'
import struct, sys
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 147))
    f.write(struct.pack('<IIII', 1, 0, 4, 4) + b'abcd')
PY
expect 2 'link type 147 is not supported' -- "$bin" -r "$tmp/lt147.pcap" -o "$tmp/o4"

# Packets written in reverse time order: a window as large as the capture
# puts them all back (same files as the original); a small one cannot, and
# -v says how many came too late.
python3 - "$pcaps/http_keepalive_lo.pcap" "$tmp/reversed.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
assert struct.unpack('<I', data[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d), 'little-endian pcap expected'
recs, at = [], 24
while at < len(data):
    caplen = struct.unpack('<I', data[at + 8:at + 12])[0]
    recs.append(data[at:at + 16 + caplen]); at += 16 + caplen
open(sys.argv[2], 'wb').write(data[:24] + b''.join(reversed(recs)))
PY
"$bin" -r "$pcaps/http_keepalive_lo.pcap" -o "$tmp/fwd" 2>/dev/null
"$bin" -v --reorder-window 100000 -r "$tmp/reversed.pcap" -o "$tmp/rev" 2>"$tmp/err"
diff -r "$tmp/fwd" "$tmp/rev" >/dev/null || bad "a full reorder window did not restore the reversed capture"
grep -q '; 0 packets came later than the reorder window' "$tmp/err" ||
  bad "-v with a full window: $(grep packets "$tmp/err")"
"$bin" -v --reorder-window 2 -r "$tmp/reversed.pcap" -o "$tmp/rev2" 2>"$tmp/err"
late=$(sed -n 's/.*; \([0-9]*\) packets came later than the reorder window.*/\1/p' "$tmp/err")
[ "${late:-0}" -gt 0 ] && ok || bad "-v with a 2-packet window reports ${late:-no} late packets"

# Like tcpflow, each file carries the time of its direction's first packet
# (port_reuse_lo.pcap: the SYN and SYN-ACK of each connection, per tcpdump -tt).
"$bin" -r "$pcaps/port_reuse_lo.pcap" -o "$tmp/times" 2>/dev/null
got=$(cd "$tmp/times" && stat -c '%n %.6Y' -- * | sort | tr '\n' ' ')
want="127.000.000.001.19001-127.000.000.001.41999 1795347316.744034 \
127.000.000.001.19001-127.000.000.001.41999c1 1795347317.044619 \
127.000.000.001.41999-127.000.000.001.19001 1795347316.744021 \
127.000.000.001.41999-127.000.000.001.19001c1 1795347317.044599 "
[ "$got" = "$want" ] && ok || bad "file times: got '$got', want '$want'"

# Output errors: exit 3.
expect 3 'cannot create output directory' -- "$bin" -r "$full" -o /dev/null/flows
if [ -e /dev/full ]; then
  "$bin" -r "$full" -c >/dev/full 2>"$tmp/err"; rc=$?
  [ $rc -eq 3 ] && grep -q 'cannot write to standard output' "$tmp/err" && ok ||
    bad "console to /dev/full: exit $rc: $(cat "$tmp/err")"
fi
# A second run into the same directory overwrites, it does not add c1 files.
"$bin" -r "$full" -o "$tmp/twice" && "$bin" -r "$full" -o "$tmp/twice"
n=$(ls "$tmp/twice" | wc -l)
[ "$n" -eq 2 ] || bad "second run left $n files: $(ls "$tmp/twice")"
cmp -s "$tmp/whole/$req" "$tmp/twice/$req" || bad "second run changed the bytes"
ok

# Standard input, pcap and pcapng alike.
"$bin" -r - -c <"$full" >"$tmp/stdin.out" 2>"$tmp/err" && "$bin" -r "$full" -c >"$tmp/file.out" &&
  cmp -s "$tmp/stdin.out" "$tmp/file.out" && ok || bad "-r - differs from -r FILE: $(cat "$tmp/err")"
if [ -f "$here/../../../shared/pcaps/shuffled_packet_order.pcapng" ]; then
  "$bin" -r - -c <"$here/../../../shared/pcaps/shuffled_packet_order.pcapng" >"$tmp/ng.out" 2>"$tmp/err" &&
    grep -q 'GET /lines.txt' "$tmp/ng.out" && ok || bad "pcapng on stdin: $(cat "$tmp/err")"
fi

# Several -r files; -R only finishes connections opened before.
head -c 24 "$full" >"$tmp/hdr"
"$bin" -r "$pcaps/redis_cli_lo.pcap" -R "$full" -o "$tmp/rr" 2>/dev/null
[ "$(ls "$tmp/rr" | grep -c 18080)" -eq 0 ] && ok || bad "-R opened new connections"
"$bin" -r "$pcaps/redis_cli_lo.pcap" -r "$full" -o "$tmp/r2" 2>/dev/null
[ "$(ls "$tmp/r2" | wc -l)" -eq 8 ] && ok || bad "two -r files: $(ls "$tmp/r2" | wc -l) files, expected 8"

# Several -r files are one capture merged by timestamp, whatever their order:
# tcpdump -C parts given as a glob sorts them (cap cap1 cap10 cap2), files
# taken side by side overlap. Same files as the whole capture, no holes.
python3 - "$full" "$tmp/part" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
recs, at = [], 24
while at < len(data):
    caplen = struct.unpack('<I', data[at + 8:at + 12])[0]
    recs.append(data[at:at + 16 + caplen]); at += 16 + caplen
third = len(recs) // 3
for k, part in enumerate([recs[:third], recs[third:2 * third], recs[2 * third:]]):
    open('%s%d.pcap' % (sys.argv[2], k), 'wb').write(data[:24] + b''.join(part))
# Each direction alone, as if taken on two interfaces (Ethernet, IPv4, TCP).
sport = lambda r: struct.unpack('!H', r[16 + 14 + 20:16 + 14 + 22])[0]
open(sys.argv[2] + '_server.pcap', 'wb').write(data[:24] + b''.join(r for r in recs if sport(r) == 18080))
open(sys.argv[2] + '_client.pcap', 'wb').write(data[:24] + b''.join(r for r in recs if sport(r) != 18080))
PY
"$bin" -r "$tmp/part2.pcap" -r "$tmp/part0.pcap" -r "$tmp/part1.pcap" -o "$tmp/parts" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && diff -r "$tmp/whole" "$tmp/parts" >/dev/null && ! grep -q missing "$tmp/err" && ok ||
  bad "parts out of order: exit $rc, $(diff -rq "$tmp/whole" "$tmp/parts" | head -2) $(head -2 "$tmp/err")"
"$bin" -r "$full" -c >"$tmp/whole.out" 2>/dev/null
"$bin" -r "$tmp/part_server.pcap" -r "$tmp/part_client.pcap" -c >"$tmp/overlap.out" 2>/dev/null &&
  cmp -s "$tmp/whole.out" "$tmp/overlap.out" && ok || bad "two overlapping files did not merge"
# -R given first still finishes what the -r file opened earlier in time.
"$bin" -R "$tmp/part1.pcap" -R "$tmp/part2.pcap" -r "$tmp/part0.pcap" -o "$tmp/rlate" 2>/dev/null &&
  diff -r "$tmp/whole" "$tmp/rlate" >/dev/null && ok || bad "-R before -r did not finish its connections"
# A damaged file among them: its packets up to the damage, all of the others, exit 2.
head -c $(($(stat -c %s "$pcaps/redis_cli_lo.pcap") - 40)) "$pcaps/redis_cli_lo.pcap" >"$tmp/redis_cut.pcap"
"$bin" -r "$tmp/part2.pcap" -r "$tmp/redis_cut.pcap" -r "$tmp/part0.pcap" -r "$tmp/part1.pcap" \
  -o "$tmp/damaged" 2>"$tmp/err"; rc=$?
"$bin" -r "$tmp/redis_cut.pcap" -o "$tmp/cut_alone" 2>/dev/null
same=0; for f in $(ls "$tmp/cut_alone"); do cmp -s "$tmp/cut_alone/$f" "$tmp/damaged/$f" && same=$((same + 1)); done
if [ $rc -eq 2 ] && grep -q 'redis_cut.pcap: truncated' "$tmp/err" && cmp -s "$tmp/whole/$req" "$tmp/damaged/$req" &&
   [ "$same" -eq 6 ] && [ "$(ls "$tmp/damaged" | wc -l)" -eq 8 ]; then ok
else bad "a damaged file among others: exit $rc, $(ls "$tmp/damaged" | wc -l) files: $(head -2 "$tmp/err")"; fi

# A pipe is read as packets arrive: with half a capture sent and the writer
# waiting, the conversation so far is printed before the input ends (and
# equals the start of the whole), from standard input and from a FIFO.
cat >"$tmp/gated.py" <<'PY'
import os, struct, sys, time
data = open(sys.argv[1], 'rb').read()
recs, at = [], 24
while at < len(data):
    caplen = struct.unpack('<I', data[at + 8:at + 12])[0]
    recs.append(data[at:at + 16 + caplen]); at += 16 + caplen
out = sys.stdout.buffer
out.write(data[:24] + b''.join(recs[:len(recs) // 2])); out.flush()
start = time.time()
while not os.path.exists(sys.argv[2]) and time.time() - start < 30: time.sleep(0.05)
try:
    out.write(b''.join(recs[len(recs) // 2:])); out.flush()
except BrokenPipeError:
    pass
PY
# Waits (at most 20 s) until file $1 is not empty; prints its size.
wait_output() { for _ in $(seq 200); do [ -s "$1" ] && break; sleep 0.1; done; stat -c %s "$1" 2>/dev/null || echo 0; }
python3 "$tmp/gated.py" "$full" "$tmp/go1" | "$bin" -r - -c >"$tmp/stream.out" 2>"$tmp/err" &
spid=$!
early=$(wait_output "$tmp/stream.out")
touch "$tmp/go1"; wait $spid; rc=$?
if [ $rc -eq 0 ] && [ "$early" -gt 0 ] && [ "$early" -lt "$(stat -c %s "$tmp/whole.out")" ] &&
   cmp -s "$tmp/stream.out" "$tmp/whole.out"; then ok
else bad "-r - did not stream: exit $rc, $early bytes before the end: $(head -2 "$tmp/err")"; fi
mkfifo "$tmp/fifo"
python3 "$tmp/gated.py" "$full" "$tmp/go2" >"$tmp/fifo" &
"$bin" -r "$tmp/fifo" -c >"$tmp/fifo.out" 2>"$tmp/err" &
spid=$!
early=$(wait_output "$tmp/fifo.out")
touch "$tmp/go2"; wait $spid; rc=$?
[ $rc -eq 0 ] && [ "$early" -gt 0 ] && cmp -s "$tmp/fifo.out" "$tmp/whole.out" && ok ||
  bad "-r FIFO: exit $rc, $early bytes before the end: $(head -2 "$tmp/err")"

# SIGINT while reading a silent pipe: every connection is finished and every
# report written whole, exit 0. (A FIFO, so that wait waits for tcpscribe
# alone, not for the writer held back.)
mkfifo "$tmp/fifo3"
python3 "$tmp/gated.py" "$full" "$tmp/go3" >"$tmp/fifo3" &
"$bin" -r "$tmp/fifo3" -o "$tmp/sig" --html "$tmp/sig.html" --har "$tmp/sig.har" --report "$tmp/sig.jsonl" 2>"$tmp/err" &
spid=$!
wait_output "$tmp/sig/$req" >/dev/null  # the first request is in
kill -INT $spid; wait $spid; rc=$?
touch "$tmp/go3"
if [ $rc -eq 0 ] && grep -q 'interrupted after' "$tmp/err" && tail -1 "$tmp/sig.html" | grep -q '</html>' &&
   python3 -c 'import json, sys; assert len(json.load(open(sys.argv[1]))["log"]["entries"]) >= 1' "$tmp/sig.har" &&
   [ "$(wc -l <"$tmp/sig.jsonl")" -eq 2 ] && tail -1 "$tmp/sig.jsonl" | grep -q '^{"run":{"packets":' &&
   [ -s "$tmp/sig/$req" ]; then ok
else bad "SIGINT on a pipe: exit $rc, html $(tail -c 20 "$tmp/sig.html" 2>&1), $(head -2 "$tmp/err")"; fi

# -U with several -r files: every file is opened before root is dropped
# (tcpflow 1.6.1 fails the second file), even root-only ones.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
  cp "$pcaps/redis_cli_lo.pcap" "$tmp/a.pcap"; cp "$full" "$tmp/b.pcap"
  chmod 600 "$tmp/a.pcap" "$tmp/b.pcap"
  "$bin" -U nobody -r "$tmp/a.pcap" -r "$tmp/b.pcap" -o "$tmp/unew" 2>"$tmp/err"; rc=$?
  if [ $rc -eq 0 ] && [ "$(ls "$tmp/unew" | wc -l)" -eq 8 ] && [ "$(stat -c %U "$tmp/unew")" = nobody ] &&
     cmp -s "$tmp/unew/$req" "$tmp/whole/$req"; then ok
  else bad "-U nobody with two -r files: exit $rc, $(ls "$tmp/unew" 2>/dev/null | wc -l) files: $(cat "$tmp/err")"; fi
  # An output the user could not put in place at the end is refused at the
  # start, before anything is read, and leaves nothing behind.
  mkdir -p "$tmp/rootonly" && chmod 755 "$tmp/rootonly"
  for rep in "--html r.html" "--har r.har" "-X r.xml" "--netrecord rec"; do
    set -- $rep
    expect 1 "tcpscribe: -U nobody: the user cannot write into $tmp/rootonly \(Permission denied\), where $1 " -- \
      "$bin" -U nobody -r "$full" "$1" "$tmp/rootonly/$2"
    [ -z "$(ls "$tmp/rootonly")" ] || bad "-U refusal of $rep left $(ls "$tmp/rootonly")"
  done
  expect 1 "tcpscribe: -U nobody: the user cannot write into $tmp/rootonly \(Permission denied\), where flow files are written" -- \
    "$bin" -U nobody -r "$full" -o "$tmp/rootonly"
  # Into a directory the user may write (sticky, like /tmp), with -z too:
  # every report, log and HTTP body lands, owned by the user.
  mkdir -p "$tmp/shared" && chmod 1777 "$tmp/shared"
  for z in "" "-z $tmp/shared"; do
    rm -rf "$tmp/shared"/*
    "$bin" -U nobody $z -e http -r "$full" -o "$tmp/shared/f" --html "$tmp/shared/r.html" --har "$tmp/shared/r.har" \
      -X "$tmp/shared/r.xml" --netrecord "$tmp/shared/rec" --report "$tmp/shared/r.jsonl" 2>"$tmp/err"; rc=$?
    got=$(cd "$tmp/shared" && ls | tr '\n' ' ')
    bodies=$(ls "$tmp/shared/f" | grep -c HTTPBODY)
    owners=$(stat -c %U "$tmp/shared/r.html" "$tmp/shared/r.har" "$tmp/shared/r.xml" | sort -u | tr '\n' ' ')
    if [ $rc -eq 0 ] && [ "$got" = "f r.har r.html r.jsonl r.xml rec_1 " ] && [ "$bodies" -eq 2 ] &&
       [ "$owners" = "nobody " ]; then ok
    else bad "-U nobody $z with every output: exit $rc, '$got', $bodies bodies, owners $owners: $(cat "$tmp/err")"; fi
  done
  expect 1 "no such user" -- "$bin" -U no-such-user-here -r "$full" -o "$tmp/o5"
  expect 1 "z needs -U" -- "$bin" -z /tmp -r "$full" -o "$tmp/o6"
fi

# File descriptors stay under RLIMIT_NOFILE with 300 connections open at once.
python3 - "$tmp/many.pcap" <<'PY'
import struct, sys
def tcp(sp, dp, seq, ack, fl, pl=b''):
    return struct.pack('!HHIIBBHHH', sp, dp, seq, ack, 0x50, fl, 65535, 0, 0) + pl
def ip(s, d, p):
    return struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(p), 0, 0, 64, 6, 0, bytes(s), bytes(d)) + p
def eth(p): return b'\x02' * 12 + b'\x08\x00' + p
N = 300
fr = []
C = lambda i: [10, 1, i // 250, i % 250 + 1]
S = [10, 2, 0, 1]
for i in range(N):
    fr.append(eth(ip(C(i), S, tcp(30000 + i, 80, 100, 0, 2))))
    fr.append(eth(ip(S, C(i), tcp(80, 30000 + i, 900, 101, 18))))
for part in range(3):   # three interleaved rounds of data on every connection
    for i in range(N):
        pl = b'conn %d part %d;' % (i, part)
        fr.append(eth(ip(C(i), S, tcp(30000 + i, 80, 101 + part * 100, 901, 24, pl.ljust(100, b'.')))))
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for k, x in enumerate(fr):
        f.write(struct.pack('<IIII', 1000, k, len(x), len(x)) + x)
PY
(ulimit -n 64; "$bin" -r "$tmp/many.pcap" -o "$tmp/many" 2>"$tmp/err"); rc=$?
n=$(ls "$tmp/many" | wc -l)
f=$(ls "$tmp/many" | grep '^010.001.000.008.30007-')
if [ $rc -eq 0 ] && [ "$n" -eq 300 ] && [ "$(head -c 15 "$tmp/many/$f")" = "conn 7 part 0;." ] &&
   [ "$(stat -c %s "$tmp/many/$f")" -eq 300 ] && grep -q 'conn 7 part 2;' "$tmp/many/$f"; then ok
else bad "ulimit -n 64 with 300 open flows: exit $rc, $n files: $(head -2 "$tmp/err")"; fi

# --max-flows evicting at every segment of interleaved traffic: each
# connection's later packets continue its files (300 files, not one per
# segment), one warning line counts it, the report says "evicted".
"$bin" -r "$tmp/many.pcap" --max-flows 10 -o "$tmp/evict" --report "$tmp/evict.jsonl" 2>"$tmp/err"; rc=$?
n=$(ls "$tmp/evict" | wc -l)
f=$tmp/evict/010.001.000.008.30007-010.002.000.001.00080
if [ $rc -eq 0 ] && [ "$n" -eq 300 ] && [ "$(stat -c %s "$f")" -eq 300 ] &&
   [ "$(tr -d . <"$f")" = "conn 7 part 0;conn 7 part 1;conn 7 part 2;" ] &&
   [ "$(grep -c . "$tmp/err")" -eq 1 ] &&
   grep -q '^tcpscribe: warning: 1190 connections evicted at --max-flows 10 (900 of them continued later in the same files); raise --max-flows$' "$tmp/err" &&
   [ "$(grep -c '"close_reason":"evicted"' "$tmp/evict.jsonl")" -eq 1190 ]; then ok
else bad "--max-flows 10 on 300 interleaved flows: exit $rc, $n files, $(stat -c %s "$f") bytes: $(head -3 "$tmp/err")"; fi
"$bin" -q -r "$tmp/many.pcap" --max-flows 10 -o "$tmp/evict_q" 2>"$tmp/err"
[ ! -s "$tmp/err" ] && ok || bad "-q still warns about evictions: $(head -2 "$tmp/err")"

# On a terminal the progress line is erased before console output is written
# over it (one draw per 1024 packets at most 5 times a second); -q has none.
if command -v script >/dev/null; then
  script -qec "'$bin' -r '$tmp/many.pcap' -c" /dev/null >"$tmp/tty.out" 2>&1
  script -qec "'$bin' -q -r '$tmp/many.pcap' -o '$tmp/manyq'" /dev/null >"$tmp/ttyq.out" 2>&1
  python3 - "$tmp/tty.out" "$tmp/ttyq.out" <<'PY' && ok || bad "progress line on a terminal"
import re, sys
d = open(sys.argv[1], 'rb').read()
draws = list(re.finditer(rb'\r\x1b\[K[^\r]*/many.pcap: +[0-9]+%  [0-9]+ packets  [0-9]+ connections', d))
assert draws, 'no progress line drawn'
for m in draws:
    assert d[m.end():].startswith(b'\r\x1b[K'), 'not erased before: %r' % d[m.end():m.end() + 40]
assert b'conn 299 part 2;' in d, 'console output missing'
q = open(sys.argv[2], 'rb').read()
assert b'connections' not in q, '-q drew %r' % q[:80]
PY
else
  echo "note: terminal progress case skipped (no script(1))"
fi

# A full disk: a clear error and exit 3, not silently short files.
if [ "$(id -u)" -eq 0 ] && mkdir -p "$tmp/small" && mount -t tmpfs -o size=64k tmpfs "$tmp/small" 2>/dev/null; then
  mnt=$tmp/small
  expect 3 'cannot write .*No space left on device' -- "$bin" -r "$tmp/many.pcap" -o "$mnt/out"
  # Reports on a full disk: an error, no cut or empty file, the old report kept.
  rm -rf "$mnt/out"
  for rep in "--har r.har" "-X r.xml" "--html r.html"; do
    set -- $rep
    echo old >"$mnt/$2"
    head -c 1M /dev/zero >"$mnt/fill" 2>/dev/null
    expect 3 "cannot write $mnt/$2.tmp: No space left on device \($mnt/$2 is left as it was\)" -- \
      "$bin" -r "$tmp/many.pcap" -e http "$1" "$mnt/$2"
    [ "$(cat "$mnt/$2")" = old ] && [ ! -e "$mnt/$2.tmp" ] && ok || bad "$rep on a full disk: $(ls "$mnt")"
    rm -f "$mnt/fill" "$mnt/$2"
  done
  # JSON Lines outputs on a full disk: exit 3, one line, and every line
  # left in the file is a whole, valid object (the cut one is taken back).
  python3 - "$tmp/http100.pcap" <<'PY'
import struct, sys
def tcp(sp, dp, seq, ack, fl, pl=b''):
    return struct.pack('!HHIIBBHHH', sp, dp, seq, ack, 0x50, fl, 65535, 0, 0) + pl
def ip(s, d, p):
    return struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(p), 0, 0, 64, 6, 0, bytes(s), bytes(d)) + p
def eth(p): return b'\x02' * 12 + b'\x08\x00' + p
C, S, fr = [10, 1, 0, 1], [10, 2, 0, 1], []
for i in range(100):   # 100 connections, one GET and its answer each
    rq = b'GET /object/%d HTTP/1.1\r\nHost: h\r\n\r\n' % i
    rs = b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'
    sp = 20000 + i
    fr += [eth(ip(C, S, tcp(sp, 8000, 100, 0, 2))), eth(ip(S, C, tcp(8000, sp, 900, 101, 18))),
           eth(ip(C, S, tcp(sp, 8000, 101, 901, 24, rq))),
           eth(ip(S, C, tcp(8000, sp, 901, 101 + len(rq), 24, rs))),
           eth(ip(C, S, tcp(sp, 8000, 101 + len(rq), 901 + len(rs), 17))),
           eth(ip(S, C, tcp(8000, sp, 901 + len(rs), 102 + len(rq), 17)))]
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for k, x in enumerate(fr):
        f.write(struct.pack('<IIII', 1000 + k // 6, k % 6, len(x), len(x)) + x)
PY
  # tmpfs counts whole pages: free two pages for the report, one for the messages.
  for rep in "--report r.jsonl $tmp/many.pcap 8192" "--messages m.jsonl $tmp/http100.pcap 4096"; do
    set -- $rep
    head -c 1M /dev/zero >"$mnt/fill" 2>/dev/null
    truncate -s "-$4" "$mnt/fill"
    expect 3 "cannot write (--messages )?$mnt/$2: No space left on device" -- \
      "$bin" -r "$3" "$1" "$mnt/$2"
    python3 - "$mnt/$2" <<'PY' && ok || bad "$1 on a full disk left a cut line"
import json, sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\n"), data[-40:]
lines = data.decode().splitlines()
assert len(lines) >= 1, "nothing kept"
for l in lines:
    json.loads(l)
PY
    rm -f "$mnt/fill" "$mnt/$2"
  done
  # netrecord logs on a full disk: exit 3, one line, every log left holds
  # whole records (--inspect finds no damage), no empty log is left.
  head -c 1M /dev/zero >"$mnt/fill" 2>/dev/null
  truncate -s -16384 "$mnt/fill"
  expect 3 "cannot write $mnt/rec_[0-9]*: No space left on device \(the log (ends at its last whole record|had nothing yet and is removed)\)" -- \
    "$bin" -r "$tmp/many.pcap" --netrecord "$mnt/rec"
  set -- "$mnt"/rec_*
  if [ -e "$1" ] && "$bin" proxy --inspect "$@" >"$tmp/inspect" 2>&1 && ! grep -q DAMAGED "$tmp/inspect" &&
    [ -z "$(find "$mnt" -name 'rec_*' -empty)" ]; then ok
  else bad "--netrecord on a full disk: $# logs: $(grep -c DAMAGED "$tmp/inspect") damaged, $(find "$mnt" -name 'rec_*' -empty | wc -l) empty"
  fi
  rm -f "$mnt/fill" "$mnt"/rec_*
  umount "$mnt"; mnt=""
else
  echo "note: full-disk case skipped (needs root to mount a small tmpfs)"
fi

# A stream whose end was cut by the snapshot length keeps its length: the
# file is extended over the trailing gap (sparse zeros).
snap=$here/../../../shared/pcaps/snaplen96_truncated.pcap
if [ -f "$snap" ]; then
  "$bin" -q -r "$snap" -o "$tmp/snap" 2>/dev/null
  [ "$(stat -c %s "$tmp/snap/192.168.002.020.12345-192.168.001.010.60706")" -eq 1000000 ] && ok ||
    bad "snaplen-cut stream: file is not 1000000 bytes"
fi

# -C -B -0 is the exact stream: a hole is zero bytes (as in the flow file), its marker on stderr.
lost=$here/../../../shared/pcaps/lost_segment_http_entity_gap.pcap
if [ -f "$lost" ]; then
  "$bin" -C -B -0 -r "$lost" 'src port 80' >"$tmp/exact.out" 2>"$tmp/err"
  "$bin" -q -r "$lost" -o "$tmp/exact" 'src port 80'
  cmp -s "$tmp/exact.out" "$tmp/exact/192.150.187.043.00080-141.142.228.005.59856" &&
    grep -q '^192.150.187.043.00080-141.142.228.005.59856: \[gap: 1448 bytes missing from the capture at offset 1448, written as zero bytes\]$' "$tmp/err" &&
    ok || bad "-C -B -0 differs from the flow file: $(cat "$tmp/err")"
  # -X carries tcpflow 1.6.1's len and MAC addresses (its report.xml for this capture).
  "$bin" -q -r "$lost" -o "$tmp/lostx" -X "$tmp/lost.xml"
  grep -q "mac_daddr='c8:bc:c8:96:d2:a0' mac_saddr='00:10:db:88:d2:ef' family='2' src_ipn='192.150.187.43' dst_ipn='141.142.228.5' srcport='80' dstport='59856' packets='6' len='3963' />" "$tmp/lost.xml" &&
    ok || bad "-X lacks tcpflow's len/MACs: $(grep srcport=.80 "$tmp/lost.xml")"
fi

# Colors: never by default when piped, always on request, NO_COLOR wins over auto.
"$bin" -r "$pcaps/redis_cli_lo.pcap" -c --color=always | grep -q $'\033\[3' && ok || bad "--color=always has no colors"
"$bin" -r "$pcaps/redis_cli_lo.pcap" -c | grep -q $'\033' && bad "colors when piped" || ok

# A RST is a yellow "[reset]" line with -c; -C -B -0 stays the exact stream.
"$bin" -r "$pcaps/refused_lo.pcap" -c --color=always | grep -q $'^\033\[33m.*: \[reset\]$' && ok ||
  bad "no yellow [reset] line for a refused connection"
"$bin" -q -r "$pcaps/reset_mid_transfer_lo.pcap" -o "$tmp/rst"
"$bin" -r "$pcaps/reset_mid_transfer_lo.pcap" -C -B -0 'src port 19002' >"$tmp/rst.out"
cmp -s "$tmp/rst.out" "$tmp/rst/127.000.000.001.19002-127.000.000.001.38718" && ok ||
  bad "-C -B -0 of a reset stream is not the stream's bytes"
# A client port reused after a clean close: no "!!" line, except with -v.
"$bin" -r "$pcaps/port_reuse_lo.pcap" -o "$tmp/reuse" 2>&1 | grep -q 'reused by a new SYN' &&
  bad "routine reuse printed without -v" || ok
"$bin" -v -r "$pcaps/port_reuse_lo.pcap" -o "$tmp/reuse_v" 2>&1 |
  grep -q '^!! .*c1: 4-tuple reused by a new SYN .*closed normally' && ok ||
  bad "-v lacks the routine reuse line"

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
