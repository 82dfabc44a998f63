// The trailing BPF expression, applied to packets of any link type.
//
// libpcap compiles a filter for one link type; a pcapng file or several -r
// files can mix them, so the program is compiled once per link type seen.
#pragma once

#include <pcap/pcap.h>

#include <map>
#include <string>

#include "tcpscribe/packet.h"

namespace tcpscribe {

class BpfFilter {
 public:
  BpfFilter() = default;
  ~BpfFilter();
  BpfFilter(const BpfFilter&) = delete;
  BpfFilter& operator=(const BpfFilter&) = delete;

  /// Checks that `expr` compiles (for Ethernet). Empty: everything matches.
  bool set(const std::string& expr, std::string& error);
  bool empty() const { return expr_.empty(); }
  /// Whether the packet passes. A link type the expression cannot be
  /// compiled for sets `error` once and matches nothing.
  bool matches(const RawPacket& p, std::string& error);

 private:
  struct Program {
    bool ok = false;
    struct bpf_program prog {};
  };
  bool compile(int linktype, Program& out, std::string& error) const;

  std::string expr_;
  std::map<int, Program> programs_;
};

}  // namespace tcpscribe
