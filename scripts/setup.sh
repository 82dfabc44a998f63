#!/usr/bin/env bash
# Installs what building tcpscribe needs (Debian 12, as root) and builds the
# tcpscribe binary into build/. Nothing for the tests: scripts/test.sh adds
# those packages and builds the test binaries. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh g++ cmake ninja-build pkg-config libpcap-dev \
  libboost-program-options-dev libjemalloc-dev zlib1g-dev libssl-dev libnghttp2-dev libbrotli-dev libzstd-dev libre2-dev libpcre2-dev
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build tcpscribe
