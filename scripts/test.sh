#!/usr/bin/env bash
# Installs, builds and runs every test: unit (GoogleTest), conformance over
# ../shared/pcaps, golden, integration (network namespaces when root), then
# the unit tests again under AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j2

echo "== unit tests under ASan+UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTCPSCRIBE_SANITIZE=ON >/dev/null
ninja -C build-asan tcpscribe_test tcpscribe
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ./build-asan/tcpscribe_test --gtest_brief=1
tests/golden/run.sh build-asan/tcpscribe
