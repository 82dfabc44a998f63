#!/bin/bash
# The --html report's first view in Debian's chromium, for captures of
# 5,000 connections (issue 7: under 2 s).
#
#   bench/html.sh [path/to/tcpscribe]      # default: build/tcpscribe
#
# Captures (made with bench/gen_captures.py's writer, stdlib python3):
#   many5k.pcap   gen_captures.gen_many: 5,000 short HTTP-like connections,
#                 500 open at once (~50,000 packets)
#   dense5k.pcap  5,000 connections of 98 packets each (490,000 packets):
#                 45 data segments and their ACKs, two of them sent twice
#                 (retransmissions); the report summarises (140,000 drawn)
# The report comes from `tcpscribe -r X --html R` when the CLI has --html,
# otherwise from the unit-test driver (HtmlReport.ReportOfTheCapture...,
# build/tcpscribe_test beside the binary). Knobs: BENCH_TMP (default
# /var/tmp), BENCH_RUNS (5). Exit status 1 when a first view takes 2 s or more.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/tcpscribe}
tmp=${BENCH_TMP:-/var/tmp}/tcpscribe-html-bench
runs=${BENCH_RUNS:-5}
mkdir -p "$tmp"

command -v chromium >/dev/null || apt-get install -y chromium >/dev/null
command -v npm >/dev/null || apt-get install -y npm >/dev/null
if [ ! -d "$tmp/browser/node_modules/playwright-core" ]; then
  mkdir -p "$tmp/browser"
  cp "$root"/tests/browser/package.json "$root"/tests/browser/package-lock.json "$tmp/browser/"
  (cd "$tmp/browser" && npm ci --no-audit --no-fund --silent)
fi
cp "$root"/tests/browser/*.mjs "$tmp/browser/"

python3 - "$tmp" "$root/bench" <<'EOF'
import os, random, sys
out, bench = sys.argv[1], sys.argv[2]
sys.path.insert(0, bench)
import gen_captures as g
if not os.path.exists(os.path.join(out, "many5k.pcap")):
    g.gen_many(out, 5000, 500, 7, [])
    os.rename(os.path.join(out, "many.pcap"), os.path.join(out, "many5k.pcap"))
path = os.path.join(out, "dense5k.pcap")
if not os.path.exists(path):
    rng = random.Random(11)
    w = g.PcapWriter(path, 1700002000 * 1000000)
    server = g.ip_bytes("10.0.1.2")
    for i in range(5000):
        client = g.ip_bytes("10.1.%d.%d" % (i // 250, 1 + i % 250))
        c2s = g.Endpoint(client, 20000 + i, server, 443, g.mac(5000 + i), g.mac(2))
        s2c = g.Endpoint(server, 443, client, 20000 + i, g.mac(2), g.mac(5000 + i))
        ci, si = rng.getrandbits(32), rng.getrandbits(32)
        w.put(c2s.frame(ci, 0, g.SYN, opts=g.MSS_OPT), 200)
        w.put(s2c.frame(si, ci + 1, g.SYN | g.ACK, opts=g.MSS_OPT), 50)
        w.put(c2s.frame(ci + 1, si + 1, g.ACK), 50)
        w.put(c2s.frame(ci + 1, si + 1, g.PSH | g.ACK, b"q" * 100), 20)
        off = 0
        seg = b"r" * 1000
        for k in range(45):  # 45 data + ACK pairs; two data segments go twice
            w.put(s2c.frame(si + 1 + off, ci + 101, g.ACK, seg), 30)
            if k % 25 == 24:
                w.put(s2c.frame(si + 1 + off, ci + 101, g.ACK, seg), 300)
            else:
                w.put(c2s.frame(ci + 101, si + 1 + off + 1000, g.ACK), 10)
            off += 1000
        w.put(s2c.frame(si + 1 + off, ci + 101, g.FIN | g.ACK), 40)
        w.put(c2s.frame(ci + 101, si + 2 + off, g.FIN | g.ACK), 40)
        w.put(s2c.frame(si + 2 + off, ci + 102, g.ACK), 40)
        w.put(c2s.frame(ci + 102, si + 2 + off, g.ACK), 10)
    w.close()
EOF

status=0
for cap in many5k dense5k; do
  report=$tmp/$cap.html
  rm -f "$report"
  start=$(date +%s.%N)
  if "$bin" --help 2>&1 | grep -q -- '--html'; then
    "$bin" -q -r "$tmp/$cap.pcap" -o "$tmp/flows-$cap" --html "$report"
    how="tcpscribe --html"
  else
    TCPSCRIBE_HTML_CAPTURE=$tmp/$cap.pcap TCPSCRIBE_HTML_OUT=$report \
      "$(dirname "$bin")/tcpscribe_test" \
      --gtest_filter=HtmlReport.ReportOfTheCaptureNamedInTheEnvironment >"$tmp/driver.log"
    how="unit-test driver"
  fi
  end=$(date +%s.%N)
  printf '%s: report by %s in %.2f s, %s MiB\n' "$cap" "$how" "$(awk "BEGIN{print $end - $start}")" \
    "$(du -m "$report" | cut -f1)"
  line=$(cd "$tmp/browser" && node first_view.mjs "$report" "$runs" | tee /dev/stderr | tail -1)
  median=$(echo "$line" | sed -n 's/.*median \([0-9]*\) ms.*/\1/p')
  if [ -z "$median" ] || [ "$median" -ge 2000 ]; then
    echo "FAIL: $cap: first view median ${median:-?} ms (limit 2000 ms)"
    status=1
  fi
  rm -rf "$tmp/flows-$cap"
done
exit $status
