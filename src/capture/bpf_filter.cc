#include "bpf_filter.h"

namespace tcpscribe {
namespace {

// pcapng hands over LINKTYPE_ numbers; libpcap wants DLT_ ones. They only
// differ for raw IP among the types we decode.
int dlt_of(int linktype) { return linktype == 101 ? DLT_RAW : linktype; }

}  // namespace

BpfFilter::~BpfFilter() {
  for (auto& [lt, p] : programs_) {
    if (p.ok) pcap_freecode(&p.prog);
  }
}

bool BpfFilter::compile(int linktype, Program& out, std::string& error) const {
  pcap_t* dead = pcap_open_dead(dlt_of(linktype), 262144);
  if (!dead) {
    error = "cannot prepare a filter for link type " + std::to_string(linktype);
    return false;
  }
  if (pcap_compile(dead, &out.prog, expr_.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    error = std::string("filter '") + expr_ + "' does not compile: " + pcap_geterr(dead);
    pcap_close(dead);
    return false;
  }
  pcap_close(dead);
  out.ok = true;
  return true;
}

bool BpfFilter::set(const std::string& expr, std::string& error) {
  expr_ = expr;
  if (expr_.empty()) return true;
  Program probe;
  if (!compile(DLT_EN10MB, probe, error)) return false;
  programs_[DLT_EN10MB] = probe;
  return true;
}

bool BpfFilter::matches(const RawPacket& p, std::string& error) {
  if (expr_.empty()) return true;
  auto it = programs_.find(p.linktype);
  if (it == programs_.end()) {
    Program prog;
    std::string why;
    if (!compile(p.linktype, prog, why)) {
      error = why + " (for link type " + std::to_string(p.linktype) + ")";
    }
    it = programs_.emplace(p.linktype, prog).first;
  }
  if (!it->second.ok) return false;
  struct pcap_pkthdr h {};
  h.caplen = p.caplen;
  h.len = p.origlen;
  return pcap_offline_filter(&it->second.prog, &h, p.data) != 0;
}

}  // namespace tcpscribe
