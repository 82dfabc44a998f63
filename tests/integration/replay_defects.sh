#!/usr/bin/env bash
# Replay defects found by a demanding user, each against a real python3
# server on loopback, with netrecord logs written here:
#  - `--ignore` over a match of megabytes (std::regex recursed per byte and
#    crashed with exit 139 from about 30 KB on);
#  - `--response-timeout` counts silence, not the whole answer: a server
#    that sends 100 KB every 0.4 s is waited for to the end;
#  - `--compare --json -`: stdout is JSON alone (jq parses it), the
#    per-connection lines go to stderr;
#  - a damaged log among good ones: the good ones are replayed, the damaged
#    one is named, exit 2;
#  - memory: a 256 MiB answer replayed with and without --compare (and with
#    a mask), and a 256 MiB upload, in a peak RSS far below their size.
# Usage: replay_defects.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"
expect_eq() { [ "$2" == "$3" ] || bad "$1: got [$2], want [$3]"; }

grep -q -- --response-timeout <<<"$("$bin" replay --help 2>&1)" || skip "this tcpscribe has no replay mode"
command -v python3 >/dev/null || skip "python3 is missing"

port=$(free_port)
# One request line per connection: "big N" answers a JSON object whose
# "data" is N random letters (different at every call); "drip N K" sends N
# chunks of K bytes, 0.4 s apart, then closes; "stall N" sends N bytes and
# then nothing for 30 s.
cat >"$tmp/server.py" <<'PY'
import random, socket, string, sys, threading, time
def serve(c):
    f = c.makefile("rb")
    line = f.readline().split()
    if line[0] == b"big":
        n = int(line[1])
        data = "".join(random.choice(string.ascii_letters) for _ in range(n))
        c.sendall(('{"id":1,"data":"%s"}\n' % data).encode())
    elif line[0] == b"lines":
        # Answers every further line with "short" at once (the recording
        # had longer answers), until the client hangs up.
        c.sendall(b"short\n")
        for _ in f: c.sendall(b"short\n")
    elif line[0] == b"stall":
        c.sendall(b"A" * int(line[1])); time.sleep(30)
    elif line[0] == b"bulk":
        # N MiB: block i is 1 MiB of byte (i % 251), except byte X of the
        # whole answer (when given) which is '#'.
        n, x = int(line[1]), int(line[2]) if len(line) > 2 else -1
        for i in range(n):
            block = bytearray(bytes([i % 251]) * (1 << 20))
            if x >= 0 and x >> 20 == i: block[x & 0xFFFFF] = 35
            c.sendall(block)
    elif line[0] == b"sink":
        # Reads N bytes (checking block i is byte i % 251), answers "got N ok/bad".
        n, got, good = int(line[1]), 0, True
        while got < n:
            b = f.read1(1 << 20)
            if not b: break
            for k in range(0, len(b), 4096):
                if b[k] != ((got + k) >> 20) % 251: good = False
            got += len(b)
        c.sendall(b"got %d %s\n" % (got, b"ok" if good else b"bad"))
    elif line[0] == b"drip":
        n, k = int(line[1]), int(line[2])
        for i in range(n):
            if i: time.sleep(0.4)
            c.sendall(bytes([65 + i % 26]) * k)
    c.shutdown(socket.SHUT_WR); c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 "$tmp/server.py" "$port" >"$tmp/server.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$port" || skip "the python3 server did not start"

# A netrecord log: the client sends REQUEST, the recorded server ANSWER
# (written by python from the arguments), then both hang up.
mklog() {  # mklog FILE REQUEST ANSWER_EXPR
  python3 - "$1" "$2" "$3" <<'PY'
import sys
path, req, ans = sys.argv[1], sys.argv[2].encode() + b"\n", eval(sys.argv[3])
with open(path, "wb") as f:
    f.write(b"c 0.000000 con\n")
    f.write(b"c 0.001000 %d\n" % len(req) + req)
    f.write(b"s 0.002000 %d\n" % len(ans) + ans)
    f.write(b"s 0.003000 hup\nc 0.004000 hup\n")
PY
}

# --- 1. A 2 MB match and a 300 KB one.
mklog "$tmp/big_1" "big 2000000" "b'{\"id\":1,\"data\":\"' + b'q' * 2000000 + b'\"}\n'"
mklog "$tmp/big_2" "big 300000" "b'{\"id\":1,\"data\":\"' + b'r' * 300000 + b'\"}\n'"
"$bin" replay "$tmp/big_1" "$tmp/big_2" --target "127.0.0.1:$port" --compare \
  --ignore '"data":"[^"]*"' >"$tmp/r1.out" 2>"$tmp/r1.err"
expect_eq "long matches: exit" "$?" "0"
expect_eq "long matches: output" "$(cat "$tmp/r1.out")" "$tmp/big_1: same
$tmp/big_2: same"
# Without the mask the random data differs.
"$bin" replay "$tmp/big_2" --target "127.0.0.1:$port" --compare >"$tmp/r1b.out" 2>&1
expect_eq "no mask: exit" "$?" "5"

# --- 1b. Memory: a 256 MiB download, its log written in 64 KiB records.
# Replayed with --compare, with and without a mask, and without --compare,
# replay's peak RSS stays far below the answer's size (a 1 GB answer took
# 21.9 GB with --compare, 2.3 GB without, when logs and answers were held
# whole); a byte changed near the end is found at its offset.
python3 - "$tmp/bulk_1" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"c 0.000000 con\nc 0.001000 9\nbulk 256\n")
    for i in range(256):
        block = bytes([i % 251]) * (1 << 20)
        for k in range(0, 1 << 20, 65536):
            f.write(b"s 0.002000 65536\n" + block[k:k + 65536])
    f.write(b"s 0.003000 hup\nc 0.004000 hup\n")
PY
peak() {  # peak OUT_FILE ERR_FILE CMD...: runs CMD, prints its exit code and peak RSS in MB
  local out=$1 err=$2; shift 2
  python3 - "$out" "$err" "$@" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1], "wb") as o, open(sys.argv[2], "wb") as e:
    rc = subprocess.call(sys.argv[3:], stdout=o, stderr=e)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
PY
}
read -r rc mb < <(peak "$tmp/m1.out" "$tmp/m1.err" "$bin" replay "$tmp/bulk_1" --target "127.0.0.1:$port" --compare)
expect_eq "bulk compare: exit" "$rc" "0"
expect_eq "bulk compare: output" "$(cat "$tmp/m1.out")" "$tmp/bulk_1: same"
[ "$mb" -lt 64 ] || bad "bulk compare: peak RSS $mb MB for a 256 MiB answer"
echo "replay_defects: bulk --compare: peak RSS $mb MB"
read -r rc mb < <(peak "$tmp/m2.out" "$tmp/m2.err" "$bin" replay "$tmp/bulk_1" --target "127.0.0.1:$port")
expect_eq "bulk: exit" "$rc" "0"
[ "$mb" -lt 64 ] || bad "bulk without --compare: peak RSS $mb MB"
echo "replay_defects: bulk without --compare: peak RSS $mb MB"
# A mask (matching nowhere here) makes both sides go through it in
# windows of 16 MiB: a few windows at most.
read -r rc mb < <(peak "$tmp/m3.out" "$tmp/m3.err" "$bin" replay "$tmp/bulk_1" --target "127.0.0.1:$port" \
  --compare --ignore 'Date: [^\r]*')
expect_eq "bulk masked: exit" "$rc" "0"
[ "$mb" -lt 300 ] || bad "bulk masked: peak RSS $mb MB"
echo "replay_defects: bulk --compare --ignore: peak RSS $mb MB"
# One byte differs at 200,000,123: found there, in the same bounded memory.
python3 - "$tmp/bulk_1" <<'PY'
import sys
p = sys.argv[1]
d = open(p, "rb").read().replace(b"c 0.001000 9\nbulk 256\n", b"c 0.001000 19\nbulk 256 200000123\n", 1)
open(p, "wb").write(d)
PY
read -r rc mb < <(peak "$tmp/m4.out" "$tmp/m4.err" "$bin" replay "$tmp/bulk_1" --target "127.0.0.1:$port" --compare)
expect_eq "bulk differs: exit" "$rc" "5"
grep -q "^$tmp/bulk_1: differs at byte 200000123 of the recorded answer (268435456 bytes), byte 200000123 of the target's" "$tmp/m4.out" \
  || bad "bulk differs: $(cat "$tmp/m4.out" "$tmp/m4.err")"
[ "$mb" -lt 64 ] || bad "bulk differs: peak RSS $mb MB"
rm -f "$tmp/bulk_1"
# A 256 MiB upload: the client's chunks are read from the log as they are
# sent (the whole log was loaded before).
python3 - "$tmp/up_1" <<'PY'
import sys
n = 256 << 20
with open(sys.argv[1], "wb") as f:
    req = b"sink %d\n" % n
    f.write(b"c 0.000000 con\nc 0.001000 %d\n" % len(req) + req)
    for i in range(256):
        block = bytes([i % 251]) * (1 << 20)
        for k in range(0, 1 << 20, 65536):
            f.write(b"c 0.002000 65536\n" + block[k:k + 65536])
    ans = b"got %d ok\n" % n
    f.write(b"s 0.003000 %d\n" % len(ans) + ans + b"s 0.004000 hup\nc 0.005000 hup\n")
PY
read -r rc mb < <(peak "$tmp/m5.out" "$tmp/m5.err" "$bin" replay "$tmp/up_1" --target "127.0.0.1:$port" --compare)
expect_eq "upload: exit" "$rc" "0"
expect_eq "upload: output" "$(cat "$tmp/m5.out")" "$tmp/up_1: same"
[ "$mb" -lt 64 ] || bad "upload: peak RSS $mb MB for a 256 MiB upload"
echo "replay_defects: upload --compare: peak RSS $mb MB"
rm -f "$tmp/up_1"

# --- 2. An answer that keeps coming for 2.4 s with a 1 s timeout.
mklog "$tmp/drip_1" "drip 7 100000" "b''.join(bytes([65 + i % 26]) * 100000 for i in range(7))"
"$bin" replay "$tmp/drip_1" --target "127.0.0.1:$port" --compare --response-timeout 1 \
  >"$tmp/r2.out" 2>"$tmp/r2.err"
expect_eq "drip: exit" "$?" "0"
expect_eq "drip: output" "$(cat "$tmp/r2.out")" "$tmp/drip_1: same"
grep -q 'received 700[0-9][0-9][0-9] in' "$tmp/r2.err" || bad "drip: not all received: $(cat "$tmp/r2.err")"
grep -q 'waited' "$tmp/r2.err" && bad "drip: a timeout was reported: $(cat "$tmp/r2.err")"
# Silence still ends the wait: 1,000 of the 3,000 recorded bytes, then
# nothing; the replay gives up 1 s later and says so.
mklog "$tmp/stall_1" "stall 1000" "b'A' * 3000"
t0=$(date +%s.%N)
"$bin" replay "$tmp/stall_1" --target "127.0.0.1:$port" --compare --response-timeout 1 \
  >"$tmp/r2b.out" 2>"$tmp/r2b.err"
expect_eq "stall: exit" "$?" "5"
took=$(python3 -c "import sys; print(int(float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
[ "$took" -lt 10 ] || bad "stall: the replay took ${took}s"
grep -q 'waited 1s for the target.s answer (3000 bytes expected in total, 1000 came)' "$tmp/r2b.err" \
  || bad "stall: no timeout line: $(cat "$tmp/r2b.err")"

# --- 2b. Conversational pacing with shorter answers than recorded: 6
# requests whose recorded answers were 40 bytes get 6-byte ones. Each wait
# ends 0.2 s (--settle) after the short answer instead of after the 2 s
# --response-timeout (12 s before).
python3 - "$tmp/short_1" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"c 0.000000 con\n")
    for i in range(6):
        req = b"lines\n" if i == 0 else b"again %d\n" % i
        f.write(b"c %d.000000 %d\n" % (i, len(req)) + req)
        ans = b"a much longer recorded answer, 40 bytes\n"
        f.write(b"s %d.500000 %d\n" % (i, len(ans)) + ans)
    f.write(b"c 7.000000 hup\n")
PY
t0=$(date +%s.%N)
"$bin" replay "$tmp/short_1" --target "127.0.0.1:$port" --json "$tmp/short.json" >"$tmp/r2c.out" 2>"$tmp/r2c.err"
took=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$(date +%s.%N)")
python3 -c 'import sys; assert float(sys.argv[1]) < 4.5, sys.argv[1]' "$took" || bad "short answers: the replay took ${took}s"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["connections"][0]; assert c["settled"] == 6 and c["received_bytes"] >= 36, c' \
  "$tmp/short.json" || bad "short answers: $(head -c 400 "$tmp/short.json")"

# --- 2c. A progress line on a terminal (a pty from script(1)), none when
# stderr is a file (the replays above: their stderr holds no progress).
if command -v script >/dev/null; then
  cmd=$(printf '%q ' "$bin" replay "$tmp/drip_1" --target "127.0.0.1:$port")
  script -qfec "$cmd" /dev/null >"$tmp/tty.out" 2>&1
  grep -q $'\033\[Kreplay: 0/1 connections done, 0.0 MB sent, 0.[0-9] MB received' "$tmp/tty.out" ||
    bad "no progress line on a terminal: $(head -c 300 "$tmp/tty.out" | od -c | head -5)"
  grep -q 'connections done' "$tmp/r2.err" && bad "a progress line went to a file"
fi

# --- 3. --json - : stdout is JSON alone.
mklog "$tmp/small_1" "big 10" "b'{\"id\":1,\"data\":\"0123456789\"}\n'"
"$bin" replay "$tmp/small_1" --target "127.0.0.1:$port" --compare --json - \
  >"$tmp/r3.out" 2>"$tmp/r3.err"
expect_eq "json: exit (random data differs)" "$?" "5"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["connections"][0]["compare"]=="differs", d' \
  "$tmp/r3.out" || bad "json: stdout is not the JSON alone: $(head -c 300 "$tmp/r3.out")"
grep -q "^$tmp/small_1: differs at byte" "$tmp/r3.err" || bad "json: the differs line is not on stderr: $(cat "$tmp/r3.err")"

# --- 4. A damaged log between good ones.
printf 'this is not a netrecord log\n' >"$tmp/bad_1"
"$bin" replay "$tmp/big_2" "$tmp/bad_1" "$tmp/small_1" --target "127.0.0.1:$port" --compare \
  --ignore '"data":"[^"]*"' >"$tmp/r4.out" 2>"$tmp/r4.err"
expect_eq "damaged: exit" "$?" "2"
expect_eq "damaged: the good ones replayed" "$(cat "$tmp/r4.out")" "$tmp/big_2: same
$tmp/small_1: same"
grep -q "^tcpscribe replay: .*bad_1.*not replayed (the other logs are)" "$tmp/r4.err" || bad "damaged: no line for bad_1: $(cat "$tmp/r4.err")"
grep -q "^tcpscribe replay: 1 of 3 logs damaged and not replayed: $tmp/bad_1\$" "$tmp/r4.err" || bad "damaged: no closing line: $(cat "$tmp/r4.err")"
grep -q "2 connections to 127.0.0.1:$port: 2 completed" "$tmp/r4.err" || bad "damaged: summary: $(cat "$tmp/r4.err")"
# Only damaged logs: exit 2, nothing sent.
"$bin" replay "$tmp/bad_1" --target "127.0.0.1:$port" >/dev/null 2>"$tmp/r5.err"
expect_eq "only damaged: exit" "$?" "2"

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
