#!/usr/bin/env bash
# Installs, builds and runs every test: unit (GoogleTest), conformance over
# ../shared/pcaps, golden, integration (network namespaces when root), then
# the unit tests again under AddressSanitizer + UBSan, then every libFuzzer
# harness for FUZZ_SECONDS (30) seconds (fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# What only the tests use: libraries for the unit tests, and the real
# programs the integration tests capture and drive.
bash scripts/install.sh libgtest-dev libtins-dev tcpdump curl python3 iproute2 nftables \
  redis-server redis-tools chromium socat nodejs clang-14 postgresql postgresql-client mariadb-server mariadb-client \
  nghttp2-server nghttp2-client nghttp2-proxy zstd nginx node-har-validator python3-grpcio openssl tmux \
  clickhouse-server clickhouse-client jq
cmake -S . -B build >/dev/null  # finds the test libraries now
ninja -C build
[ -x build/tcpscribe_test ] || { echo "test.sh: the unit tests were not built" >&2; exit 1; }
ctest --test-dir build --output-on-failure -j2

echo "== unit tests under ASan+UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTCPSCRIBE_SANITIZE=ON >/dev/null
ninja -C build-asan tcpscribe_test tcpscribe
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ./build-asan/tcpscribe_test --gtest_brief=1
tests/golden/run.sh build-asan/tcpscribe

echo "== fuzz harnesses (clang, ASan+UBSan; ${FUZZ_SECONDS:-30} s each)"
fuzz/run.sh "${FUZZ_SECONDS:-30}" build-fuzz
