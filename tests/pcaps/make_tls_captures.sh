#!/usr/bin/env bash
# Regenerates the TLS captures in tests/pcaps/tls/ from real programs on
# loopback (run as root; needs tcpdump, openssl, curl, rev). Each capture
# NAME.pcap comes with NAME.keys (the client's key log, NSS format, as
# `openssl s_client -keylogfile` / curl's SSLKEYLOGFILE wrote it) and, per
# connection K (0, 1, ... in order of their first packet), NAME.K.c2s and
# NAME.K.s2c: the application data each side sent, written here from the
# programs' own inputs (the decryptor never makes them). The server is
# `openssl s_server -rev` (it answers each line reversed, so s2c is `rev`
# of c2s) except where a case says otherwise.
# The captures are committed; this documents how they were made.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p tls
out=$PWD/tls
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 3650 \
  -subj "/CN=tcpscribe.test/O=tcpscribe tests" -addext "subjectAltName=DNS:tcpscribe.test" 2>/dev/null
port=24430

start_capture() {  # start_capture NAME
  tcpdump -i lo -U -s 0 -w "$out/$1.pcap" "tcp port $port" 2>/dev/null & tcpdump_pid=$!
  sleep 1
}
stop_capture() {
  sleep 0.5
  kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" || true
}
server() {  # server ARGS...: an s_server on $port in the background
  openssl s_server -accept "$port" -cert cert.pem -key key.pem -quiet "$@" >/dev/null 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  sleep 0.5
}
client() {  # client INPUT ARGS...: s_client sends INPUT, waits a second, closes
  local input=$1; shift
  (cat "$input"; sleep 1) | openssl s_client -connect "127.0.0.1:$port" -quiet -no_ign_eof \
    -keylogfile "$keys" "$@" >/dev/null 2>&1
}
expect_rev() {  # expect_rev NAME CONN INPUT: c2s is INPUT, s2c its lines reversed
  cp "$3" "$out/$1.$2.c2s"
  rev < "$3" > "$out/$1.$2.s2c"
}
lines() { printf 'line one of %s\nthe second line, a bit longer: %s %s\n' "$1" "$1" "$1"; }

one() {  # one NAME SERVER_ARGS -- CLIENT_ARGS: one connection through the -rev server
  local name=$1; shift
  local sargs=() cargs=()
  while [ "$1" != -- ]; do sargs+=("$1"); shift; done; shift
  cargs=("$@")
  keys=$out/$name.keys; rm -f "$keys" "$out/$name".*.c2s "$out/$name".*.s2c
  lines "$name" > in.txt
  start_capture "$name"
  server -rev -naccept 1 "${sargs[@]}"
  client in.txt -servername tcpscribe.test -nocommands "${cargs[@]}"
  wait "$server_pid" || true
  stop_capture
  expect_rev "$name" 0 in.txt
  port=$((port + 1))
}

# TLS 1.3, each suite (with ALPN on the first).
one tls13_aes128gcm -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 -alpn http/1.1 -- -alpn http/1.1
one tls13_aes256gcm -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 --
one tls13_chacha20 -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256 --
# TLS 1.2 AEAD: ECDHE, DHE and RSA key exchange.
one tls12_ecdhe_aes128gcm -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -alpn http/1.1 -- -alpn http/1.1
one tls12_ecdhe_aes256gcm -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384 --
one tls12_ecdhe_chacha20 -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305 --
one tls12_dhe_aes128gcm -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256 --
one tls12_dhe_chacha20 -tls1_2 -cipher DHE-RSA-CHACHA20-POLY1305 --
one tls12_rsa_aes256gcm -tls1_2 -cipher AES256-GCM-SHA384 --
# TLS 1.2 CBC: encrypt-then-MAC (OpenSSL's default) and MAC-then-encrypt (-no_etm).
one tls12_ecdhe_aes128cbc_sha -tls1_2 -cipher ECDHE-RSA-AES128-SHA --
one tls12_ecdhe_aes256cbc_sha384 -tls1_2 -cipher ECDHE-RSA-AES256-SHA384 --
one tls12_dhe_aes256cbc_sha256 -tls1_2 -cipher DHE-RSA-AES256-SHA256 --
one tls12_rsa_aes128cbc_sha -tls1_2 -cipher AES128-SHA --
one tls12_rsa_aes256cbc_sha_noetm -tls1_2 -cipher AES256-SHA -- -no_etm
one tls12_rsa_aes128cbc_sha256_noetm -tls1_2 -cipher AES128-SHA256 -- -no_etm
one tls12_ecdhe_aes256cbc_sha384_noetm -tls1_2 -cipher ECDHE-RSA-AES256-SHA384 -- -no_etm
# HelloRetryRequest: the server wants P-384, the client key-shares X25519 first.
one tls13_hrr -tls1_3 -groups P-384 -- -groups X25519:P-384

# KeyUpdate: s_client's "k" line updates its own keys, "K" also asks the
# server to update; the command lines are not sent.
name=tls13_keyupdate
keys=$out/$name.keys; rm -f "$keys"
printf 'before any update\nk\nafter the client updated\nK\nafter both updated\nK\nand once more\n' > cmd.txt
grep -v '^[kK]$' cmd.txt > sent.txt
start_capture "$name"
server -rev -naccept 1 -tls1_3
(while read -r l; do printf '%s\n' "$l"; sleep 0.3; done < cmd.txt; sleep 1) |
  openssl s_client -connect "127.0.0.1:$port" -quiet -no_ign_eof -servername tcpscribe.test \
    -keylogfile "$keys" >/dev/null 2>&1
wait "$server_pid" || true
stop_capture
expect_rev "$name" 0 sent.txt
port=$((port + 1))

# TLS 1.2 resumption: by session id (-no_ticket) and by ticket.
for kind in session_id ticket; do
  name=tls12_resume_$kind
  keys=$out/$name.keys; rm -f "$keys"
  sargs=(-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)
  [ "$kind" = session_id ] && sargs+=(-no_ticket)
  lines "$name full" > in0.txt; lines "$name resumed" > in1.txt
  start_capture "$name"
  server -rev -naccept 2 "${sargs[@]}"
  client in0.txt -servername tcpscribe.test -nocommands -sess_out sess.pem
  client in1.txt -servername tcpscribe.test -nocommands -sess_in sess.pem
  wait "$server_pid" || true
  stop_capture
  expect_rev "$name" 0 in0.txt; expect_rev "$name" 1 in1.txt
  port=$((port + 1))
done

# TLS 1.3 0-RTT: a first connection gets a ticket; the second sends early
# data with it. The server (no -rev: it answers nothing) accepts it; in the
# _rejected case a new server process cannot read the ticket and refuses it.
for kind in accepted rejected; do
  name=tls13_early_$kind
  keys=$out/$name.keys; rm -f "$keys"
  printf 'first connection gets a ticket\n' > in0.txt
  printf 'GET /early HTTP/1.0\r\n' > early.txt
  printf 'after the handshake\n' > in1.txt
  start_capture "$name"
  sleep 6 | openssl s_server -accept "$port" -cert cert.pem -key key.pem -quiet -tls1_3 \
    -early_data -naccept $([ $kind = accepted ] && echo 2 || echo 1) >/dev/null 2>&1 &
  server_pid=$!; pids+=("$server_pid"); sleep 0.5
  client in0.txt -servername tcpscribe.test -nocommands -sess_out sess.pem
  if [ $kind = rejected ]; then
    wait "$server_pid" || true
    sleep 6 | openssl s_server -accept "$port" -cert cert.pem -key key.pem -quiet -tls1_3 \
      -early_data -naccept 1 >/dev/null 2>&1 &
    server_pid=$!; pids+=("$server_pid"); sleep 0.5
  fi
  client in1.txt -servername tcpscribe.test -nocommands -sess_in sess.pem -early_data early.txt
  wait "$server_pid" || true
  stop_capture
  cp in0.txt "$out/$name.0.c2s"; : > "$out/$name.0.s2c"
  if [ $kind = accepted ]; then cat early.txt in1.txt > "$out/$name.1.c2s"
  else cp in1.txt "$out/$name.1.c2s"; fi
  : > "$out/$name.1.s2c"
  port=$((port + 1))
done

# curl (SSLKEYLOGFILE) fetching a 21 kB file over HTTP/1.1 from s_server -WWW:
# records larger than one segment would be on a real link, many records.
name=tls13_curl_www
keys=$out/$name.keys; rm -f "$keys"
for i in $(seq 1 400); do printf 'line %04d of the file that curl fetches over TLS 1.3\n' "$i"; done > page.txt
start_capture "$name"
server -WWW -naccept 1 -tls1_3 -alpn http/1.1
SSLKEYLOGFILE=$keys curl -s -k --http1.1 --resolve "tcpscribe.test:$port:127.0.0.1" \
  -o got.txt "https://tcpscribe.test:$port/page.txt"
wait "$server_pid" || true
stop_capture
cmp page.txt got.txt
printf 'GET /page.txt HTTP/1.1\r\nHost: tcpscribe.test:%s\r\nUser-Agent: curl/%s\r\nAccept: */*\r\n\r\n' \
  "$port" "$(curl -V | head -1 | cut -d' ' -f2)" > "$out/$name.0.c2s"
{ printf 'HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n'; cat page.txt; } > "$out/$name.0.s2c"
port=$((port + 1))

ls -l "$out"
