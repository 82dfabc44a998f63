# shellcheck shell=bash
# test_captures: every capture the suites run over, one path per line:
# tests/pcaps (recursively), then ../shared/pcaps beside the repository
# when present (SHARED_PCAPS names another place), each sorted. Says so on
# standard error when the shared captures are absent.
test_captures() {
    local lib shared
    lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    shared=${SHARED_PCAPS:-$lib/../../../../shared/pcaps}
    find "$lib/../../pcaps" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | LC_ALL=C sort
    if [ -d "$shared" ]; then
        find "$shared" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' \) | LC_ALL=C sort
    else
        echo "NOTE: $shared is absent: only tests/pcaps are checked" >&2
    fi
}
