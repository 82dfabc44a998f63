#!/usr/bin/env bash
# Integration test: HTTP downloads over a lossy link, then reassembly by
# tcpscribe of the capture as it is and of a copy with packets reordered.
#
#   tests/integration/http_loss_reorder.sh /path/to/tcpscribe
#
# Exit 0 = pass, 1 = fail (reason printed), 77 = skip (reason printed).
#
# Two network namespaces joined by a veth pair (addresses 10.213.0.0/24 exist
# only inside them; no traffic leaves them). The server namespace runs
# `python3 -m http.server` (HTTP/1.1, so keep-alive works) over a few random
# files; the client namespace downloads them with curl, sequentially, in
# parallel and several per connection. nftables drops LOSS_PCT % of TCP
# packets at the *input* hook of both namespaces. tcpdump captures on the
# client's veth, which sees every packet before the client's input hook drops
# it and every client packet before the server drops it, so the capture holds
# every byte at least once, plus the kernel's real retransmissions (the test
# checks both). tcpscribe then reassembles the capture and a copy shuffled by
# tests/tools/reorder_pcap.py; every server->client stream must parse as HTTP
# responses whose bodies are exactly the served files, answering the GET lines
# of the matching client->server stream, and every download must be found.
#
# Environment knobs: TSC_LOSS_PCT (default 3), TSC_REORDER_SEED (default 1234),
# TSC_KEEP_TMP=1 keeps the temp dir (capture, outputs) for debugging.

set -u -o pipefail

TCPSCRIBE=${1:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REORDER=$HERE/../tools/reorder_pcap.py
LOSS_PCT=${TSC_LOSS_PCT:-3}
SEED=${TSC_REORDER_SEED:-1234}

CLI=tsc-cli-$$
SRV=tsc-srv-$$
VCLI=tscc$$          # veth names must fit in 15 characters
VSRV=tscs$$
CLI_IP=10.213.0.1
SRV_IP=10.213.0.2
PORT=8000
URL=http://$SRV_IP:$PORT

T=
SERVER_PID=
TCPDUMP_PID=
CURL_PIDS=()
NS_MADE=()

log()  { echo "http_loss_reorder: $*"; }
skip() { echo "SKIP: http_loss_reorder: $*"; exit 77; }
fail() { echo "FAIL: http_loss_reorder: $*"; exit 1; }

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$? p ns
    trap - EXIT INT TERM
    for p in "${CURL_PIDS[@]}" $SERVER_PID $TCPDUMP_PID; do
        kill "$p" 2>/dev/null
    done
    for ns in "${NS_MADE[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$p" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
    done
    wait 2>/dev/null
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "${TSC_KEEP_TMP:-0}" = 1 ]; then
            log "kept temp dir $T"
        else
            rm -rf "$T"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------- preflight
[ -n "$TCPSCRIBE" ] || fail "usage: $0 /path/to/tcpscribe"
[ -x "$TCPSCRIBE" ] || fail "tcpscribe binary '$TCPSCRIBE' is missing or not executable"
TCPSCRIBE=$(cd "$(dirname "$TCPSCRIBE")" && pwd)/$(basename "$TCPSCRIBE")
[ -f "$REORDER" ] || fail "missing $REORDER"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables, tcpdump)"

# shellcheck source=lib/require_tools.sh
. "$(dirname "$0")/lib/require_tools.sh"
require_tools curl python3 tcpdump nft=nftables ip=iproute2
python3 -m http.server --help 2>/dev/null | grep -q -- --protocol \
    || skip "python3 http.server has no --protocol option (need Python >= 3.11)"

T=$(mktemp -d /tmp/tsc-http-loss.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"

# ---------------------------------------------------------------- namespaces
ip netns add "$SRV" 2>"$T/err" || skip "cannot create network namespaces ('ip netns add': $(cat "$T/err"))"
NS_MADE+=("$SRV")
ip netns add "$CLI" 2>"$T/err" || skip "cannot create network namespaces ('ip netns add': $(cat "$T/err"))"
NS_MADE+=("$CLI")
ip link add "$VCLI" netns "$CLI" type veth peer name "$VSRV" netns "$SRV" 2>"$T/err" \
    || skip "cannot create a veth pair: $(cat "$T/err")"
ip -n "$CLI" addr add "$CLI_IP/24" dev "$VCLI" || fail "ip addr add (client)"
ip -n "$SRV" addr add "$SRV_IP/24" dev "$VSRV" || fail "ip addr add (server)"
for ns in "$CLI" "$SRV"; do
    ip -n "$ns" link set lo up || fail "lo up in $ns"
done
ip -n "$CLI" link set "$VCLI" up || fail "link up (client)"
ip -n "$SRV" link set "$VSRV" up || fail "link up (server)"
# Keep the server's TSO/GSO packets to at most 2 segments (<= 2896 bytes of
# data): the bulk of the capture is then MTU-sized and there are many more
# packets to lose and reorder, while some still exceed the MTU as on a real
# host with offloads. Checksums stay offloaded (wrong in the capture), as on
# any capture taken on a sending host.
ip -n "$SRV" link set "$VSRV" gso_max_segs 2 2>/dev/null \
    || log "note: cannot set gso_max_segs, packets may be up to 64 KB"

# ---------------------------------------------------------------- server
mkdir -p "$T/www" "$T/dl"
head -c $((200 * 1024))  /dev/urandom >"$T/www/f200k.bin"
head -c $((1024 * 1024)) /dev/urandom >"$T/www/f1m.bin"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$T/www/f3m.bin"
for i in $(seq 1 60); do
    echo "line $i of a small text file served by the tcpscribe loss/reorder test"
done >"$T/www/small.txt"

( cd "$T/www" && exec ip netns exec "$SRV" python3 -m http.server "$PORT" \
      --bind "$SRV_IP" --protocol HTTP/1.1 ) >"$T/server.log" 2>&1 &
SERVER_PID=$!

CURL=(ip netns exec "$CLI" env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY
      -u all_proxy -u ALL_PROXY curl -sS --fail --noproxy '*' --connect-timeout 10
      --max-time 25)
up=0
for i in $(seq 1 50); do
    if "${CURL[@]}" -o /dev/null "$URL/small.txt" 2>/dev/null; then up=1; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
[ "$up" = 1 ] || fail "http.server did not come up: $(tail -5 "$T/server.log")"

# ---------------------------------------------------------------- loss
for ns in "$CLI" "$SRV"; do
    ip netns exec "$ns" nft -f - <<EOF 2>"$T/err" || skip "nftables does not work in a namespace: $(cat "$T/err")"
table inet tsc {
    chain input {
        type filter hook input priority 0; policy accept;
        meta l4proto tcp numgen random mod 100 < $LOSS_PCT counter drop
    }
}
EOF
done

# ---------------------------------------------------------------- capture
ip netns exec "$CLI" tcpdump -i "$VCLI" -s 0 -U -B 65536 -Z root -w "$T/cap.pcap" \
    2>"$T/tcpdump.err" &
TCPDUMP_PID=$!
for i in $(seq 1 100); do
    grep -q "listening on" "$T/tcpdump.err" 2>/dev/null && break
    kill -0 "$TCPDUMP_PID" 2>/dev/null || fail "tcpdump died: $(cat "$T/tcpdump.err")"
    sleep 0.05
done
grep -q "listening on" "$T/tcpdump.err" || fail "tcpdump did not start: $(cat "$T/tcpdump.err")"

# ---------------------------------------------------------------- traffic
# mkargs FILE... sets ARGS to one curl invocation fetching FILE... (several
# URLs in one invocation share a keep-alive connection) and records them in
# $T/expected, one download per line.
n=0
ARGS=()
mkargs() {
    ARGS=()
    local f
    for f in "$@"; do
        n=$((n + 1))
        ARGS+=(-o "$T/dl/$n-$f" "$URL/$f")
        echo "$f" >>"$T/expected"
    done
}
: >"$T/expected"
t0=$(date +%s.%N)
# Sequential, one connection each.
for f in small.txt f200k.bin f1m.bin f3m.bin; do
    mkargs "$f"; "${CURL[@]}" "${ARGS[@]}" || fail "curl $f failed"
done
# Keep-alive: several requests on one connection.
mkargs small.txt f200k.bin f1m.bin f3m.bin
"${CURL[@]}" "${ARGS[@]}" || fail "curl keep-alive #1 failed"
mkargs f3m.bin f200k.bin small.txt f1m.bin small.txt
"${CURL[@]}" "${ARGS[@]}" || fail "curl keep-alive #2 failed"
# Parallel.
for set in f3m.bin f1m.bin f200k.bin small.txt "f1m.bin f200k.bin"; do
    # shellcheck disable=SC2086
    mkargs $set
    "${CURL[@]}" "${ARGS[@]}" &
    CURL_PIDS+=($!)
done
for p in "${CURL_PIDS[@]}"; do
    wait "$p" || fail "a parallel curl failed"
done
CURL_PIDS=()
t1=$(date +%s.%N)
# Let the closing handshakes finish, retransmitted FINs included: at 3%
# loss a FIN lost twice waits 200 + 400 ms of retransmission timeouts, more
# on a busy machine, and a fixed 1 s once stopped tcpdump before one came.
# Wait until no connection is left but TIME-WAIT (at most 10 s), then more
# than a second: tcpdump (no --immediate-mode) gets packets in blocks that
# the kernel hands over after at most 1 s, and what is still in an open
# block when it is stopped is lost.
for _ in $(seq 1 200); do
    left=
    for ns in "$CLI" "$SRV"; do
        left+=$(ip netns exec "$ns" ss -Htn state connected exclude time-wait 2>/dev/null)
    done
    [ -z "$left" ] && break
    sleep 0.05
done
sleep 1.2

kill -INT "$TCPDUMP_PID"
for i in $(seq 1 100); do
    kill -0 "$TCPDUMP_PID" 2>/dev/null || break
    sleep 0.05
done
wait "$TCPDUMP_PID" 2>/dev/null
TCPDUMP_PID=
log "transfers took $(python3 -c "print(f'{$t1 - $t0:.1f}')") s; tcpdump: $(grep -E 'captured|dropped' "$T/tcpdump.err" | tr '\n' ' ')"
kdrop=$(sed -n 's/^\([0-9][0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$T/tcpdump.err")
[ -n "$kdrop" ] || fail "cannot read tcpdump's statistics: $(cat "$T/tcpdump.err")"
[ "$kdrop" = 0 ] || skip "tcpdump lost $kdrop packets (capture buffer overrun); the capture is incomplete, cannot judge"

drops=()
for ns in "$CLI" "$SRV"; do
    drops+=("$(ip netns exec "$ns" nft list chain inet tsc input | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')")
done
log "nftables dropped ${drops[0]} packets at the client, ${drops[1]} at the server (${LOSS_PCT}% loss)"

# Sanity: curl got the right bodies.
ndl=0
for d in "$T"/dl/*; do
    name=${d##*/}; name=${name#*-}
    cmp -s "$d" "$T/www/$name" || fail "curl download ${d##*/} differs from $name"
    ndl=$((ndl + 1))
done
[ "$ndl" = "$(wc -l <"$T/expected")" ] || fail "expected $(wc -l <"$T/expected") downloads, found $ndl"

# ---------------------------------------------------------------- capture check
# Every byte of every stream must be in the capture, and there must be real
# retransmissions. Writes the number of connections to $T/nconn.
python3 - "$T/cap.pcap" "$SRV_IP" "$PORT" >"$T/capcheck.out" <<'PY'
import struct, sys, socket
path, srv_ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
magic = data[:4]
endian = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<",
          b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
if endian is None:
    print("FAIL capture is not a classic pcap"); sys.exit(1)
linktype = struct.unpack_from(endian + "I", data, 20)[0]
off, npkt = 24, 0
flows = {}   # (src, sport, dst, dport) -> dict
while off + 16 <= len(data):
    incl = struct.unpack_from(endian + "I", data, off + 8)[0]
    pkt = data[off + 16: off + 16 + incl]
    off += 16 + incl
    npkt += 1
    if linktype == 1:
        if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
            continue
        ip = pkt[14:]
    elif linktype in (101, 12):
        ip = pkt
    else:
        print(f"FAIL unexpected link type {linktype}"); sys.exit(1)
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
        continue
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack_from(">H", ip, 2)[0]
    tcp = ip[ihl:tot]
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    sport, dport, seq = struct.unpack_from(">HHI", tcp, 0)
    doff = (tcp[12] >> 4) * 4
    flags = tcp[13]
    plen = len(tcp) - doff
    f = flows.setdefault((src, sport, dst, dport),
                         {"isn": None, "segs": [], "fin": None, "pkts": 0})
    f["pkts"] += 1
    if flags & 0x02:
        f["isn"] = seq
    f["segs"].append((seq, plen, flags))
retrans = dupbytes = gaps = 0
conns = set()
for key, f in flows.items():
    if f["isn"] is None:
        if any(plen for _, plen, _ in f["segs"]):
            print(f"FAIL flow {key} carries data but has no SYN in the capture")
            gaps += 1
        else:   # e.g. the tail of the readiness probe's teardown
            print(f"INFO ignoring {f['pkts']} dataless packets of {key} (no SYN)")
        continue
    if key[0] == srv_ip and key[1] == port:
        conns.add(key[3])
    isn = f["isn"]
    maxend = 0
    iv = []
    fin = None
    for seq, plen, flags in f["segs"]:
        rel = (seq - isn - 1) % 2**32
        if flags & 0x02:
            continue
        if flags & 0x01:
            fin = rel + plen
        if plen == 0:
            continue
        if rel < maxend:
            retrans += 1
            dupbytes += min(maxend, rel + plen) - rel
        maxend = max(maxend, rel + plen)
        iv.append((rel, rel + plen))
    iv.sort()
    covered = 0
    for a, b in iv:
        if a > covered:
            print(f"FAIL flow {key}: bytes {covered}..{a} never crossed the capture point")
            gaps += 1
            break
        covered = max(covered, b)
    if fin is None:
        print(f"FAIL flow {key}: no FIN in the capture")
        gaps += 1
    elif covered != fin:
        print(f"FAIL flow {key}: data ends at {covered}, FIN at {fin}")
        gaps += 1
print(f"INFO {npkt} packets, {len(conns)} connections, {retrans} retransmitted "
      f"data segments ({dupbytes} duplicate bytes)")
print(f"NCONN {len(conns)}")
print(f"RETRANS {retrans}")
sys.exit(1 if gaps else 0)
PY
capok=$?
sed -n 's/^INFO /http_loss_reorder: capture: /p; /^FAIL /p' "$T/capcheck.out"
[ "$capok" = 0 ] || fail "the capture itself is incomplete (test setup problem, not tcpscribe)"
NCONN=$(sed -n 's/^NCONN //p' "$T/capcheck.out")
RETRANS=$(sed -n 's/^RETRANS //p' "$T/capcheck.out")
[ "${RETRANS:-0}" -gt 0 ] || fail "the capture has no retransmissions: the nftables loss did not work"

# ---------------------------------------------------------------- reorder
python3 "$REORDER" "$T/cap.pcap" "$T/reordered.pcap" --seed "$SEED" --min-window 4 --max-window 8 \
    | sed 's/^/http_loss_reorder: /' || fail "reorder_pcap.py failed"

# ---------------------------------------------------------------- tcpscribe
# check_out DIR LABEL: the per-direction files of DIR must hold the exact
# streams: HTTP responses whose bodies are the served files, answering the
# GET lines of the client->server file, all downloads accounted for.
check_out() {
    python3 - "$1" "$2" "$T/www" "$T/expected" "$SRV_IP" "$PORT" "$NCONN" <<'PY'
import collections, os, re, sys
out, label, www, expected_path, srv_ip, port, nconn = sys.argv[1:8]
port, nconn = int(port), int(nconn)
problems = []
def bad(msg):
    problems.append(msg)

served = {name: open(os.path.join(www, name), "rb").read() for name in os.listdir(www)}
by_content = {v: k for k, v in served.items()}
expected = collections.Counter(l.strip() for l in open(expected_path) if l.strip())

def pad(ip):
    return ".".join("%03d" % int(x) for x in ip.split("."))
srv_pad = pad(srv_ip)
name_re = re.compile(r"^(\d{3}\.\d{3}\.\d{3}\.\d{3})\.(\d{5})-(\d{3}\.\d{3}\.\d{3}\.\d{3})\.(\d{5})(c\d+)?$")
s2c, c2s, other = {}, {}, []
for fn in sorted(os.listdir(out)):
    m = name_re.match(fn)
    if not m:
        other.append(fn); continue
    a, ap, b, bp, suffix = m.group(1), int(m.group(2)), m.group(3), int(m.group(4)), m.group(5) or ""
    if a == srv_pad and ap == port:
        s2c[(b, bp, suffix)] = fn
    elif b == srv_pad and bp == port:
        c2s[(a, ap, suffix)] = fn
    else:
        bad(f"{fn}: a flow that does not involve the server")
if other:
    print(f"  [{label}] ignoring other files: {', '.join(other)}")

def parse_requests(buf, fn):
    paths, pos = [], 0
    while pos < len(buf):
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            bad(f"{fn}: incomplete request head at byte {pos}: {buf[pos:pos+60]!r}")
            break
        line = buf[pos:buf.find(b"\r\n", pos)].decode("latin-1")
        m = re.match(r"^GET (\S+) HTTP/1\.[01]$", line)
        if not m:
            bad(f"{fn}: byte {pos}: expected a GET request line, got {line[:80]!r}")
            break
        paths.append(m.group(1).lstrip("/"))
        pos = end + 4
    return paths

def parse_responses(buf, fn):
    bodies, pos, idx = [], 0, 0
    while pos < len(buf):
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            bad(f"{fn}: incomplete response head at byte {pos}: {buf[pos:pos+60]!r}")
            break
        head = buf[pos:end].decode("latin-1").split("\r\n")
        if not re.match(r"^HTTP/1\.[01] 200 ", head[0]):
            bad(f"{fn}: byte {pos}: expected 'HTTP/1.x 200' status line, got {head[0][:80]!r}")
            break
        clen = None
        for h in head[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                clen = int(v.strip())
        if clen is None:
            bad(f"{fn}: response {idx} at byte {pos} has no Content-Length")
            break
        body = buf[end + 4:end + 4 + clen]
        if len(body) < clen:
            bad(f"{fn}: response {idx} at byte {pos}: body truncated, {len(body)} of {clen} bytes")
            bodies.append(body)
            break
        bodies.append(body)
        pos = end + 4 + clen
        idx += 1
    return bodies

def first_diff(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return min(len(a), len(b))

got = collections.Counter()
conns = set(s2c) | set(c2s)
for key in sorted(conns):
    if key not in s2c or key not in c2s:
        bad(f"connection {key[0]}:{key[1]}{key[2]} has only one direction written")
        continue
    fs, fc = s2c[key], c2s[key]
    paths = parse_requests(open(os.path.join(out, fc), "rb").read(), fc)
    bodies = parse_responses(open(os.path.join(out, fs), "rb").read(), fs)
    if len(paths) != len(bodies):
        bad(f"{fc} has {len(paths)} GET requests but {fs} has {len(bodies)} responses")
    for i, body in enumerate(bodies):
        name = by_content.get(body)
        want = paths[i] if i < len(paths) else None
        if name is None:
            ref = served.get(want) if want in served else None
            if ref is None:
                ref = min(served.values(), key=lambda v: abs(len(v) - len(body)))
            bad(f"{fs}: response {i} body ({len(body)} bytes) matches no served file; "
                f"vs {by_content[ref]} ({len(ref)} bytes) first difference at byte {first_diff(body, ref)}")
            continue
        if want is not None and want != name:
            bad(f"{fs}: response {i} is {name} but request {i} in {fc} asked for {want}")
        got[name] += 1
if len(conns) != nconn:
    bad(f"{len(conns)} connections written, the capture has {nconn}")
for name in sorted(set(expected) | set(got)):
    if got[name] != expected[name]:
        bad(f"{name}: downloaded {expected[name]} times, {got[name]} intact bodies found")
for p in problems[:30]:
    print(f"  [{label}] {p}")
if len(problems) > 30:
    print(f"  [{label}] ... and {len(problems) - 30} more problems")
total = sum(got.values())
print(f"  [{label}] {len(conns)} connections, {total}/{sum(expected.values())} bodies intact: "
      + ", ".join(f"{k} x{v}" for k, v in sorted(got.items())))
sys.exit(1 if problems else 0)
PY
}

result=0
for run in "cap.pcap:OUT1:original" "reordered.pcap:OUT2:reordered"; do
    IFS=: read -r pcap outdir label <<<"$run"
    mkdir -p "$T/$outdir"
    timeout 60 "$TCPSCRIBE" -r "$T/$pcap" -o "$T/$outdir" >"$T/$outdir.log" 2>&1
    rc=$?
    if [ "$rc" != 0 ]; then
        log "[$label] tcpscribe -r $pcap exited with $rc:"
        tail -20 "$T/$outdir.log" | sed 's/^/    /'
        result=1
        continue
    fi
    if check_out "$T/$outdir" "$label"; then
        log "[$label] ok"
    else
        log "[$label] FAILED"
        result=1
    fi
done

[ "$result" = 0 ] || fail "tcpscribe's output is wrong (see above); capture had $RETRANS retransmitted segments"
log "PASS ($NCONN connections, $RETRANS retransmitted data segments, reorder seed $SEED)"
exit 0
