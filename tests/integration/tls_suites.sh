#!/usr/bin/env bash
# Integration test: every TLS cipher suite and handshake variant that
# --tls-keylog promises, with real `openssl s_server` / `openssl s_client`.
#
#   tests/integration/tls_suites.sh /path/to/tcpscribe
#
# Exit 0 = pass, 1 = fail (reason printed), 77 = skip (reason printed).
#
# Part 1, suites (loopback, tcpdump): one connection per suite, the client
# (`s_client -quiet -keylogfile`) sends its own 300 KB random file through
# stdin, the server (`s_server -quiet`) answers with its own 200 KB file
# through stdin; both sides' received bytes are checked against what the
# other sent. TLS 1.3: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305. TLS 1.2:
# ECDHE AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305; CBC with HMAC-SHA1,
# HMAC-SHA256 (RSA key exchange) and HMAC-SHA384, each with encrypt-then-MAC
# (OpenSSL's default) and without (-no_etm); RSA key exchange with AES-GCM.
# Part 2, handshake variants: TLS 1.3 KeyUpdate (s_client commands `K` then
# `k`: both directions change keys, the client twice), HelloRetryRequest
# (client key share P-256, server X25519 only), TLS 1.2 resumption by session
# id (-no_ticket) and by ticket, TLS 1.3 resumption, and 0-RTT early data.
# Then offline
#   tcpscribe -r cap.pcap --tls-keylog keys.log -o out --report r.jsonl
# and live (tcpscribe -i lo while the connections run and write the key log)
# must write, per connection and direction, FLOW-TLS byte for byte equal to
# what that side sent (early data first), and a report `tls` object with the
# version, the cipher suite's IANA name, decrypted true, bad_records 0,
# resumed as the handshake was. With the key log less its
# CLIENT_EARLY_TRAFFIC_SECRET lines, the 0-RTT connection must still give all
# but its early data. tshark -o tls.keylog_file is a witness: the same bytes
# for every stream it follows, and the KeyUpdate messages.
# Part 3, loss and reordering: a client and a server namespace joined through
# a router namespace by veth pairs, nftables dropping TSC_LOSS_PCT % (default
# 3) of TCP packets at the input of both hosts and in the router's forward
# path; a TLS 1.3 and a TLS 1.2 CBC (no encrypt-then-MAC) transfer of 2 MB
# each way, captured on the client's veth: drops behind the capture point
# leave retransmitted copies in the capture, the router's drops of server
# packets holes that the retransmission fills later (out of order; both
# counted, both must be there). Then the same capture with packets shuffled in small windows
# (tests/tools/reorder_pcap.py), a shuffled copy of the loopback capture, and
# tcpscribe live on the client's veth: all byte-exact, decrypted, no bad or
# lost records.
#
# TSC_KEEP_TMP=1 keeps the temp dir for debugging.

set -u -o pipefail

TCPSCRIBE=${1:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REORDER=$HERE/../tools/reorder_pcap.py
LOSS_PCT=${TSC_LOSS_PCT:-3}
SEED=${TSC_REORDER_SEED:-4242}
T=
PIDS=()
TCPDUMP_PID=
LIVE_PID=
NS_MADE=()
CLI=tsc-tlsc-$$
SRV=tsc-tlss-$$
RTR=tsc-tlsr-$$
VCLI=tstc$$
VSRV=tsts$$
CLI_IP=10.214.0.1
SRV_IP=10.214.1.2

log()  { echo "tls_suites: $*"; }
skip() { echo "SKIP: tls_suites: $*"; exit 77; }
fail() { echo "FAIL: tls_suites: $*"; exit 1; }

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$? p ns
    trap - EXIT INT TERM
    for p in "${PIDS[@]}" $TCPDUMP_PID; do kill "$p" 2>/dev/null; done
    for ns in "${NS_MADE[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    wait 2>/dev/null
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "${TSC_KEEP_TMP:-0}" = 1 ]; then log "kept temp dir $T"; else rm -rf "$T"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ -n "$TCPSCRIBE" ] || fail "usage: $0 /path/to/tcpscribe"
[ -x "$TCPSCRIBE" ] || fail "tcpscribe binary '$TCPSCRIBE' is missing or not executable"
TCPSCRIBE=$(cd "$(dirname "$TCPSCRIBE")" && pwd)/$(basename "$TCPSCRIBE")
[ -f "$REORDER" ] || fail "missing $REORDER"
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump, network namespaces, nftables)"

# shellcheck source=lib/require_tools.sh
. "$(dirname "$0")/lib/require_tools.sh"
require_tools python3 tcpdump openssl ss=iproute2 ip=iproute2 nft=nftables tshark=tshark
# shellcheck source=lib/net.sh
. "$(dirname "$0")/lib/net.sh"

T=$(mktemp -d /tmp/tsc-tls-suites.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"
cd "$T" || fail "cd $T"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tcpscribe.test \
    -keyout rsa.key -out rsa.pem 2>/dev/null || fail "openssl req (RSA)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=tcpscribe.test -keyout ec.key -out ec.pem 2>/dev/null || fail "openssl req (EC)"

# ---------------------------------------------------------------- helpers
# feed STEP...: writes to stdout, step by step: a file name is copied,
# "=TEXT" is written as it is, "@FILE:N" waits (20 s at most) until FILE
# holds N bytes, "!FILE:N" until FILE has N lines saying KEYUPDATE. Then it stays open (the peer must not see end of input).
feed() {
    local s f n
    for s in "$@"; do
        case $s in
            =*) printf '%s' "${s#=}" ;;
            @*) f=${s#@}; n=${f##*:}; f=${f%:*}
                for _ in $(seq 400); do
                    [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -ge "$n" ] && break
                    sleep 0.05
                done ;;
            !*) f=${s#!}; n=${f##*:}; f=${f%:*}
                for _ in $(seq 400); do
                    [ "$(grep -c KEYUPDATE "$f" 2>/dev/null)" -ge "$n" ] && break
                    sleep 0.05
                done ;;
            \?*) f=${s#\?}; n=${f#*:}; f=${f%%:*}
                for _ in $(seq 400); do grep -qF -- "$n" "$f" 2>/dev/null && break; sleep 0.05; done ;;
            .) exit 0 ;;
            *) cat "$s" ;;
        esac
    done
    exec sleep 300
}
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
# wait_size FILE N: until FILE holds at least N bytes, 30 s.
wait_size() {
    for _ in $(seq 600); do [ "$(size "$1")" -ge "$2" ] && return 0; sleep 0.05; done
    return 1
}
# run NAME NETNS FEEDSTEPS... -- COMMAND...: COMMAND (in NETNS if not
# empty) with stdin from feed FEEDSTEPS, stdout NAME.out, stderr NAME.err;
# sets RUN_PID (the command's) and RUN_FEED (the feeder's).
run() {
    local name=$1 ns=$2 steps=()
    shift 2
    while [ "$1" != -- ]; do steps+=("$1"); shift; done
    shift
    mkfifo "$name.in" || fail "mkfifo $name.in"
    # (not through in_ns: RUN_PID must be the command's own pid)
    if [ -n "$ns" ]; then
        ip netns exec "$ns" "$@" <"$name.in" >"$name.out" 2>"$name.err" &
    else
        "$@" <"$name.in" >"$name.out" 2>"$name.err" &
    fi
    RUN_PID=$!
    PIDS+=("$RUN_PID")
    feed "${steps[@]}" >"$name.in" &
    RUN_FEED=$!
    PIDS+=("$RUN_FEED")
}
stop() { kill "$@" 2>/dev/null; for p in "$@"; do wait "$p" 2>/dev/null; done; }
# listening PORT [NETNS]: until something listens on PORT, 5 s. (Not
# wait_port: s_server would take its connection for a client's and send it
# the stdin meant for the next.)
listening() {
    for _ in $(seq 100); do
        [ -n "$(in_ns "${2:-}" ss -tlnH "( sport = :$1 )" 2>/dev/null)" ] && return 0
        sleep 0.05
    done
    return 1
}
# in_ns NETNS COMMAND...: COMMAND in NETNS, or here if NETNS is empty.
in_ns() { local ns=$1; shift; if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi; }
rnd() { head -c "$2" /dev/urandom >"$1"; }
# digits FILE N: N bytes of text made of digits and newlines (nothing that
# s_client, without -quiet, would take for a command).
digits() { python3 -c "import random,sys; r=random.Random(int(sys.argv[2])); n=int(sys.argv[1]); s=''.join(str(r.randrange(10**9)).rjust(9,'0')+'\n' for _ in range(n//10+1)); sys.stdout.write(s[:n])" "$2" "$RANDOM" >"$1"; }

MANIFEST=$T/manifest
: >"$MANIFEST"
# expect NAME CLIENT_IP N SERVER_IP SPORT ...: the Nth connection to SPORT
# (resolve_manifest finds its client port in the capture);
# expect NAME CLIENT_IP CPORT SERVER_IP SPORT VERSION(1.2|1.3) SUITE RESUMED C2S_FILE S2C_FILE
expect() { echo "$*" >>"$MANIFEST"; }

# conn NAME PORT SERVER_OUT SERVER_HAD VERSION SUITE RESUMED C2S S2C CLIENT_FEED... -- CLIENT_ARGS...
# One client connection to the s_server on PORT; the server's feeder must
# send S2C. Once the client has got S2C its input ends, and it closes the
# connection properly (close_notify: a session closed without it is not
# resumable). Then the server must have got C2S (SERVER_OUT grew from
# SERVER_HAD by C2S's bytes).
declare -A CONN_IDX   # server port -> connections made to it so far
CONN_NS=
CONN_SNS=
CONN_CIP=127.0.0.1
CONN_SIP=127.0.0.1
conn() {
    local name=$1 port=$2 sout=$3 shad=$4 ver=$5 suite=$6 res=$7 c2s=$8 s2c=$9 steps=() cp quiet=
    shift 9
    while [ "$1" != -- ]; do steps+=("$1"); shift; done
    shift
    if [[ " $* " == *" -quiet "* ]]; then
        quiet=1
        steps+=("@$name.out:$(size "$s2c")" .)
        set -- "$@" -no_ign_eof -nocommands
    else
        # Not quiet (KeyUpdate commands): session lines around the data.
        steps+=("?$name.out:$(tail -1 "$s2c")" .)
    fi
    run "$name" "$CONN_NS" "${steps[@]}" -- openssl s_client -connect "$CONN_SIP:$port" \
        -servername tcpscribe.test -keylogfile "$T/keys.log" "$@"
    cp=$((${CONN_IDX[$port]:-0} + 1))
    CONN_IDX[$port]=$cp
    for _ in $(seq 600); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$RUN_PID" 2>/dev/null && fail "$name: s_client still runs after 30 s, got $(size "$name.out") bytes: $(tail -3 "$name.err")"
    wait "$RUN_PID"
    grep -q "^DONE" "$name.err" || fail "$name: s_client did not end with DONE: $(tail -3 "$name.err")"
    if [ -n "$quiet" ]; then
        cmp -s "$name.out" "$s2c" || fail "$name: the client received other bytes than the server sent"
    else
        grep -qF -- "$(tail -1 "$s2c")" "$name.out" || fail "$name: the client did not get the server's last line"
    fi
    wait_size "$sout" $((shad + $(size "$c2s"))) \
        || fail "$name: the server got $(($(size "$sout") - shad)) of $(size "$c2s") bytes: $(tail -3 "$name.err")"
    cmp -s <(tail -c +$((shad + 1)) "$sout") "$c2s" || fail "$name: the server received other bytes than the client sent"
    stop "$RUN_PID" "$RUN_FEED"
    # Until the server has closed its side: its next connection must not
    # find the next payload in its stdin while this one is still open.
    for _ in $(seq 200); do
        [ -z "$(in_ns "$CONN_SNS" ss -tnH state all "( sport = :$port )" exclude listening 2>/dev/null)" ] && break
        sleep 0.05
    done
    expect "$name $CONN_CIP $cp $CONN_SIP $port $ver $suite $res $c2s $s2c"
    NCONN=$((NCONN + 1))
}

# ---------------------------------------------------------------- part 1 + 2: loopback
PORTS=()
for _ in $(seq 20); do PORTS+=("$(free_port)"); done
filter="tcp and host 127.0.0.1 and ($(printf 'port %s or ' "${PORTS[@]}") port 1)"
tcpdump -i lo --immediate-mode -U -s 0 -B 65536 -Z root -w cap.pcap "$filter" 2>tcpdump.err &
TCPDUMP_PID=$!
for _ in $(seq 100); do
    grep -q "listening on" tcpdump.err 2>/dev/null && break
    kill -0 "$TCPDUMP_PID" 2>/dev/null || fail "tcpdump died: $(cat tcpdump.err)"
    sleep 0.05
done
grep -q "listening on" tcpdump.err || fail "tcpdump did not start: $(cat tcpdump.err)"
# Live too: tcpscribe on lo, the key log written while it runs (each
# connection's records wait for their keys as needed).
: >keys.log
"$TCPSCRIBE" -i lo --tls-keylog "$T/keys.log" -o out_live --report live.jsonl "$filter" 2>live.err &
LIVE_PID=$!
PIDS+=("$LIVE_PID")
wait_line live.err "listening on" || fail "live tcpscribe did not start: $(cat live.err)"

NCONN=0
pi=0
# suite NAME VERSION IANA CERT SERVER_ARGS... -- CLIENT_ARGS...: one connection.
suite() {
    local name=$1 ver=$2 iana=$3 cert=$4 sargs=() port=${PORTS[$pi]}
    pi=$((pi + 1))
    shift 4
    while [ "$1" != -- ]; do sargs+=("$1"); shift; done
    shift
    local vflag=-tls1_2
    [ "$ver" = 1.3 ] && vflag=-tls1_3
    if ! openssl ciphers -stdname -s "$vflag" ALL 2>/dev/null | awk '{print $1}' | grep -qx "$iana"; then
        log "SKIPPED $name: this openssl does not offer $iana in $ver"
        SKIPPED+=("$name")
        return
    fi
    rnd "$name.c2s" $((300 * 1024)); rnd "$name.s2c" $((200 * 1024))
    run "$name.srv" "" "$name.s2c" -- openssl s_server -quiet -accept "$port" \
        -cert "$cert.pem" -key "$cert.key" "${sargs[@]}"
    local spid=$RUN_PID sfeed=$RUN_FEED
    listening "$port" || fail "$name: s_server not listening: $(cat "$name.srv.err")"
    conn "$name" "$port" "$name.srv.out" 0 "$ver" "$iana" false "$name.c2s" "$name.s2c" \
        "$name.c2s" -- -quiet "$@"
    stop "$spid" "$sfeed"
}
SKIPPED=()

t0=$(date +%s.%N)
T13="-tls1_3"
suite t13_aes128gcm 1.3 TLS_AES_128_GCM_SHA256 ec -ciphersuites TLS_AES_128_GCM_SHA256 -- $T13
suite t13_aes256gcm 1.3 TLS_AES_256_GCM_SHA384 rsa -ciphersuites TLS_AES_256_GCM_SHA384 -- $T13
suite t13_chacha 1.3 TLS_CHACHA20_POLY1305_SHA256 ec -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -- $T13
suite t12_ecdhe_aes128gcm 1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 rsa -- -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
suite t12_ecdhe_aes256gcm 1.2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 ec -- -tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384
suite t12_ecdhe_chacha 1.2 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 rsa -- -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305
suite t12_rsa_aes128gcm 1.2 TLS_RSA_WITH_AES_128_GCM_SHA256 rsa -- -tls1_2 -cipher AES128-GCM-SHA256
suite t12_sha1_etm 1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA rsa -- -tls1_2 -cipher ECDHE-RSA-AES128-SHA
suite t12_sha1_noetm 1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA rsa -- -tls1_2 -cipher ECDHE-RSA-AES128-SHA -no_etm
suite t12_sha256_etm 1.2 TLS_RSA_WITH_AES_128_CBC_SHA256 rsa -- -tls1_2 -cipher AES128-SHA256
suite t12_sha256_noetm 1.2 TLS_RSA_WITH_AES_128_CBC_SHA256 rsa -- -tls1_2 -cipher AES128-SHA256 -no_etm
suite t12_sha384_etm 1.2 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 rsa -- -tls1_2 -cipher ECDHE-RSA-AES256-SHA384
suite t12_sha384_noetm 1.2 TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384 ec -- -tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384 -no_etm
t1=$(date +%s.%N)
log "part 1: $NCONN suites transferred in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"

# ---------------------------------------------------------------- part 2: handshake variants
# next_server NAME CERT FEEDSTEPS... -- SERVER_ARGS...: an s_server on the
# next port; sets SPORT, SPID, SFEED.
next_server() {
    local name=$1 cert=$2 steps=()
    shift 2
    while [ "$1" != -- ]; do steps+=("$1"); shift; done
    shift
    SPORT=${PORTS[$pi]}
    pi=$((pi + 1))
    run "$name.srv" "" "${steps[@]}" -- openssl s_server -quiet -accept "$SPORT" \
        -cert "$cert.pem" -key "$cert.key" "$@"
    SPID=$RUN_PID SFEED=$RUN_FEED
    listening "$SPORT" || fail "$name: s_server not listening: $(cat "$name.srv.err")"
}
t0=$(date +%s.%N)
n1=$NCONN

# KeyUpdate: text the non-quiet s_client cannot take for commands. The
# client changes its keys after c1 asking the server to change too (K),
# and again after c2 (k); the server sends s2 after its own KeyUpdate.
for f in c1 c2 c3 s1 s2; do digits "ku.$f" $((100 * 1024)); done
cat ku.c1 ku.c2 ku.c3 >ku.c2s
cat ku.s1 ku.s2 >ku.s2c
next_server ku ec ku.s1 "@ku.srv.out:$(size ku.c1)" "@ku.srv.out:$(($(size ku.c1) + $(size ku.c2)))" ku.s2 \
    -- -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256
conn ku "$SPORT" ku.srv.out 0 1.3 TLS_AES_128_GCM_SHA256 false ku.c2s ku.s2c \
    ku.c1 "@ku.srv.out:$(size ku.c1)" "=K
" "!ku.err:1" ku.c2 "@ku.srv.out:$(($(size ku.c1) + $(size ku.c2)))" "=k
" "!ku.err:2" ku.c3 -- -tls1_3
stop "$SPID" "$SFEED"

# HelloRetryRequest: the client's first key share (P-256) is not one the
# server accepts.
rnd hrr.c2s $((300 * 1024)); rnd hrr.s2c $((200 * 1024))
next_server hrr rsa hrr.s2c -- -tls1_3 -groups X25519
conn hrr "$SPORT" hrr.srv.out 0 1.3 TLS_AES_256_GCM_SHA384 false hrr.c2s hrr.s2c \
    hrr.c2s -- -quiet -tls1_3 -groups P-256:X25519
stop "$SPID" "$SFEED"

# resumption SCENARIO VERSION IANA CERT N SERVER_ARGS... -- CLIENT_ARGS...:
# N connections to one s_server; connection i (from 1) resumes the session
# that connection i-1 wrote (-sess_in / -sess_out); the last one sends 10 KB
# of early data first if SERVER_ARGS has -early_data.
resumption() {
    local name=$1 ver=$2 iana=$3 cert=$4 n=$5 sargs=() steps=() i had=0 res ed=
    shift 5
    while [ "$1" != -- ]; do sargs+=("$1"); shift; done
    shift
    for i in $(seq "$n"); do
        rnd "$name$i.c" $((150 * 1024)); rnd "$name$i.s2c" $((100 * 1024))
        steps+=("$name$i.s2c")
        [ "$i" -lt "$n" ] && steps+=("@$name.go$((i + 1)):1")
    done
    next_server "$name" "$cert" "${steps[@]}" -- "${sargs[@]}"
    for i in $(seq "$n"); do
        local cargs=(-quiet "$@" -sess_out "$name$i.sess")
        res=true
        [ "$i" = 1 ] && res=false
        [ "$i" -gt 1 ] && cargs+=(-sess_in "$name$((i - 1)).sess")
        cp "$name$i.c" "$name$i.c2s"
        if [ "$i" = "$n" ] && [[ " ${sargs[*]} " == *" -early_data "* ]]; then
            rnd "$name.early" $((10 * 1024))
            cat "$name.early" "$name$i.c" >"$name$i.c2s"
            cargs+=(-early_data "$name.early")
            ed=" (with early data)"
        fi
        echo go >"$name.go$i"
        conn "$name$i" "$SPORT" "$name.srv.out" "$had" "$ver" "$iana" "$res" "$name$i.c2s" "$name$i.s2c" \
            "$name$i.c" -- "${cargs[@]}"
        had=$((had + $(size "$name$i.c2s")))
    done
    stop "$SPID" "$SFEED"
    log "$name: $n connections$ed"
}
resumption r12id 1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 rsa 2 -no_ticket -- -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
resumption r12tk 1.2 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 rsa 2 -- -tls1_2 -cipher ECDHE-RSA-AES256-SHA384
resumption r13 1.3 TLS_AES_128_GCM_SHA256 ec 3 -early_data -max_early_data 16384 -- -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256
t1=$(date +%s.%N)
log "part 2: $((NCONN - n1)) connections in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"

sleep 0.3
kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null; TCPDUMP_PID=
grep -q "^0 packets dropped by kernel" tcpdump.err || skip "tcpdump dropped packets, cannot judge: $(cat tcpdump.err)"
cat keys.log >keys_lo.log
sleep 2.5   # past tcpscribe's next read of the key log
kill -INT "$LIVE_PID"
wait "$LIVE_PID"; live_rc=$?
[ "$live_rc" = 0 ] || fail "live tcpscribe exit $live_rc: $(cat live.err)"

# The capture holds a HelloRetryRequest (its fixed ServerHello.random).
python3 -c 'import sys; sys.exit(0 if bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C") in open("cap.pcap","rb").read() else 1)' \
    || fail "the HelloRetryRequest scenario has no HelloRetryRequest in the capture"

# resolve_manifest PCAP IN OUT: the Nth connection to a server port is the
# one of the Nth SYN to it in the capture.
resolve_manifest() {
    python3 - "$@" <<'PY' || fail "cannot find the connections in $1"
import struct, sys
pcap, src, dst = sys.argv[1:4]
d = open(pcap, "rb").read()
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
lt = struct.unpack_from(e + "I", d, 20)[0]
off, syns = 24, {}
while off + 16 <= len(d):
    n = struct.unpack_from(e + "I", d, off + 8)[0]
    p = d[off + 16: off + 16 + n]; off += 16 + n
    ip = p[14:] if lt == 1 else (p[16:] if lt == 113 else p)
    if len(ip) < 20 or ip[9] != 6: continue
    tcp = ip[(ip[0] & 15) * 4:]
    sp, dp = struct.unpack_from(">HH", tcp, 0)
    if tcp[13] & 0x12 == 0x02:
        l = syns.setdefault(dp, [])
        if sp not in l: l.append(sp)
with open(dst, "w") as out:
    for line in open(src):
        f = line.split()
        f[2] = str(syns[int(f[4])][int(f[2]) - 1])
        out.write(" ".join(f) + "\n")
PY
}

# ---------------------------------------------------------------- checks
# check LABEL PCAP KEYLOG MANIFEST: tcpscribe offline, then every connection
# of MANIFEST: FLOW-TLS both ways byte for byte, the report's tls object.
check() {
    local label=$1 pcap=$2 keys=$3 manifest=$4 out=out_$1
    "$TCPSCRIBE" -r "$pcap" --tls-keylog "$keys" -o "$out" --report "$out.jsonl" 2>"$out.err" \
        || fail "$label: tcpscribe exit $?: $(cat "$out.err")"
    [ -s "$out.err" ] && fail "$label: tcpscribe wrote to stderr: $(cat "$out.err")"
    verify "$label" "$out" "$out.jsonl" "$manifest"
}
# verify LABEL OUTDIR REPORT MANIFEST: the checks of check, on outputs there.
verify() {
    python3 - "$@" <<'PY'
import json, os, sys
label, out, report, manifest = sys.argv[1:5]
conns = {}
for line in open(report):
    c = json.loads(line)
    if "client_port" in c:
        conns[(c["client_port"], c["server_port"])] = c
pad = lambda ip: ".".join("%03d" % int(x) for x in ip.split("."))
bad, total = [], 0
for line in open(manifest):
    total += 1
    name, cip, cport, sip, sport, ver, suite, resumed, c2s, s2c = line.split()
    cport, sport = int(cport), int(sport)
    c = conns.get((cport, sport))
    if c is None or "tls" not in c:
        bad.append(f"{name}: no TLS connection {cport}->{sport} in the report"); continue
    t = c["tls"]
    want = {"version": "TLS " + ver, "cipher_suite": suite, "decrypted": True, "why_not": None,
            "resumed": resumed == "true"}
    for k, v in want.items():
        if t.get(k) != v:
            bad.append(f"{name}: tls.{k} is {t.get(k)!r}, want {v!r}")
    for side in ("client", "server"):
        s = t[side]
        for k in ("bad_records", "records_lost", "records_undecrypted", "gap_bytes"):
            if s.get(k) != 0:
                bad.append(f"{name}: tls.{side}.{k} = {s.get(k)}")
    a = f"{pad(cip)}.{cport:05d}-{pad(sip)}.{sport:05d}"
    b = f"{pad(sip)}.{sport:05d}-{pad(cip)}.{cport:05d}"
    for fn, src in ((a, c2s), (b, s2c)):
        p = os.path.join(out, fn + "-TLS")
        want_b = open(src, "rb").read()
        if not os.path.exists(p):
            bad.append(f"{name}: no {fn}-TLS"); continue
        got = open(p, "rb").read()
        if got != want_b:
            i = next((i for i in range(min(len(got), len(want_b))) if got[i] != want_b[i]), min(len(got), len(want_b)))
            bad.append(f"{name}: {fn}-TLS has {len(got)} bytes, {src} {len(want_b)}; first difference at byte {i}")
for b in bad:
    print(f"tls_suites: [{label}] {b}")
print(f"tls_suites: [{label}] {total - len({b.split(':')[0] for b in bad})} of {total} connections decrypted byte-exact with the right tls object")
sys.exit(1 if bad else 0)
PY
}
RC=0
resolve_manifest cap.pcap "$MANIFEST" manifest_lo
check loopback cap.pcap keys_lo.log manifest_lo || RC=1
verify live out_live live.jsonl manifest_lo || RC=1

# A key log without CLIENT_EARLY_TRAFFIC_SECRET: the 0-RTT data cannot be
# read, everything after it in that connection still must be.
grep -v '^CLIENT_EARLY_TRAFFIC_SECRET' keys_lo.log >keys_noearly.log
"$TCPSCRIBE" -r cap.pcap --tls-keylog keys_noearly.log -o out_noearly --report noearly.jsonl 2>noearly.err \
    || fail "tcpscribe exit $? (no early secret): $(cat noearly.err)"
python3 - manifest_lo <<'PY' || RC=1
import json, sys
pad = lambda ip: ".".join("%03d" % int(x) for x in ip.split("."))
m = [l.split() for l in open(sys.argv[1])]
name, cip, cport, sip, sport = next(f for f in m if f[0] == "r133")[:5]
c = next(c for c in map(json.loads, open("noearly.jsonl"))
         if c.get("client_port") == int(cport) and c.get("server_port") == int(sport))
t = c["tls"]
a = f"out_noearly/{pad(cip)}.{int(cport):05d}-{pad(sip)}.{int(sport):05d}-TLS"
b = f"out_noearly/{pad(sip)}.{int(sport):05d}-{pad(cip)}.{int(cport):05d}-TLS"
problems = []
try:
    if not open(a, "rb").read().endswith(open("r133.c", "rb").read()):
        problems.append("the client's data after the 0-RTT data is not in its FLOW-TLS")
    if open(b, "rb").read() != open("r133.s2c", "rb").read():
        problems.append("the server's side differs")
except OSError as e:
    problems.append(str(e))
# (the 0-RTT data in one or more records, and EndOfEarlyData)
if not (t["decrypted"] and t["client"]["records_undecrypted"] >= 2 and t["client"]["bad_records"] == 0
        and t["client"]["bytes_decrypted"] == len(open("r133.c", "rb").read())):
    problems.append(f"tls object: {t}")
for p in problems:
    print(f"tls_suites: [no early secret] r133: {p}")
if not problems:
    print(f"tls_suites: [no early secret] r133: {t['client']['records_undecrypted']} records undecrypted (0-RTT data, EndOfEarlyData), the rest byte-exact")
sys.exit(1 if problems else 0)
PY

# ---------------------------------------------------------------- part 3: loss and reordering
t0=$(date +%s.%N)
for ns in "$SRV" "$RTR" "$CLI"; do
    ip netns add "$ns" 2>err || skip "cannot create network namespaces: $(cat err)"
    NS_MADE+=("$ns")
    ip -n "$ns" link set lo up || fail "lo up in $ns"
done
ip link add "$VCLI" netns "$CLI" type veth peer name "${VCLI}r" netns "$RTR" 2>err \
    || skip "cannot create a veth pair: $(cat err)"
ip link add "$VSRV" netns "$SRV" type veth peer name "${VSRV}r" netns "$RTR" 2>err \
    || skip "cannot create a veth pair: $(cat err)"
ip -n "$CLI" addr add "$CLI_IP/24" dev "$VCLI" || fail "ip addr add (client)"
ip -n "$RTR" addr add 10.214.0.254/24 dev "${VCLI}r" || fail "ip addr add (router)"
ip -n "$RTR" addr add 10.214.1.254/24 dev "${VSRV}r" || fail "ip addr add (router)"
ip -n "$SRV" addr add "$SRV_IP/24" dev "$VSRV" || fail "ip addr add (server)"
for l in "$CLI $VCLI" "$RTR ${VCLI}r" "$RTR ${VSRV}r" "$SRV $VSRV"; do
    # shellcheck disable=SC2086
    set -- $l
    ip -n "$1" link set "$2" up || fail "link up ($2)"
    # MTU-sized segments mostly (more packets to lose and reorder), as in
    # http_loss_reorder.sh.
    ip -n "$1" link set "$2" gso_max_segs 2 2>/dev/null || true
done
ip -n "$CLI" route add default via 10.214.0.254 || fail "route (client)"
ip -n "$SRV" route add default via 10.214.1.254 || fail "route (server)"
ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1 || fail "cannot forward in the router namespace"
for ns in "$CLI" "$SRV" "$RTR"; do
    hook=input
    [ "$ns" = "$RTR" ] && hook=forward
    ip netns exec "$ns" nft -f - <<NFT 2>err || skip "nftables does not work in a namespace: $(cat err)"
table inet tsc {
    chain loss {
        type filter hook $hook priority 0; policy accept;
        meta l4proto tcp numgen random mod 100 < $LOSS_PCT counter drop
    }
}
NFT
done
ip netns exec "$CLI" tcpdump -i "$VCLI" -s 0 -U -B 65536 -Z root -w lossy.pcap tcp 2>tcpdump2.err &
TCPDUMP_PID=$!
for _ in $(seq 100); do
    grep -q "listening on" tcpdump2.err 2>/dev/null && break
    kill -0 "$TCPDUMP_PID" 2>/dev/null || fail "tcpdump died: $(cat tcpdump2.err)"
    sleep 0.05
done
ip netns exec "$CLI" "$TCPSCRIBE" -i "$VCLI" --tls-keylog "$T/keys.log" -o out_live_lossy \
    --report live_lossy.jsonl tcp 2>live_lossy.err &
LIVE_PID=$!
PIDS+=("$LIVE_PID")
wait_line live_lossy.err "listening on" || fail "live tcpscribe did not start: $(cat live_lossy.err)"

LOSS_MANIFEST=$T/manifest_loss
MANIFEST=$LOSS_MANIFEST
: >"$MANIFEST"
CONN_NS=$CLI CONN_SNS=$SRV CONN_CIP=$CLI_IP CONN_SIP=$SRV_IP
# lossy NAME CERT VERSION IANA SERVER_ARGS... -- CLIENT_ARGS...: 2 MB each way.
lossy() {
    local name=$1 cert=$2 ver=$3 iana=$4 sargs=() port
    shift 4
    while [ "$1" != -- ]; do sargs+=("$1"); shift; done
    shift
    port=${PORTS[$pi]}
    pi=$((pi + 1))
    rnd "$name.c2s" $((2 * 1024 * 1024)); rnd "$name.s2c" $((2 * 1024 * 1024))
    run "$name.srv" "$SRV" "$name.s2c" -- openssl s_server -quiet -accept "$port" \
        -cert "$cert.pem" -key "$cert.key" "${sargs[@]}"
    local spid=$RUN_PID sfeed=$RUN_FEED
    listening "$port" "$SRV" || fail "$name: s_server not listening: $(cat "$name.srv.err")"
    conn "$name" "$port" "$name.srv.out" 0 "$ver" "$iana" false "$name.c2s" "$name.s2c" \
        "$name.c2s" -- -quiet "$@"
    stop "$spid" "$sfeed"
}
lossy l13 ec 1.3 TLS_AES_128_GCM_SHA256 -ciphersuites TLS_AES_128_GCM_SHA256 -- -tls1_3
lossy l12 rsa 1.2 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 -- -tls1_2 -cipher ECDHE-RSA-AES256-SHA384 -no_etm
# Until no connection is left but TIME-WAIT, then past tcpdump's buffering.
for _ in $(seq 200); do
    left=
    for ns in "$CLI" "$SRV"; do left+=$(ip netns exec "$ns" ss -Htn state connected exclude time-wait 2>/dev/null); done
    [ -z "$left" ] && break
    sleep 0.05
done
sleep 1.2
kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null; TCPDUMP_PID=
grep -q "^0 packets dropped by kernel" tcpdump2.err || skip "tcpdump dropped packets, cannot judge: $(cat tcpdump2.err)"
sleep 1.5   # past tcpscribe's next read of the key log
kill -INT "$LIVE_PID"
wait "$LIVE_PID"; live_rc=$?
[ "$live_rc" = 0 ] || fail "live tcpscribe (lossy link) exit $live_rc: $(cat live_lossy.err)"
drops=()
for ns in "$CLI" "$RTR" "$SRV"; do
    drops+=("$(ip netns exec "$ns" nft list chain inet tsc loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')")
done
# Retransmitted data segments (sequence below the highest seen) and
# segments after a hole (out of order in the capture).
read -r retrans ooo < <(python3 - lossy.pcap <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
lt = struct.unpack_from(e + "I", d, 20)[0]
off, hi, re_, ooo = 24, {}, 0, 0
while off + 16 <= len(d):
    n = struct.unpack_from(e + "I", d, off + 8)[0]
    p = d[off + 16: off + 16 + n]; off += 16 + n
    ip = p[14:] if lt == 1 else p
    if len(ip) < 20 or ip[9] != 6: continue
    ihl = (ip[0] & 15) * 4; tot = struct.unpack_from(">H", ip, 2)[0]
    tcp = ip[ihl:tot]
    sp, dp, seq = struct.unpack_from(">HHI", tcp, 0)
    plen = len(tcp) - (tcp[12] >> 4) * 4
    k = (ip[12:16], sp, ip[16:20], dp)
    if tcp[13] & 2: hi[k] = seq + 1; continue
    if plen == 0 or k not in hi: continue
    rel = (seq - hi[k]) % 2**32
    if rel >= 2**31: re_ += 1
    else:
        if rel > 0: ooo += 1
        hi[k] = (seq + plen) % 2**32
print(re_, ooo)
PY
)
log "part 3: nftables dropped ${drops[0]} packets at the client, ${drops[1]} at the router, ${drops[2]} at the server; the capture has $retrans retransmitted and $ooo out-of-order data segments"
[ "${retrans:-0}" -gt 0 ] || fail "the lossy capture has no retransmissions: the nftables loss did not work"
[ "${ooo:-0}" -gt 0 ] || fail "the lossy capture has no out-of-order segments: the nftables loss did not work"
cat keys.log >keys_loss.log
python3 "$REORDER" lossy.pcap reordered.pcap --seed "$SEED" --min-window 4 --max-window 8 \
    | sed 's/^/tls_suites: /' || fail "reorder_pcap.py failed"
python3 "$REORDER" cap.pcap cap_reordered.pcap --seed "$SEED" --min-window 3 --max-window 6 \
    >/dev/null || fail "reorder_pcap.py failed"
t1=$(date +%s.%N)
log "part 3: transfers took $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
resolve_manifest lossy.pcap "$LOSS_MANIFEST" manifest_lossy
check lossy lossy.pcap keys_loss.log manifest_lossy || RC=1
check lossy_reordered reordered.pcap keys_loss.log manifest_lossy || RC=1
verify live_lossy out_live_lossy live_lossy.jsonl manifest_lossy || RC=1
check loopback_reordered cap_reordered.pcap keys_lo.log manifest_lo || RC=1

# ---------------------------------------------------------------- tshark, a witness
# tshark decrypts each loopback connection with the same key log: what it
# follows must be the bytes each side sent, where it has output at all.
t0=$(date +%s.%N)
zargs=()
# tcp.stream index -> client and server port (the SYN's), as "N CPORT SPORT".
tshark -r cap.pcap -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0" -T fields \
    -e tcp.stream -e tcp.srcport -e tcp.dstport 2>/dev/null | sort -un >tshark.streams
while read -r i _; do zargs+=(-z "follow,tls,raw,$i"); done <tshark.streams
tshark -r cap.pcap -o "tls.keylog_file:$T/keys_lo.log" -q "${zargs[@]}" >tshark.follow 2>tshark.err \
    || fail "tshark failed: $(head -3 tshark.err)"
# (tshark 4.0 names the nodes wrongly when it follows several streams in
# one pass: the directions are told apart by content, the stream by index.)
python3 - tshark.follow tshark.streams manifest_lo <<'PY' || RC=1
import sys
follow, streams_path, manifest = sys.argv[1:4]
ports = {}
for line in open(streams_path):
    i, cp, sp = line.split()[:3]
    ports[(int(cp), int(sp))] = int(i)
data, cur = {}, None
for line in open(follow):
    line = line.rstrip("\n")
    if line.startswith("Filter: tcp.stream eq "):
        cur = data.setdefault(int(line.split()[-1]), [bytearray(), bytearray()])
    elif cur is not None and line and not line.startswith(("=", "Follow:", "Filter:", "Node ")):
        cur[1 if line.startswith("\t") else 0] += bytes.fromhex(line.strip())
same = silent = 0
bad = []
for line in open(manifest):
    name, cip, cport, sip, sport, *_, c2s, s2c = line.split()
    d = data.get(ports.get((int(cport), int(sport)), -1))
    if d is None or (not d[0] and not d[1]):
        silent += 1
        print(f"tls_suites: tshark: no output for {name}")
        continue
    want = (open(c2s, "rb").read(), open(s2c, "rb").read())
    if (bytes(d[0]), bytes(d[1])) in (want, want[::-1]):
        same += 1
    else:
        bad.append(f"tshark: {name}: {len(d[0])} and {len(d[1])} bytes, not the {len(want[0])} and {len(want[1])} sent")
for b in bad:
    print(f"tls_suites: {b}")
print(f"tls_suites: tshark decrypted {same} connections to the same bytes, {silent} not at all, {len(bad)} to other bytes")
sys.exit(1 if bad else 0)
PY
# TLS 1.2 resumption: by ticket where the server sent one (NewSessionTicket
# in the first connection), by session id where it did not (-no_ticket).
nst() {
    local cp
    cp=$(awk -v n="$1" '$1 == n {print $3}' manifest_lo)
    tshark -r cap.pcap -Y "tls.handshake.type == 4 && tcp.dstport == $cp" 2>/dev/null | wc -l
}
[ "$(nst r12tk1)" -ge 1 ] || fail "r12tk1: no NewSessionTicket: not resumption by ticket"
[ "$(nst r12id1)" -eq 0 ] || fail "r12id1: a NewSessionTicket despite -no_ticket"
nku=$(tshark -r cap.pcap -o "tls.keylog_file:$T/keys_lo.log" -Y "tls.handshake.type == 24" 2>/dev/null | wc -l)
log "tshark: $nku KeyUpdate messages in $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s"
[ "$nku" -ge 3 ] || fail "tshark sees $nku KeyUpdate messages, want 3 (client K, server's answer, client k)"

[ ${#SKIPPED[@]} -eq 0 ] || log "not available in this openssl, not checked: ${SKIPPED[*]}"
[ "$RC" = 0 ] || fail "see above"
log "all checks passed: $(wc -l <manifest_lo) loopback connections (13 suites, KeyUpdate, HRR, TLS 1.2 resumption by id and ticket, TLS 1.3 resumption and 0-RTT) and their reordered copy, 2 transfers with ${LOSS_PCT}% loss on both hosts and their reordered copy, tshark witness"
