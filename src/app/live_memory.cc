#include "live_memory.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "options.h"

namespace tcpscribe {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The kB value on the line starting with `key` ("MemTotal:"), in MiB.
uint64_t meminfo_mib(const std::string& text, const std::string& key) {
  size_t at = 0;
  while ((at = text.find(key, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      return std::strtoull(text.c_str() + at + key.size(), nullptr, 10) / 1024;
    }
    at += key.size();
  }
  return 0;
}

bool parse_bytes(const std::string& s, uint64_t& out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  out = std::strtoull(s.c_str(), nullptr, 10);
  return true;
}

}  // namespace

MemoryInfo parse_meminfo(const std::string& text) {
  return {meminfo_mib(text, "MemTotal:"), meminfo_mib(text, "MemAvailable:")};
}

void apply_cgroup_limit(MemoryInfo& info, const std::string& max, const std::string& current) {
  uint64_t limit = 0, used = 0;
  if (!parse_bytes(max, limit)) return;  // "max" or unreadable: no limit here
  const uint64_t limit_mib = limit >> 20;
  if (info.total_mib == 0 || limit_mib < info.total_mib) info.total_mib = limit_mib;
  const uint64_t left = parse_bytes(current, used) && used < limit ? (limit - used) >> 20 : 0;
  if (info.available_mib == 0 || left < info.available_mib) info.available_mib = left;
}

MemoryInfo read_memory_info() {
  MemoryInfo info = parse_meminfo(read_text("/proc/meminfo"));
  // cgroup v2 ("0::/path"): a container's limit is not in /proc/meminfo.
  // Every level up to the root can limit.
  const std::string groups = read_text("/proc/self/cgroup");
  const size_t at = groups.find("0::");
  if (at == std::string::npos) return info;
  std::string path = groups.substr(at + 3, groups.find('\n', at) - at - 3);
  for (;;) {
    const std::string dir = "/sys/fs/cgroup" + (path == "/" ? std::string() : path);
    apply_cgroup_limit(info, read_text(dir + "/memory.max"), read_text(dir + "/memory.current"));
    const size_t slash = path.rfind('/');
    if (path.empty() || path == "/" || slash == std::string::npos) break;
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
  return info;
}

QueueFit fit_to_memory(size_t queue_mib, size_t buffer_mib, const MemoryInfo& mem) {
  QueueFit fit;
  fit.code = kExitOk;
  fit.queue_mib = queue_mib;
  if (mem.total_mib == 0) return fit;
  const uint64_t available = mem.available_mib > 0 ? mem.available_mib : mem.total_mib;
  const uint64_t share = available * 3 / 4;
  const std::string share_text =
      "3/4 of the memory available (" + std::to_string(available) + " MiB)";
  if (buffer_mib > share) {
    fit.code = kExitUsage;
    fit.message = "tcpscribe: --buffer-size " + std::to_string(buffer_mib) +
                  " MiB is more than " + share_text + "; give at most " +
                  std::to_string(share);
    return fit;
  }
  const uint64_t room = std::max<uint64_t>(share - buffer_mib, 4);  // one batch at least
  if (queue_mib + buffer_mib > mem.total_mib) {
    fit.code = kExitUsage;
    fit.message = "tcpscribe: --queue-size " + std::to_string(queue_mib) +
                  " MiB is more than this machine's memory (" + std::to_string(mem.total_mib) +
                  " MiB); give at most " + std::to_string(room) + " (" + share_text +
                  ", less --buffer-size)";
    return fit;
  }
  if (queue_mib + buffer_mib > share) {
    fit.queue_mib = room;
    fit.message = "tcpscribe: warning: --queue-size lowered from " +
                  std::to_string(queue_mib) + " to " + std::to_string(room) + " MiB: " +
                  share_text + ", less --buffer-size";
  }
  return fit;
}

}  // namespace tcpscribe
