#!/usr/bin/env bash
# tcpscribe replay's pacing, measured twice: by replay itself (--json: the
# schedule and the achieved time of every timed send) and by the receiving
# server (arrival time of every chunk, and of every connection).
# Two logs with known gaps: log_1 sends a b c d at 100/250/400/700 ms after
# its start, then half-closes at 800 ms; log_2 starts 200 ms after log_1
# and sends x 100 ms later. Checked: --timing original at --speed 1 and 2
# (gaps and connection start offsets within 20 ms, the JSON schedule exact
# to the microsecond, every send within 20 ms of it) and --timing none.
# Usage: replay_timing.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
expect_eq() { [ "$2" == "$3" ] || bad "$1: got [$2], want [$3]"; }

grep -q -- --response-timeout <<<"$("$bin" replay --help 2>&1)" || skip "this tcpscribe has no replay mode"
command -v python3 >/dev/null || skip "python3 is missing"

printf 'c 10.000000 con\nc 10.100000 1\nac 10.250000 1\nbc 10.400000 1\ncc 10.700000 1\ndc 10.800000 hup\n' >"$tmp/log_1"
printf 'c 10.200000 con\nc 10.300000 1\nxc 10.400000 hup\n' >"$tmp/log_2"

# The receiver: one line per accept ("A t") and per chunk read ("D t bytes"),
# t in ms on the monotonic clock; a new file per run.
cat >"$tmp/sink.py" <<'PY'
import socket, sys, threading, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(64)
print(srv.getsockname()[1], flush=True)
lock = threading.Lock()
def out(line):
    with lock, open(sys.argv[1], "a") as f:
        f.write(line + "\n")
def serve(c):
    while True:
        d = c.recv(4096)
        t = time.monotonic() * 1000
        if not d:
            break
        out("D %.3f %s" % (t, d.decode()))
    c.close()
while True:
    c, _ = srv.accept()
    out("A %.3f" % (time.monotonic() * 1000))
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
# The receiver measures arrival times: on a loaded machine (CI runs two
# tests at once on 2 cores) a normal-priority python thread is woken tens of
# ms late, which is the receiver's error, not replay's. As root it runs
# real-time too (chrt -f), as replay does with --realtime.
sink_prio=()
[ "$(id -u)" -eq 0 ] && command -v chrt >/dev/null && sink_prio=(chrt -f 40)
"${sink_prio[@]}" python3 "$tmp/sink.py" "$tmp/events" >"$tmp/port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
[ -n "$port" ] || skip "the sink server did not start"

# On a busy machine the normal scheduler can keep a woken process off the
# CPU for milliseconds; as root, replay runs real-time (--realtime).
rt=
[ "$(id -u)" -eq 0 ] && rt=--realtime

check() {  # check NAME SPEED: replay with --timing original at SPEED, check both measurements
  local name=$1 speed=$2
  rm -f "$tmp/events"
  "$bin" replay "$tmp/log_1" "$tmp/log_2" --target "127.0.0.1:$port" --speed "$speed" $rt \
    --json "$tmp/$name.json" --timing-report >"$tmp/$name.out" 2>"$tmp/$name.err"
  expect_eq "$name: exit" "$?" "0"
  sleep 0.2
  python3 - "$tmp/$name.json" "$tmp/events" "$speed" >"$tmp/$name.check" 2>&1 <<'PY' || bad "$name: $(cat "$tmp/$name.check")"
import json, sys
rep = json.load(open(sys.argv[1])); speed = float(sys.argv[3]); bound = 20.0  # ms
# 1. The schedule replay computed: exact, in microseconds from each connection's start.
sends = rep["sends"]
c0 = [s for s in sends if s["connection"] == 0]; c1 = [s for s in sends if s["connection"] == 1]
assert len(c0) == 5 and len(c1) == 2, (len(c0), len(c1))
gaps = [round(c0[i + 1]["scheduled_us"] - c0[i]["scheduled_us"]) for i in range(4)]
want = [round(g * 1000 / speed) for g in (150, 150, 300, 100)]
assert gaps == want, ("schedule gaps", gaps, want)
assert round(c1[1]["scheduled_us"] - c1[0]["scheduled_us"]) == round(100000 / speed)
for s in sends:
    err = abs(s["actual_us"] - s["scheduled_us"]) / 1000
    assert err < bound, ("send error ms", s, err)
assert rep["send_error_us"]["samples"] == 7, rep["send_error_us"]
# 2. What the server saw.
accepts, data = [], []
for line in open(sys.argv[2]):
    f = line.split()
    (accepts if f[0] == "A" else data).append((float(f[1]), f[2] if len(f) > 2 else ""))
assert len(accepts) == 2, accepts
d = {b: t for t, b in data}
assert sorted(d) == ["a", "b", "c", "d", "x"], data
def near(what, got, want):
    assert abs(got - want) < bound, (what, round(got, 3), want)
    print("%s: %.3f ms (schedule %.1f)" % (what, got, want))
near("b after a", d["b"] - d["a"], 150 / speed)
near("c after a", d["c"] - d["a"], 300 / speed)
near("d after a", d["d"] - d["a"], 600 / speed)
near("a after 1st accept", d["a"] - accepts[0][0], 100 / speed)
near("2nd accept after 1st", accepts[1][0] - accepts[0][0], 200 / speed)
near("x after 2nd accept", d["x"] - accepts[1][0], 100 / speed)
PY
  echo "$name: $(tr '\n' ';' <"$tmp/$name.check")"
  grep -h "timing:" "$tmp/$name.err"
}
check original 1
check speed2 2

# --timing none: everything at once. Paced, the chunks would spread over
# 700 ms (a to d 600 ms, log_2 200 ms later); the bound leaves room for the
# python receiver's own scheduling delays on a loaded 2-core CI machine (42
# ms seen) while telling "at once" from "paced".
rm -f "$tmp/events"
"$bin" replay "$tmp/log_1" "$tmp/log_2" --target "127.0.0.1:$port" --timing none >/dev/null 2>"$tmp/none.err"
expect_eq "none: exit" "$?" "0"
sleep 0.2
python3 - "$tmp/events" <<'PY' || bad "none: not sent at once: $(cat "$tmp/events")"
import sys
ts = [float(l.split()[1]) for l in open(sys.argv[1])]
assert len(ts) >= 4 and max(ts) - min(ts) < 300, ts
PY
# --speed with another --timing is a usage error.
"$bin" replay "$tmp/log_1" --target "127.0.0.1:$port" --timing none --speed 2 >/dev/null 2>"$tmp/usage.err"
expect_eq "usage: exit" "$?" "1"
expect_eq "usage: message" "$(cat "$tmp/usage.err")" "tcpscribe replay: --speed only applies to --timing original"

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
