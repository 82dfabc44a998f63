# Two hosts and a router in network namespaces, with random packet loss on
# both hosts' input and on the router's forwarding (nftables); sourced after
# harness.sh:
#   . "$(dirname "$0")/lib/lossy_net.sh"
#   lossy_net_up PERCENT     # or skip (exit 77) when namespaces cannot be made
#   in_cli CMD... / in_srv CMD...   # run in the client's / server's namespace
#     (functions: for a process to signal later, background
#     `ip netns exec "$LN_CLI" CMD... &` itself, so that $! is its pid)
#   lossy_net_drops          # "N M K": packets dropped at client, server, router
# Sets LN_CLI, LN_SRV, LN_RTR (namespace names), LN_CLI_IP, LN_SRV_IP and
# LN_CLI_IF (the client's interface, for tcpdump). The namespaces and every
# process in them go at exit (chained before harness.sh's cleanup).
LN_CLI=tsc-lc$$ LN_SRV=tsc-ls$$ LN_RTR=tsc-lr$$
LN_CLI_IF=tlc$$ LN_SRV_IF=tls$$
LN_CLI_IP=10.215.0.1 LN_SRV_IP=10.215.1.2
LN_MADE=()
lossy_net_down() {
  local ns p
  for ns in "${LN_MADE[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  LN_MADE=()
}
in_cli() { ip netns exec "$LN_CLI" "$@"; }
in_srv() { ip netns exec "$LN_SRV" "$@"; }
lossy_net_up() {
  local pct=$1 ns l hook
  [ "$(id -u)" = 0 ] || skip "network namespaces need root"
  command -v nft >/dev/null || skip "nft is missing (scripts/test.sh installs nftables)"
  trap 'lossy_net_down; [ -n "${KEEP_TMP:-}" ] || cleanup' EXIT
  for ns in "$LN_SRV" "$LN_RTR" "$LN_CLI"; do
    ip netns add "$ns" 2>"$tmp/ln.err" || skip "cannot create network namespaces: $(cat "$tmp/ln.err")"
    LN_MADE+=("$ns")
    ip -n "$ns" link set lo up
  done
  ip link add "$LN_CLI_IF" netns "$LN_CLI" type veth peer name "${LN_CLI_IF}r" netns "$LN_RTR" 2>"$tmp/ln.err" \
    || skip "cannot create a veth pair: $(cat "$tmp/ln.err")"
  ip link add "$LN_SRV_IF" netns "$LN_SRV" type veth peer name "${LN_SRV_IF}r" netns "$LN_RTR" 2>"$tmp/ln.err" \
    || skip "cannot create a veth pair: $(cat "$tmp/ln.err")"
  ip -n "$LN_CLI" addr add "$LN_CLI_IP/24" dev "$LN_CLI_IF"
  ip -n "$LN_RTR" addr add 10.215.0.254/24 dev "${LN_CLI_IF}r"
  ip -n "$LN_RTR" addr add 10.215.1.254/24 dev "${LN_SRV_IF}r"
  ip -n "$LN_SRV" addr add "$LN_SRV_IP/24" dev "$LN_SRV_IF"
  for l in "$LN_CLI $LN_CLI_IF" "$LN_RTR ${LN_CLI_IF}r" "$LN_RTR ${LN_SRV_IF}r" "$LN_SRV $LN_SRV_IF"; do
    # shellcheck disable=SC2086
    set -- $l
    ip -n "$1" link set "$2" up
    ip -n "$1" link set "$2" gso_max_segs 2 2>/dev/null || true  # MTU-sized segments: more to lose
  done
  ip -n "$LN_CLI" route add default via 10.215.0.254
  ip -n "$LN_SRV" route add default via 10.215.1.254
  ip netns exec "$LN_RTR" sysctl -qw net.ipv4.ip_forward=1
  for ns in "$LN_CLI" "$LN_SRV" "$LN_RTR"; do
    hook=input
    [ "$ns" = "$LN_RTR" ] && hook=forward
    # Only the packets between the two hosts: loopback inside a host stays whole.
    ip netns exec "$ns" nft -f - <<NFT 2>"$tmp/ln.err" || skip "nftables does not work in a namespace: $(cat "$tmp/ln.err")"
table inet tsc {
    chain loss {
        type filter hook $hook priority 0; policy accept;
        ip saddr { $LN_CLI_IP, $LN_SRV_IP } meta l4proto tcp numgen random mod 100 < $pct counter drop
    }
}
NFT
  done
  # A UDP datagram across (no loss on UDP): the router forwards.
  ip netns exec "$LN_SRV" python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$LN_SRV_IP', 9)); s.settimeout(5); s.recv(10)" &
  local rx=$!
  sleep 0.3
  ip netns exec "$LN_CLI" python3 -c "
import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('$LN_SRV_IP', 9))"
  wait $rx || skip "the namespaces do not route"
}
# ln_wait_port NS HOST PORT: until something accepts there from NS, 10 s.
ln_wait_port() {
  for _ in $(seq 100); do
    ip netns exec "$1" python3 -c "import socket,sys; socket.create_connection((sys.argv[1],int(sys.argv[2])),1).close()" \
      "$2" "$3" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
lossy_net_drops() {
  local ns out=""
  for ns in "$LN_CLI" "$LN_SRV" "$LN_RTR"; do
    out+="$(ip netns exec "$ns" nft list chain inet tsc loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p') "
  done
  echo "${out% }"
}
