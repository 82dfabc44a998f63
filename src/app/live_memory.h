// Checks --queue-size and --buffer-size against the machine's memory before
// a live capture starts: a queue larger than the memory there is would only
// show up as the machine swapping, or the OOM killer, once traffic fills it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tcpscribe {

/// Memory in MiB; 0 when unknown.
struct MemoryInfo {
  uint64_t total_mib = 0;      ///< physical RAM, or the cgroup's limit when lower
  uint64_t available_mib = 0;  ///< MemAvailable, or what the cgroup has left when lower
};

/// MemTotal and MemAvailable from the text of /proc/meminfo.
MemoryInfo parse_meminfo(const std::string& text);
/// Lowers `info` to a cgroup v2 limit, given the contents of its
/// memory.max ("max": no limit) and memory.current.
void apply_cgroup_limit(MemoryInfo& info, const std::string& max, const std::string& current);
/// This machine's, lowered to the limits of this process's cgroups.
MemoryInfo read_memory_info();

struct QueueFit {
  int code = 0;          ///< kExitOk, or kExitUsage when refused
  size_t queue_mib = 0;  ///< the queue size to use
  std::string message;   ///< the error, or the warning when the queue was lowered
};

/// The queue and the kernel buffer may take three quarters of the memory
/// available (the rest is for reassembly and the machine). Past that the
/// queue is lowered, with a warning; a queue and buffer larger than the
/// machine's memory, or a buffer alone past that share, are refused: the
/// user asked for something that cannot be. Unknown memory: no check.
QueueFit fit_to_memory(size_t queue_mib, size_t buffer_mib, const MemoryInfo& mem);

}  // namespace tcpscribe
