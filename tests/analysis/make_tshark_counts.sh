#!/bin/bash
# Regenerates tests/analysis/tshark_counts.tsv: Wireshark's tcp.analysis.*
# counts per TCP stream and direction for every capture listed in
# ../shared/pcaps/MANIFEST.tsv, compared against by
# src/flow/tcp_analysis_conformance_test.cc.
#
# usage: tests/analysis/make_tshark_counts.sh [PCAP_DIR] > tests/analysis/tshark_counts.tsv
# Needs tshark (Debian 12: 4.0.17). Streams are tshark's tcp.stream numbers;
# node0 is the sender of the stream's first packet (as in truth/INDEX.tsv);
# c2s_* count packets node0 sent, s2c_* those node1 sent. Note that
# Wireshark's tcp.analysis.retransmission is also set on fast and spurious
# retransmissions, so "retransmission" here includes both.
set -euo pipefail
dir=${1:-$(dirname "$0")/../../../shared/pcaps}
flags="retransmission fast_retransmission spurious_retransmission out_of_order
       lost_segment ack_lost_segment duplicate_ack zero_window keep_alive"
fields=(-e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport
        -e tcp.analysis.initial_rtt)
for f in $flags; do fields+=(-e "tcp.analysis.$f"); done

printf '# %s\n' "$(tshark --version 2>/dev/null | head -1)"
printf 'capture\tstream\tnode0\tnode1\tinitial_rtt'
for d in c2s s2c; do for f in $flags; do printf '\t%s_%s' "$d" "$f"; done; done
printf '\n'

tail -n +2 "$dir/MANIFEST.tsv" | cut -f1 | while read -r cap; do
  [ -n "$cap" ] || continue
  # -Y tcp and occurrence=l: the TCP header of the packet itself, not one
  # quoted inside an ICMP error. tshark exits 2 on the captures cut short on
  # purpose; what it printed before the damage stands.
  { tshark -r "$dir/$cap" -Y tcp -T fields -E separator=/t -E occurrence=l \
      "${fields[@]}" 2>/dev/null || true; } |
  awk -F'\t' -v cap="$cap" -v nflags="$(echo $flags | wc -w)" '
    function ep(ip, port) { return (ip ~ /:/) ? "[" ip "]:" port : ip ":" port }
    $1 ~ /^[0-9]+$/ {
      s = $1 + 0
      src = ep($2 != "" ? $2 : $3, $4)
      if (!(s in node0)) {
        node0[s] = src
        node1[s] = ep($5 != "" ? $5 : $6, $7)
        order[n++] = s
      }
      if ($8 != "" && !(s in rtt)) rtt[s] = $8
      d = (src == node0[s]) ? 0 : 1
      for (i = 0; i < nflags; ++i) if ($(9 + i) != "") cnt[s, d, i]++
    }
    END {
      for (k = 0; k < n; ++k) {
        s = order[k]
        printf "%s\t%d\t%s\t%s\t%s", cap, s, node0[s], node1[s], (s in rtt) ? rtt[s] : ""
        for (d = 0; d < 2; ++d) for (i = 0; i < nflags; ++i) printf "\t%d", cnt[s, d, i] + 0
        printf "\n"
      }
    }'
done
