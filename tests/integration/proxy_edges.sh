#!/usr/bin/env bash
# tcpscribe proxy at its edges, each case with real sockets on 127.0.0.1:
# data arriving with FIN, half-closes both ways, upstream refused and timing
# out, idle timeout, SIGTERM/SIGINT while 100 connections transfer, 1,200
# concurrent connections, back-pressure with bounded memory, logs readable
# while open and after SIGKILL, never clobbering a log, the console view
# (-D, --max-dump, --no-dump, colors, --json) and the documented exit codes.
# Every log is parsed by tcpscribe's reader (proxy --inspect) and compared
# byte for byte with what the peers sent.
# Usage: proxy_edges.sh path/to/tcpscribe   (exit 77: cannot run here)
set -u
bin=$(realpath "$1")
proxy_bin=${TCPSCRIBE_PROXY_BIN:-$bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$proxy_bin" proxy --help >/dev/null 2>&1 || { echo "SKIP: this tcpscribe has no proxy mode"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
have_tcpdump=0
[ "$(id -u)" -eq 0 ] && command -v tcpdump >/dev/null && have_tcpdump=1

python3 - "$proxy_bin" "$tmp" "$have_tcpdump" <<'PY'
import base64, hashlib, json, os, re, resource, select, signal, socket, subprocess, sys, threading, time

BIN, TMP, HAVE_TCPDUMP = sys.argv[1], sys.argv[2], sys.argv[3] == '1'
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
failures = []
def check(cond, msg):
    if not cond:
        failures.append(msg)
        print('FAIL:', msg, flush=True)
    return cond

def pattern(seed, n):
    """Deterministic bytes, different per connection."""
    out, block = bytearray(), hashlib.sha256(str(seed).encode()).digest() * 512
    while len(out) < n:
        out += block
        block = block[1:] + block[:1]
    return bytes(out[:n])

def listener(backlog=128):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', 0))
    s.listen(backlog)
    return s, s.getsockname()[1]

def free_port():
    s, p = listener(); s.close(); return p

def recv_all(sock, limit=1 << 30):
    chunks = []
    while True:
        try:
            b = sock.recv(1 << 16)
        except ConnectionResetError:
            return b''.join(chunks), 'reset'
        if not b:
            return b''.join(chunks), 'eof'
        chunks.append(b)

class Proxy:
    def __init__(self, name, upstream_port, *args, root=True):
        self.root = os.path.join(TMP, name) if root else None
        cmd = [BIN, 'proxy', '--listen', '127.0.0.1:0', '--forward', f'127.0.0.1:{upstream_port}']
        if root:
            cmd += ['--log-root', self.root]
        cmd += list(args)
        self.out = open(os.path.join(TMP, name + '.out'), 'wb')
        self.errpath = os.path.join(TMP, name + '.err')
        self.p = subprocess.Popen(cmd, stdout=self.out, stderr=open(self.errpath, 'wb'))
        for _ in range(200):
            m = re.search(r'listening on 127\.0\.0\.1:(\d+)', self.err())
            if m:
                self.port = int(m.group(1)); return
            time.sleep(0.02)
        raise RuntimeError(f'{name}: proxy did not start: {self.err()}')
    def err(self):
        return open(self.errpath, errors='replace').read()
    def output(self):
        self.out.flush()
        return open(self.out.name, 'rb').read().decode('latin-1')
    def connect(self):
        return socket.create_connection(('127.0.0.1', self.port), timeout=30)
    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.p.send_signal(sig)
        return self.p.wait(timeout)
    def rss_kib(self):
        for line in open(f'/proc/{self.p.pid}/status'):
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    def log(self, n):
        return f'{self.root}_{n}'

# The proxy forwards through memory when the console shows the bytes, and
# with splice() (zero-copy, the log written by tee) when it does not: the
# cases about stream edges run both ways.
COPY_VIEW = ('--max-dump', '1')
SPLICE_VIEW = ('-q',)
def view_name(view):
    return '_splice' if view == SPLICE_VIEW else '_copy'

def read_log(path):
    """Parsed by tcpscribe's reader: (inspect line, c stream, s stream, records)."""
    ex = os.path.join(TMP, 'extract')
    os.makedirs(ex, exist_ok=True)
    r = subprocess.run([BIN, 'proxy', '--inspect', path, '--extract', ex], capture_output=True, text=True)
    base = os.path.join(ex, os.path.basename(path))
    c, s = open(base + '.c', 'rb').read(), open(base + '.s', 'rb').read()
    raw = open(path, 'rb').read()
    headers, pos = [], 0
    hdr = re.compile(rb'([cs]) (\d+\.\d{6}) (con|hup|err|\d+)\n')
    while pos < len(raw):
        m = hdr.match(raw, pos)
        if not m:
            headers.append(('?', raw[pos:pos + 30])); break
        headers.append((m.group(1).decode(), m.group(3).decode()))
        pos = m.end() + (int(m.group(3)) if m.group(3).isdigit() else 0)
    return r.returncode, r.stdout.strip(), c, s, headers

def kinds(headers):
    """Headers with data records collapsed: [('c','con'), ('c','data'), ...]."""
    out = []
    for side, what in headers:
        k = (side, 'data' if what.isdigit() else what)
        if not out or out[-1] != k or k[1] != 'data':
            out.append(k)
    return out

def serve(lst, handler, count=1):
    def run():
        for _ in range(count):
            c, _ = lst.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=run, daemon=True).start()

# ---------------------------------------------------------------- data with FIN
def case_fin_with_data(*view):
    lst, up = listener()
    got = {}
    def h(c):
        data, how = recv_all(c)
        got['data'] = data
        c.sendall(b'got ' + hashlib.sha256(data).hexdigest().encode())
        c.close()
    serve(lst, h)
    cap = None
    p = Proxy('fin' + view_name(view), up, *view)
    if HAVE_TCPDUMP:
        cap = subprocess.Popen(['tcpdump', '-i', 'lo', '--immediate-mode', '-U', '-nn', '-l',
                                f'tcp dst port {p.port}'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(1)
    payload = pattern('fin', 3000)
    c = p.connect()
    # Cork, write, shut down, uncork: the kernel sends the bytes and the FIN
    # in one segment, the case the original netrecord lost.
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    c.sendall(payload)
    c.shutdown(socket.SHUT_WR)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
    reply, how = recv_all(c)
    c.close()
    check(got.get('data') == payload, 'FIN with data: the server did not get the bytes that came with the FIN')
    check(reply == b'got ' + hashlib.sha256(payload).hexdigest().encode(), f'FIN with data: reply {reply[:60]!r}')
    time.sleep(0.2)
    rc, line, cs, ss, headers = read_log(p.log(1))
    check(rc == 0, f'FIN with data: inspect: {line}')
    check(cs == payload and ss == reply, 'FIN with data: log streams differ from what was sent')
    check(kinds(headers) == [('c', 'con'), ('c', 'data'), ('c', 'hup'), ('s', 'data'), ('s', 'hup')],
          f'FIN with data: records {kinds(headers)}')
    if cap:
        time.sleep(0.5)
        cap.terminate()
        seen = cap.communicate()[0]
        check(re.search(r'Flags \[FP?\.?\].*length [1-9]', seen) is not None,
              'FIN with data: no segment carried payload and FIN together:\n' + seen[:500])
    check(p.stop() == 0, 'FIN with data: exit status after SIGTERM')

# ---------------------------------------------------------------- half-closes
def case_half_close_client_first(*view):
    lst, up = listener()
    response = pattern('response', 2_000_000)
    def h(c):
        req, _ = recv_all(c)        # until the client's FIN...
        for i in range(0, len(response), 100_000):
            c.sendall(response[i:i + 100_000])  # ...then keep talking
            time.sleep(0.01)
        c.close()
    serve(lst, h)
    p = Proxy('halfc' + view_name(view), up, *view)
    c = p.connect()
    c.sendall(b'GIVE ME EVERYTHING\n')
    c.shutdown(socket.SHUT_WR)
    data, how = recv_all(c)
    c.close()
    check(data == response and how == 'eof', f'half-close (client first): got {len(data)} of {len(response)} bytes ({how})')
    time.sleep(0.2)
    rc, line, cs, ss, headers = read_log(p.log(1))
    check(rc == 0 and cs == b'GIVE ME EVERYTHING\n' and ss == response, f'half-close (client first): log {line}')
    check(kinds(headers) == [('c', 'con'), ('c', 'data'), ('c', 'hup'), ('s', 'data'), ('s', 'hup')],
          f'half-close (client first): records {kinds(headers)}')
    p.stop()

def case_half_close_server_first(*view):
    lst, up = listener()
    got = {}
    def h(c):
        c.sendall(b'HELLO, I AM DONE TALKING\n')
        c.shutdown(socket.SHUT_WR)  # server's FIN first...
        data, _ = recv_all(c)       # ...but it keeps listening
        got['data'] = data
        c.close()
    serve(lst, h)
    p = Proxy('halfs' + view_name(view), up, *view)
    c = p.connect()
    greeting, how = recv_all(c)  # ends at the server's FIN, passed on
    upload = pattern('upload', 1_500_000)
    c.sendall(upload)
    c.shutdown(socket.SHUT_WR)
    rest, how2 = recv_all(c)
    c.close()
    time.sleep(0.3)
    check(greeting == b'HELLO, I AM DONE TALKING\n' and how == 'eof', f'half-close (server first): greeting {greeting!r} {how}')
    check(got.get('data') == upload, f'half-close (server first): server got {len(got.get("data", b""))} of {len(upload)} bytes')
    rc, line, cs, ss, headers = read_log(p.log(1))
    check(rc == 0 and cs == upload and ss == greeting, f'half-close (server first): log {line}')
    check(kinds(headers) == [('c', 'con'), ('s', 'data'), ('s', 'hup'), ('c', 'data'), ('c', 'hup')],
          f'half-close (server first): records {kinds(headers)}')
    p.stop()

# ---------------------------------------------------------------- upstream failures
def case_refused():
    p = Proxy('refused', free_port())
    for i in (1, 2):  # the proxy survives it
        c = p.connect()
        data, how = recv_all(c)
        c.close()
        check(data == b'', f'refused: client got {data!r}')
    time.sleep(0.2)
    rc, line, cs, ss, headers = read_log(p.log(1))
    check(rc == 0 and headers == [('c', 'con'), ('s', 'err')], f'refused: log {headers} ({line})')
    check('Connection refused' in p.err() and '[sid=0002]' in p.err(), f'refused: stderr {p.err()!r}')
    check(p.p.poll() is None, 'refused: the proxy exited')
    check(p.stop() == 0, 'refused: exit status')

def case_connect_timeout():
    # A listener that never accepts, with its queue full: SYNs are dropped.
    lst, up = listener(backlog=0)
    fillers = []
    for _ in range(3):
        f = socket.socket(); f.setblocking(False)
        try: f.connect(('127.0.0.1', up))
        except BlockingIOError: pass
        fillers.append(f)
    time.sleep(0.3)
    p = Proxy('ctimeout', up, '--connect-timeout', '1')
    t = time.monotonic()
    c = p.connect()
    data, how = recv_all(c)
    took = time.monotonic() - t
    c.close()
    check(0.8 <= took <= 4, f'connect timeout: client closed after {took:.2f} s')
    time.sleep(0.2)
    rc, line, cs, ss, headers = read_log(p.log(1))
    check(headers == [('c', 'con'), ('s', 'err')], f'connect timeout: log {headers}')
    check('timed out after 1 s' in p.err(), f'connect timeout: stderr {p.err()!r}')
    p.stop()
    for f in fillers: f.close()
    lst.close()

def case_idle_timeout():
    lst, up = listener()
    def echo(c):
        while True:
            try: b = c.recv(65536)
            except OSError: break
            if not b: break
            c.sendall(b)
        c.close()
    serve(lst, echo, count=2)
    p = Proxy('idle', up, '--idle-timeout', '1', '--json')
    busy, idle = p.connect(), p.connect()
    idle.sendall(b'ping')
    check(idle.recv(4) == b'ping', 'idle timeout: no echo')
    t = time.monotonic()
    busy_ok = True
    while time.monotonic() - t < 2.5:  # busy stays active past the timeout
        busy.sendall(b'x')
        busy_ok &= busy.recv(1) == b'x'
        time.sleep(0.25)
    idle.settimeout(5)
    data, how = recv_all(idle)
    check(busy_ok, 'idle timeout: an active connection was cut')
    busy.sendall(b'still here')
    check(busy.recv(10) == b'still here', 'idle timeout: the active connection died')
    check(data == b'' and how == 'eof', f'idle timeout: idle client got {data!r} {how}')
    events = [json.loads(l) for l in p.output().splitlines()]
    idles = [e for e in events if e['event'] == 'idle_timeout']
    check(len(idles) == 1 and idles[0]['sid'] == 2, f'idle timeout: events {idles}')
    busy.close(); idle.close()
    p.stop()

# ---------------------------------------------------------------- signals
def echo_server(lst, received):
    def h(c):
        chunks = []
        try:
            while True:
                b = c.recv(1 << 16)
                if not b: break
                chunks.append(b)
                c.sendall(b)
        except OSError:
            pass
        received.append(b''.join(chunks))
        c.close()
    def run():
        while True:
            try: c, _ = lst.accept()
            except OSError: return
            threading.Thread(target=h, args=(c,), daemon=True).start()
    threading.Thread(target=run, daemon=True).start()

def client_transfer(p, i, size, piece, pause, results):
    data = pattern(i, size)
    try:
        c = p.connect()
        got = bytearray()
        for off in range(0, size, piece):
            c.sendall(data[off:off + piece])
            while True:  # read what is echoed so far, without blocking
                r, _, _ = select.select([c], [], [], 0)
                if not r: break
                b = c.recv(1 << 16)
                if not b: break
                got += b
            time.sleep(pause)
        c.shutdown(socket.SHUT_WR)
        rest, how = recv_all(c)
        got += rest
        c.close()
        results[i] = (data, bytes(got), how)
    except OSError as e:
        results[i] = (data, None, str(e))

def case_sigterm_100():
    lst, up = listener(512)
    received = []
    echo_server(lst, received)
    p = Proxy('term', up, '--drain', '20', '-q')
    results = {}
    threads = [threading.Thread(target=client_transfer, args=(p, i, 400_000, 8192, 0.03, results)) for i in range(100)]
    for t in threads: t.start()
    time.sleep(0.7)
    opened = len([f for f in os.listdir(TMP) if f.startswith('term_')])
    p.p.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    try:  # stop accepting at once
        late = socket.create_connection(('127.0.0.1', p.port), timeout=2)
        late_ok = late.recv(1) == b''
        late.close()
    except OSError:
        late_ok = True
    check(late_ok, 'SIGTERM: a new connection was accepted while draining')
    check(p.p.poll() is None, 'SIGTERM: exited before the connections finished')
    for t in threads: t.join(120)
    rc = p.p.wait(30)
    check(rc == 0, f'SIGTERM: exit status {rc}')
    check(opened == 100, f'SIGTERM: {opened} connections open at the signal, expected 100')
    complete = sum(1 for d, g, how in results.values() if g == d)
    check(complete == 100, f'SIGTERM: {complete} of 100 transfers completed during the drain')
    by_stream = {}
    for n in range(1, 101):
        rc2, line, cs, ss, headers = read_log(p.log(n))
        check(rc2 == 0, f'SIGTERM: log {n} damaged: {line}')
        check(cs == ss and len(cs) == 400_000, f'SIGTERM: log {n} holds {len(cs)}/{len(ss)} bytes')
        check(headers[0] == ('c', 'con') and sorted(h for h in headers if h[1] in ('hup', 'err')) ==
              [('c', 'hup'), ('s', 'hup')], f'SIGTERM: log {n} ends {headers[-2:]}')
        by_stream[cs] = n
    check(sorted(by_stream) == sorted(d for d, g, how in results.values()),
          'SIGTERM: the logs do not hold exactly what the 100 clients sent')
    lst.close()

def case_sigint_deadline():
    lst, up = listener(512)
    received = []
    echo_server(lst, received)
    p = Proxy('cut', up, '--drain', '0.5', '-q')
    results = {}
    threads = [threading.Thread(target=client_transfer, args=(p, i, 2_000_000, 8192, 0.02, results)) for i in range(100)]
    for t in threads: t.start()
    time.sleep(1.5)
    t0 = time.monotonic()
    rc = p.stop(signal.SIGINT)
    took = time.monotonic() - t0
    check(rc == 0 and took < 3, f'SIGINT: exit {rc} after {took:.2f} s with --drain 0.5')
    for t in threads: t.join(60)
    time.sleep(0.5)
    got_server = set(received)
    for n in range(1, 101):
        rc2, line, cs, ss, headers = read_log(p.log(n))
        # Cut at the deadline: no hup, but every record whole, and the log
        # holds at least what was forwarded.
        check(rc2 == 0, f'SIGINT: log {n} damaged: {line}')
        check(len(cs) > 0 and any(d.startswith(cs) for d, g, how in results.values()),
              f'SIGINT: log {n} c stream is not a prefix of what a client sent')
        check(cs.startswith(ss), f'SIGINT: log {n} s stream is not a prefix of its c stream')
    forwarded = sorted(received, key=len)
    check(len(forwarded) == 100, f'SIGINT: server saw {len(forwarded)} connections end')
    logs = [read_log(p.log(n))[2] for n in range(1, 101)]
    for r in forwarded:
        check(any(cs.startswith(r) for cs in logs), 'SIGINT: the server got bytes that are not in a log')
    lst.close()

def case_sigkill_and_open_reads():
    lst, up = listener()
    echo_server(lst, [])
    p = Proxy('kill', up, '-q')
    c = p.connect()
    c.sendall(b'first\n')
    check(c.recv(6) == b'first\n', 'SIGKILL: no echo')
    time.sleep(0.1)
    raw = open(p.log(1), 'rb').read()  # readable while the connection is open
    check(re.fullmatch(rb'c 0\.\d{6} con\nc \d+\.\d{6} 6\nfirst\ns \d+\.\d{6} 6\nfirst\n', raw) is not None,
          f'open log reads {raw!r}')
    c.sendall(b'second\n')
    c.recv(7)
    time.sleep(0.1)
    p.p.kill(); p.p.wait()
    rc, line, cs, ss, headers = read_log(p.log(1))
    check(rc == 0 and cs == b'first\nsecond\n' and ss == cs, f'SIGKILL: log {line} {cs!r}')
    c.close(); lst.close()

# ---------------------------------------------------------------- scale and memory
def case_1200_concurrent():
    lst, up = listener(4096)
    state = {'open': 0, 'max': 0}
    mu = threading.Lock()
    conns = []
    def acceptor():
        while True:
            try: c, _ = lst.accept()
            except OSError: return
            conns.append(c)
            with mu:
                state['open'] += 1; state['max'] = max(state['max'], state['open'])
    threading.Thread(target=acceptor, daemon=True).start()
    p = Proxy('many', up, '-q')
    N = 1200
    clients = []
    for i in range(N):
        c = socket.create_connection(('127.0.0.1', p.port), timeout=30)
        c.sendall(b'hello %d\n' % i)
        clients.append(c)
    deadline = time.monotonic() + 30
    while state['open'] < N and time.monotonic() < deadline:
        time.sleep(0.05)
    check(state['max'] >= N, f'1200 concurrent: upstream saw {state["max"]} open at once')
    # Answer every connection from the server side, all still open.
    srv = {}
    for s in list(conns):
        s.settimeout(10)
        line = s.recv(64)
        srv[line] = s
        s.sendall(b'bye ' + line)
    ok = sum(1 for i, c in enumerate(clients) if c.recv(64) == b'bye hello %d\n' % i)
    check(ok == N, f'1200 concurrent: {ok} of {N} got their answer')
    for c in clients: c.close()
    for s in conns: s.close()
    time.sleep(0.5)
    logs = [f for f in os.listdir(TMP) if f.startswith('many_')]
    check(len(logs) == N, f'1200 concurrent: {len(logs)} logs')
    r = subprocess.run([BIN, 'proxy', '--inspect'] + [os.path.join(TMP, f) for f in logs], capture_output=True, text=True)
    check(r.returncode == 0, '1200 concurrent: damaged logs: ' + r.stdout[:300])
    check(p.stop() == 0, '1200 concurrent: exit status')
    lst.close()

def case_backpressure(*view):
    lst, up = listener()
    holder = {}
    def slow(c):
        holder['c'] = c
    serve(lst, slow)
    p = Proxy('slow' + view_name(view), up, *view)
    size = 200 << 20
    data = pattern('bulk', 1 << 20)
    sent = {'n': 0}
    c = p.connect()
    def writer():
        try:
            for _ in range(size // len(data)):
                c.sendall(data)
                sent['n'] += len(data)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    t = threading.Thread(target=writer)
    t.start()
    time.sleep(2)
    rss = p.rss_kib()
    stalled = sent['n']
    check(stalled < 64 << 20, f'back-pressure: the client wrote {stalled} bytes to a server that reads nothing')
    check(rss < 40_000, f'back-pressure: proxy RSS {rss} KiB while the server does not read')
    s = holder['c']
    h = hashlib.sha256()
    n = 0
    while True:
        b = s.recv(1 << 20)
        if not b: break
        h.update(b); n += len(b)
    t.join()
    expect = hashlib.sha256(data * (size // len(data))).hexdigest()
    check(n == size and h.hexdigest() == expect, f'back-pressure: server got {n} bytes, intact: {h.hexdigest() == expect}')
    rss2 = p.rss_kib()
    check(rss2 < 40_000, f'back-pressure: proxy RSS {rss2} KiB after 200 MB')
    s.close(); c.close()
    p.stop()
    os.unlink(p.log(1))

# ---------------------------------------------------------------- console, errors, files
def case_console():
    lst, up = listener()
    def h(c):
        c.recv(100); c.sendall(b'+PONG\r\n'); c.close()
    serve(lst, h, count=4)
    msg = b'*1\r\n$4\r\nPING\r\n' + bytes(range(200, 216))
    for name, args, env in (('con_hex', ['-D', '--max-dump', '20', '--color=always'], {}),
                            ('con_text', [], {}),
                            ('con_nodump', ['--no-dump', '--color=auto'], {'NO_COLOR': '1'}),
                            ('con_json', ['--json'], {})):
        os.environ.update(env)
        p = Proxy(name, up, *args, root=False)
        for k in env: del os.environ[k]
        c = p.connect(); c.sendall(msg); recv_all(c); c.close()
        time.sleep(0.2)
        p.stop()
        out = p.output()
        if name == 'con_hex':
            # Printable bytes blue (C->S), control bytes magenta, >= 0x80 cyan.
            B, M, C = '\033[34m', '\033[35m', '\033[36m'
            want = ('\033[34m[sid=0001] C->S (30 bytes, first 20 shown)\n'
                    '[sid=0001] 00000000  2a 31 ' + M + '0d 0a ' + B + '24 34 ' + M + '0d 0a  ' + B +
                    '50 49 4e 47 ' + M + '0d 0a ' + C + 'c8 c9 ' + B + ' |*1' + M + '..' + B + '$4' +
                    M + '..' + B + 'PING' + M + '..' + C + '..' + B + '|\n'
                    '[sid=0001] 00000010  ' + C + 'ca cb cc cd ' + ' ' * 37 + B + ' |' + C + '....' +
                    B + '|\n'
                    '[sid=0001] 00000014\n... 10 more bytes\n\033[0m')
            check(want in out, 'console -D --max-dump 20 --color=always:\n' + out)
            check('\033[31m[sid=0001] S->C (7 bytes)\n[sid=0001] 00000000  2b 50 4f 4e 47 \033[35m0d 0a' in out, 'console: S->C not red hex')
        elif name == 'con_text':
            hexed = ''.join('\\x%02x' % b for b in range(200, 216))
            check('[sid=0001] C->S (30 bytes)\n*1\\r\\n\n$4\\r\\n\nPING\\r\\n\n' + hexed + '\n' in out, 'console text view:\n' + out)
            check('\033' not in out, 'console: colors when piped')
        elif name == 'con_nodump':
            check('[sid=0001] C->S (30 bytes)\n[sid=0001] S->C (7 bytes)\n' in out and '\033' not in out, 'console --no-dump:\n' + out)
        else:
            evs = [json.loads(l) for l in out.splitlines()]
            d = [e for e in evs if e['event'] == 'data']
            check(len(d) == 2 and base64.b64decode(d[0]['data_b64']) == msg and d[1]['dir'] == 'S->C',
                  f'console --json: {d}')
            check([e['event'] for e in evs][:3] == ['listen', 'open', 'connected'] and evs[-1]['event'] == 'shutdown',
                  f'console --json events: {[e["event"] for e in evs]}')
    lst.close()

def run_cli(*args):
    r = subprocess.run([BIN, 'proxy', *args], capture_output=True, text=True, timeout=10)
    return r.returncode, r.stderr

def case_errors():
    busy, busy_port = listener()
    rc, err = run_cli('--listen', f'127.0.0.1:{busy_port}', '--forward', '127.0.0.1:1')
    check(rc == 4 and 'Address already in use' in err and err.count('\n') == 1, f'port in use: {rc} {err!r}')
    rc, err = run_cli('--listen', '300.1.2.3:80', '--forward', '127.0.0.1:1')
    check(rc == 4 and 'cannot resolve' in err, f'bad listen address: {rc} {err!r}')
    rc, err = run_cli('--listen', '127.0.0.1:0', '--forward', 'no-such-host.invalid:80')
    check(rc == 4 and 'cannot resolve' in err, f'bad forward host: {rc} {err!r}')
    rc, err = run_cli('--listen', '127.0.0.1:0', '--forward', '127.0.0.1:1', '--log-root', '/nonexistent/dir/log')
    check(rc == 3 and 'cannot write logs' in err and 'No such file or directory' in err, f'unwritable root: {rc} {err!r}')
    ro = os.path.join(TMP, 'ro')
    os.makedirs(ro)
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro], capture_output=True).returncode == 0:
        try:
            rc, err = run_cli('--listen', '127.0.0.1:0', '--forward', '127.0.0.1:1', '--log-root', ro + '/log')
            check(rc == 3 and 'Read-only file system' in err, f'read-only root: {rc} {err!r}')
        finally:
            subprocess.run(['umount', ro])
    else:
        print('note: read-only log root case skipped (cannot mount a tmpfs)')
    rc, err = run_cli('--listen', '127.0.0.1', '--forward', '127.0.0.1:1')
    check(rc == 1 and 'has no port' in err, f'usage: {rc} {err!r}')
    rc, err = run_cli('127.0.0.1', '6379', '6380')
    check(rc == 1 and 'DEST_HOST DEST_PORT LISTEN_PORT LOG_ROOT' in err, f'netrecord order usage: {rc} {err!r}')
    busy.close()

def case_netrecord_order_and_no_clobber():
    lst, up = listener()
    echo_server(lst, [])
    root = os.path.join(TMP, 'nr')
    open(root + '_1', 'wb').write(b'precious')
    port = free_port()
    p = subprocess.Popen([BIN, 'proxy', '-q', '127.0.0.1', str(up), str(port), root], stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            c = socket.create_connection(('127.0.0.1', port)); break
        except OSError:
            time.sleep(0.05)
    c.sendall(b'abc'); c.recv(3); c.close()
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM); p.wait(10)
    check(open(root + '_1', 'rb').read() == b'precious', 'an existing log was overwritten')
    rc, line, cs, ss, headers = read_log(root + '_2')
    check(cs == b'abc' and ss == b'abc', f'netrecord order: {line}')
    lst.close()

import functools
def both_ways(case):
    return [functools.update_wrapper(functools.partial(case, *v), case) for v in (COPY_VIEW, SPLICE_VIEW)]

for case in (*both_ways(case_fin_with_data), *both_ways(case_half_close_client_first),
             *both_ways(case_half_close_server_first), case_refused, case_connect_timeout, case_idle_timeout, case_sigkill_and_open_reads,
             case_console, case_errors, case_netrecord_order_and_no_clobber,
             *both_ways(case_backpressure), case_1200_concurrent, case_sigterm_100, case_sigint_deadline):
    t = time.monotonic()
    before = len(failures)
    try:
        case()
    except Exception as e:
        import traceback; traceback.print_exc()
        check(False, f'{case.__name__}: {e!r}')
    name = case.__name__ + (view_name(case.args) if isinstance(case, functools.partial) else '')
    print(f'{name}: {"ok" if len(failures) == before else "FAILED"} ({time.monotonic() - t:.1f} s)', flush=True)
print(f'proxy_edges: {len(failures)} failure(s)')
sys.exit(1 if failures else 0)
PY
