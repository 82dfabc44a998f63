#!/bin/bash
# tcpscribe -r CAPTURE --html REPORT, opened in Debian's chromium through
# playwright-core (tests/browser/report_test.mjs): the header's counts
# against the capture, a click on the timeline and the detail pane, the
# table's filters, sort and arrow keys, wheel zoom down to microseconds,
# drag to pan, no network request, no script error; the screenshot is kept
# in $TCPSCRIBE_ARTIFACTS (default: beside the binary, test-artifacts/).
#
# Skips (77) without chromium or npm, when npm ci cannot reach the
# registry, and while `tcpscribe --help` does not list --html.
set -u
bin=${1:?usage: html_report.sh path/to/tcpscribe}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
root=$(cd "$(dirname "$0")/../.." && pwd)
skip() { echo "SKIP: $*"; exit 77; }

[ -x /usr/bin/chromium ] || skip "chromium is not installed (apt-get install -y chromium)"
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm are not installed (apt-get install -y npm)"
grep -q -- '--html' <<<"$("$bin" --help 2>&1)" || skip "tcpscribe --help does not list --html yet"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# npm ci outside the source tree: no node_modules in the checkout.
mkdir "$work/browser"
cp "$root"/tests/browser/package.json "$root"/tests/browser/package-lock.json \
   "$root"/tests/browser/*.mjs "$work/browser/"
(cd "$work/browser" && npm ci --no-audit --no-fund --silent >"$work/npm.log" 2>&1) ||
  { cat "$work/npm.log"; skip "npm ci failed (is the npm registry reachable?)"; }

artifacts=${TCPSCRIBE_ARTIFACTS:-$(dirname "$bin")/test-artifacts}
mkdir -p "$artifacts"

# port_reuse_lo.pcap (tshark): 20 frames, all TCP; two connections on one
# 4-tuple (the second SYN is "TCP Port numbers reused"); each ends with an
# ACK after both FINs, which comes after the flow table closed the
# connection and still reaches the report: 20 segments. The client's first bytes are its 7-byte request
# "hello 1" on the second connection, the one the test selects (frame 14).
"$bin" -q -r "$root/tests/pcaps/port_reuse_lo.pcap" -o "$work/flows" \
  --html "$work/report.html" || { echo "FAIL: tcpscribe exited $?"; exit 1; }
(cd "$work/browser" && node report_test.mjs "$work/report.html" --packets-read 20 --tcp 20 \
   --connections 2 --reused 1 --first-bytes-c2s 'hello 1' \
   --screenshot "$artifacts/html_report.png")
