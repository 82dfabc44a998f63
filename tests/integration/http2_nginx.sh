#!/usr/bin/env bash
# HTTP/2 from nginx, over TLS (ALPN h2, decrypted with curl's key log) and
# in the clear (h2c with prior knowledge), captured on loopback; nginx's
# access log (path, status, protocol, bytes sent) is the truth.
#   - curl --http2 -k (SSLKEYLOGFILE) fetches a 300,000-byte random file (past
#     the flow-control windows) and a small one over TLS;
#   - nghttp -n -m 10 fetches a 200,000-byte file 10 times at once over h2c
#     (10 concurrent streams, each past the 65,535-byte windows);
#   - nghttp fetches a page for which nginx pushes small.txt (PUSH_PROMISE);
#   - curl --http2-prior-knowledge asks for a file that is not there (404);
# then `tcpscribe -r cap --tls-keylog keys -o out -e http2 -e tls
# --messages m --har h.har`: every body byte for byte as served, one record
# and one HAR entry (HTTP/2.0) per stream with nginx's status, the HAR valid
# for har-validator (Debian's node-har-validator).
# Usage: http2_nginx.sh path/to/tcpscribe   (exit 77: cannot run here)
. "$(dirname "$0")/lib/harness.sh" "$@"
. "$(dirname "$0")/lib/net.sh"

for c in nginx curl nghttp tcpdump openssl python3; do
  command -v $c >/dev/null || skip "$c is missing (scripts/test.sh installs nginx curl nghttp2-client tcpdump)"
done
[ "$(id -u)" = 0 ] || skip "needs root (tcpdump on lo)"
curl --version | grep -q HTTP2 || skip "this curl has no HTTP/2"

chmod 755 "$tmp"
mkdir -p "$tmp/www" "$tmp/temp"
python3 -c "import os,sys; open(sys.argv[1]+'/big.bin','wb').write(os.urandom(300000)); open(sys.argv[1]+'/mid.bin','wb').write(os.urandom(200000))" "$tmp/www"
printf 'small page over h2\n' >"$tmp/www/small.txt"
printf '<html>pushes small.txt</html>\n' >"$tmp/www/page.html"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=h2.tcpscribe.test \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || skip "openssl req failed"
tls_port=$(free_port) h2c_port=$(free_port)
cat >"$tmp/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 64; }
http {
  log_format t '\$server_port \$request_method \$uri \$status \$server_protocol \$body_bytes_sent';
  access_log $tmp/access.log t;
  client_body_temp_path $tmp/temp/body; proxy_temp_path $tmp/temp/proxy;
  fastcgi_temp_path $tmp/temp/fcgi; uwsgi_temp_path $tmp/temp/uwsgi; scgi_temp_path $tmp/temp/scgi;
  server {
    listen 127.0.0.1:$tls_port ssl http2;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    root $tmp/www;
  }
  server {
    listen 127.0.0.1:$h2c_port http2;
    root $tmp/www;
    location = /page.html { http2_push /small.txt; }
  }
}
CONF
nginx -c "$tmp/nginx.conf" -p "$tmp" 2>"$tmp/nginx.err" &
pids+=($!)
wait_port "$tls_port" && wait_port "$h2c_port" || skip "nginx did not start: $(cat "$tmp/nginx.err" "$tmp/error.log" 2>/dev/null)"

tcpdump -i lo --immediate-mode -s 0 -U -B 65536 -w "$tmp/cap.pcap" "tcp and (port $tls_port or port $h2c_port)" 2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
wait_line "$tmp/tcpdump.err" "listening on" || skip "tcpdump did not start"

mkdir -p "$tmp/dl"
SSLKEYLOGFILE=$tmp/keys.log curl -sS -k --http2 --resolve "h2.tcpscribe.test:$tls_port:127.0.0.1" \
  -o "$tmp/dl/big.bin" "https://h2.tcpscribe.test:$tls_port/big.bin" \
  -o "$tmp/dl/small.txt" "https://h2.tcpscribe.test:$tls_port/small.txt" || bad "curl over TLS failed"
nghttp -n -m 10 "http://127.0.0.1:$h2c_port/mid.bin" >"$tmp/nghttp.out" 2>&1 || bad "nghttp failed: $(cat "$tmp/nghttp.out")"
nghttp -nv "http://127.0.0.1:$h2c_port/page.html" >"$tmp/nghttp_push.out" 2>&1 || bad "nghttp (push) failed"
grep -q "recv PUSH_PROMISE" "$tmp/nghttp_push.out" || bad "nginx pushed nothing: $(grep -c . "$tmp/nghttp_push.out") lines"
curl -sS --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$h2c_port/absent" || bad "curl h2c failed"
wait_still "$tmp/cap.pcap"
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null
grep -q "^0 packets dropped by kernel" "$tmp/tcpdump.err" || bad "tcpdump dropped packets: $(cat "$tmp/tcpdump.err")"
# Every connection in the capture: two to the h2c port, one to the TLS port.
n_syn=$(tcpdump -r "$tmp/cap.pcap" -nn 'tcp[tcpflags] == tcp-syn' 2>/dev/null | wc -l)
[ "$n_syn" -eq 4 ] || bad "the capture has $n_syn connections, want 4: $(cat "$tmp/tcpdump.err")"
cmp -s "$tmp/www/big.bin" "$tmp/dl/big.bin" || bad "curl got a different big.bin"
# nginx writes its access log lines as the requests end.
grep -c " HTTP/2.0 " "$tmp/access.log" | grep -qx 15 || bad "nginx logged $(grep -c . "$tmp/access.log") requests: $(cat "$tmp/access.log")"

"$bin" -r "$tmp/cap.pcap" --tls-keylog "$tmp/keys.log" -o "$tmp/out" -e http2 -e tls \
  --messages "$tmp/m.jsonl" --har "$tmp/h.har" >"$tmp/run.out" 2>"$tmp/run.err" || bad "tcpscribe failed: $(cat "$tmp/run.err")"
for f in big.bin mid.bin small.txt page.html; do
  want=$(sha256sum <"$tmp/www/$f" | cut -d' ' -f1)
  n=0
  for b in "$tmp"/out/*-HTTPBODY-*; do
    [ "$(sha256sum <"$b" | cut -d' ' -f1)" = "$want" ] && n=$((n + 1))
  done
  want_n=1; [ $f = mid.bin ] && want_n=10; [ $f = small.txt ] && want_n=2  # one of them pushed
  [ $n -eq $want_n ] || bad "$f: $n body files with its bytes, want $want_n ($(ls "$tmp/out" | head))"
done
python3 - "$tmp/access.log" "$tmp/m.jsonl" "$tmp/h.har" <<'PY' || bad "records or HAR: see above"
import collections, json, sys
log = [l.split() for l in open(sys.argv[1])]
truth = collections.Counter((l[2], int(l[3])) for l in log)
recs = [json.loads(l) for l in open(sys.argv[2])]
h2 = [r for r in recs if r.get("proto") == "http2"]
got = collections.Counter((r["path"], r["status"]) for r in h2)
fail = []
if got != truth: fail.append(f"--messages {dict(got)} vs nginx {dict(truth)}")
har = json.load(open(sys.argv[3]))
entries = har["log"]["entries"]
hv = collections.Counter(e["request"]["httpVersion"] + " " + e["response"]["httpVersion"] for e in entries)
if hv != collections.Counter({"HTTP/2.0 HTTP/2.0": len(log)}): fail.append(f"HAR versions {dict(hv)}, want {len(log)} HTTP/2.0")
hs = collections.Counter(("/" + e["request"]["url"].split("/", 3)[3], e["response"]["status"]) for e in entries)
if hs != truth: fail.append(f"HAR {dict(hs)} vs nginx {dict(truth)}")
tls = [e for e in entries if e["request"]["url"].startswith("https://h2.tcpscribe.test:")]
if len(tls) != 2: fail.append(f"{len(tls)} https entries with the SNI's name, want 2")
pushed = [r for r in h2 if r.get("pushed")]
if [(r["path"], r["status"]) for r in pushed] != [("/small.txt", 200)]: fail.append(f"pushed: {pushed}")
print(f"{len(h2)} http2 records, {len(entries)} HAR entries, nginx logged {len(log)}")
for f in fail: print("FAIL:", f)
sys.exit(1 if fail else 0)
PY
if [ -f /usr/share/nodejs/har-validator/package.json ] && command -v node >/dev/null; then
  NODE_PATH=/usr/share/nodejs node -e '
    const v = require("har-validator");
    v.har(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")))
      .then(() => console.log("har-validator: valid"))
      .catch(e => { console.log("har-validator:", JSON.stringify(e.errors || e.message)); process.exit(1); });' \
    "$tmp/h.har" || bad "the HAR is not valid HAR 1.2"
else
  echo "http2_nginx: har-validator (node-har-validator) missing: the HAR's schema is not checked"
fi

[ $fail -eq 0 ] && echo "PASS" || echo "$fail failure(s)"
[ $fail -eq 0 ]
