#!/usr/bin/env bash
# Captures of the connection forensics cases, made from real programs on
# loopback (run as root; needs tcpdump and python3). Committed; this says
# how they were made.
#   port_reuse_lo.pcap      the same client port connects twice (new SYN, same 4-tuple)
#   reset_mid_transfer_lo.pcap  the server aborts (RST) while sending
#   midstream_lo.pcap       the capture starts after the handshake, ends before the close (OTH)
#   zero_window_lo.pcap     a reader that stops reading: the window closes
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

start_capture() {  # FILE FILTER
  tcpdump -i lo -U -s 0 -w "$1" "$2" 2>/dev/null & cap=$!
  sleep 1
}
stop_capture() { sleep 0.5; kill -INT $cap; wait $cap || true; }

cat >"$work/server.py" <<'PY'
import socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port)); srv.listen(8)
while True:
    c, _ = srv.accept()
    if mode == 'echo':
        d = c.recv(65536); c.sendall(b'echo:' + d); c.close()
    elif mode == 'reset':
        c.recv(65536)
        c.sendall(b'x' * 20000)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
        c.close()   # linger 0: RST
    elif mode == 'flood':
        c.recv(65536)
        try:
            c.sendall(b'y' * 3000000)
        except OSError:
            pass
        c.close()
    elif mode == 'slow':
        d = c.recv(100); time.sleep(1.5); c.sendall(b'late reply to ' + d); time.sleep(0.3); c.close()
PY

# The same client port twice: the second SYN reuses the 4-tuple.
python3 "$work/server.py" echo 19001 & pids+=($!)
sleep 0.5
start_capture port_reuse_lo.pcap 'tcp port 19001'
python3 - <<'PY'
import socket, time
for i in range(2):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', 41999)); s.connect(('127.0.0.1', 19001))
    s.sendall(b'hello %d' % i); s.recv(100); s.close()
    time.sleep(0.3)
PY
stop_capture

# A reset in the middle of a transfer.
python3 "$work/server.py" reset 19002 & pids+=($!)
sleep 0.5
start_capture reset_mid_transfer_lo.pcap 'tcp port 19002'
python3 - <<'PY'
import socket, time
s = socket.create_connection(('127.0.0.1', 19002)); s.sendall(b'GET big')
time.sleep(0.5)
try:
    while s.recv(1000): pass
except OSError:
    pass
PY
stop_capture

# Picked up midstream: the capture starts after the handshake and ends
# before the close, so no SYN and no FIN are seen (Zeek's OTH).
python3 "$work/server.py" slow 19003 & pids+=($!)
sleep 0.5
python3 - "$work/ready" "$work/answered" <<'PY' &
import socket, sys, time
s = socket.create_connection(('127.0.0.1', 19003))
open(sys.argv[1], 'w').close()
time.sleep(2.5)
s.sendall(b'question'); s.recv(100)
open(sys.argv[2], 'w').close()
time.sleep(2); s.close()
PY
client=$!
while [ ! -e "$work/ready" ]; do sleep 0.05; done
start_capture midstream_lo.pcap 'tcp port 19003'
while [ ! -e "$work/answered" ]; do sleep 0.05; done
stop_capture
wait $client

# A reader that stops reading: the receive window closes (zero window).
python3 "$work/server.py" flood 19004 & pids+=($!)
sleep 0.5
start_capture zero_window_lo.pcap 'tcp port 19004'
python3 - <<'PY'
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(('127.0.0.1', 19004)); s.sendall(b'send me everything')
time.sleep(1.5)
s.close()   # never read: the window stays shut, then the close resets
PY
stop_capture
ls -l ./*_lo.pcap
